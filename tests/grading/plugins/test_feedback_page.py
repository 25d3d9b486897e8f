"""The feedback page: "not graded yet" instead of 0, maths rendered offline, long lines wrapped, failures marked.

Real ``nbgrader generate_feedback`` with the course's ``nbgrader_config.py``
on a copy of the small graded class (``graded_class_copy.py``: no notebook is
run) for bob (two written answers nobody graded) and dave (a failed check),
then bob's and dave's pages opened in headless Chromium as a file, every
request refused: the maths must render with the MathJax written into the page.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bookcheck import chromium_for_tests
from graded_class_copy import copy_class
from report_fixtures.classroom import ASSIGNMENT, CLASS, NOTEBOOK

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]  # one nbgrader generate_feedback (~10 s) and Chromium (~5 s)

ROOT = Path(__file__).resolve().parents[3]
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    """{student: (page's HTML, its path)} for bob and dave, and generate_feedback's log."""
    course = copy_class(tmp_path_factory.mktemp("feedback") / "course")
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(
        [os.path.join(BIN, "nbgrader"), "generate_feedback", ASSIGNMENT, f"--CourseDirectory.root={course}",
         f"--db=sqlite:///{course / 'gradebook.db'}", "--student=[bd]*", "--force"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    pages = {}
    for student in ("bob", "dave"):
        path = course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"
        pages[student] = (path.read_text(encoding="utf-8"), path)
    return pages, proc.stderr


@pytest.mark.parametrize("name", ["HideHiddenTests", "MarkUngradedAnswers", "OfflineFeedbackPage"])
def test_no_configuration_warning(feedback, name):
    """nbconvert's ``display_data_priority`` is accepted (grading/plugins/base.py); it was
    "Config option `display_data_priority` not recognized by `HideHiddenTests`"."""
    _, log = feedback
    assert f"not recognized by `{name}`" not in log
    assert "no vendored MathJax" not in log


def test_ungraded_answers_say_not_graded_yet(feedback):
    pages, _ = feedback
    bob, dave = pages["bob"][0], pages["dave"][0]
    ungraded = [c for c, v in CLASS["bob"].manual.items() if v is None]
    assert len(ungraded) == 2
    text = " ".join(re.sub(r"<[^>]+>", " ", bob).split())
    assert text.count("not graded yet (2.0 points)") == 2 * len(ungraded)  # the contents and each answer's heading
    assert "Score so far: 26.0 / 30.0; 2 answer(s) worth 4.0 points not graded yet" in text
    assert "Score: 0.0 / 2.0" not in text  # what it used to say
    assert "Score: 2.0 / 2.0" in text  # bob's graded answer (exercise1_answer) keeps its score
    assert "not graded yet" not in dave and "Score: 25.0 / 30.0" in " ".join(re.sub(r"<[^>]+>", " ", dave).split())


def test_failed_checks_are_marked(feedback):
    pages, _ = feedback
    dave = pages["dave"][0]
    assert dave.count("panel panel-danger failed-cell") == 1  # test_fit_test_error, the one dave failed
    heading = dave.split("<code>test_fit_test_error</code>")[1][:200]
    assert "label-failed" in heading
    assert "label-failed" not in pages["bob"][0].split("<body>")[1]  # bob failed no check


def test_mathjax_is_inline_and_no_cdn(feedback):
    pages, _ = feedback
    html = pages["bob"][0]
    assert "ajax/libs/mathjax" not in html  # nbgrader's MathJax 2 from cdnjs
    outside_scripts = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    assert "cdnjs" not in outside_scripts and "cdn.jsdelivr" not in outside_scripts
    assert "MathJax 3.2.2" in html
    assert '"MathJax_Main-Regular.woff": "' in html  # its fonts, in the page (base64), used at start-up
    assert re.search(r"<script[^>]+src=", html.split("<body>")[0]) is None  # no external script


def _open(browser, path):
    page = browser.new_page(viewport={"width": 900, "height": 800})
    requests, errors = [], []

    def route(r):
        requests.append(r.request.url)
        r.continue_() if r.request.url.startswith("file:") else r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30000)
    page.evaluate("MathJax.startup.promise")
    return page, [r for r in requests if not r.startswith("file:")], errors


@pytest.mark.browser
def test_the_page_reads_well_offline_in_chromium(feedback):
    from playwright.sync_api import sync_playwright

    executable = chromium_for_tests()
    pages, _ = feedback
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page, requests, errors = _open(browser, pages["bob"][1])
            assert requests == [] and errors == []
            assert page.evaluate("document.querySelectorAll('mjx-container').length") >= 5
            assert page.evaluate("document.querySelectorAll('mjx-merror').length") == 0
            body = page.evaluate("document.body.innerText")
            assert "$\\pi" not in body and "$j" not in body  # no TeX left as typed
            loaded = page.evaluate("Array.from(document.fonts).filter(f => f.family.startsWith('MJX')"
                                   " && f.status === 'loaded').length")
            assert loaded >= 1  # MathJax's own fonts, from the page
            # no code or output line is cut off: every <pre> fits its box
            cut = page.evaluate("Array.from(document.querySelectorAll('div.input_area pre, div.output_area pre'))"
                                ".filter(p => p.scrollWidth > p.clientWidth + 1).length")
            assert cut == 0
            page.close()
            page, requests, errors = _open(browser, pages["dave"][1])
            assert requests == [] and errors == []
            colour = page.evaluate("getComputedStyle(document.querySelector('div.output_error')).backgroundColor")
            assert colour == "rgb(253, 236, 234)"  # failures stand out (#fdecea), not nbgrader's grey
            page.close()
        finally:
            browser.close()
