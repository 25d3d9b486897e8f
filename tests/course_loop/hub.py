"""Unix users, a Python they can run, and the course's JupyterHub (``python -m grading.jupyterhub``) for a test."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

from assignment_fixtures.course import ROOT
from servers import wait_until_serving

RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"


def system_python() -> str | None:
    """The system's Python of this one's version (the users cannot run an interpreter under /root)."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return shutil.which(version, path="/usr/bin:/usr/local/bin")


def users_python(folder: Path) -> str:
    """The course's environment as the instructors' guide installs it, in ``folder``: a virtual environment of the
    system's Python with ``pip install "<course>[grading]" "jupyterhub..."`` (not editable: nothing of it lives in
    the repository, which may be in a folder the users cannot enter, such as root's home). Returns its
    interpreter."""
    import tomllib

    source = folder.parent / "course-source"  # the package's files only: another test may be building in ROOT
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".ci-venv", "venv", "_build", ".cache", "build", "dist", "*.egg-info", "__pycache__",
        "tests", "book", "bench", "solutions", "exercises", "grading", "guides", ".grading-cache"))
    hub = next(r for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
               ["dev"] if r.startswith("jupyterhub"))
    subprocess.run([system_python(), "-m", "venv", str(folder)], check=True, capture_output=True)
    python = folder / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                              f"{source}[grading]", hub], capture_output=True, text=True, timeout=1500)
    assert install.returncode == 0, f"installing the course's environment failed:\n{install.stderr[-4000:]}"
    shutil.rmtree(source)
    return str(python)


def create_user(name: str) -> Path:
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True, capture_output=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    home.chmod(0o700)
    return home


def remove_user(name: str) -> None:
    """Remove a user the test created, with its processes (the hub normally stopped them already)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    time.sleep(0.2)
    subprocess.run(["userdel", "--remove", name], capture_output=True)


def as_user(user: str, args: list[str], cwd: Path, env: dict, timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run ``args`` as ``user`` in ``cwd`` with exactly ``env``."""
    return subprocess.run([RUNUSER, "-u", user, "--", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


class Hub:
    """``python -m grading.jupyterhub`` in a subprocess, until :meth:`stop`."""

    def __init__(self, *, course: Path, instructor: str, students: list[str], exchange: Path, state: Path,
                 python: str, password_file: Path, log: Path):
        self.log_path = log
        self._log = open(log, "w")
        self.state = state
        args = [python, "-m", "grading.jupyterhub", "--course", str(course), "--instructor", instructor,
                "--students", ",".join(students), "--exchange", str(exchange), "--state", str(state),
                "--port", "0", "--password-file", str(password_file), "--python", python]
        env = dict(os.environ, PATH=os.path.dirname(python) + os.pathsep + os.environ.get("PATH", ""))
        env.pop("VIRTUAL_ENV", None)
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not (state / "settings.json").exists():
            self._check_alive(deadline)
            time.sleep(0.2)
        self.settings = json.loads((state / "settings.json").read_text())
        self.url = f"http://127.0.0.1:{self.settings['port']}"
        wait_until_serving(f"{self.url}/hub/api/", self.process, max(1.0, deadline - time.monotonic()), self.log,
                           "JupyterHub")

    def _check_alive(self, deadline: float) -> None:
        if self.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("JupyterHub did not start:\n" + self.log())

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        for name in ("proxy.pid",):  # the proxy outlives a killed hub: stop it by its recorded pid
            pid_file = self.state / name
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().strip()), 9)
                except (OSError, ValueError):
                    pass
