"""``gradedlib check NOTEBOOK``: check a notebook before submitting it.

Runs the notebook from top to bottom in a fresh kernel, as the grader does,
with its visible tests, and prints a short report:

* every autograded part (nbgrader test cell): passed or failed, with the
  message; parts whose tests are all hidden are listed as such;
* cells that raise (printing, logging and warnings are fine everywhere, test
  cells included: only a failed check or an error costs points);
* names that a visible test cell binds at the top level of the notebook
  (assignments, loops, ``with ... as``, imports, ``def``/``class``, ``:=``,
  ``del``, and ``global`` names a function of the cell assigns): "test cell X
  rebinds Y, a name your code may use" is a problem to fix when your own code
  uses Y (rename your variable); the names your code does not use are listed;
* the run time of every slow cell and of the whole notebook. The grader lets
  a cell run :data:`GRADER_CELL_TIME_FACTOR` times the reference solution's
  time for that cell plus :data:`GRADER_CELL_TIME_FLOOR` seconds, at most
  :data:`GRADER_CELL_TIMEOUT`; this check cannot know the reference's times,
  so a cell under :data:`GRADER_CELL_TIME_FLOOR` seconds is always within the
  limit and a longer one is flagged;
* functions that give a different result when called a second time after
  ``np.random.seed(0)`` (the grader calls them again); a function the visible
  self-checks already called twice on the same data is not called again;
* read-only and test cells whose source was edited (detected with the
  checksums nbgrader stores in the cell metadata: the grader restores these
  cells, so an edit there does not count), and written answers left as
  released.

The kernel gets the grader's threads of BLAS (:data:`GRADER_BLAS_THREADS`,
``--threads``), so that its cell times compare with the grader's limits.

Progress goes to stderr with one counter over the cells and the
reproducibility calls (``[3/30] fit_solution (cell 5)``), and a line at least
every :data:`HEARTBEAT_SECONDS` seconds while anything runs (kernel start
included), saying what runs and for how long.

The exit status is 0 when everything visible passes, 1 when something needs
fixing, 2 for a bad argument (a missing or unreadable notebook).

It needs only the student package (nbformat, nbclient, ipykernel): nbgrader is
not used. This module imports neither ``gradedlib.model`` nor
``gradedlib.selection``. Hidden tests are not in the student's notebook, so
only visible test cells are analysed.
"""

from __future__ import annotations

import ast
import hashlib
import json
import symtable
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "GRADER_BLAS_THREADS",
    "GRADER_CELL_TIMEOUT",
    "GRADER_CELL_TIME_FACTOR",
    "GRADER_CELL_TIME_FLOOR",
    "GRADER_MEMORY_LIMIT",
    "GRADER_NOTEBOOK_TIMEOUT",
    "HEARTBEAT_SECONDS",
    "CellResult",
    "CheckReport",
    "add_check_parser",
    "compute_checksum",
    "format_report",
    "main",
    "rebound_names",
    "run_check",
]

# The grader's limits, as set in the course's ``nbgrader_config.py``
# (``c.NotebookExecutor.cell_timeout``, ``cell_time_factor``,
# ``cell_time_floor``, ``notebook_timeout`` and ``c.Sandbox.memory_limit``);
# tests/gradedlib/test_check.py checks that they agree.

