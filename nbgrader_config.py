"""nbgrader configuration of the generative-mnist course.

Run every nbgrader command from the repository root (this file's folder) with
the Python environment's ``bin/`` first on PATH (nbgrader shells out to
``alembic``).  The instructor workflow is documented in guides/instructors.md
("For instructors", in the built book).
"""

import os
import sys

# grading/plugins/execute.py lives next to this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from grading.plugins.execute import HideHiddenTests, SandboxedExecute
from grading.plugins.sanitize import SanitizeNotebook
from grading.plugins.stderr_streams import StderrAsStdout
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
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

# ---- Sandbox and judge (guides/grading.md, "How grading works") ----
# Every submission runs in a sandbox: no network, no view of the course
# folder, limits below.  The layer is bubblewrap (namespaces) where it can
# run, else Landlock + seccomp (grading/sandbox/confine.py: weaker, no privilege
# needed; a Docker pod, Ubuntu 24.04); `python -m grading doctor` says which
# and checks that grading works here (`python -m grading autograde` runs the
# same checks first).  Where no layer works, grading stops with one line
# naming the cause; c.Sandbox.enabled = False grades without a sandbox
# (student code then runs with your rights).  A submission the grader cannot
# grade for its own reasons is "not gradable": nothing is recorded for it.
c.Sandbox.enabled = True
c.Sandbox.layer = "auto"  # or "bubblewrap" / "landlock" to insist on one
c.Sandbox.memory_limit = 4 * 2**30  # bytes, all processes of one sandbox
c.Sandbox.max_processes = 256  # processes and threads at once (a fork bomb stops here)
c.Sandbox.scratch_size = 1 * 2**30  # bytes of private home and of /tmp
c.Sandbox.file_size_limit = 512 * 2**20  # largest file one process may write

# Wall-clock limits.  Each cell may run 10 times the reference solution's
# time for the same cell plus 2 minutes (a cell the reference has not got:
# 10 times the reference's slowest cell plus 2 minutes), never more than 10
# minutes; `python -m grading autograde` times the reference (solutions/)
# once per machine and keeps the times in .grading-cache/cell-times/.  A
# correct but slow solution (predictions one image at a time with scipy, as
# in the course's seed notebook) takes several times the reference's time,
# and a student may do in one cell what the reference does in the next: the
# factor and the 2 minutes are for them, and a cell that never ends costs
# about that, not 10 minutes.  The whole notebook may run 40 minutes,
# restarts included.  A cell past its limit has its kernel killed (it cannot
# ignore it), the cells above are replayed in a new kernel, at most twice per
# notebook.
c.NotebookExecutor.cell_time_factor = 10
c.NotebookExecutor.cell_time_floor = 120
c.NotebookExecutor.cell_timeout = 600
c.NotebookExecutor.notebook_timeout = 2400
c.NotebookExecutor.max_kernel_restarts = 2
c.NotebookExecutor.max_output_bytes = 2 * 2**20
# ... and the whole notebook's (what the gradebook, formgrader and feedback hold).
c.NotebookExecutor.max_notebook_output_bytes = 16 * 2**20
c.NotebookExecutor.startup_timeout = 120
# A first kernel (or probe) that dies before any student code ran is the
# grader's failure: started twice, then the submission is not gradable.
c.NotebookExecutor.start_attempts = 2
# The probe calls the student's functions again in a fresh sandbox without
# the test set: each call may run 10 times the reference's time for it plus
# 2 minutes, at most 10 minutes; all of them 30 minutes.
c.Probe.call_time_factor = 10
c.Probe.call_time_floor = 120
c.Probe.call_timeout = 600
c.Probe.probe_timeout = 1800
c.Probe.max_restarts = 3
c.Probe.start_attempts = 2
# Bytes of arrays one probe call may hand back (a fitted model is about 50 MB).
c.Probe.max_result_bytes = 256 * 2**20

# Autograding: nbgrader's default pipeline with its Execute step replaced by
# the sandbox and the judge.  Test cells and read-only cells are restored
# from the gradebook before (nbgrader does that), and every autograded cell
# ends with the judge's verdict, which SaveAutoGrades scores.
# SanitizeNotebook then cleans what the student wrote outside the outputs
# (markdown answers, raw cells, attachments, widget state): nothing of a
# submission runs in the formgrader or the feedback page, which render the
# autograded notebook on the Jupyter server's origin.
# StderrAsStdout makes the rule "printing, logging and warnings are fine
# everywhere, test cells included: only a failed check or an error costs
# points" true: nbgrader alone scores a test cell with stderr output zero
# (grading/plugins/stderr_streams.py).
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    StderrAsStdout,
    SanitizeNotebook,
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
# MarkUngradedAnswers makes an answer no grader has scored read "not graded
# yet" (not "Score: 0.0 / 2.0"); OfflineFeedbackPage and the course's
# template feedback_offline (grading/plugins/templates/) write the vendored MathJax
# into the page (maths render offline), wrap long lines and highlight
# failures.  The template is set for the feedback's exporter only (nested
# under GenerateFeedback): the formgrader keeps nbgrader's.
from grading.plugins.feedback_page import TEMPLATE_FOLDER, OfflineFeedbackPage  # noqa: E402
from grading.plugins.feedback_ungraded import MarkUngradedAnswers  # noqa: E402

