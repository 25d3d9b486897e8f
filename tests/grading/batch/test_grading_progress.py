"""``python -m grading autograde``'s messages, without grading: the time left, the table, a mistyped name.

- the time-left estimate (:func:`grading.batch.progress.estimate_seconds_left`) as
  a pure function, against schedules worked out by hand, and the progress
  line's bookkeeping of a run;
- the table names the failed checks (:func:`grading.batch.autograde.format_table`);
- a mistyped assignment gets the valid names and the closest one, and the
  advice to add it only when it looks new (:mod:`grading.batch.assignment_names`).
"""

from __future__ import annotations

import sys
import time

import pytest

from grading.batch import autograde
from grading.batch.assignment_names import unknown_assignment_advice
from grading.batch.progress import estimate_seconds_left, format_seconds

# --- the time-left estimate ----------------------------------------------------------------------


def test_nothing_to_estimate_from_until_one_finishes():
    assert estimate_seconds_left([], [10.0, 10.0], 3, 2) is None
    assert estimate_seconds_left([], [], 0, 2) == 0.0
    assert estimate_seconds_left([100.0], [], 0, 4) == 0.0


def test_the_estimate_counts_parallel_workers_and_running_work():
    """The old formula, elapsed / done x left, ignored both: 2 workers, 4 submissions of 100 s, the first two
    done at 100 s; it said 100 / 2 x 2 = 100 s, and so does the schedule; but after the first of them, with the
    second about to end and one pending, it said 100 / 1 x 3 = 300 s where 105 s are left."""
    assert estimate_seconds_left([100.0], [100.0, 0.0], 1, 2) == pytest.approx(105.0)
    assert estimate_seconds_left([100.0, 100.0], [0.0, 0.0], 0, 2) == pytest.approx(100.0)


@pytest.mark.parametrize("finished, running, pending, workers, want", [
    ([60.0], [], 4, 2, 120.0),            # 4 of 60 s on 2 idle workers: two rounds
    ([60.0], [], 4, 1, 240.0),            # one worker: one after another
    ([60.0], [30.0], 1, 2, 60.0),         # the idle worker takes the pending one at once; the running needs 30 s
    ([60.0], [30.0, 50.0], 1, 2, 70.0),   # the pending one waits for the first worker free (10 s)
    ([40.0, 80.0], [0.0, 0.0], 2, 2, 120.0),  # mean 60 s: two rounds of 60 s
    ([60.0], [90.0], 0, 2, 3.0),          # over the mean: not done, so at least a twentieth of the mean
])
def test_estimate_schedules_what_is_left_on_the_workers(finished, running, pending, workers, want):
    assert estimate_seconds_left(finished, running, pending, workers) == pytest.approx(want)


def test_more_workers_never_make_it_longer_and_more_work_never_shorter():
    for workers in range(1, 6):
        a = estimate_seconds_left([50.0, 70.0], [10.0], 7, workers)
        b = estimate_seconds_left([50.0, 70.0], [10.0], 7, workers + 1)
        assert b <= a
        assert estimate_seconds_left([50.0, 70.0], [10.0], 8, workers) >= a


