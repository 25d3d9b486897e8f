"""The time limits scaled from the reference solution's times (grading/batch/cell_times.py, executor, probe).

The real measurement (the reference graded in the sandbox) runs once per test
session for the graded classes (``assignment_fixtures.course.seed_reference_times``);
``tests/grading/batch/test_assignment_grading.py`` checks that a never-ending cell is stopped
at the scaled limit.  Here: the arithmetic of the limits, the cache and its key.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from traitlets.config import Config

from grading.batch import cell_times
from grading.run.executor import NotebookExecutor
from grading.judge.grade import grading_config, submission_key
from grading.run.probe import Probe, ProbeCall
from grading.sandbox.layers import Sandbox

TIMES = {"fit_call": 2.0, "exercise3_code": 30.0}


def _cell(grade_id=None):
    cell = nbformat.v4.new_code_cell("x = 1")
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id}
    return cell


def _executor(**traits):
    return NotebookExecutor(Sandbox(enabled=False), **traits)


def test_a_cell_may_run_the_factor_times_the_reference_plus_the_floor():
    executor = _executor(reference_cell_seconds=TIMES, cell_time_factor=10, cell_time_floor=60, cell_timeout=600)
    seconds, rule = executor.cell_limit(_cell("fit_call"))
    assert seconds == 80
    assert rule == ("the limit of 80 s for this cell: 10 times the reference solution's time for this cell "
                    "(2.0 s) plus 60 s")


def test_a_cell_the_reference_has_not_got_gets_the_allowance_of_its_slowest_cell():
    executor = _executor(reference_cell_seconds=TIMES, cell_time_factor=10, cell_time_floor=60, cell_timeout=600)
    for cell in (_cell(), _cell("a_cell_the_student_made_up")):
        seconds, rule = executor.cell_limit(cell)
        assert seconds == 360
        assert "the reference solution's slowest cell (30.0 s" in rule


@pytest.mark.parametrize("traits", [
    {},  # nothing measured (plain nbgrader autograde)
    {"reference_cell_seconds": TIMES, "cell_time_factor": 0},  # scaling turned off
    {"reference_cell_seconds": TIMES, "cell_time_factor": 30},  # 960 s: over the cap
])
def test_the_fixed_limit_applies_without_times_when_turned_off_and_as_a_cap(traits):
    executor = _executor(cell_timeout=600, cell_time_floor=60, **traits)
    assert executor.cell_limit(_cell("exercise3_code")) == (600, "the limit of 600 s per cell")


def test_probe_calls_are_scaled_the_same_way():
    probe = Probe(Sandbox(enabled=False), reference_call_seconds={"fit_full": 5.0, "per_class_full": 20.0},
                  call_time_factor=10, call_time_floor=60, call_timeout=600)
    assert probe._timeout(ProbeCall("fit_full", "fit_generative_model", [])) == 110
    assert probe._timeout(ProbeCall("unknown", "fit_generative_model", [])) == 260
    assert probe._timeout(ProbeCall("fit_full", "fit_generative_model", [], timeout=7)) == 7
    assert Probe(Sandbox(enabled=False), call_timeout=600)._timeout(ProbeCall("fit_full", "f", [])) == 600


def test_the_measured_times_never_change_which_submissions_are_graded_again():
    nb = nbformat.v4.new_notebook(cells=[_cell("fit_call")])
    plain = Config({"NotebookExecutor": {"cell_timeout": 600}})
    measured = Config({"NotebookExecutor": {"cell_timeout": 600, "reference_cell_seconds": TIMES},
                       "Probe": {"reference_call_seconds": {"fit_full": 1.0}}})
    assert submission_key(nb, grading_config(plain)) == submission_key(nb, grading_config(measured))
    factor = Config({"NotebookExecutor": {"cell_timeout": 600, "cell_time_factor": 3}})
    assert submission_key(nb, grading_config(plain)) != submission_key(nb, grading_config(factor))


def _course(tmp_path, text="one"):
    folder = tmp_path / "course" / "source" / "hw"
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {text}")])
    nbformat.write(nb, folder / "hw.ipynb")
    return tmp_path / "course"


def test_the_reference_is_timed_once_per_solution_and_machine(tmp_path, monkeypatch):
    measured = []

    def fake_measure(paths, config, refs):
        measured.append([p.name for p in paths])
        return {"cells": {"a": 1.5}, "calls": {"fit_full": 2.5}, "seconds": 4.0, "problems": []}

    monkeypatch.setattr(cell_times, "_measure", fake_measure)
    course, lines = _course(tmp_path), []
    first = cell_times.reference_times(course, "hw", Config(), tmp_path / "cache", refs=None, log=lines.append)
    assert first["cells"] == {"a": 1.5} and measured == [["hw.ipynb"]]
    assert "measured in 4 s" in lines[-1]
    again = cell_times.reference_times(course, "hw", Config(), tmp_path / "cache", refs=None, log=lines.append)
    assert again == first and len(measured) == 1 and "measured earlier" in lines[-1]
    # Another solution (or another machine) is timed again.
    _course(tmp_path, "two")
    cell_times.reference_times(course, "hw", Config(), tmp_path / "cache", refs=None, log=lines.append)
    assert len(measured) == 2
    monkeypatch.setattr(cell_times, "machine", lambda: "another CPU x 64")
    cell_times.reference_times(course, "hw", Config(), tmp_path / "cache", refs=None, log=lines.append)
    assert len(measured) == 3
    kept = sorted((tmp_path / "cache" / "cell-times" / "hw").glob("*.json"))
    assert len(kept) == 3 and json.loads(kept[0].read_text())["calls"]


def test_without_a_source_notebook_or_when_the_reference_fails_the_fixed_limits_apply_and_it_is_said(
        tmp_path, monkeypatch):
    lines = []
    assert cell_times.reference_times(tmp_path, "hw", Config(), tmp_path / "cache", None, log=lines.append) is None
    assert "no source notebook" in lines[-1]

    def broken(paths, config, refs):
        raise RuntimeError("the sandbox is gone")

    monkeypatch.setattr(cell_times, "_measure", broken)
    course = _course(tmp_path)
    assert cell_times.reference_times(course, "hw", Config(), tmp_path / "cache", None, log=lines.append) is None
    assert "could not be timed (RuntimeError: the sandbox is gone)" in lines[-1]
    assert not (tmp_path / "cache" / "cell-times" / "hw").exists() or not list(
        (tmp_path / "cache" / "cell-times" / "hw").glob("*.json"))


def test_the_source_folder_is_nbgraders(tmp_path):
    config = Config({"CourseDirectory": {"source_directory": "solutions"}})
    folder = tmp_path / "solutions" / "hw"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), folder / "b.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), folder / "a.ipynb")
    assert [p.name for p in cell_times.source_notebooks(tmp_path, "hw", config)] == ["a.ipynb", "b.ipynb"]
