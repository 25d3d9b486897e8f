"""Regenerate the instructors' guide's JupyterHub screenshots from a real run of the course's loop.

    python bench/guide_screenshots.py [--out guides/images]      (as root, from the repository root)

Runs ``tests/grading/jupyterhub/test_course_loop.py`` (JupyterHub, three students and an
instructor in Chromium; about five minutes on two cores) with its tmp folder
in a fresh temporary folder, then copies one screenshot of each kind into
``--out``:

* ``hub-assignments.png``: a student's Assignments tab after fetching;
* ``hub-formgrader.png``: the formgrader with a submission open, a
  manual score and a comment entered;
* ``hub-feedback.png``: a student's feedback page (late, failed checks
  and the grader's comment).

It also writes the run's phase times (the test prints them: set-up, the
students' fetch-write-validate-submit, collect, autograde, the formgrader,
feedback and export, the students' feedback) into
``bench/results/guide_screenshots.md``.  Nothing is copied when the test
fails (its output is printed and the exit status is 1).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402
SHOTS = {
    "student-assignments-tab.png": "hub-assignments.png",
    "formgrader-submission.png": "hub-formgrader.png",
    "student-feedback.png": "hub-feedback.png",
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "guides" / "images"), help="where the PNG files go (default guides/images)")
    args = p.parse_args(argv)
    out = Path(args.out)
    started, load_start = _results.now(), _results.load()
    with tempfile.TemporaryDirectory(prefix="gm-guide-shots-") as tmp:
        env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/grading/jupyterhub/test_course_loop.py", "-p", "no:cacheprovider", "-q", "-s", "-n", "0",
             f"--basetemp={tmp}/pytest"], cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-6000:], proc.stderr[-3000:], sep="\n")
            print("the course loop failed: no screenshot was copied", file=sys.stderr)
            return 1
        found = {}
        for path in Path(tmp).rglob("*.png"):
            if path.name in SHOTS:
                found[path.name] = path
        missing = sorted(set(SHOTS) - set(found))
        if missing:
            print(f"the test passed but left no {', '.join(missing)}", file=sys.stderr)
            return 1
        out.mkdir(parents=True, exist_ok=True)
        for name, target in SHOTS.items():
            shutil.copyfile(found[name], out / target)
            print(f"wrote {out / target}")
    lines = [line for line in proc.stdout.splitlines() if re.match(r"^(phases|validation) \(s\):", line)]
    if not lines:
        print(proc.stdout[-3000:], "the test printed no phase times", sep="\n", file=sys.stderr)
        return 1
    table = "\n".join(f"{name:<44} {float(value):8.1f} s" for line in lines
                      for name, value in re.findall(r"\s*([^,;]+?) ([\d.]+)(?=,|;|$)", line.split(":", 1)[1]))
    path = _results.write("guide_screenshots", "The course loop on JupyterHub (bench/guide_screenshots.py)", table,
                          started=started, load_start=load_start,
                          notes="One run of tests/grading/jupyterhub/test_course_loop.py: a hub, an instructor and three students in "
                                "Chromium; the reference solution's times per cell were measured in the same run.")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
