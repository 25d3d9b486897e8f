"""``python -m grading export-lms ASSIGNMENT``: grades and feedback for the LMS.

Writes into one folder (default ``exports/<assignment>/``):

``canvas_grades.csv``
    A file for Canvas's gradebook import (*Grades → Import*), laid out like
    Canvas's own gradebook export: the columns ``Student`` ("Last, First"),
    ``ID`` (Canvas user id), ``SIS User ID``, ``SIS Login ID``, ``Section``,
    then one column for the assignment, named like Canvas names it
    (``<name> (<Canvas assignment id>)`` updates that assignment; a new name
    makes Canvas create one).  The second row, ``Points Possible``, holds the
    maximum score.  Scores are nbgrader's final scores (late penalty
    subtracted, 0 without a submission), as ``nbgrader export`` computes them.
    With ``--roster`` (a gradebook CSV exported from the Canvas course) the
    Canvas identifiers and section are copied from the roster row whose
    ``--match-column`` (default ``SIS Login ID``) equals the nbgrader student
    id; without it, the nbgrader student id is written as ``SIS Login ID``
    and the other identifiers are left empty.
``feedback_<assignment>.zip``
    nbgrader's feedback (``feedback/<student>/<assignment>/*.html``, made by
    ``nbgrader generate_feedback``) as ``<student>/<notebook>.html``, with
    ``manifest.csv`` (student, name, score, maximum, late penalty, answers
    not graded yet, file names): one self-contained HTML file per student and
    notebook, to attach to each student's submission (SpeedGrader) or to post
    through the Canvas API.

Written answers not graded yet
    While a graded cell of an exported student's submission has no grader's
    score (a written answer nobody graded: nbgrader counts it as 0, see
    :mod:`grading.report.ungraded`), nothing is written: the command names how many
    answers of which students, says how to grade them, and exits with status 1.
    ``--allow-ungraded`` exports anyway: ``ungraded_answers.csv`` (student,
    notebook, grade id, points) lists those answers, the manifest counts them
    per student, and a warning names them.  The Canvas file itself is left as
    Canvas expects it: any extra column would become a new Canvas assignment.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import zipfile
from pathlib import Path

from grading.cli import add_course_argument, parse_course_arguments, returns_exit_status
from grading.config import Course
from grading.report.gradebook import collect, open_gradebook
from grading.report.ungraded import by_student, describe, ungraded_answers
from grading.untrusted_text import for_csv_row, for_terminal

__all__ = ["CANVAS_ID_COLUMNS", "canvas_rows", "feedback_bundle", "main", "read_roster", "ungraded_in",
           "write_canvas_csv", "write_ungraded_csv"]

CANVAS_ID_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"


def _number(value: float) -> int | float:
    """A score as a Python number (an int when whole: ``23``, not ``23.0``), rounded to 4 decimals.

    Scores are written as numbers, never as formatted strings: :func:`grading.untrusted_text.for_csv`
    passes numbers unchanged and neutralises every string, so Canvas must be given numbers.
    """
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value


def read_roster(path, match_column: str = "SIS Login ID") -> dict:
    """Read a Canvas gradebook export: {value of ``match_column``: row} for every student row."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        required = CANVAS_ID_COLUMNS + ([match_column] if match_column not in CANVAS_ID_COLUMNS else [])
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"The roster {str(path)!r} must be a gradebook CSV exported from Canvas with the columns "
                f"{required}. Missing {missing}; found {reader.fieldnames}."
            )
        roster = {}
        for row in reader:
            name = (row.get("Student") or "").strip()
            if name in (POINTS_POSSIBLE, "") or name.lower().startswith("test student"):
                continue  # Canvas's points and posting-policy rows, and its test student
            key = (row.get(match_column) or "").strip()
            if key:
                roster[key] = row
    return roster


def canvas_rows(data, column: str, roster: dict | None = None) -> tuple:
    """The Canvas CSV rows (header and ``Points Possible`` first) and the students left out.

    Returns
    -------
    rows : list of list
        Text cells neutralised for a spreadsheet (:func:`grading.untrusted_text.for_csv`),
        scores as numbers.
    unmatched : list of str
        Students of the gradebook without a roster row (not written).
    """
    rows = [[*CANVAS_ID_COLUMNS, column], [POINTS_POSSIBLE, "", "", "", "", _number(data.max_score)]]
    unmatched = []
    for student in data.students:
        name = ", ".join(p for p in (student.last_name, student.first_name) if p) or student.id
        if roster is None:
            ids = ["", "", student.id, ""]
        elif student.id in roster:
            r = roster[student.id]
            name = r.get("Student") or name
            ids = [r.get("ID", ""), r.get("SIS User ID", ""), r.get("SIS Login ID", ""), r.get("Section", "")]
        else:
            unmatched.append(student.id)
            continue
        rows.append(for_csv_row([name, *ids, _number(student.score)]))
    return rows, unmatched


