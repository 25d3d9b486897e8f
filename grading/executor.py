"""Execute a student's notebook in a sandboxed kernel, with limits that cannot be dodged.

The kernel runs inside :class:`grading.sandbox.Sandbox` and talks to the grader
over Unix sockets (``transport="ipc"``) in a directory shared with the
sandbox: the kernel has no network namespace in common with the grader.

Limits (each a configurable trait with a default in ``nbgrader_config.py``):

* a wall-clock limit per cell; a cell that runs past it (even one that ignores
  SIGINT) gets its kernel killed, not interrupted;
* a wall-clock limit for the whole notebook, restarts and replays included;
* a cap on kernel restarts (after a death or a timeout the kernel is
  restarted and the cells above are replayed, at most ``max_kernel_restarts``
  times; after that the remaining cells are not run);
* a cap on the output one cell may produce (the rest is dropped with a note).

What happened (timeouts, deaths, limits hit) is recorded in the cell where it
happened, as an error output with a plain-language message, and returned in
:class:`NotebookRun` for the judge and the class report.

After the last cell the named results (``mu``, ``sigma``, ...) are exported
from the kernel to an ``.npz`` file (no pickles) for the judge: see
:func:`load_claims`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Any as AnyTrait
from traitlets import Int, Unicode
from traitlets.config import LoggingConfigurable

from .failures import DOCTOR_FIX, NotGradable
from .sandbox import Sandbox

__all__ = ["NotebookExecutor", "NotebookRun", "load_claims", "MAX_CLAIM_BYTES"]

#: The largest export file the judge reads (two 10 x 784 x 784 float64 arrays and change).
MAX_CLAIM_BYTES = 400 * 2**20

_EXPORT_CODE = r'''
def __gm_export(names, path):
    import json as _json
    import numpy as _np
    meta, arrays = {}, {}
    namespace = globals()
    for name in names:
        if name not in namespace:
            meta[name] = {"status": "missing"}
            continue
        value = namespace[name]
        info = {"type": type(value).__name__}
        try:
            if isinstance(value, dict):
                keys = sorted(value)
                info["keys"] = [repr(k) for k in keys]
                value = [value[k] for k in keys]
            array = _np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise TypeError(f"not numbers (dtype {array.dtype})")
            arrays[name] = array
            info["status"] = "ok"
        except Exception as exc:
            info["status"] = "unreadable"
            info["error"] = f"{type(exc).__name__}: {exc}"[:300]
        meta[name] = info
    _np.savez(path + ".npz", **arrays)
    with open(path + ".json", "w") as f:
        _json.dump(meta, f)
__gm_export(%r, %r)
del __gm_export
'''


@dataclass
class NotebookRun:
    """What executing one notebook produced."""

    nb: NotebookNode
    seconds: float = 0.0
    events: list = field(default_factory=list)  # plain-language lines: timeouts, deaths, limits
    limits_hit: list = field(default_factory=list)  # subset of events that are limits
    restarts: int = 0
    cells_not_run: list = field(default_factory=list)  # indices
    claims_path: str | None = None


class _SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel process starts inside a sandbox."""

    sandbox = AnyTrait()
    io_dir = Unicode()
    student_root = Unicode()
    handle = AnyTrait(None, allow_none=True)
    sandbox_env = AnyTrait(None, allow_none=True)

    def format_kernel_cmd(self, extra_arguments=None):
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file, *(extra_arguments or [])]
        cmd, self.handle, self.sandbox_env = self.sandbox.launch(argv, self.io_dir, self.student_root)
        return cmd

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.sandbox_env is not None:  # bubblewrap sets the environment itself (--clearenv, --setenv)
            kw["env"] = self.sandbox_env
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.handle is not None:
            self.handle.popen = getattr(self.provisioner, "process", None)


