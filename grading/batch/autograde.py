"""``python -m grading autograde ASSIGNMENT``: grade a whole class in parallel, resumably.

Two phases, so that only one process ever writes the gradebook:

1. **Grade** (parallel, ``--workers N``, default: the number of cores): every
   submission that nbgrader would grade (no ``autograded/`` copy yet, or a newer
   submission) has its read-only and test cells restored from the gradebook, as
   nbgrader does, and is graded in the sandbox (:func:`grading.judge.grade.grade_notebook`).
   The graded notebook goes to ``.grading-cache/graded/<student>/<key>.ipynb``
   (written to a temporary name, then renamed: never half-written), where
   ``key`` is a hash of its cells, so a resubmission gets a new key and an
   interrupted run resumes where it stopped.
2. **Record** (one process): ``nbgrader autograde ASSIGNMENT`` with
   ``SandboxedExecute.precomputed_dir`` pointing at that folder.  nbgrader does
   everything it always does (copy to ``autograded/``, restore cells, scores,
   late penalties, gradebook rows); the execute step takes the graded notebook
   from the folder when its key matches and grades it there otherwise.

With ``--scheduler tcp://HOST:8786`` phase 1 runs on the workers of a Dask
distributed scheduler instead of local processes: each submission is one
task, a pure function of the notebook (:func:`grade_submission`), which Dask
runs again elsewhere if its worker dies; the graded notebook comes back to
this process, which alone writes the cache and (phase 2) the gradebook.

The result is what ``nbgrader autograde`` leaves, so formgrader,
``generate_feedback`` and ``export`` work as before.  Options of the form
``--Class.trait=value`` (``--NotebookExecutor.cell_timeout=120``) are passed to
both phases.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.config import CONFIG_FILE, Course
from grading.failures import NotGradable, not_gradable

__all__ = ["Run", "grade_class", "grade_submission", "main", "pending_submissions", "restore_cells"]


@dataclass(frozen=True)
class Run:
    """What one ``autograde`` run grades, and how.

    Parameters
    ----------
    assignment : str
        The assignment to grade (its name in nbgrader).
    workers : int, default=1
        Submissions graded at once on this machine.
    students : list of str, default=[]
        Grade only these students (all when empty).
    force : bool, default=False
        Grade again submissions that were graded already.
    quiet : bool, default=False
        No progress lines.
    doctor : bool, default=True
        Run the preflight checks of ``python -m grading doctor`` first.
    scheduler : str, default=None
        Address of a Dask distributed scheduler whose workers grade instead of local processes.
    overrides : list of str, default=[]
        ``--Class.trait=value`` settings, passed on to ``nbgrader autograde`` (the course has them already).
    """

    assignment: str
    workers: int = 1
    students: list = field(default_factory=list)
    force: bool = False
    quiet: bool = False
    doctor: bool = True
    scheduler: str | None = None
    overrides: list = field(default_factory=list)


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grading autograde",
        description="Grade every submission of an assignment, each in its own sandbox, several at once, resumably: "
                    "the workers grade into .grading-cache/graded/, then one nbgrader autograde records the grades "
                    "(gradebook, autograded/). Run it from the course folder (the one with nbgrader_config.py). "
                    "Options --Class.trait=value (e.g. --NotebookExecutor.cell_timeout=120) go to both phases. "
                    "The instructors' guide (guides/instructors.md) explains every step.")
    parser.add_argument("assignment", help="the assignment to grade (as in nbgrader)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="submissions graded at once on this machine (default: the number of cores)")
    parser.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="grade again submissions that were graded already")
    parser.add_argument("--course", default=".", help="the course root, where nbgrader_config.py is (default: .)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--no-doctor", action="store_true",
                        help="skip the preflight checks of `python -m grading doctor` before grading")
    parser.add_argument("--scheduler", default=None,
                        help="address of a Dask distributed scheduler (tcp://HOST:8786): its workers grade the "
                             "submissions instead of local processes")
    args, rest = parser.parse_known_args(argv)
    overrides = []
    for item in rest:
        if not (item.startswith("--") and "=" in item and "." in item.split("=", 1)[0]):
            parser.error(f"unrecognized argument {item!r}: expected --Class.trait=value")
        overrides.append(item)
    if args.workers < 1:
        parser.error(f"--workers must be a positive integer; got {args.workers}")
    return args, overrides


def _gradebook_sources(db_url: str, assignment: str) -> dict:
    """{notebook: {grade_id: source}} of the read-only and test cells, as the gradebook keeps them."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(db_url) as gb:
        for notebook in gb.find_assignment(assignment).notebooks:
            out[notebook.name] = {cell.name: cell.source for cell in notebook.source_cells}
    return out


