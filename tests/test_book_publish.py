"""The book's deployment workflow (``.github/workflows/book.yml``).

It cannot run here, so it is checked: against the GitHub Actions workflow
schema (check-jsonschema's bundled copy of SchemaStore's ``github-workflow``
schema, offline), which must also reject a broken copy; by zizmor, a linter of
GitHub Actions' security pitfalls (offline: no audit that needs GitHub's API),
which must find nothing in it and flag a copy with a script injection; and by
reading it: it
builds with ``.ci/build-book`` (the script ``tests/test_book.py`` runs), caches
the execution cache, deploys to GitHub Pages with the permissions that needs,
and publishes only the reader notebooks on the branch ``notebooks``.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
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
    branch = wf["jobs"]["notebooks-branch"]
    assert branch["permissions"] == {"contents": "write"}
    uploads = [s for s in wf["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert [u["with"]["path"] for u in uploads] == ["_build/html/notebooks/"]
    # The branch job never checks out this repository: it sees only that artifact.
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in branch["steps"])
    script = next(s["run"] for s in branch["steps"] if "run" in s)
    assert "git init -q -b notebooks" in script and "git push --force" in script and " notebooks\n" in script + "\n"


def test_build_script_fails_on_warnings_and_builds_the_wheel():
    script = (REPO / ".ci" / "build-book").read_text(encoding="utf-8")
    assert os.access(REPO / ".ci" / "build-book", os.X_OK)
    assert "set -euo pipefail" in script
    assert "jupyter-book build . -W -n --keep-going" in script
    assert "python -m build --wheel --outdir _build/html/dist ." in script
