"""A writable copy of the small graded class (``report_fixtures/classroom.py``), as autograding leaves it.

The class's gradebook holds the grade cells only; ``nbgrader autograde``
also records the notebook's solution cells and a comment for each of them in
every submission, which the formgrader, ``nbgrader generate_feedback`` and
``python -m grading score --comment`` use.  :func:`copy_class` copies the
class and adds those, with nbgrader's API.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat

from report_fixtures.classroom import ASSIGNMENT, NOTEBOOK, RELEASE, shared_course

__all__ = ["copy_class"]


def copy_class(target: Path) -> Path:
    """Copy the shared class into ``target`` (a new folder) and record its solution cells and comments."""
    from nbgrader.api import Comment, Gradebook

    shutil.copytree(shared_course(), target)
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    release = nbformat.read(RELEASE, as_version=4)
    solutions = [c.metadata["nbgrader"]["grade_id"] for c in release.cells
                 if c.metadata.get("nbgrader", {}).get("solution")]
    with Gradebook(f"sqlite:///{target / 'gradebook.db'}") as gb:
        for name in solutions:
            gb.add_solution_cell(name, NOTEBOOK, ASSIGNMENT)
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            for notebook in submission.notebooks:
                for cell in notebook.notebook.solution_cells:
                    gb.db.add(Comment(notebook=notebook, cell=cell))
        gb.db.commit()
    return target
