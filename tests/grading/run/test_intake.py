"""grading.run.intake: what comes out of a sandbox is parsed with limits checked before anything is allocated.

Every test hands the intake bytes an attacker could write (archives whose
headers declare gigabytes, members that inflate without end, records of the
wrong types, frames that never end) and checks both the answer (a clear
IntakeError, never another exception) and the cost: the grader process's
peak memory, measured with tracemalloc and the resource module in a fresh
interpreter, stays far below what was declared.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from grading.run.intake import FrameReader, IntakeError, claims_meta, probe_record, read_npz


def _npz(**arrays) -> io.BytesIO:
    f = io.BytesIO()
    np.savez(f, **arrays)
    f.seek(0)
    return f


def _declaring(shape, dtype="<f8", body=b"", compress=False, members=1) -> io.BytesIO:
    """An .npz whose members' headers declare ``shape`` but hold only ``body``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    f = io.BytesIO()
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, "w", compression=mode) as z:
        for i in range(members):
            z.writestr(f"r{i}.npy", header.getvalue() + body)
    f.seek(0)
    return f


def test_plain_arrays_round_trip_exactly():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3))
    out = read_npz(_npz(a=a, b=b, flag=np.array(True)))
    np.testing.assert_array_equal(out["a"], a)
    np.testing.assert_array_equal(out["b"], b)
    assert out["a"].dtype == np.float32 and out["flag"].shape == ()


def test_only_the_names_asked_for_are_read():
    out = read_npz(_npz(a=np.zeros(3), b=np.ones(3)), {"b"})
    assert set(out) == {"b"}


def test_a_header_declaring_gigabytes_is_refused_before_reading():
    with pytest.raises(IntakeError, match=r"r0: an array of shape \(20000, 20000\)"):
        read_npz(_declaring((20000, 20000)))


