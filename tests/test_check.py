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
    GRADER_CELL_TIMEOUT,
    GRADER_MEMORY_LIMIT,
    GRADER_NOTEBOOK_TIMEOUT,
    compute_checksum,
    format_report,
    run_check,
)

ROOT = Path(__file__).resolve().parents[1]

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
# warns (a warning goes to stderr, which zeroes a graded cell).
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
    assert "The grader allows 600 s per cell and 2400 s for the whole notebook." in out
    assert re.search(r"^Peak memory of the kernel: \d+ MB \(the grader allows 4096 MB\)\.$", out, re.MULTILINE)
    assert out.rstrip().endswith("Everything visible passes. The hidden tests decide the values when the notebook is graded.")
    assert path.read_bytes() == before  # the notebook is read, never written
    assert "cell 1/" in proc.stderr  # progress on stderr


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
    # the warning inside check_fit's call goes to stderr; the fit is also not reproducible
    assert "UserWarning: this fit is not finished" in cells["test_fit_values"]["stderr"]
    assert "test_fit_values" in problems
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
