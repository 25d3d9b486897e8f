"""Kept for existing course configurations: ``grading.canvas_collect`` is now :mod:`grading.plugins.canvas_collect`.

An ``nbgrader_config.py`` written before the move imports from here; new ones import from :mod:`grading.plugins.canvas_collect`.
"""

from grading.plugins.canvas_collect import CanvasCollector, CanvasExtractor

__all__ = ["CanvasCollector", "CanvasExtractor"]
