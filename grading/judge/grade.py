"""Grade one notebook: run it in a sandbox, probe its functions, judge outside, write the verdicts.

:func:`grade_notebook` is what the nbgrader preprocessor
(:class:`grading.plugins.execute.SandboxedExecute`) and ``python -m grading
autograde`` call for every submission:

1. the notebook runs top to bottom in a sandboxed kernel
   (:class:`grading.run.executor.NotebookExecutor`), and its named results are
   exported as plain arrays;
2. the student's functions are called again in a fresh sandbox where the test
   set does not exist (:class:`grading.run.probe.Probe`);
3. the checks (:mod:`grading.judge.checks`) compare both with the references, in the
   grader's own process;
4. every autograded cell's outputs are replaced by the verdict: nothing, or one
   error whose message says what was expected and what was found.  nbgrader
   then scores the cells as usual (an error scores zero);
5. every output and markdown cell is sanitized (:mod:`grading.judge.sanitize`):
   nothing the student wrote runs in the formgrader or the feedback page.

The student's kernel never sees a hidden check, a reference value or another
student's code, and nothing it prints or patches decides a grade.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from threadpoolctl import threadpool_limits

from grading.judge.checks import Evidence, judge, precompute_probe_errors
from grading.run.executor import NotebookExecutor, load_claims
from grading.run.probe import Probe, standard_calls
from grading.judge.references import References
from grading.judge.sanitize import sanitize_notebook

__all__ = ["EXPORTED_NAMES", "GRADING_PACKAGES", "GRADING_SECTIONS", "GradingSummary", "copy_outputs", "grade_notebook", "grading_config", "submission_key"]

#: The notebook's results that the checks read (the assignment's contract).
EXPORTED_NAMES = [
    "mu", "sigma", "pi", "chosen_c", "misclassified_shown", "zero_variance_pixels",
    "huge_c_error_rate", "huge_c_predicted_digit", "training_errors",
    "mu_pc", "sigma_pc", "pi_pc", "c_pc",
]

PASSED_TEXT = "All checks of this cell passed (checked by the grader, outside your notebook's process).\n"


@dataclass
class GradingSummary:
    """What grading one notebook did, for logs and the class report."""

    seconds: float = 0.0
    notebook_seconds: float = 0.0
    probe_seconds: float = 0.0
    judge_seconds: float = 0.0  # after the notebook, plus the part done early (judge_early_seconds)
    judge_early_seconds: float = 0.0  # the judge's work done as soon as the probe ended
    events: list = field(default_factory=list)
    limits_hit: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # grade_id -> message
    cell_seconds: dict = field(default_factory=dict)  # grade id (or "#index") -> seconds, cells that finished
    call_seconds: dict = field(default_factory=dict)  # probe call id -> seconds, calls that finished

    def as_dict(self) -> dict:
        return {
            "seconds": round(self.seconds, 2), "notebook_seconds": round(self.notebook_seconds, 2),
            "probe_seconds": round(self.probe_seconds, 2), "judge_seconds": round(self.judge_seconds, 2),
            "judge_early_seconds": round(self.judge_early_seconds, 2),
            "events": self.events, "limits_hit": self.limits_hit, "failed": self.failed,
            "cell_seconds": self.cell_seconds, "call_seconds": self.call_seconds,
        }


#: The packages whose code decides a grade: a change to any of their files grades every submission again.
GRADING_PACKAGES = ("grading.sandbox", "grading.run", "grading.judge")
#: The configuration sections that decide a grade (limits).
GRADING_SECTIONS = ("Sandbox", "NotebookExecutor", "Probe")


#: Settings of those sections that say where the grader runs, not how it grades (``python -m grading
#: autograde`` sets the course folder; the nbgrader run that records its grades does not).
PLACE_SETTINGS = {("Sandbox", "course_folder")}
#: Settings measured on the machine, not chosen (the reference's times, see grading.batch.cell_times): a new
#: measurement changes the limits of a never-ending cell only, and grades nothing again.
MEASURED_SETTINGS = {("NotebookExecutor", "reference_cell_seconds"), ("Probe", "reference_call_seconds")}


def grading_config(config) -> dict:
    """The sections of ``config`` that decide a grade, as text (a value read from a command line is a string)."""
    skip = PLACE_SETTINGS | MEASURED_SETTINGS
    sections = {name: {k: str(v) for k, v in dict(config[name]).items() if (name, k) not in skip}
                for name in GRADING_SECTIONS if name in config}
    return {name: values for name, values in sections.items() if values}


@functools.cache
def _code_hash() -> str:
    """A hash of every source file of :data:`GRADING_PACKAGES`, by path inside ``grading/`` and content.

    Read once per process: the code that grades does not change while it runs.
    """
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for package in GRADING_PACKAGES:
        folder = root.joinpath(*package.split(".")[1:])
        for path in sorted(folder.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def submission_key(nb: NotebookNode, config: dict | None = None) -> str:
    """A hash of what grading a notebook depends on: its cells, the grader's code and its limits."""
    h = hashlib.sha256(_code_hash().encode())
    h.update(json.dumps(config or {}, sort_keys=True, default=str).encode())
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        h.update(json.dumps([cell.cell_type, cell.source, grade_id]).encode())
    return h.hexdigest()[:32]


