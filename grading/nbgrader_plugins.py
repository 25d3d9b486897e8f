"""nbgrader preprocessors used by ``nbgrader_config.py``.

ResilientExecute
    nbgrader's ``Execute`` abandons a whole submission when a student's cell
    kills the kernel (``os._exit``, a segfault): the student gets no points at
    all.  This subclass records an error in the cell that killed the kernel,
    starts a new kernel, re-runs the cells above it (their outputs are kept
    from the first run) and carries on, so only the parts that depend on that
    cell lose their points.

HideHiddenTests
    nbgrader's feedback shows the hidden tests.  This preprocessor removes the
    hidden-test regions from the test cells and reduces every error output of
    a test cell to its last line (``AssertionError: <message>``): the
    traceback would otherwise quote the hidden source line that failed.
"""

from __future__ import annotations

import copy

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor

__all__ = ["HideHiddenTests", "ResilientExecute"]

KERNEL_DIED_MESSAGE = (
    "The kernel died while this cell ran (for example os._exit, sys.exit in a "
    "subprocess or a crash). The grader started a new kernel, re-ran the cells "
    "above and went on; this cell's results are lost."
)


class ResilientExecute(Execute):
    """nbgrader's ``Execute`` that survives a kernel that dies in a cell."""

    def preprocess_cell(self, cell, resources, index):
        """Execute one cell; on kernel death record it, restart and replay."""
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.log.warning("The kernel died in cell %d; restarting it and replaying cells 0..%d", index, index - 1)
        cell.outputs.append(
            NotebookNode(
                output_type="error",
                ename="DeadKernelError",
                evalue=KERNEL_DIED_MESSAGE,
                traceback=["DeadKernelError: " + KERNEL_DIED_MESSAGE],
            )
        )
        self._restart_kernel()
        self._replay(index)
        return cell, self.resources

    def _restart_kernel(self):
        """Replace the dead kernel and its client by new ones."""
        self._cleanup_kernel()
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()

    def _replay(self, stop):
        """Re-run the code cells before ``stop`` on copies (outputs discarded)."""
        for i in range(stop):
            original = self.nb.cells[i]
            if original.cell_type != "code":
                continue
            self.execute_cell(copy.deepcopy(original), i, store_history=True)


class HideHiddenTests(NbGraderPreprocessor):
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
