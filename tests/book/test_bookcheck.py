"""The browser checker fails on each kind of broken page (tiny fixture site).

Every fixture page is broken in exactly one way, next to one page that is
correct in every respect the checker looks at (rendered maths with the
vendored MathJax, a loaded image, a link with a valid fragment), so the checker
used by ``test_book.py`` is shown to be able to fail, and for the right reason.
"""

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from bookcheck import check_site, chromium_for_tests, html_pages

# One Chromium session for the whole module: about ten seconds.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MATHJAX = REPO / "_vendor" / "mathjax"

# Each page's body, and the substring expected in its (only) kind of problem.
BROKEN = {
    "console_error.html": ("<script>console.error('boom from the page')</script>", "console error: boom from the page"),
    "exception.html": ("<script>thisFunctionDoesNotExist()</script>", "uncaught exception: ReferenceError"),
    "broken_image.html": (
        '<figure><img src="missing.png" alt="missing"><figcaption>Missing.</figcaption></figure>',
        "broken image: missing.png",
    ),
    "broken_link.html": ('<a href="nowhere.html">nowhere</a>', "broken internal link: "),
    "broken_anchor.html": ('<a href="good.html#no-such-id">anchor</a>', "no element with id 'no-such-id'"),
    "unrendered_math.html": (r'<span class="math notranslate nohighlight">\(x^2\)</span>', "MathJax did not load"),
    "math_error.html": (r'<span class="math notranslate nohighlight">\(x^{1}^{2}\)</span>', "MathJax error: Double exponent"),
    "external.html": ('<script src="http://192.0.2.1/cdn/lib.js"></script>', "request outside the book"),
    "figure_text.html": ("<pre>&lt;Figure size 640x480 with 1 Axes&gt;</pre>", "figure shown as text"),
    # The old layout of the book: a display equation wider than its column,
    # readable only by scrolling sideways inside it (the theme's CSS).
    "wide_equation.html": (
        '<style>div.math{display:flex;flex-direction:row-reverse;overflow:hidden;max-width:100%}'
        "div.math mjx-container{flex-grow:1;overflow:auto}</style>"
        '<main style="width:300px"><div class="math notranslate nohighlight" id="equation-long">'
        '<span class="eqno">(1.1)</span>\\[' + " + ".join(f"x_{{{i}}}" for i in range(1, 41)) + "\\]</div></main>",
        "display equation wider than its column at 1280 px: (1.1) needs",
    ),
    "cut_off.html": (
        '<div style="width:200px;overflow:hidden"><span style="display:inline-block;width:600px">wide text</span></div>',
        "content cut off at 400 px: div shows 200 of 600 px",
    ),
    "wide_page.html": ('<div style="width:900px">a wide block</div>', "page wider than the window at 400 px"),
    "uncaptioned.html": ('<article><p>A plot:</p><img src="dot.png" alt="dot"></article>', "image without a caption"),
}
MATHJAX_PAGES = {"math_error.html", "wide_equation.html"}


def _png_1x1() -> bytes:
    """A valid 1x1 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")


def _page(body: str, mathjax: bool = False) -> str:
    head = '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="dot.png">'
    if mathjax:
        head += '<script defer src="mathjax/tex-chtml.js"></script>'
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}<title>t</title></head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    chromium = chromium_for_tests()
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(MATHJAX, site / "mathjax")
    (site / "dot.png").write_bytes(_png_1x1())
    good = (
        r'<p>Inline <span class="math notranslate nohighlight">\(\mu_j + cI\)</span>.</p>'
        r'<div class="math notranslate nohighlight">\[\log N(x; \mu, \Sigma) = -\frac{d}{2}\log(2\pi)\]</div>'
        '<figure><img src="dot.png" alt="dot"><figcaption>Fig. 1 A dot.</figcaption></figure>'
        '<a href="other.html#target">other</a>'
        # Wide content that scrolls sideways in its own box is not cut off.
        '<div style="width:200px;overflow-x:auto"><pre style="width:600px">a long line of code</pre></div>'
    )
    (site / "good.html").write_text(_page(good, mathjax=True))
    (site / "other.html").write_text(_page('<h1 id="target">Target</h1><a href="good.html">back</a>'))
    for name, (body, _) in BROKEN.items():
        (site / name).write_text(_page(body, mathjax=name in MATHJAX_PAGES))
    assert set(html_pages(site)) == {"good.html", "other.html", *BROKEN}
    return {r.page: r for r in check_site(site, chromium=chromium, timeout=60)}


@pytest.mark.browser
def test_correct_pages_pass(reports):
    assert reports["good.html"].problems == []
    assert reports["good.html"].n_math == 2
    assert reports["good.html"].n_images == 1
    assert reports["other.html"].problems == []


@pytest.mark.browser
@pytest.mark.parametrize("page", sorted(BROKEN))
def test_each_broken_page_fails_for_its_reason(reports, page):
    problems = reports[page].problems
    expected = BROKEN[page][1]
    assert problems, f"{page}: the checker found nothing wrong"
    assert any(expected in p for p in problems), f"{page}: expected a problem containing {expected!r}, got {problems}"


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="'root' argument"):
        check_site(tmp_path / "no-such-dir", chromium="chromium")


# --- search_site: a tiny Sphinx site with its search page ---


@pytest.fixture(scope="module")
def sphinx_site(tmp_path_factory):
    """Two pages built by Sphinx (its basic theme's search box and search page), and one page with no search box."""
    import subprocess
    import sys

    src = tmp_path_factory.mktemp("sphinx-src")
    out = tmp_path_factory.mktemp("sphinx-html")
    (src / "conf.py").write_text('project = "fixture"\nhtml_theme = "basic"\n')
    (src / "index.rst").write_text("Fixture\n=======\n\nA page about the needle.\n\n.. toctree::\n\n   other\n")
    (src / "other.rst").write_text("Other\n=====\n\nA page about nothing in particular.\n")
    subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(out)], check=True)
    (out / "nosearch.html").write_text("<!DOCTYPE html><html><body><p>No search box here.</p></body></html>")
    return out


@pytest.mark.browser
def test_search_site_lists_the_pages_that_hold_the_word(sphinx_site):
    from bookcheck import search_site

    found = search_site(sphinx_site, ["needle", "particular", "qzxwvjk"], start_page="other.html",
                        chromium=chromium_for_tests(), timeout=60)
    assert found == {"needle": ["index.html"], "particular": ["other.html"], "qzxwvjk": []}


@pytest.mark.browser
def test_search_site_fails_on_a_page_without_a_search_box(sphinx_site):
    from bookcheck import search_site

    with pytest.raises(AssertionError, match="has no search box"):
        search_site(sphinx_site, ["needle"], start_page="nosearch.html", chromium=chromium_for_tests(), timeout=60)
