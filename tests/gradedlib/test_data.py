"""Tests of gradedlib.data: IDX parsing, bundled files, checksums, errors."""

import gzip
import hashlib
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gradedlib import data
from gradedlib.data import MnistDataError, load_mnist, read_idx

FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def _idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_raw_and_gzip_roundtrip(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = tmp_path / "a-idx3-ubyte"
    raw.write_bytes(_idx_bytes(arr))
    gz = tmp_path / "a-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(_idx_bytes(arr)))
    np.testing.assert_array_equal(read_idx(raw), arr)
    np.testing.assert_array_equal(read_idx(gz), arr)
    assert read_idx(gz).dtype == np.uint8


def test_read_idx_other_types(tmp_path):
    arr = np.array([[1.5, -2.0], [3.25, 4.0]], dtype=np.float64)
    path = tmp_path / "f.idx"
    path.write_bytes(_idx_bytes(arr, 0x0E))
    out = read_idx(path)
    np.testing.assert_array_equal(out, arr)
    assert out.dtype == np.float64 and out.dtype.isnative
    ints = np.array([-5, 70000, 3], dtype=np.int32)
    path.write_bytes(_idx_bytes(ints, 0x0C))
    np.testing.assert_array_equal(read_idx(path), ints)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        read_idx(tmp_path / "nope.idx")


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"\x00\x00", "truncated: expected a 4-byte magic"),
        (b"\x12\x34\x08\x01\x00\x00\x00\x01\x07", "wrong magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "wrong magic number"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated: its header needs 16 bytes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated: its header announces shape \\(5,\\)"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "too long"),
    ],
)
def test_read_idx_malformed(tmp_path, payload, match):
    path = tmp_path / "bad-idx"
    path.write_bytes(payload)
    with pytest.raises(MnistDataError, match=match) as info:
        read_idx(path)
    assert "bad-idx" in str(info.value)


def test_read_idx_corrupt_gzip(tmp_path):
    good = gzip.compress(_idx_bytes(np.zeros((10, 10), np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(MnistDataError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_bundled_files_are_package_data():
    folder = data.data_dir()
    for name in FILES + ["SHA256SUMS.uncompressed", "README.md"]:
        assert (folder / name).is_file(), name
    assert "CC BY-SA 3.0" in data.MNIST_ATTRIBUTION
    assert "Attribution-Share Alike 3.0" in (folder / "README.md").read_text()


def test_pyproject_ships_data_in_wheel(tmp_path):
    """Build the wheel and check that the four MNIST files are inside it."""
    build = pytest.importorskip("setuptools.build_meta")
    root = Path(__file__).resolve().parents[2]
    import os

    cwd = os.getcwd()
    os.chdir(root)
    try:
        name = build.build_wheel(str(tmp_path))
    finally:
        os.chdir(cwd)
        shutil.rmtree(root / "build", ignore_errors=True)
    names = zipfile.ZipFile(tmp_path / name).namelist()
    for f in FILES + ["SHA256SUMS.uncompressed"]:
        assert f"gradedlib/_data/mnist/{f}" in names


@pytest.mark.parametrize("split, n", [("train", 60000), ("test", 10000)])
def test_load_mnist_shapes_and_known_facts(split, n):
    X, y = load_mnist(split)
    assert X.shape == (n, 784) and X.dtype == np.uint8
    assert y.shape == (n,) and y.dtype == np.uint8
    counts = np.bincount(y, minlength=10).tolist()
    expected = {
        "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    }[split]
    assert counts == expected
    if split == "train":
        assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
        assert round(float(X.mean()) / 255, 4) == 0.1307
        assert round(float((X / 255.0).std()), 4) == 0.3081


def test_load_mnist_bad_split():
    with pytest.raises(ValueError, match="'split' parameter must be 'train' or 'test'. Got 'validation'"):
        load_mnist("validation")


@pytest.fixture
def data_copy(tmp_path):
    folder = tmp_path / "mnist"
    shutil.copytree(data.data_dir(), folder)
    return folder


def test_load_mnist_from_copy(data_copy):
    X, y = load_mnist("test", data_home=data_copy)
    assert X.shape == (10000, 784)


def test_load_mnist_missing_file(data_copy):
    (data_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz.*missing"):
        load_mnist("test", data_home=data_copy)


def test_load_mnist_missing_checksums(data_copy):
    (data_copy / "SHA256SUMS.uncompressed").unlink()
    with pytest.raises(FileNotFoundError, match="SHA256SUMS.uncompressed"):
        load_mnist("test", data_home=data_copy)


def test_load_mnist_checksum_mismatch(data_copy):
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # a valid-looking label, wrong content
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(MnistDataError, match="t10k-labels-idx1-ubyte.gz' is corrupt: SHA-256") as info:
        load_mnist("test", data_home=data_copy)
    assert hashlib.sha256(bytes(raw)).hexdigest() in str(info.value)


def test_load_mnist_truncated_gzip(data_copy):
    path = data_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(MnistDataError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        load_mnist("test", data_home=data_copy)