#: The most seconds one cell may run when graded, whatever the reference
#: solution took. A cell past its limit has its kernel stopped: the cell scores
#: like an error, the cells above are re-run in a new kernel and grading goes
#: on (at most twice per notebook).
GRADER_CELL_TIMEOUT = 600
#: A graded cell may run this many times the reference solution's time for the
#: same cell (a cell the reference has not got: its slowest cell), plus
#: :data:`GRADER_CELL_TIME_FLOOR`, at most :data:`GRADER_CELL_TIMEOUT`.
GRADER_CELL_TIME_FACTOR = 10
#: Every graded cell may run this many seconds whatever the reference took, so
#: a cell faster than this is always within the grader's limit.
GRADER_CELL_TIME_FLOOR = 120
#: Seconds the whole notebook may run when graded (re-runs included).
GRADER_NOTEBOOK_TIMEOUT = 2400
#: Bytes of memory the kernel may use when graded (4 GiB).
GRADER_MEMORY_LIMIT = 4 * 2**30
#: Threads of BLAS and OpenMP in the kernel, as the grader sets them in its
#: sandboxes (``c.Sandbox.blas_threads``): cell times comparable to the
#: grader's, and no OpenBLAS threads spinning for a busy core.
GRADER_BLAS_THREADS = 1
#: The most seconds between two progress lines while something runs.
HEARTBEAT_SECONDS = 5.0
#: Cells taking at least this many seconds are listed with their run time.
_LIST_CELL_SECONDS = 5.0
#: Functions the grader calls again after ``np.random.seed(0)``.
REPRODUCIBLE_FUNCTIONS = ("fit_generative_model", "fit_generative_model_per_class_c", "predict")

_MARK = "__gradedlib_check__"


def compute_checksum(cell) -> str:
    """nbgrader's checksum of a cell (the algorithm of ``nbgrader.utils.compute_checksum``).

    MD5 of the source, the cell type, whether it is a grade, solution and
    locked cell, its ``grade_id`` and, for a grade cell, its points.
    """
    meta = cell.get("metadata", {}).get("nbgrader", {})
    grade = bool(meta.get("grade", False))
    solution = bool(meta.get("solution", False))
    locked = False if solution else (True if grade else bool(meta.get("locked", False)))
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    m = hashlib.md5()
    m.update(source.encode("utf-8"))
    m.update(cell.get("cell_type", "").encode("utf-8"))
    m.update(str(grade).encode("utf-8"))
    m.update(str(solution).encode("utf-8"))
    m.update(str(locked).encode("utf-8"))
    m.update(str(meta.get("grade_id", "")).encode("utf-8"))
    if grade:
        m.update(str(float(meta.get("points", 0))).encode("utf-8"))
    return m.hexdigest()


@dataclass
class CellResult:
    """What happened to one code cell."""

    index: int
    grade_id: str | None
    kind: str  # "test", "answer", "read-only" or "other"
    seconds: float = 0.0
    error: str | None = None  # "Name: message" of an error output
    stderr: str = ""  # what the cell printed on stderr (costs no points; kept for the JSON report)
    timed_out: bool = False
    hidden_only: bool = False
    points: float | None = None


@dataclass
class CheckReport:
    """The result of :func:`run_check` (``format_report`` turns it into text)."""

    notebook: str
    kernel: str
    timeout: float
    total_seconds: float = 0.0
    cells: list = field(default_factory=list)
    edited: list = field(default_factory=list)  # (index, grade_id, kind, what)
    unanswered: list = field(default_factory=list)  # grade_ids of written answers left as released
    duplicates: list = field(default_factory=list)  # grade_ids that occur more than once
    reproducibility: list = field(default_factory=list)  # dicts: name, status, detail
    kernel_died_in: int | None = None
    not_run: int = 0  # code cells after a dead kernel
    peak_memory: int | None = None  # bytes: largest resident size of the kernel (None: not measurable here)
    # dicts: cell, grade_id, name, used_in (the cells of your code that use it), left (still bound after the cell)
    rebinds: list = field(default_factory=list)

    @property
    def tests(self) -> list:
        return [c for c in self.cells if c.kind == "test"]

    @property
    def problems(self) -> list:
        """One line per thing to fix; empty when everything visible passes."""
        out = []
        for c in self.cells:
            label = _label(c.index, c.grade_id)
            if c.timed_out:
                out.append(f"{label} ran longer than the limit of {self.timeout:g} s and was stopped")
            elif c.error is not None:
                out.append(f"{label} raised {c.error}" if c.kind != "test" else f"{label} failed: {c.error}")
        if self.kernel_died_in is not None:
            out.append(f"the kernel died in cell {self.kernel_died_in}; {self.not_run} later code cell(s) did not run")
        if self.total_seconds > GRADER_NOTEBOOK_TIMEOUT:
            out.append(f"the notebook ran {self.total_seconds:.0f} s; the grader stops at {GRADER_NOTEBOOK_TIMEOUT} s "
                       "for the whole notebook")
        if self.peak_memory is not None and self.peak_memory > GRADER_MEMORY_LIMIT:
            out.append(f"the kernel used {self.peak_memory / 2**20:.0f} MB of memory; the grader allows "
                       f"{GRADER_MEMORY_LIMIT / 2**20:.0f} MB")
        for r in self.rebinds:
            if r["used_in"]:
                out.append(_rebind_text(r))
        for index, grade_id, kind, what in self.edited:
            out.append(f"{_label(index, grade_id)} ({kind}) was {what}; the grader restores it")
        for grade_id in self.duplicates:
            out.append(f"the cell id {grade_id!r} occurs more than once (a copied cell): nbgrader rejects the notebook")
        for r in self.reproducibility:
            if r["status"] == "different":
                out.append(f"{r['name']} gives a different result on a second call after np.random.seed(0): {r['detail']}")
        return out

    @property
    def passed(self) -> bool:
        return not self.problems


