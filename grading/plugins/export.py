"""``nbgrader export`` that will not export a grade nobody has finished.

:class:`CheckedCsvExport` is the course's exporter (``c.ExportApp.plugin_class``
in ``nbgrader_config.py``).  It writes nbgrader's own ``grades.csv`` (the same
columns as nbgrader's ``CsvExportPlugin``, in the same order, the same scores)
with one more column, ``ungraded_answers``: how many graded cells of the
submission have no grader's score yet (see :mod:`grading.report.ungraded`).

While any exported submission has such a cell, it refuses: it writes
nothing, logs one error naming how many answers of which students and how to
grade them, and ``nbgrader export`` exits with status 1.  With
``allow_ungraded`` (``nbgrader export --CheckedCsvExport.allow_ungraded=True``
or in ``nbgrader_config.py``) it exports anyway, counts those cells in the
``ungraded_answers`` column and logs a warning naming them.

Unlike nbgrader's exporter, every text cell goes through
:func:`grading.untrusted_text.for_csv` (a student's name cannot be a live
formula) and the file is written with the :mod:`csv` module (a comma in a
name stays in its cell).
"""

from __future__ import annotations

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Bool

from grading.report.ungraded import describe, ungraded_answers
from grading.untrusted_text import for_csv_row, for_terminal

__all__ = ["CheckedCsvExport", "UngradedAnswersError", "COLUMNS"]

#: nbgrader's CsvExportPlugin's columns, then the count of cells waiting for a grader.
COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
           "late_submission_penalty", "score", "max_score", "ungraded_answers"]


class UngradedAnswersError(RuntimeError):
    """An export refused because graded cells of an exported submission have no grader's score."""


class CheckedCsvExport(ExportPlugin):
    """nbgrader's CSV export that refuses (or marks) grades with answers no one has graded."""

    allow_ungraded = Bool(
        False,
        help="Export even while answers graded by hand have no score (nbgrader counts them as 0). The column "
             "ungraded_answers counts them for each row, and a warning names them. False: refuse, write nothing "
             "and exit with status 1.",
    ).tag(config=True)

    def _selection(self, values) -> list:
        return [str(v) for v in values]

    def export(self, gradebook) -> None:
        """Write the grades of ``gradebook`` to ``self.to`` (default ``grades.csv``), or refuse.

        Raises
        ------
        UngradedAnswersError
            When answers wait for a grader and ``allow_ungraded`` is False; run
            by ``nbgrader export``, the app logs the message and exits with status 1 instead.
        """
        dest = self.to or "grades.csv"
        assignments, students = self._selection(self.assignment), self._selection(self.student)
        waiting = ungraded_answers(gradebook, assignments, students)
        if waiting and not self.allow_ungraded:
            message = ("nbgrader export: nothing was written. "
                       + describe(waiting, "`nbgrader export --CheckedCsvExport.allow_ungraded=True`"))
            fail = getattr(self.parent, "fail", None)
            if fail is not None:
                fail(for_terminal(message))  # logs the error and exits with status 1
            raise UngradedAnswersError(message)
        counts = {}
        for answer in waiting:
            counts[(answer.assignment, answer.student)] = counts.get((answer.assignment, answer.student), 0) + 1
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    writer.writerow(for_csv_row(self._row(gradebook, assignment, student, counts)))
        if waiting:
            self.log.warning("%s", for_terminal(
                f"exported to {dest} anyway (allow_ungraded; the column ungraded_answers counts them per row): "
                + describe(waiting)))

    @staticmethod
    def _row(gradebook, assignment, student, counts) -> list:
        """One row of the CSV, with the values nbgrader's CsvExportPlugin writes (numbers as numbers)."""
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:
            timestamp, raw, penalty, score = "", 0.0, 0.0, 0.0
        else:
            timestamp = submission.timestamp
            raw = float(submission.score)
            penalty = float(submission.late_submission_penalty or 0.0)
            score = max(0.0, raw - penalty)
        return [assignment.name, "" if assignment.duedate is None else str(assignment.duedate),
                "" if timestamp in ("", None) else str(timestamp), student.id, student.last_name or "",
                student.first_name or "", student.email or "", raw, penalty, score, float(assignment.max_score),
                counts.get((assignment.name, student.id), 0)]
