"""Two graders at once into one real PostgreSQL gradebook (nbgrader's ``db_url``).

The test starts its own PostgreSQL server (Debian's binaries: ``initdb``,
``pg_ctl``) on a loopback port, as an unprivileged user (PostgreSQL refuses to
run as root), creates the gradebook through nbgrader, runs two
``python -m grading autograde`` processes at the same time on different
students, and checks that every grade is there exactly once.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from assignment_fixtures.course import (
    ASSIGNMENT,
    BIN,
    NOTEBOOK,
    SOLUTION,
    build_submission,
    make_course,
    nbgrader,
    seed_reference_times,
)
from assignment_fixtures.submissions import SUBMISSIONS
from debian_packages import pg_bin

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.sandbox, pytest.mark.nbgrader]
pytest.importorskip("psycopg2")

GROUPS = (["release", "hooks"], ["prints_history", "kills_kernel"])


def _as_nobody(args, **kwargs):
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")  # there: the postgres marker checked (conftest.py)
    # Outside pytest's private temporary folder: the server's user must reach it.
    folder = Path(tempfile.mkdtemp(prefix="gm-postgres-"))
    os.chmod(folder, 0o777)
    data = folder / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = _as_nobody([initdb, "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8"])
    assert done.returncode == 0, done.stderr
    started = _as_nobody([pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "120", "-o",
                          f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"])
    assert started.returncode == 0, started.stderr + (folder / "log").read_text()
    try:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE gradebook")
        conn.close()
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/gradebook"
    finally:
        _as_nobody([pg_ctl, "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


def test_two_graders_at_once_into_one_postgresql_gradebook(postgres, tmp_path):
    course = make_course(tmp_path / "course")
    seed_reference_times(course)
    db = f"--CourseDirectory.db_url={postgres}"
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT, db)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", db)
    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    for student in sum(GROUPS, []):
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(build_submission(release, solution, SUBMISSIONS[student]), folder / NOTEBOOK)
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    runs = []
    for group in GROUPS:
        students = sum((["--student", s] for s in group), [])
        runs.append(subprocess.Popen(
            [sys.executable, "-m", "grading", "autograde", ASSIGNMENT, "--workers", "1", *students, db],
            cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    outputs = [run.communicate(timeout=1800) for run in runs]
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0, out[-3000:] + err[-3000:]
    log = (course / ".grading-cache" / "last-nbgrader-autograde.log").read_text()
    assert "database is locked" not in log and "database is locked" not in "".join(o + e for o, e in outputs)

    from nbgrader.api import Gradebook

    with Gradebook(postgres) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        submissions = {s.student.id: s for s in assignment.submissions}
        assert sorted(submissions) == sorted(sum(GROUPS, []))
        for student in submissions:
            notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            autograded = {g.name: g.auto_score for g in notebook.grades if g.cell_type == "code"}
            assert len(autograded) == 14, student  # every autograded cell once
            assert all(score == 0 for score in autograded.values()), student  # release-based: nothing earned
        count = gb.db.execute(
            __import__("sqlalchemy").text("SELECT count(*) FROM submitted_assignment")).scalar()
        assert count == len(submissions)


def _new_database(url: str, name: str) -> str:
    """Create the database ``name`` on the server of ``url``; return its URL (each test its own gradebook)."""
    import psycopg2
    from sqlalchemy.engine import make_url

    server = make_url(url)
    conn = psycopg2.connect(host=server.host, port=server.port, user=server.username, dbname="postgres")
    conn.autocommit = True
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    return f"{url.rsplit('/', 1)[0]}/{name}"


def test_report_and_export_lms_read_the_course_s_postgresql_gradebook(postgres, tmp_path):
    """The course's nbgrader_config.py names a PostgreSQL gradebook: the report and the LMS export read it, no --db."""
    db_url = _new_database(postgres, "report_gradebook")
    course = make_course(tmp_path / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    for student in ("ada", "grace"):
        nbgrader(course, "db", "student", "add", student, f"--first-name={student.title()}", "--last-name=Pg")
    assert not (course / "gradebook.db").exists()
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))

    def grading(*args):
        done = subprocess.run([sys.executable, "-m", "grading", *args], cwd=course, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    grading("report", ASSIGNMENT, "--no-similarity")
    with open(course / "reports" / ASSIGNMENT / "report.csv", newline="") as f:
        assert sorted(row["student_id"] for row in csv.DictReader(f)) == ["ada", "grace"]
    grading("export-lms", ASSIGNMENT)
    exported = (course / "exports" / ASSIGNMENT / "canvas_grades.csv").read_text()
    assert "ada" in exported and "grace" in exported
    assert not (course / "gradebook.db").exists()  # nothing read (or created) the default SQLite gradebook
