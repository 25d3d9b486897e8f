"""Run real nbgrader on a temporary copy of the course."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "gaussian_generative"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / NOTEBOOK
RELEASE = ROOT / "exercises" / ASSIGNMENT / NOTEBOOK
BIN = os.path.dirname(sys.executable)


def make_course(directory: Path) -> Path:
    """Copy what the instructor needs (config, plugins, solutions, the vendored MathJax of the feedback pages)
    into ``directory``, as a clone of the course repository holds them."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", directory / "nbgrader_config.py")
    shutil.copytree(ROOT / "_vendor", directory / "_vendor")
    shutil.copytree(ROOT / "grading", directory / "grading", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", directory / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return directory


def make_prepared_course(directory: Path) -> Path:
    """:func:`make_course` in ``directory``, with the assignment in the gradebook, its release generated and the
    grader's references prepared: a template to copy for each class graded."""
    course = make_course(directory)
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    sys.path.insert(0, str(course))
    try:
        from grading.judge.references import prepare

        prepare(course / ".grading-cache")
    finally:
        sys.path.remove(str(course))
    seed_reference_times(course)
    return course


#: The reference solution's times per cell, as ``python -m grading autograde`` measured them in this test
#: session (see grading/batch/cell_times.py): {"folder": <a folder holding cell-times/>}.
_REFERENCE_TIMES: dict = {}

_MEASURE = '''
import sys
from pathlib import Path

from grading.config import load_config
from grading.batch.cell_times import reference_times
from grading.judge.references import prepare

course = Path.cwd()
cache = course / ".grading-cache"
times = reference_times(course, sys.argv[1], load_config(course, []), cache, prepare(cache), log=print)
sys.exit(0 if times else 1)
'''


def _shared_folder(course: Path) -> Path | None:
    """The folder that the pytest-xdist workers of this run share (``<basetemp>/reference-cell-times``), when
    ``course`` lies in this worker's ``popen-gwN`` folder; else None (one process: the dict above is enough)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return None
    for parent in Path(course).resolve().parents:
        if parent.name == f"popen-{worker}":
            return parent.parent / "reference-cell-times"
    return None


def _measure(course: Path) -> Path:
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([sys.executable, "-c", _MEASURE, ASSIGNMENT], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise AssertionError(f"timing the reference solution failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return course / ".grading-cache" / "cell-times"


def seed_reference_times(course: Path) -> None:
    """Give ``course`` the reference solution's times per cell and probe call, measured once per test run.

    ``python -m grading autograde`` times the reference once per course and
    machine (about a minute) and keeps the times in the course's cache
    folder; every class the tests grade has the committed limits without
    timing the reference again.  The first course that needs them measures
    them; under pytest-xdist the workers share them through a folder of the
    run's base temporary folder, the first one measuring while the others
    wait (a file lock), so that every class of the run has the same limits.
    """
    if "folder" not in _REFERENCE_TIMES:
        shared = _shared_folder(course)
        if shared is None:
            _REFERENCE_TIMES["folder"] = _measure(course)
        else:
            shared.mkdir(parents=True, exist_ok=True)
            with open(shared / "lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    if not (shared / "cell-times").is_dir():
                        shutil.copytree(_measure(course), shared / "cell-times.partial")
                        (shared / "cell-times.partial").rename(shared / "cell-times")
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            _REFERENCE_TIMES["folder"] = shared / "cell-times"
    target = course / ".grading-cache" / "cell-times"
    if _REFERENCE_TIMES["folder"] != target:
        shutil.copytree(_REFERENCE_TIMES["folder"], target, dirs_exist_ok=True)


def detached_attack_processes(course: Path) -> list[str]:
    """Command lines of the processes that the ``reads_course`` attack detached to outlive its sandbox
    (``sleep 30; echo x > <course>/detached-was-here``), for ``course`` alone: another class graded at the
    same time (another test process) has its own."""
    mark = f"sleep 30; echo x > {os.path.join(str(course), 'detached-was-here')}"
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if mark in command:
            found.append(f"{pid}: {command}")
    return found


def nbgrader(course: Path, *args: str, timeout: float | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``nbgrader *args`` in ``course`` with the environment's bin/ first on PATH."""
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(
        [os.path.join(BIN, "nbgrader"), *args],
        cwd=course, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"nbgrader {' '.join(args)} failed with exit code {proc.returncode}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


def cells_by_id(nb) -> dict:
    """Map nbgrader grade_id -> cell."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def build_submission(release_nb, solution_nb, submission, placeholders: dict | None = None):
    """The release with the reference answers filled in (unless ``submission.base`` is "release"),
    then ``submission.edits``; ``{NAME}`` placeholders in edited cells are filled from ``placeholders``."""
    nb = nbformat.from_dict(release_nb)  # copy
    if submission.untouched_release:
        return nb
    solution = cells_by_id(solution_nb)
    if submission.base == "reference":
        for grade_id, cell in cells_by_id(nb).items():
            meta = cell.metadata["nbgrader"]
            if meta.get("solution"):
                cell.source = solution[grade_id].source
    cells = cells_by_id(nb)
    for grade_id, edit in submission.edits.items():
        base = cells[grade_id].source
        if submission.base == "reference" and grade_id not in cells:
            base = solution[grade_id].source
        source = edit(base)
        for key, value in (placeholders or {}).items():
            source = source.replace("{" + key + "}", str(value))
        cells[grade_id].source = source
    return nb


def autograded_scores(course: Path) -> dict:
    """{student: {cell name: (auto_score, max_score)}} for the autograded test cells."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            out[student.id] = {
                g.name: (g.auto_score, g.max_score)
                for g in nb.grades
                if g.cell_type == "code"
            }
    return out


def load_plugins():
    """Import grading.plugins.execute from the repository root (which need not be on sys.path)."""
    import importlib

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("grading.plugins.execute")
