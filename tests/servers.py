"""Waiting for a server a test started: poll one URL until it answers 200, or fail with the server's log."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from typing import Callable


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float, log: Callable[[], str],
                       what: str = "the server") -> None:
    """Return once ``url`` answers HTTP 200; raise AssertionError with ``log()`` when ``process`` exits or
    ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start:\n{log()}")
        time.sleep(0.3)
