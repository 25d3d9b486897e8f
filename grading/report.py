"""``python -m grading report ASSIGNMENT``: the class report after grading.

It reads nbgrader's gradebook, the autograded notebooks
(``autograded/<student>/<assignment>/*.ipynb``: the error outputs of failed
test cells) and, when the grader wrote one,
``autograded/<student>/<assignment>/grading_summary.json`` (``seconds``,
``limits_hit``, ``not_gradable``; without it, the ``seconds`` and
``limits_hit`` the grader may leave in the autograded notebook's metadata
under ``generative_mnist_grading``), and writes into one folder:

- ``report.html``: one self-contained page (no network needed): score
  distributions, for every autograded check the share of students who failed
  it and their most frequent failure messages, run times and limits hit,
  submissions that could not be graded, late submissions, manual grading
  progress, similar submissions (see :mod:`grading.similarity`) and a table
  of every student;
- the figures it shows, as PNG files: ``scores_total.png``,
  ``scores_parts.png``, ``checks_failed.png``, ``run_times.png``;
- ``report.csv``: one row per student of the gradebook.

Scores are nbgrader's: the sum of the cells' scores (a manual score replaces
the automatic one), minus the late penalty, never below zero, as in
``nbgrader export``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import html
import json
import math
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = ["ClassData", "Student", "collect", "main", "part_of", "write_report"]

#: Parts of the assignment: an autograded cell named ``test_<part>_...`` belongs to ``<part>``.
DEFAULT_PARTS = ("fit", "predict", "linalgerror", "huge_c", "per_class", "misc")
WRITTEN = "written"
NO_OUTPUT_MESSAGE = "(no error output: the cell did not run to the end)"
#: Notebook metadata where the grader (grading/judge.py) records its summary; read
#: when there is no grading_summary.json.
GRADING_METADATA = "generative_mnist_grading"
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass
class Cell:
    """A graded cell of the assignment's notebook."""

    notebook: str
    name: str
    max_score: float
    kind: str  # "code" (autograded) or "markdown" (graded by hand)
    part: str

    @property
    def autograded(self) -> bool:
        return self.kind == "code"


@dataclass
class Student:
    """One student of the gradebook and what became of their submission."""

    id: str
    first_name: str = ""
    last_name: str = ""
    submitted: bool = False
    timestamp: dt.datetime | None = None
    seconds_late: float = 0.0
    late_penalty: float = 0.0
    scores: dict = field(default_factory=dict)  # (notebook, cell) -> score, None if not graded
    messages: dict = field(default_factory=dict)  # (notebook, cell) -> failure message of a failed check
    autograded: bool = False  # an autograded notebook exists
    recorded: bool = True  # False: in submitted/ but not among the gradebook's submissions
    summary: dict | None = None  # grading_summary.json, if any

    @property
    def raw_score(self) -> float:
        return float(sum(s or 0.0 for s in self.scores.values()))

    @property
    def score(self) -> float:
        """nbgrader's final score: raw score minus the late penalty, at least 0."""
        return max(0.0, self.raw_score - self.late_penalty) if self.submitted else 0.0

    @staticmethod
    def autograded_folder_exists(folder: Path) -> bool:
        return folder.is_dir() and any(folder.glob("*.ipynb"))

    @property
    def not_gradable(self) -> str | None:
        """Why the submission could not be graded, or ``None``."""
        if not self.submitted:
            return None
        if self.summary and self.summary.get("not_gradable"):
            return str(self.summary["not_gradable"])
        if not self.recorded:
            return "in submitted/ but not in the gradebook (autograding stopped before recording it)"
        if not self.autograded:
            return "no autograded notebook (autograding failed or was not run)"
        return None

    @property
    def seconds(self) -> float | None:
        value = (self.summary or {}).get("seconds")
        return None if value is None else float(value)

    @property
    def limits_hit(self) -> list:
        return list((self.summary or {}).get("limits_hit") or [])


