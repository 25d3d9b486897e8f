"""``nbgrader zip_collect`` for Canvas's bulk download ("Download Submissions"): extractor and collector plugins.

Canvas names every file of the zip ``<name>[_LATE]_<user id>_<submission id>_<file name>``:
``<name>`` is the student's sortable name in lower case without spaces or
punctuation, ``_LATE`` marks a submission after the due date, the two numbers
are Canvas's ids, and a file uploaded again within one submission gets
``-1``, ``-2`` ... before its extension (``gaussian_generative-1.ipynb``).
No time is in the name: the submission time is the modification time of the
file's entry in the zip.

* :class:`CanvasExtractor` extracts the zips of ``downloaded/<assignment>/archive/``
  flat into ``extracted/``, keeping each entry's time (read in
  ``CanvasExtractor.zip_timezone``, UTC by default) as the file's
  modification time; it refuses entries whose names would leave the folder.
* :class:`CanvasCollector` reads the name: the student is the roster row
  (``CanvasCollector.roster``, the gradebook CSV exported from the Canvas
  course) whose ``ID`` is the Canvas user id, named by its
  ``CanvasCollector.match_column`` (``SIS Login ID``, the column
  ``python -m grading export-lms --roster`` matches too); without a roster
  the Canvas user id is the student id.  The notebook is the file name
  without Canvas's ``-N``; the time is the file's modification time, so
  ``timestamp.txt`` and nbgrader's late penalty follow.  A name that is not
  Canvas's, a user missing from the roster, or a ``_LATE`` mark on a time
  not after it (with ``CanvasCollector.due_date`` set) is named in a
  warning and the file is skipped.

Configured in ``nbgrader_config.py`` (the "Canvas bulk download" block).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import zipfile
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Unicode

#: ``<name>[_LATE]_<user id>_<submission id>_<file>``, Canvas's names in a bulk download.
CANVAS_NAME = re.compile(r"^(?P<name>[a-z0-9]+)(?P<late>_LATE)?_(?P<user_id>\d+)_(?P<submission_id>\d+)_(?P<file>.+)$")
_REUPLOAD = re.compile(r"^(?P<stem>.+?)-\d+(?P<ext>\.[^.]+)$")


def parse_canvas_name(filename: str) -> dict | None:
    """The parts of a Canvas bulk-download file name (``file`` without Canvas's ``-N``), or None."""
    match = CANVAS_NAME.match(os.path.basename(filename))
    if not match:
        return None
    parts = match.groupdict()
    parts["late"] = bool(parts["late"])
    reupload = _REUPLOAD.match(parts["file"])
    if reupload:
        parts["file"] = reupload.group("stem") + reupload.group("ext")
    return parts


class CanvasExtractor(ExtractorPlugin):
    """Extract Canvas's zips flat, each file with its entry's time."""

    zip_timezone = Unicode("UTC", help="The time zone of the times in the zip's entries (an IANA name).").tag(config=True)

    def extract(self, archive_path: str, extracted_path: str) -> None:
        if not os.path.isdir(archive_path) or not os.listdir(archive_path):
            self.log.warning("No files found in directory: %s", archive_path)
            return
        os.makedirs(extracted_path, exist_ok=True)
        zone = ZoneInfo(self.zip_timezone)
        for entry in sorted(os.listdir(archive_path)):
            source = os.path.join(archive_path, entry)
            if not os.path.isfile(source):
                continue
            if not zipfile.is_zipfile(source):
                shutil.copy2(source, os.path.join(extracted_path, entry))
                continue
            with zipfile.ZipFile(source) as archive:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    name = PurePosixPath(info.filename.replace("\\", "/"))
                    if name.is_absolute() or ".." in name.parts:
                        raise ValueError(f"{source}: the entry {info.filename!r} would be written outside "
                                         f"{extracted_path}; this is not a Canvas download")
                    target = os.path.join(extracted_path, name.name)
                    if os.path.exists(target) and not self.force:
                        self.log.warning("Skipping %s: %s exists (zip_collect --force replaces it)", info.filename, target)
                        continue
                    with archive.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    when = dt.datetime(*info.date_time, tzinfo=zone).timestamp()
                    os.utime(target, (when, when))
                    self.log.info("Extracted %s (%s)", name.name, dt.datetime(*info.date_time, tzinfo=zone).isoformat())


class CanvasCollector(FileNameCollectorPlugin):
    """Student, notebook and time of a file of Canvas's bulk download."""

    roster = Unicode("", help="The gradebook CSV exported from the Canvas course (Canvas user id in 'ID').").tag(config=True)
    match_column = Unicode("SIS Login ID", help="The roster column that holds the nbgrader student id.").tag(config=True)
    due_date = Unicode("", help="The due date ('2026-12-04 17:00:00 UTC'), to check Canvas's _LATE marks against "
                                "the times in the zip (empty: not checked).").tag(config=True)

    _students: dict | None = None

    def _roster(self) -> dict:
        if self._students is None:
            self._students = {}
            if self.roster:
                with open(self.roster, newline="", encoding="utf-8-sig") as f:
                    for row in csv.DictReader(f):
                        if row.get("ID", "").strip().isdigit() and row.get(self.match_column, "").strip():
                            self._students[row["ID"].strip()] = row[self.match_column].strip()
                if not self._students:
                    raise ValueError(f"CanvasCollector.roster {self.roster}: no row with a Canvas 'ID' and a "
                                     f"{self.match_column!r}; is it the gradebook CSV exported from Canvas?")
        return self._students

    def collect(self, submitted_file: str):
        parts = parse_canvas_name(submitted_file)
        if parts is None:
            self.log.warning("Skipped %s: not a Canvas bulk-download name (<name>[_LATE]_<user id>_<submission id>_<file>)",
                             os.path.basename(submitted_file))
            return None
        student = parts["user_id"]
        if self.roster:
            student = self._roster().get(parts["user_id"])
            if student is None:
                self.log.warning("Skipped %s: Canvas user %s is not in the roster %s",
                                 os.path.basename(submitted_file), parts["user_id"], self.roster)
                return None
        when = dt.datetime.fromtimestamp(os.path.getmtime(submitted_file), dt.timezone.utc)
        if self.due_date:
            from nbgrader.utils import parse_utc

            due = parse_utc(self.due_date)
            due = due if due.tzinfo else due.replace(tzinfo=dt.timezone.utc)
            if parts["late"] and when <= due:  # (on time after the due date is fine: an extension in Canvas)
                self.log.warning(
                    "Skipped %s: Canvas marks it late but its time in the zip, %s, is not after the due date %s; "
                    "the zip's times are not the submission times (CanvasExtractor.zip_timezone?)",
                    os.path.basename(submitted_file), when.isoformat(), due)
                return None
        return {"student_id": student, "file_id": parts["file"], "timestamp": when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")}
