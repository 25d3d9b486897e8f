"""Simulate a class: autograde real submissions with real nbgrader and its gradebook.

One module-scoped run: create the gradebook and the assignment, generate the
release, write every simulated submission (assignment_fixtures/submissions.py)
into submitted/, autograde the reference solution alone (timed), then all the
others in one ``nbgrader autograde`` call, generate feedback and export
grades.csv.  The tests then read the gradebook.

The committed config allows 600 s per cell; this run lowers it with
``--Execute.timeout`` so that the infinite-loop submission costs 180 s.
"""

from __future__ import annotations

import csv
import time

import nbformat
import pytest

from assignment_fixtures.course import (
    ASSIGNMENT,
    NOTEBOOK,
    SOLUTION,
    autograded_scores,
    build_submission,
    make_course,
    nbgrader,
)
from assignment_fixtures.submissions import SUBMISSIONS

pytestmark = pytest.mark.slow

CELL_TIMEOUT = 180  # seconds per cell in this run (the committed config says 600)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("class") / "course")
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    for student, submission in SUBMISSIONS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(build_submission(release, solution, submission), folder / NOTEBOOK)

    timeout = f"--Execute.timeout={CELL_TIMEOUT}"
    start = time.perf_counter()
    nbgrader(course, "autograde", ASSIGNMENT, "--student", "reference", timeout)
    reference_seconds = time.perf_counter() - start
    start = time.perf_counter()
    # Must succeed although one submission loops forever and one kills its kernel.
    nbgrader(course, "autograde", ASSIGNMENT, timeout)
    class_seconds = time.perf_counter() - start
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "export")
    print(f"\nautograde reference: {reference_seconds:.0f} s; the other {len(SUBMISSIONS) - 1} submissions: {class_seconds:.0f} s")
    return {
        "course": course,
        "scores": autograded_scores(course),
        "reference_seconds": reference_seconds,
        "class_seconds": class_seconds,
    }


def test_every_submission_was_autograded(graded_class):
    assert set(graded_class["scores"]) == set(SUBMISSIONS)


def test_reference_solution_scores_full_autograded_points(graded_class):
    scores = graded_class["scores"]["reference"]
    lost = {cell: got for cell, (got, full) in scores.items() if got != full}
    assert not lost, f"the reference solution lost points in {lost}"
    assert sum(full for _, full in scores.values()) >= 20


def test_untouched_release_scores_zero(graded_class):
    scores = graded_class["scores"]["release"]
    earned = {cell: got for cell, (got, _) in scores.items() if got}
    assert not earned, f"the empty release earned points in {earned}"


@pytest.mark.parametrize("student", [s for s, sub in SUBMISSIONS.items() if not sub.untouched_release and s != "reference"])
def test_submission_loses_exactly_the_parts_it_breaks(graded_class, student):
    expected = SUBMISSIONS[student].lost
    scores = graded_class["scores"][student]
    assert expected <= set(scores), f"unknown cells in the expectation: {expected - set(scores)}"
    zero = {cell for cell, (got, _) in scores.items() if not got}
    partial = {cell for cell, (got, full) in scores.items() if got and got != full}
    assert not partial
    assert zero == expected, (
        f"{student} ({SUBMISSIONS[student].description}): expected to lose {sorted(expected)}, "
        f"lost {sorted(zero)}"
    )


def _feedback(course, student):
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def test_feedback_hides_hidden_tests_but_says_what_failed(graded_class):
    course = graded_class["course"]
    html = _feedback(course, "seed_grid")
    assert "at most 5%" in html  # the failure message of test_fit_test_error
    for student in SUBMISSIONS:
        html = _feedback(course, student)
        assert "HIDDEN TESTS" not in html, student
        assert "_ag_" not in html and "_AG" not in html, student


def test_export_writes_grades_csv(graded_class):
    path = graded_class["course"] / "grades.csv"
    with path.open() as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(SUBMISSIONS)
    reference = float(rows["reference"]["raw_score"])
    assert reference == sum(full for _, full in graded_class["scores"]["reference"].values())
    assert float(rows["release"]["raw_score"]) == 0
