"""The grader's own failures: never a student's grade.

:class:`NotGradable` is raised when a submission cannot be graded for a reason
that is not the student's: the sandbox, the kernel or the probe cannot start
(before any student code has run), a data file is missing, the grader has a
bug.  ``python -m grading autograde`` and the nbgrader preprocessor record
nothing in the gradebook for such a submission, list it as *not gradable* with
the cause, and exit non-zero; the class report lists it.

It is the one exception type that means "could not grade": the sandbox's own
(:class:`grading.sandbox.SandboxUnavailable`, no sandbox can be built here) is
a kind of it.  :func:`not_gradable` is the one shape of the result a
grading worker returns for such a submission.
"""

from __future__ import annotations

__all__ = ["DOCTOR_FIX", "NotGradable", "not_gradable"]

#: What to do first whenever the grader fails on its own.
DOCTOR_FIX = "run `python -m grading doctor` in the course folder: it names what the sandbox lacks"


class NotGradable(RuntimeError):
    """A submission could not be graded, for a reason that is not the student's.

    Parameters
    ----------
    cause : str
        One line: what failed (for instance the kernel's or bubblewrap's own
        error message).
    fix : str, default=DOCTOR_FIX
        One line: what the instructor can do about it.
    """

    def __init__(self, cause: str, fix: str = DOCTOR_FIX):
        self.cause = " ".join(str(cause).split())[:600]
        self.fix = " ".join(str(fix).split())
        super().__init__(f"{self.cause} Fix: {self.fix}.")


def not_gradable(student: str, cause: str, fix: str, reason: str | None = None, **details) -> dict:
    """The result of a submission the grader could not grade (``status`` ``"not gradable"``).

    Parameters
    ----------
    student : str
        The student's id.
    cause : str
        One line: what failed.
    fix : str
        One line: what the instructor can do about it.
    reason : str, default=None
        The whole message (cause and fix, as the exception says it); ``None`` means ``cause``.
    **details
        More fields of the result (``seconds``, ``host``).
    """
    return {"student": student, "status": "not gradable", "reason": cause if reason is None else reason,
            "cause": cause, "fix": fix, **details}
