"""The grader's intake: everything that comes out of a sandbox is parsed here, with limits checked first.

Nothing a sandboxed process writes is trusted.  The bytes reach the grader
through pipes (see :mod:`grading.run.executor` and :mod:`grading.run.probe`), are
spooled into the grader's private folder by :class:`Spool` (at most
``limit`` bytes, whatever the sandbox writes), and are parsed by the
functions below, which check every declared size *before* allocating it:

* :func:`read_npz`: a NumPy ``.npz`` archive.  The member count comes from
  the archive's end record (not from building its directory); each member's
  dtype and shape come from its ``.npy`` header, and the array's byte count
  (shape times item size) is checked against the per-array and total limits
  before a byte of it is read.  The data are read by exactly that count, so
  a compressed member that declares or inflates to gigabytes costs nothing
  beyond it.  Only plain numbers (bool, int, unsigned, float) of known
  names are read; no pickles.
* :func:`probe_record` and :func:`claims_meta`: the JSON records of the
  probe and of the notebook's export, reduced to the fields the judge reads,
  each with its type checked and its strings cut to a length.  Unknown fields
  are dropped: a record cannot add ``limits_hit`` or an ``events`` line.

A malformed record raises :class:`IntakeError`, whose message is for the
student; the caller turns it into a failure of the checks that needed it,
never into a grader exception.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import tempfile
import zipfile

import numpy as np

__all__ = [
    "FrameReader", "IntakeError", "MAX_ARRAYS", "MAX_ARRAY_BYTES", "MAX_ITEMS", "MAX_RECORD_BYTES", "MAX_TEXT", "Spool",
    "claims_meta", "probe_record", "read_npz",
]

#: The largest JSON record read from a sandbox (a probe call's status, the export's metadata).
MAX_RECORD_BYTES = 256 * 2**10
#: The most members an archive from a sandbox may hold.
MAX_ARRAYS = 64
#: The largest array read: 10 x 784 x 784 float64 (49 MB) and room to spare.
MAX_ARRAY_BYTES = 96 * 2**20
#: The most values one probe call may return (the assignment's functions return at most 4).
MAX_ITEMS = 16
#: The longest string kept from a record (an error message, a type name).
MAX_TEXT = 600
#: The most dimensions of an array read (the assignment's arrays have at most 3).
MAX_NDIM = 4

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class IntakeError(ValueError):
    """What a sandbox handed back cannot be read; the message says why, for the student."""


class Spool:
    """Bytes from a sandbox, kept in a private file of the grader, at most ``limit`` of them.

    ``write`` keeps what fits and counts the rest (``overflow``); the file
    lives in ``folder``, which no sandbox sees.  Read it with :meth:`reader`
    after the writer has stopped; :meth:`keep_as` moves it for a later reader.
    """

    def __init__(self, folder: str, limit: int):
        self.limit = int(limit)
        self.size = 0
        self.overflow = 0
        fd, self.path = tempfile.mkstemp(prefix="spool-", dir=folder)
        self._file = os.fdopen(fd, "w+b")

    def write(self, chunk: bytes) -> None:
        room = self.limit - self.size
        if room > 0:
            self._file.write(chunk[:room])
        kept = min(len(chunk), max(room, 0))
        self.size += kept
        self.overflow += len(chunk) - kept

    def full(self) -> bool:
        return self.size >= self.limit

    def tell(self) -> int:
        return self.size

    def reader(self, start: int = 0) -> io.BufferedReader:
        """A file positioned at ``start``, for parsing what was spooled."""
        self._file.flush()
        f = open(self.path, "rb")
        f.seek(start)
        return f

    def keep_as(self, path: str) -> str:
        """Close the file and move it to ``path`` (in the grader's private folder); return ``path``."""
        self._file.close()
        os.replace(self.path, path)
        self.path = path
        return path

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            try:
                os.unlink(self.path)
            except OSError:
                pass


class FrameReader:
    """Splits a sandbox's pipe into text lines and framed results, within limits.

    The protocol (written by the probe's runner and the notebook's export)::

        a line of text\n
        frame KIND ID JSON_BYTES NPZ_BYTES\n<JSON_BYTES of JSON><NPZ_BYTES of an .npz archive>

    :meth:`feed` takes the bytes as they come and returns what they completed:
    ``("line", text)``, ``("frame", kind, id, json_bytes, spool)`` (the
    archive in a :class:`Spool`, to be closed by the caller) or
    ``("oversized", kind, id, text)`` for a frame over the limits, whose bytes
    are then counted and dropped as they arrive.  A line longer than
    ``max_line`` is dropped.  Nothing here grows beyond the limits, whatever
    is written.
    """

    def __init__(self, folder: str, max_json: int = MAX_RECORD_BYTES, max_npz: int = 4 * MAX_ARRAY_BYTES,
                 max_line: int = 4096):
        self.folder, self.max_json, self.max_npz, self.max_line = folder, max_json, max_npz, max_line
        self._buffer = b""
        self._skip_line = False
        self._frame = None  # [kind, id, json_left, npz_left, json_bytes, spool] while a frame is read
        self._drop = 0  # bytes of an oversized frame still to drop

    def feed(self, chunk: bytes) -> list:
        events = []
        data = self._buffer + chunk
        self._buffer = b""
        while data:
            if self._drop:
                n = min(self._drop, len(data))
                self._drop -= n
                data = data[n:]
                continue
            if self._frame is not None:
                kind, ident, json_left, npz_left, json_bytes, spool = self._frame
                if json_left:
                    part, data = data[:json_left], data[json_left:]
                    self._frame[4] = json_bytes + part
                    self._frame[2] = json_left - len(part)
                    continue
                part, data = data[:npz_left], data[npz_left:]
                spool.write(part)
                self._frame[3] = npz_left - len(part)
                if self._frame[3] == 0:
                    events.append(("frame", kind, ident, self._frame[4], spool))
                    self._frame = None
                continue
            end = data.find(b"\n")
            if end < 0:
                if len(data) > self.max_line:
                    self._skip_line = True
                else:
                    self._buffer = data
                break
            line, data = data[:end], data[end + 1:]
            if self._skip_line:
                self._skip_line = False
                continue
            if len(line) > self.max_line:
                continue
            text = line.decode("utf-8", "replace").strip()
            parts = text.split(" ")
            if parts[0] != "frame":
                events.append(("line", text))
                continue
            try:
                kind, ident, json_len, npz_len = parts[1], parts[2], int(parts[3]), int(parts[4])
                if len(parts) != 5 or json_len < 0 or npz_len < 0:
                    raise ValueError
            except (IndexError, ValueError):
                events.append(("line", text))
                continue
            if json_len > self.max_json or npz_len > self.max_npz:
                self._drop = json_len + npz_len
                events.append(("oversized", kind, ident,
                               f"the result is {(json_len + npz_len) / 2**20:.0f} MiB; the grader reads at most "
                               f"{self.max_npz / 2**20:.0f} MiB of arrays"))
                continue
            spool = Spool(self.folder, npz_len)
            self._frame = [kind, ident, json_len, npz_len, b"", spool]
            if json_len == 0 and npz_len == 0:
                events.append(("frame", kind, ident, b"", spool))
                self._frame = None
        return events

    def close(self) -> None:
        """Drop a frame left unfinished (its writer stopped in the middle)."""
        if self._frame is not None:
            self._frame[5].close()
            self._frame = None


def _text(value, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        return ""
    return value[:limit]


def _load_json(raw: bytes, what: str):
    if len(raw) > MAX_RECORD_BYTES:
        raise IntakeError(f"{what} is larger than {MAX_RECORD_BYTES // 1024} KiB")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise IntakeError(f"{what} is not valid JSON ({type(exc).__name__})") from None


def _zip_entries(f, size: int) -> int:
    """The member count declared by a zip archive's end record, read without building its directory."""
    tail = min(size, 22 + 65535)
    f.seek(size - tail)
    data = f.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or len(data) - at < 22:
        raise IntakeError("the results are not a NumPy .npz archive")
    entries = struct.unpack("<H", data[at + 10:at + 12])[0]
    if entries == 0xFFFF or data[max(0, at - 20):at - 16] == b"PK\x06\x07":
        raise IntakeError("the results' archive declares too many members (ZIP64)")
    return entries


def _array_header(fp) -> tuple[np.dtype, tuple, bool]:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unknown .npy version {version}")
    return dtype, shape, fortran


def read_npz(f, names=None, *, max_array_bytes: int = MAX_ARRAY_BYTES, max_total_bytes: int = 4 * MAX_ARRAY_BYTES,
             max_arrays: int = MAX_ARRAYS) -> dict:
    """The numeric arrays of an ``.npz`` archive in the binary file ``f``: {name: ndarray}.

    Parameters
    ----------
    f : binary file
        Seekable, positioned anywhere; the archive may be followed by nothing else.
    names : collection of str, optional
        The member names to read (without ``.npy``); others are skipped
        unread.  Default: every member.
    max_array_bytes, max_total_bytes : int
        Limits on one array's and all arrays' bytes, checked against the
        ``.npy`` headers before reading.
    max_arrays : int
        The most members the archive may declare.

    Returns
    -------
    dict
        ``{name: ndarray}``; an array of a dtype other than bool, int,
        unsigned or float is left out, with its name in ``dict["__refused__"]``.

    Raises
    ------
    IntakeError
        When the archive is malformed or over a limit (the message is for the student).
    """
    f.seek(0, os.SEEK_END)
    size = f.tell()
    if size < 22:
        raise IntakeError("the results are not a NumPy .npz archive")
    entries = _zip_entries(f, size)
    if entries > max_arrays:
        raise IntakeError(f"the results hold {entries} arrays; at most {max_arrays} are read")
    f.seek(0)
    out: dict = {}
    refused = []
    total = 0
    try:
        with zipfile.ZipFile(f) as archive:
            infos = archive.infolist()
            if len(infos) > max_arrays:
                raise IntakeError(f"the results hold {len(infos)} arrays; at most {max_arrays} are read")
            for info in infos:
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[:-4]
                if not _NAME.match(name) or (names is not None and name not in names) or name in out:
                    continue
                with archive.open(info) as fp:
                    dtype, shape, fortran = _array_header(fp)
                    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None \
                            or dtype.kind not in "biuf":
                        refused.append(name)
                        continue
                    if len(shape) > MAX_NDIM or any((not isinstance(n, int)) or n < 0 for n in shape):
                        raise IntakeError(f"{name}: an array of shape {shape!r} is not read "
                                          f"(at most {MAX_NDIM} dimensions)")
                    count = 1
                    for n in shape:
                        count *= n
                    nbytes = count * dtype.itemsize
                    if nbytes > max_array_bytes:
                        raise IntakeError(f"{name}: an array of shape {tuple(shape)} ({nbytes / 2**20:.0f} MiB) is "
                                          f"larger than the {max_array_bytes / 2**20:.0f} MiB the grader reads")
                    total += nbytes
                    if total > max_total_bytes:
                        raise IntakeError(f"the results hold more than {max_total_bytes / 2**20:.0f} MiB of arrays")
                    data = fp.read(nbytes)
                    if len(data) != nbytes:
                        raise IntakeError(f"{name}: the array is shorter than its header says")
                    array = np.frombuffer(data, dtype=dtype, count=count)
                    array = array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)
                    out[name] = array.copy() if not array.flags.writeable else array
    except IntakeError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError, TypeError,
            NotImplementedError, RuntimeError, struct.error, OverflowError) as exc:
        raise IntakeError(f"the results could not be read ({type(exc).__name__})") from None
    if refused:
        out["__refused__"] = refused
    return out