def restore_cells(nb, sources: dict):
    """Put back the gradebook's source of every read-only or test cell, as nbgrader's OverwriteCells does."""
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if grade_id in sources and not meta.get("solution"):
            cell.source = sources[grade_id]
    return nb


def _timestamp(folder: Path):
    path = folder / "timestamp.txt"
    if not path.exists():
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(path.read_text().strip())
    except Exception:  # noqa: BLE001
        return None


def pending_submissions(course: Path, assignment: str, students: list[str], force: bool) -> list[tuple[str, Path]]:
    """(student, notebook) that ``nbgrader autograde`` would grade now."""
    out = []
    submitted = course / "submitted"
    for folder in sorted(submitted.glob(f"*/{assignment}")):
        student = folder.parent.name
        if students and student not in students:
            continue
        done = course / "autograded" / student / assignment
        if done.exists() and not force:
            new, old = _timestamp(folder), _timestamp(done)
            if not (new is not None and old is not None and new > old):
                continue
        for notebook in sorted(folder.glob("*.ipynb")):
            out.append((student, notebook))
    return out


# -- phase 1: the workers --------------------------------------------------------------------

_WORKER: dict = {}


def _worker_state(config_dict: dict, cache_dir: str, seed: int):
    """Sandbox, executor, probe and references of this worker process, made once per configuration."""
    from traitlets.config import Config

    from grading.run.executor import NotebookExecutor
    from grading.run.probe import Probe
    from grading.judge.references import prepare
    from grading.sandbox.layers import Sandbox

    marker = (json.dumps(config_dict, sort_keys=True, default=str), cache_dir, seed)
    if _WORKER.get("marker") != marker:
        config = Config(config_dict)
        sandbox = Sandbox(config=config)
        sandbox.check()
        try:
            os.makedirs(cache_dir, exist_ok=True)
            usable = os.access(cache_dir, os.W_OK)
        except OSError:
            usable = False
        if not usable:  # a remote worker: its own cache, the same seed
            cache_dir = os.path.join(os.path.expanduser("~"), ".cache", "generative-mnist-grading")
        _WORKER.clear()
        _WORKER.update(
            marker=marker, refs=prepare(cache_dir, seed=seed),
            executor=NotebookExecutor(sandbox, config=config), probe=Probe(sandbox, config=config),
        )
    return _WORKER


