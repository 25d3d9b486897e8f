"""Reading IDX files and loading the bundled MNIST database.

The four original MNIST files ship inside the package (``gradedlib/_data/mnist``)
so that nothing is downloaded.  Every load verifies the SHA-256 of the
decompressed bytes against ``SHA256SUMS.uncompressed``.

The MNIST database is by Yann LeCun, Corinna Cortes and Christopher J.C.
Burges, and is made available under the Creative Commons Attribution-Share
Alike 3.0 licence (CC BY-SA 3.0).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "MNIST_ATTRIBUTION",
    "MnistDataError",
    "data_dir",
    "load_mnist",
    "read_idx",
]

MNIST_ATTRIBUTION = (
    "MNIST database of handwritten digits by Yann LeCun, Corinna Cortes and "
    "Christopher J.C. Burges, licensed under CC BY-SA 3.0."
)

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_CHECKSUMS_NAME = "SHA256SUMS.uncompressed"

# IDX type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class MnistDataError(ValueError):
    """Raised when an IDX or MNIST file is missing, malformed or corrupt."""


def data_dir() -> Path:
    """Return the folder of the bundled MNIST files."""
    return Path(str(resources.files("gradedlib") / "_data" / "mnist"))


def _read_bytes(path: Path) -> bytes:
    """Return the (decompressed) bytes of ``path``; gzip is detected by magic."""
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {str(path)!r} does not exist.")
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise MnistDataError(
            f"IDX file {str(path)!r} is a corrupt or truncated gzip stream: {exc}"
        ) from exc


def _parse_idx(data: bytes, name: str) -> np.ndarray:
    """Parse the bytes of one IDX file; ``name`` is used in error messages."""
    if len(data) < 4:
        raise MnistDataError(
            f"IDX file {name!r} is truncated: expected a 4-byte magic number, "
            f"got {len(data)} bytes."
        )
    zero0, zero1, type_code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise MnistDataError(
            f"IDX file {name!r} has a wrong magic number: expected bytes "
            f"00 00 <type in {sorted(_IDX_DTYPES)}> <ndim >= 1>, got "
            f"{data[:4].hex(' ')}."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistDataError(
            f"IDX file {name!r} is truncated: its header needs {header} bytes, "
            f"got {len(data)}."
        )
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "too long"
        raise MnistDataError(
            f"IDX file {name!r} is {kind}: its header announces shape {shape} "
            f"({expected} bytes in all), got {len(data)} bytes."
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw.

    Parameters
    ----------
    path : str or path-like
        The file to read.

    Returns
    -------
    array : ndarray
        The array the file holds, with the shape and type its header declares
        (in native byte order).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    MnistDataError
        If the file is not valid gzip, has a wrong magic number, or its
        length does not match its header.
    """
    path = Path(path)
    return _parse_idx(_read_bytes(path), str(path))


def _expected_checksums(directory: Path) -> dict[str, str]:
    sums_path = directory / _CHECKSUMS_NAME
    if not sums_path.is_file():
        raise FileNotFoundError(
            f"Checksum file {str(sums_path)!r} is missing: the MNIST files cannot "
            "be verified."
        )
    sums = {}
    for line in sums_path.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name] = digest
    return sums


def _load_verified(directory: Path, filename: str, sums: dict[str, str]) -> np.ndarray:
    path = directory / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"MNIST file {str(path)!r} is missing. The package ships the four "
            "MNIST files; reinstall generative-mnist or pass data_home pointing "
            "at a folder that holds them."
        )
    data = _read_bytes(path)
    stem = filename.removesuffix(".gz")
    expected = sums.get(stem)
    if expected is None:
        raise MnistDataError(
            f"No checksum for {stem!r} in {_CHECKSUMS_NAME} of {str(directory)!r}."
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise MnistDataError(
            f"MNIST file {str(path)!r} is corrupt: SHA-256 of its decompressed "
            f"bytes is {actual}, expected {expected}."
        )
    return _parse_idx(data, str(path))


def load_mnist(split: str = "train", *, data_home=None) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST from the bundled, checksum-verified files.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which split: 60,000 training or 10,000 test images.
    data_home : str or path-like, default=None
        Folder holding the four gzip files and ``SHA256SUMS.uncompressed``.
        ``None`` uses the copy bundled with the package.

    Returns
    -------
    X : ndarray of shape (n_samples, 784), dtype uint8
        The images, one row of 28x28 pixels (row-major) per image, 0..255.
    y : ndarray of shape (n_samples,), dtype uint8
        The digit labels 0..9.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``.
    FileNotFoundError
        If a file is missing.
    MnistDataError
        If a file is corrupt (checksum mismatch, bad gzip, wrong magic number,
        truncated).
    """
    if not isinstance(split, str) or split not in _FILES:
        raise ValueError(
            f"The 'split' parameter must be 'train' or 'test'. Got {split!r} instead."
        )
    directory = data_dir() if data_home is None else Path(data_home)
    sums = _expected_checksums(directory)
    images_name, labels_name = _FILES[split]
    images = _load_verified(directory, images_name, sums)
    labels = _load_verified(directory, labels_name, sums)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise MnistDataError(
            f"MNIST file {images_name!r} must hold uint8 images of shape (n, 28, 28). "
            f"Got {images.dtype} of shape {images.shape} instead."
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise MnistDataError(
            f"MNIST file {labels_name!r} must hold {images.shape[0]} labels. "
            f"Got shape {labels.shape} instead."
        )
    return images.reshape(images.shape[0], 784), labels