def _items(value) -> list:
    if not isinstance(value, list):
        return []
    items = []
    for entry in value[:MAX_ITEMS]:
        if not isinstance(entry, dict):
            items.append({"type": "", "status": "unreadable", "error": "not recorded"})
            continue
        item = {"type": _text(entry.get("type"), 80),
                "status": entry.get("status") if entry.get("status") in ("ok", "unreadable") else "unreadable",
                "error": _text(entry.get("error"), 300)}
        keys = entry.get("keys")
        if isinstance(keys, list):
            item["keys"] = [_text(k, 80) for k in keys[:64]]
        items.append(item)
    return items


def probe_record(raw: bytes, call_id: str) -> dict:
    """The probe's record of one call, with only the fields the judge reads, each of its type.

    Raises
    ------
    IntakeError
        When it is not a JSON object of that call, or a declared length is out of range.
    """
    record = _load_json(raw, "the result's record")
    if not isinstance(record, dict) or record.get("id") != call_id:
        raise IntakeError("the result's record is not the grader's")
    status = record.get("status")
    if status not in ("returned", "raised", "undefined"):
        raise IntakeError("the result's record has no known status")
    clean = {"id": call_id, "status": status, "error": _text(record.get("error"))}
    if status == "raised":
        clean.update(ename=_text(record.get("ename"), 80), linalgerror=record.get("linalgerror") is True,
                     where=_text(record.get("where"), 800))
    if status == "returned":
        length = record.get("length")
        if type(length) is not int or not 0 <= length <= MAX_ITEMS:
            raise IntakeError(f"the result declares {str(length)[:20]} values; a function of the assignment returns "
                              f"at most {MAX_ITEMS}")
        clean.update(length=length, tuple=record.get("tuple") is True, items=_items(record.get("items")))
    return clean


def claims_meta(raw: bytes, names) -> dict:
    """The export's metadata: {name: {"status", "type", "error", "keys"}} for the names asked for.

    A name with a malformed entry gets ``{"status": "unreadable"}``.

    Raises
    ------
    IntakeError
        When the metadata are not a JSON object.
    """
    meta = _load_json(raw, "the exported results' record")
    if not isinstance(meta, dict):
        raise IntakeError("the exported results' record is not the grader's")
    info = {}
    for name in names:
        entry = meta.get(name)
        if not isinstance(entry, dict):
            continue
        status = entry.get("status")
        if status not in ("ok", "missing", "unreadable"):
            info[name] = {"status": "unreadable", "error": "the export's record was changed"}
            continue
        clean = {"status": status, "type": _text(entry.get("type"), 80)}
        if "error" in entry:
            clean["error"] = _text(entry.get("error"), 300)
        if isinstance(entry.get("keys"), list):
            clean["keys"] = [_text(k, 80) for k in entry["keys"][:64]]
        info[name] = clean
    return info
