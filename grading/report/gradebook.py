"""The class's results, read from nbgrader's gradebook and the autograded notebooks: :func:`collect`.

What :mod:`grading.report.class_report` draws and :mod:`grading.report.lms` exports: the graded cells, and
for every student their scores, late penalty, failure messages, run time and limits hit, and whether the
grader could grade them at all (``python -m grading autograde``'s markers, in the course's cache).

It never writes: neither the gradebook nor a file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grading.config import Course

__all__ = ["DEFAULT_PARTS", "WRITTEN", "Cell", "ClassData", "Student", "alembic_on_path", "collect",
           "open_gradebook", "part_of"]

#: Parts of the assignment: an autograded cell named ``test_<part>_...`` belongs to ``<part>``.
DEFAULT_PARTS = ("fit", "predict", "linalgerror", "huge_c", "per_class", "misc")
WRITTEN = "written"
NO_OUTPUT_MESSAGE = "(no error output: the cell did not run to the end)"
#: Notebook metadata where the grader (grading/judge/grade.py) records its summary; read
#: when there is no grading_summary.json.
GRADING_METADATA = "generative_mnist_grading"


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
    course : str, Path or grading.config.Course
        The course folder (where ``autograded/`` is), or the course already read.
    assignment : str
        The assignment's name in the gradebook.
    db_url : str, default=None
        The gradebook's URL; ``None`` means the course's (``c.CourseDirectory.db_url`` of its
        ``nbgrader_config.py``, else ``sqlite:///<course>/gradebook.db``, as nbgrader).
    parts : sequence of str
        Part names: an autograded cell ``test_<part>_*`` belongs to ``<part>``.
    """
    from nbgrader.api import MissingEntry

    where = course if isinstance(course, Course) else Course.load(course)
    course = where.folder
    if not course.is_dir():
        raise FileNotFoundError(f"The 'course' argument must be the course folder. Got {str(course)!r}, which is not a directory.")
    with open_gradebook(db_url or where.db_url) as gb:
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
        marker = where.not_gradable_dir(assignment) / f"{student.id}.json"
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


def alembic_on_path() -> None:
    """nbgrader's Gradebook runs ``alembic``: make the one beside this Python findable."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def open_gradebook(db_url: str, create: bool = False):
    """nbgrader's :class:`~nbgrader.api.Gradebook` at ``db_url`` (a context manager).

    Parameters
    ----------
    db_url : str
        The gradebook's URL.
    create : bool, default=False
        Let nbgrader create an empty SQLite gradebook where there is none (else it is an error).

    Raises
    ------
    FileNotFoundError
        ``db_url`` is an SQLite file that does not exist, and not ``create``.
    """
    from nbgrader.api import Gradebook

    if db_url.startswith("sqlite:///") and not create:
        path = db_url[len("sqlite:///"):]
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no gradebook: expected {path!r} (run it from the course folder, the one with "
                                    "nbgrader_config.py, or pass --course or --db).")
    alembic_on_path()
    return Gradebook(db_url)