def _label(index: int, grade_id: str | None) -> str:
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else "")[:300]


def _rebind_text(r: dict) -> str:
    """'test cell X rebinds Y, a name your code may use', with the cells of your code that use it."""
    text = f"test cell {r['grade_id'] or r['cell']} (cell {r['cell']}) rebinds {r['name']}, a name your code may use"
    if r["used_in"]:
        text += (f" (your code uses it in cell{'s' if len(r['used_in']) > 1 else ''} "
                 f"{', '.join(str(i) for i in r['used_in'])}: give your variable another name)")
    return text


def _python_source(source: str) -> str:
    """A cell's source with IPython's magics and shell lines (``%...``, ``!...``) made ``pass``."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append(line[:len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def _symbols(source: str):
    """The symbol table of a cell's source, or None when it is not valid Python."""
    try:
        return symtable.symtable(_python_source(source), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return None


def rebound_names(source: str) -> list:
    """The global names a cell's code binds or unbinds, sorted.

    At the top level: assignments (``=``, ``+=``, annotated), ``for`` and
    ``with ... as`` targets, ``except ... as``, imports, ``def`` and
    ``class``, ``:=`` and ``del``; inside functions and classes of the cell:
    the names declared ``global`` and assigned there. ``from m import *``
    gives ``"* (from m)"``. Source that is not valid Python gives ``[]``.

    Parameters
    ----------
    source : str
        The code of one cell (IPython magics allowed).

    Returns
    -------
    list of str
        The names, sorted.
    """
    table = _symbols(source)
    if table is None:
        return []
    names = {sym.get_name() for sym in table.get_symbols() if sym.is_assigned() or sym.is_imported()}
    names |= _assigned_globals(table)
    tree = ast.parse(_python_source(source))
    names |= {f"* (from {node.module})" for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)}
    return sorted(names)


def _assigned_globals(table) -> set:
    """Names declared ``global`` and assigned in the functions and classes under ``table``."""
    out = set()
    for child in table.get_children():
        out |= {sym.get_name() for sym in child.get_symbols() if sym.is_declared_global() and sym.is_assigned()}
        out |= _assigned_globals(child)
    return out


def _deleted_names(source: str) -> set:
    """Names a cell deletes with ``del`` at its top level (not inside its functions or classes)."""
    try:
        tree = ast.parse(_python_source(source))
    except (SyntaxError, ValueError):
        return set()
    out, stack = set(), list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Delete):
            out |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        stack.extend(ast.iter_child_nodes(node))
    return out


