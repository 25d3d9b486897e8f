"""Attacks on the sandbox and the notebook executor, one small notebook each.

Every test runs a real kernel in a real sandbox, once in each layer: real
bubblewrap, and the fallback layer (Landlock + seccomp + rlimits, the one
used where bubblewrap cannot run).  Each attack is something a student's cell
could do, and each test shows that it fails in both layers, that the harm
stays inside the sandbox, and that the rest of the notebook is still run.
The attacks the fallback layer must stop: reading the course (solutions,
gradebook), the grader's home or the repository, writing outside its own
folders, any network (TCP and UDP to the grader's loopback, the grader's
Unix sockets, abstract sockets), signalling, tracing or reading the grader's
process, making a device node, a detached process outliving the sandbox, a
memory bomb and a fork bomb.  The class simulation
(test_assignment_grading.py) repeats the attacks through nbgrader on the real
assignment; test_grading_setups.py grades small classes in other set-ups.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grading.run.executor import NotebookExecutor, load_claims  # noqa: E402
from grading.run.probe import Probe, ProbeCall, definitions_of  # noqa: E402
from grading.sandbox.layers import Sandbox, SandboxUnavailable  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def _notebook(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _stdout(cell) -> str:
    return "".join(out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stdout")


def _text(cell) -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "".join(parts)


@pytest.fixture
def view(tmp_path):
    """A minimal read-only view: an empty lib folder."""
    (tmp_path / "view" / "lib").mkdir(parents=True)
    return str(tmp_path / "view")


@pytest.fixture(params=[pytest.param("bubblewrap", marks=pytest.mark.sandbox("bubblewrap")), "landlock"])
def layer(request):
    return request.param


@pytest.fixture
def run(tmp_path, view, layer):
    def go(nb, export=(), **limits):
        sandbox_limits = {k: limits.pop(k) for k in list(limits) if k in ("memory_limit", "max_processes")}
        sandbox = Sandbox(layer=layer, **sandbox_limits)
        assert sandbox.check() == layer
        executor = NotebookExecutor(sandbox, **{"cell_timeout": 60, "notebook_timeout": 300, **limits})
        io_dir = tmp_path / f"io-{time.monotonic_ns()}"
        io_dir.mkdir()
        result = executor.run(nb, str(io_dir), view, list(export))
        return result, io_dir
    return go


def test_a_missing_bubblewrap_stops_grading_with_one_line_naming_the_cause_and_the_option():
    with pytest.raises(SandboxUnavailable) as info:
        Sandbox(bwrap="no-such-bwrap-here", layer="bubblewrap").check()
    message = str(info.value)
    assert "no-such-bwrap-here" in message and "c.Sandbox.enabled = False" in message and "\n" not in message


def test_without_bubblewrap_the_fallback_layer_is_chosen_and_said(caplog):
    sandbox = Sandbox(bwrap="no-such-bwrap-here")
    with caplog.at_level("WARNING"):
        assert sandbox.check() == "landlock"
    assert "landlock, the weaker fallback layer" in caplog.text and "no-such-bwrap-here" in caplog.text
    assert "bubblewrap" in sandbox.unavailable_layers


def test_with_no_layer_at_all_grading_stops_with_one_line_naming_both_causes(monkeypatch):
    from grading.sandbox import confine

    monkeypatch.setattr(confine, "available", lambda: (False, "the kernel has no Landlock (test)", 0))
    with pytest.raises(SandboxUnavailable) as info:
        Sandbox(bwrap="no-such-bwrap-here").check()
    message = str(info.value)
    assert "no-such-bwrap-here" in message and "no Landlock (test)" in message
    assert "c.Sandbox.enabled = False" in message and "\n" not in message


@pytest.mark.sandbox("bubblewrap")
def test_the_sandbox_is_available_here():
    assert Sandbox().check() == "bubblewrap"
    assert Sandbox(layer="landlock").check() == "landlock"


def test_the_process_cannot_reach_or_touch_the_grader(run, tmp_path):
    """Signals, ptrace, /proc, UDP, a pathname and an abstract Unix socket of the grader: all refused."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    shared = Path(tempfile.mkdtemp(prefix="gm-grader-socket-"))
    shared.chmod(0o777)
    unix_path = shared / "grader.sock"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(unix_path))
    unix_path.chmod(0o777)
    unix.listen(4)
    unix.settimeout(0.2)
    abstract_name = f"\0gm-grader-{os.getpid()}-{time.monotonic_ns()}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(abstract_name)
    abstract.listen(4)
    abstract.settimeout(0.2)
    me = os.getpid()
    nb = _notebook(
        "import ctypes, os, signal, socket\n"
        "def attempt(label, action):\n"
        "    try:\n"
        "        result = action()\n"
        "        print('SUCCEEDED' if result not in (-1, None) else 'failed', label, result)\n"
        "    except Exception as exc:\n"
        "        print('failed', label, type(exc).__name__)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"attempt('signal the grader', lambda: os.kill({me}, signal.SIGUSR1) or 'sent')\n"
        f"attempt('ptrace the grader', lambda: libc.ptrace(16, {me}, 0, 0))\n"
        f"attempt('read the grader environ', lambda: open('/proc/{me}/environ').read()[:20])\n"
        f"attempt('udp to the grader', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {udp.getsockname()[1]})))\n"
        f"attempt('unix socket of the grader', lambda: socket.socket(socket.AF_UNIX).connect({str(unix_path)!r}) or 'connected')\n"
        f"attempt('abstract socket of the grader', lambda: socket.socket(socket.AF_UNIX).connect({abstract_name!r}) or 'connected')\n"
        "attempt('raw socket', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))\n"
        "attempt('block device node', lambda: os.mknod(os.path.expanduser('~/disk'), 0o600 | 0o060000, os.makedev(8, 0)) or 'made')\n"
    )
    received = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: received.append("SIGUSR1"))
    try:
        run(nb)
        for server in (unix, abstract):
            try:
                received.append(server.accept())
            except (socket.timeout, OSError):
                pass
        try:
            received.append(udp.recvfrom(16))
        except (socket.timeout, OSError):
            pass
    finally:
        signal.signal(signal.SIGUSR1, previous)
        for server in (udp, unix, abstract):
            server.close()
        shutil.rmtree(shared, ignore_errors=True)
    text = _text(nb.cells[0])
    lines = text.splitlines()
    # A UDP datagram may leave inside bubblewrap (to the sandbox's own loopback): what counts is that
    # the grader's socket received nothing.
    assert not received, (received, text)
    refused = [line for line in lines if not line.split(" ", 1)[1].startswith("udp")]
    assert len(lines) == 8 and all(line.startswith("failed ") for line in refused), text


