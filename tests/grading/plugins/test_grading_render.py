"""Nothing a student's notebook carries runs in the browser that shows it: formgrader and feedback, in Chromium.

The class of ``assignment_fixtures/boundary_class.py`` is graded for real
(``python -m grading autograde``, 2 workers, bubblewrap layer); read here are
the honest ``0channel`` (the solution plus an attack that changes nothing while
the sandbox's wall holds) and ``scripts``
(``assignment_fixtures/render_attacks.py``: outputs with ``<script>``,
``Javascript``, an SVG with ``onload``, ``<img onerror>``, ``<iframe srcdoc>``,
and written answers made of raw HTML with event handlers).  Every payload,
if it ran, would write ``pwned-<vector>.txt`` through the Jupyter contents
API, request ``/beacon/<vector>``, log ``PWNED <vector>`` and set
``window.__pwned``.

* **formgrader**: a real Jupyter server with nbgrader's formgrader on
  loopback; Chromium (Playwright) opens the ``scripts`` submission's grading
  page as the instructor (token login) and enters a manual score;
* **feedback**: real ``nbgrader generate_feedback``; Chromium opens the
  student's feedback page from a local HTTP server that records every
  request;
* **control**: the same vectors in an unsanitized rendering (nbconvert's
  HTMLExporter of the notebook with its outputs) served on the same two
  origins do fire, so the detection works.

Nothing runs only if the grader sanitizes what nbgrader renders
(``grading/judge/sanitize.py``): the code outputs, and also the markdown cells,
which ``nbgrader autograde`` takes from the submission, not from the graded
copy (``grading.plugins.sanitize.SanitizeNotebook`` in
``c.Autograde.autograde_preprocessors``).  Screenshots go to the test's
tmp_path.
"""

from __future__ import annotations

import http.server
import os
import secrets
import socket
import subprocess
import threading
from pathlib import Path

import nbformat
import pytest

from assignment_fixtures.boundary_class import HONEST, SCRIPTS
from assignment_fixtures.course import ASSIGNMENT, BIN, NOTEBOOK, SOLUTION, autograded_scores, nbgrader
from assignment_fixtures.render_attacks import ANSWERS, unsanitized_notebook
from bookcheck import chromium_for_tests
from servers import wait_until_serving

pytestmark = [pytest.mark.slow, pytest.mark.sandbox("bubblewrap"), pytest.mark.nbgrader]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SETTLE_MS = 2500  # after "load": handlers, fetches and toggles have long fired by then


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    return dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture(scope="module")
def course(boundary_classes):
    """The class of boundary attacks graded in the bubblewrap layer (``python -m grading autograde``, 2 workers;
    ``assignment_fixtures/boundary_class.py``), with its feedback generated."""
    graded = boundary_classes.get("bubblewrap")
    course = graded["course"]
    assert graded["returncode"] == 0, graded["stdout"][-3000:] + graded["stderr"][-6000:]
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--student", SCRIPTS)
    return course


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (no browser download); skipped locally, an error in CI, without it."""
    executable = chromium_for_tests()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def jupyter(course, tmp_path_factory):
    """A Jupyter server with nbgrader's formgrader in the course folder, on loopback: (base URL, token)."""
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp("jupyter-home")
    env = dict(_env(), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_DATA_DIR=str(home / "data"))
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [os.path.join(BIN, "jupyter"), "server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
         "--ServerApp.open_browser=False", "--ServerApp.allow_root=True",
         "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True}"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/api/status?token={token}", server, 90,
                           lambda: (home / "server.log").read_text()[-4000:], "the Jupyter server")
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


