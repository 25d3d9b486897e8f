"""A sandbox for one student process: bubblewrap, cgroup (or rlimit) limits, no network.

What a sandboxed process sees (see README, "The sandbox"):

* the Python environment that runs the grader, read-only (``sys.prefix`` and
  ``sys.base_prefix``), with gradedlib's installed package hidden;
* the system directories ``/usr`` (with the ``/bin``, ``/lib`` links) and a
  handful of files of ``/etc``, read-only;
* ``/opt/generative-mnist``: what the grader chose to show (the student
  package without the model and selection code, the data the process may
  load), read-only;
* a private home (``/home/student``) and ``/tmp``: size-limited tmpfs that
  vanish with the sandbox;
* ``io_dir`` of the grader, read-write at the same path: the kernel's
  connection file and sockets, and what the process hands back.

It has no network (its own empty network namespace), its own PID namespace
(a process it detaches dies with the sandbox), no capabilities, and limits on
memory, processes and file sizes.  The grader stops a sandbox by killing its
bubblewrap process and every process left in its cgroup.

Nothing here falls back silently: :meth:`Sandbox.check` raises
:class:`SandboxUnavailable` with one line naming the cause, and grading stops
unless the instructor sets ``c.Sandbox.enabled = False`` explicitly.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Bool, Int, Unicode
from traitlets.config import LoggingConfigurable

__all__ = ["Sandbox", "SandboxProcess", "SandboxUnavailable", "STUDENT_ROOT"]

#: Where the grader's read-only view (student package, data, probe) is mounted.
STUDENT_ROOT = "/opt/generative-mnist"
#: The sandboxed process's home and working directory (a private tmpfs).
STUDENT_HOME = "/home/student"

_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/fonts",
    "/etc/ssl/certs",
    "/etc/mime.types",
    "/etc/matplotlibrc",
)

_CGROUP_V1 = Path("/sys/fs/cgroup")
_CGROUP_PARENT = "generative-mnist-grading"


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be built on this machine; the message names the cause."""


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


@dataclass
class _Cgroups:
    """Per-sandbox cgroup v1 directories (memory, pids) or nothing (rlimits only)."""

    dirs: dict = field(default_factory=dict)

    @classmethod
    def create(cls, memory_limit: int, max_processes: int) -> "_Cgroups":
        dirs = {}
        name = f"{_CGROUP_PARENT}/{uuid.uuid4().hex[:12]}"
        for controller in ("memory", "pids"):
            root = _CGROUP_V1 / controller
            if not (root / "cgroup.procs").exists() or not os.access(root, os.W_OK):
                continue
            path = root / name
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


@dataclass
class SandboxProcess:
    """A command started in a sandbox: its process, cgroups and what it hit."""

    popen: subprocess.Popen | None
    cgroups: _Cgroups
    memory_limit: int
    max_processes: int

    def limits_hit(self) -> list[str]:
        """Plain-language limits this sandbox ran into (for the student's feedback)."""
        hit = []
        if self.cgroups.oom_killed():
            hit.append(f"memory: the process used more than the limit of {_mib(self.memory_limit)} and was stopped")
        if self.cgroups.pids_limit_hit():
            hit.append(f"processes: more than {self.max_processes} processes or threads were refused")
        return hit

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        """Kill the sandbox and every process in it; wait until they are gone."""
        if self.popen is not None and self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.popen.kill()
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.cgroups.kill_all()

    def release(self) -> None:
        """Stop everything and remove the cgroups."""
        self.stop()
        self.cgroups.remove()


