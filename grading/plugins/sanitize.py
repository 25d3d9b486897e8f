"""nbgrader preprocessor: :func:`grading.judge.sanitize.sanitize_notebook` in a pipeline of ``nbgrader_config.py``.

``nbgrader autograde`` takes the markdown and raw cells (and the notebook's
metadata) of the autograded notebook from the student's submission, and the
formgrader and ``nbgrader generate_feedback`` render that notebook as it is:
this preprocessor makes it safe to show in a browser (see
:mod:`grading.judge.sanitize`).
"""

from __future__ import annotations

from traitlets import Bool

from grading.plugins.base import CoursePreprocessor
from grading.judge.sanitize import sanitize_notebook

__all__ = ["SanitizeNotebook"]


class SanitizeNotebook(CoursePreprocessor):
    """Remove whatever could run in the browser that shows the notebook (scripts, handlers, unsafe links)."""

    enabled = Bool(
        True,
        help="Sanitize the notebook. False shows it as the student's kernel and markdown made it: a script in "
             "it then runs in the instructor's browser, with the instructor's rights on the Jupyter server.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        """Sanitize ``nb`` in place and log what changed."""
        counts = sanitize_notebook(nb)
        if counts:
            info = resources.get("nbgrader", {})
            self.log.info("%s: sanitized for display: %s", info.get("student") or info.get("notebook", "notebook"),
                          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return nb, resources
