"""A sandbox for one student process: bubblewrap where it runs, else Landlock + seccomp; limits; no network.

Two layers, chosen by ``c.Sandbox.layer`` (default ``auto``: the first that
works here, with one log line naming it):

``bubblewrap``
    A bubblewrap container with its own user, PID, network, IPC and UTS
    namespaces and no capabilities.  What it sees:

    * a private home (``/home/student``) and ``/tmp``: size-limited tmpfs;
    * ``/usr`` (with the ``/bin``, ``/lib`` links) and a handful of files of
      ``/etc``, read-only;
    * the Python environment that runs the grader, read-only, wherever it is
      (see :mod:`grading.sandbox.pythonenv`: its prefixes, the ``sys.path`` entries it
      needs and the real places of its symlinks, mounted *after* the private
      ``/tmp`` and home so that nothing covers them, even when they live under
      ``/tmp`` or a home directory), with gradedlib's installed copies hidden;
    * ``/opt/generative-mnist``: what the grader chose to show (the student
      package without the model and selection code, the data it may load);
    * ``readonly_dir``, read-only at its own path: what the grader hands in
      (the kernel's connection file, the probe's plan).

    Nothing it can write is seen by another sandbox or read by the grader while
    it runs: its only writable places are its own tmpfs, bounded by
    ``scratch_size`` and charged to its memory cgroup.  The kernel's sockets
    live in that ``/tmp``; the grader reaches them through
    ``/proc/<pid>/root`` (:meth:`SandboxProcess.outside`), and results leave
    through pipes (:mod:`grading.run.intake`).

``landlock``
    For machines where bubblewrap cannot create namespaces (a Docker or
    Kubernetes pod with the default seccomp profile, Ubuntu 24.04's AppArmor
    restriction, a kernel without unprivileged user namespaces).  No
    privilege needed; see :mod:`grading.sandbox.confine`.  The same paths are
    readable (at their real places: nothing is hidden by a mount, only made
    inaccessible), a private home and ``/tmp`` are folders of their own (on
    ``scratch_folder``, by default the memory file system ``/dev/shm``: never
    the disk that other submissions and the grader write to; where a memory
    cgroup can be made, what they hold counts against the sandbox's memory), no
    socket but Unix sockets, no ``connect``, no ``ptrace``, no signal to a
    process outside (Landlock ABI 6).  Weaker than bubblewrap: it runs as the
    grader's user (its privileges unusable, but root is not bound by
    RLIMIT_NPROC: only a pids cgroup limits its processes), the private home
    and ``/tmp`` have no size limit of their own (the memory cgroup, else only
    the file size limit and the size of ``/dev/shm``), and the file system's
    layout can be probed with ``stat``.

Both have limits on memory (a cgroup where one can be made, else
``RLIMIT_AS`` per process), processes, file sizes and open files, and the
grader stops a sandbox by killing every process it left.

``c.Sandbox.enabled = False`` runs student code unconfined, with the
grader's rights (an explicit last resort, logged loudly).  Nothing falls back
silently: :meth:`Sandbox.check` raises :class:`SandboxUnavailable` with one
line naming the causes when no layer works.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from traitlets import Bool, Enum, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from grading.failures import NotGradable
from grading.sandbox import confine
from grading.sandbox.cgroups import Cgroups
from grading.sandbox.pythonenv import PythonEnvironment, find_environment, is_within

__all__ = ["LAYERS", "STUDENT_ROOT", "Sandbox", "SandboxProcess", "SandboxUnavailable"]

#: Where the bubblewrap layer mounts the grader's read-only view (student package, data, probe).
STUDENT_ROOT = "/opt/generative-mnist"
#: The bubblewrap layer's home and working directory (a private tmpfs).
STUDENT_HOME = "/home/student"
#: The layers, strongest first.
LAYERS = ("bubblewrap", "landlock")

_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/fonts",
    "/etc/ssl/certs",
    "/etc/mime.types",
    "/etc/matplotlibrc",
)
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
#: The machine-wide files of /proc a landlock sandbox may read (not the processes' folders).
_PROC_FILES = ("/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/loadavg", "/proc/version", "/proc/uptime")
_CONFINE = str(Path(__file__).with_name("confine.py"))


class SandboxUnavailable(NotGradable):
    """No sandbox can be built on this machine; the message names the cause and the fix.

    A kind of :class:`grading.failures.NotGradable` whose message is the whole line (its ``cause``).
    """

    def __init__(self, message: str):
        RuntimeError.__init__(self, message)
        self.cause = str(message)
        self.fix = "see the cause"


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def _tasks_of(uid: int) -> int:
    """Processes and threads of user ``uid`` now (RLIMIT_NPROC counts them all)."""
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return count


@dataclass
class SandboxProcess:
    """A command started in a sandbox: its process, cgroups, and what it hit."""

    popen: subprocess.Popen | None
    cgroups: Cgroups
    memory_limit: int
    max_processes: int
    layer: str = "bubblewrap"
    scratch: str | None = None  # private home and /tmp outside bubblewrap
    info_read: int | None = None  # bubblewrap's --info-fd (read end), until the sandbox's pid is known
    info_write: int | None = None  # its write end, to be passed to the command (pass_fds)
    child_pid: int | None = None  # the sandbox's first process (bubblewrap), once known

    @property
    def inside_tmp(self) -> str:
        """The sandbox's private /tmp as its processes see it."""
        return "/tmp" if self.layer == "bubblewrap" else os.path.join(self.scratch, "tmp")

    def pass_fds(self) -> tuple:
        """File descriptors the command must inherit (bubblewrap's info pipe)."""
        return (self.info_write,) if self.info_write is not None else ()

    def started(self, timeout: float = 60.0) -> None:
        """After the command's Popen: close the parent's copy of the info pipe, learn the sandbox's pid.

        Raises
        ------
        OSError
            When bubblewrap did not report its pid within ``timeout`` seconds (it failed to start).
        """
        if self.info_write is not None:
            os.close(self.info_write)
            self.info_write = None
        if self.info_read is None:
            return
        # Read bubblewrap's whole report (it comes in several writes) and keep the pipe open until
        # release(): bubblewrap dies of SIGPIPE if its reader goes away while it writes.
        data, deadline = b"", time.monotonic() + timeout
        while b"}" not in data:
            wait = deadline - time.monotonic()
            ready, _, _ = select.select([self.info_read], [], [], max(0.0, min(wait, 1.0)))
            if ready:
                chunk = os.read(self.info_read, 4096)
                if not chunk:
                    break
                data += chunk
                if len(data) > 65536:
                    break
            elif wait <= 0 or (self.popen is not None and self.popen.poll() is not None):
                break
        found = re.search(rb'"child-pid"\s*:\s*(\d+)', data)
        if found is None:
            raise OSError("bubblewrap did not start (no child-pid on its info pipe)")
        self.child_pid = int(found.group(1))

    def outside(self, inside_path: str) -> str:
        """Where the grader reaches ``inside_path`` of this sandbox's private files."""
        if self.layer == "bubblewrap":
            if self.child_pid is None:
                raise RuntimeError("the sandbox's pid is not known yet (call started() first)")
            return f"/proc/{self.child_pid}/root{inside_path}"
        return inside_path

    def limits_hit(self) -> list[str]:
        """Plain-language limits this sandbox ran into (for the student's feedback)."""
        hit = []
        if self.cgroups.oom_killed():
            hit.append(f"memory: the process used more than the limit of {_mib(self.memory_limit)} and was stopped")
        if self.cgroups.pids_limit_hit():
            hit.append(f"processes: more than {self.max_processes} processes or threads were refused")
        return hit

    def stop(self) -> None:
        """Kill the sandbox and every process in it; wait until they are gone."""
        if self.popen is not None and self.popen.poll() is None:
            if self.layer == "landlock":
                # The launcher kills what the command left, then exits.
                try:
                    self.popen.send_signal(signal.SIGTERM)
                    self.popen.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
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
        """Stop everything, remove the cgroups and the private folders."""
        for fd in (self.info_read, self.info_write):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.info_read = self.info_write = None
        self.stop()
        self.cgroups.remove()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


