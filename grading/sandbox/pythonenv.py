"""What a sandboxed copy of the grader's Python needs to see: its prefixes, its path entries, their real places.

The kernel and the probe run the grader's own interpreter (``sys.executable``)
inside a sandbox that shows almost nothing of the machine.  This module finds,
wherever the environment lives (a virtual environment under ``/tmp`` or a
home directory, conda, pyenv, a user site, a ``.pth`` target), the paths that
interpreter reads, so that the sandbox can show exactly those, read-only:

* ``sys.prefix``, ``sys.base_prefix``, ``sys.exec_prefix`` and the folder of
  the interpreter's real file (symlinks of a venv resolved);
* every entry of the ``sys.path`` that a fresh interpreter gets from this
  process's environment (site-packages, a user site, ``.pth`` targets, entries
  of ``PYTHONPATH``), and the real place of each.

Never shown, whatever the path list says: a path that contains (or is) one of
the ``protected`` paths (the course folder, the grader's working directory,
the home directory, ``/``, ``/tmp``), and anything inside the course folder
but outside a prefix (an editable checkout of the course, say).

:func:`find_environment` asks a fresh interpreter (two short subprocesses), so
the answer is that of the interpreter the sandbox will run, not of this
process's ``sys.path`` as a test or a notebook may have changed it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

__all__ = ["PythonEnvironment", "find_environment", "is_within"]

_QUERY = (
    "import json, os, sys; print(json.dumps({'path': [os.path.abspath(p) for p in sys.path if p], "
    "'prefixes': [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix], "
    "'executable': sys.executable}))"
)

#: Always protected: mounting one of these (or a folder above one) would show far too much.
ALWAYS_PROTECTED = ("/", "/tmp", "/home", "/root", "/var", "/etc", "/opt", "/srv", "/mnt", "/media", "/run")


def is_within(path: str, folder: str) -> bool:
    """True when ``path`` is ``folder`` or inside it (both absolute, normalized)."""
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass
class PythonEnvironment:
    """The paths a sandboxed interpreter needs (each exists), and those refused with the reason."""

    executable: str
    prefixes: list = field(default_factory=list)  # mounted whole
    paths: list = field(default_factory=list)  # every path to show read-only, ancestors first
    pythonpath: list = field(default_factory=list)  # entries the interpreter finds only through PYTHONPATH
    refused: dict = field(default_factory=dict)  # path -> why it is not shown

    def hidden(self, names=("gradedlib",)) -> list:
        """Installed copies of the packages ``names`` inside the shown paths (for the sandbox to hide)."""
        out = []
        for root in self.paths:
            for name in names:
                candidate = os.path.join(root, name)
                if os.path.isdir(candidate) and candidate not in out:
                    out.append(candidate)
            if os.path.isdir(root):
                for lib in ("lib", "lib64"):
                    base = os.path.join(root, lib)
                    if not os.path.isdir(base):
                        continue
                    for entry in sorted(os.listdir(base)):
                        if not entry.startswith("python"):
                            continue
                        for site in ("site-packages", "dist-packages"):
                            for name in names:
                                candidate = os.path.join(base, entry, site, name)
                                if os.path.isdir(candidate) and candidate not in out:
                                    out.append(candidate)
        return out


def _query(executable: str, isolated: bool) -> dict:
    argv = [executable, "-E", "-s", "-c", _QUERY] if isolated else [executable, "-c", _QUERY]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    out = subprocess.run(argv, cwd="/", env=env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"the interpreter {executable} does not start ({out.stderr.strip()[-300:]})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _under_system(path: str) -> bool:
    """Paths the sandbox shows anyway (``/usr`` and the links into it)."""
    return any(is_within(path, d) for d in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"))


def find_environment(protected=(), courses=(), executable: str | None = None) -> PythonEnvironment:
    """The paths the interpreter ``executable`` (default: this one) needs, minus the protected ones.

    Parameters
    ----------
    protected : iterable of str
        Folders the sandbox must never show: nothing inside one of them and
        no path that contains one is shown (even the interpreter's own
        environment: then the sandbox cannot run it, which the doctor says).
    courses : iterable of str
        Course folders: no path that contains one is shown, and nothing
        inside one unless it is inside a prefix (a virtual environment in the
        course folder is shown, the course's own sources are not). The
        grader's working directory and home are treated like ``courses``
        for containment: no shown path contains them.
    executable : str, default=None
        The interpreter; ``None`` means ``sys.executable``.
    """
    executable = executable or sys.executable
    full = _query(executable, isolated=False)
    plain = _query(executable, isolated=True)
    hidden = [os.path.realpath(p) for p in protected if p]
    courses = [os.path.realpath(p) for p in courses if p]
    protected = hidden + courses + [os.path.realpath(os.getcwd()), os.path.realpath(os.path.expanduser("~"))]
    protected += list(ALWAYS_PROTECTED)
    env = PythonEnvironment(executable=executable)

    def refuse_reason(path: str, in_prefix: bool) -> str | None:
        for p in protected:
            if is_within(p, path):
                return f"it contains the protected folder {p}"
        for p in hidden:
            if is_within(path, p) or is_within(os.path.realpath(path), p):
                return f"it is inside the protected folder {p} (c.Sandbox.protected_paths)"
        if not in_prefix:
            for course in courses:
                if is_within(path, course):
                    return f"it is inside the course folder {course} and not part of a Python environment"
        return None

    prefixes = []
    for prefix in full["prefixes"] + plain["prefixes"]:
        for candidate in (os.path.abspath(prefix), os.path.realpath(prefix)):
            if candidate not in prefixes:
                prefixes.append(candidate)
    real_exe = os.path.realpath(executable)
    exe_dirs = [os.path.dirname(os.path.abspath(executable)), os.path.dirname(real_exe)]

    candidates = []
    for prefix in prefixes:
        candidates.append((prefix, True))
    for directory in exe_dirs:
        candidates.append((directory, any(is_within(directory, p) for p in prefixes)))
    for entry in full["path"]:
        for candidate in (entry, os.path.realpath(entry)):
            candidates.append((candidate, any(is_within(candidate, p) for p in prefixes)))

    chosen = []
    for path, in_prefix in candidates:
        if not os.path.exists(path) or _under_system(path):
            continue
        why = refuse_reason(path, in_prefix)
        if why is not None:
            env.refused.setdefault(path, why)
            continue
        if path not in chosen:
            chosen.append(path)
    # A path inside another shown one needs no mount of its own.
    chosen.sort(key=len)
    for path in chosen:
        if not any(is_within(path, other) for other in env.paths):
            env.paths.append(path)
    env.prefixes = [p for p in prefixes if p in env.paths]
    plain_paths = {os.path.realpath(p) for p in plain["path"]}
    for entry in full["path"]:
        if os.path.realpath(entry) in plain_paths or not os.path.exists(entry):
            continue
        if any(is_within(entry, p) or is_within(os.path.realpath(entry), p) for p in env.paths):
            env.pythonpath.append(entry)
    return env
