"""The reference solution's time per cell and per probe call on this machine: what the time limits scale.

A cell that never ends (one that ignores interrupts, say) costs a worker the
whole time it is allowed.  So each cell is allowed
``cell_time_factor`` times the reference solution's time for the same cell
(matched by nbgrader's grade id) plus ``cell_time_floor`` seconds, at most
``cell_timeout`` (:meth:`grading.run.executor.NotebookExecutor.cell_limit`), and
each probe call likewise (:class:`grading.run.probe.Probe`, ``call_time_factor``
and ``call_time_floor``).

:func:`reference_times` gives those times: it grades the course's source
notebook (the instructor's solution) once, exactly as a submission is graded,
and keeps what it measured in the cache folder, under a name made of the
source notebook's bytes and the machine (its CPU model and count): a new
solution or another machine measures again; a Dask worker on another machine
gets the scheduler's figures (the factor leaves room for that).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

__all__ = ["machine", "reference_times", "source_notebooks"]

_VERSION = "1"  # bump when what is measured changes


def machine() -> str:
    """The CPU model and count of this machine (what the times depend on)."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{model or os.uname().machine} x {os.cpu_count()}"


def source_notebooks(course: Path, assignment: str, config) -> list[Path]:
    """The instructor's notebooks of ``assignment`` (nbgrader's source folder), sorted."""
    source = config.CourseDirectory.get("source_directory", "source")
    root = Path(config.CourseDirectory.get("root", "") or course)
    return sorted((root / source / assignment).glob("*.ipynb"))


def _key(paths: list[Path]) -> str:
    h = hashlib.sha256(f"{_VERSION}\n{machine()}\n".encode())
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:24]


def reference_times(course: Path, assignment: str, config, cache: Path, refs, log=None) -> dict | None:
    """{"cells": {grade id: s}, "calls": {call id: s}, ...}, measured once per solution and machine.

    Returns None, after saying why through ``log`` (a callable taking one
    line), when there is no source notebook or the reference could not be
    graded: every cell and call then gets the fixed limits (``cell_timeout``,
    ``call_timeout``).
    """
    say = log or (lambda line: None)
    paths = source_notebooks(course, assignment, config)
    if not paths:
        say(f"no source notebook of {assignment!r} to time: every cell gets the fixed limit")
        return None
    target = Path(cache) / "cell-times" / assignment / f"{_key(paths)}.json"
    if target.exists():
        try:
            kept = json.loads(target.read_text())
            say(f"the reference solution's times per cell: measured earlier ({target})")
            return kept
        except (OSError, ValueError):
            pass
    try:
        measured = _measure(paths, config, refs)
    except Exception as exc:  # noqa: BLE001 - without the times, the fixed limits apply: said, not hidden
        say(f"the reference solution could not be timed ({type(exc).__name__}: {exc}); every cell gets the "
            "fixed limit")
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(measured, indent=1, sort_keys=True))
    tmp.replace(target)
    say(f"the reference solution's times per cell: measured in {measured['seconds']:.0f} s "
        f"(slowest cell {max(measured['cells'].values(), default=0):.1f} s, slowest probe call "
        f"{max(measured['calls'].values(), default=0):.1f} s), kept in {target}")
    if measured["problems"]:
        say("grading the reference solution reported (check the source notebook): "
            + "; ".join(measured["problems"][:3]))
    return measured


def _measure(paths: list[Path], config, refs) -> dict:
    """Grade each source notebook as a submission (fixed limits), keeping the times the grader measured."""
    import copy

    import nbformat
    from traitlets.config import Config

    from grading.run.executor import NotebookExecutor
    from grading.judge.grade import grade_notebook
    from grading.run.probe import Probe
    from grading.sandbox.layers import Sandbox

    plain = copy.deepcopy(config) if isinstance(config, Config) else Config(config)
    plain.NotebookExecutor.reference_cell_seconds = {}
    plain.Probe.reference_call_seconds = {}
    sandbox = Sandbox(config=plain)
    executor, probe = NotebookExecutor(sandbox, config=plain), Probe(sandbox, config=plain)
    cells: dict = {}
    calls: dict = {}
    started = time.monotonic()
    problems = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        summary = grade_notebook(nb, refs, executor, probe)
        problems += summary.events + [f"{k}: {v}" for k, v in summary.failed.items()]
        for table, new in ((cells, summary.cell_seconds), (calls, summary.call_seconds)):
            for name, seconds in new.items():
                if seconds is not None:
                    table[name] = max(table.get(name, 0.0), float(seconds))
    return {"machine": machine(), "notebooks": [p.name for p in paths], "cells": cells, "calls": calls,
            "seconds": round(time.monotonic() - started, 1), "problems": problems[:20]}
