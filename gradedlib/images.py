"""MNIST image sizes and the one validator of image arrays.

:mod:`gradedlib.plots` and :mod:`gradedlib.preprocess` take images in the same
forms and reject bad ones with the same errors, through :func:`check_images`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IMAGE_SIDE", "N_PIXELS", "check_images"]

#: Height and width of an MNIST image, in pixels.
IMAGE_SIDE = 28
#: Pixels of a flattened (row-major) MNIST image.
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE


def check_images(X, name: str = "X", *, squares: bool = False, non_negative: bool = False,
                 allow_empty: bool = False) -> tuple[np.ndarray, bool]:
    """Validate images and return them as float64 rows, and whether ``X`` was one image.

    Parameters
    ----------
    X : array-like of shape (n_images, 784) or (784,)
        Flattened 28x28 images (integers, floats or booleans). With
        ``squares=True`` also (n_images, 28, 28) or (28, 28).
    name : str, default="X"
        The argument's name, for the error messages.
    squares : bool, default=False
        Accept square images as well as flattened ones.
    non_negative : bool, default=False
        Require intensities >= 0.
    allow_empty : bool, default=False
        Accept zero images.

    Returns
    -------
    images : ndarray of shape (n_images, 784), float64
        A copy only where the dtype changed.
    single : bool
        Whether ``X`` was one image, (784,) or (28, 28).

    Raises
    ------
    TypeError
        If ``X`` is not a real numeric array.
    ValueError
        If its shape is none of the above, it holds no image (unless
        ``allow_empty``), non-finite values, or negative ones (with
        ``non_negative``). Every message names ``name`` and what was received.
    """
    arr = np.asarray(X)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
                                   or arr.dtype == np.bool_):
        raise TypeError(f"The '{name}' argument must be a real numeric array of images. Got dtype {arr.dtype} instead.")
    shape = arr.shape
    square = (IMAGE_SIDE, IMAGE_SIDE)
    single = shape == (N_PIXELS,) or (squares and shape == square)
    if single:
        arr = arr.reshape(1, N_PIXELS)
    elif arr.ndim == 2 and shape[1] == N_PIXELS:
        pass
    elif squares and arr.ndim == 3 and shape[1:] == square:
        arr = arr.reshape(-1, N_PIXELS)
    else:
        forms = f"(n_images, {N_PIXELS}) or ({N_PIXELS},): flattened 28x28 images"
        if squares:
            forms += f", or (n_images, {IMAGE_SIDE}, {IMAGE_SIDE}) or ({IMAGE_SIDE}, {IMAGE_SIDE})"
        raise ValueError(f"The '{name}' argument must have shape {forms}. Got shape {shape} instead.")
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"The '{name}' argument must hold at least one image. Got shape {shape} instead.")
    arr = arr.astype(np.float64, copy=False)
    bad = int(np.sum(~np.isfinite(arr)))
    if bad:
        raise ValueError(f"The '{name}' argument must hold finite values. Got {bad} NaN or infinite values instead.")
    if non_negative and arr.size and arr.min() < 0:
        raise ValueError(f"The '{name}' argument must hold non-negative intensities. Got minimum {float(arr.min())!r} "
                         "instead.")
    return arr, single