def _global_names_used(source: str) -> set:
    """The global names a cell's code reads, binds or deletes (at the top level or from its functions)."""
    table = _symbols(source)
    if table is None:
        return set()
    used = {sym.get_name() for sym in table.get_symbols()}
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        used |= {sym.get_name() for sym in child.get_symbols() if sym.is_global()}
        stack.extend(child.get_children())
    return used


def _find_rebinds(nb) -> list:
    """Every name a visible test cell binds, with the cells of the rest of the notebook's code that use it."""
    uses = {}
    tests = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        kind, grade_id, _ = _cell_kind(cell)
        if kind == "test":
            tests.append((index, grade_id, cell.source))
        else:
            uses[index] = _global_names_used(cell.source)
    out = []
    for index, grade_id, source in tests:
        deleted = _deleted_names(source)
        for name in rebound_names(source):
            used_in = [i for i, names in uses.items() if name in names]
            out.append({"cell": index, "grade_id": grade_id, "name": name, "used_in": used_in,
                        "left": name not in deleted})
    return out


def _cell_kind(cell) -> tuple[str, str | None, float | None]:
    meta = cell.get("metadata", {}).get("nbgrader")
    if not meta:
        return "other", None, None
    grade_id = meta.get("grade_id")
    grade, solution = bool(meta.get("grade", False)), bool(meta.get("solution", False))
    if grade and not solution and cell.get("cell_type") == "code":
        return "test", grade_id, float(meta.get("points", 0))
    if solution:
        return "answer", grade_id, float(meta["points"]) if grade else None
    if grade or meta.get("locked", False):
        return "read-only", grade_id, None
    return "other", grade_id, None


def _hidden_only(source: str) -> bool:
    """True when a test cell holds no code (only comments: its tests are hidden)."""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return False
    return True


def _inspect_metadata(nb, report: CheckReport) -> None:
    """Edited read-only/test cells, changed cell types, untouched answers, duplicate ids."""
    seen: dict = {}
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta:
            continue
        kind, grade_id, _ = _cell_kind(cell)
        if grade_id is not None:
            seen[grade_id] = seen.get(grade_id, 0) + 1
        stored = meta.get("checksum")
        if "cell_type" in meta and meta["cell_type"] != cell.cell_type:
            report.edited.append((index, grade_id, kind, f"changed from a {meta['cell_type']} cell to a {cell.cell_type} cell"))
            continue
        if stored is None:
            continue
        unchanged = compute_checksum(cell) == stored
        if kind in ("test", "read-only") and not unchanged:
            report.edited.append((index, grade_id, kind, "edited"))
        elif kind == "answer" and meta.get("grade", False) and cell.cell_type == "markdown" and unchanged:
            report.unanswered.append(grade_id)
    report.duplicates = sorted(g for g, n in seen.items() if n > 1)


def _error_text(output) -> str:
    ename = output.get("ename", "Error")
    evalue = str(output.get("evalue", ""))
    return f"{ename}: {evalue}" if evalue else ename


def _reproducibility_cell_source(name: str) -> str:
    """The extra cell (in memory only) that calls ``name`` twice after the grader's seeds and prints the result."""
    return (
        "import json as _gc_json\n"
        "from gradedlib.selfcheck import reproducibility_report as _gc_report\n"
        f"print({_MARK!r} + _gc_json.dumps(_gc_report(globals(), ({name!r},))))\n"
        "del _gc_json, _gc_report\n"
    )


class _Progress:
    def __init__(self, stream, enabled: bool):
        self.stream, self.enabled = stream, enabled
        self._lock = threading.Lock()

    def say(self, message: str) -> None:
        if self.enabled:
            with self._lock:
                self.stream.write(message + "\n")
                self.stream.flush()


