"""The probe: call a student's functions in a fresh sandbox where the test set does not exist.

The probe is a new process, never the notebook's kernel: nothing the notebook
cached, patched or read can reach it.  It sees the student package without
gradedlib's model and selection code, the training set, and the inputs the
grader chose; the test set is absent from its file system.

It re-creates the student's functions from the notebook: every code cell's
top-level imports, ``def`` and ``class`` statements, and assignments that call
no function of the notebook (constants such as a grid of candidates).  Other
top-level statements (loading data, fitting, plotting) are not run.  The
assignment tells students to keep what their functions need in such
definitions.

Each call has a time limit; a call that runs past it, or kills its process,
costs that call only: the probe restarts (at most ``max_restarts`` times) and
goes on with the next call.

The probe shares no writable folder with anything: its plan is shown
read-only, it writes only to its own private tmpfs, and its results come back
through a pipe, parsed by :mod:`grading.run.intake` with limits checked before
anything is allocated.  What the student's function writes to that pipe
itself (a forged record, a huge declared length) is judged as that call's
result, never trusted.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# Imported here, in the thread that imports this module, never lazily: the probe runs in a thread
# beside the kernel's start, which imports IPython too (jupyter_client's kernel spec paths), and
# IPython's circular imports are not thread-safe (_DeadlockError, a partly initialised module,
# KeyError: 'IPython'): a submission was once reported not gradable for it.
from IPython.core.inputtransformer2 import TransformerManager
from traitlets import Dict, Float, Int
from traitlets.config import LoggingConfigurable

from grading.failures import DOCTOR_FIX, NotGradable
from grading.run.intake import MAX_ARRAY_BYTES, FrameReader, IntakeError, probe_record, read_npz
from grading.sandbox.layers import Sandbox
from grading.run.time_limits import scaled_limit

__all__ = ["PROBE_RUNNER", "Probe", "ProbeCall", "ProbeResult", "definitions_of", "standard_calls"]

#: The script that runs inside the probe's sandbox (copied there by :func:`grading.judge.references.prepare`).
PROBE_RUNNER = Path(__file__).with_name("probe_runner.py")

@dataclass
class ProbeCall:
    """One call of a student's function: ``function(*args)``; see probe_runner for arg kinds."""

    id: str
    function: str
    args: list
    timeout: int | None = None


@dataclass
class ProbeResult:
    """What one call gave: ``status`` returned/raised/undefined/timeout/crashed/not-run."""

    status: str
    items: list = field(default_factory=list)  # arrays (None where unreadable)
    info: dict = field(default_factory=dict)
    seconds: float | None = None  # the call's time as the grader measured it (calls that finished)

    @property
    def message(self) -> str:
        return self.info.get("error", "")


class _DiedBeforeStart(NotGradable):
    """A probe process died before its first line: no student code ran (:meth:`Probe.run` tries again)."""


def _transform(source: str) -> str:
    """IPython syntax (magics, ``!cmd``) to plain Python, as the kernel would see it."""
    return TransformerManager().transform_cell(source)


_SAFE_CALLABLES = set(dir(builtins)) - {"open", "exec", "eval", "compile", "input", "__import__", "breakpoint"}
_SAFE_MODULES = {"functools", "itertools", "operator", "math", "collections", "typing", "dataclasses", "enum"}


def _callee_root(func: ast.AST) -> tuple[str | None, bool]:
    """(root name, whether the callee is an attribute chain) of a call's function."""
    chain = False
    while isinstance(func, ast.Attribute):
        func, chain = func.value, True
    return (func.id if isinstance(func, ast.Name) else None), chain


def _cheap_value(value: ast.AST, modules: set[str], safe_names: set[str]) -> bool:
    """True when every call in ``value`` is a module function (``np.logspace``), a builtin, or a
    function-building helper (``functools.partial``): a constant, not a computation on data."""
    for node in ast.walk(value):
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(node, ast.Call):
            root, chain = _callee_root(node.func)
            if root is None:
                return False
            if chain and root in modules:
                continue
            if not chain and root in safe_names:
                continue
            return False
    return True