@dataclass
class ClassData:
    """Everything the report shows, read from the course folder and the gradebook."""

    assignment: str
    duedate: dt.datetime | None
    cells: list  # of Cell, in gradebook order
    students: list  # of Student, sorted by id
    parts: tuple

    @property
    def max_score(self) -> float:
        return float(sum(c.max_score for c in self.cells))

    @property
    def submitted(self) -> list:
        return [s for s in self.students if s.submitted]

    @property
    def graded(self) -> list:
        """Submissions that were autograded (the denominators of the check statistics)."""
        return [s for s in self.students if s.submitted and s.autograded and not s.not_gradable]

    def part_names(self) -> list:
        present = {c.part for c in self.cells}
        return [p for p in (*self.parts, "other", WRITTEN) if p in present]

    def part_max(self, part: str) -> float:
        return float(sum(c.max_score for c in self.cells if c.part == part))

    def part_score(self, student: Student, part: str) -> float:
        return float(sum(student.scores.get((c.notebook, c.name)) or 0.0 for c in self.cells if c.part == part))

    def failed(self, cell: Cell) -> list:
        """Graded students who did not get the full points of an autograded cell."""
        return [s for s in self.graded if (s.scores.get((cell.notebook, cell.name)) or 0.0) < cell.max_score]


def part_of(name: str, kind: str, parts=DEFAULT_PARTS) -> str:
    """The part a graded cell belongs to: ``written`` for cells graded by hand."""
    if kind != "code":
        return WRITTEN
    for part in parts:
        if name.startswith(f"test_{part}_"):
            return part
    return "other"


def _error_message(cell) -> str | None:
    """``ename: evalue`` of the first error output of a notebook cell, or ``None``."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", ""), str(output.get("evalue", "")).strip()
            first_line = evalue.splitlines()[0] if evalue else ""
            return f"{ename}: {first_line}" if first_line else ename
    return None


def _read_summary(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"not_gradable": None, "summary_error": f"unreadable {path.name}: {exc}"}
    return data if isinstance(data, dict) else {"summary_error": f"{path.name} is not a JSON object"}


def collect(course, assignment: str, db_url: str | None = None, parts=DEFAULT_PARTS) -> ClassData:
    """Read the gradebook and the autograded notebooks of ``assignment``.

    Parameters
    ----------
    course : str or Path
        The course folder (where ``autograded/`` is).
    assignment : str
        The assignment's name in the gradebook.
    db_url : str, default=None
        The gradebook's URL; ``None`` means ``sqlite:///<course>/gradebook.db``.
    parts : sequence of str
        Part names: an autograded cell ``test_<part>_*`` belongs to ``<part>``.
    """
    from nbgrader.api import Gradebook, MissingEntry

    course = Path(course)
    if not course.is_dir():
        raise FileNotFoundError(f"The 'course' argument must be the course folder. Got {str(course)!r}, which is not a directory.")
    if db_url is None:
        db_path = course / "gradebook.db"
        if not db_path.is_file():
            raise FileNotFoundError(f"No gradebook: expected {str(db_path)!r} (or pass --db URL).")
        db_url = f"sqlite:///{db_path}"
    _alembic_on_path()
    with Gradebook(db_url) as gb:
        try:
            record = gb.find_assignment(assignment)
        except MissingEntry:
            known = sorted(a.name for a in gb.assignments)
            raise LookupError(f"The 'assignment' argument must name an assignment of the gradebook {known}. Got {assignment!r} instead.") from None
        cells = [
            Cell(nb.name, gc.name, float(gc.max_score), gc.cell_type, part_of(gc.name, gc.cell_type, parts))
            for nb in record.notebooks
            for gc in nb.grade_cells
        ]
        duedate = record.duedate
        students = []
        for st in sorted(gb.students, key=lambda s: s.id):
            student = Student(st.id, st.first_name or "", st.last_name or "")
            try:
                sub = gb.find_submission(assignment, st.id)
            except MissingEntry:
                # a submission that autograding never recorded still counts as submitted
                student.submitted = (course / "submitted" / st.id / assignment).is_dir()
                student.recorded = not student.submitted
                students.append(student)
                continue
            student.submitted = True
            student.timestamp = sub.timestamp
            student.seconds_late = float(sub.total_seconds_late)
            student.late_penalty = float(sub.late_submission_penalty or 0.0)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    graded = grade.manual_score is not None or grade.auto_score is not None
                    student.scores[(nb.name, grade.name)] = float(grade.score) if graded else None
            students.append(student)
    known = {s.id for s in students}
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        if folder.is_dir() and folder.parent.name not in known:
            students.append(Student(folder.parent.name, submitted=True, recorded=False))
    students.sort(key=lambda s: s.id)
    by_cell = {(c.notebook, c.name): c for c in cells}
    for student in students:
        if not student.submitted:
            continue
        folder = course / "autograded" / student.id / assignment
        student.summary = _read_summary(folder / "grading_summary.json")
        marker = course / ".grading-cache" / "not-gradable" / assignment / f"{student.id}.json"
        if marker.is_file() and not student.autograded_folder_exists(folder):
            # python -m grading autograde could not grade it (its own failure) and recorded nothing.
            reason = (_read_summary(marker) or {}).get("reason") or "the grader could not grade it"
            student.summary = {**(student.summary or {}), "not_gradable": f"not gradable: {reason}"}
        notebooks = {c.notebook for c in cells}
        present = [nb for nb in sorted(notebooks) if (folder / f"{nb}.ipynb").is_file()]
        student.autograded = bool(present) and len(present) == len(notebooks)
        from_metadata = []
        for nb_name in present:
            nb = nbformat.read(folder / f"{nb_name}.ipynb", as_version=4)
            if isinstance(nb.metadata.get(GRADING_METADATA), dict):
                from_metadata.append(nb.metadata[GRADING_METADATA])
            for cell in nb.cells:
                key = (nb_name, cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
                spec = by_cell.get(key)
                if spec is None or not spec.autograded:
                    continue
                if (student.scores.get(key) or 0.0) < spec.max_score:
                    student.messages[key] = _error_message(cell) or NO_OUTPUT_MESSAGE
        if student.summary is None and from_metadata:
            student.summary = {
                "seconds": sum(float(m.get("seconds") or 0.0) for m in from_metadata),
                "limits_hit": sorted({x for m in from_metadata for x in m.get("limits_hit") or []}),
                "not_gradable": None,
            }
    return ClassData(assignment, duedate, cells, students, tuple(parts))


def _alembic_on_path() -> None:
    """nbgrader's Gradebook runs ``alembic``: make the one beside this Python findable."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def group_messages(messages) -> list:
    """Group failure messages that differ only in their numbers.

    Returns
    -------
    groups : list of (count, example, pattern)
        Most frequent first; ``example`` is the most common concrete message
        of the group, ``pattern`` the message with every number replaced by ``#``.
    """
    groups = defaultdict(Counter)
    for message in messages:
        groups[_NUMBER.sub("#", message)][message] += 1
    out = [(sum(c.values()), c.most_common(1)[0][0], pattern) for pattern, c in groups.items()]
    return sorted(out, key=lambda g: (-g[0], g[2]))


