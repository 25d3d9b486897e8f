"""Time the book's build as published: a clean build, then a cached rebuild.

    python bench/book_build.py [REPO]      # REPO defaults to this repository

Clones REPO's committed HEAD into a temporary folder (so nothing of a working
tree or of its ``_build`` is reused), runs ``.ci/build-book`` there twice with
the jupyter-book and python of this environment (the clone's ``gradedlib`` first
on PYTHONPATH, for the chapters' kernels too): once from nothing (every chapter
executed), once again with no change (everything from the caches). Prints both
wall times, the ratio and the load average before each run. Targets: clean
under 10 min, cached under 1 min.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build(clone: Path, env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(["bash", ".ci/build-book"], cwd=clone, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f".ci/build-book failed after {seconds:.0f} s:\n{(result.stdout + result.stderr)[-4000:]}")
    return seconds


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="book-build-") as tmp:
        clone = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
        env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONPATH=str(clone))
        env.pop("MPLBACKEND", None)
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True)
        print(f"commit {head.stdout.strip()}, {os.cpu_count()} CPUs", flush=True)
        print(f"load average before the clean build: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
        clean = build(clone, env)
        print(f"clean build:  {clean:7.1f} s  ({clean / 60:.1f} min; target < 10 min)", flush=True)
        print(f"load average before the cached rebuild: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
        cached = build(clone, env)
        print(f"cached build: {cached:7.1f} s  (target < 60 s)", flush=True)
        print(f"ratio clean / cached: {clean / cached:.1f}", flush=True)


if __name__ == "__main__":
    main()
