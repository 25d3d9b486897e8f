"""The base class of the course's nbgrader preprocessors that nbconvert's HTMLExporter runs.

nbconvert's ``HTMLExporter`` sets ``NbConvertBase.display_data_priority`` in
its default configuration, which reaches every preprocessor it runs (the
``c.GenerateFeedback.preprocessors`` and ``c.HTMLExporter.preprocessors`` of
``nbgrader_config.py``).  nbgrader's ``NbGraderPreprocessor`` redeclares that
trait without ``config=True``, so traitlets warns, for each such class,
"Config option `display_data_priority` not recognized by HideHiddenTests".
:class:`CoursePreprocessor` declares it configurable again, as nbgrader's own
``GetGrades`` does: derive a preprocessor from it, not from
``NbGraderPreprocessor``, and the warning is gone.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List

__all__ = ["CoursePreprocessor"]


class CoursePreprocessor(NbGraderPreprocessor):
    """``NbGraderPreprocessor`` that accepts the ``display_data_priority`` nbconvert's exporters configure."""

    display_data_priority = List(
        ["text/html", "application/pdf", "text/latex", "image/svg+xml", "image/png", "image/jpeg", "text/plain"],
        help="Output types in order of preference (set by nbconvert's exporters for every preprocessor they run).",
    ).tag(config=True)
