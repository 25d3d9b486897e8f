"""After grading: the class report, the LMS export, similar submissions and scores entered by hand.

Owns reading the gradebook and the graded notebooks (:mod:`grading.report.gradebook`), the class report's
figures, HTML and CSV (:mod:`grading.report.class_report`), the Canvas export
(:mod:`grading.report.lms`), similarity (:mod:`grading.report.similarity`), the answers still waiting for
a grader (:mod:`grading.report.ungraded`) and entering a grader's score (:mod:`grading.report.manual_scores`).

It never runs student code and never changes a grade the judge gave (a grader's own score aside).
"""

from grading.report.class_report import write_report
from grading.report.gradebook import ClassData, Student, collect, open_gradebook
from grading.report.lms import canvas_rows, feedback_bundle
from grading.report.similarity import check_submissions

__all__ = ["ClassData", "Student", "canvas_rows", "check_submissions", "collect", "feedback_bundle",
           "open_gradebook", "write_report"]
