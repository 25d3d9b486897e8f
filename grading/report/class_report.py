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
  progress, similar submissions (see :mod:`grading.report.similarity`) and a table
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
import html
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from grading.cli import add_course_argument, parse_course_arguments, returns_exit_status
from grading.config import Course
from grading.report.gradebook import NO_OUTPUT_MESSAGE, ClassData, Student, collect, part_of

__all__ = ["ClassData", "Student", "class_report", "collect", "main", "part_of", "render_html", "write_csv", "write_report"]

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


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
    """The report page. ``similar`` is a list of :class:`grading.report.similarity.Pair` (or ``None``: not run)."""
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


def class_report(course: Course, assignment: str, db_url: str | None = None, out=None, similarity: bool = True,
                 threshold: float | None = None) -> Path:
    """Write the class report of ``assignment`` (``report.html``, its figures, ``report.csv``); return the page.

    Parameters
    ----------
    course : grading.config.Course
        The course (its folder, its gradebook).
    assignment : str
        The assignment's name in the gradebook.
    db_url : str, default=None
        The gradebook's URL; ``None`` means the course's (:attr:`grading.config.Course.db_url`).
    out : str or Path, default=None
        The output folder; ``None`` means ``<course>/reports/<assignment>``.
    similarity : bool, default=True
        Compare every pair of submissions (:mod:`grading.report.similarity`).
    threshold : float, default=None
        The similarity threshold, a share in (0, 1]; ``None`` means the module's default.
    """
    from grading.report.similarity import DEFAULT_THRESHOLD, check_submissions

    out = Path(out) if out else course.folder / "reports" / assignment
    data = collect(course, assignment, db_url)
    similar, note = None, ""
    if similarity:
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        similar = check_submissions(course.folder, assignment, threshold=threshold)
        note = (f"Solution code of every pair of submissions, and of every submission against gradedlib's source, "
                f"compared with copydetect (the released notebook's code is ignored); pairs where at least "
                f"{100 * threshold:.0f}% of one side matches are listed, the matching code highlighted.")
    return write_report(data, out, similar, note)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grading report", description="Write the class report of an assignment after grading.")
    p.add_argument("assignment", help="the assignment's name in the gradebook, e.g. gaussian_generative")
    add_course_argument(p, "the course folder, with autograded/ and submitted/")
    p.add_argument("--db", default=None, help="the gradebook URL (default: the course's, c.CourseDirectory.db_url)")
    p.add_argument("--out", default=None, help="the output folder (default: COURSE/reports/ASSIGNMENT)")
    p.add_argument("--no-similarity", action="store_true", help="skip the similarity check")
    p.add_argument("--threshold", type=float, default=None, help="similarity threshold, a share in (0, 1] (default: grading.report.similarity's)")
    return p


@returns_exit_status
def main(argv=None) -> int:
    """Run the command; return the exit status (2: bad arguments, 1: the report could not be made)."""
    args, course = parse_course_arguments(_parser(), argv)
    try:
        page = class_report(course, args.assignment, db_url=args.db, out=args.out,
                            similarity=not args.no_similarity, threshold=args.threshold)
    except (FileNotFoundError, LookupError, ValueError) as exc:
        from grading.untrusted_text import for_terminal

        print(f"python -m grading report: {for_terminal(exc)}", file=sys.stderr)
        return 1
    print(f"wrote {page} (and {', '.join(FIGURES)}, report.csv beside it)")
    return 0
