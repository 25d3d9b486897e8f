"""No grade leaves with written answers ungraded; scores can be entered without the formgrader.

On the small graded class of ``tests/report_fixtures/classroom.py`` (a real
nbgrader gradebook, no notebook run), where bob, erin and ivan have written
answers nobody has graded and grace's submission has no score at all:

- :mod:`grading.report.ungraded` finds exactly those answers (the class's specification says which);
- ``nbgrader export`` with the course's configuration refuses, writes nothing,
  exits 1 and names them; :class:`grading.plugins.export.CheckedCsvExport`
  with ``allow_ungraded`` writes nbgrader's own figures plus the count per row;
- ``python -m grading export-lms`` refuses the same way, and with
  ``--allow-ungraded`` lists them and counts them in the manifest;
- ``python -m grading score`` (and :func:`grading.report.manual_scores.enter_score`)
  writes what the formgrader writes, checks every argument, and once every
  answer has a score the exports go through.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graded_class_copy import copy_class
from report_fixtures.classroom import ASSIGNMENT, CLASS, GRADE_CELLS, MANUAL_CELLS, NOTEBOOK, shared_course

from grading.report import lms, manual_scores
from grading.plugins.export import COLUMNS, CheckedCsvExport, UngradedAnswersError
from grading.report.ungraded import ungraded_answers

pytestmark = pytest.mark.slow  # builds the class's gradebook (~10 s) and runs nbgrader export once

ROOT = Path(__file__).resolve().parents[3]
BIN = os.path.dirname(sys.executable)
#: Written answers not graded yet, from the class's specification (graded students only).
WAITING = {(s, cell) for s, spec in CLASS.items() if spec.submitted and spec.gradable and spec.recorded
           for cell in MANUAL_CELLS if spec.manual.get(cell) is None}
UNSCORED = {s for s, spec in CLASS.items() if spec.submitted and spec.recorded and not spec.gradable}  # grace


def _gradebook(path):
    from nbgrader.api import Gradebook

    os.environ["PATH"] = BIN + os.pathsep + os.environ.get("PATH", "")
    return Gradebook(f"sqlite:///{path}")


@pytest.fixture
def course(tmp_path):
    """A writable copy of the class (gradebook with its solution cells and comments, autograded/, feedback/)."""
    return copy_class(tmp_path / "course")


def test_the_specification_has_answers_to_grade():
    assert {s for s, _ in WAITING} == {"bob", "erin", "ivan"} and UNSCORED == {"grace"}


def test_ungraded_answers_are_the_ones_nobody_graded():
    with _gradebook(shared_course() / "gradebook.db") as gb:
        found = ungraded_answers(gb)
        only_ivan = ungraded_answers(gb, [ASSIGNMENT], ["ivan"])
        other_assignment = ungraded_answers(gb, ["nope"])
    written = {(a.student, a.grade_id) for a in found if a.student not in UNSCORED}
    assert written == WAITING
    assert {a.student for a in found if a.unscored_submission} == UNSCORED
    assert all(not a.review for a in found)
    assert [(a.student, a.grade_id) for a in only_ivan] == [("ivan", "exercise4_answer")]
    assert other_assignment == []


@pytest.mark.nbgrader
def test_nbgrader_export_refuses_and_names_them(tmp_path):
    """The course's configuration (cwd = the repository) with the class's gradebook: nothing written, exit 1."""
    target = tmp_path / "grades.csv"
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(
        [os.path.join(BIN, "nbgrader"), "export", f"--db=sqlite:///{shared_course() / 'gradebook.db'}",
         f"--to={target}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert not target.exists()
    err = " ".join(proc.stderr.split())
    assert "Using exporter: CheckedCsvExport" in err
    assert "bob: exercise2_answer, exercise4_answer" in err and "ivan: exercise4_answer" in err
    assert "grace: no score at all" in err
    assert "python -m grading score ASSIGNMENT STUDENT GRADE_ID POINTS" in err
    assert "--CheckedCsvExport.allow_ungraded=True" in err
    assert "Traceback" not in proc.stderr


def _nbgrader_csv(gb, path):
    from nbgrader.plugins import CsvExportPlugin

    CsvExportPlugin(to=str(path)).export(gb)
    with open(path, newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def test_export_anyway_writes_nbgraders_figures_and_counts_the_ungraded(tmp_path):
    with _gradebook(shared_course() / "gradebook.db") as gb:
        with pytest.raises(UngradedAnswersError, match="have no grader's score yet"):
            CheckedCsvExport(to=str(tmp_path / "refused.csv")).export(gb)
        CheckedCsvExport(to=str(tmp_path / "grades.csv"), allow_ungraded=True).export(gb)
        theirs = _nbgrader_csv(gb, tmp_path / "nbgrader.csv")
    assert not (tmp_path / "refused.csv").exists()
    with open(tmp_path / "grades.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        ours = {row["student_id"]: row for row in reader}
    assert set(ours) == set(theirs) == set(CLASS)
    for student, row in ours.items():
        for column in COLUMNS[:-1]:
            assert row[column] == theirs[student][column], (student, column)
        if student not in UNSCORED:
            assert int(row["ungraded_answers"]) == sum(1 for s, _ in WAITING if s == student), student
    assert int(ours["grace"]["ungraded_answers"]) == len(GRADE_CELLS)  # no cell of hers has a score
    assert ours["alice"]["ungraded_answers"] == "0" and ours["frank"]["ungraded_answers"] == "0"


def test_export_of_selected_students_looks_only_at_them(tmp_path):
    with _gradebook(shared_course() / "gradebook.db") as gb:
        CheckedCsvExport(to=str(tmp_path / "two.csv"), student=["alice", "carol"]).export(gb)
    with open(tmp_path / "two.csv", newline="") as f:
        assert [row["student_id"] for row in csv.DictReader(f)] == ["alice", "carol"]


def test_export_lms_refuses_then_exports_anyway_and_marks(course, tmp_path, capsys):
    out = tmp_path / "out"
    assert lms.main([ASSIGNMENT, "--course", str(course), "--out", str(out)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "nothing was written" in err and "bob: exercise2_answer, exercise4_answer" in err
    assert "--allow-ungraded" in err and not out.exists()

    assert lms.main([ASSIGNMENT, "--course", str(course), "--out", str(out), "--allow-ungraded"]) == 0
    err = capsys.readouterr().err
    assert "exported anyway" in err and "ungraded_answers.csv" in err
    with open(out / "ungraded_answers.csv", newline="") as f:
        listed = {(row["student_id"], row["grade_id"]) for row in csv.DictReader(f)}
    assert {(s, g) for s, g in listed if s not in UNSCORED} == WAITING
    with zipfile.ZipFile(out / f"feedback_{ASSIGNMENT}.zip") as bundle:
        manifest = {r["student_id"]: r for r in csv.DictReader(io.StringIO(bundle.read("manifest.csv").decode()))}
    assert manifest["bob"]["ungraded_answers"] == "2" and manifest["alice"]["ungraded_answers"] == "0"
    with open(out / "canvas_grades.csv", newline="") as f:
        assert len(next(csv.reader(f))) == 6  # Canvas's file keeps its columns: an extra one would be an assignment


def test_score_command_checks_each_argument(course, capsys):
    db = ["--course", str(course)]
    cases = [
        (["gausian_generative", "bob", "exercise2_answer", "1", *db], "Did you mean 'gaussian_generative'?"),
        ([ASSIGNMENT, "bobb", "exercise2_answer", "1", *db], "Did you mean 'bob'?"),
        ([ASSIGNMENT, "frank", "exercise2_answer", "1", *db], "a student with a submission"),
        ([ASSIGNMENT, "bob", "exercise2_answr", "1", *db], "Did you mean 'exercise2_answer'?"),
        ([ASSIGNMENT, "bob", "exercise2_answer", "2.5", *db], "a number from 0 to 2 (the most 'exercise2_answer' is worth). Got 2.5."),
        ([ASSIGNMENT, "bob", "exercise2_answer", "-1", *db], "a number from 0 to 2"),
        ([ASSIGNMENT, "bob", "exercise2_answer", "two", *db], "The 'points' argument must be a number, e.g. 1.5. Got 'two'."),
        ([ASSIGNMENT, "bob", "exercise2_answer", "nan", *db], "must be a finite number"),
        ([ASSIGNMENT, "bob", "exercise2_answer", "1", "--notebook", "other", *db], "'notebook' argument must be one of"),
        ([ASSIGNMENT, "bob", "test_fit_values", "1", "--comment", "x", *db], "'comment' argument is for answer cells"),
    ]
    for argv, message in cases:
        assert manual_scores.main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "nothing was written" in err and message in " ".join(err.split()), (argv, err)
    assert manual_scores.main([ASSIGNMENT, "bob", "exercise2_answer", *db]) == 2
    assert "expected ASSIGNMENT STUDENT GRADE_ID POINTS" in capsys.readouterr().err
    assert manual_scores.main([ASSIGNMENT, "bob", "exercise2_answer", "1", "--course", str(course / "nope")]) == 1
    assert "no gradebook" in capsys.readouterr().err
    with _gradebook(course / "gradebook.db") as gb:  # nothing was written
        assert {(a.student, a.grade_id) for a in ungraded_answers(gb) if a.student not in UNSCORED} == WAITING


def test_scores_entered_are_what_the_formgrader_writes_and_unblock_the_exports(course, tmp_path, capsys):
    assert manual_scores.main([ASSIGNMENT, "--course", str(course)]) == 0
    listing = capsys.readouterr().out
    assert all(f"{s}" in listing and g in listing for s, g in WAITING)
    for student, cell in sorted(WAITING):
        argv = [ASSIGNMENT, student, cell, "1.5", "--course", str(course), "--comment", f"ok, {student}"]
        assert manual_scores.main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "bob exercise4_answer: 1.5 / 2 (was not graded); submission 29 / 30" in out
    with _gradebook(course / "gradebook.db") as gb:
        for student, cell in WAITING:
            grade = gb.find_grade(cell, NOTEBOOK, ASSIGNMENT, student)
            assert grade.manual_score == 1.5 and grade.needs_manual_grade is False
            assert gb.find_comment(cell, NOTEBOOK, ASSIGNMENT, student).manual_comment == f"ok, {student}"
        # grace's submission has no score at all: only the autograder can give it one; remove it for the export
        gb.remove_submission(ASSIGNMENT, "grace")
        assert ungraded_answers(gb) == []
        CheckedCsvExport(to=str(tmp_path / "grades.csv")).export(gb)
        total = {row["student_id"]: float(row["score"]) for row in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert total["bob"] == pytest.approx(29.0) and total["ivan"] == pytest.approx(24.5)
    assert lms.main([ASSIGNMENT, "--course", str(course), "--out", str(tmp_path / "lms")]) == 0
    assert not (tmp_path / "lms" / "ungraded_answers.csv").exists()
