"""The judge: what decides a grade, in the grader's own process.

Owns the checks (:mod:`grading.judge.checks`, one per autograded cell, registered explicitly), the
references they compare with (:mod:`grading.judge.references`), grading one notebook
(:mod:`grading.judge.grade`: run, probe, judge, write the verdicts, and the submission key) and the
sanitizer that makes a graded notebook safe to show (:mod:`grading.judge.sanitize`).

It never grades a class, never writes the gradebook and never trusts a value it did not read through
:mod:`grading.run.intake`.  Together with :mod:`grading.sandbox` and :mod:`grading.run` it is the code
that decides a grade: a change to any file of these three packages changes every submission's key.
"""

from grading.judge.checks import CHECKS, Evidence, judge
from grading.judge.grade import GRADING_PACKAGES, copy_outputs, grade_notebook, grading_config, submission_key
from grading.judge.references import References, prepare

__all__ = ["CHECKS", "Evidence", "GRADING_PACKAGES", "References", "copy_outputs", "grade_notebook",
           "grading_config", "judge", "prepare", "submission_key"]
