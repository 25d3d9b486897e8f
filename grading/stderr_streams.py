"""Kept for existing course configurations: ``grading.stderr_streams`` is now :mod:`grading.plugins.stderr_streams`.

An ``nbgrader_config.py`` written before the move imports from here; new ones import from :mod:`grading.plugins.stderr_streams`.
"""

from grading.plugins.stderr_streams import StderrAsStdout

__all__ = ["StderrAsStdout"]