def test_runs_cells_and_exports_results_as_plain_arrays(run):
    nb = _notebook("import numpy as np\nx = np.arange(3.0)\nprint('hello')", "y = {1: [1, 2], 0: [3, 4]}\nz = 'text'")
    result, io_dir = run(nb, export=("x", "y", "z", "absent"))
    assert _text(nb.cells[0]) == "hello\n"
    arrays, info = load_claims(result.claims_path, ["x", "y", "z", "absent"])
    assert arrays["x"].tolist() == [0.0, 1.0, 2.0]
    assert arrays["y"].tolist() == [[3, 4], [1, 2]] and info["y"]["type"] == "dict"
    assert info["z"]["status"] == "unreadable" and info["absent"]["status"] == "missing"


def test_no_network_not_even_the_graders_loopback(run):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                accepted.append(server.accept())
            except socket.timeout:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    nb = _notebook(
        "import socket\n"
        f"for host in ('127.0.0.1', '8.8.8.8'):\n"
        "    try:\n"
        f"        socket.create_connection((host, {port}), timeout=3)\n"
        "        print('CONNECTED', host)\n"
        "    except OSError as exc:\n"
        "        print('refused', host, type(exc).__name__)\n"
    )
    try:
        run(nb)
    finally:
        server.close()
    text = _text(nb.cells[0])
    assert "CONNECTED" not in text and text.count("refused") == 2, text
    assert not accepted