class _Recorder(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; records every request (a payload's PUT or beacon shows here)."""

    requests: list = []

    def _record(self):
        self.requests.append((self.command, self.path))

    def do_GET(self):
        self._record()
        super().do_GET()

    def do_PUT(self):
        self._record()
        self.send_error(405)

    do_POST = do_PUT

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def recorder(course):
    """A local HTTP server on 127.0.0.1 that serves the student's feedback folder: (base URL, its requests)."""
    folder = course / "feedback" / "scripts" / ASSIGNMENT
    requests: list = []
    handler = type("Handler", (_Recorder,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests, folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class Visit:
    """One page in a fresh browser context: what it logged, requested and ran."""

    def __init__(self, browser, login_url: str | None = None):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        # loopback only: nothing leaves the machine (MathJax's CDN is refused at once)
        self.context.route("**/*", lambda route: route.continue_()
                           if route.request.url.startswith(("http://127.0.0.1:", "data:", "about:"))
                           else route.abort())
        self.console, self.requests = [], []
        self.context.on("console", lambda message: self.console.append(message.text))
        self.context.on("request", lambda request: self.requests.append((request.method, request.url)))
        self.page = self.context.new_page()
        if login_url:
            self.page.goto(login_url)

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        self.page.wait_for_timeout(SETTLE_MS)
        return self.page

    def ran(self) -> dict:
        """Everything that shows a payload ran (empty when nothing did)."""
        return {
            "console": [m for m in self.console if "PWNED" in m],
            "requests": [r for r in self.requests if "/beacon/" in r[1] or "/api/contents/pwned" in r[1]],
            "window.__pwned": self.page.evaluate("window.__pwned || null"),
            "title": [self.page.title()] if "PWNED" in self.page.title() else [],
        }

    def close(self):
        self.context.close()


# What the DOM of the notebook part of a page may not contain.
_DOM_CHECK = """(root) => {
    const out = [];
    for (const el of root.querySelectorAll('*')) {
        for (const a of el.attributes) {
            const v = a.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
            if (a.name.startsWith('on')) out.push(el.tagName + ' ' + a.name);
            if (['href', 'src', 'action', 'formaction', 'data'].includes(a.name)
                    && /^(javascript|vbscript|data:text)/.test(v))
                out.push(el.tagName + ' ' + a.name + '=' + v.slice(0, 20));
        }
        const tag = el.tagName.toUpperCase();
        if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'FORM', 'BASE', 'META', 'STYLE'].includes(tag))
            out.push(el.tagName);
    }
    return out;
}"""


def _pwned_files(course: Path, prefix: str = "pwned-") -> list:
    return sorted(str(p.relative_to(course)) for p in course.rglob(f"{prefix}*"))


def _submission_id(course: Path, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, student).id


def test_the_class_was_graded_as_usual(course):
    """The attacks change no score: both students get the reference's autograded points."""
    scores = autograded_scores(course)
    for student in (HONEST, SCRIPTS):
        lost = {cell: got for cell, (got, full) in scores[student].items() if got != full}
        assert not lost, (student, lost)


@pytest.mark.browser
def test_formgrader_runs_nothing_from_the_submission(browser, course, jupyter, tmp_path):
    base, token = jupyter
    visit = Visit(browser, login_url=f"{base}/formgrader?token={token}")
    try:
        page = visit.open(f"{base}/formgrader/submissions/{_submission_id(course, 'scripts')}/")
        page.screenshot(path=tmp_path / "formgrader-scripts.png", full_page=True)
        print(f"\nscreenshot: {tmp_path / 'formgrader-scripts.png'}")
        assert "scripts" in page.content() and page.locator("#notebook").count() >= 1
        ran = visit.ran()
        assert not any(ran.values()), ran
        assert not [f for f in _pwned_files(course) if "control-" not in f]
        assert page.locator("#notebook").first.evaluate(_DOM_CHECK) == []
        for sentence in ANSWERS.values():
            assert page.get_by_text(sentence).is_visible(), sentence
        # the page works for its instructor: a manual score is saved through the formgrader's own API
        score = page.locator("input.score#exercise1_answer")
        score.fill("1.5")
        score.press("Tab")
        page.wait_for_timeout(1500)
    finally:
        visit.close()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("exercise1_answer", NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, "scripts")
        assert grade.manual_score == 1.5


@pytest.mark.browser
def test_feedback_runs_nothing_from_the_submission(browser, course, recorder, tmp_path):
    base, requests, folder = recorder
    visit = Visit(browser)
    try:
        page = visit.open(f"{base}/{ASSIGNMENT}.html")
        page.screenshot(path=tmp_path / "feedback-scripts.png", full_page=True)
        ran = visit.ran()
        assert not any(ran.values()), ran
        assert not [r for r in requests if "/beacon/" in r[1] or "/api/" in r[1]], requests
        assert page.locator("#notebook").first.evaluate(_DOM_CHECK) == []
        for sentence in ANSWERS.values():
            assert page.get_by_text(sentence).is_visible(), sentence
    finally:
        visit.close()


@pytest.mark.browser
def test_the_vectors_fire_in_an_unsanitized_rendering(browser, course, jupyter, recorder):
    """The control: nbconvert's HTMLExporter of the notebook with its outputs, served on both origins, runs them.

    On the formgrader's origin it is served as a file of the submission's autograded folder (what
    ``/formgrader/submissions/<id>/<file>`` serves): there a payload writes into the course folder.
    """
    from nbconvert import HTMLExporter

    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    page_html, _ = HTMLExporter().from_notebook_node(unsanitized_notebook(release, solution, "control-"))
    name = "unsanitized-control.html"
    (course / "autograded" / "scripts" / ASSIGNMENT / name).write_text(page_html)
    (recorder[2] / name).write_text(page_html)

    base, token = jupyter
    visit = Visit(browser, login_url=f"{base}/formgrader?token={token}")
    try:
        visit.open(f"{base}/formgrader/submissions/{_submission_id(course, 'scripts')}/{name}")
        ran = visit.ran()
    finally:
        visit.close()
    for vector in ("html-script", "html-img", "javascript", "markdown-output", "answer-img", "answer-details"):
        assert f"PWNED control-{vector}" in ran["console"], (vector, ran)
    assert "pwned-control-html-img.txt" in _pwned_files(course, "pwned-control-"), _pwned_files(course)

    visit = Visit(browser)
    try:
        visit.open(f"{recorder[0]}/{name}")
        fired = visit.ran()
    finally:
        visit.close()
    assert "control-html-script" in (fired["window.__pwned"] or []), fired
    assert ("GET", "/beacon/control-answer-img") in recorder[1], recorder[1]
