"""``python -m grading export-lms``: Canvas gradebook-import CSV and the feedback bundle.

Checked on the small graded class (tests/report_fixtures/classroom.py)
against its specification, with and without a roster exported from Canvas.
The class has written answers nobody graded, so these exports pass
``--allow-ungraded``; tests/grading/report/test_manual_grading.py checks the refusal without it.
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

from report_fixtures.classroom import (
    ASSIGNMENT,
    CLASS,
    FEEDBACK_HTML,
    MANUAL_CELLS,
    NOTEBOOK,
    expected_total,
    shared_course,
)

from grading.report import lms

pytestmark = pytest.mark.slow  # builds a gradebook (~10 s)

ROOT = Path(__file__).resolve().parents[3]
COLUMN = "Gaussian generative (48213)"
MAX_SCORE = "30"


def _run(*args):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        [sys.executable, "-m", "grading", "export-lms", ASSIGNMENT, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def _read(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("lms")
    proc = _run("--course", str(shared_course()), "--out", str(out), "--canvas-column", COLUMN, "--allow-ungraded")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_canvas_csv_layout_and_scores(exported):
    out, _ = exported
    rows = _read(out / "canvas_grades.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", COLUMN]
    assert rows[1] == ["Points Possible", "", "", "", "", MAX_SCORE]
    by_login = {row[3]: row for row in rows[2:]}
    assert set(by_login) == set(CLASS)
    for student, spec in CLASS.items():
        row = by_login[student]
        assert row[0] == f"{spec.last}, {spec.first}"
        assert float(row[5]) == pytest.approx(expected_total(student)), student
    assert by_login["carol"][5] == "23"  # 29 points minus the 6-point late penalty
    assert by_login["frank"][5] == "0"  # no submission


def test_feedback_bundle(exported):
    out, proc = exported
    with zipfile.ZipFile(out / f"feedback_{ASSIGNMENT}.zip") as bundle:
        names = set(bundle.namelist())
        with_feedback = [s for s, spec in CLASS.items() if spec.submitted and spec.gradable and s != "harry"]
        assert names == {"manifest.csv", *(f"{s}/{NOTEBOOK}.html" for s in with_feedback)}
        for student in with_feedback:
            assert bundle.read(f"{student}/{NOTEBOOK}.html").decode() == FEEDBACK_HTML.format(student=student)
        manifest = {row["student_id"]: row for row in csv.DictReader(io.StringIO(bundle.read("manifest.csv").decode()))}
    assert set(manifest) == set(CLASS)
    for student in CLASS:
        assert float(manifest[student]["score"]) == pytest.approx(expected_total(student)), student
        assert manifest[student]["max_score"] == MAX_SCORE
    assert manifest["carol"]["late_penalty"] == "6"
    for student, spec in CLASS.items():
        if spec.submitted and spec.gradable and spec.recorded:
            waiting = sum(1 for cell in MANUAL_CELLS if spec.manual.get(cell) is None)
            assert int(manifest[student]["ungraded_answers"]) == waiting, student
    assert "exported anyway" in proc.stderr and (out / "ungraded_answers.csv").is_file()
    # harry submitted and was graded, but has no feedback; grace and judy could not be graded
    assert "no feedback" in proc.stderr
    assert all(name in proc.stderr for name in ("harry", "grace", "judy"))


def _roster(path, leave_out=("ivan",)):
    """A gradebook export as Canvas writes it: extra columns, a Points Possible row, its test student."""
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 1 (1001)", "Current Score"]
    rows = [header, ["    Points Possible", "", "", "", "", "10", "(read only)"]]
    for i, (student, spec) in enumerate(CLASS.items()):
        if student not in leave_out:
            rows.append([f"{spec.last}, {spec.first}", str(9000 + i), f"S{i:05d}", student, "Section B", "7", "70"])
    rows.append(["Student, Test", "9999", "", "", "Section B", "", ""])
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_roster_supplies_canvas_ids_and_sections(tmp_path):
    roster = _roster(tmp_path / "canvas_export.csv")
    out = tmp_path / "out"
    proc = _run("--course", str(shared_course()), "--out", str(out), "--roster", str(roster), "--allow-ungraded")
    assert proc.returncode == 0, proc.stderr
    rows = _read(out / "canvas_grades.csv")
    assert rows[0][-1] == ASSIGNMENT
    by_login = {row[3]: row for row in rows[2:]}
    assert set(by_login) == set(CLASS) - {"ivan"}
    names = list(CLASS)
    for student, row in by_login.items():
        i = names.index(student)
        assert row[1:5] == [str(9000 + i), f"S{i:05d}", student, "Section B"]
        assert float(row[5]) == pytest.approx(expected_total(student))
    assert "not in the roster" in proc.stderr and "ivan" in proc.stderr


def test_roster_without_canvas_columns_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,login\nAlice,alice\n")
    proc = _run("--course", str(shared_course()), "--out", str(tmp_path / "out"), "--roster", str(bad))
    assert proc.returncode == 1
    assert "Missing ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section']" in proc.stderr
    assert "found ['name', 'login']" in proc.stderr


def test_read_roster_match_column_must_exist(tmp_path):
    roster = _roster(tmp_path / "canvas_export.csv")
    with pytest.raises(ValueError, match="Missing \\['Email'\\]"):
        lms.read_roster(roster, match_column="Email")
    assert set(lms.read_roster(roster)) == set(CLASS) - {"ivan"}


def test_unknown_assignment_is_named(capsys):
    assert lms.main(["nope", "--course", str(shared_course())]) == 1
    err = capsys.readouterr().err
    assert "'nope'" in err and ASSIGNMENT in err
