"""nbgrader configuration of the generative-mnist course.

Run every nbgrader command from the repository root (this file's folder) with
the Python environment's ``bin/`` first on PATH (nbgrader shells out to
``alembic``).  The instructor workflow is documented in README.md.
"""

import os
import sys

# grading/nbgrader_plugins.py lives next to this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from grading.nbgrader_plugins import HideHiddenTests, ResilientExecute  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "generative-mnist"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# The default SQLite gradebook, gradebook.db in the course root.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "gradebook.db"
)

# Per-cell execution timeout in seconds (nbgrader's default is 30).  A correct
# but slow student solution (e.g. predictions on the 60,000 training images
# one image at a time with scipy) needs minutes, so allow 10 minutes per cell.
# The test suite lowers it on the command line (--Execute.timeout=...) to keep
# its infinite-loop submission short.
c.Execute.timeout = 600
# Time allowed to start the kernel.
c.Execute.startup_timeout = 120

# Autograding: nbgrader's default pipeline, except that the kernel is
# restarted when a student's cell kills it (os._exit, segfault) instead of
# abandoning the whole submission; the cell that killed it scores zero.
c.Autograde.autograde_preprocessors = [
    ResilientExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback: nbgrader shows the hidden tests by default.  HideHiddenTests
# removes the hidden-test regions from the test cells and reduces their error
# tracebacks (which quote the failing source line) to the failure message,
# which names the check and says what was expected and what was found.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    HideHiddenTests,
    CSSHTMLHeaderPreprocessor,
]

# ---- Late policy (issue 12) ----
# A submission is late when its timestamp (timestamp.txt, written by
# `nbgrader collect` / `zip_collect`) is after the assignment's due date
# (`nbgrader db assignment add NAME --duedate="2026-12-04 17:00:00 UTC"`)
# plus any extension.  Every started day late costs 10% of the notebook's
# maximum score (3 of 30 points), at most 50%; up to 15 minutes late costs
# nothing.  nbgrader's AssignLatePenalties (in the autograde pipeline above)
# stores the penalty in the gradebook; `nbgrader export`, the feedback and
# `python -m grading report` subtract it.  See grading/late.py.
from grading.late import PercentPerDayLatePenalty  # noqa: E402

c.AssignLatePenalties.plugin_class = PercentPerDayLatePenalty
c.PercentPerDayLatePenalty.percent_per_day = 10.0
c.PercentPerDayLatePenalty.max_percent = 50.0
c.PercentPerDayLatePenalty.grace_minutes = 15.0
# ---- end of the late policy (issue 12) ----
