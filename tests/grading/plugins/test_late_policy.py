"""The late policy: grading/plugins/late.py, configured at the end of nbgrader_config.py.

The penalties are checked against values worked out by hand, first for the
plugin alone, then through nbgrader itself: the course's configuration file is
loaded, nbgrader's ``AssignLatePenalties`` preprocessor (the step of
``nbgrader autograde`` that applies the plugin) runs on a copy of the small
class's gradebook with nbgrader's timestamps, due date and extensions, and
``nbgrader export`` gives the final scores.  No notebook is executed.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from traitlets import TraitError
from traitlets.config.loader import PyFileConfigLoader

from report_fixtures.classroom import ASSIGNMENT, CLASS, DUE, NOTEBOOK, expected_scores, shared_course

from grading.plugins.late import PercentPerDayLatePenalty, penalty_percent

ROOT = Path(__file__).resolve().parents[3]
BIN = os.path.dirname(sys.executable)
HOUR = 3600.0
DAY = 24 * HOUR


@pytest.mark.parametrize("seconds, percent", [
    (0.0, 0.0),
    (10 * 60, 0.0),            # inside the 15-minute grace period
    (15 * 60, 0.0),            # exactly at its end
    (15 * 60 + 1, 10.0),       # the first started day
    (DAY, 10.0),
    (DAY + 1, 20.0),
    (40 * HOUR, 20.0),
    (4.5 * DAY, 50.0),         # 5 started days: 50%
    (30 * DAY, 50.0),          # capped
])
def test_penalty_percent_per_started_day(seconds, percent):
    assert penalty_percent(seconds, percent_per_day=10.0, max_percent=50.0, grace_minutes=15.0) == percent


def test_penalty_percent_refuses_negative_lateness():
    with pytest.raises(ValueError, match=r"'seconds_late'.*>= 0.*-1\.0"):
        penalty_percent(-1.0, 10.0, 50.0, 0.0)


@pytest.mark.parametrize("option, value", [("percent_per_day", -1.0), ("max_percent", 150.0), ("grace_minutes", -5.0)])
def test_options_are_checked(option, value):
    with pytest.raises(TraitError) as info:
        PercentPerDayLatePenalty(**{option: value})
    assert option in str(info.value) and repr(value) in str(info.value)


def test_options_are_documented_traitlets():
    for name in ("percent_per_day", "max_percent", "grace_minutes"):
        trait = PercentPerDayLatePenalty.class_traits()[name]
        assert trait.metadata.get("config") is True and trait.help, name


def test_plugin_outside_nbgrader_says_what_it_needs():
    plugin = PercentPerDayLatePenalty(percent_per_day=10.0)
    with pytest.raises(RuntimeError, match="AssignLatePenalties"):
        plugin.late_submission_penalty("someone", 10.0, 2 * DAY)
    assert plugin.late_submission_penalty("someone", 10.0, 0.0) is None


def test_course_configuration_uses_the_policy():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.AssignLatePenalties.plugin_class.__name__ == "PercentPerDayLatePenalty"
    assert config.PercentPerDayLatePenalty.percent_per_day == 10.0
    assert config.PercentPerDayLatePenalty.max_percent == 50.0
    assert config.PercentPerDayLatePenalty.grace_minutes == 15.0
    names = [getattr(p, "__name__", p) for p in config.Autograde.autograde_preprocessors]
    assert "AssignLatePenalties" in names


# Lateness given to the class in the copied gradebook, and the penalty worked
# out by hand with the committed policy (10% of 30 points per started day, at
# most 50%, 15 minutes' grace).
LATENESS = {
    "alice": (dt.timedelta(minutes=10), 0, None),       # within the grace period
    "bob": (dt.timedelta(minutes=20), 0, 3.0),          # one started day
    "carol": (dt.timedelta(hours=40), 0, 6.0),          # two started days (the class's late submission)
    "dave": (dt.timedelta(days=10), 0, 15.0),           # capped at 50%
    "erin": (dt.timedelta(hours=30), 2, None),          # 30 h late, but a 2-day extension
    "ivan": (dt.timedelta(hours=-1), 0, None),          # on time
}


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    """Apply the course's late policy with nbgrader to a copy of the class's gradebook."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties

    course = shared_course()
    work = tmp_path_factory.mktemp("late")
    shutil.copy2(course / "gradebook.db", work / "gradebook.db")
    db_url = f"sqlite:///{work / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        assert gb.find_assignment(ASSIGNMENT).duedate == DUE.replace(tzinfo=None)
        for student, (late, extension_days, _) in LATENESS.items():
            submission = gb.find_submission(ASSIGNMENT, student)
            submission.timestamp = (DUE + late).replace(tzinfo=None)
            gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).late_submission_penalty = None
            gb.db.commit()
            if extension_days:
                gb.grant_extension(ASSIGNMENT, student, days=extension_days)

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    for student in LATENESS:
        nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
        resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": student, "db_url": db_url}}
        AssignLatePenalties(config=config).preprocess(nb, resources)

    with Gradebook(db_url) as gb:
        penalties = {
            s: gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, s).late_submission_penalty for s in LATENESS
        }
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(
        [os.path.join(BIN, "nbgrader"), "export", f"--db={db_url}", f"--to={work / 'grades.csv'}"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(work / "grades.csv", newline="") as f:
        exported = {row["student_id"]: row for row in csv.DictReader(f)}
    return penalties, exported


@pytest.mark.slow
@pytest.mark.nbgrader
def test_nbgrader_applies_the_penalties_worked_out_by_hand(applied):
    penalties, _ = applied
    assert penalties == {student: want for student, (_, _, want) in LATENESS.items()}


@pytest.mark.slow
@pytest.mark.nbgrader
def test_export_subtracts_the_penalty(applied):
    _, exported = applied
    for student, (_, _, penalty) in LATENESS.items():
        raw = sum(expected_scores(student).values())
        row = exported[student]
        assert float(row["raw_score"]) == pytest.approx(raw), student
        assert float(row["late_submission_penalty"]) == pytest.approx(penalty or 0.0), student
        assert float(row["score"]) == pytest.approx(max(0.0, raw - (penalty or 0.0))), student
    assert set(LATENESS) <= {s for s, spec in CLASS.items() if spec.submitted and spec.gradable}
