"""The LMS route (issue #24): Canvas's bulk download through ``nbgrader zip_collect``, grading, report, Canvas CSV.

A zip laid out as Canvas's "Download Submissions" writes it (file names
``<name>[_LATE]_<user id>_<submission id>_<file>``, a re-upload's ``-1``, the
submission time as each entry's time) goes through ``nbgrader zip_collect``
with the course's committed configuration (``grading/plugins/canvas_collect.py``, the
"Canvas bulk download" block of ``nbgrader_config.py``) and the roster
exported from Canvas; then ``python -m grading autograde --workers 2`` grades
the class once, the written answers get a grader's score, and ``python -m
grading report``, ``nbgrader export`` and ``python -m grading export-lms
--roster`` are checked against the roster: the reference solution on time,
a faulty solution (no regularization: 16 of 24 points before the penalty, and
cheaper to grade than one that runs every cell) 40 hours late (two started
days: 6 points off), the untouched release uploaded twice, a student who never submitted, and a file
that is not Canvas's.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from assignment_fixtures.course import (ASSIGNMENT, BIN, NOTEBOOK, SOLUTION, build_submission, make_prepared_course,
                                        nbgrader)
from assignment_fixtures.submissions import SUBMISSIONS

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.nbgrader]

DUE = "2026-12-04 17:00:00 UTC"
COLUMN = "Gaussian generative (48213)"
# login -> (Canvas sortable name, Canvas id, SIS user id, section, what they submit, Canvas file name, zip time)
CLASS = {
    "alee": ("Lee, Ann", "70001", "S001", "Section A", "reference", "leeann_70001_880001_gaussian_generative.ipynb",
             (2026, 12, 4, 16, 30, 0)),
    "bkim": ("Kim, Ben", "70002", "S002", "Section A", "no_regularization",
             "kimben_LATE_70002_880002_gaussian_generative.ipynb", (2026, 12, 6, 9, 0, 0)),
    "cdiaz": ("Diaz, Cat", "70003", "S003", "Section B", "release", "diazcat_70003_880003_gaussian_generative-1.ipynb",
              (2026, 12, 4, 12, 0, 0)),
    "dfox": ("Fox, Don", "70004", "S004", "Section B", None, None, None),
}
MANUAL = {"alee": (2.0, 2.0, 1.5), "bkim": (1.0, 0.5, 1.0), "cdiaz": (0.0, 0.0, 0.0)}
ANSWERS = ("exercise1_answer", "exercise2_answer", "exercise4_answer")


def _grading(course: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([sys.executable, "-m", "grading", *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"python -m grading {' '.join(args)}:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    return proc


def _roster(path: Path) -> Path:
    """The gradebook CSV exported from the Canvas course: a Points Possible row, extra columns, its test student."""
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", COLUMN, "Current Score"],
            ["    Points Possible", "", "", "", "", "30", "(read only)"]]
    for login, (name, canvas_id, sis, section, *_) in CLASS.items():
        rows.append([name, canvas_id, sis, login, section, "", ""])
    rows.append(["Student, Test", "9999", "", "", "Section B", "", ""])
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _canvas_zip(path: Path, course: Path) -> Path:
    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for _, _, _, _, kind, filename, when in CLASS.values():
            if kind is None:
                continue
            nb = build_submission(release, solution, SUBMISSIONS[kind])
            z.writestr(zipfile.ZipInfo(filename, date_time=when), nbformat.writes(nb))
        z.writestr(zipfile.ZipInfo("notes for the grader.txt", date_time=(2026, 12, 4, 10, 0, 0)), "not a submission\n")
    return path


def test_canvas_bulk_download_to_canvas_import(tmp_path):
    times = {}
    t0 = time.monotonic()
    course = make_prepared_course(tmp_path / "course")
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    for login, (name, *_) in CLASS.items():
        last, first = name.split(", ")
        nbgrader(course, "db", "student", "add", login, f"--last-name={last}", f"--first-name={first}")
    roster = _roster(course / "canvas_export.csv")
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    _canvas_zip(archive / "submissions.zip", course)
    times["setup"] = time.monotonic() - t0

    t0 = time.monotonic()
    collected = nbgrader(course, "zip_collect", ASSIGNMENT, "--CanvasCollector.roster=canvas_export.csv",
                         f"--CanvasCollector.due_date={DUE}")
    log = collected.stdout + collected.stderr
    assert "notes for the grader.txt: not a Canvas bulk-download name" in log, log[-3000:]
    submitted = course / "submitted"
    assert {p.name for p in submitted.iterdir()} == {"alee", "bkim", "cdiaz"}
    for login in ("alee", "bkim", "cdiaz"):
        folder = submitted / login / ASSIGNMENT
        assert [p.name for p in folder.glob("*.ipynb")] == [NOTEBOOK], list(folder.iterdir())
        y, mo, d, h, mi, s = CLASS[login][6]
        assert (folder / "timestamp.txt").read_text().startswith(f"{y}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}")
    times["zip_collect"] = time.monotonic() - t0

    # a _LATE mark on a time before the due date: the zip's times are not submission times, the file is skipped
    bad = tmp_path / "bad"
    (bad / "downloaded" / ASSIGNMENT / "archive").mkdir(parents=True)
    for name in ("nbgrader_config.py", "grading", "exercises", "gradebook.db"):
        os.symlink(course / name, bad / name)
    with zipfile.ZipFile(bad / "downloaded" / ASSIGNMENT / "archive" / "s.zip", "w") as z:
        z.writestr(zipfile.ZipInfo("kimben_LATE_70002_880002_gaussian_generative.ipynb",
                                   date_time=(2026, 12, 4, 9, 0, 0)), "{}")
    proc = nbgrader(bad, "zip_collect", ASSIGNMENT, "--CanvasCollector.roster=" + str(roster),
                    f"--CanvasCollector.due_date={DUE}", check=False)
    assert "marks it late but its time in the zip" in proc.stdout + proc.stderr, proc.stderr[-2000:]
    assert not (bad / "submitted").exists()

    t0 = time.monotonic()
    graded = _grading(course, "autograde", ASSIGNMENT, "--workers", "2")
    print(graded.stdout[-2500:])
    times["autograde"] = time.monotonic() - t0

    t0 = time.monotonic()
    sys.path.insert(0, str(course))
    try:
        from grading.report.manual_scores import enter_score
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            auto = {}
            for login in MANUAL:
                nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, login)
                tests = {g.name: (g.auto_score, g.max_score) for g in nb.grades if g.name.startswith("test_")}
                auto[login] = sum(score for score, _ in tests.values())
                lost = {name for name, (score, full) in tests.items() if score != full}
                kind = CLASS[login][4]
                assert lost == set(SUBMISSIONS[kind].lost), (login, lost)
                for grade_id, points in zip(ANSWERS, MANUAL[login]):
                    enter_score(gb, ASSIGNMENT, login, grade_id, points, comment=f"{login}: {grade_id}")
    finally:
        sys.path.remove(str(course))
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "export")
    _grading(course, "report", ASSIGNMENT)
    exported = _grading(course, "export-lms", ASSIGNMENT, "--canvas-column", COLUMN, "--roster", str(roster))
    times["grade, report, export"] = time.monotonic() - t0

    with open(course / "grades.csv") as f:
        grades = {r["student_id"]: r for r in csv.DictReader(f)}
    penalty = {"alee": 0.0, "bkim": min(6.0, auto["bkim"]), "cdiaz": 0.0}  # 40 hours late: 2 started days of 10%
    for login in MANUAL:
        raw = auto[login] + sum(MANUAL[login])
        assert float(grades[login]["raw_score"]) == pytest.approx(raw), grades[login]
        assert float(grades[login]["late_submission_penalty"]) == pytest.approx(penalty[login]), grades[login]
        assert float(grades[login]["score"]) == pytest.approx(raw - penalty[login]), grades[login]
    assert float(grades["alee"]["score"]) == 24 + 5.5
    assert float(grades["dfox"]["score"]) == 0 and not grades["dfox"]["timestamp"]

    with open(course / "reports" / ASSIGNMENT / "report.csv") as f:
        report = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(report["bkim"]["hours_late"]) == 40.0 and float(report["bkim"]["late_penalty"]) == penalty["bkim"]
    assert float(report["alee"]["hours_late"]) == 0 and float(report["cdiaz"]["hours_late"]) == 0
    assert report["dfox"]["submitted"] == "0"
    for login, row in grades.items():
        assert float(report[login]["score"]) == pytest.approx(float(row["score"])), (login, report[login])
    page = (course / "reports" / ASSIGNMENT / "report.html").read_text()
    assert "bkim" in page and "dfox" in page

    with open(course / "exports" / ASSIGNMENT / "canvas_grades.csv") as f:
        canvas = list(csv.reader(f))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", COLUMN]
    assert canvas[1][0].strip() == "Points Possible" and float(canvas[1][5]) == 30
    body = {row[3]: row for row in canvas[2:]}
    assert set(body) == set(CLASS), body  # every roster student, Canvas's test student left out
    for login, (name, canvas_id, sis, section, *_) in CLASS.items():
        assert body[login][:5] == [name, canvas_id, sis, login, section], body[login]
        assert float(body[login][5]) == pytest.approx(float(grades[login]["score"])), body[login]
    assert "4 students" in exported.stdout, exported.stdout
    print("phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()) + f"; total {sum(times.values()):.1f}")
