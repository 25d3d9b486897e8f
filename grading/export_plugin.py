"""Kept for existing course configurations: ``grading.export_plugin`` is now :mod:`grading.plugins.export`.

An ``nbgrader_config.py`` written before the move imports from here; new ones import from :mod:`grading.plugins.export`.
"""

from grading.plugins.export import CheckedCsvExport

__all__ = ["CheckedCsvExport"]
