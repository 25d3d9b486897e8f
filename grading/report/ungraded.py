"""Answers that wait for a human grader, found in nbgrader's gradebook.

A grade waits for a human when nbgrader flags it (``Grade.needs_manual_grade``:
a written answer after autograding, or an answer autograded again after a
grader had scored it) or when it has no score at all (no manual and no
automatic score).  nbgrader counts such a grade as 0 in every total, so a
total that includes one is not a grade yet: ``nbgrader export`` (through
:class:`grading.plugins.export.CheckedCsvExport`) and ``python -m grading
export-lms`` refuse to export it unless told to, and the feedback says "not
graded yet" instead of "0".

:func:`is_ungraded`
    The test, for one ``nbgrader.api.Grade``.
:func:`ungraded_answers`
    Every such grade of the submissions of a gradebook, optionally only some
    assignments and students.
:func:`describe`
    One message naming how many answers of which students, and how to grade them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

__all__ = ["UngradedAnswer", "by_student", "describe", "has_no_score", "is_ungraded", "ungraded_answers"]

#: How to grade an answer without the formgrader (grading/report/manual_scores.py).
SCORE_COMMAND = "python -m grading score ASSIGNMENT STUDENT GRADE_ID POINTS"


@dataclass(frozen=True)
class UngradedAnswer:
    """One answer of one submission that no grader has scored (or must review)."""

    assignment: str
    student: str
    notebook: str
    grade_id: str
    max_score: float
    review: bool = False  # True: it holds a grader's score, but nbgrader asks for a review
    unscored_submission: bool = False  # True: no graded cell of this submission has any score


def is_ungraded(grade) -> bool:
    """Whether a grade of nbgrader's gradebook still waits for a human grader.

    Parameters
    ----------
    grade : nbgrader.api.Grade
        One grade of a submitted notebook.

    Returns
    -------
    bool
        True when nbgrader flags it (``needs_manual_grade``) or when it has
        neither a manual nor an automatic score.
    """
    return bool(grade.needs_manual_grade) or (grade.manual_score is None and grade.auto_score is None)


def has_no_score(grade) -> bool:
    """Whether a grade waits for a grader and has no grader's score (the feedback shows "not graded yet").

    A grade that :func:`is_ungraded` flags for review but that holds a grader's
    score shows that score.
    """
    return grade.manual_score is None and is_ungraded(grade)


def ungraded_answers(gradebook, assignments=(), students=()) -> list:
    """Every grade of the gradebook's submissions that waits for a human grader.

    Parameters
    ----------
    gradebook : nbgrader.api.Gradebook
        An open gradebook.
    assignments, students : collection of str, default=()
        Only these assignments and students (empty: all), as ``nbgrader
        export --assignment`` and ``--student`` select them.

    Returns
    -------
    list of UngradedAnswer
        Sorted by assignment, student, notebook and grade id.
    """
    from nbgrader.api import Grade, SubmittedAssignment, SubmittedNotebook

    assignments = {str(a) for a in assignments}
    students = {str(s) for s in students}
    query = (gradebook.db.query(Grade)
             .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
             .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id))
    per_submission = defaultdict(list)
    for grade in query:
        assignment = grade.notebook.assignment.assignment.name
        student = grade.notebook.assignment.student.id
        if (assignments and assignment not in assignments) or (students and student not in students):
            continue
        per_submission[(assignment, student)].append(grade)
    found = []
    for (assignment, student), grades in per_submission.items():
        unscored = all(g.manual_score is None and g.auto_score is None for g in grades)
        found += [UngradedAnswer(assignment, student, g.notebook.name, g.name, float(g.max_score or 0.0),
                                 review=g.manual_score is not None, unscored_submission=unscored)
                  for g in grades if is_ungraded(g)]
    return sorted(found, key=lambda a: (a.assignment, a.student, a.notebook, a.grade_id))


def by_student(answers) -> dict:
    """{(assignment, student): [UngradedAnswer, ...]} of :func:`ungraded_answers`' list, in its order."""
    grouped = defaultdict(list)
    for answer in answers:
        grouped[(answer.assignment, answer.student)].append(answer)
    return dict(grouped)


def describe(answers, export_anyway: str | None = None) -> str:
    """The message of an export refused because answers wait for a grader.

    Parameters
    ----------
    answers : list of UngradedAnswer
        What :func:`ungraded_answers` found (not empty).
    export_anyway : str, default=None
        How to export anyway with the command that refused, e.g. ``"--allow-ungraded"``;
        ``None`` (for a warning after exporting anyway) leaves that advice out.

    Returns
    -------
    str
        One paragraph: how many answers of how many students, each student
        with their answers' grade ids, how to grade them and how to export anyway.
        Student ids come from the gradebook: pass the message through
        :func:`grading.untrusted_text.for_terminal` before printing it.
    """
    grouped = by_student(answers)
    several = len({a.assignment for a in answers}) > 1
    parts = []
    for (assignment, student), items in grouped.items():
        if items[0].unscored_submission:
            ids = f"no score at all in its {len(items)} graded cells (autograde it again, or remove the submission)"
        else:
            ids = ", ".join(a.grade_id + (" (to review)" if a.review else "") for a in items)
        parts.append(f"{student}{f' [{assignment}]' if several else ''}: {ids}")
    points = sum(a.max_score for a in answers)
    anyway = f", or export anyway with {export_anyway} (those rows are then marked)" if export_anyway else ""
    return (f"{len(answers)} graded cell(s) of {len(grouped)} student(s), worth {points:g} points, have no "
            f"grader's score yet (nbgrader counts them as 0): {'; '.join(parts)}. Grade them in the formgrader "
            f"or with `{SCORE_COMMAND}`{anyway}.")
