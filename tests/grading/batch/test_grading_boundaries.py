"""Attacks on every channel by which data leaves a sandbox, graded for real in both layers.

A class of the reference solution and the attacks of
``tests/assignment_fixtures/boundary_attacks.py`` is graded with
``python -m grading autograde --workers 2`` in each sandbox layer, with the
grader's ``TMPDIR`` on a small disk of its own (1 GiB of ext4), while a
sampler records the resident memory of every process of the grader's own
(not the sandboxed ones): see ``assignment_fixtures/boundary_class.py``,
which says which attacks each layer grades.  Asserted:

* no channel between the notebook and the probe: the function that changes
  its answer when it finds the notebook's marker keeps the reference's 24/24;
* a neighbour that fills every folder it can write costs the honest
  submission graded beside it (that same channel attack) nothing (24/24),
  and the small ``TMPDIR`` is never full;
* forged and oversized probe records cost the grader neither minutes (the
  submission's time against the honest one's) nor gigabytes (every grader
  process under 1.5 GB, with 3.2 GB declared in the export and in probe
  results, and 120 cells printing just under the per-cell cap);
* a malformed export and malformed probe records are graded, not "not
  gradable";
* nothing the students wrote (forged ``limits_hit``, exception messages,
  a student id that is a formula) reaches the terminal as a control
  character, or ``report.csv`` as a live formula.

Each attack also proves that it ran (the lines it prints, the folders it
filled), so that a defence is never credited for an attack that did nothing.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import nbformat
import pytest

from assignment_fixtures.boundary_attacks import CHANNEL_LINE, ESCAPED_STUDENT, FILL_LINE
from assignment_fixtures.boundary_class import FILL, HONEST, SMALL_TMP_BYTES, students
from assignment_fixtures.course import ASSIGNMENT, NOTEBOOK, autograded_scores

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.nbgrader,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting the small TMPDIR (a loop-mounted disk) needs root, as in CI"),
]

FULL = 24.0
#: A process of the grader's own may not grow beyond this, whatever a submission writes.
GRADER_RSS_LIMIT = 1.5e9
CONTROL = {chr(c) for c in range(0x20) if c != 0x0A} | {chr(0x7F)} | {chr(c) for c in range(0x80, 0xA0)}


@pytest.fixture(scope="module", params=[pytest.param("bubblewrap", marks=pytest.mark.sandbox("bubblewrap")), "landlock"])
def graded(request, boundary_classes):
    return boundary_classes.get(request.param)


def _bubblewrap_only(graded):
    if graded["layer"] != "bubblewrap":
        pytest.skip("an attack on the grader's own parsing, the same code in both layers: graded in the "
                    "bubblewrap layer (assignment_fixtures/boundary_class.py)")


def _totals(course: Path) -> dict:
    return {s: sum(got or 0 for got, _ in cells.values()) for s, cells in autograded_scores(course).items()}


def _outputs(course: Path, student: str) -> str:
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _number_after(text: str, marker: str) -> int:
    """The largest number printed after ``marker`` (the attack's own account of what it did)."""
    numbers = [int(line.split(marker, 1)[1].split()[0]) for line in text.splitlines() if marker in line]
    assert numbers, f"the attack did not run: no line {marker!r}"
    return max(numbers)


def test_every_submission_is_graded_and_recorded(graded):
    assert graded["returncode"] == 0, graded["stdout"][-3000:] + graded["stderr"][-4000:]
    statuses = {s: r["status"] for s, r in graded["results"].items()}
    assert statuses == {s: "graded" for s in students(graded["layer"])}, statuses
    assert set(_totals(graded["course"])) == set(students(graded["layer"]))


def test_no_channel_from_the_notebook_reaches_the_probe(graded):
    course = graded["course"]
    assert _number_after(_outputs(course, HONEST), CHANNEL_LINE) > 0
    assert _totals(course)[HONEST] == FULL, autograded_scores(course)[HONEST]


def test_a_neighbour_filling_every_folder_it_can_write_costs_the_honest_submission_nothing(graded):
    course = graded["course"]
    wrote = _number_after(_outputs(course, FILL), FILL_LINE)
    assert wrote >= 1024, f"the filler wrote only {wrote} MiB"
    assert _totals(course)[HONEST] == FULL, autograded_scores(course)[HONEST]
    # The grader's small TMPDIR never came near full: nothing of the filler's went there.
    assert graded["tmp_min_free"] > SMALL_TMP_BYTES / 2, graded["tmp_min_free"]


def test_forged_and_oversized_records_cost_the_grader_neither_minutes_nor_gigabytes(graded):
    _bubblewrap_only(graded)
    results = graded["results"]
    honest = results[HONEST]["seconds"]
    for student in (ESCAPED_STUDENT, "bombs"):
        assert results[student]["seconds"] < 1.5 * honest + 60, (student, results[student]["seconds"], honest)
    rss, command = graded["memory"].largest()
    assert rss < GRADER_RSS_LIMIT, (rss, command)
    assert graded["memory"].peak, "the sampler saw no process of the grader's"
    size = (graded["course"] / "autograded" / "bombs" / ASSIGNMENT / NOTEBOOK).stat().st_size
    assert size < 40 * 2**20, f"the autograded notebook is {size / 2**20:.0f} MiB"
    assert "the notebook's output reached" in _outputs(graded["course"], "bombs")


def test_what_the_student_wrote_reaches_no_terminal_and_no_spreadsheet_formula(graded):
    _bubblewrap_only(graded)
    text = graded["stdout"].decode("utf-8", "replace") + graded["stderr"].decode("utf-8", "replace")
    found = sorted({hex(ord(ch)) for ch in text if ch in CONTROL and ch not in "\t\r"})
    assert not found, found
    assert "PWNED" not in text and "cHduZWQ=" not in text
    report = graded["report"]
    assert report.returncode == 0, report.stderr[-3000:]
    report_text = report.stdout.decode("utf-8", "replace") + report.stderr.decode("utf-8", "replace")
    assert not {ch for ch in report_text if ch in CONTROL and ch not in "\t\r"}
    path = graded["course"] / "reports" / ASSIGNMENT / "report.csv"
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    cells = [cell for row in rows for cell in row]
    assert any(cell == "'" + ESCAPED_STUDENT for cell in cells), rows[:3]
    live = [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")
            or (cell[:1] == "-" and not _is_number(cell))]
    assert not live, live
    assert not any("PWNED" in cell or "attacker.invalid" in cell for cell in cells)
    # The forged limits_hit never became the grader's word.
    summary = json.loads((graded["course"] / "autograded" / ESCAPED_STUDENT / ASSIGNMENT
                          / "grading_summary.json").read_text())
    assert not any("attacker" in line or "\x1b" in line for line in summary["limits_hit"] + summary["events"])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
