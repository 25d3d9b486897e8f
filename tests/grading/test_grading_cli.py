"""``python -m grading``: the dispatcher and the autograde command's argument errors (no grading)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "grading", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_usage_lists_the_commands():
    out = _run("--help")
    assert out.returncode == 0 and "autograde" in out.stdout and "report" in out.stdout and "doctor" in out.stdout
    assert "score" in out.stdout and "export-lms" in out.stdout


def test_an_unknown_command_is_named():
    out = _run("grade-everything")
    assert out.returncode == 2 and "unknown command 'grade-everything'" in out.stderr


@pytest.mark.parametrize("args, message", [
    (["autograde", "a", "--workers", "0"], "--workers must be a positive integer; got 0"),
    (["autograde", "a", "--frobnicate"], "expected --Class.trait=value"),
])
def test_autograde_argument_errors_say_what_was_expected(args, message):
    out = _run(*args)
    assert out.returncode == 2 and message in out.stderr


def test_autograde_outside_a_course_says_where_it_looked(tmp_path):
    out = subprocess.run([sys.executable, "-m", "grading", "autograde", "a", "--course", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and f"no nbgrader_config.py in {tmp_path}" in out.stderr
    assert "run it from the course folder (the one with nbgrader_config.py), or pass --course" in out.stderr


def test_score_outside_a_course_says_where_it_looked(tmp_path):
    out = _run("score", "a", "s", "g", "1", "--course", str(tmp_path))
    assert out.returncode == 1 and f"expected '{tmp_path / 'gradebook.db'}'" in out.stderr
    assert "run it from the course folder" in out.stderr


def test_doctor_outside_a_course_says_where_it_looked(tmp_path):
    out = subprocess.run([sys.executable, "-m", "grading", "doctor", "--course", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and f"no nbgrader_config.py in {tmp_path}" in out.stderr


@pytest.mark.nbgrader
def test_autograde_before_generate_assignment_grades_and_records_nothing(tmp_path):
    """A fresh clone with the assignment added to the gradebook but never generated: nbgrader would record each
    submission without a notebook (and the cache would call it "graded earlier" next time), so nothing runs."""
    import os

    import nbformat

    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    (tmp_path / "grading").symlink_to(ROOT / "grading")
    added = subprocess.run([sys.executable, "-m", "nbgrader", "db", "assignment", "add", "gaussian_generative"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert added.returncode == 0, added.stderr[-3000:]
    submission = tmp_path / "submitted" / "ada" / "gaussian_generative"
    submission.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), submission / "gaussian_generative.ipynb")
    out = subprocess.run([sys.executable, "-m", "grading", "autograde", "gaussian_generative"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, (out.stdout[-2000:], out.stderr[-3000:])
    assert "the gradebook has the assignment 'gaussian_generative' but none of its notebooks" in out.stderr
    assert "nbgrader generate_assignment gaussian_generative --force" in out.stderr
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        assert gb.assignment_submissions("gaussian_generative") == []
    assert not (tmp_path / ".grading-cache" / "graded").exists()
