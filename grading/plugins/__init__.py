"""The nbgrader plugins that ``nbgrader_config.py`` names.

Owns the preprocessors (sandboxed execution and hidden tests: :mod:`grading.plugins.execute`; sanitizing:
:mod:`grading.plugins.sanitize`; stderr: :mod:`grading.plugins.stderr_streams`; the feedback page:
:mod:`grading.plugins.feedback_page`, :mod:`grading.plugins.feedback_ungraded`, with the template in
``templates/``), the export plugin (:mod:`grading.plugins.export`), the late policy
(:mod:`grading.plugins.late`) and the Canvas collector (:mod:`grading.plugins.canvas_collect`).

Each is a thin adapter between nbgrader and the packages below it: it never holds grading logic of its own.
"""

from grading.plugins.canvas_collect import CanvasCollector, CanvasExtractor
from grading.plugins.execute import HideHiddenTests, SandboxedExecute
from grading.plugins.export import CheckedCsvExport
from grading.plugins.feedback_page import TEMPLATE_FOLDER, OfflineFeedbackPage
from grading.plugins.feedback_ungraded import MarkUngradedAnswers
from grading.plugins.late import PercentPerDayLatePenalty
from grading.plugins.sanitize import SanitizeNotebook
from grading.plugins.stderr_streams import StderrAsStdout

__all__ = ["CanvasCollector", "CanvasExtractor", "CheckedCsvExport", "HideHiddenTests", "MarkUngradedAnswers",
           "OfflineFeedbackPage", "PercentPerDayLatePenalty", "SandboxedExecute", "SanitizeNotebook",
           "StderrAsStdout", "TEMPLATE_FOLDER"]
