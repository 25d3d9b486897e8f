"""Runs inside the probe sandbox: defines the student's functions, calls them, saves what they return.

This file is copied, read-only, into the sandbox (it needs only the standard
library and numpy).  It runs where the test set and gradedlib's model and
selection code do not exist.  It trusts nothing it is given back: the grader
judges the saved results in its own process, so a student who tampers with
this runner only changes what is judged of their own code.

Usage: ``python gm_probe_runner.py PLAN.json START`` -- run the plan's calls
from number START on.  It writes nothing to disk: for every call it sends on
file descriptor 3 (a pipe to the grader) a frame ``frame result <id>
<json bytes> <npz bytes>`` followed by the call's record (status, error) and
the returned arrays as an ``.npz`` archive (no pickles), then a line
``done <id>``.  The grader parses them with :mod:`grading.run.intake`, with its
limits, whatever arrives.
"""

import io
import json
import os
import random
import sys
import traceback

import numpy as np


def _build_args(spec_list, inputs, moments):
    args = []
    for spec in spec_list:
        kind = spec["kind"]
        if kind == "array":
            args.append(np.array(inputs[spec["name"]]))
        elif kind == "training":
            from gradedlib.data import load_mnist

            X, y = load_mnist("train")
            args.append(X if spec["part"] == "images" else y)
        elif kind == "moments":
            args.append(np.array(moments[spec["name"]]))
        elif kind == "sigma":
            cov = np.array(moments["covariances"])
            sigma = cov + spec["c"] * np.eye(cov.shape[1])
            for j in spec.get("unregularized", []):
                sigma[j] = cov[j]
            args.append(sigma)
        else:
            raise ValueError(f"unknown argument kind {kind!r}")
    return args


def _to_arrays(value):
    """The returned value as a list of numeric arrays (a tuple gives several)."""
    items = list(value) if isinstance(value, (tuple, list)) and not _is_number_list(value) else [value]
    out, info = [], []
    for item in items:
        entry = {"type": type(item).__name__}
        if isinstance(item, dict):
            keys = sorted(item)
            entry["keys"] = [repr(k) for k in keys]
            item = [item[k] for k in keys]
        try:
            array = np.asarray(item)
            if array.dtype.kind not in "biuf":
                raise TypeError(f"not numbers (dtype {array.dtype})")
            entry["status"] = "ok"
        except Exception as exc:  # noqa: BLE001
            array = None
            entry["status"] = "unreadable"
            entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
        out.append(array)
        info.append(entry)
    return out, info, isinstance(value, tuple)


def _is_number_list(value):
    return isinstance(value, list) and all(isinstance(v, (int, float, np.integer, np.floating)) for v in value)


def _send(status, call_id, record, arrays):
    """One call's frame on the grader's pipe: the record, then the arrays as an .npz archive."""
    archive = io.BytesIO()
    if arrays is not None:
        np.savez(archive, **arrays)
    body = json.dumps(record).encode()
    data = archive.getvalue()
    status.write(f"frame result {call_id} {len(body)} {len(data)}\n".encode())
    status.write(body)
    status.write(data)
    status.flush()


def main():
    plan = json.load(open(sys.argv[1]))
    start = int(sys.argv[2])
    status = os.fdopen(3, "wb", buffering=0)
    status = _Lines(status)
    inputs = np.load(plan["inputs"], allow_pickle=False)
    moments = np.load(plan["moments"], allow_pickle=False)
    status.write("started\n")  # the grader's part started; student code runs only after this line
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    if start == 0:
        status.write("defining\n")
    for number, statement in enumerate(plan["definitions"]):
        try:
            exec(compile(statement, f"<cell {plan['definition_cells'][number]}>", "exec"), namespace)  # noqa: S102 - in the sandbox
        except BaseException:  # noqa: BLE001 - a failing definition is reported by the calls that need it
            pass
    status.write("defined\n")
    for number, call in enumerate(plan["calls"]):
        if number < start:
            continue
        record = {"id": call["id"]}
        arrays = None
        try:
            args = _build_args(call["args"], inputs, moments)
            function = namespace.get(call["function"])
            if not callable(function):
                record.update(status="undefined", error=f"{call['function']} is not defined")
            else:
                np.random.seed(0)
                random.seed(0)
                value = function(*args)
                arrays, info, is_tuple = _to_arrays(value)
                arrays = {f"r{i}": a for i, a in enumerate(arrays) if a is not None}
                record.update(status="returned", items=info, tuple=is_tuple, length=len(arrays))
        except BaseException as exc:  # noqa: BLE001 - whatever the student's function raised
            record.update(
                status="raised",
                ename=type(exc).__name__,
                linalgerror=isinstance(exc, np.linalg.LinAlgError),
                error=f"{type(exc).__name__}: {exc}"[:500],
                where=traceback.format_exc(limit=-2)[-800:],
            )
        try:
            _send(status, call["id"], record, arrays)
        except BaseException as exc:  # noqa: BLE001 - e.g. the arrays could not be saved
            _send(status, call["id"], {"id": call["id"], "status": "raised", "ename": type(exc).__name__,
                                       "error": f"the returned value could not be saved ({type(exc).__name__})"},
                  None)
        status.write(f"done {call['id']}\n")
    status.write("finished\n")


class _Lines:
    """Text lines and raw bytes on one unbuffered binary pipe."""

    def __init__(self, raw):
        self.raw = raw

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        view = memoryview(data)
        while view:
            n = self.raw.write(view)
            view = view[n:]

    def flush(self):
        pass


if __name__ == "__main__":
    main()
