"""What some tests need from Debian, and the one way a test meets its absence.

A test that needs one of these says so with a marker (``sandbox``, ``postgres``, ``browser``: the hook in
``conftest.py``), or, for a need of one fixture, calls :func:`need`.  Outside CI a missing package skips the
test with a message that says how to get it; in CI (the environment variable ``CI`` set, as ``.ci/run``
does) it fails with that message: ``.ci/run`` installs every one of them, so a missing one there is a
broken CI, never a silent skip.
"""

from __future__ import annotations

import glob
import os
import shutil
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: Where Debian puts administrators' programs (mkfs.ext4), which a user's PATH may leave out.
SYSTEM_PATH = "/usr/sbin:/sbin:/usr/bin:/bin"


def in_ci() -> bool:
    """Whether the tests run in CI: ``CI`` set to anything but empty, 0, false or no (GitHub sets ``true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pg_bin(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else the newest of Debian's ``/usr/lib/postgresql/*/bin``."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _chromium() -> str | None:
    from bookcheck import find_chromium

    return find_chromium()


def _proxy() -> str | None:
    # as grading/jupyterhub/__main__.py's find_proxy looks for it
    local = REPO / ".cache" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
    return shutil.which("configurable-http-proxy") or (str(local) if local.exists() else None)


@cache
def _sandbox_problem() -> str | None:
    """Why no sandbox layer works here (bubblewrap, else the Landlock fallback), or None."""
    from grading.sandbox import Sandbox, SandboxUnavailable

    try:
        Sandbox().check()
    except SandboxUnavailable as exc:
        return str(exc)
    return None


#: {name: (what finds it (a true value when it is there), what the test needs, how to get it)}
PACKAGES = {
    "bubblewrap": (lambda: shutil.which("bwrap"), "Debian's bubblewrap (bwrap)",
                   "apt-get install bubblewrap"),
    "postgresql": (lambda: pg_bin("initdb") and pg_bin("pg_ctl"),
                   "Debian's postgresql server programs (initdb, pg_ctl)", "apt-get install postgresql"),
    "chromium": (_chromium, "Debian's chromium (Playwright drives it, no browser download)",
                 "apt-get install chromium"),
    "e2fsprogs": (lambda: shutil.which("mkfs.ext4", path=f"{os.environ.get('PATH', '')}:{SYSTEM_PATH}"),
                  "Debian's e2fsprogs (mkfs.ext4, for the small loop-mounted disk)", "apt-get install e2fsprogs"),
    "configurable-http-proxy": (_proxy, "configurable-http-proxy, the proxy of the course's JupyterHub",
                                "apt-get install nodejs npm, then npm install --prefix .cache/chp "
                                "configurable-http-proxy@^4"),
    # not one package: bubblewrap, or where it cannot run the Landlock fallback (grading/confine.py)
    "sandbox": (lambda: _sandbox_problem() is None, "a sandbox layer to grade in", "(grading.sandbox says how)"),
}


def missing(name: str) -> str | None:
    """The message for ``name`` when it is missing here, else None."""
    found, what, how = PACKAGES[name]
    if found():
        return None
    if name == "sandbox":
        return f"needs {what}: {_sandbox_problem()} .ci/run installs bubblewrap"
    return f"needs {what}: {how}; .ci/run installs it"


def need(name: str) -> None:
    """Skip the running test when ``name`` is missing, or fail it in CI (see the module docstring)."""
    import pytest

    message = missing(name)
    if message is None:
        return
    if in_ci():
        pytest.fail(f"{message} (CI: a missing requirement is a failure, not a skip)", pytrace=False)
    pytest.skip(message)
