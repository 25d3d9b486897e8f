"""No graded answer in the open: the built book, its reader notebooks and the student wheel.

The book is public and students install the wheel. :mod:`support.answer_keys`
computes what the grader checks (the per-class zero-variance counts, the
c = 1e9 error rate to the grader's tolerance and its predicted digit, the
reference model's errors on the training set) and what
the written answers of Exercises 1, 2 and 4 are marked on (the training set's
rank deficits, its one-c and per-class test errors, the reference solution's
own sentences), and finds them in a text. Here it reads every built HTML
page, every reader notebook (markdown, code and outputs) and every text file
of the wheel (its METADATA holds the README). The wheel must not hold the
course's functional form either, and no page may link to the instructor's
repository: every Colab and Binder link opens the public notebooks repository. The scanner is also run on text written the way the first
edition's chapters printed those values, so that it is proven able to fail.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from support.answer_keys import find_leaks, graded_values, html_text, solution_answers
from test_book import (
    BINDER_PREFIX,
    COLAB_PREFIX,
    HTML,
    LAUNCHERS,
    NOTEBOOKS_REPO,
    OWNER_REPO,
    _hrefs,
    links_to_repository,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def values():
    return graded_values()


@pytest.fixture(scope="module")
def answers():
    answers = solution_answers()
    assert set(answers) == {"exercise1_answer", "exercise2_answer", "exercise4_answer"}
    assert all(len(a.split()) > 30 for a in answers.values())
    return answers


def _notebook_text(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        parts.append("".join(cell.get("source", "")))
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append("".join(out["text"]))
            for kind in ("text/plain", "text/markdown", "text/html", "text/latex"):
                if kind in out.get("data", {}):
                    data = out["data"][kind]
                    parts.append(html_text("".join(data)) if kind == "text/html" else "".join(data))
    return "\n".join(parts)


def _wheel_texts(wheel: Path) -> dict:
    texts = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            try:
                texts[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue  # the gzipped MNIST files
    return texts


def test_no_graded_answer_on_any_page(build, values, answers):
    assert build.returncode == 0, "the book did not build"
    pages = sorted(HTML.rglob("*.html"))
    assert len(pages) > 12
    leaks = []
    for page in pages:
        leaks += find_leaks(html_text(page.read_text(encoding="utf-8")), values, answers, str(page.relative_to(HTML)))
    assert leaks == [], "\n".join(leaks)


def test_no_graded_answer_in_the_reader_notebooks(build, values, answers):
    assert build.returncode == 0, "the book did not build"
    notebooks = sorted((HTML / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 12
    leaks = []
    for path in notebooks:
        text = _notebook_text(path)
        assert "This first cell" in text, f"{path.name}: read no cells"
        leaks += find_leaks(text, values, answers, f"notebooks/{path.name}")
    assert leaks == [], "\n".join(leaks)


def test_no_graded_answer_nor_the_functional_form_in_the_wheel(build, values, answers):
    assert build.returncode == 0, "the book did not build"
    wheels = sorted((HTML / "dist").glob("generative_mnist-*.whl"))
    assert len(wheels) == 1
    texts = _wheel_texts(wheels[0])
    assert "gradedlib/model.py" in texts and any(n.endswith("METADATA") for n in texts)
    leaks = []
    for name, text in texts.items():
        leaks += find_leaks(text, values, answers, f"wheel:{name}")
        # the course's graded signatures (tests/support/functional.py), not the estimator's methods
        for pattern in (r"def fit_generative_model\(", r"def predict\(x, mu, sigma, pi\)"):
            if name.endswith(".py") and re.search(pattern, text):
                leaks.append(f"wheel:{name}: the functional course API ({pattern})")
    assert leaks == [], "\n".join(leaks)


def test_no_page_links_to_the_instructor_repository(build):
    """No link opens the instructor's repository: not on GitHub, and no Colab or Binder link either.

    Every launch link opens the public notebooks repository; the reader
    notebooks (published there) name no address of the instructor's either.
    """
    assert build.returncode == 0, "the book did not build"
    bad = []
    n_launch = 0
    for page in sorted(HTML.rglob("*.html")):
        for href in _hrefs(page):
            where = f"{page.relative_to(HTML)}: {href}"
            if links_to_repository(href, OWNER_REPO):
                bad.append(where)
            if not href.startswith("#") and any(s in href for s in LAUNCHERS):  # "#...": an anchor on the page
                n_launch += 1
                if not href.startswith((COLAB_PREFIX, BINDER_PREFIX)):
                    bad.append(f"{where} (a launch link outside {NOTEBOOKS_REPO})")
    for path in sorted((HTML / "notebooks").iterdir()):
        text = path.read_text(encoding="utf-8")
        for address in re.findall(r"https?://[^\s\"'<>)\]]+", text):
            if links_to_repository(address, OWNER_REPO):
                bad.append(f"notebooks/{path.name}: {address}")
    assert bad == [], "\n".join(bad)
    assert n_launch >= 24, "found few Colab and Binder links"


# ---------------------------------------------------------------- the scanner can fail

def _first_edition_texts(values):
    """Text as the first edition's chapters printed the graded values (built from the values, not typed)."""
    zv, deficit = values.zero_variance, values.rank_deficit
    table = "\n".join(f"{j:5d}  {6000 + j:6d}  {784 - d:4d}  {d:12d}  {z:20d}" for j, (d, z) in enumerate(zip(deficit, zv)))
    single, per_class = values.exercise4_errors
    count, n = values.training_errors, values.n_train
    return {
        "zero-variance counts": f"always-zero pixels within each class:   {list(zv)}",
        "table": "digit  images  rank  rank deficit  zero-variance pixels\n" + table,
        "rate": f"At \\(c = 10^9\\), the model calls 99.80% of the test images a 7, and its error is "
                f"{100 * values.huge_c_error_rate:.2f}%.",
        "rate as a fraction": f"c = 1e9: test error {values.huge_c_error_rate:.4f}",
        "digit": f"As \\(c \\to \\infty\\) every test image is called a {values.huge_c_digit}.",
        "digit, everything": f"so the final outcome, everything called a {values.huge_c_digit}, cannot tell",
        "exercise 4": f"test error: single c {single:.2%}, per-class c {per_class:.2%}",
        # chapter 05 of the third edition: a visible cell, then the prose
        "training errors": f"training error {count / n:.2%}  ({count} of {n})",
        "training errors, prose": f"The training error is {count / n:.2%} ({count:,} images): lower, as it should be",
        "training error count": f"c = 3162: {count} training errors out of {n}.",
        "training error rate": f"The training error is {count / n:.2%}: lower, as it should be, but not zero.",
    }


