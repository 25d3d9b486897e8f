"""A whole class: ``python -m grading autograde`` and its preflight, ``python -m grading doctor``.

Owns grading every submission of an assignment in parallel and resumably (:mod:`grading.batch.autograde`),
the preflight that says whether grading works here (:mod:`grading.batch.doctor`), the reference solution's
times that scale the limits (:mod:`grading.batch.cell_times`), the progress line
(:mod:`grading.batch.progress`) and the advice for an unknown assignment name
(:mod:`grading.batch.assignment_names`).

It never judges a submission itself (it calls :func:`grading.judge.grade_notebook`) and never draws a report.
"""

from grading.batch.autograde import Run, grade_class, grade_submission
from grading.batch.doctor import Check, run_checks, verdict

__all__ = ["Check", "Run", "grade_class", "grade_submission", "run_checks", "verdict"]
