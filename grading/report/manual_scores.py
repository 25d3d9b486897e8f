"""``python -m grading score``: enter a grader's score without the formgrader.

::

    python -m grading score ASSIGNMENT                            # what is still to grade
    python -m grading score ASSIGNMENT STUDENT GRADE_ID POINTS [--comment TEXT]

writes a manual score (and a comment) into nbgrader's gradebook exactly as
the formgrader does (``Grade.manual_score``, ``needs_manual_grade`` cleared,
``Comment.manual_comment``), through ``nbgrader.api.Gradebook``: the
feedback, ``nbgrader export`` and ``python -m grading export-lms`` then use
it.  :func:`enter_score` is the same from Python.

Every argument is checked before anything is written: the assignment, the
student's submission, the grade id (one of the notebook's graded cells, the
written answers named first), and the points (a number from 0 to the cell's
maximum); an error names the argument, what was expected and what was given.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
from dataclasses import dataclass

from grading.cli import add_course_argument, parse_course_arguments, returns_exit_status
from grading.untrusted_text import for_terminal

__all__ = ["ScoreEntered", "enter_score", "main"]


@dataclass(frozen=True)
class ScoreEntered:
    """What :func:`enter_score` wrote."""

    assignment: str
    student: str
    notebook: str
    grade_id: str
    points: float
    max_score: float
    previous: float | None  # the manual score before, if any
    total: float  # the submission's score (before any late penalty) after the change
    total_max: float


def _closest(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _points(value) -> float:
    """``value`` as a finite float, or ValueError naming what was expected."""
    try:
        points = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"The 'points' argument must be a number, e.g. 1.5. Got {value!r}.") from None
    if not math.isfinite(points):
        raise ValueError(f"The 'points' argument must be a finite number. Got {value!r}.")
    return points


def enter_score(gradebook, assignment: str, student: str, grade_id: str, points, comment: str | None = None,
                notebook: str | None = None) -> ScoreEntered:
    """Write a grader's score (and optionally a comment) for one graded cell of one submission.

    Parameters
    ----------
    gradebook : nbgrader.api.Gradebook
        An open gradebook.
    assignment : str
        The assignment's name in the gradebook.
    student : str
        The student's id; they must have a submission of ``assignment``.
    grade_id : str
        The graded cell's ``grade_id`` (e.g. ``exercise1_answer``).
    points : float or str
        The score, from 0 to the cell's maximum (a string is parsed as a number).
    comment : str, default=None
        The grader's comment shown in the feedback (``None``: the comment is left as it is).
        Only answer cells (written answers) take a comment.
    notebook : str, default=None
        The notebook's name without ``.ipynb``; ``None`` when the assignment has one notebook.

    Returns
    -------
    ScoreEntered

    Raises
    ------
    LookupError
        No such assignment, submission, notebook or graded cell (the message lists the valid ones).
    ValueError
        ``points`` is not a number from 0 to the cell's maximum, or a comment is given for a cell
        that takes none.
    """
    from nbgrader.api import MissingEntry

    points = _points(points)
    try:
        record = gradebook.find_assignment(assignment)
    except MissingEntry:
        known = sorted(a.name for a in gradebook.assignments)
        raise LookupError(f"The 'assignment' argument must name an assignment of the gradebook {known}. "
                          f"Got {assignment!r}.{_closest(assignment, known)}") from None
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        submitted = sorted(s.student.id for s in record.submissions)
        raise LookupError(f"The 'student' argument must be a student with a submission of {assignment!r} "
                          f"({len(submitted)} have one). Got {student!r}.{_closest(student, submitted)}") from None
    notebooks = sorted(nb.name for nb in record.notebooks)
    if notebook is None:
        if len(notebooks) != 1:
            raise LookupError(f"The 'notebook' argument is needed: {assignment!r} has the notebooks {notebooks}.")
        notebook = notebooks[0]
    elif notebook.removesuffix(".ipynb") not in notebooks:
        raise LookupError(f"The 'notebook' argument must be one of {notebooks}. Got {notebook!r}.")
    notebook = notebook.removesuffix(".ipynb")
    cells = {gc.name: gc for nb in record.notebooks if nb.name == notebook for gc in nb.grade_cells}
    if grade_id not in cells:
        written = sorted(name for name, gc in cells.items() if gc.cell_type != "code")
        autograded = sorted(name for name, gc in cells.items() if gc.cell_type == "code")
        raise LookupError(f"The 'grade_id' argument must be a graded cell of {notebook!r}: the written answers "
                          f"{written}, or an autograded cell {autograded} (to override its score). "
                          f"Got {grade_id!r}.{_closest(grade_id, cells)}")
    grade = gradebook.find_grade(grade_id, notebook, assignment, student)
    maximum = float(grade.max_score)
    if not 0 <= points <= maximum:
        raise ValueError(f"The 'points' argument must be a number from 0 to {maximum:g} (the most {grade_id!r} "
                         f"is worth). Got {points:g}.")
    comment_row = None
    if comment is not None:
        try:
            comment_row = gradebook.find_comment(grade_id, notebook, assignment, student)
        except MissingEntry:
            raise ValueError(f"The 'comment' argument is for answer cells only (nbgrader keeps a comment for each "
                             f"solution cell); {grade_id!r} of {student!r} has none. Leave --comment out.") from None
    previous = grade.manual_score
    grade.manual_score = points
    grade.needs_manual_grade = False  # as the formgrader does once a score is entered
    if comment_row is not None:
        comment_row.manual_comment = comment
    gradebook.db.commit()
    gradebook.db.refresh(submission)
    return ScoreEntered(assignment, student, notebook, grade_id, points, maximum, previous,
                        float(submission.score), float(submission.max_score))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m grading score",
        description="Enter a grader's score for one graded cell of one submission (what the formgrader does), "
                    "or, with the assignment alone, list the answers still to grade.")
    p.add_argument("assignment", help="the assignment's name in the gradebook, e.g. gaussian_generative")
    p.add_argument("student", nargs="?", help="the student's id")
    p.add_argument("grade_id", nargs="?", help="the graded cell, e.g. exercise1_answer")
    p.add_argument("points", nargs="?", help="the score, from 0 to the cell's maximum")
    p.add_argument("--comment", default=None, help="the grader's comment, shown in the student's feedback")
    p.add_argument("--notebook", default=None, help="the notebook (needed only when the assignment has several)")
    add_course_argument(p)
    p.add_argument("--db", default=None, help="the gradebook URL (default: the course's, c.CourseDirectory.db_url)")
    return p


@returns_exit_status
def main(argv=None) -> int:
    """Run the command; return the exit status (2: bad arguments, 1: nothing written)."""
    args, course = parse_course_arguments(_parser(), argv)
    given = [x is not None for x in (args.student, args.grade_id, args.points)]
    if any(given) and not all(given):
        print("python -m grading score: expected ASSIGNMENT STUDENT GRADE_ID POINTS (or ASSIGNMENT alone, to list "
              f"what is still to grade); got {sum(given) + 1} of them.", file=sys.stderr)
        return 2
    from grading.report.gradebook import open_gradebook
    from grading.report.ungraded import SCORE_COMMAND, ungraded_answers

    try:
        gradebook = open_gradebook(args.db or course.db_url)
    except FileNotFoundError as exc:
        print(f"python -m grading score: {for_terminal(exc)}", file=sys.stderr)
        return 1
    with gradebook as gb:
        if not any(given):
            known = sorted(a.name for a in gb.assignments)
            if args.assignment not in known:
                print(f"python -m grading score: the 'assignment' argument must name an assignment of the gradebook "
                      f"{known}. Got {for_terminal(repr(args.assignment))}.{_closest(args.assignment, known)}",
                      file=sys.stderr)
                return 1
            waiting = ungraded_answers(gb, [args.assignment])
            if not waiting:
                print(f"{args.assignment}: every graded cell of every submission has a score.")
                return 0
            print(f"{args.assignment}: {len(waiting)} graded cell(s) without a grader's score "
                  f"(enter one with `{SCORE_COMMAND}`):")
            for a in waiting:
                state = "to review" if a.review else "not graded"
                print(f"  {for_terminal(a.student):<20} {for_terminal(a.grade_id):<31} 0..{a.max_score:g}  {state}")
            return 0
        try:
            done = enter_score(gb, args.assignment, args.student, args.grade_id, args.points, args.comment,
                               args.notebook)
            left = len(ungraded_answers(gb, [args.assignment], [args.student]))
        except (LookupError, ValueError) as exc:
            print(f"python -m grading score: nothing was written. {for_terminal(exc)}", file=sys.stderr)
            return 1
    before = "not graded" if done.previous is None else f"{done.previous:g}"
    print(f"{for_terminal(done.student)} {done.grade_id}: {done.points:g} / {done.max_score:g} (was {before}); "
          f"submission {done.total:g} / {done.total_max:g} before any late penalty"
          + (f"; {left} more of their graded cells without a score" if left else "") + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
