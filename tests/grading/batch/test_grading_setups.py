"""Grade small classes where instructors actually grade: other environments, another user, no bubblewrap.

Each set-up grades the same small class with ``python -m grading autograde``
(the reference solution, the untouched release as the faulty one, and the
attack ``reads_course`` of the simulated class) and checks the scores in the
gradebook, that every attack failed, and that ``python -m grading doctor``
passes there (the autograde runs after it skip the repeated preflight, which
``tests/grading/batch/test_assignment_grading.py`` and the broken set-up exercise):

* the Python environment under ``/tmp`` (outside the course; its packages come
  from another folder through a ``.pth`` file): the set-up in which every
  submission used to be graded 0 of 24;
* an ordinary user (created by the test) whose environment lives in their
  home, which is otherwise hidden from the sandbox;
* bubblewrap present but unable to create namespaces (as in a Docker pod or
  on Ubuntu 24.04): the fallback layer (Landlock + seccomp) grades, and says so;
  once with a stand-in bubblewrap that fails with Ubuntu's message (the attack
  and the faulty submission), once for real under Docker's default seccomp
  profile (``tests/container_profile.py``, the whole small class);
* ``c.Sandbox.enabled = False``: the honest submissions get the same scores
  as in the sandbox;
* a broken set-up (the interpreter hidden from the sandbox): nothing is graded
  to zero, no gradebook row is written, the exit status is non-zero, and one
  line names the cause, both through ``python -m grading autograde`` and
  through plain ``nbgrader autograde``.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from assignment_fixtures.course import (
    ASSIGNMENT,
    BIN,
    NOTEBOOK,
    SOLUTION,
    autograded_scores,
    build_submission,
    detached_attack_processes,
    make_prepared_course,
)
from assignment_fixtures.submissions import ALL_TESTS, SUBMISSIONS

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.nbgrader]

CLASS = ("reference", "release", "reads_course")
HONEST = ("reference", "release")
FULL = 24.0


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A course with its gradebook, release and references prepared once (copied into each set-up)."""
    return make_prepared_course(tmp_path_factory.mktemp("setups") / "course")


