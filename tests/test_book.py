"""The online book: a clean, warning-free build, and every page clean in a browser.

``jupyter-book build . -W -n --keep-going`` runs every code cell of every
chapter on the real MNIST data (cached in ``_build/.jupyter_cache``, so a
rebuild with no change takes seconds). Then headless Chromium opens every built
page, served on loopback with no network, and ``bookcheck`` reports console
errors, requests outside the book, broken images and links, unrendered
maths, and, at 1280 px and at 400 px, display equations wider than their
column, pages wider than the window and content cut off.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bookcheck import check_site, chromium_for_tests, html_pages

REPO = Path(__file__).resolve().parents[1]
HTML = REPO / "_build" / "html"
CHAPTERS = [
    "01_introduction",
    "02_data",
    "03_gaussian_model",
    "04_singular_covariances",
    "05_regularization",
    "06_huge_c",
    "07_per_class_c",
    "07b_covariance_family",
    "07c_why_cI_works",
    "08_generator",
    "09_beyond",
    "10_assignment",
]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def build():
    """Build the book with the jupyter-book of this Python environment."""
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("MPLBACKEND", None)  # the notebooks use matplotlib's inline backend
    return subprocess.run(
        [str(bindir / "jupyter-book"), "build", str(REPO), "-W", "-n", "--keep-going"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


def test_book_builds_without_warnings(build):
    log = build.stdout + build.stderr
    assert build.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    warnings = [line for line in log.splitlines() if "WARNING:" in line]  # Sphinx warnings, not kernel log lines
    assert warnings == [], "\n".join(warnings)
    for chapter in CHAPTERS:
        assert (HTML / "book" / f"{chapter}.html").is_file(), f"chapter page {chapter}.html was not built"


def test_every_page_is_clean_in_a_browser(build):
    assert build.returncode == 0, "the book did not build"
    chromium = chromium_for_tests()
    pages = html_pages(HTML)
    assert len(pages) >= len(CHAPTERS) + 1
    reports = check_site(HTML, pages, chromium=chromium, timeout=120)
    bad = {r.page: r.problems for r in reports if r.problems}
    assert bad == {}, "\n".join(f"{page}:\n  " + "\n  ".join(problems) for page, problems in bad.items())
    # The chapters with equations really have rendered maths (not vacuously clean).
    with_math = {r.page for r in reports if r.n_math > 0}
    assert {f"book/{c}.html" for c in ("03_gaussian_model", "05_regularization", "06_huge_c")} <= with_math
