"""nbgrader preprocessors used by ``nbgrader_config.py``.

SandboxedExecute
    Replaces nbgrader's ``Execute`` in the autograde pipeline.  The notebook
    runs in a sandboxed kernel (:mod:`grading.sandbox.layers`, :mod:`grading.run.executor`),
    the student's functions are called again in a fresh sandbox without the
    test set (:mod:`grading.run.probe`), and the checks run in the grader's own
    process (:mod:`grading.judge.checks`); every autograded cell ends with either a
    "passed" line or one error that says what was expected and what was found,
    which nbgrader's ``SaveAutoGrades`` scores as usual.  When the grader
    cannot grade a submission (the doctor's checks fail, the kernel or the
    probe cannot start: :class:`grading.failures.NotGradable`), the rows
    nbgrader created for it are removed and nbgrader reports it as failed: no
    zero is ever recorded for the grader's own failure.

HideHiddenTests
    For feedback: removes any hidden-test region from test cells and reduces
    every error output of a test cell to its one-line message.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Unicode

from grading.batch.doctor import run_checks, verdict
from grading.config import Course
from grading.failures import NotGradable
from grading.judge.grade import copy_outputs, grade_notebook, grading_config, submission_key
from grading.judge.references import prepare
from grading.plugins.base import CoursePreprocessor
from grading.run.executor import NotebookExecutor
from grading.run.probe import Probe
from grading.sandbox.layers import Sandbox, SandboxUnavailable
from grading.untrusted_text import for_terminal

__all__ = ["HideHiddenTests", "SandboxedExecute"]


class SandboxedExecute(NbGraderPreprocessor):
    """Execute and judge a submission in the sandbox (see the module docstring)."""

    cache_dir = Unicode(
        "",
        help="Folder for the references shared by every submission (default: .grading-cache in the course root). "
             "Keep it private: it is never shown to a sandbox, but it holds the seed of the unseen subsets.",
    ).tag(config=True)

    precomputed_dir = Unicode(
        "",
        help="Folder of notebooks graded already (by `python -m grading autograde`), as <student>/<key>.ipynb; "
             "a submission found there is not graded again.",
    ).tag(config=True)

    _prepared = None
    _unusable: str | None = None  # the preflight's failure, once known: every submission stops at once

    def _course_root(self) -> str:
        parent = self.parent
        coursedir = getattr(parent, "coursedir", None)
        return getattr(coursedir, "root", None) or os.getcwd()

    def setup(self):
        """Check the sandbox once (the doctor's checks) and build (or reuse) the references.

        Raises NotGradable (at once for every later submission too) when grading cannot work here.
        """
        if SandboxedExecute._unusable is not None:
            raise NotGradable(SandboxedExecute._unusable)
        if SandboxedExecute._prepared is None:
            from traitlets.config import Config

            config = Config(self.config)
            root = os.path.abspath(self._course_root())
            if not config.Sandbox.get("course_folder"):
                config.Sandbox.course_folder = root
            try:
                sandbox = Sandbox(config=config)
                self.log.info("grading sandbox: %s", sandbox.describe_layer())
                cache = self.cache_dir or Course(Path(root), config).cache_dir
                refs = prepare(cache)
                ok, line = verdict(run_checks(config, refs=refs, course=root,
                                              log=lambda c: self.log.info("doctor: %s", c.line())))
            except (SandboxUnavailable, OSError) as exc:
                ok, line = False, str(exc)
            if not ok:
                SandboxedExecute._unusable = line
                raise NotGradable(line)
            if not sandbox.enabled:
                self.log.warning("GRADING WITHOUT A SANDBOX (c.Sandbox.enabled = False): student code runs with "
                                 "your rights.")
            SandboxedExecute._prepared = (sandbox, refs)
        return SandboxedExecute._prepared

    def _forget_submission(self, resources) -> None:
        """Remove the gradebook rows nbgrader created for this submission, if it holds no score yet."""
        info = resources.get("nbgrader", {})
        student, assignment, db_url = info.get("student"), info.get("assignment"), info.get("db_url")
        if not (student and assignment and db_url):
            return
        from nbgrader.api import Gradebook, MissingEntry

        try:
            with Gradebook(db_url) as gb:
                submission = gb.find_submission(assignment, student)
                scored = any(g.auto_score is not None or g.manual_score is not None
                             for nb in submission.notebooks for g in nb.grades)
                if not scored:
                    gb.remove_submission(assignment, student)
        except MissingEntry:
            return

    def preprocess(self, nb, resources):
        student = resources.get("nbgrader", {}).get("student", "?")
        if self.precomputed_dir:
            path = os.path.join(self.precomputed_dir, student, submission_key(nb, grading_config(self.config)) + ".ipynb")
            if os.path.exists(path):
                copy_outputs(nbformat.read(path, as_version=4), nb)
                resources["generative_mnist_grading"] = nb.metadata.get("generative_mnist_grading", {})
                self.log.info("%s: graded already (%s)", for_terminal(student), for_terminal(path))
                return nb, resources
            self.log.warning("%s: not in %s; grading it now", for_terminal(student), for_terminal(self.precomputed_dir))
        try:
            sandbox, refs = self.setup()
            executor = NotebookExecutor(sandbox, parent=self)
            probe = Probe(sandbox, parent=self)
            summary = grade_notebook(nb, refs, executor, probe)
        except NotGradable as exc:
            # Nothing of it may reach the gradebook: nbgrader created the submission's rows already.
            self._forget_submission(resources)
            self.log.error("%s: NOT GRADABLE, nothing recorded: %s", for_terminal(student), for_terminal(exc))
            raise
        self.log.info("graded %s in %.0f s (notebook %.0f s, probe %.0f s, judge %.0f s); failed: %s",
                      for_terminal(student), summary.seconds, summary.notebook_seconds, summary.probe_seconds,
                      summary.judge_seconds, for_terminal(sorted(summary.failed) or "none"))
        for event in summary.events:
            self.log.warning("%s: %s", for_terminal(student), for_terminal(event))
        resources["generative_mnist_grading"] = summary.as_dict()
        return nb, resources


class HideHiddenTests(CoursePreprocessor):
    """Remove hidden tests and source-quoting tracebacks from test cells."""

    def preprocess(self, nb, resources):
        """Process every cell of ``nb`` (feedback only)."""
        self._clear = ClearHiddenTests(enforce_metadata=False)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        """Strip the hidden region and reduce error tracebacks of test cells."""
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        if self._clear._remove_hidden_test_region(cell):
            cell.source = cell.source.rstrip() + "\n# (hidden tests are not shown)"
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


