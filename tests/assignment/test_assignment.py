"""The nbgrader assignment: configuration, notebook structure, release, plugins.

The class simulation (autograding many submissions) is in
test_assignment_grading.py.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from nbformat.notebooknode import NotebookNode
from traitlets.config.loader import PyFileConfigLoader

from assignment_fixtures.course import (
    ASSIGNMENT,
    NOTEBOOK,
    RELEASE,
    ROOT,
    SOLUTION,
    cells_by_id,
    load_plugins,
    make_course,
    nbgrader,
)

PARTS = ("test_fit_", "test_predict_", "test_linalgerror_", "test_huge_c_", "test_per_class_", "test_misc_")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


@pytest.fixture(scope="module")
def solution():
    return nbformat.read(SOLUTION, as_version=4)


@pytest.fixture(scope="module")
def release():
    return nbformat.read(RELEASE, as_version=4)


def _grade_cells(nb):
    return {k: c for k, c in cells_by_id(nb).items() if c.metadata["nbgrader"].get("grade")}


def test_config_sets_course_directories_and_timeout():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.release_directory == "exercises"
    assert config.CourseDirectory.course_id
    assert config.CourseDirectory.db_url.endswith("gradebook.db")
    assert config.NotebookExecutor.cell_timeout >= 300, "a slow but correct solution needs more than 30 s per cell"
    assert config.NotebookExecutor.notebook_timeout >= config.NotebookExecutor.cell_timeout
    assert config.Sandbox.enabled is True, "grading without the sandbox must be an explicit choice"
    names = [p.__name__ for p in config.GenerateFeedback.preprocessors]
    assert "HideHiddenTests" in names
    pipeline = [p.__name__ for p in config.Autograde.autograde_preprocessors]
    assert pipeline[0] == "SandboxedExecute" and "Execute" not in pipeline


def test_autograded_cells_are_named_by_part_and_locked(solution):
    grades = _grade_cells(solution)
    tests = {k: c for k, c in grades.items() if c.cell_type == "code"}
    assert len(tests) >= 12
    for name, cell in tests.items():
        meta = cell.metadata["nbgrader"]
        assert name.startswith(PARTS), name
        assert meta["locked"] and not meta["solution"] and meta["points"] > 0, name
    for part in PARTS:
        assert any(name.startswith(part) for name in tests), f"no test cell for {part}*"
    manual = {k: c for k, c in grades.items() if c.cell_type == "markdown"}
    assert len(manual) == 3 and all(c.metadata["nbgrader"]["solution"] and c.metadata["nbgrader"]["points"] > 0 for c in manual.values())


def test_no_hidden_tests_in_the_notebook_and_a_check_for_every_autograded_cell(solution):
    """The checks live in grading/judge/checks.py; the source notebook holds none of them."""
    from grading.judge.checks import CHECKS

    for cell in solution.cells:
        assert "HIDDEN TESTS" not in cell.source, cell.metadata["nbgrader"]["grade_id"]
    tests = {k for k, c in _grade_cells(solution).items() if c.cell_type == "code"}
    assert tests == set(CHECKS), (tests ^ set(CHECKS))


def test_contract_names_appear_in_the_release(release):
    text = "\n".join(c.source for c in release.cells)
    for name in ("fit_generative_model(x, y)", "predict(x, mu, sigma, pi)", "chosen_c", "training_errors",
                 "huge_c_error_rate", "huge_c_predicted_digit", "fit_generative_model_per_class_c(x, y)",
                 "misclassified_shown", "zero_variance_pixels", "load_mnist"):
        assert name in text, name


def test_release_contains_no_check_code_reference_value_or_solution_text(solution, release):
    released = "\n".join(c.source for c in release.cells)
    assert "HIDDEN TESTS" not in released and "BEGIN SOLUTION" not in released
    # No line of the judge's code (the hidden checks) appears in the release.
    check_lines = set()
    for module in ("judge/checks.py", "judge/references.py", "run/probe.py", "judge/grade.py"):
        for line in (ROOT / "grading" / module).read_text().splitlines():
            line = line.strip()
            if len(line) >= 32 and not line.startswith(("#", '"""', "from ", "import ")):
                check_lines.add(line)
    assert len(check_lines) > 100
    released_lines = {line.strip() for line in released.splitlines()}
    assert not check_lines & released_lines, sorted(check_lines & released_lines)[:5]
    # No reference value (the grader computes them; none is written anywhere a student sees).
    for value in ("0.8865", "3162", "2441", "0.0435"):
        assert value not in released, value
    for leaked in ("def class_statistics", "def validation_scores", "np.linalg.cholesky(sigma[j])", "zero_variance_pixels = np.array("):
        assert leaked not in released


def _normalized(nb: NotebookNode) -> str:
    """The notebook without volatile metadata (execution timing, language_info)."""
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("language_info", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("trusted", None)
    return json.dumps(nb, sort_keys=True, indent=1)


@pytest.mark.slow
@pytest.mark.nbgrader
def test_committed_release_equals_a_fresh_generation(tmp_path, release):
    course = make_course(tmp_path / "course")
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    fresh = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert _normalized(fresh) == _normalized(release), (
        "exercises/ is stale: run `nbgrader generate_assignment gaussian_generative --force` and commit it"
    )
    released_files = sorted(p.name for p in (ROOT / "exercises" / ASSIGNMENT).iterdir())
    fresh_files = sorted(p.name for p in (course / "exercises" / ASSIGNMENT).iterdir())
    assert released_files == fresh_files


def test_hide_hidden_tests_keeps_the_message_not_the_source():
    HideHiddenTests = load_plugins().HideHiddenTests

    test_cell = nbformat.v4.new_code_cell(
        "assert True  # visible\n### BEGIN HIDDEN TESTS\nsecret_check = 42\nassert secret_check == 0, 'expected 0; found 42'\n### END HIDDEN TESTS"
    )
    test_cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "t", "schema_version": 3}
    test_cell.outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="expected 0; found 42",
        traceback=["Cell In[3], line 4", "----> 4 assert secret_check == 0, 'expected 0; found 42'", "AssertionError: expected 0; found 42"],
    )]
    answer = nbformat.v4.new_code_cell("x = 1\nraise ValueError('mine')")
    answer.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "grade_id": "a", "schema_version": 3}
    answer.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="mine", traceback=["----> 2 raise ValueError('mine')", "ValueError: mine"])]
    nb = nbformat.v4.new_notebook(cells=[answer, test_cell])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    shown = json.dumps(nb)
    assert "secret_check" not in shown and "HIDDEN" not in shown
    assert nb.cells[1].outputs[0].traceback == ["AssertionError: expected 0; found 42"]
    assert "assert True  # visible" in nb.cells[1].source
    # the student's own cells keep their full traceback
    assert nb.cells[0].outputs[0].traceback[0] == "----> 2 raise ValueError('mine')"