class _Steps:
    """Progress lines with one counter over all the steps, and a heartbeat while a step runs.

    Parameters
    ----------
    say : callable
        Called with one line of text (from this thread or the heartbeat's).
    total : int
        Number of counted steps.
    interval : float
        The most seconds between two lines while a step runs.
    """

    def __init__(self, say, total: int, interval: float = HEARTBEAT_SECONDS):
        if not interval > 0:
            raise ValueError(f"interval must be a positive number of seconds. Got {interval!r} instead.")
        self.say, self.total, self.interval = say, total, interval
        self.count = 0
        self.start = time.perf_counter()

    @contextmanager
    def step(self, what: str, counted: bool = True):
        """Say ``what`` starts, then every ``interval`` seconds that it still runs, until the block ends."""
        if counted:
            self.count += 1
            what = f"[{self.count}/{self.total}] {what}"
        began = time.perf_counter()
        self.say(f"{what}, at {began - self.start:.1f} s")
        done = threading.Event()

        def beat():
            while not done.wait(self.interval):
                self.say(f"{what}: still running after {time.perf_counter() - began:.0f} s")

        thread = threading.Thread(target=beat, name="gradedlib-check-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def run_check(path, timeout: float = GRADER_CELL_TIMEOUT, kernel_name: str | None = None,
              progress=None, reproducibility: bool = True, heartbeat: float = HEARTBEAT_SECONDS,
              blas_threads: int | None = GRADER_BLAS_THREADS) -> CheckReport:
    """Run the notebook at ``path`` in a fresh kernel and return the report.

    Parameters
    ----------
    path : str or Path
        The notebook (``.ipynb``). It is read, never written.
    timeout : float, default=GRADER_CELL_TIMEOUT
        Seconds each cell may run before it is interrupted.
    kernel_name : str, default=None
        Kernel to use; ``None`` uses the notebook's own kernel (``python3``).
    progress : callable, default=None
        Called with one line of text as each step starts (``[3/30]
        fit_solution (cell 5), at 12.0 s``: one counter over the code cells
        and the reproducibility calls) and at least every ``heartbeat``
        seconds while it runs (the kernel's start too). It may be called
        from another thread.
    reproducibility : bool, default=True
        Call the notebook's fitting functions and ``predict`` twice on
        synthetic data after ``np.random.seed(0)`` and compare (functions the
        visible self-checks already compared are not called again).
    heartbeat : float, default=HEARTBEAT_SECONDS
        The most seconds between two progress lines.
    blas_threads : int or None, default=GRADER_BLAS_THREADS
        Threads of BLAS and OpenMP in the kernel (``OPENBLAS_NUM_THREADS``,
        ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), as the grader sets them;
        ``None`` leaves the environment's.
    """
    import nbformat
    from nbclient import NotebookClient

    env = _kernel_environment(blas_threads)
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    kernel = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    report = CheckReport(notebook=str(path), kernel=kernel, timeout=float(timeout))
    _inspect_metadata(nb, report)
    report.rebinds = _find_rebinds(nb)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=True,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    functions = REPRODUCIBLE_FUNCTIONS if reproducibility else ()
    steps = _Steps(progress or (lambda message: None), len(code_cells) + len(functions), heartbeat)
    memory_before = _children_peak_rss()
    start = time.perf_counter()
    # The kernel process's own stdout and stderr (start-up and debugger
    # messages, a crash report) go to a file, not to the student's terminal;
    # cell outputs are separate.
    kernel_log = tempfile.TemporaryFile(mode="w+b")
    with kernel_log, ExitStack() as kernel_context:
        with steps.step(f"starting a fresh kernel ({report.kernel})", counted=False):
            kernel_context.enter_context(client.setup_kernel(stdout=kernel_log, stderr=kernel_log, env=env))
        try:
            _run_cells(client, nb, code_cells, report, steps, kernel_log)
            report.total_seconds = time.perf_counter() - start
            if report.kernel_died_in is None:
                for name in functions:
                    with steps.step(f"{name}: calling it twice after np.random.seed(0)"):
                        report.reproducibility.extend(_reproducibility_of(client, nb, name))
        finally:
            with steps.step("shutting the kernel down", counted=False):
                kernel_context.close()
    memory_after = _children_peak_rss()
    if memory_after is not None and memory_after > (memory_before or 0):
        report.peak_memory = memory_after
    return report


