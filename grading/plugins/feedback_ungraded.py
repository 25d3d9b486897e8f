"""nbgrader preprocessor for the feedback: answers no one has graded say so, instead of "0".

nbgrader's ``GetGrades`` puts every graded cell's score in its metadata, and
a written answer that no grader has scored yet gets 0: the feedback page
shows "Score: 0.0 / 2.0", which reads as a verdict.  :class:`MarkUngradedAnswers`
runs after ``GetGrades`` (``c.GenerateFeedback.preprocessors`` in
``nbgrader_config.py``) and marks each such cell
(``metadata.nbgrader.generative_mnist_ungraded``); the course's feedback
template (``grading/plugins/templates/feedback_offline``) then shows "not graded
yet" for it, and the page's total as a score so far, with how many answers
and points are still to be graded (``resources["generative_mnist_feedback"]["ungraded"]``).
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.api import Gradebook

from grading.plugins.base import CoursePreprocessor
from grading.report.ungraded import has_no_score

__all__ = ["MarkUngradedAnswers", "UNGRADED_KEY"]

#: The cell metadata key (under ``nbgrader``) the template reads.
UNGRADED_KEY = "generative_mnist_ungraded"


class MarkUngradedAnswers(CoursePreprocessor):
    """Mark graded cells that have no grader's score yet, for the feedback template."""

    def preprocess(self, nb, resources):
        """Look up every graded cell of ``nb`` in the gradebook (``resources["nbgrader"]``) and mark the ungraded."""
        info = resources["nbgrader"]
        self._found = {"count": 0, "points": 0.0, "grade_ids": []}
        with Gradebook(info["db_url"]) as gradebook:
            self._gradebook = gradebook
            nb, resources = super().preprocess(nb, resources)
        resources.setdefault("generative_mnist_feedback", {})["ungraded"] = self._found
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        """Mark one graded cell when its grade has no score yet."""
        if not (utils.is_grade(cell) or utils.is_task(cell)):
            return cell, resources
        info = resources["nbgrader"]
        grade = self._gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], info["notebook"],
                                           info["assignment"], info["student"])
        if has_no_score(grade):
            cell.metadata["nbgrader"][UNGRADED_KEY] = True
            self._found["count"] += 1
            self._found["points"] += float(grade.max_score or 0.0)
            self._found["grade_ids"].append(grade.name)
        return cell, resources
