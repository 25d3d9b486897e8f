"""``python -m grading doctor``: will grading work here?  One sandboxed kernel and one probe say so.

Each check prints one line, ``ok``, ``WEAK`` (grading works, with less
isolation than it could have) or ``FAILED``, with the reason:

* the sandbox layer in use (bubblewrap, else Landlock + seccomp) and why a
  stronger one was passed over; user namespaces;
* the Python environment inside a sandbox (interpreter, site-packages, the
  packages a notebook and the kernel need);
* the data files each view must have (and the probe's view must not);
* the memory limit (cgroup v1, else RLIMIT_AS) and the process limit, each
  tried for real with a small limit; the network (a connection to this
  process's loopback must fail);
* one sandboxed kernel running a cell, and one probe calling a function.

The exit status is 0 only when grading will work.  ``python -m grading
autograde`` runs the same checks before it grades anything and stops when
one fails: no submission is graded to zero because the grader cannot run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grading.config import CONFIG_FILE, Course

__all__ = ["Check", "main", "run_checks", "verdict"]


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    status: str  # "ok", "WEAK" or "FAILED"
    detail: str

    def line(self) -> str:
        return f"{self.status:<6} {self.name}: {self.detail}"


def _sandboxed(sandbox, code: str, view: str, timeout: float = 120, **limits) -> tuple[int, str, str]:
    """Run ``python -c code`` in a fresh sandbox (optionally with other limits); (status, stdout, stderr)."""
    if limits:
        from grading.sandbox.layers import Sandbox

        sandbox = Sandbox(config=sandbox.config, **limits)
    io_dir = tempfile.mkdtemp(prefix="gm-doctor-")
    handle = None
    try:
        handle = sandbox.popen([sys.executable, "-c", code], io_dir=io_dir, student_root=view,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = handle.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            handle.stop()
            out, err = handle.popen.communicate()
        return handle.popen.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    finally:
        if handle is not None:
            handle.release()
        shutil.rmtree(io_dir, ignore_errors=True)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


_ENV_CODE = r"""
import importlib, json, socket, sys
found = {}
for name in ("ipykernel", "numpy", "scipy", "sklearn", "matplotlib", "pandas", "nbformat"):
    module = importlib.import_module(name)
    found[name] = getattr(module, "__version__", "?")
report = {"executable": sys.executable, "prefix": sys.prefix, "found": found}
try:
    socket.create_connection(("127.0.0.1", %d), timeout=3)
    report["network"] = "CONNECTED"
except OSError as exc:
    report["network"] = "REFUSED " + type(exc).__name__
try:
    from gradedlib.data import load_mnist
    report["train"] = int(load_mnist("train")[0].shape[0])
    report["test"] = int(load_mnist("test")[0].shape[0])
except Exception as exc:
    report.setdefault("train", 0)
    report["data_error"] = type(exc).__name__ + ": " + str(exc)[:200]
print(json.dumps(report))
"""

_MEMORY_CODE = "b = bytearray(512 * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ALLOCATED')"
_PROCESS_CODE = r"""
import threading, time
n = 0
try:
    for _ in range(64):
        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
        n += 1
    print("STARTED", n)
except Exception as exc:
    print("REFUSED", n, type(exc).__name__)
"""
_PROBE_CELL = r"""
import numpy as np
from gradedlib.data import load_mnist

def predict(x, mu, sigma, pi):
    return np.zeros(len(x), dtype=int)

def data_seen():
    try:
        load_mnist("test")
        test = 1
    except Exception:
        test = 0
    return np.array([load_mnist("train")[0].shape[0], test])
