"""The online book: a clean, warning-free build, and every page clean in a browser.

``.ci/build-book`` (what ``.github/workflows/book.yml`` runs) calls
``jupyter-book build . -W -n --keep-going``, which runs every code cell of every
chapter on the real MNIST data (cached in ``_build/.jupyter_cache``, so a
rebuild with no change takes seconds), then builds the student wheel into the
site. The reader notebooks it publishes (``_ext/reader_notebooks.py``) are
checked against the chapters (their markdown shows the glued values, not
glue roles), and two of them are run top to bottom as "Run all" runs them
(04 has cells that raise on purpose, which print their error instead). Then headless Chromium opens every built
page, served on loopback with no network, and ``bookcheck`` reports console
errors, requests outside the book, broken images and links, unrendered
maths, and, at 1280 px and at 400 px, display equations wider than their
column, pages wider than the window and content cut off. The guides (the
book's last part, ``guides/``) are checked the same way, and the book's
search box must find them.
"""

import html
import os
import re
from pathlib import Path

import pytest

import yaml

from bookcheck import check_site, chromium_for_tests, html_pages, landing_addresses, search_site

REPO = Path(__file__).resolve().parents[2]
HTML = REPO / "_build" / "html"
CHAPTERS = [
    "01_introduction",
    "02_data",
    "03_gaussian_model",
    "04_singular_covariances",
    "05_regularization",
    "06_huge_c",
    "07_per_class_c",
    "08_why_cI_works",
    "09_covariance_family",
    "10_logistic_regression",
    "11_calibration",
    "12_generator",
    "13_beyond",
    "14_assignment",
]

