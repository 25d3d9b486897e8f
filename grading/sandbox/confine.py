"""The fallback sandbox layer: Landlock, seccomp and rlimits, for machines where bubblewrap cannot run.

Used by :class:`grading.sandbox.layers.Sandbox` when its layer is ``landlock``
(chosen automatically when bubblewrap is missing or cannot create namespaces:
a Docker or Kubernetes pod with the default seccomp profile, Ubuntu 24.04 with
``apparmor_restrict_unprivileged_userns=1``).  It needs no privilege: Linux
5.13 or newer with Landlock enabled, and ``libseccomp`` (Debian's
``libseccomp2``, present almost everywhere).  The work is done by two PyPI
packages, ``landlockpy`` (Landlock rulesets) and ``pyseccomp`` (libseccomp
through ctypes); this module only says what to allow.

Run as a program, it is the launcher of one sandboxed command::

    python confine.py --spec=JSON -- ARGV...     (or SPEC.json, a file)

The launcher stays outside the sandbox: it becomes a child subreaper (every
process the command leaves behind is re-parented to it), forks, and the child
confines itself and executes ``ARGV``:

* rlimits: address space (unless a memory cgroup holds it), processes, file
  size, open files, no core files;
* seccomp: no socket but Unix sockets, no ``connect`` at all (the kernel's
  sockets are bound by the kernel itself), no ``ptrace``,
  ``process_vm_readv``/``writev``, ``mount``, ``unshare``, ``setns``,
  ``bpf``, ``perf_event_open``, ``keyctl``, module loading, ``reboot`` ...;
* Landlock: read and execute only the system folders, the Python environment
  (with gradedlib's installed copy left out) and the grader's view; write only
  the sandbox's own folders (its socket folder, a private home and ``/tmp``);
  no device node of its own making; of ``/proc`` only a few machine-wide
  files (``cpuinfo``, ``meminfo``, ...), not the processes; no TCP (ABI 4)
  and, from ABI 6, no signal and no abstract Unix socket to any process
  outside the sandbox.

It keeps the grader's user; root keeps uid 0 but no capability (util-linux's
``setpriv`` empties the bounding, inheritable and ambient sets at the last
exec), so it can neither reconfigure the machine nor pass over file modes.
As root, a pids cgroup is what limits its processes (RLIMIT_NPROC does not
bind uid 0).

When the command ends, or the launcher gets SIGTERM (the grader stopping the
sandbox) or its parent dies, the launcher kills every process left (being a
subreaper, every orphan of the command becomes its child), then exits with
the command's status.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import sys
import time

__all__ = ["DENIED_SYSCALLS", "available", "main"]

#: Syscalls a sandboxed process never needs, refused with EPERM.
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "acct", "iopl", "ioperm", "syslog", "userfaultfd", "open_by_handle_at", "name_to_handle_at",
    "fanotify_init", "quotactl", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "lookup_dcookie", "vhangup", "mount_setattr", "move_mount", "open_tree", "fsopen", "fsmount", "fspick",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "sched_setattr", "setpriority", "ioprio_set", "sethostname", "setdomainname", "mknod", "mknodat",
)
AF_UNIX, AF_NETLINK, NETLINK_ROUTE = 1, 16, 0
SCHED_FIFO, SCHED_RR, SCHED_DEADLINE = 1, 2, 6
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
#: Landlock ABI from which signals and abstract Unix sockets are scoped to the sandbox.
SCOPE_ABI = 6


def available() -> tuple[bool, str, int]:
    """(usable, one-line reason, Landlock ABI) of this layer on this machine."""
    if not sys.platform.startswith("linux"):
        return False, f"Landlock is Linux only (this is {sys.platform})", 0
    try:
        import landlockpy
    except ImportError as exc:
        return False, f"the package landlockpy is missing ({exc}); pip install -e '.[grading]'", 0
    try:
        import pyseccomp
    except (ImportError, OSError) as exc:
        return False, f"pyseccomp or libseccomp is missing ({exc}); apt-get install libseccomp2", 0
    abi = landlockpy.abi_version()
    if abi < 1:
        return False, "the kernel has no Landlock (Linux >= 5.13 with landlock in CONFIG_LSM or lsm=)", 0
    try:
        pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    except Exception as exc:  # noqa: BLE001 - libseccomp cannot be used
        return False, f"libseccomp cannot build a filter ({exc})", abi
    return True, f"Landlock ABI {abi}, libseccomp", abi


# -- the child: confine, then exec -----------------------------------------------------------------
def _rlimits(limits: dict) -> None:
    names = {"as": resource.RLIMIT_AS, "nproc": resource.RLIMIT_NPROC, "fsize": resource.RLIMIT_FSIZE,
             "nofile": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}
    for key, value in limits.items():
        resource.setrlimit(names[key], (int(value), int(value)))


def _seccomp() -> None:
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    # Unix sockets, and the read-only routing netlink that getifaddrs() needs (libzmq calls it).
    # (libseccomp compares an argument once per rule: every other family gets a rule of its own.)
    f.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.LT, AF_UNIX))
    f.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.GT, AF_NETLINK))
    for family in range(AF_UNIX + 1, AF_NETLINK):
        f.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.EQ, family))
    f.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.EQ, AF_NETLINK), sc.Arg(2, sc.NE, NETLINK_ROUTE))
    f.add_rule(sc.ERRNO(errno.EACCES), "connect")
    # Real-time scheduling would let root starve the machine; libzmq sets its threads' (normal) policy.
    for policy in (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE):
        f.add_rule(sc.ERRNO(errno.EPERM), "sched_setscheduler", sc.Arg(1, sc.EQ, policy))
    for name in DENIED_SYSCALLS:
        try:
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):  # not a syscall on this architecture
            continue
    f.load()


def _allow(ruleset, path: str, access) -> None:
    """Allow ``access`` on ``path``; on a file, only the rights a file can have."""
    import landlockpy as ll

    if not os.path.isdir(path):
        access &= ll.AccessFS.EXECUTE | ll.AccessFS.WRITE_FILE | ll.AccessFS.READ_FILE | ll.AccessFS.TRUNCATE | \
            ll.AccessFS.IOCTL_DEV
    ruleset.allow_path(path, access)


def _allow_except(ruleset, root: str, access, hidden: list) -> None:
    """Allow ``access`` beneath ``root`` except the ``hidden`` paths inside it (Landlock only adds)."""
    inside = [h for h in hidden if h == root or h.startswith(root.rstrip("/") + "/")]
    if not inside:
        _allow(ruleset, root, access)
        return
    if root in inside or not os.path.isdir(root):
        return
    for entry in os.listdir(root):
        _allow_except(ruleset, os.path.join(root, entry), access, inside)


def _landlock(spec: dict) -> None:
    import landlockpy as ll

    abi = ll.abi_version()
    ruleset = ll.Ruleset(handled_fs=ll.fs_for_abi(abi), handled_net=ll.net_for_abi(abi),
                         scoped=ll.scope_for_abi(abi))
    read = ll.AccessFS.READ_FILE | ll.AccessFS.READ_DIR | ll.AccessFS.EXECUTE
    device = ll.AccessFS.READ_FILE | ll.AccessFS.WRITE_FILE | ll.AccessFS.IOCTL_DEV
    # Its own folders: everything but device nodes (a block device made there would read the disk).
    everything = ll.fs_for_abi(abi) & ~(ll.AccessFS.MAKE_CHAR | ll.AccessFS.MAKE_BLOCK | ll.AccessFS.IOCTL_DEV)
    hidden = [os.path.realpath(h) for h in spec.get("hidden", [])]
    for path in spec.get("read", []):
        if os.path.exists(path):
            _allow_except(ruleset, os.path.realpath(path), read, hidden)
    for path in spec.get("devices", []):
        if os.path.exists(path):
            _allow(ruleset, path, device)
    for path in spec.get("read_files", []):
        if os.path.isfile(path):
            ruleset.allow_path(path, ll.AccessFS.READ_FILE)
    for path in spec.get("write", []):
        ruleset.allow_path(path, everything)
    ruleset.restrict()  # sets no_new_privs first


def _child(spec: dict, argv: list) -> None:
    os.setsid()
    _rlimits(spec.get("rlimits", {}))
    os.chdir(spec.get("cwd", "/"))
    _seccomp()
    _landlock(spec)
    if os.geteuid() == 0:
        # Root keeps its user but none of its capabilities (util-linux's setpriv drops them at exec).
        setpriv = spec.get("setpriv")
        if not setpriv:
            raise RuntimeError("running as root, the landlock layer needs util-linux's setpriv to drop capabilities")
        argv = [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", "--", *argv]
    os.execve(argv[0], argv, os.environ)


# -- the launcher: reap and kill -------------------------------------------------------------------
class _Stop(Exception):
    """The grader (or the parent's death) asked the launcher to stop the sandbox."""


def _status_field(pid: str, name: str) -> str | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split()[1]
    except OSError:
        return None
    return None


def _children() -> list[int]:
    """The processes to kill: every child of this subreaper (orphans of the command included)."""
    me = str(os.getpid())
    return [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _status_field(pid, "PPid") == me]


def _kill_everything() -> None:
    for _ in range(500):
        pids = _children()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        reaped = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            reaped = True
        if not pids and not reaped:
            return
        time.sleep(0.01)


def main(argv: list | None = None) -> int:
    """``confine.py SPEC -- ARGV``: run ARGV confined; return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        print("usage: confine.py SPEC.json|--spec=JSON -- ARGV...", file=sys.stderr)
        return 2
    if argv[0].startswith("--spec="):  # the grader's way: nothing of the launcher in a folder the sandbox writes
        spec = json.loads(argv[0][len("--spec="):])
    else:
        with open(argv[0]) as f:
            spec = json.load(f)
    command = argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    def stop(signum, frame):  # noqa: ARG001
        raise _Stop(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    pid = os.fork()
    if pid == 0:
        try:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            _child(spec, command)
        except BaseException as exc:  # noqa: BLE001 - the sandbox could not be built: say why
            os.write(2, f"confine: the sandbox could not be built ({type(exc).__name__}: {exc})\n".encode())
        os._exit(126)
    # The launcher keeps no file of the command's (a pipe it held open would never see its end).
    os.closerange(3, 65536)
    status = 1
    try:
        while True:
            try:
                done, raw = os.waitpid(pid, 0)
            except ChildProcessError:
                break
            if done == pid:
                status = os.waitstatus_to_exitcode(raw)
                break
    except _Stop:
        status = 128 + signal.SIGTERM
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    _kill_everything()
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
