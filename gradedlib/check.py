"""``gradedlib check NOTEBOOK``: check a notebook before submitting it.

Runs the notebook from top to bottom in a fresh kernel, as the grader does,
with its visible tests, and prints a short report:

* every autograded part (nbgrader test cell): passed or failed, with the
  message; parts whose tests are all hidden are listed as such;
* cells that raise, and test cells that print to stderr (nbgrader gives such
  a cell zero points);
* the run time of every slow cell and of the whole notebook, against the
  grader's limit per cell (:data:`GRADER_CELL_TIMEOUT`);
* functions that give a different result when called a second time after
  ``np.random.seed(0)`` (the grader calls them again);
* read-only and test cells whose source was edited (detected with the
  checksums nbgrader stores in the cell metadata: the grader restores these
  cells, so an edit there does not count), and written answers left as
  released.

The exit status is 0 when everything visible passes, 1 when something needs
fixing, 2 for a bad argument (a missing or unreadable notebook).

It needs only the student package (nbformat, nbclient, ipykernel): nbgrader is
not used. This module imports neither ``gradedlib.model`` nor
``gradedlib.selection``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "GRADER_CELL_TIMEOUT",
    "GRADER_MEMORY_LIMIT",
    "GRADER_NOTEBOOK_TIMEOUT",
    "SLOW_CELL_FRACTION",
    "CellResult",
    "CheckReport",
    "add_check_parser",
    "compute_checksum",
    "format_report",
    "main",
    "run_check",
]

# The grader's limits, as set in the course's ``nbgrader_config.py``
# (``c.NotebookExecutor.cell_timeout``, ``notebook_timeout`` and
# ``c.Sandbox.memory_limit``); tests/test_check.py checks that they agree.

#: Seconds one cell may run when graded. A cell past it has its kernel
#: stopped: the cell scores like an error, the cells above are re-run in a new
#: kernel and grading goes on (at most twice per notebook).
GRADER_CELL_TIMEOUT = 600
#: Seconds the whole notebook may run when graded (re-runs included).
GRADER_NOTEBOOK_TIMEOUT = 2400
#: Bytes of memory the kernel may use when graded (4 GiB).
GRADER_MEMORY_LIMIT = 4 * 2**30
#: A cell that takes more than this share of the limit here is reported as
#: slow: the grading machine may be slower than yours.
SLOW_CELL_FRACTION = 0.5
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
    stderr: str = ""
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
            if c.kind == "test" and c.stderr and c.error is None:
                out.append(f"{label} printed to stderr, which scores zero: {_first_line(c.stderr)}")
        if self.kernel_died_in is not None:
            out.append(f"the kernel died in cell {self.kernel_died_in}; {self.not_run} later code cell(s) did not run")
        if self.total_seconds > GRADER_NOTEBOOK_TIMEOUT:
            out.append(f"the notebook ran {self.total_seconds:.0f} s; the grader stops at {GRADER_NOTEBOOK_TIMEOUT} s "
                       "for the whole notebook")
        if self.peak_memory is not None and self.peak_memory > GRADER_MEMORY_LIMIT:
            out.append(f"the kernel used {self.peak_memory / 2**20:.0f} MB of memory; the grader allows "
                       f"{GRADER_MEMORY_LIMIT / 2**20:.0f} MB")
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


def _reproducibility_cell_source() -> str:
    names = ", ".join(repr(n) for n in REPRODUCIBLE_FUNCTIONS)
    return (
        "import json as _gc_json\n"
        "from gradedlib.selfcheck import reproducibility_report as _gc_report\n"
        f"print({_MARK!r} + _gc_json.dumps(_gc_report(globals(), ({names},))))\n"
    )


class _Progress:
    def __init__(self, stream, enabled: bool):
        self.stream, self.enabled = stream, enabled

    def say(self, message: str) -> None:
        if self.enabled:
            self.stream.write(message + "\n")
            self.stream.flush()


def run_check(path, timeout: float = GRADER_CELL_TIMEOUT, kernel_name: str | None = None,
              progress=None, reproducibility: bool = True) -> CheckReport:
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
        Called with one line of text as each cell starts.
    reproducibility : bool, default=True
        Call the notebook's fitting functions and ``predict`` twice on
        synthetic data after ``np.random.seed(0)`` and compare.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbformat.notebooknode import from_dict

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    kernel = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    report = CheckReport(notebook=str(path), kernel=kernel, timeout=float(timeout))
    _inspect_metadata(nb, report)
    say = progress or (lambda message: None)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=True,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    memory_before = _children_peak_rss()
    start = time.perf_counter()
    # The kernel process's own stdout and stderr (start-up and debugger
    # messages, a crash report) go to a file, not to the student's terminal;
    # cell outputs are separate.
    kernel_log = tempfile.TemporaryFile(mode="w+b")
    with kernel_log, client.setup_kernel(stdout=kernel_log, stderr=kernel_log):
        for count, index in enumerate(code_cells, 1):
            cell = nb.cells[index]
            kind, grade_id, points = _cell_kind(cell)
            result = CellResult(index=index, grade_id=grade_id, kind=kind, points=points,
                                hidden_only=kind == "test" and _hidden_only(cell.source))
            say(f"[{time.perf_counter() - start:7.1f} s] cell {count}/{len(code_cells)}: {_label(index, grade_id)}")
            t0 = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                result.seconds = time.perf_counter() - t0
                result.error = "DeadKernelError: the kernel died while this cell ran" + _last_words(kernel_log)
                report.cells.append(result)
                report.kernel_died_in = index
                report.not_run = len(code_cells) - count
                break
            result.seconds = time.perf_counter() - t0
            result.timed_out = result.seconds >= timeout
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and result.error is None:
                    result.error = _error_text(output)
                elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                    result.stderr += output.get("text", "")
            report.cells.append(result)
        report.total_seconds = time.perf_counter() - start
        if reproducibility and report.kernel_died_in is None:
            say(f"[{time.perf_counter() - start:7.1f} s] calling your functions twice after np.random.seed(0)")
            extra = from_dict({"cell_type": "code", "source": _reproducibility_cell_source(),
                               "metadata": {}, "outputs": [], "execution_count": None})
            nb.cells.append(extra)  # in memory only: the notebook file is never written
            try:
                client.execute_cell(extra, len(nb.cells) - 1)
            except DeadKernelError:
                report.reproducibility.append({"name": "(reproducibility check)", "status": "error",
                                               "detail": "the kernel died"})
            else:
                report.reproducibility.extend(_parse_reproducibility(extra))
    memory_after = _children_peak_rss()
    if memory_after is not None and memory_after > (memory_before or 0):
        report.peak_memory = memory_after
    return report


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


def _parse_reproducibility(cell) -> list:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in output.get("text", "").splitlines():
                if line.startswith(_MARK):
                    return json.loads(line[len(_MARK):])
        if output.get("output_type") == "error":
            return [{"name": "(reproducibility check)", "status": "error", "detail": _error_text(output)}]
    return [{"name": "(reproducibility check)", "status": "error", "detail": "no result"}]


def format_report(report: CheckReport) -> str:
    """The text report printed by ``gradedlib check``."""
    lines = [f"gradedlib check {report.notebook}"]
    slowest = max(report.cells, key=lambda c: c.seconds, default=None)
    lines.append(
        f"Ran {len(report.cells)} code cells in a fresh kernel ({report.kernel}) in {report.total_seconds:.1f} s"
        + (f"; slowest: {_label(slowest.index, slowest.grade_id)}, {slowest.seconds:.1f} s" if slowest else "")
        + f". The grader allows {report.timeout:g} s per cell and {GRADER_NOTEBOOK_TIMEOUT} s for the whole notebook."
    )
    if report.peak_memory is not None:
        lines.append(f"Peak memory of the kernel: {report.peak_memory / 2**20:.0f} MB "
                     f"(the grader allows {GRADER_MEMORY_LIMIT / 2**20:.0f} MB).")
    tests = report.tests
    if tests:
        lines.append("")
        lines.append("Autograded parts (visible tests only; hidden tests run when the notebook is graded):")
        for c in tests:
            pts = f" [{c.points:g} pt{'s' if c.points != 1 else ''}]" if c.points is not None else ""
            if c.error is not None or c.timed_out:
                status, note = "FAIL", (c.error or "stopped (time limit)")
            elif c.stderr:
                status, note = "FAIL", "printed to stderr (scores zero): " + _first_line(c.stderr)
            elif c.hidden_only:
                status, note = "hidden", "no visible test; checked only when graded"
            else:
                status, note = "pass", ""
            note = note.rstrip().replace("\n", "\n" + " " * 9)
            lines.append(f"  {status:6} {c.grade_id}{pts}" + (f": {note}" if note else ""))
    other_errors = [c for c in report.cells if c.kind != "test" and (c.error or c.timed_out)]
    if other_errors:
        lines.append("")
        lines.append("Cells that raised (every test that needs their results fails too):")
        for c in other_errors:
            lines.append(f"  {_label(c.index, c.grade_id)}: {c.error or 'stopped (time limit)'}")
    slow = [c for c in report.cells if c.seconds >= _LIST_CELL_SECONDS]
    if slow:
        lines.append("")
        lines.append(f"Run time (limit {report.timeout:g} s per cell):")
        for c in slow:
            flag = ""
            if c.timed_out:
                flag = "  <- over the limit: stopped"
            elif c.seconds > SLOW_CELL_FRACTION * report.timeout:
                flag = f"  <- over {100 * SLOW_CELL_FRACTION:.0f}% of the limit: the grading machine may be slower"
            lines.append(f"  {_label(c.index, c.grade_id)}: {c.seconds:.1f} s{flag}")
    if report.kernel_died_in is not None:
        lines.append("")
        lines.append(f"The kernel died in cell {report.kernel_died_in}; {report.not_run} later code cell(s) did not run.")
    if report.reproducibility:
        lines.append("")
        lines.append("Reproducibility (the grader calls these again after np.random.seed(0)):")
        for r in report.reproducibility:
            lines.append(f"  {r['status']:9} {r['name']}" + (f": {r['detail']}" if r.get("detail") else ""))
    if report.edited or report.duplicates:
        lines.append("")
        lines.append("Edited cells (the grader restores read-only and test cells from the original, so your edit will not count):")
        for index, grade_id, kind, what in report.edited:
            lines.append(f"  {_label(index, grade_id)} ({kind}): {what}")
        for grade_id in report.duplicates:
            lines.append(f"  cell id {grade_id!r} occurs more than once: do not copy cells")
    if report.unanswered:
        lines.append("")
        lines.append("Written answers still as released (graded by hand): " + ", ".join(report.unanswered))
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
        "visible tests, and report every autograded part, cells that raise or print to stderr, run "
        "times against the grader's limit, non-reproducible functions and edited read-only cells. "
        "Exit status 0 when everything visible passes, 1 otherwise.",
    )
    check.add_argument("notebook", type=Path, metavar="NOTEBOOK", help="the notebook to check (.ipynb)")
    check.add_argument("--timeout", type=_positive_seconds, default=GRADER_CELL_TIMEOUT, metavar="SECONDS",
                       help=f"seconds each cell may run (default {GRADER_CELL_TIMEOUT}, the grader's limit)")
    check.add_argument("--kernel", default=None, metavar="NAME",
                       help="Jupyter kernel to run it in (default: the notebook's, usually python3)")
    check.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    check.add_argument("--quiet", action="store_true", help="no progress display on stderr")


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
    except Exception as exc:  # not JSON, not a notebook
        sys.stderr.write(f"gradedlib check: error: NOTEBOOK must be a Jupyter notebook (.ipynb). Could not read "
                         f"{str(path)!r}: {type(exc).__name__}: {_first_line(str(exc))}\n")
        return 2
    progress = _Progress(sys.stderr, enabled=not args.quiet)
    try:
        report = run_check(path, timeout=args.timeout, kernel_name=args.kernel, progress=progress.say)
    except Exception as exc:  # the kernel could not start, for example
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