# The guides by role (tests/book/test_docs.py checks their sources without a build).
GUIDES = ["students", "instructors", "grading", "library", "reference", "contributors", "measurements"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def test_book_builds_without_warnings(build):
    log = build.stdout + build.stderr
    assert build.returncode == 0, f".ci/build-book failed:\n{log[-6000:]}"
    warnings = [line for line in log.splitlines() if "WARNING:" in line]  # Sphinx warnings, not kernel log lines
    assert warnings == [], "\n".join(warnings)
    for chapter in CHAPTERS:
        assert (HTML / "book" / f"{chapter}.html").is_file(), f"chapter page {chapter}.html was not built"


def test_no_chapter_shows_output_written_to_stderr(build):
    """A warning printed while a chapter ran (a font not found, a deprecation) is a defect of the page."""
    assert build.returncode == 0, "the book did not build"
    shown = {}
    for page in [HTML / "index.html"] + [HTML / "book" / f"{chapter}.html" for chapter in CHAPTERS]:
        blocks = re.findall(r'<div class="output stderr[^"]*">(.*?)</div>', page.read_text(), flags=re.S)
        if blocks:
            shown[page.name] = [re.sub(r"<[^>]+>", "", block).strip()[:300] for block in blocks]
    assert shown == {}, shown


@pytest.mark.browser
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
    # The guides were among the pages checked.
    assert {f"guides/{g}.html" for g in GUIDES} <= {r.page for r in reports}


def _moved_pages() -> dict:
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    return config["sphinx"]["config"]["moved_pages"]


def test_the_third_editions_addresses_lead_to_the_renumbered_chapters(build):
    """A bookmark to a chapter the fourth edition renumbered (``moved_pages`` in ``_config.yml``,
    ``_ext/moved_pages.py``) lands on the new page, at the same section."""
    assert build.returncode == 0, "the book did not build"
    moved = _moved_pages()
    assert {"book/07c_why_cI_works", "book/08_generator", "book/10_assignment"} <= set(moved)
    addresses = {}
    for old, new in moved.items():
        page = (HTML / f"{new}.html").read_text(encoding="utf-8")
        section = re.search(r'<section id="([^"]+)"', page).group(1)
        addresses[f"{old}.html#{section}"] = f"{new}.html#{section}"
        addresses[f"{old}.html"] = f"{new}.html"
    landed = landing_addresses(HTML, list(addresses), chromium=chromium_for_tests())
    assert landed == addresses


# --- The guides (the book's last part) ---


def test_every_guide_is_built_and_linked_from_the_landing_page(build):
    assert build.returncode == 0, "the book did not build"
    landing = (HTML / "book" / "index.html").read_text(encoding="utf-8")
    article = landing[landing.index("<article"):landing.index("</article>")]  # the page's text, not its sidebar
    hrefs = {html.unescape(h) for h in re.findall(r'<a\b[^>]*\bhref="([^"#]*)', article)}
    for guide in GUIDES:
        assert (HTML / "guides" / f"{guide}.html").is_file(), f"guides/{guide}.html was not built"
        assert f"../guides/{guide}.html" in hrefs, f"the landing page does not link guides/{guide}.html"


def test_the_library_reference_is_generated_from_every_docstring(build):
    """Every public function and class of every public module has its entry, with its own docstring's text."""
    import importlib
    import inspect

    assert build.returncode == 0, "the book did not build"
    page = (HTML / "guides" / "reference.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="(gradedlib\.[^"]+)"', page))
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    modules = sorted(p.stem for p in (REPO / "gradedlib").glob("*.py") if not p.name.startswith("_"))
    n_objects = 0
    for name in modules:
        module = importlib.import_module(f"gradedlib.{name}")
        assert f'id="module-gradedlib.{name}"' in page, f"module gradedlib.{name} is not in the reference"
        for member in module.__all__:
            obj = getattr(module, member)
            if not callable(obj):
                continue
            assert f"gradedlib.{name}.{member}" in ids, f"gradedlib.{name}.{member} is not in the reference"
            # The first sentence of its docstring, as the page shows it (roles and markup aside).
            first = inspect.getdoc(obj).split("\n\n")[0]
            words = [w for w in re.sub(r":\w+:|[`*]", "", first).split() if w.isalpha()][:4]
            assert all(w in text for w in words), f"gradedlib.{name}.{member}: its docstring is not shown"
            n_objects += 1
    assert n_objects >= 40
    # numpydoc sections became field lists (napoleon), and scikit-learn's generated methods are left out.
    assert re.search(r"Parameters ?:", text) and re.search(r"Returns ?:", text)
    assert "set_score_request" not in page


def test_every_guide_page_has_the_search_box(build):
    assert build.returncode == 0, "the book did not build"
    for guide in GUIDES:
        page = (HTML / "guides" / f"{guide}.html").read_text(encoding="utf-8")
        assert re.search(r'<form[^>]*action="[^"]*search\.html"[^>]*>.*?name="q"', page, flags=re.S), guide


@pytest.mark.browser
def test_the_search_box_finds_the_guides(build):
    """Typed into a guide's search box, as a reader does: Sphinx's search, offline, lists the guide pages."""
    assert build.returncode == 0, "the book did not build"
    found = search_site(HTML, ["autograde", "selfcheck", "LinAlgError", "qzxwvjk"], start_page="guides/students.html",
                        chromium=chromium_for_tests(), timeout=120)
    assert "guides/instructors.html" in found["autograde"] and "guides/grading.html" in found["autograde"]
    assert {"guides/students.html", "guides/reference.html"} <= set(found["selfcheck"])
    assert {"guides/students.html", "guides/reference.html", "book/04_singular_covariances.html"} <= set(
        found["LinAlgError"]
    )
    assert found["qzxwvjk"] == [], "the search lists pages for a word that is nowhere"


# --- The reader notebooks and the launch links (_ext/reader_notebooks.py) ---

OWNER_REPO = "generative-mnist/generative-mnist"  # _config.yml's repository.url: the instructor's


def _reader_notebooks_config():
    """``reader_notebooks_repository`` and ``reader_notebooks_branch`` (``sphinx: config:`` in ``_config.yml``)."""
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == f"https://github.com/{OWNER_REPO}"
    sphinx = config["sphinx"]["config"]
    return sphinx["reader_notebooks_repository"], sphinx["reader_notebooks_branch"]


# The public repository of the reader notebooks alone, which Colab and Binder open.
NOTEBOOKS_REPO, NOTEBOOKS_BRANCH = _reader_notebooks_config()
assert NOTEBOOKS_REPO.lower() != OWNER_REPO.lower(), "the notebooks repository is the instructor's"
COLAB_PREFIX = f"https://colab.research.google.com/github/{NOTEBOOKS_REPO}/blob/{NOTEBOOKS_BRANCH}/"
BINDER_PREFIX = f"https://mybinder.org/v2/gh/{NOTEBOOKS_REPO}/{NOTEBOOKS_BRANCH}?"
# What a link to a launcher looks like (Colab, Binder, a JupyterHub, nbviewer).
LAUNCHERS = ("mybinder.org", "colab.research.google.com", "/binder/", "jupyterhub", "hub/user-redirect", "nbviewer")


def links_to_repository(href, owner_repo=OWNER_REPO):
    """Whether ``href`` opens the GitHub repository ``owner/name``: on GitHub, raw, Colab, Binder or nbviewer.

    The name must end there, so that the instructor's ``owner/name`` does not
    match the notebooks repository ``owner/name-notebooks``.
    """
    hosts = r"(?:github\.com/|raw\.githubusercontent\.com/|colab\.research\.google\.com/github/|mybinder\.org/v2/gh/|nbviewer\.(?:org|jupyter\.org)/github/)"
    return re.search(hosts + re.escape(owner_repo) + r"(?:\.git)?(?:[/?#]|$)", href, flags=re.IGNORECASE) is not None


NOTEBOOKS = HTML / "notebooks"
# Text that only the instructor's files hold: nbgrader's solution and hidden-test
# regions, and the grader's own package.
INSTRUCTOR_ONLY = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "import grading", "from grading"]


def _version():
    import gradedlib

    return gradedlib.__version__


def _wheel_url():
    return f"https://generative-mnist.github.io/generative-mnist/dist/generative_mnist-{_version()}-py3-none-any.whl"


def _solution_lines():
    """Lines of code that the reference solution holds between its solution markers."""
    import nbformat

    lines = set()
    for path in (REPO / "solutions").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN SOLUTION" in line:
                    inside = True
                elif "END SOLUTION" in line:
                    inside = False
                elif inside and len(line.strip()) >= 30:
                    lines.add(line.strip())
    return lines


def test_every_chapter_has_its_reader_notebook(build):
    import jupytext
    import nbformat

    assert build.returncode == 0, "the book did not build"
    solution_lines = _solution_lines()
    assert solution_lines, "found no solution code to look for"
    n_raising = 0
    for chapter in CHAPTERS:
        path = NOTEBOOKS / f"{chapter}.ipynb"
        assert path.is_file(), f"no reader notebook {path.relative_to(REPO)}"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        first = nb.cells[0]
        assert first.cell_type == "code", chapter
        # The install cell: the student wheel of this version, only where gradedlib is missing.
        assert f'WHEEL = "{_wheel_url()}"' in first.source, chapter
        assert 'if importlib.util.find_spec("gradedlib") is None:' in first.source, chapter
        assert '[sys.executable, "-m", "pip", "install", "-q", WHEEL]' in first.source, chapter
        assert "github.com" not in first.source and "git+" not in first.source, chapter
        # Every code cell of the chapter, in order, as an independent reader (jupytext) reads it;
        # a cell that raises on purpose is the body of a try that prints the error.
        reference = jupytext.read(REPO / "book" / f"{chapter}.md")
        ref_cells = [c for c in reference.cells if c.cell_type == "code"]
        expected = [c.source for c in ref_cells]
        found_cells = [c for c in nb.cells[1:] if c.cell_type == "code"]
        assert len(found_cells) == len(ref_cells), f"{chapter}: code cells differ from book/{chapter}.md"
        found = []
        for ref, cell in zip(ref_cells, found_cells):
            if RAISES in ref.metadata.get("tags", []):
                found.append(_unwrapped(cell.source))
                n_raising += 1
            else:
                found.append(cell.source)
            assert RAISES not in cell.metadata.get("tags", []), f"{chapter}: a cell still stops Run all"
        assert found == expected, f"{chapter}: code cells differ from book/{chapter}.md"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), chapter
        text = path.read_text(encoding="utf-8")
        for marker in INSTRUCTOR_ONLY:
            assert marker not in text, f"{chapter}: {marker!r} in the reader notebook"
        leaked = [line for line in solution_lines if line in text]
        assert leaked == [], f"{chapter}: solution code in the reader notebook: {leaked[:3]}"
    assert n_raising >= 3, "no cell raising on purpose was checked (04 and 05 have some)"
    # The notebooks repository's files: the notebooks and Binder's environment, nothing else.
    names = {p.name for p in NOTEBOOKS.iterdir()}
    assert {f"{c}.ipynb" for c in CHAPTERS} <= names
    assert {n for n in names if not n.endswith(".ipynb")} == {"requirements.txt", "runtime.txt"}
    assert all(p.is_file() for p in NOTEBOOKS.iterdir())
    assert (NOTEBOOKS / "requirements.txt").read_text().split() == [_wheel_url()]
    assert (NOTEBOOKS / "runtime.txt").read_text().strip() == "python-3.11"


RAISES = "raises-exception"  # the cells whose error the book shows on purpose


def _unwrapped(source):
    """The cell's own code, from the reader's ``try: <code> except Exception as error: print(...)``."""
    import textwrap

    lines = source.split("\n")
    assert lines[0] == "try:", source
    assert lines[-2].startswith("except Exception as error:"), source
    assert lines[-1] == '    print(f"{type(error).__name__}: {error}")', source
    body = lines[1:-2]
    assert all(line.startswith("    ") or not line.strip() for line in body), source
    return textwrap.dedent("\n".join(body))


def _markdown_outside_code(text):
    """The markdown without its code blocks (fenced, but not directives such as admonitions) and code spans."""
    kept, stack = [], []  # stack: the open fences, and whether each is code
    for line in text.split("\n"):
        fence = re.match(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$", line)
        if fence and stack and fence[2].strip() == "" and fence[1][0] == stack[-1][0][0]:
            stack.pop()
        elif fence and not (stack and stack[-1][1]):
            info = fence[2].strip()
            stack.append((fence[1], not info.startswith("{") or info.startswith(("{code", "{sourcecode"))))
        elif not (stack and stack[-1][1]):
            kept.append(line)
    return re.sub(r"(?<![}`])(`+)(?!\{)[^`]+?\1", "", "\n".join(kept))


def _glued_text(chapter, content):
    """What ``{glue:text}`content``` shows, read independently from the build's glue files."""
    import ast
    import json

    doc, _, key = content.rpartition("::")
    key, _, spec = key.rpartition(":") if ":" in key else (key, "", "")
    source = Path(doc).stem if doc else chapter
    data = json.loads((HTML.parent / "jupyter_execute" / "book" / f"{source}.glue.json").read_text())
    text = data[key]["data"]["text/plain"]
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if spec and spec[-1] in "eEfFgGn%":
        value = float(value)
    elif spec and spec[-1] in "bcdoxX":
        value = int(value)
    return format(value, spec)


def test_reader_markdown_shows_glued_values_not_glue_roles(build):
    """The reader sees the numbers the book shows, not MyST's ``{glue:text}`name```."""
    import nbformat

    assert build.returncode == 0, "the book did not build"
    n_values = 0
    for chapter in CHAPTERS:
        nb = nbformat.read(NOTEBOOKS / f"{chapter}.ipynb", as_version=4)
        markdown = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "{glue" not in _markdown_outside_code(markdown), f"{chapter}: a glue role or directive is left"
        source = (REPO / "book" / f"{chapter}.md").read_text(encoding="utf-8")
        for content in re.findall(r"\{glue:text\}`([^`]+)`", source):
            value = _glued_text(chapter, content)
            assert value in markdown, f"{chapter}: {content!r} is not shown as {value!r}"
            n_values += 1
        for name in re.findall(r"^\s*`{3,}\{glue:figure\}\s*(\S+)", source, flags=re.MULTILINE):
            assert f"*Figure `{name}`, shown under the code above.*" in markdown, f"{chapter}: figure {name}"
    assert n_values >= 100, "few glued values were checked"


def test_the_student_wheel_is_in_the_site(build):
    import zipfile

    assert build.returncode == 0, "the book did not build"
    wheel = HTML / "dist" / f"generative_mnist-{_version()}-py3-none-any.whl"
    assert wheel.is_file(), f"no {wheel.relative_to(REPO)}"
    assert [p.name for p in (HTML / "dist").iterdir()] == [wheel.name]
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"gradedlib", f"generative_mnist-{_version()}.dist-info"}


def _hrefs(page):
    import html

    return [html.unescape(h) for h in re.findall(r'<a\b[^>]*\bhref="([^"]*)"', page.read_text(encoding="utf-8"))]


def test_chapter_pages_link_to_their_reader_notebook(build):
    assert build.returncode == 0, "the book did not build"
    for chapter in CHAPTERS:
        hrefs = _hrefs(HTML / "book" / f"{chapter}.html")
        expected = [
            f"../notebooks/{chapter}.ipynb",
            f"{COLAB_PREFIX}{chapter}.ipynb",
            f"{BINDER_PREFIX}labpath={chapter}.ipynb",
        ]
        for href in expected:
            assert href in hrefs, f"{chapter}.html has no link {href}"
        assert (HTML / "book" / expected[0]).resolve().is_file()


def test_no_launch_link_opens_the_instructor_repository(build):
    """Colab and Binder only ever open the public notebooks repository, never the instructor's."""
    assert build.returncode == 0, "the book did not build"
    n_launch = 0
    for page in html_pages(HTML):
        for href in _hrefs(HTML / page):
            assert not links_to_repository(href), f"{page}: link to the instructor's repository: {href}"
            if not href.startswith("#") and any(s in href for s in LAUNCHERS):  # "#...": an anchor on the page
                assert href.startswith((COLAB_PREFIX, BINDER_PREFIX)), (
                    f"{page}: launch link outside the notebooks repository {NOTEBOOKS_REPO}: {href}"
                )
                assert links_to_repository(href, NOTEBOOKS_REPO), href
                n_launch += 1
    assert n_launch >= 2 * len(CHAPTERS), "found few Colab and Binder links"


def test_the_instructor_repository_check_is_not_fooled_by_the_notebooks_repository():
    """The instructor's ``owner/name`` is a prefix of the notebooks repository's: the check tells them apart."""
    for href in (
        f"https://github.com/{OWNER_REPO}",
        f"https://github.com/{OWNER_REPO}.git",
        f"https://github.com/{OWNER_REPO}/blob/main/solutions/x.ipynb",
        f"https://colab.research.google.com/github/{OWNER_REPO}/blob/notebooks/02_data.ipynb",
        f"https://mybinder.org/v2/gh/{OWNER_REPO}/notebooks?labpath=02_data.ipynb",
        f"https://raw.githubusercontent.com/{OWNER_REPO}/main/README.md",
        f"https://github.com/{OWNER_REPO.upper()}/tree/main",
    ):
        assert links_to_repository(href), href
    for href in (f"{COLAB_PREFIX}02_data.ipynb", f"{BINDER_PREFIX}labpath=02_data.ipynb",
                 f"https://github.com/{OWNER_REPO}-notebooks", "https://generative-mnist.github.io/generative-mnist/"):
        assert not links_to_repository(href), href


def _run(nb, tmp_path):
    """Run a notebook as "Run all" does: in a fresh kernel, stopping at the first error."""
    import nbclient

    env_backend = os.environ.pop("MPLBACKEND", None)  # the kernel inherits it; a reader's has inline
    try:
        nbclient.NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            allow_errors=False,
            resources={"metadata": {"path": str(tmp_path)}},
        ).execute()
    finally:
        if env_backend is not None:
            os.environ["MPLBACKEND"] = env_backend
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in ran), "Run all stopped before the end"
    assert [o for c in ran for o in c.outputs if o.output_type == "error"] == []
    return ran


