"""Simulate a class, attackers included: grade real submissions with the sandbox, the judge and nbgrader.

One module-scoped run: create the gradebook and the assignment, generate the
release, write every simulated submission (assignment_fixtures/submissions.py)
into submitted/, grade them all with ``python -m grading autograde`` (parallel
workers, then nbgrader records the grades), generate feedback and export
grades.csv.  The tests then read the gradebook, the graded notebooks and the
machine.

Every limit is the committed configuration's: the endless cell of
``infinite_loop`` is stopped at 10 times the reference solution's time for
that cell plus 120 s (the reference's times per cell are measured once per test
session, see ``seed_reference_times``), not at the 600 s of a cell in general.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time

import nbformat
import pytest

from assignment_fixtures.course import (
    ASSIGNMENT,
    BIN,
    NOTEBOOK,
    SOLUTION,
    autograded_scores,
    build_submission,
    detached_attack_processes,
    make_course,
    nbgrader,
    seed_reference_times,
)
from assignment_fixtures.submissions import ALL_TESTS, SUBMISSIONS

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.nbgrader]

WORKERS = 2


class _Listener:
    """A TCP port on the grader's loopback that records every connection (none may come)."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                self.connections.append(self.server.accept()[1])
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self._stop = True
        self.server.close()


def _gradebook_rows(course):
    import sqlite3

    with sqlite3.connect(course / "gradebook.db") as db:
        return {
            "grades": db.execute("SELECT id, auto_score, manual_score FROM grade ORDER BY id").fetchall(),
            "source_cells": db.execute("SELECT id, source FROM source_cell ORDER BY id").fetchall(),
        }


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("class") / "course")
    seed_reference_times(course)
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    listener = _Listener()
    placeholders = {"COURSE": course, "PORT": listener.port}
    for student, submission in SUBMISSIONS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(build_submission(release, solution, submission, placeholders), folder / NOTEBOOK)

    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    overrides = []

    def grade(*args):
        return subprocess.run(
            [sys.executable, "-m", "grading", "autograde", ASSIGNMENT, *args, *overrides],
            cwd=course, env=env, capture_output=True, text=True, timeout=3600,
        )

    # The reference and another correct solution first (a first group, so that the gradebook holds earlier
    # grades when the rest of the class is graded), then the rest of the class; both with 2 workers.
    start = time.perf_counter()
    first = grade("--student", "reference", "--student", "scipy_mvn", "--workers", str(WORKERS))
    reference_seconds = time.perf_counter() - start
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-6000:]
    last_run = course / ".grading-cache" / "last-run.json"
    seconds = {r["student"]: r["seconds"] for r in json.loads(last_run.read_text())}
    before = _gradebook_rows(course)
    start = time.perf_counter()
    run = grade("--workers", str(WORKERS))
    class_seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    seconds.update({r["student"]: r["seconds"] for r in json.loads(last_run.read_text()) if r["status"] == "graded"})
    time.sleep(2)
    rows_after = _gradebook_rows(course)
    again = grade("--workers", str(WORKERS))  # nothing left to grade: idempotent
    listener.close()
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    # The written answers are not graded here: the export says so and refuses, unless told to go on.
    refused = nbgrader(course, "export", check=False)
    nbgrader(course, "export", "--CheckedCsvExport.allow_ungraded=True")
    print(f"\nautograde reference and scipy_mvn: {reference_seconds:.0f} s; the other {len(SUBMISSIONS) - 2} "
          "submissions "
          f"with {WORKERS} workers: {class_seconds:.0f} s\n{run.stdout}")
    return {
        "course": course,
        "scores": autograded_scores(course),
        "reference_seconds": reference_seconds,
        "class_seconds": class_seconds,
        "seconds": seconds,  # per submission, as the grader measured it
        "output": run.stdout + run.stderr,
        "again": again,
        "refused_export": refused,
        "before": before,
        "after": rows_after,
        "connections": list(listener.connections),
    }


def _graded(course, student):
    return nbformat.read(course / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)


