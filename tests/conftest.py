"""Shared fixtures: real MNIST loaded once per session, and a headless backend."""

import os

# Two test processes (``-n 2``, see FILE_GROUPS below) on two cores: one BLAS and OpenMP thread per process
# and per process they start (the book's kernels, notebooks run by the self-checks), set before numpy is
# imported.  OpenBLAS threads that wait for a core spin: two-thread BLAS beside the grading tests' sandboxes
# made the book's build 2.8 times slower and some self-check tests 10 times slower.  Not with one process.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from gradedlib.data import load_mnist
from gradedlib.model import GaussianGenerativeClassifier
from gradedlib.selection import choose_c


#: What each marker needs from Debian (tests/debian_packages.py).  ``sandbox`` needs a layer to grade in:
#: bubblewrap, or the Landlock fallback where bubblewrap cannot run; ``sandbox("bubblewrap")`` marks a
#: test of the bubblewrap layer itself.  ``nbgrader`` and ``slow`` need nothing from Debian.
MARKER_PACKAGES = {"sandbox": ("sandbox",), "postgres": ("postgresql",), "browser": ("chromium",)}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture: skip a test whose Debian package is missing, saying how to get it; in CI, fail it."""
    from debian_packages import need

    for marker in item.iter_markers():
        if marker.name in MARKER_PACKAGES:
            for name in marker.args or MARKER_PACKAGES[marker.name]:
                need(name)


@pytest.fixture(scope="session")
def mnist_train():
    """The 60,000 training images and labels, (X uint8 (60000, 784), y uint8)."""
    return load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test():
    """The 10,000 test images and labels."""
    return load_mnist("test")


@pytest.fixture(scope="session")
def mnist_selection(mnist_train):
    """choose_c on the training set only (hold-out of 10,000, default grid)."""
    X, y = mnist_train
    return choose_c(X, y)


@pytest.fixture(scope="session")
def mnist_model(mnist_train, mnist_selection):
    """The model refitted on all 60,000 training images with the chosen c."""
    X, y = mnist_train
    return GaussianGenerativeClassifier(c=mnist_selection.c).fit(X, y)


@pytest.fixture(scope="session")
def build():
    """Build the book as the deployment workflow does: ``.ci/build-book`` (``tests/book``).

    It runs ``jupyter-book build . -W -n --keep-going`` and builds the student
    wheel into ``_build/html/dist``, with the jupyter-book and python of this
    Python environment (first on PATH).  Once per test process: the files that
    read it (``test_book.py``, ``test_graded_answers_hidden.py``) are the ``book``
    group of FILE_GROUPS below, one process, and a second build, even from the
    cache, wrote every page and the wheel again for nothing.
    """
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("MPLBACKEND", None)  # the notebooks use matplotlib's inline backend
    return subprocess.run(["bash", str(repo / ".ci" / "build-book")], cwd=repo, env=env, capture_output=True,
                          text=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def boundary_classes(tmp_path_factory):
    """The classes of boundary attacks, graded once per sandbox layer on first use (see
    ``assignment_fixtures/boundary_class.py``); ``.get(layer)`` returns what the tests read."""
    from assignment_fixtures.boundary_class import BoundaryClasses

    return BoundaryClasses(tmp_path_factory)



#: Test files that run one after another on one xdist worker (``pytest -n 2``, the README's command, see
#: ``pyproject.toml``); every other file runs whole on whichever worker is free, so that its module-scoped
#: fixtures (fitted models, built packages) are made once.
#:
#: * ``grading``: the files that grade classes with ``python -m grading autograde`` (or time the reference
#:   solution), one at a time: they keep both cores busy, and share the boundary classes
#:   (``boundary_classes`` above).
#: * ``setups``: the small classes graded in other set-ups (``test_grading_setups.py``), in order (its tests
#:   compare their scores with the first one's); they run beside the ``grading`` group, on the other worker,
#:   which would otherwise be idle for most of the run (the reference's times are shared between workers,
#:   and each class checks for its own detached processes: ``assignment_fixtures/course.py``).
#: * ``book``: the files that build the book into the repository's ``_build`` (``.ci/build-book``).
FILE_GROUPS = {
    "test_assignment_grading.py": "grading",
    "test_cell_times.py": "grading",
    "test_grading_boundaries.py": "grading",
    "test_grading_render.py": "grading",
    "test_grading_dask.py": "grading",
    "test_grading_postgres.py": "grading",
    "test_grading_setups.py": "setups",
    "test_book.py": "book",
    "test_graded_answers_hidden.py": "book",
}


#: The scopes that take longest, in seconds of one CI run (``.ci/run`` from a fresh clone, two workers,
#: bench/results/ci.md): xdist hands them out first, the longest first, so that the run does not end on one
#: worker with a long scope started late while the other is idle.  In a full run at 4c1c1e7, xdist's
#: default order (the scopes with the most tests first) started the course loop (one test, 546 s) after the
#: ``grading`` group, on the same worker, and the other worker was idle for the last 8.5 minutes.  An approximate order is enough: every scope not
#: listed here is shorter than the last one listed, and runs after them in the order collected.
SCOPE_SECONDS = {
    "grading": 1800,
    "book": 950,
    "tests/grading/jupyterhub/test_course_loop.py": 550,
    "setups": 500,
    "tests/grading/plugins/test_lms_route.py": 200,
}


def _scope(nodeid: str) -> str:
    """The scope of a test for the scheduler: its file, or the group of FILE_GROUPS that its file is in."""
    path = nodeid.split("::", 1)[0]
    return FILE_GROUPS.get(path.rsplit("/", 1)[-1], path)


def pytest_collection_modifyitems(items):
    """Put the scopes of SCOPE_SECONDS first, the longest first; a stable sort, so that the tests of one
    file keep their order and every worker collects the same order (xdist checks that)."""
    items.sort(key=lambda item: -SCOPE_SECONDS.get(_scope(item.nodeid), 0))


def pytest_xdist_make_scheduler(config, log):
    """xdist's scope scheduling with one scope per test file, or per group of FILE_GROUPS, handed out in
    the order collected (``--no-loadscope-reorder`` in ``pyproject.toml``: SCOPE_SECONDS's order)."""
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return FileScheduling(config, log)