def grade_submission(student: str, notebook_json: str, sources: dict, config_dict: dict, cache_dir: str,
                     seed: int) -> dict:
    """Grade one submission; returns the graded notebook (JSON) and the summary.

    A pure function of its arguments (it writes nothing the caller sees), so a
    local process pool or a Dask worker can run it, again if a worker dies.
    When the grader cannot grade it (the sandbox, the kernel or the probe does
    not start, a bug), the status is ``not gradable`` with the ``cause`` and
    the ``fix``, and there is no notebook: nothing of it is to be recorded.
    """
    import nbformat
    from traitlets.config import Config

    from grading.judge.grade import grade_notebook, grading_config, submission_key

    start = time.monotonic()
    try:
        nb = nbformat.reads(notebook_json, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not a notebook
        return not_gradable(student, f"the submission is not a valid notebook ({exc})"[:300],
                            "ask the student to submit the notebook again")
    restore_cells(nb, sources)
    key = submission_key(nb, grading_config(Config(config_dict)))
    try:
        state = _worker_state(config_dict, cache_dir, seed)
        summary = grade_notebook(nb, state["refs"], state["executor"], state["probe"])
    except NotGradable as exc:  # the sandbox's SandboxUnavailable too
        return not_gradable(student, exc.cause, exc.fix, reason=str(exc), seconds=time.monotonic() - start,
                            host=socket.gethostname())
    except Exception as exc:  # noqa: BLE001 - a bug of the grader is never the student's zero
        return not_gradable(student, f"the grader failed ({type(exc).__name__}: {exc})"[:600],
                            "report it with .grading-cache/last-run.json", seconds=time.monotonic() - start,
                            host=socket.gethostname())
    return {"student": student, "status": "graded", "key": key, "notebook": nbformat.writes(nb),
            "host": socket.gethostname(), "pid": os.getpid(),
            **summary.as_dict(), "seconds": time.monotonic() - start}


def _store(result: dict, out_dir: Path) -> dict:
    """Write a graded notebook to the cache folder (temporary name, then rename); return the summary."""
    notebook = result.pop("notebook", None)
    if notebook is not None:
        target = out_dir / result["student"] / f"{result['key']}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(notebook)
        tmp.replace(target)
    return result


def _progress(done, running, failed, total, started, quiet, left=None, basis=0):
    """Print the progress line; ``left`` is :func:`grading.batch.progress.estimate_seconds_left`'s estimate, made
    from the times of ``basis`` graded submissions (said, since one or two say little)."""
    if quiet:
        return
    from grading.batch.progress import format_seconds

    elapsed = time.monotonic() - started
    based = f" (from {basis} graded)" if left and basis else ""
    print(f"[grading] done {done}/{total}, running {running}, failed {failed}, elapsed {elapsed:.0f} s, "
          f"estimated time left {format_seconds(left)}{based}", file=sys.stderr, flush=True)


class _RunClock:
    """When each running submission started and how long the graded ones took, for the time-left estimate."""

    def __init__(self, total: int, workers: int):
        self.total, self.workers = total, workers
        self.starts = [time.monotonic()] * min(workers, total)  # the first submissions start at once
        self.took = []  # seconds of each graded submission (not the quick "not gradable" ones)

    def finished(self, result: dict, done: int) -> float | None:
        """Account for one finished submission (``done`` finished so far); return the seconds left."""
        from grading.batch.progress import estimate_seconds_left

        now = time.monotonic()
        seconds = result.get("seconds")
        if self.starts:  # the one that finished: the start that best matches its own run time
            began = now - float(seconds) if isinstance(seconds, (int, float)) else min(self.starts)
            self.starts.remove(min(self.starts, key=lambda s: abs(s - began)))
        if result.get("status") == "graded" and isinstance(seconds, (int, float)) and seconds >= 0:
            self.took.append(float(seconds))
        if done + len(self.starts) < self.total:
            self.starts.append(now)  # its worker takes the next submission
        pending = max(0, self.total - done - len(self.starts))
        return estimate_seconds_left(self.took, [max(0.0, now - s) for s in self.starts], pending, self.workers)


def _collect(futures: dict, total: int, workers: int, out_dir: Path, started: float, quiet: bool, done_of,
             cancel=None):
    """Gather the results; when the first ones are all not gradable, cancel the rest (returned as ``stopped``)."""
    results, failed = [], 0
    first = min(total, max(3, workers))
    clock = _RunClock(total, workers)
    _progress(0, min(workers, total), 0, total, started, quiet)
    for future in done_of(futures):
        student = futures[future]
        try:
            result = _store(future.result(), out_dir)
        except Exception as exc:  # noqa: BLE001 - the worker itself failed: the grader's failure
            result = not_gradable(student, f"the grading worker failed ({type(exc).__name__}: {exc})"[:600],
                                  "see .grading-cache/last-run.json and the worker's log")
        if result["status"] == "not gradable":
            failed += 1
        results.append(result)
        left = clock.finished(result, len(results))
        _progress(len(results), min(workers, total - len(results)), failed, total, started, quiet, left,
                  len(clock.took))
        if len(results) == first and failed == first and len(results) < total:
            from grading.untrusted_text import for_terminal

            print(f"[grading] the first {first} submissions were all not gradable: stopping the run "
                  f"({for_terminal(result.get('cause', result.get('reason')))})", file=sys.stderr, flush=True)
            for other in futures:
                other.cancel()
            if cancel is not None:
                cancel()
            done = {r["student"] for r in results}
            results += [{"student": s, "status": "stopped", "reason": "not graded: the run stopped after the first "
                         "submissions were all not gradable"} for s in futures.values() if s not in done]
            break
    return results


def _run_local(run: Run, jobs, config_dict, cache, seed, out_dir, started):
    if not jobs:
        return []
    workers = min(run.workers, len(jobs))
    pool = cf.ProcessPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(grade_submission, student, text, src, config_dict, cache, seed): student
                   for student, text, src in jobs}
        return _collect(futures, len(jobs), workers, out_dir, started, run.quiet, cf.as_completed)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(run: Run, jobs, config_dict, cache, seed, out_dir, started):
    """Grade on the workers of a Dask distributed scheduler; a task whose worker dies runs again elsewhere."""
    from distributed import Client, as_completed

    if not jobs:
        return []
    with Client(run.scheduler, timeout=60) as client:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        futures = {
            client.submit(grade_submission, student, text, src, config_dict, cache, seed,
                          key=f"grade-{student}-{time.time_ns()}", pure=False, retries=1): student
            for student, text, src in jobs
        }
        return _collect(futures, len(jobs), workers, out_dir, started, run.quiet, as_completed,
                        cancel=lambda: client.cancel(list(futures)))


