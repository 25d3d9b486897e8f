"""grading.sandbox.pythonenv: what a sandboxed interpreter needs to see, found for real interpreters and layouts."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grading.sandbox.pythonenv import find_environment, is_within  # noqa: E402


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """A venv under a temporary folder whose packages come from a folder elsewhere (a .pth file)."""
    base = tmp_path_factory.mktemp("layout")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    extra = base / "elsewhere" / "packages"
    (extra / "somepkg").mkdir(parents=True)
    (extra / "gradedlib").mkdir()
    (site / "elsewhere.pth").write_text(str(extra) + "\n")
    course = base / "course"
    (course / "solutions").mkdir(parents=True)
    return {"base": base, "venv": venv, "python": str(python), "extra": extra, "course": course}


def test_is_within():
    assert is_within("/a/b", "/a") and is_within("/a", "/a") and not is_within("/ab", "/a")


def test_the_prefix_the_pth_target_and_the_base_interpreter_are_shown(layout):
    env = find_environment(executable=layout["python"], courses=[str(layout["course"])])
    assert str(layout["venv"]) in env.paths
    assert str(layout["extra"]) in env.paths
    base = os.path.realpath(sys.base_prefix)
    assert base.startswith("/usr") or any(is_within(base, p) for p in env.paths)
    # gradedlib found in a shown folder is listed for the sandbox to hide
    assert str(layout["extra"] / "gradedlib") in env.hidden()
    # nothing shown contains the course, the working directory, the home or /tmp
    for path in env.paths:
        for folder in (str(layout["course"]), os.getcwd(), os.path.expanduser("~"), "/tmp", "/"):
            assert not is_within(folder, path), (path, folder)


def test_pythonpath_entries_are_shown_but_never_the_course_or_a_folder_above_it(layout, monkeypatch):
    outside = layout["base"] / "on-pythonpath"
    outside.mkdir(exist_ok=True)
    inside = layout["course"] / "src"
    inside.mkdir(exist_ok=True)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(outside), str(layout["course"]), str(inside),
                                                       str(layout["base"])]))
    env = find_environment(executable=layout["python"], courses=[str(layout["course"])])
    assert str(outside) in env.paths and str(outside) in env.pythonpath
    for refused in (layout["course"], inside, layout["base"]):
        assert str(refused) not in env.paths and str(refused) in env.refused, env.refused
    assert "course folder" in env.refused[str(inside)]


def test_a_protected_folder_hides_even_the_environment_in_it(layout):
    env = find_environment(protected=[str(layout["base"])], executable=layout["python"])
    assert str(layout["venv"]) not in env.paths and "protected folder" in env.refused[str(layout["venv"])]


def test_a_venv_inside_the_course_is_shown_but_not_the_course(layout, tmp_path):
    course = tmp_path / "course"
    venv = course / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    env = find_environment(executable=str(venv / "bin" / "python"), courses=[str(course)])
    assert str(venv) in env.paths and str(course) not in env.paths


def test_this_interpreter(tmp_path):
    env = find_environment(courses=[str(ROOT)])
    purelib = sysconfig.get_paths()["purelib"]
    assert any(is_within(purelib, p) for p in env.paths) or purelib.startswith("/usr")
    assert str(ROOT) not in env.paths