def test_arrays_together_over_the_total_are_refused():
    f = _npz(**{f"a{i}": np.zeros(2**20 // 8) for i in range(5)})  # 5 arrays of 1 MiB
    with pytest.raises(IntakeError, match="more than 4 MiB"):
        read_npz(f, max_array_bytes=2**21, max_total_bytes=4 * 2**20)


def test_a_member_that_inflates_beyond_its_header_is_read_only_as_far_as_its_header_says():
    body = np.arange(4, dtype="<f8").tobytes() + bytes(200 * 2**20)  # 200 MiB of zeros after the array
    f = _declaring((4,), body=body, compress=True)
    assert len(f.getvalue()) < 2**20
    out = read_npz(f)
    np.testing.assert_array_equal(out["r0"], np.arange(4.0))


def test_a_member_shorter_than_its_header_is_refused():
    with pytest.raises(IntakeError, match="shorter than its header"):
        read_npz(_declaring((1000,), body=bytes(80)))


def test_too_many_members_are_refused_before_the_directory_is_built():
    with pytest.raises(IntakeError, match="hold 70 arrays"):
        read_npz(_declaring((1,), body=bytes(8), members=70))


@pytest.mark.parametrize("dtype", ["|O", "<U5", "|V8", "<c16"])
def test_objects_strings_records_and_complex_numbers_are_not_read(dtype):
    out = read_npz(_declaring((1,), dtype=dtype, body=bytes(80)))
    assert "r0" not in out and out["__refused__"] == ["r0"]


@pytest.mark.parametrize("data", [b"", b"PK", b"not a zip at all" * 10, bytes(100)])
def test_anything_else_is_an_intake_error(data):
    with pytest.raises(IntakeError):
        read_npz(io.BytesIO(data))


def test_a_gigabyte_bomb_costs_the_grader_no_memory():
    """In a fresh interpreter: reading an archive that declares 3.2 GB (and inflates to 512 MiB) stays small."""
    code = textwrap.dedent("""
        import io, resource, zipfile
        import numpy as np
        from grading.run.intake import IntakeError, read_npz
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (20000, 20000)})
        f = io.BytesIO()
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            with z.open("r0.npy", "w", force_zip64=True) as m:
                m.write(header.getvalue())
                for _ in range(8):
                    m.write(bytes(64 * 2**20))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            read_npz(f)
        except IntakeError as exc:
            print("refused:", exc)
        print("grew", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "refused: r0: an array of shape (20000, 20000)" in out.stdout
    grew_kib = int(out.stdout.split("grew")[1])
    assert grew_kib < 64 * 1024, f"the grader grew by {grew_kib / 1024:.0f} MiB"


def test_a_probe_record_keeps_only_what_the_judge_reads():
    raw = json.dumps({"id": "fit_full", "status": "returned", "length": 3, "tuple": True,
                      "items": [{"type": "ndarray", "status": "ok"}], "limits_hit": ["forged"],
                      "events": ["forged"], "error": "x" * 10_000}).encode()
    record = probe_record(raw, "fit_full")
    assert "limits_hit" not in record and "events" not in record
    assert record["length"] == 3 and record["tuple"] is True and len(record["error"]) <= 600


@pytest.mark.parametrize("record, message", [
    ({"id": "fit_full", "status": "returned", "length": 2_000_000}, "declares 2000000 values"),
    ({"id": "fit_full", "status": "returned", "length": "3"}, "declares 3 values"),
    ({"id": "fit_full", "status": "returned", "length": True}, "declares True values"),
    ({"id": "other", "status": "returned", "length": 1}, "not the grader's"),
    ({"id": "fit_full", "status": {"x": 1}}, "no known status"),
    ([1, 2, 3], "not the grader's"),
])
def test_a_forged_probe_record_is_an_intake_error(record, message):
    with pytest.raises(IntakeError, match=message):
        probe_record(json.dumps(record).encode(), "fit_full")


def test_wrong_types_inside_a_record_become_harmless_values():
    raw = json.dumps({"id": "c", "status": "returned", "length": 2, "tuple": "yes", "items": 5}).encode()
    record = probe_record(raw, "c")
    assert record["tuple"] is False and record["items"] == []
    raw = json.dumps({"id": "c", "status": "raised", "error": ["x"], "linalgerror": "yes", "ename": 7}).encode()
    record = probe_record(raw, "c")
    assert record["error"] == "" and record["linalgerror"] is False and record["ename"] == ""


def test_records_that_are_not_json_or_too_large_are_intake_errors():
    with pytest.raises(IntakeError, match="not valid JSON"):
        probe_record(b"{not json", "c")
    with pytest.raises(IntakeError, match="larger than"):
        probe_record(b" " * (2**20), "c")
    with pytest.raises(IntakeError, match="not valid JSON"):
        probe_record(b"[" * 100_000, "c")


def test_the_exports_metadata_are_checked_name_by_name():
    raw = json.dumps({"mu": {"status": "ok", "keys": 7, "type": {"x": 1}, "error": [1]},
                      "sigma": [1, 2], "pi": {"status": ["ok"]}, "chosen_c": {"status": "missing"}}).encode()
    info = claims_meta(raw, ["mu", "sigma", "pi", "chosen_c"])
    assert info["mu"] == {"status": "ok", "type": "", "error": ""}
    assert "sigma" not in info and info["pi"]["status"] == "unreadable" and info["chosen_c"]["status"] == "missing"
    with pytest.raises(IntakeError):
        claims_meta(b"[1, 2]", ["mu"])


def test_frames_lines_and_oversized_frames(tmp_path):
    reader = FrameReader(str(tmp_path), max_json=100, max_npz=1000, max_line=50)
    archive = _npz(r0=np.arange(3)).getvalue()[:1000]
    body = b'{"id": "a"}'
    stream = (b"started\n" + b"x" * 500 + b"\nafter a long line\n"
              + f"frame result a {len(body)} {len(archive)}\n".encode() + body + archive
              + f"frame result b 10 {10**12}\n".encode() + bytes(5000) + b"done a\n")
    events = []
    for i in range(0, len(stream), 7):  # in small pieces, as a pipe may deliver them
        events += reader.feed(stream[i:i + 7])
    kinds = [e[0] for e in events]
    assert kinds == ["line", "line", "frame", "oversized"], events
    assert events[1] == ("line", "after a long line")
    _, kind, ident, got_body, spool = events[2]
    assert (kind, ident, got_body) == ("result", "a", body)
    with spool.reader() as f:
        np.testing.assert_array_equal(read_npz(f)["r0"], np.arange(3))
    spool.close()
    # the oversized frame's declared bytes are being dropped: what follows within them is not a line
    assert not [e for e in events if e == ("line", "done a")]
    assert "the grader reads at most" in events[3][3]
    reader.close()