def main(argv=None) -> int:
    """``python -m grading autograde ASSIGNMENT [options] [--Class.trait=value ...]``: the exit status."""
    args, overrides = _parse(sys.argv[1:] if argv is None else argv)
    folder = Path(args.course).resolve()
    if not (folder / CONFIG_FILE).exists():
        print(f"python -m grading autograde: no nbgrader_config.py in {folder}: run it from the course folder (the "
              "one with nbgrader_config.py), or pass --course FOLDER", file=sys.stderr)
        return 2
    run = Run(args.assignment, workers=args.workers, students=list(args.student), force=args.force,
              quiet=args.quiet, doctor=not args.no_doctor, scheduler=args.scheduler, overrides=overrides)
    return grade_class(Course.load(folder, overrides), run)


def grade_class(course: Course, run: Run) -> int:
    """Grade ``run.assignment`` of ``course`` (both phases, see the module); return the exit status.

    0: everything graded and recorded; 1: nothing graded (no sandbox, the doctor's checks failed), a
    submission not gradable or nbgrader's failures; 2: the gradebook does not know the assignment.
    It prints its progress and its summary (to stderr and stdout), as the command does.
    """
    from grading.sandbox.layers import Sandbox

    config, cache, db_url, folder = course.config, course.cache_dir, course.db_url, course.folder

    try:
        layer = Sandbox(config=config).describe_layer()
    except NotGradable as exc:  # SandboxUnavailable
        print(f"python -m grading autograde: nothing was graded: {exc}", file=sys.stderr)
        return 1
    if not run.quiet:
        print(f"[grading] sandbox layer: {layer}", file=sys.stderr, flush=True)
    try:
        sources = _gradebook_sources(db_url, run.assignment)
    except Exception:  # noqa: BLE001 - no such assignment in the gradebook (the advice says why otherwise)
        from grading.batch.assignment_names import advice_from_gradebook
        from grading.untrusted_text import for_terminal

        advice = advice_from_gradebook(db_url, run.assignment, folder,
                                       config.CourseDirectory.get("source_directory") or "source")
        print(f"python -m grading autograde: nothing was graded: {for_terminal(advice)}", file=sys.stderr)
        return 2
    if not sources:
        # nbgrader would record every submission with no notebook and no score, and the cache would then keep
        # the sandbox's results as "graded earlier" for the next run
        print(f"python -m grading autograde: nothing was graded: the gradebook has the assignment "
              f"{run.assignment!r} but none of its notebooks: run `nbgrader generate_assignment "
              f"{run.assignment} --force` first (it records the notebooks and their graded cells)", file=sys.stderr)
        return 2
    out_dir = course.graded_dir(run.assignment)
    todo = pending_submissions(folder, run.assignment, run.students, run.force)
    results = []
    started = time.monotonic()
    if todo:
        # References first, in this process, so that local workers only read them.
        from grading.judge.references import prepare

        refs = prepare(cache)
        seed = json.loads((refs.folder / "meta.json").read_text())["seed"]
        if run.doctor:
            from grading.batch.doctor import run_checks, verdict

            t0 = time.monotonic()
            checks = run_checks(config, refs=refs, course=str(folder))
            ok, line = verdict(checks)
            if not ok:
                for check in checks:
                    print(f"[doctor] {check.line()}", file=sys.stderr)
                print(f"python -m grading autograde: nothing was graded: {line}. Fix what it names (python -m "
                      "grading doctor repeats these checks).", file=sys.stderr)
                return 1
            if not run.quiet:
                print(f"[grading] doctor: {line} ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
        import nbformat

        from grading.judge.grade import GRADING_SECTIONS, grading_config, submission_key

        config_dict = {name: dict(config[name]) for name in GRADING_SECTIONS if name in config}
        _add_reference_times(config_dict, folder, run, config, cache, refs)

        jobs = []
        for student, path in todo:
            text = path.read_text(errors="replace")
            try:
                key = submission_key(restore_cells(nbformat.reads(text, as_version=4), sources.get(path.stem, {})),
                                     grading_config(config))
            except Exception:  # noqa: BLE001 - not a notebook: the worker says so
                key = None
            if key is not None and not run.force and (out_dir / student / f"{key}.ipynb").exists():
                results.append({"student": student, "status": "graded earlier", "seconds": 0.0})
                continue
            jobs.append((student, text, sources.get(path.stem, {})))
        runner = _run_dask if run.scheduler else _run_local
        results += runner(run, jobs, config_dict, str(cache), seed, out_dir, started)
        tmp = cache / "last-run.json.tmp"
        tmp.write_text(json.dumps(results, indent=1, default=str))
        tmp.replace(cache / "last-run.json")
    # Phase 2: nbgrader records everything, taking the graded notebooks from the cache.
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    command = [sys.executable, "-m", "nbgrader", "autograde", run.assignment,
               f"--SandboxedExecute.precomputed_dir={out_dir}", *run.overrides]
    if run.force:
        command.append("--force")
    # What was not graded is not recorded: nbgrader would otherwise grade it itself (or record zeros).
    unrecorded = sorted({r["student"] for r in results if r["status"] in ("not gradable", "stopped")})
    if unrecorded:
        command.append("--CourseDirectory.student_id_exclude=" + ",".join(unrecorded))
    log, returncode = "", 0
    students = [s for s in run.students if s not in unrecorded] if run.students else [None]
    if todo and not [r for r in results if r["status"] not in ("not gradable", "stopped")]:
        students = []  # nothing to record
    # nbgrader takes one --student pattern: one call per named student, else one call for the class.
    for student in students:
        record = subprocess.run(command + ([f"--student={student}"] if student else []), cwd=folder, env=env,
                                capture_output=True, text=True)
        log += record.stdout + record.stderr
        returncode = returncode or record.returncode
    (cache / "last-nbgrader-autograde.log").write_text(log)
    _write_summaries(folder, run.assignment, results)
    _record_not_gradable(course.not_gradable_dir(run.assignment), results)
    _summary(folder, run.assignment, results, config, started)
    not_gradable = [r for r in results if r["status"] == "not gradable"]
    if not_gradable:
        from collections import Counter

        cause, count = Counter(r.get("cause") or r.get("reason", "") for r in not_gradable).most_common(1)[0]
        fix = next(r.get("fix", "") for r in not_gradable if (r.get("cause") or r.get("reason", "")) == cause)
        stopped = sum(r["status"] == "stopped" for r in results)
        from grading.untrusted_text import for_terminal

        print(f"python -m grading autograde: {len(not_gradable)} submission(s) not gradable, nothing recorded for "
              f"them{f' ({stopped} more not graded: the run stopped)' if stopped else ''}: {for_terminal(cause)} "
              f"Fix: {for_terminal(fix)}.", file=sys.stderr)
        return 1
    if returncode != 0:
        print("python -m grading autograde: nbgrader autograde reported failures; see "
              f"{cache / 'last-nbgrader-autograde.log'}", file=sys.stderr)
        return 1
    return 0


def _add_reference_times(config_dict: dict, course: Path, run: Run, config, cache: Path, refs) -> None:
    """The reference solution's times per cell and probe call (measured once, see grading.batch.cell_times), which
    the time limits of every cell and call scale, unless the configuration gives them or turns the scaling off."""
    executor, probe = config_dict.setdefault("NotebookExecutor", {}), config_dict.setdefault("Probe", {})
    if executor.get("reference_cell_seconds") or probe.get("reference_call_seconds"):
        return
    if float(executor.get("cell_time_factor", 1)) <= 0 and float(probe.get("call_time_factor", 1)) <= 0:
        return
    from grading.batch.cell_times import reference_times

    def say(line):
        if not run.quiet:
            print(f"[grading] {line}", file=sys.stderr, flush=True)

    times = reference_times(course, run.assignment, config, cache, refs, log=say)
    if times:
        executor["reference_cell_seconds"] = times["cells"]
        probe["reference_call_seconds"] = times["calls"]


def _record_not_gradable(folder: Path, results: list) -> None:
    """``<cache>/not-gradable/<assignment>/<student>.json`` in ``folder``, for the class report (removed once graded)."""
    for result in results:
        path = folder / f"{result['student']}.json"
        if result["status"] == "not gradable":
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"reason": result.get("reason"), "cause": result.get("cause"),
                                        "fix": result.get("fix"), "host": result.get("host"),
                                        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z")}, indent=1))
        elif result["status"] in ("graded", "graded earlier") and path.exists():
            path.unlink()


def _write_summaries(course: Path, assignment: str, results: list) -> None:
    """autograded/<student>/<assignment>/grading_summary.json, for the class report."""
    import json

    for result in results:
        folder = course / "autograded" / result["student"] / assignment
        if not folder.is_dir():
            continue
        summary = {
            "seconds": result.get("seconds"),
            "limits_hit": result.get("limits_hit", []),
            "events": result.get("events", []),
            "not_gradable": None,
        }
        tmp = folder / "grading_summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=1))
        tmp.replace(folder / "grading_summary.json")


def _summary(course: Path, assignment: str, results: list, config, started: float) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(Course(course, config).db_url) as gb:
        for result in sorted(results, key=lambda r: r["student"]):
            try:
                score = gb.find_submission(assignment, result["student"]).score
            except MissingEntry:
                score = None
            note = result.get("reason") or "; ".join(result.get("limits_hit", []) + result.get("events", [])[:1])
            rows.append((result["student"], result["status"], f"{result.get('seconds', 0):.0f}",
                         "-" if score is None else f"{score:g}", sorted(result.get("failed", {})), note))
    if not rows:
        print("python -m grading autograde: nothing to grade (every submission is graded; --force grades again).")
        return
    print(format_table(rows))
    print(f"{len(rows)} submissions in {time.monotonic() - started:.0f} s")


def format_table(rows) -> str:
    """The summary table printed after a run: a header line, then one line per row.

    Every cell goes through :func:`grading.untrusted_text.for_terminal`: the
    student id, the status and above all the note (the reason, limits hit and
    events, which quote the student's exception messages) may hold escape
    sequences that would otherwise drive the instructor's terminal.  The note
    is cut to 70 characters after escaping.

    Parameters
    ----------
    rows : sequence of tuple
        ``(student, status, seconds, score, failed, note)``; ``failed`` is the
        names of the failed checks (the ``failed`` of the results rows: grade
        ids), or only their number.  Names are counted in the ``failed``
        column and listed before the note (``failed: test_a, test_b``; past
        60 characters, the rest as ``+N more``).

    Returns
    -------
    str
        The table, lines joined by ``"\\n"`` (no trailing newline).
    """
    from grading.untrusted_text import for_terminal

    lines = [f"{'student':<24} {'status':<13} {'seconds':>7} {'score':>6} {'failed':>6}  note"]
    for row in rows:
        *cells, failed, note = row
        student, status, seconds, score = (for_terminal(cell) for cell in cells)
        note = for_terminal(note)[:70]
        if isinstance(failed, (int, str)):
            count = for_terminal(failed)
        else:
            names = [for_terminal(name) for name in failed]
            count = str(len(names))
            if names:
                note = _failed_names(names) + (f"; {note}" if note else "")
        lines.append(f"{student:<24} {status:<13} {seconds:>7} {score:>6} {count:>6}  {note}")
    return "\n".join(lines)


def _failed_names(names: list, width: int = 60) -> str:
    """``failed: a, b, c`` within about ``width`` characters; the names left out as ``+N more``."""
    shown = []
    for name in names:
        text = ", ".join([*shown, name])
        if len(text) > width and shown:
            return f"failed: {', '.join(shown)} +{len(names) - len(shown)} more"
        shown.append(name)
    return f"failed: {', '.join(shown)}"


if __name__ == "__main__":
    sys.exit(main())