def _kernel_environment(blas_threads: int | None) -> dict:
    """The kernel's environment: this process's, with ``blas_threads`` threads of BLAS and OpenMP."""
    import os

    env = dict(os.environ)
    if blas_threads is not None:
        if isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1:
            raise ValueError(f"blas_threads must be a positive integer or None. Got {blas_threads!r} instead.")
        for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[key] = str(blas_threads)
    return env


def _run_cells(client, nb, code_cells: list, report: CheckReport, steps: _Steps, kernel_log) -> None:
    """Run each code cell in order, recording a CellResult; stop at a dead kernel."""
    from nbclient.exceptions import DeadKernelError

    for count, index in enumerate(code_cells, 1):
        cell = nb.cells[index]
        kind, grade_id, points = _cell_kind(cell)
        result = CellResult(index=index, grade_id=grade_id, kind=kind, points=points,
                            hidden_only=kind == "test" and _hidden_only(cell.source))
        t0 = time.perf_counter()
        with steps.step(f"{grade_id} (cell {index})" if grade_id else f"cell {index}"):
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                result.seconds = time.perf_counter() - t0
                result.error = "DeadKernelError: the kernel died while this cell ran" + _last_words(kernel_log)
                report.cells.append(result)
                report.kernel_died_in = index
                report.not_run = len(code_cells) - count
                return
        result.seconds = time.perf_counter() - t0
        result.timed_out = result.seconds >= report.timeout
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and result.error is None:
                result.error = _error_text(output)
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                result.stderr += output.get("text", "")
        report.cells.append(result)


def _reproducibility_of(client, nb, name: str) -> list:
    """Run the reproducibility cell for ``name`` (appended to the in-memory notebook) and parse its result."""
    from nbclient.exceptions import DeadKernelError
    from nbformat.notebooknode import from_dict

    extra = from_dict({"cell_type": "code", "source": _reproducibility_cell_source(name),
                       "metadata": {}, "outputs": [], "execution_count": None})
    nb.cells.append(extra)  # in memory only: the notebook file is never written
    try:
        client.execute_cell(extra, len(nb.cells) - 1)
    except DeadKernelError:
        return [{"name": name, "status": "error", "detail": "the kernel died"}]
    return _parse_reproducibility(extra, name)


def _last_words(log) -> str:
    """The last line the dead kernel wrote on its stderr, if any, as ' (last message: ...)'."""
    try:
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    lines = [line for line in text.splitlines() if line.strip() and "without encryption" not in line]
    return f" (last message: {lines[-1].strip()[:200]})" if lines else ""


def _children_peak_rss() -> int | None:
    """Largest resident size (bytes) of any finished child process (the kernel), or None.

    ``resource.getrusage(RUSAGE_CHILDREN)`` counts children that have ended
    and been waited for: the kernel, once shut down. Not available on Windows.
    """
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


def _parse_reproducibility(cell, name: str) -> list:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in output.get("text", "").splitlines():
                if line.startswith(_MARK):
                    return json.loads(line[len(_MARK):])
        if output.get("output_type") == "error":
            return [{"name": name, "status": "error", "detail": _error_text(output)}]
    return [{"name": name, "status": "error", "detail": "no result"}]


def _limit_text(report: CheckReport) -> str:
    """The grader's time limits, and the one used here when ``--timeout`` changed it."""
    text = (f"The grader allows each cell {GRADER_CELL_TIME_FACTOR}x the reference solution's time for that cell "
            f"plus {GRADER_CELL_TIME_FLOOR} s (at most {GRADER_CELL_TIMEOUT} s), and {GRADER_NOTEBOOK_TIMEOUT} s "
            "for the whole notebook.")
    if report.timeout != GRADER_CELL_TIMEOUT:
        text += f" Here each cell was stopped after {report.timeout:g} s."
    return text


