"""Benchmark of autograding, side by side in one run (plain Python, not a test).

    python bench/grading.py [--class-size N] [--workers 1 2] [--skip-plain]

Measures, on a scratch copy of the course:

1. plain ``nbgrader autograde`` of the reference solution with nbgrader's own
   ``Execute`` (no sandbox, no probe, no judge: the notebook only), the
   baseline a stock nbgrader course pays;
2. ``python -m grading autograde --student reference --workers 1``: the
   reference solution through the sandbox, the probe and the judge (the
   references are prepared before the timing starts: they are computed once per
   course, not per submission);
3. a class of ``--class-size`` submissions (the simulated class of the tests,
   reference first) with each ``--workers`` count, so that the speed-up from 1
   to 2 workers and the submissions per hour come from the same run.

Projections for 300 and 3,000 students on 2, 16 and 64 cores are labelled as
projections, two ways: from the measured throughput of the simulated class
(whose attacks stop early), and with every submission costing what the
reference costs (notebook + probe + judge, in core-seconds). Both assume that
throughput grows with cores (one worker per core) and nothing else limits it.

The table is also written, with the machine, date, commit and load average,
into ``bench/results/grading.md`` (``--no-results`` writes nothing), the file
the book's Measurements page includes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import nbformat  # noqa: E402

from assignment_fixtures.course import ASSIGNMENT, BIN, NOTEBOOK, SOLUTION, build_submission, make_course, nbgrader  # noqa: E402
from assignment_fixtures.submissions import SUBMISSIONS  # noqa: E402
import _results  # noqa: E402


PLAIN_PIPELINE = """

# bench/grading.py: stock nbgrader, no sandbox and no judge (the baseline)
from nbgrader.preprocessors import Execute
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.Execute.timeout = 600
"""


def _course(folder: Path, students: list[str]) -> Path:
    course = make_course(folder)
    nbgrader(course, "db", "assignment", "add", ASSIGNMENT)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    for student in students:
        target = course / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(build_submission(release, solution, SUBMISSIONS[student], {"COURSE": course, "PORT": 9}),
                       target / NOTEBOOK)
    return course


def _env():
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return env


def _timed(command, cwd) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return seconds


def _prepare_references(course: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from grading.judge.references import prepare; prepare('.grading-cache')"],
                   cwd=course, env=_env(), check=True)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--class-size", type=int, default=15)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-plain", action="store_true", help="do not time plain nbgrader autograde")
    parser.add_argument("--no-results", action="store_true", help="print only; write no bench/results/grading.md")
    args = parser.parse_args(argv)
    started = _results.now()
    students = ["reference"] + [s for s in SUBMISSIONS if s not in ("reference", "infinite_loop")]
    students = students[: args.class_size]
    rows = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gm-bench-") as tmp:
        tmp = Path(tmp)
        if not args.skip_plain:
            course = _course(tmp / "plain", ["reference"])
            with open(course / "nbgrader_config.py", "a") as f:  # nbgrader's own pipeline: Execute in the kernel
                f.write(PLAIN_PIPELINE)
            seconds = _timed([os.path.join(BIN, "nbgrader"), "autograde", ASSIGNMENT], course)
            rows.append(("reference solution", "plain nbgrader autograde (no sandbox, no hidden checks)", f"{seconds:.1f} s", ""))
        course = _course(tmp / "one", ["reference"])
        prep = _prepare_references(course)
        rows.append(("references", "computed once per course", f"{prep:.1f} s", "not per submission"))
        seconds = _timed([sys.executable, "-m", "grading", "autograde", ASSIGNMENT, "--workers", "1", "--quiet"], course)
        rows.append(("reference solution", "python -m grading autograde (sandbox, probe, judge)", f"{seconds:.1f} s",
                     "target <= 45 s"))
        stages = json.loads((course / ".grading-cache" / "last-run.json").read_text())[0]
        for stage, note in (("notebook_seconds", "the notebook in its sandbox (1 BLAS thread)"),
                            ("probe_seconds", "the probe, at the same time as the notebook"),
                            ("judge_early_seconds", "the judge's part done when the probe ends"),
                            ("judge_seconds", "the judge, all of it")):
            rows.append(("  of which", note, f"{stages[stage]:.1f} s", stage))
        rows.append(("  of which", "phase 1 (workers) in all", f"{stages['seconds']:.1f} s",
                     "the rest: starting, nbgrader recording the grades"))
        per_worker = {}
        for workers in args.workers:
            course = _course(tmp / f"class-{workers}", students)
            _prepare_references(course)
            seconds = _timed([sys.executable, "-m", "grading", "autograde", ASSIGNMENT, "--workers", str(workers),
                              "--quiet"], course)
            per_worker[workers] = seconds
            rate = len(students) / seconds * 3600
            rows.append((f"class of {len(students)}", f"{workers} worker(s)", f"{seconds:.1f} s", f"{rate:.0f} submissions/hour"))
        if 1 in per_worker and 2 in per_worker:
            rows.append(("speed-up", "1 -> 2 workers", f"{per_worker[1] / per_worker[2]:.2f} x", "same class, same run"))
        best = min(per_worker.values()) / len(students)
        cores_here = os.cpu_count() or 1
        # A class of mostly complete notebooks costs more than the simulated one (where attacks stop
        # early): its core-seconds per submission are the reference's notebook + probe + judge, each
        # one BLAS thread.
        full = stages["notebook_seconds"] + stages["probe_seconds"] + stages["judge_seconds"]
        for n in (300, 3000):
            for cores in (2, 16, 64):
                hours = n * best * cores_here / cores / 3600
                rows.append((f"PROJECTION {n} students", f"{cores} cores, the simulated class's mix",
                             f"{hours:.2f} h", f"from {best:.1f} s per submission on {cores_here} cores here"))
                hours = n * full / cores / 3600
                rows.append((f"PROJECTION {n} students", f"{cores} cores, every one like the reference",
                             f"{hours:.2f} h", f"from {full:.0f} core-seconds per submission"))
        shutil.rmtree(tmp, ignore_errors=True)
    out = [f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cores: {os.cpu_count()}",
           f"{'task':<28} {'method':<58} {'value':>10}  notes"]
    out += [f"{row[0]:<28} {row[1]:<58} {row[2]:>10}  {row[3]}" for row in rows]
    print("\n".join(out))
    if not args.no_results:
        path = _results.write("grading", "Grading benchmark (bench/grading.py)", "\n".join(out), started=started,
                              load_start=f"{load[0]:.2f} {load[1]:.2f}")
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
