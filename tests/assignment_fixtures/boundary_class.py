"""The class of boundary attacks, graded once per sandbox layer and shared by the tests that read it.

``tests/grading/batch/test_grading_boundaries.py`` (the grader's boundary) and
``tests/grading/plugins/test_grading_render.py`` (what the formgrader and the feedback show)
read the same graded classes: grading one costs minutes, so it is done once
per session and layer (the ``boundary_classes`` fixture of ``conftest.py``).

The class is graded with ``python -m grading autograde --workers 2`` with the
grader's ``TMPDIR`` on a small disk of its own (a 1 GiB ext4 file system in a
loop-mounted file, which needs root, as in CI), while a sampler records the resident memory of every
process of the grader's own (not the sandboxed ones) and the least free space
of that ``TMPDIR``.

In the bubblewrap layer every attack is graded; in the landlock layer the
attacks whose outcome depends on the layer (the channel between notebook and
probe, the disk fill).  The channel attack is the honest neighbour: it is the
reference solution plus code that changes its answers only if a channel
exists.  The others attack the
grader's own parsing of what comes out of a sandbox, which is the same code
in both layers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat

from .boundary_attacks import BOMB_OUTPUT_CELL, BOUNDARY_ATTACKS, ESCAPED_STUDENT
from .course import ASSIGNMENT, BIN, NOTEBOOK, SOLUTION, build_submission, make_prepared_course
from .render_attacks import build_scripts_submission
from .submissions import SUBMISSIONS

#: The honest neighbour and the filler: sorted first, so that the two workers grade them together.  The
#: honest neighbour is the reference solution plus the channel attack (``channel``), which changes nothing
#: while the wall holds: it must get the reference's 24/24 beside the filler, with no channel.
HONEST, FILL = "0channel", "0fill"
SCRIPTS = "scripts"
SMALL_TMP_BYTES = 2**30

_EVERY_LAYER = {FILL: "disk_fill", HONEST: "channel"}
_BUBBLEWRAP_ONLY = {ESCAPED_STUDENT: "forged", "bombs": "bombs", SCRIPTS: "scripts"}


def students(layer: str) -> dict:
    """{student: attack name} graded in ``layer``."""
    return {**_EVERY_LAYER, **(_BUBBLEWRAP_ONLY if layer == "bubblewrap" else {})}


class GraderMemory:
    """Samples the resident memory of the grader's own processes (not the sandboxed ones) while it runs."""

    SANDBOXED = ("ipykernel_launcher", "gm_probe_runner.py", "confine.py", "bwrap", "prlimit")

    def __init__(self, root_pid: int):
        self.root = root_pid
        self.peak: dict = {}  # pid -> (bytes, command)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        children: dict = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(pid))
        out, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo += children.get(pid, [])
        return out

    def _run(self):
        while not self._stop.is_set():
            for pid in self._tree():
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    if "python" not in command.split(" ")[0] or any(mark in command for mark in self.SANDBOXED):
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            rss = int(line.split()[1]) * 1024
                            if rss > self.peak.get(pid, (0, ""))[0]:
                                self.peak[pid] = (rss, command[:120])
                except OSError:
                    continue
            self._stop.wait(0.2)

    def start(self):
        self.thread.start()

    def stop(self):
        self._stop.set()
        self.thread.join(10)

    def largest(self) -> tuple:
        return max(self.peak.values(), default=(0, ""))


def _write_class(course: Path, layer: str) -> None:
    release = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(SOLUTION, as_version=4)
    for student, attack in students(layer).items():
        if attack == "scripts":
            nb = build_scripts_submission(release, solution)
        else:
            submission = SUBMISSIONS["reference"] if attack == "reference" else BOUNDARY_ATTACKS[attack]
            nb = build_submission(release, solution, submission, {"COURSE": course, "PORT": 9})
            if attack == "bombs":
                nb.cells += [nbformat.v4.new_code_cell(BOMB_OUTPUT_CELL) for _ in range(120)]
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)