class _StderrTail:
    """A pipe for a kernel's stderr that keeps its first bytes (bubblewrap's or Python's own error)."""

    LIMIT = 16384

    def __init__(self):
        self.read_fd, self.write_fd = os.pipe()
        self.data = b""
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        try:
            while True:
                chunk = os.read(self.read_fd, 65536)
                if not chunk:
                    break
                if len(self.data) < self.LIMIT:
                    self.data += chunk[: self.LIMIT - len(self.data)]
        finally:
            os.close(self.read_fd)

    def close_writer(self):
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def last_line(self, wait: float = 2.0) -> str:
        self.thread.join(wait)
        lines = [line.strip() for line in self.data.decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""


class _LimitedClient(NotebookClient):
    """nbclient with a cap on the output bytes one cell may produce."""

    max_output_bytes = Int(2 * 2**20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._output_bytes = {}

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used + size > self.max_output_bytes:
            if used <= self.max_output_bytes:
                outs.append(NotebookNode(
                    output_type="stream", name="stdout",
                    text=f"\n[The grader dropped the rest of this cell's output: more than "
                         f"{self.max_output_bytes // 1024} KiB.]\n",
                ))
            return None
        return super().output(outs, msg, display_id, cell_index)


def _error_output(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class NotebookExecutor(LoggingConfigurable):
    """Runs a notebook top to bottom in a sandboxed kernel."""

    cell_timeout = Int(600, help="Seconds one cell may run before its kernel is killed.").tag(config=True)
    notebook_timeout = Int(
        2400, help="Seconds the whole notebook may take, restarts and replays included."
    ).tag(config=True)
    max_kernel_restarts = Int(
        2, help="Kernel restarts (after a death or a cell timeout) allowed per notebook."
    ).tag(config=True)
    max_output_bytes = Int(2 * 2**20, help="Output bytes one cell may produce; the rest is dropped.").tag(config=True)
    startup_timeout = Int(120, help="Seconds allowed for a kernel to start.").tag(config=True)
    start_attempts = Int(
        2,
        help="Attempts at starting a notebook's first kernel before the submission is not gradable. No student "
             "code has run yet, so a second attempt costs nothing but time and rides out a passing fault of the "
             "machine (a load spike, a race in the grader); a set-up that cannot work fails every attempt.",
    ).tag(config=True)
    export_timeout = Int(120, help="Seconds allowed to export the results after the last cell.").tag(config=True)

    def __init__(self, sandbox: Sandbox, **kwargs):
        super().__init__(**kwargs)
        self.sandbox = sandbox

    # -- kernel lifecycle ---------------------------------------------------------------
    def _start(self, client: _LimitedClient, io_dir: str, student_root: str) -> _SandboxedKernelManager:
        km = _SandboxedKernelManager(
            sandbox=self.sandbox, io_dir=io_dir, student_root=student_root,
            transport="ipc", ip=os.path.join(io_dir, "kernel"),
            connection_file=os.path.join(io_dir, "kernel.json"),
            kernel_name="python3",
        )
        client.km = km
        client.kc = None
        stderr = _StderrTail()
        self._stderr = stderr
        try:
            client.start_new_kernel(cwd="/" if self.sandbox.enabled else io_dir,
                                    stdout=subprocess.DEVNULL, stderr=stderr.write_fd, stdin=subprocess.DEVNULL)
        finally:
            stderr.close_writer()
        client.start_new_kernel_client()
        return km

    def _first_start(self, client: _LimitedClient, io_dir: str, student_root: str) -> _SandboxedKernelManager:
        """Start the notebook's first kernel; raise NotGradable when it cannot start.

        No student code has run yet: a kernel that dies before its first reply
        is the grader's failure (a sandbox that hides the interpreter, a
        bubblewrap error, a missing package), never the student's.
        """
        attempts = max(1, self.start_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return self._start(client, io_dir, student_root)
            except Exception as exc:  # noqa: BLE001
                self._stop(client, client.km)
                tail = self._stderr.last_line() if getattr(self, "_stderr", None) else ""
                why = f"{type(exc).__name__}: {exc}" + (f"; its last error line: {tail}" if tail else "")
                if attempt < attempts:
                    self.log.warning("the sandboxed kernel could not be started (%s); attempt %d of %d",
                                     why, attempt + 1, attempts)
                    time.sleep(1)
                    continue
                tried = f"; {attempts} attempts" if attempts > 1 else ""
                raise NotGradable(f"the sandboxed kernel could not be started ({why}{tried})", DOCTOR_FIX) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _stop(self, client: _LimitedClient, km: _SandboxedKernelManager | None) -> list[str]:
        """Kill the kernel's sandbox; return the limits it hit."""
        if km is None:
            return []
        handle = km.handle
        try:
            if client.kc is not None:
                client.kc.stop_channels()
        except Exception:  # noqa: BLE001 - the kernel may be half gone
            pass
        client.kc = None
        if handle is not None:
            handle.stop()
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001
            pass
        try:
            run_sync(km.cleanup_resources)()
        except Exception:  # noqa: BLE001
            pass
        hit = handle.limits_hit() if handle is not None else []
        if handle is not None:
            handle.release()
        return hit

    # -- the run ------------------------------------------------------------------------
    def run(self, nb: NotebookNode, io_dir: str, student_root: str, export_names: list[str]) -> NotebookRun:
        """Execute ``nb`` in place; export ``export_names`` to ``io_dir/claims.npz``.

        Raises
        ------
        NotGradable
            When the first kernel cannot start (before any cell has run).
        """
        start = time.monotonic()
        deadline = start + self.notebook_timeout
        result = NotebookRun(nb=nb)
        client = _LimitedClient(
            nb, timeout=self.cell_timeout, allow_errors=True, interrupt_on_timeout=False,
            startup_timeout=self.startup_timeout, kernel_name="python3", record_timing=False,
            extra_arguments=["--HistoryManager.hist_file=:memory:", "--HistoryManager.enabled=False"],
        )
        client.max_output_bytes = self.max_output_bytes
        client.reset_execution_trackers()
        code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        km = self._first_start(client, io_dir, student_root)
        position = 0
        while km is not None and position < len(code_cells):
            index = code_cells[position]
            cell = nb.cells[index]
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                break
            client.timeout = max(1, int(min(self.cell_timeout, remaining)))
            problem = None
            try:
                client.execute_cell(cell, index, store_history=True)
            except CellTimeoutError:
                if client.timeout < self.cell_timeout:
                    problem = (f"This cell was stopped: the notebook reached its time limit of "
                               f"{self.notebook_timeout} s.")
                else:
                    problem = f"This cell was stopped after the limit of {self.cell_timeout} s per cell."
            except DeadKernelError:
                problem = "The kernel died while this cell ran (a crash, os._exit, or a limit)."
            except Exception as exc:  # noqa: BLE001 - e.g. the kernel vanished between polls
                problem = f"The kernel stopped answering while this cell ran ({type(exc).__name__})."
            if problem is None:
                position += 1
                continue
            hit = self._stop(client, km)
            km = None
            if hit:
                problem += " Limit reached: " + "; ".join(hit) + "."
                result.limits_hit += hit
            cell.outputs.append(_error_output("GraderLimit" if hit or "limit" in problem else "DeadKernelError", problem))
            result.events.append(f"cell {index}: {problem}")
            position += 1
            if result.restarts >= self.max_kernel_restarts:
                result.events.append(
                    f"The kernel was restarted {result.restarts} times already (the limit); the cells after "
                    f"cell {index} were not run."
                )
                break
            if deadline - time.monotonic() <= 1:
                break
            result.restarts += 1
            km = self._restart_and_replay(client, nb, code_cells[:position - 1], io_dir, student_root, deadline, result)
        result.cells_not_run = [i for i in code_cells[position:]]
        if result.cells_not_run and time.monotonic() >= deadline - 1:
            result.events.append(
                f"The notebook reached its time limit of {self.notebook_timeout} s; "
                f"{len(result.cells_not_run)} code cells were not run."
            )
        for i in result.cells_not_run:
            nb.cells[i].outputs = [_error_output("GraderLimit", "The grader did not run this cell: "
                                                 + (result.events[-1] if result.events else "the kernel was gone."))]
        if km is not None:
            result.claims_path = self._export(client, io_dir, export_names, deadline)
            result.limits_hit += self._stop(client, km)
        result.seconds = time.monotonic() - start
        return result

    def _restart_and_replay(self, client, nb, replay, io_dir, student_root, deadline, result):
        """A new kernel with the cells in ``replay`` run again (outputs discarded)."""
        import copy

        km = None
        try:
            km = self._start(client, io_dir, student_root)
            for i in replay:
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    raise CellTimeoutError("notebook time limit")
                client.timeout = max(1, int(min(self.cell_timeout, remaining)))
                client.execute_cell(copy.deepcopy(nb.cells[i]), i, store_history=True)
            return km
        except Exception as exc:  # noqa: BLE001
            hit = self._stop(client, km)
            result.limits_hit += hit
            result.events.append(
                f"Re-running the cells above in a new kernel failed ({type(exc).__name__}); the remaining cells "
                "were not run."
            )
            return None

    def _export(self, client, io_dir, names, deadline) -> str | None:
        path = os.path.join(io_dir, "claims")
        code = _EXPORT_CODE % (list(names), path)
        try:
            msg_id = client.kc.execute(code, store_history=False, silent=True)
            client.timeout = self.export_timeout
            client.wait_for_reply(msg_id)
        except Exception:  # noqa: BLE001
            return None
        return path if os.path.exists(path + ".json") else None


def load_claims(path: str | None, names: list[str]) -> tuple[dict, dict]:
    """Read the exported results: ``({name: ndarray}, {name: info})``.

    ``info`` has ``status`` ("ok", "missing", "unreadable", "absent": no export at
    all) and ``type`` (the Python type name in the student's kernel).  Nothing is
    unpickled; files larger than MAX_CLAIM_BYTES are not read.
    """
    arrays, info = {}, {name: {"status": "absent"} for name in names}
    if path is None:
        return arrays, info
    try:
        if os.path.getsize(path + ".json") > 2**20 or os.path.getsize(path + ".npz") > MAX_CLAIM_BYTES:
            return arrays, info
        meta = json.loads(Path(path + ".json").read_text())
        with np.load(path + ".npz", allow_pickle=False) as data:
            for name in names:
                entry = meta.get(name) if isinstance(meta, dict) else None
                if not isinstance(entry, dict):
                    continue
                info[name] = {k: entry[k] for k in ("status", "type", "error", "keys") if k in entry}
                if entry.get("status") == "ok" and name in data.files:
                    array = data[name]
                    if array.dtype.kind in "biuf":
                        arrays[name] = array
                    else:
                        info[name] = {"status": "unreadable", "error": f"dtype {array.dtype}"}
    except (OSError, ValueError, KeyError, TypeError):
        return {}, {name: {"status": "absent"} for name in names}
    return arrays, info