@pytest.mark.parametrize("args, message", [
    (([1.0], [], 1, 0), "'workers' argument must be at least 1; got 0"),
    (([1.0], [], -1, 1), "'pending' argument must be at least 0; got -1"),
    (([float("nan")], [], 1, 1), "'finished' argument must hold finite seconds"),
    (([1.0], [-2.0], 1, 1), "'running' argument must hold finite seconds >= 0; got -2.0"),
])
def test_estimate_rejects_what_cannot_be_times(args, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        estimate_seconds_left(*args)


def test_format_seconds():
    assert [format_seconds(s) for s in (None, 0.4, 95, 250, 3725)] == ["?", "0 s", "95 s", "4 min 10 s", "1 h 02 min"]


def test_run_clock_follows_workers_through_a_run(monkeypatch):
    """The progress line's bookkeeping: 2 workers, 4 submissions of 100 s, as a pool would finish them."""
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    clock = autograde._RunClock(total=4, workers=2)
    now[0] = 1100.0
    # both first ones end at 100 s; the estimate after the first: one running 100 s (not done: a twentieth of
    # the mean, 5 s), one just started (100 s), one pending, which starts when the first is done: 105 s
    assert clock.finished({"status": "graded", "seconds": 100.0}, done=1) == pytest.approx(105.0)
    assert clock.finished({"status": "graded", "seconds": 100.0}, done=2) == pytest.approx(100.0)
    now[0] = 1150.0
    assert clock.finished({"status": "not gradable", "seconds": 0.5}, done=3) == pytest.approx(50.0)
    now[0] = 1200.0
    assert clock.finished({"status": "graded", "seconds": 100.0}, done=4) == 0.0


def test_progress_line_prints_the_estimate(capsys):
    autograde._progress(1, 2, 0, 4, time.monotonic() - 115, False, 230.0, 1)
    err = capsys.readouterr().err
    assert "done 1/4, running 2" in err and "estimated time left 3 min 50 s (from 1 graded)" in err
    autograde._progress(0, 2, 0, 4, time.monotonic(), False)
    assert "estimated time left ?" in capsys.readouterr().err


# --- the table names the failed checks ------------------------------------------------------------


def test_table_names_the_failed_checks():
    table = autograde.format_table([
        ("bob", "graded", "141", "26", ["test_fit_values", "test_predict_values"], ""),
        ("erin", "graded", "75", "18", ["test_fit_values"], "memory limit"),
        ("alice", "graded", "82", "29", [], ""),
    ])
    lines = table.split("\n")
    assert lines[1].split()[4] == "2" and lines[1].endswith("failed: test_fit_values, test_predict_values")
    assert lines[2].endswith("failed: test_fit_values; memory limit")
    assert lines[3].split()[4] == "0" and "failed:" not in lines[3]


def test_table_keeps_a_long_list_short_and_escapes_names():
    names = [f"test_check_number_{i}" for i in range(10)]
    line = autograde.format_table([("s", "graded", "1", "0", names + ["evil\x1b]0;x\x07"], "")]).split("\n")[1]
    assert line.split()[4] == "11"
    assert line.endswith("failed: test_check_number_0, test_check_number_1 +9 more")
    assert "\x1b" not in autograde.format_table([("s", "graded", "1", "0", ["evil\x1b]0;x\x07"], "")])


# --- a mistyped assignment ---------------------------------------------------------------------------


def test_a_typo_gets_the_closest_name_and_no_advice_to_add_it():
    advice = unknown_assignment_advice("gausian_generative", ["gaussian_generative", "week2"])
    assert "Did you mean 'gaussian_generative'?" in advice
    assert "The gradebook's assignments: gaussian_generative, week2." in advice
    assert "db assignment add" not in advice


def test_a_prefix_gets_the_full_name():
    advice = unknown_assignment_advice("gaussian", ["gaussian_generative"])
    assert "Did you mean 'gaussian_generative'?" in advice and "db assignment add" not in advice


def test_a_new_name_in_the_source_folder_gets_the_commands_to_add_it():
    advice = unknown_assignment_advice("week3", ["gaussian_generative"], sources=["gaussian_generative", "week3"])
    assert "`nbgrader db assignment add week3`" in advice and "`nbgrader generate_assignment week3`" in advice


def test_a_name_known_nowhere_says_what_a_new_assignment_needs():
    advice = unknown_assignment_advice("zzz", ["gaussian_generative"])
    assert "gaussian_generative" in advice and "solutions/zzz/" in advice and "Did you mean" not in advice


def test_autograde_help_is_plain_text():
    import subprocess

    out = subprocess.run([sys.executable, "-m", "grading", "autograde", "--help"], capture_output=True, text=True,
                         timeout=120, cwd=autograde.Path(autograde.__file__).resolve().parents[2])
    assert out.returncode == 0
    assert "``" not in out.stdout and ":func:" not in out.stdout and ":mod:" not in out.stdout
    assert "Run it from the course folder" in " ".join(out.stdout.split())
