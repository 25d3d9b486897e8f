"""Deskewing MNIST digits by their second moments.

A handwritten digit is often slanted. :func:`deskew` shears every 28x28 image
so that the principal axis of its ink is vertical and moves it so that its
centre of mass sits at the centre of the image, ``(13.5, 13.5)``.

For an image with intensities ``I[r, c]`` (row ``r``, column ``c``) the
intensity-weighted moments are the centre of mass ``(m_r, m_c)``, the row
variance ``var_r`` and the covariance ``cov_rc``. The slant is
``s = cov_rc / var_r`` (columns per row), and output pixel ``(r, c)`` is
the input read, by bilinear interpolation with zeros outside the image, at

    row  = r + m_r - 13.5
    col  = c + m_c - 13.5 + s * (r - 13.5)

The row shift is the same for a whole image and the column shift is the same
for a whole row, so the transform is two one-dimensional shifts with one
interpolation weight per line, done for all images at once.
"""

from __future__ import annotations

import numpy as np

from .images import IMAGE_SIDE, N_PIXELS, check_images

__all__ = ["deskew", "image_moments"]

_SIDE = IMAGE_SIDE
_CENTRE = (_SIDE - 1) / 2.0
_CHUNK = 128  # images per block: small blocks stay in cache


def _moments(images: np.ndarray):
    """Intensity-weighted moments of validated images.

    Parameters
    ----------
    images : ndarray of shape (n, 28, 28), float64, non-negative

    Returns
    -------
    total, m_r, m_c, var_r, cov_rc : ndarrays of shape (n,)
        Total intensity, centre of mass (row, column), row variance and
        row-column covariance. For an all-zero image the moments are 0.
    """
    pos = np.arange(_SIDE, dtype=np.float64)
    row_mass = images.sum(axis=2)  # (n, 28)
    col_mass = images.sum(axis=1)  # (n, 28)
    total = row_mass.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    m_r = row_mass @ pos / safe
    m_c = col_mass @ pos / safe
    var_r = row_mass @ pos**2 / safe - m_r**2
    # E[r c] - m_r m_c, with E[r c] = sum_r r * (sum_c c I[r, c])
    e_rc = np.einsum("nr,r->n", images @ pos, pos) / safe
    cov_rc = e_rc - m_r * m_c
    np.maximum(var_r, 0.0, out=var_r)
    return total, m_r, m_c, var_r, cov_rc


def image_moments(X):
    """Return the centre of mass and slant of every image.

    Parameters
    ----------
    X : array-like of shape (n_images, 784) or (784,)
        Flattened 28x28 images with non-negative finite intensities.

    Returns
    -------
    centre : ndarray of shape (n_images, 2) or (2,)
        Intensity-weighted centre of mass ``(row, column)``; ``(13.5, 13.5)``
        is the centre of the image. All-zero images get the image centre.
    slant : ndarray of shape (n_images,) or float
        Slant ``cov(row, column) / var(row)``: columns moved per row; 0 for an
        upright digit, and 0 when the row variance is zero.
    """
    arr, single = check_images(X, "X", non_negative=True, allow_empty=True)
    total, m_r, m_c, var_r, cov_rc = _moments(arr.reshape(-1, _SIDE, _SIDE))
    empty = total <= 0
    m_r[empty] = _CENTRE
    m_c[empty] = _CENTRE
    slant = _slant(var_r, cov_rc)
    centre = np.stack([m_r, m_c], axis=1)
    return (centre[0], float(slant[0])) if single else (centre, slant)


def _slant(var_r: np.ndarray, cov_rc: np.ndarray) -> np.ndarray:
    """``cov_rc / var_r``, and 0 where the row variance is zero."""
    ok = var_r > 0
    return np.where(ok, cov_rc / np.where(ok, var_r, 1.0), 0.0)


