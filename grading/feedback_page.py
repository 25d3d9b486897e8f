"""Kept for existing course configurations: ``grading.feedback_page`` is now :mod:`grading.plugins.feedback_page`.

An ``nbgrader_config.py`` written before the move imports from here; new ones import from :mod:`grading.plugins.feedback_page`.
"""

from grading.plugins.feedback_page import OfflineFeedbackPage, TEMPLATE_FOLDER

__all__ = ["OfflineFeedbackPage", "TEMPLATE_FOLDER"]