def _course_copy(template: Path, target: Path, students=CLASS) -> Path:
    """A copy of the course with the submissions ``students`` ({student: simulated submission} or names)."""
    shutil.copytree(template, target, symlinks=True)
    release = nbformat.read(target / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    if not isinstance(students, dict):
        students = {s: s for s in students}
    for student, name in students.items():
        folder = target / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nb = build_submission(release, solution, SUBMISSIONS[name], {"COURSE": target, "PORT": 9})
        nbformat.write(nb, folder / NOTEBOOK)
    return target


def _environment_elsewhere(folder: Path, base_python: str) -> Path:
    """A virtual environment in ``folder`` whose packages are this environment's (a .pth file adds them)."""
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True)
    site = subprocess.run([str(folder / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    lines = [f"import site; site.addsitedir({p!r})" for p in sorted(ours)]
    Path(site, "zz-grading-environment.pth").write_text("\n".join(lines) + "\n")
    return folder / "bin" / "python"


def _grade(course: Path, python: str, *args, user: str | None = None, env_extra=None, timeout=1800, wrapper=()):
    env = {"PATH": f"{os.path.dirname(python)}{os.pathsep}{BIN}{os.pathsep}/usr/bin:/bin", "LANG": "C.UTF-8",
           "HOME": str(Path(pwd.getpwnam(user).pw_dir) if user else os.environ.get("HOME", "/root"))}
    for key in ("OPENBLAS_CORETYPE",):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(env_extra or {})
    runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"
    prefix = [runuser, "-u", user, "--"] if user else []
    return subprocess.run([*prefix, *wrapper, python, "-m", "grading", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _gradebook_rows(course: Path) -> int:
    with sqlite3.connect(course / "gradebook.db") as db:
        return db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]


def _totals(course: Path) -> dict:
    return {student: sum(got or 0 for got, _ in cells.values()) for student, cells in autograded_scores(course).items()}


def _check_class(course: Path, out, students=CLASS):
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    # nbgrader recorded what the workers graded; it graded nothing again itself
    log = (course / ".grading-cache" / "last-nbgrader-autograde.log").read_text()
    assert "grading it now" not in log and "graded already" in log, log[-3000:]
    scores = autograded_scores(course)
    assert set(scores) == set(students), out.stdout + out.stderr[-3000:]
    totals = _totals(course)
    if "reference" in students:
        assert totals["reference"] == FULL, scores["reference"]
        assert set(scores["reference"]) == set(ALL_TESTS)
    assert totals["release"] == 0
    if "reads_course" in students:
        assert totals["reads_course"] == 0
        graded = nbformat.read(course / "autograded" / "reads_course" / ASSIGNMENT / NOTEBOOK, as_version=4)
        text = "\n".join(o.get("text", "") for c in graded.cells for o in c.get("outputs", []))
        line = next((line for line in text.splitlines() if "ATTACK RESULTS" in line), None)
        assert line is not None, "the attack did not run"
        assert "SUCCEEDED" not in line, line
        assert not (course.parent / "pwned-outside.txt").exists()
        assert not (course / "autograded" / "reference" / ASSIGNMENT / "pwned.txt").exists()
        time.sleep(1)
        found = detached_attack_processes(course)
        assert not found, f"a detached process outlived its sandbox: {found}"
    return totals


def _doctor(course: Path, python: str, *args, user=None, wrapper=()):
    out = _grade(course, python, "doctor", *args, user=user, timeout=600, wrapper=wrapper)
    print(f"\n$ python -m grading doctor {' '.join(args)}\n{out.stdout}{out.stderr[-2000:]}")
    return out


@pytest.fixture(scope="module")
def sandboxed_totals():
    return {}


@pytest.mark.sandbox("bubblewrap")
def test_an_environment_under_tmp_grades_the_reference_24_of_24(template, tmp_path, sandboxed_totals):
    course = _course_copy(template, tmp_path / "course")
    env_dir = Path(tempfile.mkdtemp(prefix="gm-env-", dir="/tmp"))
    try:
        python = str(_environment_elsewhere(env_dir / "venv", sys.executable))
        doctor = _doctor(course, python)
        assert doctor.returncode == 0 and "sandbox layer: bubblewrap" in doctor.stdout, doctor.stdout + doctor.stderr
        assert f"{env_dir}/venv" in doctor.stdout  # the environment under /tmp is shown inside
        t0 = time.monotonic()
        out = _grade(course, python, "autograde", ASSIGNMENT, "--workers", "2", "--no-doctor")  # (just run)
        print(f"environment under /tmp: graded {len(CLASS)} in {time.monotonic() - t0:.0f} s\n{out.stdout}")
        sandboxed_totals.update(_check_class(course, out))
    finally:
        shutil.rmtree(env_dir, ignore_errors=True)


@pytest.mark.sandbox("bubblewrap")
def test_an_ordinary_user_with_the_environment_in_their_home(template, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("creating a user needs root")
    base = shutil.which("python3.11", path="/usr/bin")
    if base is None or sys.version_info[:2] != (3, 11):
        pytest.skip("needs the system's Python 3.11 beside this 3.11 (the other user cannot run root's Python)")
    user = f"gmgrader{os.getpid() % 100000}"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", user], check=True, capture_output=True)
    try:
        home = Path(pwd.getpwnam(user).pw_dir)
        os.chmod(home, 0o700)
        course = _course_copy(template, home / "course")
        python = str(_environment_elsewhere(home / "venv", base))
        subprocess.run(["chown", "-R", f"{user}:{user}", str(home)], check=True)
        # The user's environment takes its packages from this one: the test needs them readable by that user.
        runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"
        readable = subprocess.run([runuser, "-u", user, "--", python, "-c", "import nbgrader, traitlets, grading"],
                                  cwd=course, capture_output=True, text=True)
        assert readable.returncode == 0, (
            f"this test's own set-up failed: user {user} cannot import this environment's packages "
            f"({sysconfig.get_paths()['purelib']}); is a folder above it private? {readable.stderr[-500:]}")
        doctor = _doctor(course, python, user=user)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "sandbox layer: bubblewrap" in doctor.stdout and "running as uid" in doctor.stdout
        assert "RLIMIT_AS" in doctor.stdout  # no cgroup for an ordinary user: the memory limit is an rlimit
        t0 = time.monotonic()
        out = _grade(course, python, "autograde", ASSIGNMENT, "--workers", "2", "--no-doctor", user=user)
        print(f"ordinary user: graded {len(CLASS)} in {time.monotonic() - t0:.0f} s\n{out.stdout}")
        _check_class(course, out)
        # The same user where bubblewrap cannot run (Ubuntu 24.04's AppArmor restriction): the fallback layer.
        bwrap = _failing_bwrap(home)
        subprocess.run(["chown", f"{user}:{user}", bwrap], check=True)
        doctor = _doctor(course, python, f"--Sandbox.bwrap={bwrap}", user=user)
        assert doctor.returncode == 0 and "sandbox layer: landlock" in doctor.stdout, doctor.stdout + doctor.stderr
    finally:
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        subprocess.run(["userdel", "--remove", user], capture_output=True)


def _failing_bwrap(folder: Path) -> str:
    """A bubblewrap that fails as it does in a container or under Ubuntu 24.04's AppArmor restriction."""
    path = folder / "bwrap"
    path.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    path.chmod(0o755)
    return str(path)


#: Where bubblewrap fails with Ubuntu's message, the attack and the faulty submission are graded: the
#: reference's 24/24 in the landlock layer is shown under the container profile below (the same layer, reached
#: through a real failure) and by the landlock class of ``test_grading_boundaries.py``.
STAND_IN_CLASS = ("release", "reads_course")


def test_where_bubblewrap_cannot_run_the_fallback_layer_grades(template, tmp_path, sandboxed_totals):
    course = _course_copy(template, tmp_path / "course", students=STAND_IN_CLASS)
    bwrap = _failing_bwrap(tmp_path)
    doctor = _doctor(course, sys.executable, f"--Sandbox.bwrap={bwrap}")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "sandbox layer: landlock" in doctor.stdout and "setting up uid map" in doctor.stdout
    t0 = time.monotonic()
    out = _grade(course, sys.executable, "autograde", ASSIGNMENT, "--workers", "2", "--no-doctor",
                 f"--Sandbox.bwrap={bwrap}")
    print(f"fallback layer: graded {len(STAND_IN_CLASS)} in {time.monotonic() - t0:.0f} s\n{out.stdout}")
    assert "sandbox layer: landlock, the weaker fallback layer" in out.stderr
    totals = _check_class(course, out, students=STAND_IN_CLASS)
    if sandboxed_totals:
        assert {s: totals[s] for s in STAND_IN_CLASS} == {s: sandboxed_totals[s] for s in STAND_IN_CLASS}


@pytest.mark.sandbox("bubblewrap")
def test_in_a_container_that_forbids_namespaces_the_fallback_layer_grades(template, tmp_path, sandboxed_totals):
    # Docker's default seccomp profile, loaded for real: bubblewrap itself fails to create its
    # namespaces (not a stand-in script), and everything the grader starts inherits the filter.
    course = _course_copy(template, tmp_path / "course")
    wrapper = (sys.executable, str(Path(__file__).resolve().parents[2] / "container_profile.py"))
    doctor = _doctor(course, sys.executable, wrapper=wrapper)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "sandbox layer: landlock" in doctor.stdout and "create new namespace" in doctor.stdout, doctor.stdout
    t0 = time.monotonic()
    out = _grade(course, sys.executable, "autograde", ASSIGNMENT, "--workers", "2", "--no-doctor", wrapper=wrapper)
    print(f"container profile: graded {len(CLASS)} in {time.monotonic() - t0:.0f} s\n{out.stdout}")
    assert "sandbox layer: landlock, the weaker fallback layer" in out.stderr
    totals = _check_class(course, out)
    if sandboxed_totals:
        assert {s: totals[s] for s in CLASS} == {s: sandboxed_totals[s] for s in CLASS}


def test_without_a_sandbox_honest_submissions_get_the_sandboxed_scores(template, tmp_path, sandboxed_totals):
    course = _course_copy(template, tmp_path / "course", students=HONEST)
    doctor = _doctor(course, sys.executable, "--Sandbox.enabled=False")
    assert doctor.returncode == 0 and "NONE (c.Sandbox.enabled = False)" in doctor.stdout, doctor.stdout
    out = _grade(course, sys.executable, "autograde", ASSIGNMENT, "--workers", "2", "--no-doctor",
                 "--Sandbox.enabled=False")
    totals = _check_class(course, out, students=HONEST)
    assert "GRADING WITHOUT A SANDBOX" in out.stderr or "NONE" in out.stderr
    expected = sandboxed_totals or {"reference": FULL, "release": 0.0}
    assert {s: totals[s] for s in HONEST} == {s: expected[s] for s in HONEST}


def test_a_broken_setup_records_nothing_exits_non_zero_and_names_the_cause(template, tmp_path):
    students = {**{s: s for s in CLASS}, "late_a": "release", "late_b": "release", "late_c": "release"}
    course = _course_copy(template, tmp_path / "course", students=students)
    env_dir = Path(tempfile.mkdtemp(prefix="gm-env-", dir="/tmp"))
    try:
        python = str(_environment_elsewhere(env_dir / "venv", sys.executable))
        # The instructor protects the folder the environment is in: the sandbox cannot show the interpreter.
        with open(course / "nbgrader_config.py", "a") as f:
            f.write(f"\nc.Sandbox.protected_paths = [{str(env_dir)!r}]\n")
        broken = "--Sandbox.memory_limit=4294967296"  # (an override passed on as usual)
        doctor = _doctor(course, python, broken)
        assert doctor.returncode == 1 and "grading will NOT work here: Python inside" in doctor.stdout
        out = _grade(course, python, "autograde", ASSIGNMENT, broken)
        assert out.returncode == 1
        assert _gradebook_rows(course) == 0 and not (course / "autograded").exists()
        last = out.stderr.strip().splitlines()[-1]
        assert "nothing was graded" in last and "Python inside" in last, out.stderr[-3000:]
        # Without the preflight, the grading itself stops at once, as not gradable, with nothing recorded.
        out = _grade(course, python, "autograde", ASSIGNMENT, broken, "--no-doctor", "--workers", "1")
        assert out.returncode == 1
        assert _gradebook_rows(course) == 0 and not (course / "autograded").exists()
        last = out.stderr.strip().splitlines()[-1]
        assert "not gradable, nothing recorded" in last and "kernel could not be started" in last, out.stderr[-3000:]
        assert "Fix: run `python -m grading doctor`" in last
        assert "not gradable" in out.stdout and "stopped" in out.stdout
        report = _grade(course, python, "report", ASSIGNMENT, "--no-similarity")
        assert report.returncode == 0, report.stderr[-2000:]
        import csv

        with open(course / "reports" / ASSIGNMENT / "report.csv") as f:
            rows = {row["student_id"]: row for row in csv.DictReader(f)}
        summary = json.loads((course / ".grading-cache" / "last-run.json").read_text())
        for record in summary:  # the report lists every one: the cause, or that it was never recorded
            listed = rows[record["student"]]["not_gradable"]
            assert ("kernel could not be started" in listed) if record["status"] == "not gradable" else listed
        assert [r["status"] for r in summary].count("not gradable") == 3  # then the run stopped
        assert {r["status"] for r in summary} == {"not gradable", "stopped"}
        # Plain nbgrader autograde through SandboxedExecute: a failure for each, and no row at all.
        env = {"PATH": f"{os.path.dirname(python)}{os.pathsep}{BIN}{os.pathsep}/usr/bin:/bin", "HOME": "/root"}
        t0 = time.monotonic()
        plain = subprocess.run([python, "-m", "nbgrader", "autograde", ASSIGNMENT], cwd=course, env=env,
                               capture_output=True, text=True, timeout=900)
        assert time.monotonic() - t0 < 120  # every submission stops at once: the preflight failed
        assert plain.returncode != 0
        assert "NOT GRADABLE, nothing recorded" in plain.stdout + plain.stderr
        assert _gradebook_rows(course) == 0
    finally:
        shutil.rmtree(env_dir, ignore_errors=True)