def definitions_of(cells: list[tuple[int, str]]) -> tuple[list[str], list[int]]:
    """The top-level definitions of code cells, in order: (statements, cell index of each).

    Kept: imports, ``def``/``class``, and assignments whose value is a constant
    built by module functions, builtins or functools-style helpers (for example
    ``GRID = np.logspace(0, 6, 25)`` or ``fast = partial(fit, k=10)``).  Left out:
    everything else (loading data, fitting, plotting, loops, magics), which may
    be slow and which the functions must not depend on.
    """
    statements, origin = [], []
    modules: set[str] = set()  # names bound to modules by ``import``
    safe_names = set(_SAFE_CALLABLES)
    for index, source in cells:
        try:
            tree = ast.parse(_transform(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in tree.body:
            keep = False
            if isinstance(node, ast.Import):
                keep = True
                modules |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                keep = True
                for alias in node.names:
                    name = alias.asname or alias.name
                    if (node.module or "").split(".")[0] in _SAFE_MODULES:
                        safe_names.add(name)
                    else:
                        modules.add(name)  # from scipy import linalg: attribute calls only
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                keep = True
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                keep = _cheap_value(node.value, modules, safe_names)
            if keep:
                try:
                    statements.append(ast.unparse(node))
                    origin.append(index)
                except (ValueError, RecursionError):
                    continue
    return statements, origin


def standard_calls() -> list[ProbeCall]:
    """The calls the judge needs, cheapest first (see grading.judge.checks for what each proves)."""
    A = lambda name: {"kind": "array", "name": name}  # noqa: E731
    M = lambda name: {"kind": "moments", "name": name}  # noqa: E731
    S = lambda c, unregularized=(): {"kind": "sigma", "c": c, "unregularized": list(unregularized)}  # noqa: E731
    train = [{"kind": "training", "part": "images"}, {"kind": "training", "part": "labels"}]
    return [
        ProbeCall("predict_small", "predict", [A("x_small_100"), A("small_means"), A("small_sigma"), A("small_priors")]),
        ProbeCall("predict_priors", "predict", [A("x_normal"), A("same_means"), A("same_sigma"), A("skewed_priors")]),
        ProbeCall("predict_det", "predict", [A("x_zero"), A("same_means"), A("scaled_sigma"), A("uniform_priors")]),
        ProbeCall("linalg_small", "predict", [A("x_small_100"), A("small_means"), A("small_sigma0"), A("small_priors")]),
        ProbeCall("linalg_full", "predict", [A("x_check_20"), M("means"), S(0.0), M("priors")]),
        ProbeCall("linalg_one", "predict", [A("x_check_20"), M("means"), S(3000.0, [3]), M("priors")]),
        ProbeCall("predict_ref", "predict", [A("x_check"), M("means"), S(3000.0), M("priors")]),
        ProbeCall("predict_huge", "predict", [A("x_check_1000"), M("means"), S(1e9), M("priors")]),
        ProbeCall("fit_unseen", "fit_generative_model", [A("x_unseen"), A("y_unseen")]),
        ProbeCall("fit_full", "fit_generative_model", train),
        ProbeCall("per_class_full", "fit_generative_model_per_class_c", train),
    ]


class Probe(LoggingConfigurable):
    """Runs the probe calls of one submission in sandboxes."""

    call_timeout = Int(
        600, help="The most seconds one probe call of a student's function may run, whatever the reference took."
    ).tag(config=True)
    call_time_factor = Float(
        10.0,
        help="A probe call may run this many times the reference solution's time for the same call (plus "
             "call_time_floor), at most call_timeout. 0 gives every call call_timeout.",
    ).tag(config=True)
    call_time_floor = Int(
        120, help="Seconds every probe call may run whatever the reference took (added to the reference's time "
                 "times call_time_factor)."
    ).tag(config=True)
    reference_call_seconds = Dict(
        help="The reference solution's seconds per probe call, {call id: seconds}, measured on this machine "
             "(python -m grading autograde measures them once per course and fills this in; see "
             "grading.batch.cell_times). Empty: every call gets call_timeout."
    ).tag(config=True)
    probe_timeout = Int(1800, help="Seconds all probe calls of one submission may take together.").tag(config=True)
    max_restarts = Int(3, help="Probe processes restarted after a call that timed out or crashed.").tag(config=True)
    max_result_bytes = Int(
        256 * 2**20,
        help="Bytes of arrays one probe call may hand back (the assignment's largest, a fitted model, is about "
             "50 MB); a larger result is not read and fails the checks that need it.",
    ).tag(config=True)
    start_attempts = Int(
        2,
        help="Attempts at starting a probe process that dies before its first line (before any student code ran) "
             "before the submission is not gradable: a second attempt rides out a passing fault of the machine.",
    ).tag(config=True)

    _cancel = None

    def __init__(self, sandbox: Sandbox, **kwargs):
        super().__init__(**kwargs)
        self.sandbox = sandbox

    def run(self, cells: list[tuple[int, str]], calls: list[ProbeCall], io_dir: str, probe_view: str,
            cancel=None) -> dict:
        """Run ``calls`` after defining ``cells``; return {call id: ProbeResult}.

        ``cancel`` (a ``threading.Event``) stops the probe when set.  Raises
        :class:`grading.failures.NotGradable` when a probe process dies before
        its first line (before any student code ran), or when cancelled.
        """
        self._cancel = cancel
        statements, origin = definitions_of(cells)
        # ``io_dir`` is the grader's own: ``in`` is shown to the probe read-only, ``spool`` never.
        shown, spool = Path(io_dir) / "in", Path(io_dir) / "spool"
        shown.mkdir(parents=True, exist_ok=True)
        spool.mkdir(parents=True, exist_ok=True)
        os.chmod(spool, 0o700)
        root = self.sandbox.view_path(probe_view)
        plan = {
            "definitions": statements,
            "definition_cells": origin,
            "calls": [{"id": c.id, "function": c.function, "args": c.args} for c in calls],
            "inputs": f"{root}/inputs.npz",
            "moments": f"{root}/moments.npz",
        }
        plan_path = shown / "plan.json"
        plan_path.write_text(json.dumps(plan))
        results: dict = {}
        deadline = time.monotonic() + self.probe_timeout
        start, restarts, failed_starts = 0, 0, 0
        while start < len(calls):
            try:
                stopped_at = self._run_from(start, calls, plan_path, str(spool), probe_view, deadline, results)
            except _DiedBeforeStart as exc:
                failed_starts += 1
                if failed_starts >= max(1, self.start_attempts):
                    raise NotGradable(f"{exc.cause}; {failed_starts} attempts" if failed_starts > 1 else exc.cause,
                                      exc.fix) from exc
                self.log.warning("%s; attempt %d of %d", exc.cause, failed_starts + 1, self.start_attempts)
                time.sleep(1)
                continue
            if stopped_at is None:
                break
            start = stopped_at + 1
            if restarts >= self.max_restarts or time.monotonic() >= deadline:
                for call in calls[start:]:
                    results[call.id] = ProbeResult("not-run", info={"error": "the grader stopped calling your "
                                                   "functions after repeated time-outs or crashes"})
                break
            restarts += 1
        for call in calls:
            results.setdefault(call.id, ProbeResult("not-run", info={"error": "not run"}))
        return results

    def _run_from(self, start, calls, plan_path, spool_dir, probe_view, deadline, results) -> int | None:
        """One probe process from call ``start``; returns the index it stopped at, or None when done."""
        read_fd, write_fd = os.pipe()
        runner = f"{self.sandbox.view_path(probe_view)}/lib/gm_probe_runner.py"
        env_extra = {"MPLBACKEND": "Agg"}
        try:
            handle = self.sandbox.popen(
                [sys.executable, runner, str(plan_path), str(start)], io_dir=str(plan_path.parent),
                student_root=probe_view, env_extra=env_extra, pass_fds=(write_fd, 3), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_dup_to_3(write_fd),
            )
        except OSError as exc:
            os.close(read_fd)
            raise _DiedBeforeStart(f"the sandboxed probe process could not be started ({exc})", DOCTOR_FIX) from exc
        finally:
            os.close(write_fd)
        frames = FrameReader(spool_dir, max_npz=self.max_result_bytes)
        received: dict = {}  # call id -> ProbeResult parsed from its frame
        current = start
        started = False  # the runner's first line: before it, no student code has run
        # Defining the functions counts against the first call's time.
        call_deadline = min(deadline, time.monotonic() + self._timeout(calls[current]) + 60)
        call_started = time.monotonic()
        try:
            while True:
                if self._cancel is not None and self._cancel.is_set():
                    handle.stop()
                    raise NotGradable("the probe was stopped because the notebook could not be graded")
                wait = call_deadline - time.monotonic()
                if wait <= 0:
                    if not started:
                        raise NotGradable(f"the probe process did not start within {self._timeout(calls[current])} s")
                    self._record_failure(calls[current], "timeout", handle, results)
                    return current
                ready, _, _ = select.select([read_fd], [], [], min(wait, 1.0))
                if not ready:
                    if handle.popen.poll() is not None:
                        if not started:
                            raise _DiedBeforeStart(f"the sandboxed probe process died before it started (exit "
                                                   f"status {handle.popen.returncode})", DOCTOR_FIX)
                        self._record_failure(calls[current], "crashed", handle, results)
                        return current
                    continue
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    handle.popen.wait(timeout=10)
                    if not started:
                        raise _DiedBeforeStart(f"the sandboxed probe process died before it started (exit "
                                               f"status {handle.popen.returncode})", DOCTOR_FIX)
                    if current < len(calls):
                        self._record_failure(calls[current], "crashed", handle, results)
                        return current
                    return None
                for event in frames.feed(chunk):
                    if event[0] == "oversized" and started:
                        # Not read, not waited for: this call fails, the probe goes on from the next one.
                        handle.stop()
                        results[calls[current].id] = ProbeResult("crashed", info={"error": event[3]})
                        return current
                    if event[0] != "line":
                        if started and current < len(calls) and event[2] == calls[current].id \
                                and event[1] == "result":
                            received[event[2]] = self._parse(event)
                        elif event[0] == "frame":
                            event[4].close()
                        continue
                    text = event[1]
                    if text == "started":
                        started = True
                        call_started = time.monotonic()  # the first call's time includes defining the functions
                        continue
                    if not started:  # a line before "started" cannot come from the runner
                        continue
                    if text == "finished":
                        return None
                    if text.startswith("done ") and current < len(calls) and text[5:] == calls[current].id:
                        results[calls[current].id] = received.pop(calls[current].id, None) or ProbeResult(
                            "crashed", info={"error": "no result was recorded"})
                        results[calls[current].id].seconds = round(time.monotonic() - call_started, 3)
                        current += 1
                        if current >= len(calls):
                            return None
                        call_deadline = min(deadline, time.monotonic() + self._timeout(calls[current]))
                        call_started = time.monotonic()
        finally:
            os.close(read_fd)
            frames.close()
            handle.release()

    def _timeout(self, call: ProbeCall) -> int:
        """Seconds ``call`` may run: its own limit, else the reference's time scaled (see the traits)."""
        if call.timeout:
            return call.timeout
        return scaled_limit(self.reference_call_seconds, call.id, self.call_time_factor, self.call_time_floor,
                            self.call_timeout)[0]

    def _record_failure(self, call, kind, handle, results):
        handle.stop()
        hit = handle.limits_hit()
        if kind == "timeout":
            message = f"{call.function} did not return within the limit of {self._timeout(call)} s"
        else:
            message = f"the process running {call.function} died (a crash, os._exit or a limit)"
        if hit:
            message += "; limit reached: " + "; ".join(hit)
        results[call.id] = ProbeResult(kind, info={"error": message, "limits_hit": hit})

    def _parse(self, event) -> ProbeResult:
        """A ProbeResult from one frame of the pipe (``grading.run.intake`` checks every size first)."""
        if event[0] == "oversized":
            return ProbeResult("crashed", info={"error": event[3]})
        _, _, call_id, body, spool = event
        try:
            record = probe_record(body, call_id)
            if record["status"] != "returned":
                return ProbeResult(record["status"], info=record)
            names = {f"r{i}" for i in range(record["length"])}
            with spool.reader() as f:
                arrays = read_npz(f, names, max_array_bytes=MAX_ARRAY_BYTES, max_total_bytes=self.max_result_bytes)
        except IntakeError as exc:
            return ProbeResult("crashed", info={"error": f"the result could not be read: {exc}"})
        finally:
            spool.close()
        items = [arrays.get(f"r{i}") for i in range(record["length"])]
        return ProbeResult("returned", items=items, info=record)


def _dup_to_3(fd):
    def setup():
        os.dup2(fd, 3)

    return setup
