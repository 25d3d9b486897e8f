"""The grader's two threads (the notebook's kernel start and the probe) import nothing that races.

``grading.judge.grade`` runs the probe in a thread while the main thread starts the
notebook's kernel. Both reach IPython: the probe turns magics into Python with
IPython's transformer, and jupyter_client's kernel spec manager imports
``IPython.paths``. IPython's circular imports are not thread-safe: imported
for the first time in two threads at once, one gets ``_DeadlockError`` or a
partly initialised module (in CI a first submission was reported not gradable
with ``KeyError: 'IPython'``). The grader's modules import it once, up front.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

RACE = textwrap.dedent(
    """
    import sys, threading, traceback
    import grading.judge.grade  # what a grading worker imports before it starts the probe's thread
    from grading.run.probe import definitions_of
    from jupyter_client.kernelspec import KernelSpecManager

    errors, barrier = [], threading.Barrier(2)

    def probe_thread():
        barrier.wait()
        try:
            statements, _ = definitions_of([(0, "%time x = 1\\ndef fit(x, y, c):\\n    return x\\n")])
            assert any("def fit" in s for s in statements), statements
        except BaseException:
            errors.append(traceback.format_exc())

    def kernel_thread():
        barrier.wait()
        try:
            KernelSpecManager().kernel_dirs  # imports IPython.paths, as a kernel's start does
        except BaseException:
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=probe_thread), threading.Thread(target=kernel_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("\\n".join(errors))
    sys.exit(1 if errors else 0)
    """
)


def test_the_probe_and_a_kernel_start_import_nothing_that_races():
    # Each run is a fresh interpreter (imports happen once per process); before the fix
    # every one of 100 such runs failed with _DeadlockError or a partly initialised module.
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
