"""Time CI from a fresh clone: ``.ci/run`` (fresh environment, install, ``python -m pytest``).

    python bench/ci.py [REPO] [--quick] [--no-results] [--log=FILE]

Clones REPO's committed HEAD (default: this repository) into a temporary
folder and runs ``.ci/run`` there, as CI does, timing the whole of it and
keeping pytest's summary line (how many tests passed, and pytest's own time).
``--quick`` runs only the quick tests in the clone instead
(``python -m pytest -m "not slow"`` with this environment's python), without
the installation. Prints the figures and writes them, with the machine, date,
commit and load average, into ``bench/results/ci.md`` (``ci_quick.md`` with
``--quick``; ``--no-results``: print only). ``--log=FILE`` keeps the run's
whole output there as it is printed. The whole ``.ci/run`` takes about
forty minutes on two cores: it is a measurement to run on purpose, not a test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import _results  # noqa: E402

# pytest's last line: "==== 476 passed, 2 skipped in 2023.45s (0:33:43) ====" (no "=" with -q)
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|errors?)\b.* in [0-9.]+s\b.*?)\s*=*$", re.MULTILINE)


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv[1:]
    logs = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--log=")]
    source = Path(args[0]) if args else REPO
    started, load_start = _results.now(), _results.load()
    out = []
    with tempfile.TemporaryDirectory(prefix="ci-run-") as tmp:
        # CI's clone is readable by every user (tests grade as a user they create, with
        # this clone's environment): a private temporary folder would hide it from them.
        os.chmod(tmp, 0o755)
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True)
        if quick:
            command = [sys.executable, "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider"]
            bindir = Path(sys.executable).parent  # nbgrader runs alembic from the environment's bin/
            env = dict(os.environ, PYTHONPATH=str(clone), PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
            label = 'python -m pytest -m "not slow" (quick tests, this environment)'
        else:
            command = ["bash", ".ci/run"]
            env = dict(os.environ)
            label = ".ci/run (fresh environment, install, python -m pytest)"
        start = time.perf_counter()
        if logs:
            with open(logs[-1], "w") as log:
                proc = subprocess.run(command, cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
            proc.stdout = Path(logs[-1]).read_text(errors="replace")
        else:
            proc = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    found = SUMMARY.findall(proc.stdout)
    summary = found[-1] if found else "no pytest summary line found"
    out.append(f"commit {head.stdout.strip()}, {os.cpu_count()} CPUs")
    out.append(f"{label}: exit status {proc.returncode}")
    out.append(f"wall time: {seconds:.0f} s ({seconds / 60:.1f} min)")
    out.append(f"pytest: {summary}")
    print("\n".join(out))
    if proc.returncode != 0:
        print(proc.stdout[-4000:] + (proc.stderr or "")[-2000:], file=sys.stderr)
    if "--no-results" not in sys.argv[1:]:
        name = "ci_quick" if quick else "ci"
        title = "Quick tests (bench/ci.py --quick)" if quick else "CI from a fresh clone (bench/ci.py)"
        path = _results.write(name, title, "\n".join(out), started=started, load_start=load_start,
                              measured_commit=head.stdout.strip())
        print(f"written: {path}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
