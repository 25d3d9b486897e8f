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
    assert config.Execute.timeout >= 300, "a slow but correct solution needs more than nbgrader's 30 s per cell"
    names = [p.__name__ for p in config.GenerateFeedback.preprocessors]
    assert "HideHiddenTests" in names
    assert "ResilientExecute" in [p.__name__ for p in config.Autograde.autograde_preprocessors]


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


def test_hidden_tests_only_in_grade_cells_and_every_value_test_has_some(solution):
    for cell in solution.cells:
        if "BEGIN HIDDEN TESTS" in cell.source:
            assert cell.metadata["nbgrader"].get("grade"), cell.metadata["nbgrader"]["grade_id"]
    hidden = {k for k, c in _grade_cells(solution).items() if HIDDEN.search(c.source)}
    for name in ("test_fit_values", "test_fit_no_test_set", "test_fit_test_error", "test_predict_values",
                 "test_linalgerror_unregularized", "test_huge_c_values", "test_huge_c_predict",
                 "test_per_class_values", "test_misc_training_errors"):
        assert name in hidden


def test_contract_names_appear_in_the_release(release):
    text = "\n".join(c.source for c in release.cells)
    for name in ("fit_generative_model(x, y)", "predict(x, mu, sigma, pi)", "chosen_c", "training_errors",
                 "huge_c_error_rate", "huge_c_predicted_digit", "fit_generative_model_per_class_c(x, y)",
                 "misclassified_shown", "zero_variance_pixels", "load_mnist"):
        assert name in text, name


def test_release_contains_no_hidden_test_or_solution_text(solution, release):
    released = "\n".join(c.source for c in release.cells)
    assert "HIDDEN TESTS" not in released and "BEGIN SOLUTION" not in released
    assert "_ag_" not in released and "_AG" not in released
    hidden_lines = set()
    for cell in solution.cells:
        for block in HIDDEN.findall(cell.source):
            hidden_lines.update(line.strip() for line in block.splitlines() if len(line.strip()) >= 12)
    visible_lines = {line.strip() for cell in solution.cells for line in HIDDEN.sub("", cell.source).splitlines()}
    hidden_lines -= visible_lines  # e.g. a visible check repeated in a hidden test
    assert len(hidden_lines) > 100
    released_lines = {line.strip() for line in released.splitlines()}
    assert not hidden_lines & released_lines, sorted(hidden_lines & released_lines)[:5]
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


@pytest.mark.slow
def test_resilient_execute_survives_kernel_death_and_timeouts(tmp_path):
    ResilientExecute = load_plugins().ResilientExecute

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 41"),
        nbformat.v4.new_code_cell("import os\nos._exit(1)"),
        nbformat.v4.new_code_cell("print(x + 1)"),
        nbformat.v4.new_code_cell("while True:\n    pass"),
        nbformat.v4.new_code_cell("print('still running')"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    pre = ResilientExecute(timeout=5)
    nb, _ = pre.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert nb.cells[1].outputs[-1].ename == "DeadKernelError"
    assert nb.cells[2].outputs[0].text == "42\n"  # cell 0 was replayed in the new kernel
    assert any(o.output_type == "error" for o in nb.cells[3].outputs)  # timed out, interrupted
    assert nb.cells[4].outputs[0].text == "still running\n"
