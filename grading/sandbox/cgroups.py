"""Per-sandbox control groups: memory and process limits that hold for every process of a sandbox.

cgroup v1 (``/sys/fs/cgroup/memory``, ``/sys/fs/cgroup/pids``) where this
process may create groups (as root, usually).  Elsewhere (an ordinary user,
cgroup v2 without a delegated subtree) :meth:`Cgroups.create` returns an empty
set and the sandbox falls back to rlimits per process (see
:mod:`grading.sandbox.layers`); :func:`describe` says which mechanism is in use.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Cgroups", "describe"]

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "generative-mnist-grading"


def _v1_writable(controller: str) -> bool:
    root = CGROUP_ROOT / controller
    return (root / "cgroup.procs").exists() and os.access(root, os.W_OK)


def describe() -> dict:
    """{"memory": text, "pids": text}: the mechanism each limit uses here."""
    v2 = (CGROUP_ROOT / "cgroup.controllers").exists()
    out = {}
    for controller, fallback in (("memory", "RLIMIT_AS per process (no writable memory cgroup)"),
                                 ("pids", "RLIMIT_NPROC per user (no writable pids cgroup)")):
        if _v1_writable(controller):
            out[controller] = f"cgroup v1 ({CGROUP_ROOT / controller})"
        elif v2:
            out[controller] = fallback.replace("no writable", "cgroup v2 without a delegated")
        else:
            out[controller] = fallback
    return out


@dataclass
class Cgroups:
    """Per-sandbox cgroup v1 directories (memory, pids) or nothing (rlimits only)."""

    dirs: dict = field(default_factory=dict)

    @classmethod
    def create(cls, memory_limit: int, max_processes: int) -> "Cgroups":
        dirs = {}
        name = f"{PARENT}/{uuid.uuid4().hex[:12]}"
        for controller in ("memory", "pids"):
            if not _v1_writable(controller):
                continue
            path = CGROUP_ROOT / controller / name
            try:
                path.mkdir(parents=True)
                if controller == "memory":
                    (path / "memory.limit_in_bytes").write_text(str(memory_limit))
                    swap = path / "memory.memsw.limit_in_bytes"
                    if swap.exists():
                        swap.write_text(str(memory_limit))
                else:
                    (path / "pids.max").write_text(str(max_processes))
            except OSError:
                shutil.rmtree(path, ignore_errors=True)
                continue
            dirs[controller] = path
        return cls(dirs)

    def procs_files(self) -> list[str]:
        return [str(p / "cgroup.procs") for p in self.dirs.values()]

    def pids(self) -> set[int]:
        found = set()
        for p in self.dirs.values():
            try:
                found |= {int(x) for x in (p / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return found

    def oom_killed(self) -> bool:
        path = self.dirs.get("memory")
        if path is None:
            return False
        try:
            text = (path / "memory.oom_control").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and int(value or 0) > 0:
                return True
        try:
            return int((path / "memory.failcnt").read_text()) > 0 and not self.pids()
        except OSError:
            return False

    def pids_limit_hit(self) -> bool:
        path = self.dirs.get("pids")
        if path is None:
            return False
        try:
            events = (path / "pids.events").read_text().split()
        except OSError:
            return False
        return len(events) == 2 and int(events[1]) > 0

    def kill_all(self) -> None:
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        for path in self.dirs.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)