def copy_outputs(graded: NotebookNode, nb: NotebookNode) -> None:
    """Give ``nb`` the outputs (and the grading summary) of ``graded``, a graded copy of the same cells."""
    if len(graded.cells) != len(nb.cells):
        raise ValueError("the graded copy has other cells")
    for source, target in zip(graded.cells, nb.cells):
        if target.cell_type == "code":
            target.outputs = source.get("outputs", [])
            target.execution_count = source.get("execution_count")
    if "generative_mnist_grading" in graded.metadata:
        nb.metadata["generative_mnist_grading"] = graded.metadata["generative_mnist_grading"]


def _is_autograded_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def grade_notebook(nb: NotebookNode, refs: References, executor: NotebookExecutor, probe: Probe,
                   work_root: str | None = None) -> GradingSummary:
    """Grade ``nb`` in place (outputs and verdicts) and return the summary.

    Raises
    ------
    grading.failures.NotGradable
        When the sandbox, the kernel or the probe cannot start (the grader's
        failure, not the student's): ``nb`` must then not be recorded.
    """
    summary = GradingSummary()
    start = time.monotonic()
    # The judge's own matrix products get the sandboxes' share of cores: more BLAS threads than
    # cores make OpenBLAS spin against the student processes that run beside it.
    with threadpool_limits(limits=probe.sandbox.blas_threads, user_api="blas"):
        _grade(nb, refs, executor, probe, work_root, summary)
    # Nothing the student wrote may run where the graded notebook is shown (formgrader, feedback).
    removed = sanitize_notebook(nb)
    if any(removed.values()):
        summary.events.append("outputs that could run code in a browser were removed or cleaned: "
                              + ", ".join(f"{k} {v}" for k, v in sorted(removed.items()) if v))
    summary.limits_hit = sorted(set(summary.limits_hit))
    summary.seconds = time.monotonic() - start
    nb.metadata["generative_mnist_grading"] = summary.as_dict()
    return summary


def _grade(nb, refs, executor, probe, work_root, summary) -> None:
    """The body of :func:`grade_notebook`: notebook and probe at once, then the judge; fills ``summary``."""
    io_dir = tempfile.mkdtemp(prefix="gm-grade-", dir=work_root)
    os.chmod(io_dir, 0o700)
    try:
        # The probe needs nothing from the notebook's run: both run at once, each in its own sandbox.
        cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not _is_autograded_test(c)]
        # Each sandbox gets its own folder of the grader's (shown to it read-only, if at all): the notebook's
        # kernel and the probe share nothing they can write, and neither can write where the grader reads.
        probe_dir = os.path.join(io_dir, "probe")
        notebook_dir = os.path.join(io_dir, "notebook")
        os.mkdir(probe_dir)
        os.mkdir(notebook_dir)
        probe_out: dict = {}
        cancel = threading.Event()

        def run_probe():
            t0 = time.monotonic()
            try:
                probe_out["results"] = probe.run(cells, standard_calls(), probe_dir, str(refs.probe_view), cancel)
                probe_out["seconds"] = time.monotonic() - t0
                # The judge's heaviest work needs only the probe: do it while the notebook may still run.
                probe_out["cache"] = precompute_probe_errors(probe_out["results"], refs)
                probe_out["early"] = time.monotonic() - t0 - probe_out["seconds"]
            except BaseException as exc:  # noqa: BLE001 - reported below, never lost
                probe_out["error"] = exc
            probe_out.setdefault("seconds", time.monotonic() - t0)

        thread = threading.Thread(target=run_probe, name="probe", daemon=True)
        thread.start()
        try:
            run = executor.run(nb, notebook_dir, str(refs.notebook_view), EXPORTED_NAMES)
        except BaseException:  # the grader's failure (NotGradable) or an interruption: stop the probe too
            cancel.set()
            thread.join(60)
            raise
        summary.notebook_seconds = run.seconds
        summary.cell_seconds = dict(run.cell_seconds)
        summary.events += run.events
        summary.limits_hit += run.limits_hit
        thread.join()
        if "error" in probe_out:
            raise probe_out["error"]
        results = probe_out["results"]
        summary.probe_seconds = probe_out["seconds"]
        summary.call_seconds = {call_id: r.seconds for call_id, r in results.items() if r.seconds is not None}
        summary.judge_early_seconds = probe_out["early"]
        for call_id, result in results.items():
            if result.status in ("timeout", "crashed", "not-run"):
                summary.events.append(f"probe {call_id}: {result.message}")
            summary.limits_hit += result.info.get("limits_hit", [])

        t0 = time.monotonic()
        claims, info = load_claims(run.claims_path, EXPORTED_NAMES)
        evidence = Evidence(claims, info, results, refs, cache=probe_out["cache"])
        tests = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if _is_autograded_test(c)}
        verdicts = judge(evidence, list(tests))
        for grade_id, cell in tests.items():
            messages = verdicts[grade_id]
            if messages:
                text = " ".join(messages)
                summary.failed[grade_id] = text
                cell.outputs = [NotebookNode(output_type="error", ename="AssertionError", evalue=text,
                                             traceback=[f"AssertionError: {text}"])]
            else:
                cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=PASSED_TEXT)]
        summary.judge_seconds = time.monotonic() - t0 + summary.judge_early_seconds
    finally:
        shutil.rmtree(io_dir, ignore_errors=True)