def _test_lines(report: CheckReport) -> list:
    """One line per autograded part: pass, FAIL (with the message) or hidden."""
    lines = []
    for c in report.tests:
        pts = f" [{c.points:g} pt{'s' if c.points != 1 else ''}]" if c.points is not None else ""
        if c.error is not None or c.timed_out:
            status, note = "FAIL", (c.error or "stopped (time limit)")
        elif c.hidden_only:
            status, note = "hidden", "no visible test; checked only when graded"
        else:
            status, note = "pass", ""
        note = note.rstrip().replace("\n", "\n" + " " * 9)
        lines.append(f"  {status:6} {c.grade_id}{pts}" + (f": {note}" if note else ""))
    return lines


def _timing_lines(report: CheckReport) -> list:
    """The cells that took at least _LIST_CELL_SECONDS, those over the grader's floor flagged."""
    slow = [c for c in report.cells if c.seconds >= _LIST_CELL_SECONDS]
    if not slow:
        return []
    lines = [f"Run time (any cell under {GRADER_CELL_TIME_FLOOR} s is always within the grader's limit):"]
    for c in slow:
        flag = ""
        if c.timed_out:
            flag = "  <- stopped: over the time limit here"
        elif c.seconds > GRADER_CELL_TIME_FLOOR:
            flag = (f"  <- over {GRADER_CELL_TIME_FLOOR} s: may be stopped by the grader if over "
                    f"{GRADER_CELL_TIME_FACTOR}x the reference's time for that cell")
        lines.append(f"  {_label(c.index, c.grade_id)}: {c.seconds:.1f} s{flag}")
    return lines


def _rebind_lines(report: CheckReport) -> list:
    """The names the visible test cells bind: those your code uses, then in one line the others the cells leave
    bound (a name a cell deletes again, and your code does not use, changes nothing)."""
    used = [r for r in report.rebinds if r["used_in"]]
    unused = [r for r in report.rebinds if not r["used_in"] and r["left"]]
    if not used and not unused:
        return []
    lines = ["Names the visible test cells bind in your notebook (the grader runs these cells between yours):"]
    lines += [f"  {_rebind_text(r)}" for r in used]
    if unused:
        lines.append("  not used by your code: " + ", ".join(f"{r['name']} (cell {r['cell']})" for r in unused))
    return lines


def format_report(report: CheckReport) -> str:
    """The text report printed by ``gradedlib check``."""
    lines = [f"gradedlib check {report.notebook}"]
    slowest = max(report.cells, key=lambda c: c.seconds, default=None)
    lines.append(
        f"Ran {len(report.cells)} code cells in a fresh kernel ({report.kernel}) in {report.total_seconds:.1f} s"
        + (f"; slowest: {_label(slowest.index, slowest.grade_id)}, {slowest.seconds:.1f} s" if slowest else "")
        + ". " + _limit_text(report)
    )
    if report.peak_memory is not None:
        lines.append(f"Peak memory of the kernel: {report.peak_memory / 2**20:.0f} MB "
                     f"(the grader allows {GRADER_MEMORY_LIMIT / 2**20:.0f} MB).")
    lines.append("Printing, logging and warnings cost no points, in test cells too: only a failed check or an error does.")
    sections = []
    if report.tests:
        sections.append(["Autograded parts (visible tests only; hidden tests run when the notebook is graded):",
                         *_test_lines(report)])
    other_errors = [c for c in report.cells if c.kind != "test" and (c.error or c.timed_out)]
    if other_errors:
        sections.append(["Cells that raised (every test that needs their results fails too):",
                         *(f"  {_label(c.index, c.grade_id)}: {c.error or 'stopped (time limit)'}" for c in other_errors)])
    sections += [_timing_lines(report), _rebind_lines(report)]
    if report.kernel_died_in is not None:
        sections.append([f"The kernel died in cell {report.kernel_died_in}; {report.not_run} later code cell(s) did not run."])
    if report.reproducibility:
        sections.append(["Reproducibility (the grader calls these again after np.random.seed(0)):",
                         *(f"  {r['status']:9} {r['name']}" + (f": {r['detail']}" if r.get("detail") else "")
                           for r in report.reproducibility)])
    if report.edited or report.duplicates:
        sections.append(["Edited cells (the grader restores read-only and test cells from the original, so your edit "
                         "will not count):",
                         *(f"  {_label(index, grade_id)} ({kind}): {what}" for index, grade_id, kind, what in report.edited),
                         *(f"  cell id {grade_id!r} occurs more than once: do not copy cells" for grade_id in report.duplicates)])
    if report.unanswered:
        sections.append(["Written answers still as released (graded by hand): " + ", ".join(report.unanswered)])
    for section in sections:
        if section:
            lines += ["", *section]
    lines.append("")
    problems = report.problems
    if problems:
        lines.append(f"{len(problems)} problem(s) to fix before submitting:")
        lines.extend(f"  - {p}" for p in problems)
    else:
        lines.append("Everything visible passes. The hidden tests decide the values when the notebook is graded.")
    return "\n".join(lines)


