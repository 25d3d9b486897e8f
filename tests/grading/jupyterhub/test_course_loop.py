"""The course's whole loop through its JupyterHub and a real browser (issue #24).

A JupyterHub started by ``python -m grading.jupyterhub`` on loopback (the
committed ``grading/jupyterhub/`` configuration, the proxy from npm, local
process spawner, one shared password), Unix users created by the test (an
instructor, three students), nbgrader's exchange in a folder of the test.
Debian's Chromium, driven by Playwright, is each user:

* the instructor releases the assignment (the due date 36 hours ago, an
  extension for two students);
* **ada** fetches in the Assignments tab, submits the release as a draft, then
  writes the reference solution, validates and submits again (the later one
  is graded); **bob** writes a faulty solution, validates and submits after
  the deadline (no extension: late); **cyd** validates and submits the
  untouched release; **dee** is on the roster and never submits;
* the instructor runs ``nbgrader collect`` and ``python -m grading autograde
  --workers 2`` (as their own user: bubblewrap unprivileged), grades the
  written answers in the formgrader page in the browser (a score and a
  comment each), ``generate_feedback``, ``release_feedback``, ``nbgrader
  export``, ``python -m grading report`` and ``export-lms``;
* the students fetch their feedback in the Assignments tab and read their
  scores and the checks' messages.

The formgrader is opened as its own page (``/user/<instructor>/formgrader``):
the test checks that JupyterHub's ``frame-ancestors 'none'`` is sent, which is
why JupyterLab's embedded Formgrader tab stays blank (nbgrader #1870).
Screenshots go to the test's tmp folder.  Phase times are printed.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from assignment_fixtures.course import ASSIGNMENT, NOTEBOOK, SOLUTION, build_submission, make_prepared_course
from assignment_fixtures.submissions import SUBMISSIONS
from bookcheck import chromium_for_tests
from course_loop.browser import HubSession, launch, open_assignments_as
from course_loop.hub import Hub, as_user, create_user, remove_user, system_python, users_python
from debian_packages import in_ci, need

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.nbgrader, pytest.mark.browser]

PASSWORD = "course-loop-" + os.urandom(6).hex()
MANUAL = {  # student -> grade id -> (points, comment)
    "ada": {"exercise1_answer": (2.0, "Clear and complete."), "exercise2_answer": (1.5, "Right idea; say why c > 0."),
            "exercise4_answer": (2.0, None)},
    "bob": {"exercise1_answer": (1.0, None), "exercise2_answer": (0.5, "The covariance is singular without c."),
            "exercise4_answer": (1.0, None)},
    "cyd": {"exercise1_answer": (0.0, "No answer."), "exercise2_answer": (0.0, None), "exercise4_answer": (0.0, None)},
}
FAULTY = "no_regularization"


class Phases:
    def __init__(self):
        self.times, self._t = {}, time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.times[name] = round(now - self._t, 1)
        self._t = now

    def report(self) -> str:
        return "phases (s): " + ", ".join(f"{k} {v}" for k, v in self.times.items()) + f"; total {sum(self.times.values()):.1f}"


def _ro(db: Path, query: str, *args):
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return con.execute(query, args).fetchall()


def _submission_ids(course: Path) -> dict:
    rows = _ro(course / "gradebook.db", """
        SELECT submitted_notebook.id, submitted_assignment.student_id FROM submitted_notebook
        JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id""")
    return {student: sid for sid, student in rows}


def _grades(course: Path) -> dict:
    """{student: {grade id: (auto, manual, max)}} from the gradebook (read-only)."""
    rows = _ro(course / "gradebook.db", """
        SELECT submitted_assignment.student_id, base_cell.name, grade.auto_score, grade.manual_score, grade_cells.max_score
        FROM grade JOIN grade_cells ON grade.cell_id = grade_cells.id JOIN base_cell ON base_cell.id = grade_cells.id
        JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id
        JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id""")
    out: dict = {}
    for student, name, auto, manual, full in rows:
        out.setdefault(student, {})[name] = (auto, manual, full)
    return out


def _sourced(env_file: Path, user: str) -> dict:
    """The environment after ``. env_file`` in a shell of ``user`` (as the instructors' guide has them do)."""
    out = as_user(user, ["/bin/sh", "-c", f". {env_file} && env -0"], Path("/"), {"PATH": "/usr/bin:/bin"}, timeout=60)
    assert out.returncode == 0, out.stderr
    env = dict(item.split("=", 1) for item in out.stdout.split("\0") if "=" in item)
    return {k: v for k, v in env.items() if k.startswith(("GM_", "JUPYTER_")) or k in ("PATH", "LANG")}


def _comments(course: Path) -> dict:
    """{"student:grade id": the grader's comment} from the gradebook (read-only)."""
    return dict(_ro(course / "gradebook.db", """
        SELECT submitted_assignment.student_id || ':' || base_cell.name, comment.manual_comment
        FROM comment JOIN base_cell ON comment.cell_id = base_cell.id
        JOIN submitted_notebook ON comment.notebook_id = submitted_notebook.id
        JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id"""))


def _saved(course: Path, student: str, answers: dict) -> bool:
    """Whether the gradebook holds every score and comment of ``answers`` for ``student``."""
    grades, comments = _grades(course)[student], _comments(course)
    return all(grades[g][1] == points and (comment is None or comments.get(f"{student}:{g}") == comment)
               for g, (points, comment) in answers.items())


@pytest.fixture
def world(tmp_path_factory):
    """Users, a Python they can run, the prepared course in the instructor's home, the exchange; removed after."""
    if os.geteuid() != 0:
        pytest.skip("the hub's local process spawner and the test's users need root")
    if system_python() is None:
        message = "needs the system's Python of this version (the users cannot run an interpreter under /root)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    need("configurable-http-proxy")
    executable = chromium_for_tests()
    tag = f"{os.getpid() % 100000}"
    names = {"instructor": f"gmi{tag}", "ada": f"gma{tag}", "bob": f"gmb{tag}", "cyd": f"gmc{tag}", "dee": f"gmd{tag}"}
    base = Path(tempfile.mkdtemp(prefix="gm-course-loop-", dir="/tmp"))
    base.chmod(0o755)
    created = []
    try:
        template = make_prepared_course(tmp_path_factory.mktemp("course-template"))
        python = users_python(base / "venv")
        for key in ("instructor", "ada", "bob", "cyd"):  # dee is on the course's roster only
            create_user(names[key])
            created.append(names[key])
        course = Path(f"/home/{names['instructor']}") / "course"
        shutil.copytree(template, course, symlinks=True)
        subprocess.run(["chown", "-R", f"{names['instructor']}:{names['instructor']}", str(course)], check=True)
        password = base / "password"
        password.write_text(PASSWORD + "\n")
        password.chmod(0o600)
        yield {"base": base, "course": course, "python": python, "names": names, "password": password,
               "chromium": executable}
    finally:
        for name in created:
            remove_user(name)
        shutil.rmtree(base, ignore_errors=True)


def test_the_course_loop_through_jupyterhub_and_the_browser(world, tmp_path):
    from playwright.sync_api import sync_playwright

    phases = Phases()
    base, course, python, names = world["base"], world["course"], world["python"], world["names"]
    instructor = names["instructor"]
    student_ids = {names[k]: k for k in ("ada", "bob", "cyd", "dee")}
    state, exchange = base / "state", base / "exchange"
    env = {"HOME": f"/home/{instructor}"}  # and, once the hub has written it, STATE/instructor.env (below)

    def instructor_run(*args, timeout=1200) -> subprocess.CompletedProcess:
        proc = as_user(instructor, list(args), course, env, timeout=timeout)
        assert proc.returncode == 0, f"{args} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        return proc

    hub = Hub(course=course, instructor=instructor, students=[names[k] for k in ("ada", "bob", "cyd")],
              exchange=exchange, state=state, python=python, password_file=world["password"], log=base / "hub.log")
    # the instructor's commands see what a terminal of their server sees: STATE/instructor.env
    env.update(_sourced(state / "instructor.env", instructor))
    try:
        # ---- the instructor: roster, due date 36 hours ago, release ----
        due = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=36)
        instructor_run("nbgrader", "db", "assignment", "add", ASSIGNMENT, f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC")
        for key in ("ada", "bob", "cyd", "dee"):
            instructor_run("nbgrader", "db", "student", "add", names[key], f"--first-name={key.title()}",
                           f"--last-name=Student{key.title()}")
        instructor_run("nbgrader", "release_assignment", ASSIGNMENT)
        phases.done("setup")

        release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
        solution = nbformat.read(SOLUTION, as_version=4)
        path = f"{ASSIGNMENT}/{NOTEBOOK}"
        validations = {}
        with sync_playwright() as pw:
            browser = launch(pw, world["chromium"], str(base / "chromium-profile"))
            browser.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith(("http://127.0.0.1:", "data:", "about:", "blob:"))
                          else route.abort())
            try:
                # ---- the students ----
                for key in ("ada", "cyd", "bob"):
                    s = open_assignments_as(browser, hub.url, names[key], PASSWORD)
                    s.fetch(ASSIGNMENT)
                    if key == "ada":
                        s.page.screenshot(path=tmp_path / "student-assignments-tab.png")
                        s.submit(ASSIGNMENT)  # a first draft: the release as fetched
                        time.sleep(1.1)  # nbgrader's timestamps: the second submission is later
                        s.put_notebook(path, build_submission(release, solution, SUBMISSIONS["reference"]))
                    elif key == "bob":
                        s.put_notebook(path, build_submission(release, solution, SUBMISSIONS[FAULTY]))
                    s.refresh()
                    validations[key] = s.validate(ASSIGNMENT)
                    s.submit(ASSIGNMENT)
                    s.page.screenshot(path=tmp_path / f"assignments-{key}.png")
                    s.close()
                phases.done("students fetch write validate submit")
                assert "Success! Your notebook passes all the tests." in validations["ada"][0], validations["ada"][0][:2000]
                for key in ("bob", "cyd"):
                    assert "The following cell failed:" in validations[key][0], (key, validations[key][0][:2000])

                # ---- the instructor: collect, autograde ----
                collected = instructor_run("nbgrader", "collect", ASSIGNMENT)
                submitted = {p.name for p in (course / "submitted").iterdir()}
                assert submitted == {names[k] for k in ("ada", "bob", "cyd")}, (submitted, collected.stderr[-3000:])
                inbound = sorted(p.name for p in (exchange / "generative-mnist" / "inbound").iterdir()
                                 if p.name.startswith(names["ada"] + "+"))
                assert len(inbound) == 2, inbound  # ada submitted twice ...
                ada_ts = (course / "submitted" / names["ada"] / ASSIGNMENT / "timestamp.txt").read_text().strip()
                latest = max(n.split("+")[2] for n in inbound)
                assert ada_ts == latest, (ada_ts, inbound)  # ... and the later one was collected
                # extensions before autograde (which applies the late penalty against the due date plus the
                # extension): 3 days for ada and cyd, none for bob; nbgrader keeps them on a submission's row
                instructor_run(python, "-c", "import sys\nfrom nbgrader.api import Gradebook\n"
                               "with Gradebook('sqlite:///gradebook.db') as gb:\n"
                               "    for student in sys.argv[2:]:\n"
                               "        gb.update_or_create_submission(sys.argv[1], student)\n"
                               "        gb.grant_extension(sys.argv[1], student, days=3)",
                               ASSIGNMENT, names["ada"], names["cyd"])
                phases.done("collect")
                graded = instructor_run(python, "-m", "grading", "autograde", ASSIGNMENT, "--workers", "2", timeout=1800)
                print(graded.stdout[-3000:])
                phases.done("autograde")
                grades = _grades(course)
                full = {n: g for n, g in grades[names["ada"]].items() if n.startswith("test_")}
                assert all(auto == mx for auto, _, mx in full.values()), full
                lost_bob = {n for n, (auto, _, mx) in grades[names["bob"]].items() if n.startswith("test_") and auto != mx}
                assert lost_bob == set(SUBMISSIONS[FAULTY].lost), lost_bob
                assert all(auto == 0 for n, (auto, _, _) in grades[names["cyd"]].items() if n.startswith("test_"))

                # ---- the instructor: the formgrader, as its own page ----
                browser.clear_cookies()
                teacher = HubSession(browser, hub.url, instructor, PASSWORD)
                teacher.open_lab()
                response = teacher.page.request.get(f"{teacher.base}/formgrader")
                assert response.ok, response.status
                assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), response.headers
                # ... so JupyterLab's Formgrader tab (a frame) stays empty (nbgrader #1870) ...
                teacher.page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
                teacher.page.locator(".lm-Menu-itemLabel", has_text="Formgrader").first.click()
                teacher.page.wait_for_selector("iframe[src*='formgrader']", timeout=30_000)
                deadline = time.monotonic() + 20
                while not any("frame-ancestors 'none'" in m for m in teacher.console):
                    assert time.monotonic() < deadline, f"Chromium did not refuse the frame: {teacher.console[-10:]}"
                    teacher.page.wait_for_timeout(250)
                for frame in teacher.page.frames:
                    assert frame == teacher.page.main_frame or not frame.locator("text=Manage Assignments").count()
                # ... and the formgrader works as its own page
                teacher.page.goto(f"{teacher.base}/formgrader")
                teacher.page.wait_for_selector("text=Manage Assignments", timeout=60_000)
                ids = _submission_ids(course)
                for key, answers in MANUAL.items():
                    opened = teacher.page.goto(f"{teacher.base}/formgrader/submissions/{ids[names[key]]}/?index=0")
                    assert opened is not None and opened.ok, (key, opened and opened.status, teacher.page.url,
                                                              teacher.page.locator("body").inner_text()[:3000])
                    try:
                        teacher.page.wait_for_selector("input.score#exercise1_answer", timeout=60_000)
                    except Exception as exc:
                        teacher.page.screenshot(path=tmp_path / f"formgrader-{key}-failed.png", full_page=True)
                        raise AssertionError(f"no score box on {teacher.page.url}: "
                                             f"{teacher.page.locator('body').inner_text()[:3000]}\n{teacher.console[-20:]}") from exc
                    # the page's grades and comments are bound to their inputs only after two API calls: a
                    # score typed before that is never saved (formgrader.loaded stays false here: its init
                    # ends with MathJax, from a CDN this test does not reach)
                    teacher.page.wait_for_function(
                        "window.formgrader && formgrader.grades && formgrader.grades.loaded"
                        " && formgrader.comments && formgrader.comments.loaded", timeout=60_000)
                    for grade_id, (points, comment) in answers.items():
                        box = teacher.page.locator(f"input.score#{grade_id}")
                        box.fill(f"{points:g}")
                        box.press("Tab")
                        if comment:
                            area = teacher.page.locator(f"textarea#{grade_id}-comment")
                            area.fill(comment)
                            area.press("Tab")
                        teacher.page.wait_for_timeout(400)
                    if key == "bob":
                        teacher.page.screenshot(path=tmp_path / "formgrader-submission.png", full_page=False)
                    deadline = time.monotonic() + 60  # saved (the formgrader's PUTs answered) before leaving the page
                    while not _saved(course, names[key], answers):
                        assert time.monotonic() < deadline, (key, _grades(course)[names[key]], teacher.console[-10:])
                        teacher.page.wait_for_timeout(300)
                teacher.close()
                grades = _grades(course)
                for key, answers in MANUAL.items():
                    for grade_id, (points, _) in answers.items():
                        assert grades[names[key]][grade_id][1] == points, (key, grade_id, grades[names[key]][grade_id])
                comments = _comments(course)
                assert comments[f"{names['bob']}:exercise2_answer"] == MANUAL["bob"]["exercise2_answer"][1], comments
                phases.done("formgrader")

                # ---- feedback, export ----
                instructor_run("nbgrader", "generate_feedback", ASSIGNMENT)
                instructor_run("nbgrader", "release_feedback", ASSIGNMENT)
                instructor_run("nbgrader", "export")
                instructor_run(python, "-m", "grading", "export-lms", ASSIGNMENT, "--canvas-column",
                               "Gaussian generative (48213)")
                instructor_run(python, "-m", "grading", "report", ASSIGNMENT, "--no-similarity")
                phases.done("feedback and export")
                with open(course / "grades.csv") as f:
                    rows = {r["student_id"]: r for r in csv.DictReader(f)}
                assert set(rows) == set(student_ids), rows.keys()
                auto = {s: sum(a or 0 for n, (a, _, _) in g.items() if n.startswith("test_")) for s, g in grades.items()}
                manual = {names[k]: sum(p for p, _ in v.values()) for k, v in MANUAL.items()}
                # bob submitted between 36 and 37 hours after the due date: 2 started days, 20% of 30 points,
                # at most the points autograded (nbgrader's cap)
                from nbgrader.utils import parse_utc

                bob_ts = parse_utc((course / "submitted" / names["bob"] / ASSIGNMENT / "timestamp.txt").read_text().strip())
                bob_ts = bob_ts if bob_ts.tzinfo else bob_ts.replace(tzinfo=dt.timezone.utc)
                late_hours = (bob_ts - due).total_seconds() / 3600
                assert 36 < late_hours < 48, late_hours
                penalty = {names["ada"]: 0.0, names["cyd"]: 0.0, names["bob"]: min(6.0, auto[names["bob"]])}
                for student in (names["ada"], names["bob"], names["cyd"]):
                    r = rows[student]
                    assert float(r["raw_score"]) == pytest.approx(auto[student] + manual[student]), r
                    assert float(r["late_submission_penalty"]) == pytest.approx(penalty[student]), r
                    assert float(r["score"]) == pytest.approx(auto[student] + manual[student] - penalty[student]), r
                assert float(rows[names["ada"]]["score"]) == 24 + 5.5
                assert float(rows[names["dee"]]["score"]) == 0 and not rows[names["dee"]]["timestamp"], rows[names["dee"]]
                with open(course / "reports" / ASSIGNMENT / "report.csv") as f:
                    report = {r["student_id"]: r for r in csv.DictReader(f)}
                for student, r in rows.items():
                    assert float(report[student]["score"]) == pytest.approx(float(r["score"])), (student, report[student])
                assert report[names["dee"]]["submitted"] == "0"
                assert float(report[names["bob"]]["late_penalty"]) == penalty[names["bob"]]
                with open(course / "exports" / ASSIGNMENT / "canvas_grades.csv") as f:
                    canvas = list(csv.reader(f))
                column = canvas[0].index("Gaussian generative (48213)")
                by_login = {row[3]: row[column] for row in canvas[2:]}
                assert {k: float(v) for k, v in by_login.items()} == {s: float(r["score"]) for s, r in rows.items()}

                # ---- the students read their feedback ----
                for key in ("ada", "bob", "cyd"):
                    s = open_assignments_as(browser, hub.url, names[key], PASSWORD)
                    s.fetch_feedback(ASSIGNMENT)
                    if key == "bob":
                        s.page.screenshot(path=tmp_path / "student-feedback-fetched.png")
                    answer = s.api_get(f"contents/{ASSIGNMENT}/feedback")
                    assert answer["status"] == 200, answer
                    listing = json.loads(answer["body"])
                    (folder,) = [e["name"] for e in listing["content"]]
                    s.page.goto(f"{s.base}/files/{ASSIGNMENT}/feedback/{folder}/{ASSIGNMENT}.html")
                    # the maths is typeset offline, by the MathJax written into the page (grading/feedback_page.py)
                    s.page.locator("mjx-container").first.wait_for(timeout=60_000)
                    text = " ".join(s.page.locator("body").inner_text().split())
                    assert "\\pi_j" not in text and "\\Sigma_j" not in text, (key, text[:800])
                    score = float(rows[names[key]]["score"])
                    assert f"(Score: {score:.1f} / 30.0)" in text or f"(Score: {score:g} / 30" in text, (key, text[:500])
                    failed = s.page.locator("div.failed-cell").count()
                    lost = {n for n, (a, _, mx) in grades[names[key]].items() if n.startswith("test_") and a != mx}
                    assert failed == len(lost), (key, failed, lost)
                    for _points, comment in MANUAL[key].values():
                        if comment:
                            assert comment in text, (key, comment)
                    if key == "bob":
                        graded_nb = nbformat.read(course / "autograded" / names["bob"] / ASSIGNMENT / NOTEBOOK, as_version=4)
                        messages = [o.get("evalue", "") for c in graded_nb.cells
                                    if c.metadata.get("nbgrader", {}).get("grade_id") in lost
                                    for o in c.get("outputs", []) if o.get("output_type") == "error"]
                        assert messages, "bob's failed checks left no message"
                        for message in messages:
                            assert " ".join(message.split())[:80] in text, message
                        assert "Late submission penalty" in text
                        s.page.screenshot(path=tmp_path / "student-feedback.png", full_page=False)
                    s.close()
                phases.done("students read their feedback")
            finally:
                browser.close()
    finally:
        hub.stop()
        shutil.copyfile(hub.log_path, tmp_path / "hub.log")  # the hub's and the users' servers' log, kept
        print(f"\n{phases.report()}\nvalidation (s): " + ", ".join(f"{k} {v[1]:.1f}" for k, v in validations.items())
              if "validations" in locals() else phases.report())
        print(f"screenshots: {tmp_path}")
