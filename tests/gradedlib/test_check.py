"""``gradedlib check NOTEBOOK``: the student's pre-submission report.

The notebooks are small fixtures built here with nbgrader metadata, the
checksums computed by nbgrader itself (nbgrader.utils.compute_checksum), and
the self-checks of gradedlib.selfcheck in their test cells; they run in a
real ipykernel in seconds (the real assignment takes over a minute).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import compute_checksum as nbgrader_checksum

from gradedlib.check import (
    GRADER_BLAS_THREADS,
    GRADER_CELL_TIME_FACTOR,
    GRADER_CELL_TIME_FLOOR,
    GRADER_CELL_TIMEOUT,
    GRADER_MEMORY_LIMIT,
    GRADER_NOTEBOOK_TIMEOUT,
    CellResult,
    CheckReport,
    _find_rebinds,
    _Steps,
    compute_checksum,
    format_report,
    rebound_names,
    run_check,
)

ROOT = Path(__file__).resolve().parents[2]

SETUP = "import numpy as np\nimport warnings"

FIT = '''
def fit_generative_model(x, y):
    x = np.asarray(x, dtype=float)
    n, d = x.shape
    c = 100.0
    pi = np.array([np.mean(y == j) for j in range(10)])
    mu = np.array([x[y == j].mean(axis=0) for j in range(10)])
    sigma = np.array([np.cov(x[y == j], rowvar=False, bias=True) + c * np.eye(d) for j in range(10)])
    return mu, sigma, pi


def predict(x, mu, sigma, pi):
    x = np.asarray(x, dtype=float)
    scores = np.empty((len(x), len(pi)))
    for j in range(len(pi)):
        L = np.linalg.cholesky(sigma[j])
        z = np.linalg.solve(L, (x - mu[j]).T)
        scores[:, j] = np.log(pi[j]) - np.log(np.diag(L)).sum() - 0.5 * (z * z).sum(axis=0)
    return np.argmax(scores, axis=1)
'''

# Chooses c at random, without a seed: a different model at every call (a
# continuous draw: two calls never agree, unlike a choice among 6 values); and
# warns (a warning goes to stderr, which costs nothing by itself).
FIT_FAULTY = FIT.replace(
    "    c = 100.0\n",
    "    c = float(np.random.default_rng().uniform(50.0, 1600.0))\n"
    "    warnings.warn('this fit is not finished')\n",
)

# (16-pixel synthetic images to keep the fixtures fast; the assignment uses the default, 784)
TEST_FIT = "from gradedlib.selfcheck import check_fit, check_predict\ncheck_fit(fit_generative_model, n_pixels=16)"
TEST_PREDICT = "check_predict(predict, n_pixels=16)"
TEST_ANSWER = 'assert answer == 42, f"answer: expected 42; found {answer!r}"'
HIDDEN = "# Hidden tests: checked when the notebook is graded."
RELEASED_ANSWER = "# YOUR CODE HERE\nraise NotImplementedError()"


def _cell(kind: str, source: str, grade_id: str, *, grade=False, solution=False, locked=False, points=None):
    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    cell = make(source)
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def released(fit: str = RELEASED_ANSWER, answer: str = RELEASED_ANSWER):
    """The fixture assignment as released: checksums by nbgrader, answers as given."""
    cells = [
        _cell("markdown", "# A small assignment", "intro", locked=True),
        _cell("code", SETUP, "setup", locked=True),
        _cell("code", RELEASED_ANSWER, "fit_solution", solution=True),
        _cell("code", TEST_FIT, "test_fit_values", grade=True, locked=True, points=2),
        _cell("code", HIDDEN, "test_fit_hidden", grade=True, locked=True, points=3),
        _cell("code", TEST_PREDICT, "test_predict_values", grade=True, locked=True, points=2),
        _cell("code", RELEASED_ANSWER, "answer_solution", solution=True),
        _cell("code", TEST_ANSWER, "test_answer", grade=True, locked=True, points=1),
        _cell("markdown", "YOUR ANSWER HERE", "written_answer", grade=True, solution=True, points=2),
    ]
    for cell in cells:
        cell.metadata.nbgrader["checksum"] = nbgrader_checksum(cell)
        cell.metadata.nbgrader["cell_type"] = cell.cell_type
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # the student's answers
    nb.cells[2].source = fit
    nb.cells[6].source = answer
    return nb


def write(nb, tmp_path: Path, name: str = "assignment.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def run_cli(*args: str, timeout: int = 600):
    return subprocess.run([sys.executable, "-m", "gradedlib", "check", *args],
                          capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------- no kernel --

def test_checksum_is_nbgraders_on_the_released_assignment():
    nb = nbformat.read(ROOT / "exercises" / "gaussian_generative" / "gaussian_generative.ipynb", as_version=4)
    cells = [c for c in nb.cells if "nbgrader" in c.metadata]
    assert len(cells) > 20
    for cell in cells:
        assert compute_checksum(cell) == nbgrader_checksum(cell)
    edited = nbformat.from_dict(json.loads(json.dumps(cells[0])))
    edited.source += " "
    assert compute_checksum(edited) != compute_checksum(cells[0])


def test_grader_limits_are_the_course_configuration():
    """The limits that gradedlib check reports are the ones nbgrader_config.py sets."""
    config = (ROOT / "nbgrader_config.py").read_text()

    def setting(pattern):
        match = re.search(r"^c\." + pattern + r"\s*=\s*([0-9* ]+)$", config, re.MULTILINE)
        return None if match is None else eval(match.group(1), {})  # digits, spaces and * only

    cell = setting(r"NotebookExecutor\.cell_timeout")
    if cell is None:  # nbgrader's own executor
        cell = setting(r"Execute\.timeout")
    assert cell == GRADER_CELL_TIMEOUT
    assert setting(r"NotebookExecutor\.cell_time_factor") == GRADER_CELL_TIME_FACTOR
    assert setting(r"NotebookExecutor\.cell_time_floor") == GRADER_CELL_TIME_FLOOR
    threads = setting(r"Sandbox\.blas_threads")
    if threads is None:  # the grader's default
        sys.path.insert(0, str(ROOT))
        from grading.sandbox.layers import Sandbox

        threads = Sandbox.blas_threads.default_value
    assert threads == GRADER_BLAS_THREADS
    notebook = setting(r"NotebookExecutor\.notebook_timeout")
    memory = setting(r"Sandbox\.memory_limit")
    if notebook is not None:
        assert notebook == GRADER_NOTEBOOK_TIMEOUT
    if memory is not None:
        assert memory == GRADER_MEMORY_LIMIT


def test_missing_notebook_is_a_usage_error(tmp_path):
    proc = run_cli(str(tmp_path / "nope.ipynb"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("gradedlib check: error: NOTEBOOK must be an existing .ipynb file. Got ")
    assert "nope.ipynb" in proc.stderr and "does not exist" in proc.stderr


def test_non_notebook_is_a_usage_error(tmp_path):
    path = tmp_path / "notes.ipynb"
    path.write_text("this is not json")
    proc = run_cli(str(path))
    assert proc.returncode == 2
    assert "NOTEBOOK must be a Jupyter notebook (.ipynb). Could not read" in proc.stderr


def test_bad_timeout_is_a_usage_error(tmp_path):
    proc = run_cli(str(tmp_path / "x.ipynb"), "--timeout", "-3")
    assert proc.returncode == 2
    assert "--timeout: must be a positive number of seconds. Got '-3' instead." in proc.stderr


# ----------------------------------------------------------- with kernels --

@pytest.mark.slow  # starts a kernel
def test_correct_notebook_passes(tmp_path):
    path = write(released(fit=FIT, answer="answer = 42"), tmp_path)
    before = path.read_bytes()
    proc = run_cli(str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"^  pass   test_fit_values \[2 pts\]$", out, re.MULTILINE), out
    assert re.search(r"^  pass   test_predict_values \[2 pts\]$", out, re.MULTILINE)
    assert re.search(r"^  pass   test_answer \[1 pt\]$", out, re.MULTILINE)
    assert "hidden test_fit_hidden [3 pts]: no visible test; checked only when graded" in out
    assert "same      fit_generative_model" in out and "same      predict" in out
    assert "missing   fit_generative_model_per_class_c: not defined in the notebook" in out
    assert "Written answers still as released (graded by hand): written_answer" in out
    assert (f"The grader allows each cell 10x the reference solution's time for that cell plus {GRADER_CELL_TIME_FLOOR} s "
            "(at most 600 s), and 2400 s for the whole notebook.") in out
    assert re.search(r"^Peak memory of the kernel: \d+ MB \(the grader allows 4096 MB\)\.$", out, re.MULTILINE)
    assert out.rstrip().endswith("Everything visible passes. The hidden tests decide the values when the notebook is graded.")
    assert path.read_bytes() == before  # the notebook is read, never written
    # progress on stderr: one counter over the 7 code cells and the 3 reproducibility calls
    assert re.search(r"^starting a fresh kernel \(python3\), at \d+\.\d s$", proc.stderr, re.MULTILINE), proc.stderr
    assert re.search(r"^\[1/10\] setup \(cell 1\), at \d+\.\d s$", proc.stderr, re.MULTILINE), proc.stderr
    assert re.search(r"^\[10/10\] predict: calling it twice after np\.random\.seed\(0\), at ", proc.stderr, re.MULTILINE)
    assert "cell 1/" not in proc.stderr and "/7]" not in proc.stderr


@pytest.mark.slow  # starts a kernel
def test_untouched_release_fails(tmp_path):
    report = run_check(write(released(), tmp_path))
    assert not report.passed
    text = format_report(report)
    assert "FAIL   test_fit_values [2 pts]: NameError: name 'fit_generative_model' is not defined" in text
    assert "FAIL   test_answer [1 pt]: NameError: name 'answer' is not defined" in text
    assert "cell 2 (fit_solution): NotImplementedError" in text
    assert "error     fit_generative_model" not in text  # a missing function is reported as missing
    assert "missing   fit_generative_model: not defined in the notebook" in text


@pytest.mark.slow  # starts a kernel
def test_faulty_notebook_reports_every_problem(tmp_path):
    nb = released(fit=FIT_FAULTY, answer="answer = 41")
    nb.cells[7].source = "pass  # the test was in the way"          # an edited test cell
    nb.cells[1].source = SETUP + "\nimport gradedlib_helpers_I_wrote"  # an edited read-only cell that raises
    nb.cells[8].source = "My answer: the covariance is singular."  # a written answer
    path = write(nb, tmp_path)
    proc = run_cli(str(path), "--json", "--quiet")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    problems = "\n".join(data["problems"])
    cells = {c["grade_id"]: c for c in data["cells"]}
    # the read-only cell raises, and it was edited
    assert cells["setup"]["error"] == "ModuleNotFoundError: No module named 'gradedlib_helpers_I_wrote'"
    assert "cell 1 (setup) (read-only) was edited; the grader restores it" in problems
    # the test cell was edited: it passes here, but the grader restores it
    assert "cell 7 (test_answer) (test) was edited; the grader restores it" in problems
    # the warning inside check_fit's call goes to stderr and costs nothing; the fit is not reproducible
    assert "UserWarning: this fit is not finished" in cells["test_fit_values"]["stderr"]
    assert "stderr" not in problems
    assert "cell 3 (test_fit_values) failed: SelfCheckError: fit_generative_model" in problems
    assert "expected the same result on a second call after np.random.seed(0)" in problems
    repro = {r["name"]: r for r in data["reproducibility"]}
    assert repro["fit_generative_model"]["status"] == "different"
    assert "fit_generative_model gives a different result on a second call after np.random.seed(0)" in problems
    assert repro["predict"]["status"] == "same"
    assert data["unanswered"] == []
    assert data["passed"] is False


@pytest.mark.slow  # starts a kernel
def test_timeout_and_dead_kernel(tmp_path):
    nb = released(fit="import time\ntime.sleep(60)\n" + FIT, answer="import os\nos._exit(1)")
    report = run_check(write(nb, tmp_path), timeout=15)
    text = format_report(report)
    fit = next(c for c in report.cells if c.grade_id == "fit_solution")
    assert fit.timed_out and 15 <= fit.seconds < 60
    assert "cell 2 (fit_solution) ran longer than the limit of 15 s and was stopped" in report.problems
    assert report.kernel_died_in == 6
    assert "The kernel died in cell 6; 1 later code cell(s) did not run." in text
    assert not report.passed


# ------------------------------------------- names a test cell rebinds --

REBINDING_TEST = '''
import warnings as _w
_x, (_y, _z) = 1, (2, 3)
_n += 1
_a: int = 4
for _i in range(2):
    pass
with open(__file__ if "__file__" in globals() else "/dev/null") as _f:
    pass
def _helper():
    global _g, _read_only
    _g = 1
    return _read_only
class _K:
    _inside = 1
del _z
if (_walrus := 5):
    _comp = [_local for _local in range(3)]
try:
    pass
except Exception as _e:
    pass
from os.path import *
'''


def test_rebound_names_finds_every_kind_of_binding():
    names = rebound_names("%matplotlib inline\n" + REBINDING_TEST)
    assert names == sorted(["_w", "_x", "_y", "_z", "_n", "_a", "_i", "_f", "_helper", "_g", "_K", "_walrus", "_comp",
                            "_e", "* (from os.path)"])
    # names only read, local to a function, a class or a comprehension are not bindings of the notebook
    assert not {"_read_only", "_inside", "_local", "range", "open", "Exception"} & set(names)


def test_a_name_a_test_cell_deletes_again_is_a_problem_only_when_your_code_uses_it():
    test = "def _t():\n    assert answer == 42\ntry:\n    _t()\nfinally:\n    del _t"
    nb = released(fit=FIT, answer="answer = 42")
    nb.cells[7].source = test
    report = CheckReport(notebook="a.ipynb", kernel="python3", timeout=float(GRADER_CELL_TIMEOUT))
    report.rebinds = _find_rebinds(nb)
    assert report.problems == [] and "_t" not in format_report(report)
    nb.cells[6].source = "answer = 42\n_t = 'mine'\nprint(_t)"
    report.rebinds = _find_rebinds(nb)
    assert report.problems == ["test cell test_answer (cell 7) rebinds _t, a name your code may use (your code uses it "
                               "in cell 6: give your variable another name)"]


def test_rebound_names_of_a_cell_that_only_reads_is_empty():
    assert rebound_names("assert answer == 42, f'found {answer!r}'\nprint(len(train_labels))") == []
    assert rebound_names("this is ( not python") == []


def _rebinding_notebook(test_source: str):
    """setup; the student's answer (uses _pi0 in a function and at the top level); a test cell; the answer again."""
    cells = [
        _cell("code", "import time", "setup", locked=True),
        _cell("code", "_pi0 = [0.5, 0.5]\ndef prior(j):\n    return _pi0[j]\ntime.sleep(2)", "answer_solution",
              solution=True),
        _cell("code", test_source, "test_answer", grade=True, locked=True, points=1),
        _cell("code", "print(prior(0), len(_pi0))", "answer_again", solution=True),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.mark.slow  # starts a kernel
def test_test_cell_that_rebinds_a_name_your_code_uses_is_reported(tmp_path):
    test = "_pi0 = [0.1] * 10\ndef _check():\n    assert prior(0) > 0\n_check()"
    lines = []
    report = run_check(write(_rebinding_notebook(test), tmp_path), reproducibility=False, progress=lines.append,
                       heartbeat=0.5)
    assert "test cell test_answer (cell 2) rebinds _pi0, a name your code may use (your code uses it in cells 1, 3: " \
           "give your variable another name)" in report.problems
    assert not report.passed
    text = format_report(report)
    assert "Names the visible test cells bind in your notebook" in text
    assert "  not used by your code: _check (cell 2)" in text
    # one counter; a heartbeat names the running cell while it sleeps 2 s
    counted = [line for line in lines if line.startswith("[") and ", at " in line]
    assert [line.split(", at ")[0] for line in counted] == [
        "[1/4] setup (cell 0)", "[2/4] answer_solution (cell 1)", "[3/4] test_answer (cell 2)", "[4/4] answer_again (cell 3)"]
    assert any(re.fullmatch(r"\[2/4\] answer_solution \(cell 1\): still running after \d+ s", line) for line in lines)


@pytest.mark.slow  # starts a kernel
def test_test_cell_that_rebinds_nothing_is_not_reported(tmp_path, monkeypatch):
    # as the release's test cells: the checks run in a function that the cell deletes again
    # (and the kernel has the grader's one BLAS thread, whatever this process has)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "8")
    test = ("def __gm_test():\n    import os\n\n    assert prior(0) == 0.5 and len(_pi0) == 2, 'prior: expected 0.5'\n"
            "    assert os.environ['OPENBLAS_NUM_THREADS'] == os.environ['OMP_NUM_THREADS'] == '1'\n\n\n"
            "try:\n    __gm_test()\nfinally:\n    del __gm_test")
    report = run_check(write(_rebinding_notebook(test), tmp_path), reproducibility=False)
    assert report.passed, report.problems
    assert [(r["name"], r["used_in"], r["left"]) for r in report.rebinds] == [("__gm_test", [], False)]
    assert "a name your code may use" not in format_report(report)
    assert "Names the visible test cells bind" not in format_report(report)


# ------------------------------------------------ report, no kernel --

def _report(*cells) -> CheckReport:
    report = CheckReport(notebook="a.ipynb", kernel="python3", timeout=float(GRADER_CELL_TIMEOUT), total_seconds=200.0)
    report.cells = list(cells)
    return report


def test_printing_to_stderr_costs_nothing():
    report = _report(CellResult(index=3, grade_id="test_fit", kind="test", points=2.0, stderr="UserWarning: careful\n"),
                     CellResult(index=4, grade_id="fit", kind="answer", stderr="logging: fitted\n"))
    assert report.passed and report.problems == []
    text = format_report(report)
    assert "  pass   test_fit [2 pts]" in text
    assert "Printing, logging and warnings cost no points, in test cells too" in text
    assert "scores zero" not in text


def test_a_test_cell_that_raises_is_still_reported():
    report = _report(CellResult(index=3, grade_id="test_fit", kind="test", points=1.0, error="AssertionError: mu"),
                     CellResult(index=2, grade_id="fit", kind="answer", error="NameError: name 'x' is not defined"))
    assert report.problems == ["cell 3 (test_fit) failed: AssertionError: mu",
                               "cell 2 (fit) raised NameError: name 'x' is not defined"]
    text = format_report(report)
    assert "  FAIL   test_fit [1 pt]: AssertionError: mu" in text
    assert "Cells that raised (every test that needs their results fails too):\n  cell 2 (fit): NameError" in text


def test_timing_report_flags_only_cells_over_the_floor():
    floor = GRADER_CELL_TIME_FLOOR
    report = _report(CellResult(index=1, grade_id="quick", kind="other", seconds=4.0),
                     CellResult(index=2, grade_id="under", kind="answer", seconds=floor - 1.0),
                     CellResult(index=3, grade_id="over", kind="answer", seconds=floor + 1.0))
    text = format_report(report)
    assert f"Run time (any cell under {floor} s is always within the grader's limit):" in text
    assert "cell 1 (quick)" not in text.split("Run time")[1]
    assert f"  cell 2 (under): {floor - 1:.1f} s\n" in text
    assert (f"  cell 3 (over): {floor + 1:.1f} s  <- over {floor} s: may be stopped by the grader if over "
            f"{GRADER_CELL_TIME_FACTOR}x the reference's time for that cell") in text
    assert report.passed  # a flag, not a problem: the reference may be as slow


def test_steps_count_once_and_beat_while_a_step_runs():
    import threading
    import time

    lines = []
    lock = threading.Lock()

    def say(line):
        with lock:
            lines.append(line)

    steps = _Steps(say, total=2, interval=0.05)
    with steps.step("starting", counted=False):
        pass
    with steps.step("first (cell 1)"):
        time.sleep(0.3)
    with steps.step("second (cell 2)"):
        pass
    assert re.fullmatch(r"starting, at \d+\.\d s", lines[0])
    assert re.fullmatch(r"\[1/2\] first \(cell 1\), at \d+\.\d s", lines[1])
    beats = [line for line in lines if line.startswith("[1/2] first (cell 1): still running after ")]
    assert len(beats) >= 2
    assert re.fullmatch(r"\[2/2\] second \(cell 2\), at \d+\.\d s", lines[-1])
    with pytest.raises(ValueError, match=r"interval must be a positive number of seconds. Got 0 instead."):
        _Steps(say, total=1, interval=0)


def test_the_kernel_gets_the_graders_blas_threads(monkeypatch):
    import argparse

    from gradedlib.check import GRADER_BLAS_THREADS, _kernel_environment, add_check_parser

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    env = _kernel_environment(GRADER_BLAS_THREADS)
    assert GRADER_BLAS_THREADS == 1
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert _kernel_environment(None)["OPENBLAS_NUM_THREADS"] == "8"
    with pytest.raises(ValueError, match=r"blas_threads must be a positive integer or None. Got 0 instead."):
        _kernel_environment(0)
    parser = argparse.ArgumentParser()
    add_check_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["check", "a.ipynb", "--threads", "2"]).threads == 2
    assert parser.parse_args(["check", "a.ipynb"]).threads == GRADER_BLAS_THREADS
    with pytest.raises(SystemExit):
        parser.parse_args(["check", "a.ipynb", "--threads", "0"])
