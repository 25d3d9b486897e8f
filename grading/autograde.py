"""``python -m grading autograde ASSIGNMENT``: grade a whole class in parallel, resumably.

Two phases, so that only one process ever writes the gradebook:

1. **Grade** (parallel, ``--workers N``, default: the number of cores): every
   submission that nbgrader would grade (no ``autograded/`` copy yet, or a newer
   submission) has its read-only and test cells restored from the gradebook, as
   nbgrader does, and is graded in the sandbox (:func:`grading.judge.grade_notebook`).
   The graded notebook goes to ``.grading-cache/graded/<student>/<key>.ipynb``
   (written to a temporary name, then renamed: never half-written), where
   ``key`` is a hash of its cells, so a resubmission gets a new key and an
   interrupted run resumes where it stopped.
2. **Record** (one process): ``nbgrader autograde ASSIGNMENT`` with
   ``SandboxedExecute.precomputed_dir`` pointing at that folder.  nbgrader does
   everything it always does (copy to ``autograded/``, restore cells, scores,
   late penalties, gradebook rows); the execute step takes the graded notebook
   from the folder when its key matches and grades it there otherwise.

The result is what ``nbgrader autograde`` leaves, so formgrader,
``generate_feedback`` and ``export`` work as before.  Options of the form
``--Class.trait=value`` (``--NotebookExecutor.cell_timeout=120``) are passed to
both phases.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main", "pending_submissions", "restore_cells"]


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m grading autograde", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="the assignment to grade (as in nbgrader)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="submissions graded at once on this machine (default: the number of cores)")
    parser.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="grade again submissions that were graded already")
    parser.add_argument("--course", default=".", help="the course root, where nbgrader_config.py is (default: .)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args, rest = parser.parse_known_args(argv)
    overrides = []
    for item in rest:
        if not (item.startswith("--") and "=" in item and "." in item.split("=", 1)[0]):
            parser.error(f"unrecognized argument {item!r}: expected --Class.trait=value")
        overrides.append(item)
    if args.workers < 1:
        parser.error(f"--workers must be a positive integer; got {args.workers}")
    return args, overrides


def _config(course: Path, overrides: list[str]):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    for item in overrides:
        key, value = item[2:].split("=", 1)
        section, trait = key.rsplit(".", 1)
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value
        config.merge(Config({section: {trait: parsed}}))
    return config


def _gradebook_sources(config, assignment: str) -> dict:
    """{notebook: {grade_id: source}} of the read-only and test cells, as the gradebook keeps them."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(config.CourseDirectory.db_url) as gb:
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

_WORKER = {}


def _init_worker(course: str, overrides: list[str]):
    from .executor import NotebookExecutor
    from .probe import Probe
    from .references import prepare
    from .sandbox import Sandbox

    config = _config(Path(course), overrides)
    sandbox = Sandbox(config=config)
    cache = config.SandboxedExecute.get("cache_dir") or os.path.join(course, ".grading-cache")
    _WORKER.update(
        sandbox=sandbox, refs=prepare(cache),
        executor=NotebookExecutor(sandbox, config=config), probe=Probe(sandbox, config=config),
    )


def _grade_one(student: str, path: str, sources: dict, out_dir: str) -> dict:
    import nbformat

    from .judge import grade_notebook, submission_key

    start = time.monotonic()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not a notebook
        return {"student": student, "status": "not gradable", "reason": f"not a valid notebook ({exc})"[:300]}
    restore_cells(nb, sources)
    key = submission_key(nb)
    target = Path(out_dir) / student / f"{key}.ipynb"
    if target.exists():
        return {"student": student, "status": "cached", "seconds": 0.0}
    summary = grade_notebook(nb, _WORKER["refs"], _WORKER["executor"], _WORKER["probe"])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp-{os.getpid()}")
    nbformat.write(nb, str(tmp))
    tmp.replace(target)
    return {"student": student, "status": "graded", "seconds": time.monotonic() - start, **summary.as_dict()}