def _all_output(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") + out.get("evalue", "") + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_every_submission_was_autograded(graded_class):
    assert set(graded_class["scores"]) == set(SUBMISSIONS)


def test_a_second_run_grades_nothing(graded_class):
    again = graded_class["again"]
    assert again.returncode == 0
    assert "nothing to grade" in again.stdout


def test_reference_solution_scores_full_autograded_points(graded_class):
    scores = graded_class["scores"]["reference"]
    lost = {cell: got for cell, (got, full) in scores.items() if got != full}
    assert not lost, f"the reference solution lost points in {lost}"
    assert set(scores) == set(ALL_TESTS)


@pytest.mark.parametrize("student", [s for s in SUBMISSIONS if s != "reference"])
def test_submission_loses_exactly_the_parts_it_breaks(graded_class, student):
    expected = SUBMISSIONS[student].lost
    scores = graded_class["scores"][student]
    assert expected <= set(scores), f"unknown cells in the expectation: {expected - set(scores)}"
    zero = {cell for cell, (got, _) in scores.items() if not got}
    partial = {cell for cell, (got, full) in scores.items() if got and got != full}
    assert not partial, f"{student} got partial credit in {partial}"
    assert zero == expected, (
        f"{student} ({SUBMISSIONS[student].description}): expected to lose {sorted(expected)}, "
        f"lost {sorted(zero)}"
    )


def test_attacks_on_the_course_and_the_machine_all_failed(graded_class):
    course = graded_class["course"]
    text = _all_output(_graded(course, "reads_course"))
    assert "ATTACK RESULTS" in text, "the attack did not run"
    line = next(line for line in text.splitlines() if "ATTACK RESULTS" in line)
    assert "SUCCEEDED" not in line, line
    assert not graded_class["connections"], "a sandboxed kernel reached the grader's loopback"
    assert not (course / "autograded" / "reference" / ASSIGNMENT / "pwned.txt").exists()
    assert not (course.parent / "pwned-outside.txt").exists()
    assert not (course / "detached-was-here").exists()
    time.sleep(1)
    found = detached_attack_processes(course)
    assert not found, f"a detached process outlived its sandbox: {found}"


def test_the_gradebook_kept_every_earlier_grade_and_its_test_cells(graded_class):
    before, after = graded_class["before"], graded_class["after"]
    assert after["source_cells"] == before["source_cells"]
    earlier = dict((row[0], row[1:]) for row in before["grades"])
    now = dict((row[0], row[1:]) for row in after["grades"])
    assert all(now[key] == value for key, value in earlier.items()), "an earlier student's grades changed"


def test_limits_are_reported_in_the_graded_notebook(graded_class):
    course = graded_class["course"]
    assert "memory" in _all_output(_graded(course, "memory_bomb")).lower()
    fork = _all_output(_graded(course, "fork_bomb"))
    assert "FORK REFUSED after" in fork
    assert int(fork.split("FORK REFUSED after")[1].split()[0]) < 300
    kills = _all_output(_graded(course, "kills_kernel"))
    assert "DeadKernelError" in kills and "did not run this cell" in kills
    loop = _all_output(_graded(course, "infinite_loop"))
    times = json.loads(next((course / ".grading-cache" / "cell-times" / ASSIGNMENT).glob("*.json")).read_text())
    allowed = int(120 + 10 * times["cells"]["exercise1_code"])
    assert f"the limit of {allowed} s for this cell: 10 times the reference solution's time for this cell" in loop
    assert allowed < 180, times["cells"]
    # The endless cell cost its worker about that limit, not the 600 s of a cell in general.
    seconds = graded_class["seconds"]
    assert seconds["infinite_loop"] < seconds["reference"] + allowed + 60, (seconds["infinite_loop"], allowed)


def test_correct_but_unusual_code_keeps_full_marks_and_its_stderr_output(graded_class):
    nb = _graded(graded_class["course"], "unusual_correct")
    text = _all_output(nb)
    assert "fit done" in text or "choosing c" in text  # its stderr output is shown, not punished


def test_a_solution_using_the_test_cells_names_that_warns_and_logs_keeps_full_marks(graded_class):
    """Issue 23: no test cell changes a student's names, and printing, logging and warnings cost nothing."""
    scores = graded_class["scores"]["own_names_warnings_logging"]
    assert set(scores) == set(ALL_TESTS) and all(got == full for got, full in scores.values()), scores
    text = _all_output(_graded(graded_class["course"], "own_names_warnings_logging"))
    assert "predict called on" in text and "float64 statistics" in text  # its stderr, shown


def _feedback(course, student):
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def test_feedback_shows_verdicts_but_no_check_code_or_reference_values(graded_class):
    course = graded_class["course"]
    html = _feedback(course, "edited_test_cell")
    assert "at most 5%" in html  # the failure message of test_fit_test_error
    history = _feedback(course, "prints_history")
    assert "print(_ih)" in history  # the student's own cell is there...
    for student in SUBMISSIONS:
        html = _feedback(course, student)
        for internal in ("check_model(", "reference_predict", "references.npz", "Evidence(", "HIDDEN TESTS"):
            assert internal not in html, (student, internal)


def test_export_writes_grades_csv(graded_class):
    path = graded_class["course"] / "grades.csv"
    with path.open() as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(SUBMISSIONS)
    reference = float(rows["reference"]["raw_score"])
    assert reference == sum(full for _, full in graded_class["scores"]["reference"].values())
    assert float(rows["release"]["raw_score"]) == 0
    # Nobody graded the written answers: the plain export refused, and the export that went on counts them.
    refused = graded_class["refused_export"]
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "nothing was written" in said and "no grader's score yet" in said, said[-2000:]
    assert int(rows["reference"]["ungraded_answers"]) > 0


def test_class_report_agrees_with_the_gradebook(graded_class):
    """python -m grading report on the graded class: scores, failed checks and limits as graded."""
    course = graded_class["course"]
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([sys.executable, "-m", "grading", "report", ASSIGNMENT, "--course", str(course)],
                          cwd=course, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    with (course / "reports" / ASSIGNMENT / "report.csv").open() as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    with (course / "grades.csv").open() as f:
        exported = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(SUBMISSIONS)
    for student, row in rows.items():
        assert float(row["score"]) == pytest.approx(float(exported[student]["score"])), student
        failed = set(filter(None, row["failed_checks"].split(";")))
        assert failed == SUBMISSIONS[student].lost, student
    assert "memory" in rows["memory_bomb"]["limits_hit"]
    assert "processes" in rows["fork_bomb"]["limits_hit"]
    assert (course / "reports" / ASSIGNMENT / "report.html").stat().st_size > 1000
