"""Time the book's build as published: a clean build, then a cached rebuild.

    python bench/book_build.py [REPO]      # REPO defaults to this repository

Clones REPO's committed HEAD into a temporary folder (so nothing of a working
tree or of its ``_build`` is reused), runs ``.ci/build-book`` there twice with
the jupyter-book and python of this environment (the clone's ``gradedlib`` first
on PYTHONPATH, for the chapters' kernels too): once from nothing (every chapter
executed), once again with no change (everything from the caches). Prints both
wall times, the ratio and the load average before each run. Targets: clean
under 10 min, cached under 1 min. Also writes them, with the machine, date,
commit and load average, into ``bench/results/book_build.md`` (``--no-results``:
print only), the file the book's Measurements page includes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import _results  # noqa: E402


def build(clone: Path, env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(["bash", ".ci/build-book"], cwd=clone, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f".ci/build-book failed after {seconds:.0f} s:\n{(result.stdout + result.stderr)[-4000:]}")
    return seconds


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--no-results"]
    source = Path(args[0]) if args else REPO
    bindir = Path(sys.executable).parent
    started, load_start = _results.now(), _results.load()
    out = []

    def say(line):
        out.append(line)
        print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="book-build-") as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
        env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONPATH=str(clone))
        env.pop("MPLBACKEND", None)
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True)
        say(f"commit {head.stdout.strip()}, {os.cpu_count()} CPUs")
        say(f"load average before the clean build: {_results.load()}")
        clean = build(clone, env)
        say(f"clean build:  {clean:7.1f} s  ({clean / 60:.1f} min; target < 10 min)")
        say(f"load average before the cached rebuild: {_results.load()}")
        cached = build(clone, env)
        say(f"cached build: {cached:7.1f} s  (target < 60 s)")
        say(f"ratio clean / cached: {clean / cached:.1f}")
    if "--no-results" not in sys.argv[1:]:
        path = _results.write("book_build", "Book build (bench/book_build.py)", "\n".join(out), started=started,
                              load_start=load_start, measured_commit=head.stdout.strip())
        print(f"written: {path}")


if __name__ == "__main__":
    main()
