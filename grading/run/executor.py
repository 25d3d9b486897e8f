"""Execute a student's notebook in a sandboxed kernel, with limits that cannot be dodged.

The kernel runs inside :class:`grading.sandbox.layers.Sandbox` and talks to the grader
over Unix sockets (``transport="ipc"``) that it makes in its own private
``/tmp`` (the grader reaches them from outside, see
:meth:`grading.sandbox.layers.SandboxProcess.outside`): the kernel has no network
namespace in common with the grader, and no folder it can write is seen by
another sandbox or by the grader's files.  Its connection file is shown to it
read-only.

Limits (each a configurable trait with a default in ``nbgrader_config.py``):

* a wall-clock limit per cell, measured against the reference solution: a
  cell may take ``cell_time_factor`` times the reference's time for the same
  cell (matched by nbgrader's grade id) plus ``cell_time_floor`` seconds, and
  never more than ``cell_timeout``; a cell the reference does not have (one
  the student added) gets the allowance of the reference's slowest cell.  A
  cell that runs past its limit (even one that ignores SIGINT) gets its
  kernel killed, not interrupted.  Without the reference's times
  (``reference_cell_seconds`` empty, as under plain ``nbgrader autograde``)
  every cell gets ``cell_timeout``: see :mod:`grading.batch.cell_times`;
* a wall-clock limit for the whole notebook, restarts and replays included;
* a cap on kernel restarts (after a death or a timeout the kernel is
  restarted and the cells above are replayed, at most ``max_kernel_restarts``
  times; after that the remaining cells are not run);
* a cap on the output one cell may produce, and on the output of the whole
  notebook (the rest is dropped with a note).

What happened (timeouts, deaths, limits hit) is recorded in the cell where it
happened, as an error output with a plain-language message, and returned in
:class:`NotebookRun` for the judge and the class report.

After the last cell the named results (``mu``, ``sigma``, ...) are exported
from the kernel as an ``.npz`` archive (no pickles) through a pipe that the
kernel inherits; the grader spools it, with a size limit, into its private
folder and parses it with :mod:`grading.run.intake` once the kernel is gone: see
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

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Any as AnyTrait
from traitlets import Dict, Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from grading.failures import DOCTOR_FIX, NotGradable
from grading.run.intake import MAX_ARRAY_BYTES, FrameReader, IntakeError, claims_meta, read_npz
from grading.sandbox.layers import Sandbox
from grading.run.time_limits import scaled_limit

__all__ = ["NotebookExecutor", "NotebookRun", "load_claims", "MAX_CLAIM_BYTES"]

#: The most array bytes of the export the judge reads (two 10 x 784 x 784 float64 arrays are 98 MB).
MAX_CLAIM_BYTES = 256 * 2**20

_EXPORT_CODE = r'''
def __gm_export(names, fd, token):
    import io as _io
    import json as _json
    import os as _os
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
    archive = _io.BytesIO()
    _np.savez(archive, **arrays)
    body, data = _json.dumps(meta).encode(), archive.getvalue()
    for part in (f"\nframe claims {token} {len(body)} {len(data)}\n".encode(), body, data):
        view = memoryview(part)
        while view:
            view = view[_os.write(fd, view):]
__gm_export(%r, %d, %r)
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
    cell_seconds: dict = field(default_factory=dict)  # grade id (or "#index") -> seconds, cells that finished
    claims_path: str | None = None  # the export, in the grader's private folder (see load_claims)


class _SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel process starts inside a sandbox."""

    sandbox = AnyTrait()
    io_dir = Unicode()  # the grader's folder of the connection file, shown read-only
    student_root = Unicode()
    handle = AnyTrait(None, allow_none=True)
    sandbox_env = AnyTrait(None, allow_none=True)
    export_fd = AnyTrait(None, allow_none=True)  # the write end of the export's pipe, inherited by the kernel

    def format_kernel_cmd(self, extra_arguments=None):
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file, *(extra_arguments or [])]
        cmd, self.handle, self.sandbox_env = self.sandbox.launch(argv, self.io_dir, self.student_root,
                                                                 handle=self.handle)
        return cmd

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.sandbox_env is not None:  # bubblewrap sets the environment itself (--clearenv, --setenv)
            kw["env"] = self.sandbox_env
        extra = self.handle.pass_fds() if self.handle is not None else ()
        kw["pass_fds"] = tuple(kw.get("pass_fds", ())) + extra + ((self.export_fd,) if self.export_fd else ())
        inside = self.ip
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.handle is not None:
            self.handle.popen = getattr(self.provisioner, "process", None)
            self.handle.started()
            # The kernel binds its sockets in its private /tmp; the grader connects from outside.
            self.ip = self.handle.outside(inside)


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
    """nbclient with caps on the output bytes one cell, and the whole notebook, may produce."""

    max_output_bytes = Int(2 * 2**20)
    max_notebook_output_bytes = Int(16 * 2**20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._output_bytes = {}
        self._notebook_bytes = 0
        self._noted = set()

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(json.dumps(content, default=str)) if isinstance(content, dict) else 0
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        self._notebook_bytes += size
        if used + size > self.max_output_bytes or self._notebook_bytes > self.max_notebook_output_bytes:
            if cell_index not in self._noted:
                self._noted.add(cell_index)
                if used + size > self.max_output_bytes:
                    why = f"more than {self.max_output_bytes // 1024} KiB in this cell"
                else:
                    why = f"the notebook's output reached {self.max_notebook_output_bytes // 2**20} MiB"
                outs.append(NotebookNode(
                    output_type="stream", name="stdout",
                    text=f"\n[The grader dropped the rest of this cell's output: {why}.]\n",
                ))
            return None
        return super().output(outs, msg, display_id, cell_index)


def _error_output(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class NotebookExecutor(LoggingConfigurable):
    """Runs a notebook top to bottom in a sandboxed kernel."""

    cell_timeout = Int(
        600, help="The most seconds any cell may run before its kernel is killed, whatever the reference took."
    ).tag(config=True)
    cell_time_factor = Float(
        10.0,
        help="A cell may run this many times the reference solution's time for the same cell (plus "
             "cell_time_floor), at most cell_timeout. 0 gives every cell cell_timeout.",
    ).tag(config=True)
    cell_time_floor = Int(
        120, help="Seconds every cell may run whatever the reference took (added to the reference's time times "
                 "cell_time_factor)."
    ).tag(config=True)
    reference_cell_seconds = Dict(
        help="The reference solution's seconds per cell, {grade id: seconds}, measured on this machine "
             "(python -m grading autograde measures them once per course and fills this in; see "
             "grading.batch.cell_times). Empty: every cell gets cell_timeout."
    ).tag(config=True)
    notebook_timeout = Int(
        2400, help="Seconds the whole notebook may take, restarts and replays included."
    ).tag(config=True)
    max_kernel_restarts = Int(
        2, help="Kernel restarts (after a death or a cell timeout) allowed per notebook."
    ).tag(config=True)
    max_output_bytes = Int(2 * 2**20, help="Output bytes one cell may produce; the rest is dropped.").tag(config=True)
    max_notebook_output_bytes = Int(
        16 * 2**20,
        help="Output bytes the whole notebook may produce (what the gradebook, the formgrader and the feedback "
             "hold); the rest of every cell is dropped with a note.",
    ).tag(config=True)
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

    def cell_limit(self, cell) -> tuple[int, str]:
        """Seconds ``cell`` may run, and the plain-language rule that gave them (see :mod:`grading.run.time_limits`)."""
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        seconds, base, matched = scaled_limit(self.reference_cell_seconds, grade_id, self.cell_time_factor,
                                              self.cell_time_floor, self.cell_timeout)
        if base is None or seconds >= self.cell_timeout:
            return self.cell_timeout, f"the limit of {self.cell_timeout} s per cell"
        whose = (f"the reference solution's time for this cell ({base:.1f} s)" if matched else
                 f"the reference solution's slowest cell ({base:.1f} s; the reference has no cell like this one)")
        return seconds, (f"the limit of {seconds} s for this cell: {self.cell_time_factor:g} times {whose} "
                         f"plus {self.cell_time_floor} s")

    # -- kernel lifecycle ---------------------------------------------------------------
    def _start(self, client: _LimitedClient, io_dir: str, student_root: str) -> _SandboxedKernelManager:
        shown = os.path.join(io_dir, "in")  # the connection file: shown to the kernel read-only
        os.makedirs(shown, exist_ok=True)
        handle = self.sandbox.prepare()
        km = _SandboxedKernelManager(
            sandbox=self.sandbox, io_dir=shown, student_root=student_root, handle=handle,
            transport="ipc", ip=os.path.join(handle.inside_tmp, "kernel"),
            connection_file=os.path.join(shown, "kernel.json"),
            kernel_name="python3", export_fd=self._export_write,
        )
        client.km = km
        client.kc = None
        stderr = _StderrTail()
        self._stderr = stderr
        try:
            client.start_new_kernel(cwd="/" if self.sandbox.enabled else os.path.join(handle.scratch, "home"),
                                    stdout=subprocess.DEVNULL, stderr=stderr.write_fd, stdin=subprocess.DEVNULL)
        except BaseException:
            # A kernel that never answered: stop whatever of it started (the callers have no km to stop).
            handle.release()
            raise
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
            except Exception as exc:
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
        spool = os.path.join(io_dir, "spool")  # the grader's own: never shown to a sandbox
        os.makedirs(spool, mode=0o700, exist_ok=True)
        drain = _ExportDrain(spool)
        self._export_write = drain.write_fd
        try:
            self._run(nb, io_dir, student_root, export_names, result, deadline, drain)
        finally:
            drain.close_writer()
            drain.join(30)
            self._export_write = None
        if drain.token is not None:
            result.claims_path = drain.claims(spool)
        drain.discard()
        result.seconds = time.monotonic() - start
        return result

    def _run(self, nb, io_dir, student_root, export_names, result, deadline, drain) -> None:
        client = _LimitedClient(
            nb, timeout=self.cell_timeout, allow_errors=True, interrupt_on_timeout=False,
            startup_timeout=self.startup_timeout, kernel_name="python3", record_timing=False,
            extra_arguments=["--HistoryManager.hist_file=:memory:", "--HistoryManager.enabled=False"],
        )
        client.max_output_bytes = self.max_output_bytes
        client.max_notebook_output_bytes = self.max_notebook_output_bytes
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
            limit, rule = self.cell_limit(cell)
            client.timeout = max(1, int(min(limit, remaining)))
            problem = None
            began = time.monotonic()
            try:
                client.execute_cell(cell, index, store_history=True)
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"#{index}"
                result.cell_seconds[grade_id] = round(time.monotonic() - began, 3)
            except CellTimeoutError:
                if client.timeout < limit:
                    problem = (f"This cell was stopped: the notebook reached its time limit of "
                               f"{self.notebook_timeout} s.")
                else:
                    problem = f"This cell was stopped after {rule}."
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
            self._export(client, drain, export_names)
            result.limits_hit += self._stop(client, km)

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
                client.timeout = max(1, int(min(self.cell_limit(nb.cells[i])[0], remaining)))
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

    def _export(self, client, drain, names) -> None:
        """Ask the kernel to send the named results down the export pipe (read by ``drain``)."""
        drain.token = os.urandom(8).hex()
        code = _EXPORT_CODE % (list(names), self._export_write, drain.token)
        try:
            msg_id = client.kc.execute(code, store_history=False, silent=True)
            client.timeout = self.export_timeout
            client.wait_for_reply(msg_id)
        except Exception:  # noqa: BLE001 - no reply in time: whatever arrived is judged
            return


class _ExportDrain:
    """Reads the export pipe of every kernel of one notebook into the grader's private folder.

    Keeps only a frame ``claims <token>`` (the export's, once asked for);
    every other byte is dropped within the limits of :class:`FrameReader`.
    """

    def __init__(self, folder: str):
        self.read_fd, self.write_fd = os.pipe()
        self.token: str | None = None
        self.frame = None  # (json bytes, spool) of the export
        self.problem: str | None = None
        self._reader = FrameReader(folder, max_npz=MAX_CLAIM_BYTES + 2**20)
        self.thread = threading.Thread(target=self._drain, name="export-drain", daemon=True)
        self.thread.start()

    def _drain(self):
        try:
            while True:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    break
                for event in self._reader.feed(chunk):
                    if event[0] == "line":
                        continue
                    mine = self.token is not None and event[1] == "claims" and event[2] == self.token
                    if event[0] == "oversized":
                        if mine:
                            self.problem = event[3]
                        continue
                    if mine and self.frame is None:
                        self.frame = (event[3], event[4])
                    else:
                        event[4].close()
        finally:
            self._reader.close()
            os.close(self.read_fd)

    def close_writer(self):
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def join(self, timeout: float):
        self.thread.join(timeout)

    def claims(self, folder: str) -> str | None:
        """Where the export's frame was put for :func:`load_claims` (its JSON, then a file of the archive)."""
        if self.thread.is_alive():
            return None  # the pipe never ended: nothing is read
        if self.frame is None:
            if self.problem is None:
                return None
            path = os.path.join(folder, "claims.problem")
            Path(path).write_text(self.problem)
            return path
        body, spool = self.frame
        path = os.path.join(folder, "claims")
        Path(path + ".json").write_bytes(body)
        spool.keep_as(path + ".npz")
        self.frame = None
        return path

    def discard(self):
        """Remove an export frame that was not handed to :func:`load_claims`."""
        if self.frame is not None:
            self.frame[1].close()
            self.frame = None


def load_claims(path: str | None, names: list[str]) -> tuple[dict, dict]:
    """Read the exported results: ``({name: ndarray}, {name: info})``.

    ``info`` has ``status`` ("ok", "missing", "unreadable", "absent": no export at
    all) and ``type`` (the Python type name in the student's kernel).  Nothing is
    unpickled; sizes are checked before reading (:mod:`grading.run.intake`).  A
    malformed export makes every name ``unreadable`` with the reason, which
    fails the checks that need it.
    """
    arrays, info = {}, {name: {"status": "absent"} for name in names}
    if path is None:
        return arrays, info
    if path.endswith(".problem"):
        why = Path(path).read_text()[:300]
        return arrays, {name: {"status": "unreadable", "error": why} for name in names}
    try:
        info.update(claims_meta(Path(path + ".json").read_bytes(), names))
        wanted = {name for name in names if info[name].get("status") == "ok"}
        with open(path + ".npz", "rb") as f:
            found = read_npz(f, wanted, max_array_bytes=MAX_ARRAY_BYTES, max_total_bytes=MAX_CLAIM_BYTES)
    except (IntakeError, OSError) as exc:
        why = f"your notebook's exported results could not be read: {exc}"[:300]
        return {}, {name: {"status": "unreadable", "error": why} for name in names}
    refused = set(found.pop("__refused__", []))
    for name in wanted:
        if name in found:
            arrays[name] = found[name]
        elif name in refused:
            info[name] = {"status": "unreadable", "error": "not an array of numbers"}
        else:
            info[name] = {"status": "unreadable", "error": "the exported results lack it"}
    return arrays, info
