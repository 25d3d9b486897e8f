"""Results files of the benchmark scripts: ``bench/results/<name>.md``.

Every script in ``bench/`` prints its tables and writes them, with where and
when they were measured, into one Markdown file that the book's
"Measurements" page includes (``guides/measurements.md``). A guide quotes a
measured figure only if it is in one of these files
(``tests/book/test_docs.py`` checks it), so no figure is copied by hand.

A file holds a title, a provenance table (command, date, commit, machine,
load average at the start and at the end) and the tables as printed, in a
``text`` block, followed by optional notes.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["RESULTS", "machine", "commit", "load", "render", "write"]

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
FIELDS = ("command", "date", "commit", "machine", "load average")


def machine() -> str:
    """The CPU count and model, the OS and the Python and NumPy versions."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import numpy

        numpy_version = f", numpy {numpy.__version__}"
    except ImportError:  # pragma: no cover
        numpy_version = ""
    return (f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}{numpy_version}")


def commit(repo: Path = REPO) -> str:
    """The short hash of HEAD, with ``+ uncommitted changes`` when the tree is not clean."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results")
    return head + (" + uncommitted changes" if dirty else "")


def load() -> str:
    """The 1- and 5-minute load averages, as ``1.23 0.98``."""
    one, five, _ = os.getloadavg()
    return f"{one:.2f} {five:.2f}"


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def render(title: str, tables: str, *, command: str, date: str, commit: str, machine: str, load: str,
           notes: str = "") -> str:
    """The text of a results file (see the module's docstring)."""
    rows = dict(zip(FIELDS, (command, date, commit, machine, load)))
    lines = [f"# {title}", "", "| | |", "| --- | --- |"]
    lines += [f"| {key} | {value.replace('|', '/')} |" for key, value in rows.items()]
    lines += ["", "```text", tables.rstrip("\n"), "```", ""]
    if notes:
        lines += [notes.strip(), ""]
    return "\n".join(lines)


def write(name: str, title: str, tables: str, *, started: str, load_start: str, notes: str = "",
          folder: Path | None = None, measured_commit: str | None = None) -> Path:
    """Write ``<folder>/<name>.md`` (default folder ``bench/results``) for a run of this process.

    ``started`` and ``load_start`` are :func:`now` and :func:`load` taken when
    the run began; the end's date and load average are taken here. The commit
    is this repository's HEAD (:func:`commit`), or ``measured_commit`` for a
    script that measures a clone (the clone's HEAD, taken when it started).
    """
    folder = RESULTS if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    command = "python " + " ".join([os.path.relpath(sys.argv[0], REPO) if sys.argv[0] else "?", *sys.argv[1:]])
    text = render(title, tables, command=f"`{command}`", date=f"{started} to {now()}",
                  commit=measured_commit or commit(),
                  machine=machine(), load=f"{load_start} at the start, {load()} at the end", notes=notes)
    path = folder / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path