# ---------------------------------------------------------------------------
# Figures


def _score_bins(maximum: float):
    import numpy as np

    width = max(1.0, math.ceil(maximum / 15))
    edges = np.arange(0.0, maximum + width, width)
    if edges[-1] < maximum:
        edges = np.append(edges, maximum)
    return edges


def figure_totals(data: ClassData):
    """Histogram of the final scores of the submitted students."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
    scores = [s.score for s in data.submitted]
    ax.hist(scores, bins=_score_bins(data.max_score), edgecolor="white", color="#4c72b0")
    ax.set_xlabel(f"final score (out of {data.max_score:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{data.assignment}: {len(scores)} submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def figure_parts(data: ClassData):
    """One histogram per part of the assignment (scores before any late penalty)."""
    import matplotlib.pyplot as plt

    parts = data.part_names()
    ncols = min(4, len(parts))
    nrows = math.ceil(len(parts) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows), layout="constrained", squeeze=False)
    for ax, part in zip(axes.flat, parts):
        maximum = data.part_max(part)
        ax.hist([data.part_score(s, part) for s in data.submitted], bins=_score_bins(maximum), edgecolor="white", color="#55a868")
        ax.set_title(f"{part} (/{maximum:g})", fontsize=10)
        ax.yaxis.get_major_locator().set_params(integer=True)
    for ax in list(axes.flat)[len(parts):]:
        ax.set_visible(False)
    fig.supxlabel("score")
    fig.supylabel("students")
    return fig


def figure_checks(data: ClassData):
    """Horizontal bars: the share of graded submissions that failed each autograded check."""
    import matplotlib.pyplot as plt

    checks = [c for c in data.cells if c.autograded]
    n = max(1, len(data.graded))
    shares = [len(data.failed(c)) / n for c in checks]
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(checks) + 1.0), layout="constrained")
    ax.barh([c.name for c in checks], shares, color="#c44e52")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of the {len(data.graded)} graded submissions that failed")
    ax.tick_params(axis="y", labelsize=8)
    return fig


def figure_run_times(data: ClassData):
    """Bars: grading time per submission (from grading_summary.json); red when a limit was hit."""
    import matplotlib.pyplot as plt

    timed = [s for s in data.submitted if s.seconds is not None]
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * max(1, len(timed)) + 1.0), layout="constrained")
    ax.barh([s.id for s in timed], [s.seconds for s in timed], color=["#c44e52" if s.limits_hit else "#8172b2" for s in timed])
    ax.invert_yaxis()
    ax.set_xlabel("grading time (s); red: a limit was hit")
    if not timed:
        ax.text(0.5, 0.5, "no grading_summary.json found", ha="center", va="center", transform=ax.transAxes)
    return fig


FIGURES = {
    "scores_total.png": figure_totals,
    "scores_parts.png": figure_parts,
    "checks_failed.png": figure_checks,
    "run_times.png": figure_run_times,
}


# ---------------------------------------------------------------------------
# CSV and HTML


def csv_rows(data: ClassData) -> list:
    """The rows of ``report.csv`` (dicts with the same keys), one per student."""
    rows = []
    for s in data.students:
        row = {
            "student_id": s.id,
            "last_name": s.last_name,
            "first_name": s.first_name,
            "submitted": int(s.submitted),
            "timestamp": s.timestamp.isoformat(sep=" ") if s.timestamp else "",
            "hours_late": round(s.seconds_late / 3600, 2),
        }
        for part in data.part_names():
            row[f"part_{part}"] = data.part_score(s, part)
        row.update({
            "raw_score": s.raw_score,
            "late_penalty": s.late_penalty,
            "score": s.score,
            "max_score": data.max_score,
            "failed_checks": ";".join(name for (_, name) in sorted(s.messages)),
            "ungraded_answers": sum(
                1 for c in data.cells if not c.autograded and s.submitted and not s.not_gradable and s.scores.get((c.notebook, c.name)) is None
            ),
            "seconds": "" if s.seconds is None else s.seconds,
            "limits_hit": ";".join(s.limits_hit),
            "not_gradable": s.not_gradable or "",
        })
        rows.append(row)
    return rows


def write_csv(data: ClassData, path: Path) -> None:
    """Write ``report.csv``: every text cell through :func:`grading.untrusted_text.for_csv` (no live formula)."""
    from grading.untrusted_text import for_csv_row

    rows = csv_rows(data)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["student_id"])
        writer.writeheader()
        writer.writerows(for_csv_row(row) for row in rows)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; } th, td { border: 1px solid #ccc; padding: .25em .5em; vertical-align: top; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #a00; } .muted { color: #777; } img { max-width: 100%; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; } .pair > div { min-width: 0; }
.pair pre { background: #f8f8f8; border: 1px solid #ddd; padding: .5em; overflow: auto; max-height: 30em; font-size: 12px; }
mark { background: #ffd54f; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: .9em; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _table(header, rows, numeric=()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            cls = ' class="num"' if i in numeric else ""
            cells.append(f"<td{cls}>{value}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(src: str, alt: str, caption: str) -> str:
    return f"<figure><img src='{_e(src)}' alt='{_e(alt)}'><figcaption>{_e(caption)}</figcaption></figure>"


def _hours(seconds: float) -> str:
    days, rest = divmod(seconds, 86400)
    return f"{int(days)} d {rest / 3600:.1f} h" if days else f"{seconds / 3600:.1f} h"


def render_html(data: ClassData, similar=None, similarity_note: str = "") -> str:
    """The report page. ``similar`` is a list of :class:`grading.similarity.Pair` (or ``None``: not run)."""
    import statistics

    sub = data.submitted
    missing = [s for s in data.students if not s.submitted]
    scores = [s.score for s in sub]
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'>",
        f"<title>Class report: {_e(data.assignment)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Class report: {_e(data.assignment)}</h1>",
        f"<p>{len(data.students)} students in the gradebook; <b>{len(sub)} submissions</b>, "
        f"{len(data.graded)} autograded. Due {_e(data.duedate or 'no due date')} (UTC). Maximum score {data.max_score:g}.</p>",
    ]
    if scores:
        out.append(
            f"<p>Final score: median <b>{statistics.median(scores):g}</b>, mean {statistics.fmean(scores):.2f}, "
            f"minimum {min(scores):g}, maximum {max(scores):g}.</p>"
        )
    out.append(
        "<p>No submission: "
        + (", ".join(f"<b>{_e(s.id)}</b>" for s in missing) if missing else "none")
        + ".</p>"
    )
    out.append("<h2 id='scores'>Score distributions</h2>")
    out.append(_figure("scores_total.png", "histogram of the final scores",
                       "Final scores (late penalty subtracted) of every submission."))
    out.append(_figure("scores_parts.png", "histograms of the scores of each part",
                       "Scores of each part before any late penalty; written: the answers graded by hand (0 until graded)."))

    # Checks
    out.append("<h2 id='checks'>Autograded checks: what to re-teach</h2>")
    out.append(f"<p>Share of the {len(data.graded)} autograded submissions that did not get a check's full points, "
               "most failed first, with their failure messages (messages differing only in numbers are grouped).</p>")
    out.append(_figure("checks_failed.png", "share of submissions failing each check",
                       "Share of the autograded submissions that did not get each check's points, in notebook order."))
    rows = []
    checks = sorted((c for c in data.cells if c.autograded), key=lambda c: -len(data.failed(c)))
    n = max(1, len(data.graded))
    for cell in checks:
        failed = data.failed(cell)
        groups = group_messages(s.messages.get((cell.notebook, cell.name), NO_OUTPUT_MESSAGE) for s in failed)
        who = defaultdict(list)
        for s in failed:
            who[_NUMBER.sub("#", s.messages.get((cell.notebook, cell.name), NO_OUTPUT_MESSAGE))].append(s.id)
        text = "<br>".join(
            f"<b>{count}×</b> <code>{_e(example)}</code> <span class='muted'>({_e(', '.join(who[pattern]))})</span>"
            for count, example, pattern in groups
        )
        rows.append([
            f"<code>{_e(cell.name)}</code>", _e(cell.part), f"{cell.max_score:g}",
            f"{len(failed)}/{len(data.graded)} ({100 * len(failed) / n:.0f}%)", text or "<span class='muted'>none</span>",
        ])
    out.append(_table(["check", "part", "points", "failed", "failure messages"], rows, numeric=(2, 3)))

    # Run times and limits
    out.append("<h2 id='runtime'>Grading time, limits and submissions that could not be graded</h2>")
    out.append(_figure("run_times.png", "grading time per submission",
                       "Grading time per submission, from grading_summary.json; red: a time or memory limit was hit."))
    rows = []
    for s in sub:
        rows.append([
            _e(s.id), "" if s.seconds is None else f"{s.seconds:.1f}",
            _e(", ".join(s.limits_hit)) if s.limits_hit else "",
            f"<span class='bad'>{_e(s.not_gradable)}</span>" if s.not_gradable else "",
        ])
    out.append(_table(["student", "seconds", "limits hit", "not gradable"], rows, numeric=(1,)))
    untimed = [s.id for s in sub if s.seconds is None]
    if untimed:
        out.append(f"<p class='muted'>No grading_summary.json for: {_e(', '.join(untimed))}.</p>")

    # Late
    late = [s for s in sub if s.seconds_late > 0]
    out.append("<h2 id='late'>Late submissions</h2>")
    if late:
        out.append(_table(
            ["student", "submitted (UTC)", "late by", "raw score", "penalty", "final score"],
            [[_e(s.id), _e(s.timestamp), _hours(s.seconds_late), f"{s.raw_score:g}", f"{s.late_penalty:g}", f"{s.score:g}"] for s in late],
            numeric=(3, 4, 5),
        ))
    else:
        out.append("<p>None.</p>")

    # Manual grading
    out.append("<h2 id='manual'>Manual grading progress</h2>")
    manual = [c for c in data.cells if not c.autograded]
    gradable = [s for s in sub if not s.not_gradable]
    rows = []
    for cell in manual:
        todo = [s.id for s in gradable if s.scores.get((cell.notebook, cell.name)) is None]
        rows.append([f"<code>{_e(cell.name)}</code>", f"{cell.max_score:g}", f"{len(gradable) - len(todo)}/{len(gradable)}", _e(", ".join(todo))])
    out.append(_table(["written answer", "points", "graded", "still to grade"], rows, numeric=(1, 2)))

    # Similarity
    out.append("<h2 id='similarity'>Similar submissions</h2>")
    if similarity_note:
        out.append(f"<p>{_e(similarity_note)}</p>")
    if similar is None:
        out.append("<p class='muted'>The similarity check was not run.</p>")
    elif not similar:
        out.append("<p>No pair above the threshold.</p>")
    else:
        for pair in similar:
            out.append(
                f"<h3>{_e(pair.first)} and {_e(pair.second)}: {100 * pair.first_share:.0f}% / {100 * pair.second_share:.0f}%"
                f" of the code matches</h3><div class='pair'><div><b>{_e(pair.first)}</b><pre>{pair.first_html}</pre></div>"
                f"<div><b>{_e(pair.second)}</b><pre>{pair.second_html}</pre></div></div>"
            )

    # Students
    out.append("<h2 id='students'>Students</h2>")
    parts = data.part_names()
    rows = []
    for s in data.students:
        if not s.submitted:
            rows.append([_e(s.id), "<span class='bad'>no submission</span>", *[""] * len(parts), "", "", "0"])
            continue
        rows.append([
            _e(s.id), _e(s.timestamp),
            *[f"{data.part_score(s, p):g}" for p in parts],
            f"{s.raw_score:g}", f"{s.late_penalty:g}" if s.late_penalty else "", f"<b>{s.score:g}</b>",
        ])
    header = ["student", "submitted (UTC)", *[f"{p} /{data.part_max(p):g}" for p in parts], "raw", "late penalty", "final"]
    out.append(_table(header, rows, numeric=tuple(range(2, len(header)))))
    out.append("<p class='muted'>The same figures, one row per student: report.csv.</p></body></html>")
    return "\n".join(out)


def write_report(data: ClassData, out_dir, similar=None, similarity_note: str = "") -> Path:
    """Write report.html, its PNG figures and report.csv into ``out_dir``; return the page's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, make in FIGURES.items():
        fig = make(data)
        fig.savefig(out_dir / name, dpi=100)
        plt.close(fig)
    write_csv(data, out_dir / "report.csv")
    page = out_dir / "report.html"
    page.write_text(render_html(data, similar, similarity_note), encoding="utf-8")
    return page


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grading report", description="Write the class report of an assignment after grading.")
    p.add_argument("assignment", help="the assignment's name in the gradebook, e.g. gaussian_generative")
    p.add_argument("--course", default=".", help="the course folder, with autograded/ and submitted/ (default: .)")
    p.add_argument("--db", default=None, help="the gradebook URL (default: sqlite:///COURSE/gradebook.db)")
    p.add_argument("--out", default=None, help="the output folder (default: COURSE/reports/ASSIGNMENT)")
    p.add_argument("--no-similarity", action="store_true", help="skip the similarity check")
    p.add_argument("--threshold", type=float, default=None, help="similarity threshold, a share in (0, 1] (default: grading.similarity's)")
    return p


def main(argv=None) -> int:
    """Run the command; return the exit status (2: bad arguments, 1: the report could not be made)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    course = Path(args.course)
    out = Path(args.out) if args.out else course / "reports" / args.assignment
    try:
        data = collect(course, args.assignment, args.db)
        similar, note = None, ""
        if not args.no_similarity:
            from grading.similarity import DEFAULT_THRESHOLD, check_submissions

            threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
            similar = check_submissions(course, args.assignment, threshold=threshold)
            note = (f"Solution code of every pair of submissions, and of every submission against gradedlib's source, "
                    f"compared with copydetect (the released notebook's code is ignored); pairs where at least "
                    f"{100 * threshold:.0f}% of one side matches are listed, the matching code highlighted.")
        page = write_report(data, out, similar, note)
    except (FileNotFoundError, LookupError, ValueError) as exc:
        from grading.untrusted_text import for_terminal

        print(f"python -m grading report: {for_terminal(exc)}", file=sys.stderr)
        return 1
    print(f"wrote {page} (and {', '.join(FIGURES)}, report.csv beside it)")
    return 0
