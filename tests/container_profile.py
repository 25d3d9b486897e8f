"""Run a command as a container with Docker's default seccomp profile would: no new namespaces.

    python tests/container_profile.py COMMAND [ARG ...]

Docker's and containerd's default profiles (Kubernetes ``RuntimeDefault``)
refuse, to a process without ``CAP_SYS_ADMIN``, the system calls that build
namespaces and mounts: ``unshare``, ``setns``, ``mount``, ``umount2``,
``pivot_root``, ``clone`` with a namespace flag (``EPERM``) and ``clone3``
(``ENOSYS``, so that the C library falls back to ``clone``). This script loads
that part of the profile with libseccomp, sets ``no_new_privs`` (as Docker
does) and execs the command, which inherits the filter with all its
children: bubblewrap then fails for real, as it does in such a pod, and the
grader has to choose its fallback layer.
"""

from __future__ import annotations

import errno
import os
import sys

import pyseccomp as sc

#: CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python tests/container_profile.py COMMAND [ARG ...]")
    f = sc.SyscallFilter(sc.ALLOW)
    for name in ("unshare", "setns", "mount", "umount2", "pivot_root"):
        f.add_rule(sc.ERRNO(errno.EPERM), name)
    for flag in NAMESPACE_FLAGS:
        f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    try:
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    except (OSError, ValueError, RuntimeError):  # no clone3 on this architecture
        pass
    f.load()  # sets no_new_privs first (libseccomp's default)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
