"""Kept for existing course configurations: ``grading.feedback_ungraded`` is now :mod:`grading.plugins.feedback_ungraded`.

An ``nbgrader_config.py`` written before the move imports from here; new ones import from :mod:`grading.plugins.feedback_ungraded`.
"""

from grading.plugins.feedback_ungraded import MarkUngradedAnswers

__all__ = ["MarkUngradedAnswers"]
