"""Grading a class on a real Dask scheduler with two workers on loopback, one of them killed mid-submission.

The scheduler and the workers are started here with Dask's own commands
(``dask scheduler``, ``dask worker``) and stopped at the end.  The class is
small and cheap (release-based submissions, a few seconds each) plus one
submission that sleeps, so that a worker can be killed while it grades it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from assignment_fixtures.course import (
    ASSIGNMENT,
    BIN,
    NOTEBOOK,
    ROOT,
    SOLUTION,
    autograded_scores,
    build_submission,
    make_course,
    nbgrader,
    seed_reference_times,
)
from assignment_fixtures.submissions import ALL_TESTS, SUBMISSIONS, Submission, prepend

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.nbgrader]
distributed = pytest.importorskip("distributed")

CLASS = {
    "release": SUBMISSIONS["release"],
    "hooks": SUBMISSIONS["hooks"],
    "prints_history": SUBMISSIONS["prints_history"],
    "slow": Submission("the release plus a 20-second sleep", {"fit_solution": prepend("import time\ntime.sleep(20)")},
                       ALL_TESTS, base="release"),
}


def _dask(*args, **kwargs):
    return subprocess.Popen([os.path.join(BIN, "dask"), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, **kwargs)


def _stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                   "--scheduler-file", str(scheduler_file), env=env, cwd=folder)]
    deadline = time.monotonic() + 120
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    address = json.loads(scheduler_file.read_text())["address"]
    workers = {}
    for name in ("w1", "w2"):
        workers[name] = _dask("worker", address, "--name", name, "--nthreads", "1", "--nworkers", "1",
                              "--no-dashboard", "--host", "127.0.0.1", "--death-timeout", "60", env=env, cwd=folder)
    client = distributed.Client(address, timeout=60)
    client.wait_for_workers(2, timeout=180)
    try:
        yield {"address": address, "client": client, "workers": workers}
    finally:
        client.close()
        for proc in [*workers.values(), *procs]:
            _stop(proc)


def test_a_class_graded_on_dask_survives_a_worker_killed_mid_submission(cluster, tmp_path):
    course = make_course(tmp_path / "course")
    seed_reference_times(course)
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    for student, submission in CLASS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(build_submission(release, solution, submission), folder / NOTEBOOK)
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    run = subprocess.Popen(
        [sys.executable, "-m", "grading", "autograde", ASSIGNMENT, "--scheduler", cluster["address"]],
        cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Kill the worker that grades the slow submission while it is at it.
    client, killed = cluster["client"], None
    deadline = time.monotonic() + 900
    while killed is None and time.monotonic() < deadline and run.poll() is None:
        processing = client.processing()
        info = client.scheduler_info()["workers"]
        for address, keys in processing.items():
            if any("grade-slow-" in str(key) for key in keys):
                name = info[address]["name"]
                time.sleep(5)  # inside the submission's 20-second cell (its kernel starts in a few seconds)
                _stop(cluster["workers"][name])
                killed = name
                break
        time.sleep(0.5)
    out, err = run.communicate(timeout=1800)
    assert killed is not None, "the slow submission was never seen on a worker"
    assert run.returncode == 0, out[-3000:] + err[-3000:]
    scores = autograded_scores(course)
    assert set(scores) == set(CLASS)
    for student, submission in CLASS.items():
        zero = {cell for cell, (got, _) in scores[student].items() if not got}
        assert zero == submission.lost, student
    results = json.loads((course / ".grading-cache" / "last-run.json").read_text())
    by_student = {}
    for result in results:
        by_student.setdefault(result["student"], []).append(result)
    assert {s: len(r) for s, r in by_student.items()} == {s: 1 for s in CLASS}, "a submission was graded twice"
    assert by_student["slow"][0]["status"] == "graded"
    graded = list((course / ".grading-cache" / "graded" / ASSIGNMENT / "slow").glob("*.ipynb"))
    assert len(graded) == 1
