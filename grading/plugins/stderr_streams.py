"""One rule for stderr: printing, logging and warnings never cost points.

nbgrader scores a test cell zero when one of its outputs is a ``stderr``
stream (``nbgrader.utils.determine_grade``), as if it had raised: a correct
solution whose function logs or warns would lose the points of every test
cell that calls it.  The course's rule is that printing, logging and warnings
(to stdout or stderr) are fine everywhere, test cells included, and that only
a failed check or an error costs points.

:class:`StderrAsStdout` makes the rule true before nbgrader scores: in every
autograded test cell, each ``stderr`` stream output becomes a ``stdout``
stream with the same text (kept, never dropped; consecutive streams are
joined into one, as a terminal shows them).  Error outputs are left as they
are, so a failed check or an exception still scores zero; and an output of
another kind (a displayed value, which nbgrader reads as partial credit) is
not touched either.  Cells that are not scored from their outputs (answer
cells, read-only cells) keep their stderr streams, which the formgrader and
the feedback show in red.

It runs in the autograde pipeline of ``nbgrader_config.py`` right after the
execute step, so ``nbgrader autograde`` and ``python -m grading autograde``
(whose second phase is ``nbgrader autograde``) score with the same rule.  The
course's judge (:mod:`grading.judge.grade`) ends every test cell with its verdict
(a "passed" line on stdout, or one error) already; this step keeps the rule
true whatever else reaches nbgrader's scoring: a pipeline with nbgrader's own
``Execute``, a verdict written to stderr, a notebook graded elsewhere.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

__all__ = ["StderrAsStdout", "stderr_as_stdout"]


def _is_scored_by_outputs(cell) -> bool:
    """True for an autograded test cell: a graded code cell that is not an answer (nbgrader reads its outputs)."""
    return cell.get("cell_type") == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def stderr_as_stdout(outputs: list, join: bool = True) -> tuple[list, int]:
    """Return ``outputs`` with every ``stderr`` stream made a ``stdout`` stream, and how many were changed.

    Parameters
    ----------
    outputs : list of dict
        A code cell's outputs (nbformat 4).
    join : bool, optional
        Join consecutive stream outputs of the same name into one (default: True).

    Returns
    -------
    outputs : list of NotebookNode
        New outputs; the text of every stream is kept, in order.  Outputs that
        are not streams (errors, displayed values) are the same objects.
    changed : int
        The number of ``stderr`` streams renamed.

    Raises
    ------
    TypeError
        If ``outputs`` is not a list, or one of its items is not a dict.
    """
    if not isinstance(outputs, list):
        raise TypeError(f"outputs: expected a list of output dicts; found {type(outputs).__name__}")
    result: list = []
    changed = 0
    for output in outputs:
        if not isinstance(output, dict):
            raise TypeError(f"outputs: expected output dicts; found an item of type {type(output).__name__}")
        if output.get("output_type") != "stream":
            result.append(output)
            continue
        text = output.get("text", "")
        if isinstance(text, list):
            text = "".join(text)
        name = output.get("name")
        if name == "stderr":
            name = "stdout"
            changed += 1
        previous = result[-1] if result else None
        if (join and previous is not None and previous.get("output_type") == "stream"
                and previous.get("name") == name):
            previous["text"] = previous["text"] + text
        else:
            result.append(NotebookNode(output_type="stream", name=name, text=text))
    return result, changed


class StderrAsStdout(NbGraderPreprocessor):
    """In autograded test cells, show stderr streams as stdout, so that they cost no points (see the module)."""

    join_streams = Bool(
        True,
        help="Join consecutive stream outputs of an autograded test cell into one (as a terminal shows them) "
             "after its stderr streams became stdout.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        """Rename the stderr streams of every autograded test cell of ``nb``; log how many cells had some."""
        self._cells_changed = 0
        nb, resources = super().preprocess(nb, resources)
        if self._cells_changed:
            self.log.info("stderr output of %d test cell(s) shown as ordinary output (it costs no points)",
                          self._cells_changed)
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        """Rename the stderr streams of ``cell`` if it is an autograded test cell; other cells are unchanged."""
        if _is_scored_by_outputs(cell) and cell.get("outputs"):
            outputs, changed = stderr_as_stdout(list(cell.outputs), join=self.join_streams)
            if changed:
                cell.outputs = outputs
                self._cells_changed += 1
        return cell, resources