def _mount_small_disk(image: Path, folder: Path) -> None:
    """A disk-backed file system of SMALL_TMP_BYTES at ``folder`` (ext4 in a loop-mounted file), as a small
    partition would be: unlike a tmpfs, what is written there is not charged to the writer's memory cgroup."""
    with open(image, "wb") as f:
        f.truncate(SMALL_TMP_BYTES)
    system = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin:/usr/bin:/bin"
    mkfs, mount = shutil.which("mkfs.ext4", path=system), shutil.which("mount", path=system)
    subprocess.run([mkfs, "-q", "-F", "-m", "0", str(image)], check=True, capture_output=True)
    subprocess.run([mount, "-o", "loop", str(image), str(folder)], check=True, capture_output=True)
    os.chmod(folder, 0o1777)


def grade(template: Path, base: Path, layer: str) -> dict:
    """Grade the class of ``layer`` in a copy of ``template`` under ``base``; what the tests read."""
    course = base / "course"
    shutil.copytree(template, course, symlinks=True)
    _write_class(course, layer)
    small_tmp = base / "small-tmp"
    small_tmp.mkdir()
    _mount_small_disk(base / "small-tmp.img", small_tmp)
    free = {"min": shutil.disk_usage(small_tmp).free}
    watching = threading.Event()

    def watch_tmp():
        while not watching.is_set():
            free["min"] = min(free["min"], shutil.disk_usage(small_tmp).free)
            watching.wait(0.2)

    env = {"PATH": f"{BIN}{os.pathsep}/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/root"),
           "TMPDIR": str(small_tmp)}
    if "OPENBLAS_CORETYPE" in os.environ:
        env["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    started = time.monotonic()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "grading", "autograde", ASSIGNMENT, "--workers", "2",
                                 "--no-doctor", f"--Sandbox.layer={layer}"], cwd=course, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        memory = GraderMemory(proc.pid)
        memory.start()
        watcher = threading.Thread(target=watch_tmp, daemon=True)
        watcher.start()
        try:
            out, err = proc.communicate(timeout=2400)
        finally:
            memory.stop()
            watching.set()
            watcher.join(5)
        seconds = time.monotonic() - started
        report = subprocess.run([sys.executable, "-m", "grading", "report", ASSIGNMENT], cwd=course, env=env,
                                capture_output=True, timeout=600)
    finally:
        subprocess.run([shutil.which("umount", path="/usr/bin:/bin:/usr/sbin:/sbin") or "umount", "-l",
                        str(small_tmp)], check=False)
        (base / "small-tmp.img").unlink(missing_ok=True)
    results = {}
    last_run = course / ".grading-cache" / "last-run.json"
    if last_run.exists():
        results = {r["student"]: r for r in json.loads(last_run.read_text())}
    rss, command = memory.largest()
    print(f"\n[{layer}] autograde of {len(results)} submissions in {seconds:.0f} s with 2 workers; largest grader "
          f"process {rss / 1e9:.2f} GB ({command}); least free in the {SMALL_TMP_BYTES / 2**20:.0f} MiB TMPDIR "
          f"{free['min'] / 2**20:.0f} MiB; seconds per submission: "
          + ", ".join(f"{s} {r.get('seconds', 0):.0f}" for s, r in sorted(results.items()))
          + f"\n{out.decode(errors='replace')}")
    return {"layer": layer, "course": course, "returncode": proc.returncode, "stdout": out, "stderr": err,
            "report": report, "memory": memory, "tmp_min_free": free["min"], "results": results,
            "seconds": seconds}


class BoundaryClasses:
    """Graded classes, one per layer, made on first use (see the module docstring)."""

    def __init__(self, tmp_path_factory):
        self._factory = tmp_path_factory
        self._template = None
        self._graded: dict = {}

    def get(self, layer: str) -> dict:
        if layer not in self._graded:
            from debian_packages import need

            need("e2fsprogs")  # the small TMPDIR, a loop-mounted ext4 disk (_mount_small_disk)
            if self._template is None:
                self._template = make_prepared_course(self._factory.mktemp("boundary-template") / "course")
            self._graded[layer] = grade(self._template, self._factory.mktemp(f"boundary-{layer}"), layer)
        return self._graded[layer]
