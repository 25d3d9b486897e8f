"""Kept for existing course configurations: ``grading.sanitize_preprocessor`` is now :mod:`grading.plugins.sanitize`.

An ``nbgrader_config.py`` written before the move imports from here; new ones import from :mod:`grading.plugins.sanitize`.
"""

from grading.plugins.sanitize import SanitizeNotebook

__all__ = ["SanitizeNotebook"]