def test_the_course_the_graders_home_and_other_files_are_invisible_and_unwritable(run, tmp_path):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    secret = course / "solutions" / "answers.txt"
    secret.write_text("the answers")
    (course / "gradebook.db").write_text("grades")
    outside = tmp_path / "written-by-student.txt"
    nb = _notebook(
        "import os\n"
        "def attempt(label, action):\n"
        "    try:\n"
        "        print('SUCCEEDED', label, action())\n"
        "    except Exception as exc:\n"
        "        print('failed', label, type(exc).__name__)\n"
        f"attempt('read answers', lambda: open({str(secret)!r}).read())\n"
        f"attempt('write gradebook', lambda: open({str(course / 'gradebook.db')!r}, 'w').write('0'))\n"
        f"attempt('write outside', lambda: open({str(outside)!r}, 'w').write('x'))\n"
        f"attempt('read repository', lambda: open({str(ROOT / 'grading' / 'judge' / 'checks.py')!r}).read())\n"
        "attempt('list /root', lambda: os.listdir('/root'))\n"
        "attempt('write /usr', lambda: open('/usr/pwned', 'w').write('x'))\n"
        "attempt('write home', lambda: open(os.path.expanduser('~/scratch.txt'), 'w').write('x'))\n"
    )
    run(nb)
    text = _text(nb.cells[0])
    for label in ("read answers", "write gradebook", "read repository", "write /usr"):
        assert f"failed {label}" in text, text
    # /root holds only the Python installation mounted read-only (pyenv), nothing of the grader's home.
    assert "SUCCEEDED list /root ['.pyenv']" in text or "failed list /root" in text, text
    # Writing elsewhere lands in the sandbox's private /tmp or home, never on the machine.
    assert "SUCCEEDED write home" in text
    assert secret.read_text() == "the answers" and (course / "gradebook.db").read_text() == "grades"
    assert not outside.exists() and not Path("/usr/pwned").exists()


def test_a_detached_process_does_not_outlive_the_sandbox(run):
    marker = f"{time.time_ns() % 10**6}.25"
    nb = _notebook(
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n"
        "    os._exit(0)\n"
        "print('detached')"
    )
    run(nb)
    assert "detached" in _text(nb.cells[0])
    time.sleep(1)
    found = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert found.stdout.strip() == "", "the detached process survived grading"


def test_a_memory_bomb_ends_its_kernel_only_and_grading_goes_on(run):
    nb = _notebook(
        "x = 41",
        "import numpy as np\nblocks = []\nfor i in range(64):\n    blocks.append(np.ones(2**27))",
        "print(x + 1)",
    )
    result, _ = run(nb, memory_limit=768 * 2**20)
    assert any("memory" in hit for hit in result.limits_hit), result.events
    assert "memory" in _text(nb.cells[1]) and "768 MiB" in _text(nb.cells[1])
    assert _text(nb.cells[2]) == "42\n"  # cell 0 replayed in a new kernel


def test_a_fork_bomb_is_contained(run):
    nb = _notebook(
        "import os, time\n"
        "children = 0\n"
        "try:\n"
        "    while children < 5000:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(20)\n"
        "            os._exit(0)\n"
        "        children += 1\n"
        "except OSError as exc:\n"
        "    print('refused after', children, type(exc).__name__)\n",
        "print('next cell')",
    )
    result, _ = run(nb, max_processes=64)
    text = _text(nb.cells[0])
    assert "refused after" in text, text
    assert int(text.split()[2]) < 64
    assert _text(nb.cells[1]) == "next cell\n"
    assert any("processes" in hit for hit in result.limits_hit)


def test_a_cell_that_ignores_the_interrupt_is_killed_at_its_limit_and_the_rest_runs(run):
    nb = _notebook(
        "x = 41",
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        "print(x + 1)",
    )
    start = time.monotonic()
    result, _ = run(nb, cell_timeout=5)
    assert time.monotonic() - start < 60
    assert "limit of 5 s per cell" in _text(nb.cells[1])
    assert _text(nb.cells[2]) == "42\n"
    assert result.restarts == 1


def test_kernel_restarts_are_capped_so_no_submission_multiplies_the_graders_time(run):
    die = "import os, time\ntime.sleep(0.5)\nos._exit(1)"
    nb = _notebook("x = 1", die, die, die, die, "print('never')")
    start = time.monotonic()
    result, _ = run(nb, max_kernel_restarts=2)
    assert time.monotonic() - start < 90
    assert result.restarts == 2
    assert "DeadKernelError" in _text(nb.cells[3])
    assert "did not run this cell" in _text(nb.cells[4]) and "did not run" in _text(nb.cells[5])


def test_the_whole_notebook_has_a_time_limit(run):
    nb = _notebook(*["import time\ntime.sleep(3)"] * 6)
    start = time.monotonic()
    result, _ = run(nb, notebook_timeout=8, cell_timeout=60)
    assert time.monotonic() - start < 40
    assert result.cells_not_run
    assert any("time limit" in event for event in result.events)


def test_output_beyond_the_cap_is_dropped_with_a_note(run):
    nb = _notebook("for i in range(20000):\n    print('x' * 100)", "print('after')")
    run(nb, max_output_bytes=64 * 1024)
    text = _text(nb.cells[0])
    assert len(text) < 200 * 1024 and "dropped the rest of this cell's output" in text
    assert _text(nb.cells[1]) == "after\n"


