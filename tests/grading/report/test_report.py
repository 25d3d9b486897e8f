"""The class report (``python -m grading report``) on a small graded class.

The class (tests/report_fixtures/classroom.py) is written straight into a real
nbgrader gradebook, with autograded notebooks beside it; no notebook is run.
The report's CSV, figures and page are compared with the class's
specification and with ``nbgrader export`` run on the same gradebook, and the
page is opened in headless Chromium.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from bookcheck import check_site, chromium_for_tests
from report_fixtures.classroom import (
    ASSIGNMENT,
    AUTO_CELLS,
    CLASS,
    GRADE_CELLS,
    MANUAL_CELLS,
    SEED_GRID_MSG,
    expected_scores,
    expected_total,
    grading_summary,
    shared_course,
)

from grading.report import class_report as report

pytestmark = pytest.mark.slow  # builds a gradebook (~10 s) and runs the command (~20 s)

ROOT = Path(__file__).resolve().parents[3]
BIN = os.path.dirname(sys.executable)
SUBMITTED = [s for s, spec in CLASS.items() if spec.submitted]
GRADED = [s for s, spec in CLASS.items() if spec.submitted and spec.gradable]
PARTS = {"fit", "predict", "linalgerror", "huge_c", "per_class", "misc"}


def _env():
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture(scope="module")
def course():
    return shared_course()


@pytest.fixture(scope="module")
def output(course, tmp_path_factory):
    """Run the instructor's command, as documented, in a child process."""
    out = tmp_path_factory.mktemp("report")
    proc = subprocess.run(
        [sys.executable, "-m", "grading", "report", ASSIGNMENT, "--course", str(course), "--out", str(out)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "report.html" in proc.stdout
    return out


@pytest.fixture(scope="module")
def rows(output):
    with open(output / "report.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def page(output):
    return (output / "report.html").read_text()


@pytest.fixture(scope="module")
def data(course):
    return report.collect(course, ASSIGNMENT)


def test_writes_page_figures_and_csv(output):
    names = {p.name for p in output.iterdir()}
    assert {"report.html", "report.csv", *report.FIGURES} <= names
    for name in report.FIGURES:
        assert (output / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_csv_scores_agree_with_the_specification(rows):
    assert set(rows) == set(CLASS)
    for student, spec in CLASS.items():
        row = rows[student]
        assert row["submitted"] == str(int(spec.submitted)), student
        assert float(row["score"]) == pytest.approx(expected_total(student)), student
        assert float(row["late_penalty"]) == pytest.approx(spec.late_penalty or 0.0), student
        if spec.submitted and spec.gradable:
            scores = expected_scores(student)
            for part in PARTS:
                want = sum(v for cell, v in scores.items() if cell.startswith(f"test_{part}_"))
                assert float(row[f"part_{part}"]) == pytest.approx(want), (student, part)
            assert float(row["part_written"]) == pytest.approx(sum(scores[c] for c in MANUAL_CELLS)), student
            assert set(filter(None, row["failed_checks"].split(";"))) == set(spec.failed), student
            ungraded = sum(1 for c in MANUAL_CELLS if spec.manual.get(c) is None)
            assert int(row["ungraded_answers"]) == ungraded, student
        summary = grading_summary(student)
        assert row["seconds"] == ("" if summary.get("seconds") is None else str(float(summary["seconds"]))), student
        assert row["limits_hit"] == ";".join(summary.get("limits_hit") or []), student
    assert rows["grace"]["not_gradable"] == CLASS["grace"].summary["not_gradable"]
    # judy's notebook is in submitted/, but autograding never recorded it
    assert rows["judy"]["submitted"] == "1" and "not in the gradebook" in rows["judy"]["not_gradable"]
    assert float(rows["carol"]["hours_late"]) == pytest.approx(40.0)


@pytest.mark.nbgrader
def test_csv_scores_agree_with_nbgrader_export(course, rows, tmp_path):
    """nbgrader's own export of the same gradebook gives the same scores and penalties."""
    target = tmp_path / "grades.csv"
    proc = subprocess.run(
        [os.path.join(BIN, "nbgrader"), "export", f"--db=sqlite:///{course / 'gradebook.db'}", f"--to={target}"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(target, newline="") as f:
        exported = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(exported) == set(rows)
    for student, row in exported.items():
        for column in ("raw_score", "late_submission_penalty", "score", "max_score"):
            ours = rows[student]["late_penalty" if column == "late_submission_penalty" else column]
            assert float(ours) == pytest.approx(float(row[column])), (student, column)


def _bar_heights(ax):
    return [p.get_height() for p in ax.patches]


def _bar_edges(ax):
    lefts = [p.get_x() for p in ax.patches]
    return np.array(lefts + [ax.patches[-1].get_x() + ax.patches[-1].get_width()])


def test_total_histogram_counts_every_submission(data):
    fig = report.figure_totals(data)
    ax = fig.axes[0]
    edges = _bar_edges(ax)
    want, _ = np.histogram([expected_total(s) for s in SUBMITTED], bins=edges)
    assert _bar_heights(ax) == want.tolist()
    assert sum(_bar_heights(ax)) == len(SUBMITTED)
    assert edges[0] == 0 and edges[-1] == pytest.approx(sum(p for p, _ in GRADE_CELLS.values()))


def test_part_histograms(data):
    fig = report.figure_parts(data)
    axes = {ax.get_title().split(" ")[0]: ax for ax in fig.axes if ax.get_visible()}
    assert set(axes) == PARTS | {"written"}
    for part, ax in axes.items():
        cells = MANUAL_CELLS if part == "written" else [c for c in AUTO_CELLS if c.startswith(f"test_{part}_")]
        values = [sum(expected_scores(s)[c] for c in cells) if s in GRADED else 0.0 for s in SUBMITTED]
        want, _ = np.histogram(values, bins=_bar_edges(ax))
        assert _bar_heights(ax) == want.tolist(), part


def test_failed_checks_figure(data):
    fig = report.figure_checks(data)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == AUTO_CELLS
    widths = [p.get_width() for p in ax.patches]
    for cell, width in zip(labels, widths):
        failed = sum(1 for s in GRADED if cell in CLASS[s].failed)
        assert width == pytest.approx(failed / len(GRADED)), cell


def test_run_time_figure(data):
    ax = report.figure_run_times(data).axes[0]
    timed = [s for s in SUBMITTED if grading_summary(s).get("seconds") is not None]
    assert "dave" in timed  # his summary is in the autograded notebook's metadata
    assert [t.get_text() for t in ax.get_yticklabels()] == timed
    assert [p.get_width() for p in ax.patches] == [grading_summary(s)["seconds"] for s in timed]


def test_page_summary(page):
    assert f"<b>{len(SUBMITTED)} submissions</b>" in page
    median = float(np.median([expected_total(s) for s in SUBMITTED]))
    assert f"median <b>{median:g}</b>" in page
    assert "No submission: <b>frank</b>." in page


def test_page_groups_failure_messages(page):
    # dave's and ivan's messages differ only in their numbers: one group of two
    row = page.split("<code>test_fit_test_error</code>")[1].split("</tr>")[0]
    failed = sum(1 for s in GRADED if "test_fit_test_error" in CLASS[s].failed)
    assert f"{failed}/{len(GRADED)}" in row
    assert "<b>2×</b>" in row and "(dave, ivan)" in row
    assert SEED_GRID_MSG.format(0.1612).split(":")[0] in row
    # the most failed checks come first
    checks = page.split("id='checks'")[1].split("id='runtime'")[0]
    counts = {c: sum(1 for s in GRADED if c in CLASS[s].failed) for c in AUTO_CELLS}
    order = sorted(AUTO_CELLS, key=lambda c: checks.index(f"<code>{c}</code>"))
    assert [counts[c] for c in order] == sorted(counts.values(), reverse=True)
    n = counts["test_fit_values"]
    assert f"{n}/{len(GRADED)} ({100 * n / len(GRADED):.0f}%)" in checks


def test_page_limits_not_gradable_late_and_manual(page):
    runtime = page.split("id='runtime'")[1].split("id='late'")[0]
    assert "the notebook is not valid JSON" in runtime
    assert "<td>judy</td><td class=\"num\"></td><td></td><td><span class='bad'>in submitted/ but not in the gradebook" in runtime
    assert "<td>ivan</td><td class=\"num\">600.0</td><td>time</td>" in runtime
    assert "<td>erin</td><td class=\"num\">75.2</td><td>memory</td>" in runtime
    assert "<td>dave</td><td class=\"num\">97.5</td><td>output</td>" in runtime
    late = page.split("id='late'")[1].split("id='manual'")[0]
    assert "carol" in late and "1 d 16.0 h" in late and "6</td>" in late and "23</td>" in late
    assert "alice" not in late
    manual = page.split("id='manual'")[1].split("id='similarity'")[0]
    gradable = [s for s in GRADED]
    for cell in MANUAL_CELLS:
        todo = [s for s in gradable if CLASS[s].manual.get(cell) is None]
        assert f"{len(gradable) - len(todo)}/{len(gradable)}</td><td>{', '.join(todo)}</td>" in manual, cell


def test_page_lists_similar_submissions_side_by_side(page):
    similar = page.split("id='similarity'")[1].split("id='students'")[0]
    assert "<h3>alice and dave" in similar or "<h3>dave and alice" in similar
    assert "erin and gradedlib/model.py" in similar
    assert "bob" not in similar and "carol" not in similar
    assert "<mark>" in similar


@pytest.mark.browser
def test_page_opens_in_chromium_without_errors(output):
    chromium = chromium_for_tests()
    (result,) = check_site(output, ["report.html"], chromium=chromium, timeout=60)
    assert result.problems == []
    assert result.n_images == len(report.FIGURES)


def test_unknown_assignment_names_the_known_ones(course, capsys):
    assert report.main(["no_such_assignment", "--course", str(course), "--no-similarity", "--out", os.devnull]) == 1
    err = capsys.readouterr().err
    assert "'no_such_assignment'" in err and ASSIGNMENT in err


def test_missing_gradebook_and_bad_arguments(tmp_path, capsys):
    assert report.main([ASSIGNMENT, "--course", str(tmp_path)]) == 1
    assert "gradebook.db" in capsys.readouterr().err
    assert report.main([]) == 2
    assert report.main([ASSIGNMENT, "--threshold", "many"]) == 2


def test_group_messages_merges_numbers_only():
    groups = report.group_messages(["E: error 0.5 > 0.1", "E: error 0.7 > 0.1", "E: error 0.5 > 0.1", "E: other"])
    assert groups == [(3, "E: error 0.5 > 0.1", "E: error # > #"), (1, "E: other", "E: other")]