class Sandbox(LoggingConfigurable):
    """Builds the command line and the limits of one sandboxed process."""

    enabled = Bool(
        True,
        help=(
            "Run every student process in a sandbox (bubblewrap, else Landlock + seccomp; no network; limits). "
            "Set to False only on a machine where no sandbox layer works and only for submissions you trust: "
            "student code then runs with your rights."
        ),
    ).tag(config=True)
    layer = Enum(
        ["auto", *LAYERS], "auto",
        help="The sandbox layer: 'bubblewrap' (namespaces), 'landlock' (Landlock + seccomp + rlimits, no "
             "privilege needed, weaker), or 'auto': bubblewrap where it can create its namespaces, else landlock.",
    ).tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    protected_paths = List(
        Unicode(),
        help="Folders a sandbox never sees: nothing inside one is shown and no mount contains one.",
    ).tag(config=True)
    course_folder = Unicode(
        "",
        help="The course folder: no mount contains it and nothing inside it is shown, except a Python environment "
             "that lives there. `python -m grading autograde` and the nbgrader preprocessor set it.",
    ).tag(config=True)
    memory_limit = Int(
        4 * 2**30,
        help="Memory of one sandbox in bytes (all its processes; cgroup, else RLIMIT_AS per process).",
    ).tag(config=True)
    max_processes = Int(
        256, help="Processes and threads one sandbox may have at once (pids cgroup and RLIMIT_NPROC)."
    ).tag(config=True)
    scratch_size = Int(
        1 * 2**30, help="Size in bytes of the sandbox's private home and of its /tmp (each a tmpfs; bubblewrap only)."
    ).tag(config=True)
    scratch_folder = Unicode(
        "",
        help="Where the landlock layer (and an unsandboxed run) makes each sandbox's private home and /tmp. Default: "
             "/dev/shm when it is a memory file system the grader can write, else the temporary folder. Keep it off "
             "the disk the grader and other submissions write to: a sandbox can fill it.",
    ).tag(config=True)
    file_size_limit = Int(
        512 * 2**20, help="Largest file a sandboxed process may write, in bytes (RLIMIT_FSIZE)."
    ).tag(config=True)
    open_files = Int(1024, help="Open files per sandboxed process (RLIMIT_NOFILE).").tag(config=True)
    uid = Int(1000, help="User id of the student inside the bubblewrap sandbox's user namespace.").tag(config=True)
    blas_threads = Int(
        1,
        help="Threads of BLAS and OpenMP in a sandboxed process (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, "
             "MKL_NUM_THREADS). The grader runs a notebook and its probe side by side, and several submissions "
             "at once: one thread each keeps the cores busy without oversubscribing them (OpenBLAS threads that "
             "wait for a core spin and slow everything down).",
    ).tag(config=True)

    _chosen: str | None = None
    _env: PythonEnvironment | None = None
    _causes: dict | None = None

    # -- which layer ------------------------------------------------------------------------
    def check(self) -> str:
        """Choose the layer (once) and return it; raise SandboxUnavailable (one line) when none works."""
        if not self.enabled:
            return "none"
        if self._chosen is not None:
            return self._chosen
        wanted = LAYERS if self.layer == "auto" else (self.layer,)
        causes = {}
        for layer in wanted:
            cause = self._bubblewrap_problem() if layer == "bubblewrap" else self._landlock_problem()
            if cause is None:
                self._chosen = layer
                self._causes = causes
                if layer != LAYERS[0] and self.layer == "auto":
                    self.log.warning("grading sandbox: %s (bubblewrap cannot run here: %s)", self.describe_layer(),
                                     causes.get("bubblewrap"))
                else:
                    self.log.info("grading sandbox: %s", self.describe_layer())
                return layer
            causes[layer] = cause
        self._causes = causes
        listed = "; ".join(f"{name}: {text}" for name, text in causes.items())
        raise SandboxUnavailable(
            f"no sandbox layer works here ({listed}). Install bubblewrap (apt-get install bubblewrap) and allow "
            "user namespaces, or use Linux >= 5.13 with Landlock and libseccomp; as a last resort, for submissions "
            "you trust, set c.Sandbox.enabled = False in nbgrader_config.py (student code then runs with your rights)."
        )

    @property
    def unavailable_layers(self) -> dict:
        """{layer: why it cannot run here} for the stronger layers passed over by :meth:`check`."""
        return dict(self._causes or {})

    def describe_layer(self) -> str:
        """One line: the layer in use and what it isolates."""
        layer = self.check()
        if layer == "bubblewrap":
            return "bubblewrap (user, PID, network, IPC and UTS namespaces; read-only environment; private /tmp and home)"
        if layer == "landlock":
            ok, text, abi = confine.available()
            scoped = "signals and abstract sockets scoped" if abi >= confine.SCOPE_ABI else \
                f"signals NOT scoped (Landlock ABI {abi} < {confine.SCOPE_ABI})"
            return (f"landlock, the weaker fallback layer ({text}; file access limited, no network sockets, "
                    f"no ptrace, {scoped}; runs as the grader's user; no namespaces)")
        return "NONE (c.Sandbox.enabled = False): student code runs with your rights"

    def _bubblewrap_problem(self) -> str | None:
        exe = shutil.which(self.bwrap)
        if exe is None:
            return f"'{self.bwrap}' is not on PATH (apt-get install bubblewrap)"
        true = shutil.which("true", path="/usr/bin:/bin") or "/bin/true"
        try:
            probe = subprocess.run(self._bwrap_args(None, None) + [true], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{exe} does not run ({exc})"
        if probe.returncode != 0:
            cause = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
            return (f"{cause} (user namespaces may be disabled: sysctl user.max_user_namespaces, "
                    "kernel.apparmor_restrict_unprivileged_userns, or a container's seccomp profile)")
        return None

    def _landlock_problem(self) -> str | None:
        ok, text, _ = confine.available()
        if not ok:
            return text
        true = shutil.which("true", path="/usr/bin:/bin") or "/bin/true"
        handle = SandboxProcess(None, Cgroups(), self.memory_limit, self.max_processes, layer="landlock",
                                scratch=tempfile.mkdtemp(prefix="gm-sandbox-check-", dir=self.scratch_base()))
        try:
            os.mkdir(os.path.join(handle.scratch, "home"), 0o700)
            os.mkdir(os.path.join(handle.scratch, "tmp"), 0o700)
            cmd, handle, env = self._landlock_launch([true], None, None, {}, handle)
            run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
            if run.returncode != 0:
                return (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"the launcher does not run ({exc})"
        finally:
            handle.release()
        return None

    # -- what the sandbox shows ----------------------------------------------------------------
    def python_environment(self) -> PythonEnvironment:
        """The paths of the grader's Python that every sandbox shows (found once)."""
        if self._env is None:
            self._env = find_environment(self.protected_paths, [self.course_folder] if self.course_folder else [])
        return self._env

    def view_path(self, student_root: str) -> str:
        """Where a sandboxed process finds the grader's view ``student_root``."""
        return STUDENT_ROOT if self.check() == "bubblewrap" else student_root

    def _bwrap_args(self, io_dir: str | None, student_root: str | None) -> list[str]:
        env = self.python_environment()
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
        # The private mounts first: what is mounted after them is never covered by them.
        args += [
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", str(self.scratch_size), "--tmpfs", "/tmp",
            "--size", str(self.scratch_size), "--tmpfs", STUDENT_HOME,
        ]
        for path in env.paths:
            real = os.path.realpath(path)
            args += ["--ro-bind", real, path]
            if real != path and not any(is_within(real, p) for p in env.paths):
                args += ["--ro-bind", real, real]
        for hidden in env.hidden():
            args += ["--tmpfs", hidden, "--remount-ro", hidden]
        if student_root is not None:
            args += ["--ro-bind", student_root, STUDENT_ROOT]
        if io_dir is not None:  # what the grader hands in: read-only
            args += ["--ro-bind", io_dir, io_dir]
        # The sandbox's own root (where the folders above the mounts were made) is read-only too.
        args += ["--remount-ro", "/", "--chdir", STUDENT_HOME, "--clearenv"]
        return args

    def environment(self, extra: dict | None = None, home: str = STUDENT_HOME, tmp: str = "/tmp",
                    view: str = STUDENT_ROOT) -> dict:
        """The environment of a sandboxed process (nothing of the grader's leaks in)."""
        env_paths = self.python_environment()
        env = {
            "HOME": home,
            "USER": "student",
            "LOGNAME": "student",
            "LANG": "C.UTF-8",
            "PATH": os.pathsep.join([os.path.dirname(os.path.abspath(sys.executable)), os.path.join(sys.prefix, "bin"),
                                     "/usr/local/bin", "/usr/bin", "/bin"]),
            "PYTHONPATH": os.pathsep.join([f"{view}/lib", *env_paths.pythonpath]),
            "PYTHONNOUSERSITE": "1",
            "MPLCONFIGDIR": f"{tmp}/matplotlib",
            "IPYTHONDIR": f"{tmp}/ipython",
            "JUPYTER_RUNTIME_DIR": f"{tmp}/jupyter-runtime",
            "JUPYTER_DATA_DIR": f"{tmp}/jupyter-data",
            "TMPDIR": tmp,
            "NBGRADER_EXECUTION": "autograde",
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # the machine's settings, passed on unchanged
            if key in os.environ:
                env[key] = os.environ[key]
        for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[key] = str(self.blas_threads)
        env.update(extra or {})
        return env

    def _rlimits(self, cgroups: Cgroups) -> dict:
        limits = {"fsize": self.file_size_limit, "nofile": self.open_files, "core": 0}
        # RLIMIT_NPROC counts every task of the real user: an ordinary user's own processes too.
        limits["nproc"] = self.max_processes if os.geteuid() == 0 else _tasks_of(os.getuid()) + self.max_processes
        if "memory" not in cgroups.dirs:
            limits["as"] = self.memory_limit
        return limits

    # -- the command --------------------------------------------------------------------------
    def new_cgroups(self) -> Cgroups:
        return Cgroups.create(self.memory_limit, self.max_processes) if self.enabled else Cgroups()

    def scratch_base(self) -> str:
        """The folder that holds the private folders of landlock (and unsandboxed) sandboxes."""
        if self.scratch_folder:
            return self.scratch_folder
        try:
            with open("/proc/self/mounts") as f:
                tmpfs = any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in f)
        except OSError:
            tmpfs = False
        if tmpfs and os.access("/dev/shm", os.W_OK | os.X_OK):
            return "/dev/shm"
        return tempfile.gettempdir()

    def prepare(self) -> SandboxProcess:
        """A handle for a sandbox not started yet: its cgroups and (outside bubblewrap) its private folders.

        Use it when the grader must know where the sandbox's private ``/tmp``
        is before the command starts (:attr:`SandboxProcess.inside_tmp`), then
        pass it to :meth:`launch`.
        """
        layer = self.check()
        cgroups = self.new_cgroups()
        handle = SandboxProcess(None, cgroups, self.memory_limit, self.max_processes,
                                layer=layer if layer in LAYERS else "none")
        if layer != "bubblewrap":
            handle.scratch = tempfile.mkdtemp(prefix="gm-sandbox-", dir=self.scratch_base())
            os.mkdir(os.path.join(handle.scratch, "home"), 0o700)
            os.mkdir(os.path.join(handle.scratch, "tmp"), 0o700)
        return handle

    def launch(self, argv: list[str], io_dir: str | None, student_root: str, env_extra: dict | None = None,
               handle: SandboxProcess | None = None) -> tuple[list[str], SandboxProcess, dict | None]:
        """(command, handle, environment for Popen or None) that run ``argv`` in a new sandbox.

        ``io_dir`` (or None) is shown read-only: what the grader hands in.  The
        command joins the sandbox's cgroups first, so that nothing of the
        sandbox escapes them; the caller sets ``handle.popen``, passes
        ``handle.pass_fds()`` to it, then calls ``handle.started()``.
        """
        handle = handle or self.prepare()
        cgroups = handle.cgroups
        if handle.layer == "landlock":
            return self._landlock_launch(argv, io_dir, student_root, env_extra or {}, handle)
        if handle.layer == "bubblewrap":
            limits = self._rlimits(cgroups)
            env = self.environment(env_extra)
            handle.info_read, handle.info_write = os.pipe()
            inner = [shutil.which("prlimit") or "prlimit", *(f"--{k}={v}" for k, v in limits.items()), "--"]
            inner += self._bwrap_args(io_dir, student_root)
            inner[inner.index("--die-with-parent")+1:inner.index("--die-with-parent")+1] = \
                ["--info-fd", str(handle.info_write)]
            for key, value in env.items():
                inner += ["--setenv", key, str(value)]
            inner += list(argv)
            return self._join(cgroups, inner), handle, None
        # No sandbox: the grader's environment with the sandbox's settings, a private home and /tmp.
        home, tmp = os.path.join(handle.scratch, "home"), os.path.join(handle.scratch, "tmp")
        env = {**os.environ, **self.environment(env_extra, home=home, tmp=tmp, view=student_root)}
        limits = self._rlimits(cgroups)
        inner = [shutil.which("prlimit") or "prlimit", *(f"--{k}={v}" for k, v in limits.items()), "--", *argv]
        return inner, handle, env

    def _landlock_launch(self, argv, io_dir, student_root, env_extra, handle):
        cgroups, scratch = handle.cgroups, handle.scratch
        home, tmp = os.path.join(scratch, "home"), os.path.join(scratch, "tmp")
        env_paths = self.python_environment()
        readable = [os.path.realpath(p) for p in _SYSTEM_DIRS if os.path.exists(p)]
        readable += [p for p in _ETC_FILES if os.path.exists(p)]
        readable += list(env_paths.paths) + [os.path.realpath(p) for p in env_paths.paths]
        readable += ["/sys/devices/system/cpu"]
        if student_root is not None:
            readable.append(student_root)
        if io_dir:
            readable.append(io_dir)
        writable = [home, tmp]
        spec = {
            "read": readable, "read_files": list(_PROC_FILES), "write": writable, "devices": list(_DEVICES),
            "hidden": env_paths.hidden(), "rlimits": self._rlimits(cgroups), "cwd": home,
            "setpriv": shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin"),
        }
        env = self.environment(env_extra, home=home, tmp=tmp, view=student_root or "")
        # The spec goes on the command line: nothing of the launcher lies where the sandbox can write.
        inner = [sys.executable, _CONFINE, "--spec=" + json.dumps(spec), "--", *argv]
        return self._join(cgroups, inner), handle, env

    @staticmethod
    def _join(cgroups: Cgroups, inner: list[str]) -> list[str]:
        procs = cgroups.procs_files()
        script = "".join(f'echo $$ > "${i + 1}" && ' for i in range(len(procs))) + f"shift {len(procs)} && exec \"$@\""
        return ["/bin/sh", "-c", script, "sandbox", *procs, *inner]

    def popen(self, argv: list[str], io_dir: str, student_root: str, env_extra: dict | None = None,
              **kwargs) -> SandboxProcess:
        """Start ``argv`` in a new sandbox and return its handle."""
        cmd, handle, env = self.launch(argv, io_dir, student_root, env_extra)
        kwargs["pass_fds"] = tuple(kwargs.get("pass_fds", ())) + handle.pass_fds()
        try:
            handle.popen = subprocess.Popen(cmd, start_new_session=True, env=env, **kwargs)
        except BaseException:
            handle.release()
            raise
        handle.started()
        return handle