def test_probe_definitions_keep_imports_functions_and_constants_only():
    cells = [
        (0, "%matplotlib inline\nimport numpy as np\nX, y = load_data()\nGRID = np.logspace(0, 6, 25)"),
        (1, "from gradedlib.data import load_mnist\ntrain, labels = load_mnist(\"train\")\ndef fit(x, y):\n    return helper(x)\n\ndef helper(x):\n    return x\n\nmodel = fit(X, y)\nBAD = fit(1, 2)\nplt.show()"),
        (2, "class Model:\n    pass\nfrom functools import partial\nfast = partial(fit, y=0)\nwhile True:\n    pass"),
    ]
    statements, origin = definitions_of(cells)
    text = "\n".join(statements)
    assert "import numpy as np" in text and "GRID = np.logspace(0, 6, 25)" in text
    assert "def fit" in text and "def helper" in text and "class Model" in text and "fast = partial" in text
    for left_out in ("load_data", "model = fit", "BAD", "plt.show", "while True", "matplotlib"):
        assert left_out not in text, left_out
    assert origin == sorted(origin)


def test_probe_calls_have_their_own_limits_and_no_test_set(tmp_path, layer):
    import numpy as np

    view = tmp_path / "view"
    lib = view / "lib"
    lib.mkdir(parents=True)
    sandbox = Sandbox(layer=layer)
    seen = sandbox.view_path(str(view)) + "/lib/gradedlib/_data/mnist/t10k-images-idx3-ubyte.gz"
    (lib / "gm_probe_runner.py").write_text((ROOT / "grading" / "run" / "probe_runner.py").read_text())
    np.savez(view / "inputs.npz", a=np.arange(4.0))
    np.savez(view / "moments.npz", covariances=np.eye(2)[None])
    cells = [(0, "import numpy as np\nimport os\n"
                 "def double(a):\n    return 2 * a\n"
                 "def loops(a):\n    while True:\n        pass\n"
                 "def dies(a):\n    os._exit(3)\n"
                 "def sees_test_set(a):\n"
                 f"    return np.array([os.path.exists(p) for p in ({seen!r},)])\n")]
    arg = [{"kind": "array", "name": "a"}]
    calls = [ProbeCall("one", "double", arg), ProbeCall("two", "loops", arg, timeout=3),
             ProbeCall("three", "double", arg), ProbeCall("four", "dies", arg), ProbeCall("five", "sees_test_set", arg),
             ProbeCall("six", "missing", arg)]
    io = tmp_path / "io"
    io.mkdir()
    results = Probe(sandbox).run(cells, calls, str(io), str(view))
    assert results["one"].status == "returned" and results["one"].items[0].tolist() == [0, 2, 4, 6]
    assert results["two"].status == "timeout" and "3 s" in results["two"].message
    assert results["three"].status == "returned"
    assert results["four"].status == "crashed"
    assert results["five"].items[0].tolist() == [False]
    assert results["six"].status == "undefined"


def test_the_student_package_in_the_sandbox_has_its_modules_and_not_the_model(tmp_path, layer):
    """What the graded notebook may import (data, images, plots, preprocess, selfcheck) imports there;
    gradedlib's model code does not exist there."""
    from grading.judge.references import STUDENT_MODULES, _student_package

    view = tmp_path / "student-view"
    _student_package(view / "lib", with_test_set=False)
    imports = "\n".join(f"import gradedlib.{m}" for m in STUDENT_MODULES)
    nb = _notebook(imports + "\nprint('imported', len(gradedlib.data.load_mnist('train')[1]))",
                   "import importlib\nfor m in ('model', 'selection', 'density'):\n"
                   "    try:\n        importlib.import_module('gradedlib.' + m)\n        print('present', m)\n"
                   "    except ImportError:\n        print('absent', m)",
                   "from gradedlib.data import load_mnist\nload_mnist('test')")
    executor = NotebookExecutor(Sandbox(layer=layer), cell_timeout=120, notebook_timeout=300)
    io_dir = tmp_path / "io"
    io_dir.mkdir()
    executor.run(nb, str(io_dir), str(view), [])
    # (stdout: in the landlock layer joblib warns on stderr that it has no semaphores, /dev/shm being closed)
    assert _stdout(nb.cells[0]) == "imported 60000\n", _text(nb.cells[0])
    assert _text(nb.cells[1]) == "absent model\nabsent selection\nabsent density\n"
    assert "Error" in _text(nb.cells[2])  # the test set is not in this view
