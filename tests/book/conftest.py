"""The book's build, made once per test process and read by every file of ``tests/book`` that needs it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build():
    """Build the book as the deployment workflow does: ``.ci/build-book``.

    It runs ``jupyter-book build . -W -n --keep-going`` and builds the student
    wheel into ``_build/html/dist``, with the jupyter-book and python of this
    Python environment (first on PATH).  One build per session: the files that
    read it (``test_book.py``, ``test_graded_answers_hidden.py``) run in one
    test process (the ``book`` group of ``tests/conftest.py``), and a second
    build, even from the cache, rewrote every page and the wheel for nothing.
    """
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("MPLBACKEND", None)  # the notebooks use matplotlib's inline backend
    return subprocess.run(
        ["bash", str(REPO / ".ci" / "build-book")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