def add_check_parser(subparsers) -> None:
    """Add the ``check`` subcommand to the ``gradedlib`` command's subparsers."""
    check = subparsers.add_parser(
        "check",
        help="run a notebook top to bottom in a fresh kernel, as the grader does, and report",
        description="Run NOTEBOOK from top to bottom in a fresh kernel, as the grader does, with its "
        "visible tests, and report every autograded part, cells that raise, names the test cells rebind, "
        "run times against the grader's limits, non-reproducible functions and edited read-only cells. "
        "Exit status 0 when everything visible passes, 1 otherwise.",
    )
    check.add_argument("notebook", type=Path, metavar="NOTEBOOK", help="the notebook to check (.ipynb)")
    check.add_argument("--timeout", type=_positive_seconds, default=GRADER_CELL_TIMEOUT, metavar="SECONDS",
                       help=f"seconds each cell may run (default {GRADER_CELL_TIMEOUT}, the most the grader "
                            "allows any cell)")
    check.add_argument("--kernel", default=None, metavar="NAME",
                       help="Jupyter kernel to run it in (default: the notebook's, usually python3)")
    check.add_argument("--threads", type=_positive_int, default=GRADER_BLAS_THREADS, metavar="N",
                       help=f"threads of BLAS in the kernel (default {GRADER_BLAS_THREADS}, as the grader: cell times "
                            "comparable to its limits)")
    check.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    check.add_argument("--quiet", action="store_true", help="no progress display on stderr")


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer. Got {text!r} instead.") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer. Got {text!r} instead.")
    return value


def _positive_seconds(text: str) -> float:
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds. Got {text!r} instead.") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds. Got {text!r} instead.")
    return value


def main(args) -> int:
    """Run ``gradedlib check`` with parsed arguments; return the exit status."""
    path = args.notebook
    if not path.is_file():
        sys.stderr.write(f"gradedlib check: error: NOTEBOOK must be an existing .ipynb file. Got {str(path)!r}, "
                         "which does not exist or is not a file.\n")
        return 2
    try:
        import nbformat

        nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook
        sys.stderr.write(f"gradedlib check: error: NOTEBOOK must be a Jupyter notebook (.ipynb). Could not read "
                         f"{str(path)!r}: {type(exc).__name__}: {_first_line(str(exc))}\n")
        return 2
    progress = _Progress(sys.stderr, enabled=not args.quiet)
    try:
        report = run_check(path, timeout=args.timeout, kernel_name=args.kernel, progress=progress.say,
                           blas_threads=getattr(args, "threads", GRADER_BLAS_THREADS))
    except Exception as exc:  # noqa: BLE001 - the kernel could not start, for example
        sys.stderr.write(f"gradedlib check: error: could not run {str(path)!r}: {type(exc).__name__}: "
                         f"{_first_line(str(exc))}\n")
        return 2
    if args.json:
        data = asdict(report)
        data["problems"] = report.problems
        data["passed"] = report.passed
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(format_report(report) + "\n")
    return 0 if report.passed else 1