"""


def _checks_of_layer(sandbox, results: list) -> bool:
    from grading.sandbox import confine
    from grading.sandbox.layers import SandboxUnavailable

    exe = shutil.which(sandbox.bwrap)
    try:
        layer = sandbox.check()
    except SandboxUnavailable as exc:
        results.append(Check("sandbox layer", "FAILED", str(exc)))
        return False
    passed = sandbox.unavailable_layers
    results.append(Check("sandbox layer", "ok" if layer == "bubblewrap" else "WEAK", sandbox.describe_layer()))
    if layer == "none":
        return True
    if layer == "bubblewrap":
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
        results.append(Check("bubblewrap", "ok", f"{exe} ({version}) builds its namespaces here"))
    else:
        results.append(Check("bubblewrap", "WEAK", passed.get("bubblewrap", "not used")))
    userns = Path("/proc/sys/user/max_user_namespaces")
    restrict = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
    parts = [f"user.max_user_namespaces = {userns.read_text().strip()}" if userns.exists() else "no user namespaces"]
    if restrict.exists():
        parts.append(f"kernel.apparmor_restrict_unprivileged_userns = {restrict.read_text().strip()}")
    parts.append(f"running as {'root' if os.geteuid() == 0 else 'uid ' + str(os.geteuid())}")
    results.append(Check("user namespaces", "ok" if layer == "bubblewrap" else "WEAK", "; ".join(parts)))
    ok, text, abi = confine.available()
    if layer == "landlock":
        status = "WEAK" if abi < confine.SCOPE_ABI else "ok"
        results.append(Check("landlock layer", status, f"in use ({text})"))
    else:
        results.append(Check("landlock layer", "ok", f"fallback available ({text})" if ok else f"fallback unavailable "
                             f"here ({text}); not needed"))
    return True


def run_checks(config=None, refs=None, course: str | None = None, log=None) -> list[Check]:
    """All checks, in order; a check that cannot run because an earlier one failed is FAILED too.

    Parameters
    ----------
    config : traitlets Config, default=None
        The course's configuration (its Sandbox, NotebookExecutor and Probe sections).
    refs : grading.judge.references.References, default=None
        The prepared references; ``None`` prepares them in the course's cache.
    course : str, default=None
        The course folder (hidden from every sandbox; ``c.Sandbox.course_folder`` unless set).
    log : callable, default=None
        Called with each Check as soon as it is known.
    """
    from traitlets.config import Config

    from grading.run.executor import NotebookExecutor
    from grading.failures import NotGradable
    from grading.run.probe import Probe, ProbeCall
    from grading.sandbox.layers import Sandbox

    config = Config(config) if config is not None else Config()
    if course and not config.Sandbox.get("course_folder"):
        config.Sandbox.course_folder = str(course)
    results: list[Check] = []

    def add(check: Check):
        results.append(check)
        if log is not None:
            log(check)

    layer_checks: list[Check] = []
    sandbox = Sandbox(config=config)
    usable = _checks_of_layer(sandbox, layer_checks)
    for check in layer_checks:
        add(check)
    if not usable:
        return results

    env = sandbox.python_environment()
    if refs is None:
        from grading.judge.references import prepare

        cache = Course(Path(course or os.getcwd()), config).cache_dir
        try:
            refs = prepare(cache)
        except Exception as exc:  # noqa: BLE001
            add(Check("data files", "FAILED", f"the references could not be prepared in {cache}: {exc}"))
            return results
    notebook_view, probe_view = str(refs.notebook_view), str(refs.probe_view)

    # One sandboxed process: the environment, the notebook view's data, and the network.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except socket.timeout:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        status, out, err = _sandboxed(sandbox, _ENV_CODE % server.getsockname()[1], notebook_view)
    finally:
        stop.set()
        thread.join(2)
        server.close()
    if status != 0:
        refused = "; ".join(f"{p} ({why})" for p, why in env.refused.items())
        add(Check("Python inside", "FAILED", f"{sys.executable} cannot import what grading needs inside the "
                  f"sandbox: {_last_line(err)}" + (f"; paths not shown: {refused}" if refused else "")))
        return results
    import json

    info = json.loads(out.strip().splitlines()[-1])
    versions = ", ".join(f"{k} {v}" for k, v in info["found"].items())
    add(Check("Python inside", "ok", f"{info['executable']} (prefix {info['prefix']}); {versions}; "
              f"{len(env.paths)} paths shown read-only: {', '.join(env.paths)}"))
    import ipykernel

    add(Check("kernel spec", "ok", f"{sys.executable} -m ipykernel_launcher (ipykernel {ipykernel.__version__}, "
              "started by the grader in the sandbox; the installed kernel specs are not used)"))
    if not info.get("train") or not info.get("test"):
        add(Check("data files", "FAILED", f"the notebook view ({notebook_view}) inside the sandbox: "
                  f"{info.get('data_error', 'no training or test set')}"))
        return results
    if info["network"].startswith("CONNECTED") or accepted:
        add(Check("network", "FAILED" if sandbox.enabled else "WEAK", "a sandboxed process reached this machine's "
                  "loopback"))
    else:
        add(Check("network", "ok", f"off (a connection to the grader's loopback: {info['network']})"))

    from grading.sandbox.cgroups import describe

    mechanisms = describe() if sandbox.enabled else {"memory": "RLIMIT_AS per process (no sandbox)",
                                                     "pids": "RLIMIT_NPROC per user (no sandbox)"}
    status, out, err = _sandboxed(sandbox, _MEMORY_CODE, probe_view, memory_limit=256 * 2**20)
    if "ALLOCATED" in out:
        add(Check("memory limit", "FAILED" if sandbox.enabled else "WEAK",
                  f"512 MiB allocated under a 256 MiB limit ({mechanisms['memory']})"))
    else:
        add(Check("memory limit", "ok", f"{mechanisms['memory']}: 512 MiB refused under a 256 MiB limit"))
    status, out, err = _sandboxed(sandbox, _PROCESS_CODE, probe_view, max_processes=24)
    if out.startswith("REFUSED"):
        add(Check("process limit", "ok", f"{mechanisms['pids']}: {out.split()[1]} threads started, the rest refused "
                  "under a limit of 24"))
    else:
        add(Check("process limit", "WEAK", f"64 threads started under a limit of 24 ({mechanisms['pids']}): a fork "
                  "bomb is stopped only by the time limits"))

    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    io_dir = tempfile.mkdtemp(prefix="gm-doctor-")
    try:
        t0 = time.monotonic()
        run = NotebookExecutor(sandbox, config=config, cell_timeout=60, notebook_timeout=120).run(
            nb, io_dir, notebook_view, [])
        text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
        if text.strip() == "42":
            add(Check("kernel", "ok", f"a sandboxed kernel ran a cell in {time.monotonic() - t0:.1f} s"))
        else:
            add(Check("kernel", "FAILED", f"the cell printed {text.strip()!r} ({'; '.join(run.events)})"))
            return results
    except NotGradable as exc:
        add(Check("kernel", "FAILED", str(exc)))
        return results
    finally:
        shutil.rmtree(io_dir, ignore_errors=True)

    io_dir = tempfile.mkdtemp(prefix="gm-doctor-")
    try:
        t0 = time.monotonic()
        A = lambda name: {"kind": "array", "name": name}  # noqa: E731
        calls = [ProbeCall("doctor", "predict", [A("x_small_100"), A("small_means"), A("small_sigma"), A("small_priors")]),
                 ProbeCall("data", "data_seen", [])]
        found = Probe(sandbox, config=config).run([(0, _PROBE_CELL)], calls, io_dir, probe_view)
        result, data = found["doctor"], found["data"]
        seen = data.items[0].tolist() if data.status == "returned" and data.items and data.items[0] is not None else None
        if not (result.status == "returned" and result.items and result.items[0] is not None
                and len(result.items[0]) == 100):
            add(Check("probe", "FAILED", f"the probe's call {result.status}: {result.message}"))
        elif seen is None or not seen[0] or seen[1]:
            add(Check("data files", "FAILED", f"the probe's view ({probe_view}) must have the training set and not "
                      f"the test set; found {seen} ({data.message})"))
        else:
            add(Check("data files", "ok", f"notebook view: {info['train']} training and {info['test']} test images; "
                      f"probe view: {seen[0]} training images, no test set"))
            add(Check("probe", "ok", f"a sandboxed probe called two functions in {time.monotonic() - t0:.1f} s"))
    except NotGradable as exc:
        add(Check("probe", "FAILED", str(exc)))
    finally:
        shutil.rmtree(io_dir, ignore_errors=True)
    return results


def verdict(results: list[Check]) -> tuple[bool, str]:
    """(grading will work, one line saying so or naming the first failure)."""
    failed = [c for c in results if c.status == "FAILED"]
    if failed:
        return False, f"grading will NOT work here: {failed[0].name}: {failed[0].detail}"
    weak = [c.name for c in results if c.status == "WEAK"]
    layer = next((c.detail.split(" (")[0].split(",")[0] for c in results if c.name == "sandbox layer"), "?")
    return True, f"grading will work here; sandbox layer: {layer}" + \
        (f" (weaker isolation: {', '.join(weak)})" if weak else "")


def main(argv=None) -> int:
    """``python -m grading doctor [--course DIR] [--Class.trait=value ...]``; 0 when grading will work."""
    parser = argparse.ArgumentParser(prog="python -m grading doctor", description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--course", default=".", help="the course root, where nbgrader_config.py is (default: .)")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    course = Path(args.course).resolve()
    if not (course / CONFIG_FILE).exists():
        print(f"python -m grading doctor: no nbgrader_config.py in {course} (use --course)", file=sys.stderr)
        return 2
    try:
        config = Course.load(course, rest).config
    except ValueError as exc:
        parser.error(str(exc))
    from grading.untrusted_text import for_terminal

    # The checks quote processes' output and exceptions: one line each, no escape sequence.
    results = run_checks(config, course=str(course), log=lambda c: print(for_terminal(c.line()), flush=True))
    ok, line = verdict(results)
    print(for_terminal(line))
    return 0 if ok else 1