def _progress(done, running, failed, total, started, quiet):
    if quiet:
        return
    elapsed = time.monotonic() - started
    left = "?"
    if done:
        left = f"{elapsed / done * (total - done):.0f} s"
    print(f"[grading] done {done}/{total}, running {running}, failed {failed}, elapsed {elapsed:.0f} s, "
          f"estimated time left {left}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args, overrides = _parse(sys.argv[1:] if argv is None else argv)
    course = Path(args.course).resolve()
    if not (course / "nbgrader_config.py").exists():
        print(f"python -m grading autograde: no nbgrader_config.py in {course} (use --course)", file=sys.stderr)
        return 2
    config = _config(course, overrides)
    from .sandbox import Sandbox, SandboxUnavailable

    try:
        Sandbox(config=config).check()
    except SandboxUnavailable as exc:
        print(f"python -m grading autograde: {exc}", file=sys.stderr)
        return 1
    try:
        sources = _gradebook_sources(config, args.assignment)
    except Exception as exc:  # noqa: BLE001 - no such assignment in the gradebook
        print(f"python -m grading autograde: the gradebook has no assignment {args.assignment!r} ({exc}); "
              f"run `nbgrader db assignment add {args.assignment}` and `nbgrader generate_assignment` first",
              file=sys.stderr)
        return 2
    cache = Path(config.SandboxedExecute.get("cache_dir") or course / ".grading-cache")
    out_dir = cache / "graded" / args.assignment
    todo = pending_submissions(course, args.assignment, args.student, args.force)
    results = []
    started = time.monotonic()
    if todo:
        # References first, in this process, so that the workers only read them.
        from .references import prepare

        prepare(cache)
        workers = min(args.workers, len(todo))
        failed = 0
        with cf.ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                    initargs=(str(course), overrides)) as pool:
            futures = {
                pool.submit(_grade_one, student, str(path), sources.get(path.stem, {}), str(out_dir)): student
                for student, path in todo
            }
            _progress(0, min(workers, len(todo)), 0, len(todo), started, args.quiet)
            for future in cf.as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died: nbgrader grades it in phase 2
                    result = {"student": futures[future], "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
                if result["status"] in ("failed", "not gradable"):
                    failed += 1
                results.append(result)
                done = len(results)
                _progress(done, min(workers, len(todo) - done), failed, len(todo), started, args.quiet)
    # Phase 2: nbgrader records everything, taking the graded notebooks from the cache.
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    command = [os.path.join(os.path.dirname(sys.executable), "nbgrader"), "autograde", args.assignment,
               f"--SandboxedExecute.precomputed_dir={out_dir}", *overrides]
    if args.force:
        command.append("--force")
    for student in args.student:
        command.append(f"--student={student}")  # nbgrader takes one pattern; the last one wins
    record = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True)
    (cache / "last-nbgrader-autograde.log").write_text(record.stdout + record.stderr)
    _write_summaries(course, args.assignment, results)
    _summary(course, args.assignment, results, config, started)
    if record.returncode != 0:
        print("python -m grading autograde: nbgrader autograde reported failures; see "
              f"{cache / 'last-nbgrader-autograde.log'}", file=sys.stderr)
        return 1
    return 0


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
            "not_gradable": result.get("reason") if result["status"] in ("not gradable", "failed") else None,
        }
        tmp = folder / "grading_summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=1))
        tmp.replace(folder / "grading_summary.json")


def _summary(course: Path, assignment: str, results: list, config, started: float) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(config.CourseDirectory.db_url) as gb:
        for result in sorted(results, key=lambda r: r["student"]):
            try:
                score = gb.find_submission(assignment, result["student"]).score
            except MissingEntry:
                score = None
            note = result.get("reason") or "; ".join(result.get("limits_hit", []) + result.get("events", [])[:1])
            rows.append((result["student"], result["status"], f"{result.get('seconds', 0):.0f}",
                         "-" if score is None else f"{score:g}", len(result.get("failed", {})), note[:70]))
    if not rows:
        print("python -m grading autograde: nothing to grade (every submission is graded; --force grades again).")
        return
    print(f"{'student':<24} {'status':<13} {'seconds':>7} {'score':>6} {'failed':>6}  note")
    for row in rows:
        print(f"{row[0]:<24} {row[1]:<13} {row[2]:>7} {row[3]:>6} {row[4]:>6}  {row[5]}")
    print(f"{len(rows)} submissions in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
