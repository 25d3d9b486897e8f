"""grading/plugins/stderr_streams.py: printing, logging and warnings never cost points; a failed check still does.

nbgrader scores a test cell with a stderr stream output zero
(``nbgrader.utils.determine_grade``); the course's pipeline shows such
streams as stdout before nbgrader scores.  The graded proof (a correct
solution that warns and logs, in its test cells too, keeps full marks) is the
``own_names_warnings_logging`` submission of tests/grading/batch/test_assignment_grading.py.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbgrader.utils import determine_grade
from traitlets.config.loader import PyFileConfigLoader

from assignment_fixtures.course import ROOT, load_plugins

load_plugins()  # the repository root on sys.path, as nbgrader_config.py puts it
from grading.plugins.stderr_streams import StderrAsStdout, stderr_as_stdout  # noqa: E402


def _stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def _cell(grade_id, outputs, *, grade=True, solution=False, points=2):
    cell = nbformat.v4.new_code_cell("predict(x)")
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3, "solution": solution,
            "task": False}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    cell.outputs = outputs
    return cell


def _notebook():
    """A tiny graded notebook: test cells that warn, log, fail or give a value; an answer and a read-only cell."""
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="expected 1; found 2",
                                   traceback=["AssertionError: expected 1; found 2"])
    partial = nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"}, execution_count=3)
    cells = [
        _cell("answer", [_stream("stderr", "my own warning\n")], grade=False, solution=True),
        _cell("read_only", [_stream("stderr", "a read-only cell's log\n")], grade=False),
        _cell("test_warns", [_stream("stdout", "passed\n"), _stream("stderr", "UserWarning: float32\n"),
                             _stream("stderr", "WARNING:student:predict on 10 images\n"),
                             _stream("stdout", "done\n")]),
        _cell("test_fails", [_stream("stderr", "UserWarning: float32\n"), error]),
        _cell("test_partial", [_stream("stderr", "note\n"), partial]),
        _cell("test_quiet", [_stream("stdout", "all checks passed\n")]),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def _scores(nb):
    return {c.metadata.nbgrader["grade_id"]: determine_grade(c)[0] for c in nb.cells if c.metadata.nbgrader["grade"]}


def test_nbgrader_alone_zeroes_a_test_cell_that_wrote_to_stderr():
    """The fixture reproduces what the preprocessor is for (else the tests below prove nothing)."""
    assert _scores(_notebook()) == {"test_warns": 0, "test_fails": 0, "test_partial": 0, "test_quiet": 2}


def test_stderr_of_test_cells_costs_nothing_and_stays_visible():
    nb, _ = StderrAsStdout().preprocess(_notebook(), {})
    assert _scores(nb) == {"test_warns": 2, "test_fails": 0, "test_partial": 0.5, "test_quiet": 2}
    warns = nb.cells[2].outputs
    assert [(o.output_type, o.name) for o in warns] == [("stream", "stdout")]
    assert warns[0].text == "passed\nUserWarning: float32\nWARNING:student:predict on 10 images\ndone\n"


def test_an_error_still_fails_and_other_outputs_are_untouched():
    before = _notebook()
    nb, _ = StderrAsStdout().preprocess(copy.deepcopy(before), {})
    fails = nb.cells[3].outputs
    assert [o.output_type for o in fails] == ["stream", "error"]
    assert fails[0].name == "stdout" and fails[0].text == "UserWarning: float32\n"
    assert fails[1] == before.cells[3].outputs[1]
    assert nb.cells[4].outputs[1] == before.cells[4].outputs[1]  # a displayed value (partial credit) as it was
    assert nb.cells[5].outputs == before.cells[5].outputs


def test_cells_not_scored_by_their_outputs_keep_stderr():
    before = _notebook()
    nb, _ = StderrAsStdout().preprocess(copy.deepcopy(before), {})
    assert nb.cells[0].outputs == before.cells[0].outputs and nb.cells[0].outputs[0].name == "stderr"
    assert nb.cells[1].outputs == before.cells[1].outputs and nb.cells[1].outputs[0].name == "stderr"


def test_join_streams_off_keeps_one_output_per_stream():
    nb, _ = StderrAsStdout(join_streams=False).preprocess(_notebook(), {})
    warns = nb.cells[2].outputs
    assert [(o.name, o.text) for o in warns] == [
        ("stdout", "passed\n"), ("stdout", "UserWarning: float32\n"),
        ("stdout", "WARNING:student:predict on 10 images\n"), ("stdout", "done\n"),
    ]
    assert _scores(nb)["test_warns"] == 2


def test_stream_text_given_as_a_list_of_lines_is_kept():
    outputs, changed = stderr_as_stdout([{"output_type": "stream", "name": "stderr", "text": ["a\n", "b\n"]},
                                         {"output_type": "stream", "name": "stdout", "text": "c\n"}])
    assert changed == 1 and outputs == [{"output_type": "stream", "name": "stdout", "text": "a\nb\nc\n"}]


@pytest.mark.parametrize("outputs, words", [
    ("not a list", ["outputs", "list", "str"]),
    ([{"output_type": "stream", "name": "stderr", "text": "x"}, 3], ["outputs", "int"]),
])
def test_bad_outputs_are_named(outputs, words):
    with pytest.raises(TypeError) as info:
        stderr_as_stdout(outputs)
    for word in words:
        assert word in str(info.value)


def test_the_autograde_pipeline_applies_it_before_nbgrader_scores():
    """Both `nbgrader autograde` and `python -m grading autograde` (its phase 2) run this pipeline."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    names = [p.__name__ for p in config.Autograde.autograde_preprocessors]
    assert "StderrAsStdout" in names
    assert names.index("SandboxedExecute") < names.index("StderrAsStdout") < names.index("SaveAutoGrades")
    assert names.index("StderrAsStdout") < names.index("LimitOutput")
    assert config.StderrAsStdout.get("enabled", True) is not False