def _shift_lines(lines: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Read every line at positions ``k + shift`` by linear interpolation.

    Parameters
    ----------
    lines : ndarray of shape (m, L)
    shift : ndarray of shape (m,)
        Finite shift of each line; positions outside ``0..L-1`` read 0.

    Returns
    -------
    out : ndarray of shape (m, L)
        ``out[i, k] = (1 - f) * lines[i, k + b] + f * lines[i, k + b + 1]``
        with ``b = floor(shift[i])`` and ``f = shift[i] - b``.
    """
    m, length = lines.shape
    width = 3 * length + 1
    padded = np.zeros((m, width))
    padded[:, length : 2 * length] = lines
    base = np.floor(shift)
    frac = (shift - base)[:, None]
    # A window starting outside [0, 2L] lies wholly in the zero padding; clip it there.
    start = np.clip(base + length, 0, 2 * length).astype(np.intp)
    index = (start + width * np.arange(m))[:, None] + np.arange(length)
    flat = padded.ravel()
    left = flat[index]
    right = flat[index + 1]
    right -= left
    right *= frac
    left += right
    return left


def _deskew_chunk(images: np.ndarray) -> np.ndarray:
    """Deskew validated images of shape (n, 28, 28); returns (n, 784)."""
    n = images.shape[0]
    total, m_r, m_c, var_r, cov_rc = _moments(images)
    slant = _slant(var_r, cov_rc)
    pos = np.arange(_SIDE, dtype=np.float64)
    # Shift along rows: every column of image i moves by m_r[i] - centre.
    by_column = np.ascontiguousarray(images.transpose(0, 2, 1)).reshape(n * _SIDE, _SIDE)
    row_shift = np.repeat(m_r - _CENTRE, _SIDE)
    moved = _shift_lines(by_column, row_shift).reshape(n, _SIDE, _SIDE).transpose(0, 2, 1)
    # Shear along columns: row r of image i moves by m_c - centre + s (r - centre), s the slant.
    col_shift = (m_c - _CENTRE)[:, None] + slant[:, None] * (pos - _CENTRE)[None, :]
    out = _shift_lines(np.ascontiguousarray(moved).reshape(n * _SIDE, _SIDE), col_shift.ravel())
    out = out.reshape(n, N_PIXELS)
    empty = total <= 0
    out[empty] = images.reshape(n, N_PIXELS)[empty]
    return out


def deskew(X):
    """Straighten and centre handwritten digits.

    Each image is sheared so that the principal axis of its ink is vertical
    (slant ``s = cov(row, col) / var(row)`` removed) and shifted so that
    its intensity-weighted centre of mass lies at the image centre
    ``(13.5, 13.5)``. Pixels are resampled by bilinear interpolation; pixels
    read from outside the image are 0. See the module docstring for the
    formulas.

    Parameters
    ----------
    X : array-like of shape (n_images, 784) or (784,)
        Flattened 28x28 images (row-major), non-negative finite intensities,
        e.g. MNIST's uint8 pixels 0..255.

    Returns
    -------
    X_deskewed : ndarray of shape (n_images, 784) or (784,), float64
        Same shape as ``X``. Bilinear interpolation keeps values within
        ``[0, max(X)]``. An all-zero image has no centre of mass or slant; it
        is returned unchanged (all zeros), by definition rather than as a
        fallback.

    Raises
    ------
    TypeError
        If ``X`` is not a real numeric array.
    ValueError
        If ``X`` has the wrong shape, or holds NaN, infinite or negative values.

    Notes
    -----
    An image whose ink lies in a single row has zero row variance; its slant
    is defined as 0, so it is only centred.
    """
    arr, single = check_images(X, "X", non_negative=True, allow_empty=True)
    out = np.empty_like(arr)
    for start in range(0, arr.shape[0], _CHUNK):
        block = arr[start : start + _CHUNK].reshape(-1, _SIDE, _SIDE)
        out[start : start + _CHUNK] = _deskew_chunk(block)
    return out[0] if single else out
