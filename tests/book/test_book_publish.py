"""The book's deployment workflow (``.github/workflows/book.yml``).

It cannot run here, so it is checked: against the GitHub Actions workflow
schema (check-jsonschema's bundled copy of SchemaStore's ``github-workflow``
schema, offline), which must also reject a broken copy; by zizmor, a linter of
GitHub Actions' security pitfalls (offline: no audit that needs GitHub's API),
which must find nothing in it and flag a copy with a script injection; and by
reading it: it
builds with ``.ci/build-book`` (the script ``tests/book/test_book.py`` runs), caches
the execution cache, deploys to GitHub Pages with the permissions that needs,
and publishes only the reader notebooks, in a separate public repository
(``NOTEBOOKS_REPOSITORY``, the ``reader_notebooks_repository`` of
``_config.yml``) with its deploy key, never in this one (the instructor's).

The launch links of ``_ext/reader_notebooks.py`` are checked here too, without
a build: the Colab and Binder addresses it builds from that setting, and the
errors that stop the build when the setting is not "owner/name" or names the
instructor's repository.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "book.yml"


def lint(path):
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    if exe is None:
        pytest.fail("check-jsonschema is not installed (pip install -e '.[dev]')")
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def zizmor(path):
    exe = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    if exe is None:
        pytest.fail("zizmor is not installed (pip install -e '.[dev]')")
    return subprocess.run(
        [exe, "--offline", "--no-progress", "--color", "never", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def load():
    # PyYAML reads the key `on` as True (YAML 1.1).
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def book_config():
    return yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))


def test_workflow_passes_the_workflow_schema():
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "old, new",
    [
        ("    runs-on: ubuntu-latest\n    timeout-minutes", "    runs-onn: ubuntu-latest\n    timeout-minutes"),
        ("      pages: write", "      pages: publish"),
        ("  workflow_dispatch:", "  workflow_dispatched:"),
    ],
    ids=["typo-runs-on", "bad-permission", "unknown-event"],
)
def test_the_lint_rejects_a_broken_workflow(tmp_path, old, new):
    text = WORKFLOW.read_text(encoding="utf-8")
    assert text.count(old) == 1
    broken = tmp_path / "book.yml"
    broken.write_text(text.replace(old, new), encoding="utf-8")
    result = lint(broken)
    assert result.returncode != 0, f"the lint accepted a workflow with {new.strip()!r}"


def test_zizmor_finds_nothing_in_the_workflow():
    """No finding; the ignores are the commented ``# zizmor: ignore[unpinned-uses]`` of GitHub's own actions."""
    result = zizmor(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout, result.stdout + result.stderr
    # Only unpinned-uses is ignored, and only on GitHub's own actions.
    for line in WORKFLOW.read_text(encoding="utf-8").splitlines():
        if "zizmor: ignore" in line and not line.lstrip().startswith("#"):
            assert re.search(r"uses: actions/[a-z-]+@v\d+  # zizmor: ignore\[unpinned-uses\]$", line), line


def test_zizmor_flags_a_script_injection(tmp_path):
    """A commit message (attacker-chosen text) expanded into a shell script is flagged."""
    text = WORKFLOW.read_text(encoding="utf-8")
    old = "        run: .ci/build-book\n"
    assert text.count(old) == 1
    bad = text.replace(old, old + '\n      - name: Say what is built\n        run: echo "${{ github.event.head_commit.message }}"\n')
    broken = tmp_path / ".github" / "workflows" / "book.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(bad, encoding="utf-8")
    assert lint(broken).returncode == 0, "the injected copy should still be a valid workflow"
    result = zizmor(broken)
    assert result.returncode != 0, result.stdout
    assert "template-injection" in result.stdout, result.stdout + result.stderr


def test_workflow_builds_with_the_tested_script():
    wf = load()
    assert set(wf[True]) == {"push", "workflow_dispatch"}
    assert wf[True]["push"]["branches"] == ["main"]
    steps = wf["jobs"]["build"]["steps"]
    runs = [s.get("run", "").strip() for s in steps]
    assert ".ci/build-book" in runs
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    install = next(r for r in runs if "pip install" in r)
    assert '".[book]"' in install
    # The cache: the execution cache, keyed on the library, chapters and configuration.
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "_build/.jupyter_cache"
    for part in ("gradedlib/**", "book/**", "_config.yml", "_toc.yml"):
        assert part in cache["with"]["key"]
    # Every step after the build uses what the build wrote.
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"


def test_workflow_deploys_pages_and_publishes_only_the_notebooks():
    wf = load()
    assert wf["permissions"] == {"contents": "read"}
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    assert set(wf["jobs"]) == {"build", "deploy", "notebooks-repository"}
    job = wf["jobs"]["notebooks-repository"]
    assert job["needs"] == "build"
    # No GITHUB_TOKEN permission: it writes to another repository, with that repository's deploy key.
    assert job["permissions"] == {}
    assert job["environment"]["name"] == "reader-notebooks"
    uploads = [s for s in wf["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert [u["with"]["path"] for u in uploads] == ["_build/html/notebooks/"]
    # The job never checks out this repository: it sees only that artifact.
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in job["steps"])
    download = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"name": "reader-notebooks", "path": "notebooks"}
    publish = next(s for s in job["steps"] if "run" in s)
    assert publish["working-directory"] == "notebooks"
    script = publish["run"]
    # One commit with no history, force-pushed over ssh to the notebooks repository, on its branch.
    assert 'git init -q -b "${NOTEBOOKS_BRANCH}"' in script
    assert 'git push --force "git@github.com:${NOTEBOOKS_REPOSITORY}.git" "HEAD:refs/heads/${NOTEBOOKS_BRANCH}"' in script
    assert script.count("git push") == 1 and "GITHUB_REPOSITORY" not in script and "x-access-token" not in script
    # The deploy key comes in through env (no expression in the script), and github.com's host key is pinned.
    assert "${{" not in script
    assert publish["env"]["DEPLOY_KEY"] == "${{ secrets.NOTEBOOKS_DEPLOY_KEY }}"
    assert "github.token" not in WORKFLOW.read_text(encoding="utf-8")
    assert "StrictHostKeyChecking=yes" in script
    assert "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" in script


def test_workflow_publishes_where_the_book_links():
    """The workflow's repository and branch of the notebooks are _config.yml's, which the launch links use."""
    wf, config = load(), book_config()
    sphinx = config["sphinx"]["config"]
    assert wf["env"]["NOTEBOOKS_REPOSITORY"] == sphinx["reader_notebooks_repository"]
    assert wf["env"]["NOTEBOOKS_BRANCH"] == sphinx["reader_notebooks_branch"]
    instructor = config["repository"]["url"].removeprefix("https://github.com/")
    assert wf["env"]["NOTEBOOKS_REPOSITORY"].lower() != instructor.lower()
    # Read from that one place: no other mention of the repository in the workflow.
    text = WORKFLOW.read_text(encoding="utf-8")
    assert text.count(sphinx["reader_notebooks_repository"]) == 1


# --- The launch links of _ext/reader_notebooks.py, without a build ---

INSTRUCTOR_URL = "https://github.com/generative-mnist/generative-mnist"
NOTEBOOKS_REPOSITORY = "generative-mnist/generative-mnist-notebooks"


@pytest.fixture(scope="module")
def reader_notebooks():
    """The extension's module (it needs myst_nb, installed with ``.[book]``)."""
    pytest.importorskip("myst_nb")
    import importlib.util

    spec = importlib.util.spec_from_file_location("_reader_notebooks_under_test", REPO / "_ext" / "reader_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_app(repository=NOTEBOOKS_REPOSITORY, branch="main", url=INSTRUCTOR_URL):
    config = SimpleNamespace(
        html_theme_options={"repository_url": url},
        reader_notebooks_repository=repository,
        reader_notebooks_branch=branch,
        reader_notebooks_site="",
    )
    return SimpleNamespace(config=config, srcdir=str(REPO))


def test_launch_links_open_the_notebooks_repository(reader_notebooks):
    urls = reader_notebooks.launch_urls(fake_app(), "book/04_singular_covariances")
    assert urls == {
        "download": "../notebooks/04_singular_covariances.ipynb",
        "colab": f"https://colab.research.google.com/github/{NOTEBOOKS_REPOSITORY}/blob/main/04_singular_covariances.ipynb",
        "binder": f"https://mybinder.org/v2/gh/{NOTEBOOKS_REPOSITORY}/main?labpath=04_singular_covariances.ipynb",
    }
    # The wheel stays on the book's GitHub Pages site, deployed by the same workflow.
    assert reader_notebooks.wheel_url(fake_app()).startswith("https://generative-mnist.github.io/generative-mnist/dist/")


def test_launch_links_with_the_book_configuration(reader_notebooks):
    config = book_config()
    sphinx = config["sphinx"]["config"]
    app = fake_app(sphinx["reader_notebooks_repository"], sphinx["reader_notebooks_branch"], config["repository"]["url"])
    urls = reader_notebooks.launch_urls(app, "book/02_data")
    for key in ("colab", "binder"):
        assert f"/{sphinx['reader_notebooks_repository']}/" in urls[key]
        assert "/generative-mnist/generative-mnist/" not in urls[key]


@pytest.mark.parametrize(
    "value",
    ["", "generative-mnist-notebooks", "https://github.com/generative-mnist/generative-mnist-notebooks",
     "generative-mnist/generative-mnist-notebooks/", "a/b/c", "generative-mnist/notebooks.git", "-owner/name",
     "owner/..", None],
)
def test_a_notebooks_repository_that_is_not_owner_name_stops_the_build(reader_notebooks, value):
    from sphinx.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        reader_notebooks.launch_urls(fake_app(value), "book/02_data")
    message = str(error.value)
    assert "reader_notebooks_repository" in message and "_config.yml" in message
    assert '"owner/name"' in message, message
    assert f"got {value!r}" in message, message


@pytest.mark.parametrize(
    "value", ["generative-mnist/generative-mnist", "Generative-MNIST/Generative-MNIST"], ids=["same", "other-case"]
)
def test_the_instructor_repository_is_refused(reader_notebooks, value):
    from sphinx.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        reader_notebooks.launch_urls(fake_app(value), "book/02_data")
    message = str(error.value)
    assert "reader_notebooks_repository" in message and repr(value) in message
    assert "repository.url" in message and INSTRUCTOR_URL in message and "solutions" in message


def test_a_bad_branch_stops_the_build(reader_notebooks):
    from sphinx.errors import ConfigError

    with pytest.raises(ConfigError, match="reader_notebooks_branch"):
        reader_notebooks.launch_urls(fake_app(branch=""), "book/02_data")


def _sphinx(tmp_path, monkeypatch, repository):
    """A Sphinx application with the extension alone (set up, not built)."""
    pytest.importorskip("myst_nb")
    from sphinx.application import Sphinx

    monkeypatch.syspath_prepend(str(REPO / "_ext"))
    (tmp_path / "src").mkdir(parents=True)
    (tmp_path / "src" / "index.rst").write_text("Title\n=====\n", encoding="utf-8")
    (tmp_path / "src" / "conf.py").write_text(
        "extensions = ['reader_notebooks']\n"
        f"html_theme_options = {{'repository_url': {INSTRUCTOR_URL!r}}}\n"
        f"reader_notebooks_repository = {repository!r}\n",
        encoding="utf-8",
    )
    return Sphinx(str(tmp_path / "src"), str(tmp_path / "src"), str(tmp_path / "out"), str(tmp_path / "doctrees"),
                  "html", status=None, warning=None)


def test_sphinx_refuses_the_instructor_repository_at_start(tmp_path, monkeypatch):
    """The check runs when the configuration is read (config-inited), before any page is built."""
    from sphinx.errors import ConfigError

    with pytest.raises(ConfigError, match="reader_notebooks_repository"):
        _sphinx(tmp_path, monkeypatch, "generative-mnist/generative-mnist")
    assert _sphinx(tmp_path / "ok", monkeypatch, NOTEBOOKS_REPOSITORY).config.reader_notebooks_branch == "main"


def test_build_script_fails_on_warnings_and_builds_the_wheel():
    script = (REPO / ".ci" / "build-book").read_text(encoding="utf-8")
    assert os.access(REPO / ".ci" / "build-book", os.X_OK)
    assert "set -euo pipefail" in script
    assert "jupyter-book build . -W -n --keep-going" in script
    assert "python -m build --wheel --outdir _build/html/dist ." in script


# --- The old addresses of renumbered chapters (_ext/moved_pages.py), without a build ---


@pytest.fixture(scope="module")
def moved_pages():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_moved_pages_under_test", REPO / "_ext" / "moved_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _moved_app(moved):
    return SimpleNamespace(config=SimpleNamespace(moved_pages=moved))


def test_a_moved_page_that_is_still_a_page_stops_the_build(moved_pages):
    from sphinx.errors import ConfigError

    env = SimpleNamespace(found_docs={"book/08_why_cI_works", "book/07c_why_cI_works"})
    with pytest.raises(ConfigError, match="'book/07c_why_cI_works' is still a page"):
        moved_pages.check_moved_pages(_moved_app({"book/07c_why_cI_works": "book/08_why_cI_works"}), env)


def test_a_move_to_a_page_that_does_not_exist_stops_the_build(moved_pages):
    from sphinx.errors import ConfigError

    env = SimpleNamespace(found_docs={"book/08_why_cI_works"})
    with pytest.raises(ConfigError, match="points to 'book/08_why_cl_works', which is not a page"):
        moved_pages.check_moved_pages(_moved_app({"book/07c_why_cI_works": "book/08_why_cl_works"}), env)
    with pytest.raises(ConfigError, match="must be a mapping of old to new page names. Got"):
        moved_pages.check_moved_pages(_moved_app(["book/07c_why_cI_works"]), env)


def test_the_committed_moves_name_current_chapters_and_no_current_chapter(moved_pages):
    toc = (REPO / "_toc.yml").read_text(encoding="utf-8")
    pages = set(re.findall(r"file: (\S+)", toc))
    moved = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]["moved_pages"]
    moved_pages.check_moved_pages(_moved_app(moved), SimpleNamespace(found_docs=pages))