def write_canvas_csv(rows, path) -> None:
    """Write the rows of :func:`canvas_rows` to ``path``, every cell through ``for_csv`` (no live formula)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(for_csv_row(row) for row in rows)


def feedback_bundle(course, data, target, ungraded=None) -> list:
    """Zip every student's feedback HTML with a manifest; return the students without feedback.

    ``ungraded`` maps a student id to the number of their answers not graded
    yet (the manifest's ``ungraded_answers`` column; absent: 0).
    """
    course = Path(course)
    ungraded = ungraded or {}
    notebooks = sorted({c.notebook for c in data.cells})
    missing = []
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["student_id", "name", "score", "max_score", "late_penalty", "ungraded_answers", "files"])
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for student in data.students:
            folder = course / "feedback" / student.id / data.assignment
            files = []
            for nb in notebooks:
                path = folder / f"{nb}.html"
                if path.is_file():
                    arcname = f"{student.id}/{nb}.html"
                    bundle.write(path, arcname)
                    files.append(arcname)
            if student.submitted and not files:
                missing.append(student.id)
            name = " ".join(p for p in (student.first_name, student.last_name) if p)
            writer.writerow(for_csv_row([student.id, name, _number(student.score), _number(data.max_score),
                                         _number(student.late_penalty), ungraded.get(student.id, 0),
                                         ";".join(files)]))
        bundle.writestr("manifest.csv", manifest.getvalue())
    return missing


def ungraded_in(course, assignment: str, db_url: str | None = None) -> list:
    """The :class:`grading.report.ungraded.UngradedAnswer` of every submission of ``assignment`` in the gradebook.

    ``course`` is a :class:`grading.config.Course` or its folder; ``db_url`` ``None`` means the course's gradebook.
    """
    course = course if isinstance(course, Course) else Course.load(course)
    with open_gradebook(db_url or course.db_url, create=True) as gb:
        return ungraded_answers(gb, [assignment])


def write_ungraded_csv(answers, path) -> None:
    """List answers not graded yet (student, notebook, grade id, points), every cell through ``for_csv``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "notebook", "grade_id", "max_score", "state"])
        for a in answers:
            writer.writerow(for_csv_row([a.student, a.notebook, a.grade_id, _number(a.max_score),
                                         "to review" if a.review else "not graded"]))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grading export-lms", description="Export grades (Canvas CSV) and a feedback bundle.")
    p.add_argument("assignment", help="the assignment's name in the gradebook, e.g. gaussian_generative")
    add_course_argument(p, "the course folder, with feedback/ and autograded/")
    p.add_argument("--db", default=None, help="the gradebook URL (default: the course's, c.CourseDirectory.db_url)")
    p.add_argument("--out", default=None, help="the output folder (default: COURSE/exports/ASSIGNMENT)")
    p.add_argument("--canvas-column", default=None,
                   help="the grade column's header, e.g. 'Gaussian generative (48213)' to update that Canvas assignment (default: ASSIGNMENT)")
    p.add_argument("--roster", default=None, help="a gradebook CSV exported from the Canvas course, for the Canvas ids and sections")
    p.add_argument("--match-column", default="SIS Login ID", help="the roster column that holds the nbgrader student id (default: 'SIS Login ID')")
    p.add_argument("--allow-ungraded", action="store_true",
                   help="export even while answers graded by hand have no score (nbgrader counts them as 0); "
                        "they are listed in ungraded_answers.csv and counted in the manifest")
    return p


@returns_exit_status
def main(argv=None) -> int:
    """Run the command; return the exit status (2: bad arguments, 1: nothing could be exported)."""
    args, course = parse_course_arguments(_parser(), argv)
    out = Path(args.out) if args.out else course.folder / "exports" / args.assignment
    try:
        data = collect(course, args.assignment, args.db)
        roster = read_roster(args.roster, args.match_column) if args.roster else None
        waiting = [a for a in ungraded_in(course, args.assignment, args.db) if roster is None or a.student in roster]
    except (FileNotFoundError, LookupError, ValueError) as exc:
        print(f"python -m grading export-lms: {for_terminal(exc)}", file=sys.stderr)
        return 1
    if waiting and not args.allow_ungraded:
        print(f"python -m grading export-lms: nothing was written. {for_terminal(describe(waiting, '--allow-ungraded'))}",
              file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    rows, unmatched = canvas_rows(data, args.canvas_column or args.assignment, roster)
    write_canvas_csv(rows, out / "canvas_grades.csv")
    bundle = out / f"feedback_{args.assignment}.zip"
    counts = {student: len(items) for (_, student), items in by_student(waiting).items()}
    missing = feedback_bundle(course.folder, data, bundle, counts)
    listing = out / "ungraded_answers.csv"
    if waiting:
        write_ungraded_csv(waiting, listing)
    elif listing.exists():
        listing.unlink()  # from an earlier export: everything is graded now
    print(f"wrote {out / 'canvas_grades.csv'} ({len(rows) - 2} students) and {bundle}"
          + (f", and {listing}" if waiting else ""))
    if waiting:
        print(f"warning: exported anyway (--allow-ungraded; listed in {listing.name}, counted in the manifest): "
              f"{for_terminal(describe(waiting))}", file=sys.stderr)
    if unmatched:
        print(f"warning: not in the roster (left out of canvas_grades.csv): {for_terminal(', '.join(unmatched))}",
              file=sys.stderr)
    if missing:
        print("warning: submitted but no feedback (run nbgrader generate_feedback): "
              f"{for_terminal(', '.join(missing))}", file=sys.stderr)
    return 0
