"""Kept for existing course configurations: ``grading.late`` is now :mod:`grading.plugins.late`.

An ``nbgrader_config.py`` written before the move imports from here; new ones import from :mod:`grading.plugins.late`.
"""

from grading.plugins.late import PercentPerDayLatePenalty

__all__ = ["PercentPerDayLatePenalty"]
