"""A test whose Debian package is missing skips, saying how to get it; in CI it fails (conftest.py)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from debian_packages import PACKAGES, in_ci

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

EXAMPLE = textwrap.dedent(
    """
    import pytest


    @pytest.mark.browser
    def test_in_chromium():
        pass


    @pytest.mark.sandbox("bubblewrap")
    def test_in_bubblewrap():
        pass


    def test_of_nothing_from_debian():
        pass
    """
)


def _pytest(folder: Path, ci: str | None, source: str = EXAMPLE) -> subprocess.CompletedProcess:
    """pytest on ``source`` with the project's markers and conftest.py, and a PATH of this Python's bin/ only:
    no chromium, no bwrap."""
    (folder / "test_example.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith(("PYTEST_", "COV_"))}
    env["PATH"] = os.path.dirname(sys.executable)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT), env.get("PYTHONPATH", "")])
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(folder / "test_example.py"), "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(folder), "-o", "addopts=", "--strict-markers", "-p", "conftest", "-p", "no:cacheprovider",
         "-rsE", "-q"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )


def test_outside_ci_a_missing_package_skips_and_says_how_to_get_it(tmp_path):
    out = _pytest(tmp_path, ci=None)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "1 passed, 2 skipped" in text, text
    assert "needs Debian's chromium" in text and "apt-get install chromium; .ci/run installs it" in text, text
    assert "apt-get install bubblewrap; .ci/run installs it" in text, text


def test_in_ci_a_missing_package_fails_with_the_same_message(tmp_path):
    out = _pytest(tmp_path, ci="1")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "1 passed, 2 errors" in text and "skipped" not in text, text
    assert "apt-get install chromium; .ci/run installs it (CI: a missing requirement is a failure" in text, text
    assert "apt-get install bubblewrap" in text, text


def test_an_unknown_marker_is_an_error(tmp_path):
    out = _pytest(tmp_path, ci=None, source="import pytest\n\n\n@pytest.mark.sandboxed\ndef test_x():\n    pass\n")
    assert out.returncode != 0 and "'sandboxed' not found in `markers`" in out.stdout + out.stderr, out.stdout


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("false", False), ("1", True),
                                             ("true", True)])
def test_ci_is_any_value_but_empty_zero_or_false(value, expected, monkeypatch):
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_every_message_names_the_install_command():
    for name, (_, what, how) in PACKAGES.items():
        assert what and how, name
        if name != "sandbox":
            assert how.startswith("apt-get install "), name