c.GenerateFeedback.preprocessors = [
    GetGrades,
    MarkUngradedAnswers,
    HideHiddenTests,
    OfflineFeedbackPage,
    CSSHTMLHeaderPreprocessor,
]
c.GenerateFeedback.HTMLExporter.template_name = "feedback_offline"
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [TEMPLATE_FOLDER]

# Every HTML page nbgrader renders (the formgrader's submission page, the
# feedback) sanitizes the notebook again when it renders it: notebooks
# autograded before the sanitizer existed are safe to open too.
c.HTMLExporter.preprocessors = [SanitizeNotebook]

# Files beside the notebook that a browser would run as a page on the
# formgrader's origin (it serves a submission's files with the instructor's
# rights) are never collected, autograded or shown.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
    "*.html", "*.htm", "*.shtml", "*.xhtml", "*.xht", "*.xhtm", "*.svg", "*.svgz", "*.xml", "*.xsl", "*.xslt",
    "*.js", "*.mjs", "*.pdf",
]

# ---- Export (issue 23) ----
# `nbgrader export` writes grades.csv with nbgrader's columns plus
# ungraded_answers, and refuses (writes nothing, exit status 1) while a
# graded cell of an exported submission has no grader's score: written
# answers not graded yet would count as 0.  allow_ungraded = True (or
# `nbgrader export --CheckedCsvExport.allow_ungraded=True`) exports anyway and
# counts them in that column.  `python -m grading export-lms` does the same
# (--allow-ungraded).  See grading/plugins/export.py.
from grading.plugins.export import CheckedCsvExport  # noqa: E402

c.ExportApp.plugin_class = CheckedCsvExport
c.CheckedCsvExport.allow_ungraded = False
# ---- end of the export ----

# ---- Late policy (issue 12) ----
# A submission is late when its timestamp (timestamp.txt, written by
# `nbgrader collect` / `zip_collect`) is after the assignment's due date
# (`nbgrader db assignment add NAME --duedate="2026-12-04 17:00:00 UTC"`)
# plus any extension.  Every started day late costs 10% of the notebook's
# maximum score (3 of 30 points), at most 50%; up to 15 minutes late costs
# nothing.  nbgrader's AssignLatePenalties (in the autograde pipeline above)
# stores the penalty in the gradebook; `nbgrader export`, the feedback and
# `python -m grading report` subtract it.  See grading/plugins/late.py.
from grading.plugins.late import PercentPerDayLatePenalty  # noqa: E402

c.AssignLatePenalties.plugin_class = PercentPerDayLatePenalty
c.PercentPerDayLatePenalty.percent_per_day = 10.0
c.PercentPerDayLatePenalty.max_percent = 50.0
c.PercentPerDayLatePenalty.grace_minutes = 15.0
# ---- end of the late policy (issue 12) ----

# ---- Canvas bulk download (issue 24) ----
# `nbgrader zip_collect gaussian_generative` with the zip of Canvas's
# "Download Submissions" in downloaded/gaussian_generative/archive/: Canvas's
# file names (<name>[_LATE]_<user id>_<submission id>_<file>) give the student
# and the notebook, the zip entries' times the submission time (timestamp.txt,
# the late policy above).  The student id is the roster's SIS Login ID (the
# column `python -m grading export-lms --roster` matches); without a roster,
# the Canvas user id.  See grading/plugins/canvas_collect.py and the instructors'
# guide, "Collecting from Canvas".
from grading.plugins.canvas_collect import CanvasCollector, CanvasExtractor  # noqa: E402

c.ZipCollectApp.extractor_plugin = CanvasExtractor
c.ZipCollectApp.collector_plugin = CanvasCollector
c.CanvasExtractor.zip_timezone = "UTC"  # the time zone of the zip's entry times
c.CanvasCollector.roster = ""  # e.g. "canvas_export.csv": Canvas's gradebook export (Canvas ID -> SIS Login ID)
c.CanvasCollector.match_column = "SIS Login ID"
c.CanvasCollector.due_date = ""  # e.g. "2026-12-04 17:00:00 UTC": a _LATE file must be after it
# ---- end of the Canvas bulk download ----