@pytest.mark.parametrize("kind", ["zero-variance counts", "table", "rate", "rate as a fraction", "digit",
                                  "digit, everything", "exercise 4", "training errors", "training errors, prose",
                                  "training error count", "training error rate"])
def test_the_scanner_finds_what_the_first_edition_printed(values, answers, kind):
    leaks = find_leaks(_first_edition_texts(values)[kind], values, answers, kind)
    assert leaks != []
    if kind.startswith("training"):
        assert any("training_errors" in leak for leak in leaks), leaks


def test_the_scanner_finds_a_copied_written_answer(values, answers):
    for grade_id, answer in answers.items():
        words = answer.split()
        excerpt = "Our reading: " + " ".join(words[5:5 + 12]) + " and so on."
        assert any(grade_id in leak for leak in find_leaks(excerpt, values, answers, "page"))


def test_the_scanner_spares_values_outside_the_tolerance(values, answers):
    """A rate 0.06 points off, the counts out of order, another digit at huge c: not the graded answers.

    Nor another count of training errors, a training error rate 0.03 points
    off, or the training error rate printed far from any word about training.
    """
    shuffled = list(values.zero_variance[1:]) + [values.zero_variance[0]]
    other_digit = (values.huge_c_digit + 6) % 10
    count, n = values.training_errors, values.n_train
    text = (f"error {100 * (values.huge_c_error_rate + 6e-4):.2f}% and counts {shuffled}. "
            f"As \\(c \\to \\infty\\) every test image is called a {other_digit}. "
            f"On a sample: {count // 6 + 1} training errors in {n // 6:,} images; "
            f"at another c, {count + 37:,} training errors, a training error of {(count + 18) / n:.2%}. "
            + "And " * 80 + f"a test error of {count / n:.2%}.")
    assert find_leaks(text, values, answers, "page") == []