def test_a_reader_notebook_with_errors_on_purpose_runs_top_to_bottom(build, tmp_path):
    """04_singular_covariances (12 s alone, 27-64 s beside other builds): its cells that raise on purpose
    print their error and Run all goes on.

    The printed lines are the errors that the book's page shows, and no cell is
    tagged ``raises-exception`` any more, which nbclient, unlike Jupyter and
    Colab, would let raise.
    """
    import nbformat

    assert build.returncode == 0, "the book did not build"
    chapter = "04_singular_covariances"
    nb = nbformat.read(NOTEBOOKS / f"{chapter}.ipynb", as_version=4)
    assert not any(RAISES in c.metadata.get("tags", []) for c in nb.cells)
    ran = _run(nb, tmp_path)
    shown = [
        o.text.strip()
        for c in ran
        if c.source.startswith("try:")
        for o in c.outputs
        if o.output_type == "stream" and o.name == "stdout"
    ]
    assert len(shown) >= 2 and all(line.startswith("LinAlgError: ") for line in shown), shown
    # The same errors as the book's page shows (its text, without the markup of the traceback).
    page = html.unescape(re.sub(r"<[^>]+>", "", (HTML / "book" / f"{chapter}.html").read_text(encoding="utf-8")))
    for line in shown:
        assert line.split(": ", 1)[1] in page, f"the book does not show {line!r}"


def test_a_downloaded_reader_notebook_runs_top_to_bottom(build, tmp_path):
    """02_data (about 10 s), run as it is downloaded, in a fresh kernel.

    gradedlib is installed here, so the install cell installs nothing; the
    chapter's figures, which the book shows through myst_nb's glue, are shown
    under their cells by the install cell's stand-in for glue.
    """
    import nbformat

    assert build.returncode == 0, "the book did not build"
    nb = nbformat.read(NOTEBOOKS / "02_data.ipynb", as_version=4)
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    ran = _run(nb, tmp_path)
    assert len(ran) == n_code
    figures = [o for c in ran for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 2, "the chapter's figures are not shown"
    assert any("idx_images: 60,000" in o.get("text", "") for c in ran for o in c.outputs)
