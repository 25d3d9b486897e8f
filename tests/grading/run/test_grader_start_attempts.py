"""A kernel or probe that fails to start once is started again; one that never starts is not gradable.

No student code runs before a kernel's first reply or a probe's first line,
so a failed start is the grader's (a load spike, a race), never the
student's. Each test uses the real sandbox (the layer ``auto`` chooses here)
with a launch that fails the first ``n`` times: the command is replaced by an
interpreter that exits at once, as a kernel does whose environment is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from grading.run.executor import NotebookExecutor  # noqa: E402
from grading.failures import NotGradable  # noqa: E402
from grading.run.probe import Probe, ProbeCall  # noqa: E402
from grading.sandbox.layers import Sandbox  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

DIES = [sys.executable, "-c", "import sys; sys.exit(3)"]


class FailingFirst(Sandbox):
    """A sandbox whose first ``failures`` launches run a command that dies before it starts."""

    def __init__(self, failures: int, **kwargs):
        super().__init__(**kwargs)
        self.failures = failures
        self.launches = 0

    def launch(self, argv, io_dir, student_root, env_extra=None, **kwargs):
        self.launches += 1
        if self.launches <= self.failures:
            argv = DIES
        return super().launch(argv, io_dir, student_root, env_extra, **kwargs)


def _notebook(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def view(tmp_path):
    lib = tmp_path / "view" / "lib"
    lib.mkdir(parents=True)
    (lib / "gm_probe_runner.py").write_text((ROOT / "grading" / "run" / "probe_runner.py").read_text())
    np.savez(tmp_path / "view" / "inputs.npz", a=np.arange(4.0))
    np.savez(tmp_path / "view" / "moments.npz", covariances=np.eye(2)[None])
    return str(tmp_path / "view")


def _execute(sandbox, tmp_path, view):
    io_dir = tmp_path / "io"
    io_dir.mkdir()
    nb = _notebook("x = 6 * 7\nprint(x)")
    run = NotebookExecutor(sandbox, startup_timeout=60).run(nb, str(io_dir), view, [])
    return nb, run


def test_a_kernel_that_fails_to_start_once_is_started_again_and_the_notebook_runs(tmp_path, view):
    sandbox = FailingFirst(1)
    nb, run = _execute(sandbox, tmp_path, view)
    assert sandbox.launches == 2
    assert "42" in "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert run.events == [] and run.restarts == 0  # the student sees nothing of it


def test_a_kernel_that_never_starts_is_not_gradable_after_every_attempt(tmp_path, view):
    sandbox = FailingFirst(99)
    with pytest.raises(NotGradable, match=r"kernel could not be started .*2 attempts"):
        _execute(sandbox, tmp_path, view)
    assert sandbox.launches == 2


def _probe(sandbox, tmp_path, view):
    io_dir = tmp_path / "probe-io"
    io_dir.mkdir()
    cells = [(0, "def double(a):\n    return 2 * a\n")]
    calls = [ProbeCall("one", "double", [{"kind": "array", "name": "a"}])]
    return Probe(sandbox).run(cells, calls, str(io_dir), view)


def test_a_probe_that_dies_before_its_first_line_once_is_started_again(tmp_path, view):
    sandbox = FailingFirst(1)
    results = _probe(sandbox, tmp_path, view)
    assert sandbox.launches == 2
    assert results["one"].status == "returned" and results["one"].items[0].tolist() == [0, 2, 4, 6]


def test_a_probe_that_never_starts_is_not_gradable_after_every_attempt(tmp_path, view):
    sandbox = FailingFirst(99)
    with pytest.raises(NotGradable, match=r"probe process died before it started .*2 attempts"):
        _probe(sandbox, tmp_path, view)
    assert sandbox.launches == 2
