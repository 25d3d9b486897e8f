"""Time per submission of two versions of the grader, side by side in one run (plain Python, not a test).

    python bench/grading_revisions.py [--old REV] [--rounds N]

For the grader of git revision ``--old`` (default: the parent of the first
commit that touched grading/pythonenv.py (now grading/sandbox/pythonenv.py), i.e. before the environment and
not-gradable work) and the grader in the working tree, it builds one scratch
course each (the same solutions and reference submission; ``grading/`` and
``nbgrader_config.py`` of each revision), prepares the references of each
before timing, then grades the reference solution with ``python -m grading
autograde --student reference --workers 1 --force``, alternating old and new
for ``--rounds`` rounds, and prints each time, the medians and the ratio
new/old.  The table is written, with the machine, date, commit and load, to
``bench/results/grading_revisions.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import _results  # noqa: E402

import nbformat  # noqa: E402

from assignment_fixtures.course import ASSIGNMENT, BIN, NOTEBOOK, SOLUTION, build_submission  # noqa: E402
from assignment_fixtures.submissions import SUBMISSIONS  # noqa: E402


def _git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def _course(folder: Path, grading_source: Path, config: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy2(config, folder / "nbgrader_config.py")
    shutil.copytree(grading_source, folder / "grading", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", folder / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    for args in (["db", "assignment", "add", ASSIGNMENT], ["generate_assignment", ASSIGNMENT, "--force"]):
        subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=folder, env=env, check=True, capture_output=True)
    release = nbformat.read(folder / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    target = folder / "submitted" / "reference" / ASSIGNMENT
    target.mkdir(parents=True)
    nbformat.write(build_submission(release, nbformat.read(SOLUTION, as_version=4), SUBMISSIONS["reference"]),
                   target / NOTEBOOK)
    # grading.judge.references since issue #26, grading.references before: either revision's place
    subprocess.run([sys.executable, "-c", "import importlib, importlib.util, sys; sys.path.insert(0, '.'); import grading; "
                    "name = 'grading.judge.references' if importlib.util.find_spec('grading.judge') else "
                    "'grading.references'; importlib.import_module(name).prepare('.grading-cache')"],
                   cwd=folder, env=env, check=True, capture_output=True)
    return folder


def _grade(course: Path) -> tuple[float, float]:
    """(seconds of the whole command, seconds of the submission's grading as last-run.json records them)."""
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "grading", "autograde", ASSIGNMENT, "--student", "reference",
                          "--workers", "1", "--force"], cwd=course, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"grading failed in {course}:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    import json

    record = json.loads((course / ".grading-cache" / "last-run.json").read_text())
    if record[0].get("status") != "graded":
        raise SystemExit(f"the reference was not graded in {course}: {record[0]}")
    return seconds, float(record[0]["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", default=None, help="git revision of the old grader")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    old = args.old
    if not old:
        first = _git("log", "--format=%H", "--diff-filter=A", "--", "grading/pythonenv.py").splitlines()[-1]  # its first place
        old = f"{first}^"
    old_sha = _git("rev-parse", "--short", old)
    started, load_start = _results.now(), _results.load()
    work = Path(tempfile.mkdtemp(prefix="gm-bench-revisions-"))
    try:
        old_src = work / "old-grading"
        old_src.mkdir()
        archive = subprocess.run(["git", "archive", old, "grading", "nbgrader_config.py"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
        courses = {"old": _course(work / "old", old_src / "grading", old_src / "nbgrader_config.py"),
                   "new": _course(work / "new", ROOT / "grading", ROOT / "nbgrader_config.py")}
        times = {"old": [], "new": []}
        grading = {"old": [], "new": []}
        load = [os.getloadavg()[0]]
        for _ in range(args.rounds):
            for name in ("old", "new"):
                command, submission = _grade(courses[name])
                times[name].append(command)
                grading[name].append(submission)
                print(f"{name}: command {command:.1f} s, submission {submission:.1f} s", flush=True)
                load.append(os.getloadavg()[0])
        medians = {k: statistics.median(v) for k, v in times.items()}
        per = {k: statistics.median(v) for k, v in grading.items()}
        ratio = per["new"] / per["old"]
        lines = [
            f"old grader: {old_sha}; new grader: the working tree",
            "python -m grading autograde --student reference --workers 1 --force (the reference solution;",
            "references prepared before; old and new alternate)",
            "",
            f"{'grader':<8} {'submission (s), each run':<28} {'median':>7}   {'whole command (s), each run':<28} {'median':>7}",
        ]
        for name in ("old", "new"):
            lines.append(f"{name:<8} {', '.join(f'{t:.1f}' for t in grading[name]):<28} {per[name]:>7.1f}   "
                         f"{', '.join(f'{t:.1f}' for t in times[name]):<28} {medians[name]:>7.1f}")
        lines += ["", f"ratio new/old, time per submission: {ratio:.3f} (target: at most 1.10)",
                  f"ratio new/old, whole command: {medians['new'] / medians['old']:.3f} (once-per-run costs "
                  "included: nbgrader's recording, and the new grader's doctor)"]
        text = "\n".join(lines)
        print(text)
        path = _results.write("grading_revisions", "The grader before and after (bench/grading_revisions.py)", text,
                              started=started, load_start=load_start)
        print(f"wrote {path}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