class Sandbox(LoggingConfigurable):
    """Builds the bubblewrap command line and the limits of one sandboxed process."""

    enabled = Bool(
        True,
        help=(
            "Run every student process in a sandbox (bubblewrap, no network, limits). "
            "Set to False only on a machine where the sandbox cannot be built and only "
            "for submissions you trust: student code then runs with your rights."
        ),
    ).tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    memory_limit = Int(
        4 * 2**30,
        help="Memory of one sandbox in bytes (all its processes; cgroup, else RLIMIT_AS per process).",
    ).tag(config=True)
    max_processes = Int(
        256, help="Processes and threads one sandbox may have at once (pids cgroup and RLIMIT_NPROC)."
    ).tag(config=True)
    scratch_size = Int(
        1 * 2**30, help="Size in bytes of the sandbox's private home and of its /tmp (each a tmpfs)."
    ).tag(config=True)
    file_size_limit = Int(
        512 * 2**20, help="Largest file a sandboxed process may write, in bytes (RLIMIT_FSIZE)."
    ).tag(config=True)
    open_files = Int(1024, help="Open files per sandboxed process (RLIMIT_NOFILE).").tag(config=True)
    uid = Int(1000, help="User id of the student inside the sandbox's user namespace.").tag(config=True)
    blas_threads = Int(
        1,
        help="Threads of BLAS and OpenMP in a sandboxed process (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, "
             "MKL_NUM_THREADS). The grader runs a notebook and its probe side by side, and several submissions "
             "at once: one thread each keeps the cores busy without oversubscribing them (OpenBLAS threads that "
             "wait for a core spin and slow everything down).",
    ).tag(config=True)

    # -- availability -------------------------------------------------------------------
    def check(self) -> None:
        """Raise SandboxUnavailable (one line, the cause) unless a sandbox runs here."""
        if not self.enabled:
            return
        exe = shutil.which(self.bwrap)
        if exe is None:
            raise SandboxUnavailable(
                f"the sandbox needs bubblewrap ('{self.bwrap}' is not on PATH; on Debian/Ubuntu: "
                "apt-get install bubblewrap). To grade without a sandbox, set c.Sandbox.enabled = False "
                "in nbgrader_config.py (student code then runs with your rights)."
            )
        probe = subprocess.run(
            self._bwrap_args(io_dir=None, student_root=None) + ["/bin/true"],
            capture_output=True, text=True, timeout=60,
        )
        if probe.returncode != 0:
            cause = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
            raise SandboxUnavailable(
                f"bubblewrap cannot build the sandbox here ({cause}); user namespaces may be disabled "
                "(sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces). To grade without "
                "a sandbox, set c.Sandbox.enabled = False in nbgrader_config.py (student code then runs "
                "with your rights)."
            )

    # -- command line -------------------------------------------------------------------
    def _python_roots(self) -> list[str]:
        roots = []
        for prefix in (sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)):
            if prefix not in roots and not prefix.startswith("/usr"):
                roots.append(prefix)
        return roots

    def _hidden_paths(self) -> list[str]:
        """Installed copies of gradedlib inside the mounted environment: hidden."""
        hidden = []
        for root in self._python_roots():
            for site in Path(root).glob("lib/python3*/site-packages/gradedlib"):
                hidden.append(str(site))
        return hidden

    def _bwrap_args(self, io_dir: str | None, student_root: str | None) -> list[str]:
        args = [
            shutil.which(self.bwrap) or self.bwrap,
            "--unshare-all",  # user, ipc, pid, net, uts, cgroup namespaces: no network at all
            "--die-with-parent",
            "--new-session",
            "--cap-drop", "ALL",
            "--uid", str(self.uid), "--gid", str(self.uid),
            "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr",
        ]
        for name in ("bin", "sbin", "lib", "lib64", "lib32"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for item in _ETC_FILES:
            if os.path.exists(item):
                args += ["--ro-bind", item, item]
        for root in self._python_roots():
            args += ["--ro-bind", root, root]
        for hidden in self._hidden_paths():
            args += ["--tmpfs", hidden, "--remount-ro", hidden]
        args += [
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", str(self.scratch_size), "--tmpfs", "/tmp",
            "--size", str(self.scratch_size), "--tmpfs", STUDENT_HOME,
        ]
        if student_root is not None:
            args += ["--ro-bind", student_root, STUDENT_ROOT]
        if io_dir is not None:
            args += ["--bind", io_dir, io_dir]
        args += ["--chdir", STUDENT_HOME, "--clearenv"]
        return args

    def environment(self, extra: dict | None = None) -> dict:
        """The environment of a sandboxed process (nothing of the grader's leaks in)."""
        env = {
            "HOME": STUDENT_HOME,
            "USER": "student",
            "LANG": "C.UTF-8",
            "PATH": os.pathsep.join([os.path.join(sys.prefix, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
            "PYTHONPATH": f"{STUDENT_ROOT}/lib",
            "PYTHONNOUSERSITE": "1",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "IPYTHONDIR": "/tmp/ipython",
            "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
            "JUPYTER_DATA_DIR": "/tmp/jupyter-data",
            "TMPDIR": "/tmp",
            "NBGRADER_EXECUTION": "autograde",
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # the machine's settings, passed on unchanged
            if key in os.environ:
                env[key] = os.environ[key]
        for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[key] = str(self.blas_threads)
        env.update(extra or {})
        return env

    def command(self, argv: list[str], io_dir: str, student_root: str, env: dict,
                cgroups: "_Cgroups") -> list[str]:
        """The full command: join cgroups, set rlimits, then bubblewrap runs ``argv``."""
        limits = [
            f"--fsize={self.file_size_limit}",
            f"--nofile={self.open_files}",
            "--core=0",
            f"--nproc={self.max_processes}",
        ]
        if "memory" not in cgroups.dirs:
            limits.append(f"--as={self.memory_limit}")
        prlimit = shutil.which("prlimit") or "prlimit"
        inner = [prlimit, *limits, "--"]
        if self.enabled:
            inner += self._bwrap_args(io_dir, student_root)
            for key, value in env.items():
                inner += ["--setenv", key, str(value)]
        inner += list(argv)
        procs = cgroups.procs_files()
        # A shell joins the cgroups first, so that nothing of the sandbox escapes them.
        script = "".join(f'echo $$ > "${i + 1}" && ' for i in range(len(procs))) + f"shift {len(procs)} && exec \"$@\""
        return ["/bin/sh", "-c", script, "sandbox", *procs, *inner]

    def new_cgroups(self) -> _Cgroups:
        return _Cgroups.create(self.memory_limit, self.max_processes) if self.enabled else _Cgroups()

    def popen(self, argv: list[str], io_dir: str, student_root: str, env_extra: dict | None = None,
              **kwargs) -> SandboxProcess:
        """Start ``argv`` in a new sandbox and return its handle."""
        cgroups = self.new_cgroups()
        env = self.environment(env_extra)
        cmd = self.command(argv, io_dir, student_root, env, cgroups)
        popen_env = None if self.enabled else {**os.environ, **env}
        proc = subprocess.Popen(cmd, start_new_session=True, env=popen_env, **kwargs)
        return SandboxProcess(proc, cgroups, self.memory_limit, self.max_processes)
