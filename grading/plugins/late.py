"""The course's late policy, as an nbgrader late-submission plugin.

nbgrader's ``AssignLatePenalties`` preprocessor (part of ``nbgrader
autograde``) asks its plugin for the penalty of every notebook of a late
submission: late means the submission's timestamp (``timestamp.txt``, written
by ``nbgrader collect`` / ``zip_collect``) is after the assignment's due date
(``nbgrader db assignment add NAME --duedate=...``) plus any extension.

:class:`PercentPerDayLatePenalty` deducts ``percent_per_day`` percent of the
notebook's **maximum** score for every started day of lateness, up to
``max_percent`` percent; a submission at most ``grace_minutes`` late costs
nothing.  The penalty is a share of the maximum score, not of the score, so it
does not depend on whether the written answers have been graded yet (they are
graded by hand after autograding, when nbgrader has already stored the
penalty).  nbgrader stores it in the gradebook, and ``nbgrader export``,
the feedback and ``python -m grading report`` subtract it from the score
(never below zero).
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, TraitError, validate

from grading.untrusted_text import for_terminal

__all__ = ["PercentPerDayLatePenalty", "penalty_percent"]

SECONDS_PER_DAY = 86400.0


def penalty_percent(seconds_late: float, percent_per_day: float, max_percent: float, grace_minutes: float) -> float:
    """Percent of the maximum score deducted for a submission ``seconds_late`` late."""
    if seconds_late < 0 or math.isnan(seconds_late):
        raise ValueError(f"The 'seconds_late' argument must be a number >= 0. Got {seconds_late!r} instead.")
    if seconds_late <= 60.0 * grace_minutes:
        return 0.0
    days = math.ceil(seconds_late / SECONDS_PER_DAY)
    return min(max_percent, days * percent_per_day)


class PercentPerDayLatePenalty(LateSubmissionPlugin):
    """Deduct a percentage of the notebook's maximum score per started day late, capped."""

    percent_per_day = Float(
        10.0,
        help="Percent of the notebook's maximum score deducted for every started day (24 h) after the due date.",
    ).tag(config=True)

    max_percent = Float(
        50.0,
        help="The most a late submission loses, in percent of the notebook's maximum score.",
    ).tag(config=True)

    grace_minutes = Float(
        0.0,
        help="A submission at most this many minutes late costs nothing (upload delays).",
    ).tag(config=True)

    @validate("percent_per_day", "max_percent")
    def _check_percent(self, proposal):
        value = proposal["value"]
        if not 0.0 <= value <= 100.0:
            raise TraitError(
                f"PercentPerDayLatePenalty.{proposal['trait'].name} must be a percentage in [0, 100]. Got {value!r} instead."
            )
        return value

    @validate("grace_minutes")
    def _check_grace(self, proposal):
        value = proposal["value"]
        if value < 0:
            raise TraitError(f"PercentPerDayLatePenalty.grace_minutes must be >= 0. Got {value!r} instead.")
        return value

    def _max_score(self) -> float:
        """The maximum score of the notebook being graded, from the calling preprocessor's gradebook."""
        parent = self.parent
        try:
            notebook = parent.gradebook.find_notebook(parent.notebook_id, parent.assignment_id)
        except AttributeError as exc:
            raise RuntimeError(
                "PercentPerDayLatePenalty must be the plugin_class of nbgrader's AssignLatePenalties "
                f"(it reads the notebook's maximum score from its gradebook). Got parent {parent!r} instead."
            ) from exc
        return float(notebook.max_score)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        """Return the penalty in points (``None`` when the submission is not late)."""
        percent = penalty_percent(total_seconds_late, self.percent_per_day, self.max_percent, self.grace_minutes)
        if percent == 0.0:
            return None
        penalty = round(percent / 100.0 * self._max_score(), 4)
        self.log.info(
            "%s is %.1f hours late: %g%% of the maximum score, a penalty of %g points",
            for_terminal(student_id), total_seconds_late / 3600.0, percent, penalty,
        )
        return penalty
