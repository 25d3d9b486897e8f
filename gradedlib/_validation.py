"""Input validation shared by the public functions of gradedlib.

Every public entry point validates here once; the private kernels in
``model`` and ``selection`` assume clean input.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.sparse import issparse
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array

__all__ = [
    "check_c",
    "check_c_candidates",
    "check_c_grid",
    "check_choice",
    "check_float_dtype",
    "check_fraction",
    "check_labels",
    "check_positive_int",
    "check_X",
    "check_X_y",
]


def check_X(X, name: str = "X") -> None:
    """Check that ``X`` is a 2-D array of finite numbers; raise a clear error if not.

    Sparse matrices are left to scikit-learn's validation, which rejects them.
    Conversion to float64 and the bookkeeping of ``n_features_in_`` are done
    afterwards by ``sklearn.utils.validation.validate_data``.
    """
    if issparse(X):
        return
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(
            f"The '{name}' argument must be a 2-D array of shape (n_samples, n_features). "
            f"Got an array of shape {arr.shape} instead. Reshape your data either "
            "using array.reshape(-1, 1) if it has a single feature or "
            "array.reshape(1, -1) if it contains a single sample."
        )
    if arr.dtype.kind in "USV" or arr.dtype.kind == "b":
        raise TypeError(
            f"The '{name}' argument must hold real numbers (int or float). "
            f"Got an array of dtype {arr.dtype} instead."
        )
    if arr.dtype.kind in "fc":
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        if n_nan or n_inf:
            raise ValueError(
                f"The '{name}' argument must hold finite values. Got {n_nan} NaN and "
                f"{n_inf} infinite (inf) values instead."
            )


def check_c(c, n_classes: int, name: str = "c") -> np.ndarray:
    """Return ``c`` as a float array of shape (n_classes,).

    ``c`` is a non-negative finite real number, or a one-dimensional array of
    ``n_classes`` of them.
    """
    if isinstance(c, (bool, np.bool_)) or isinstance(c, str):
        raise TypeError(
            f"The '{name}' parameter must be a non-negative float or an array of "
            f"{n_classes} non-negative floats. Got {c!r} instead."
        )
    if isinstance(c, numbers.Real):
        arr = np.full(n_classes, float(c))
        shown = repr(c)
    else:
        try:
            arr = np.asarray(c, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"The '{name}' parameter must be a non-negative float or an array of "
                f"{n_classes} non-negative floats. Got {c!r} instead."
            ) from exc
        shown = f"an array of shape {arr.shape}"
        if arr.ndim == 0:
            arr = np.full(n_classes, float(arr))
            shown = repr(float(c))
        elif arr.shape != (n_classes,):
            raise ValueError(
                f"The '{name}' parameter must be a non-negative float or an array of "
                f"shape ({n_classes},), one value per class. Got {shown} instead."
            )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        bad = arr[~(np.isfinite(arr) & (arr >= 0))][0]
        raise ValueError(
            f"The '{name}' parameter must be non-negative and finite. Got "
            f"{float(bad)!r} in {shown} instead."
            if not isinstance(c, numbers.Real)
            else f"The '{name}' parameter must be a non-negative finite float. "
            f"Got {c!r} instead."
        )
    return arr


def check_c_candidates(candidates, name: str = "candidates") -> np.ndarray:
    """Return candidate values of c as a sorted-as-given 1-D float array (> 0)."""
    try:
        arr = np.asarray(candidates, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The '{name}' parameter must be a sequence of positive floats. "
            f"Got {candidates!r} instead."
        ) from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"The '{name}' parameter must be a non-empty 1-D sequence of positive "
            f"floats. Got an array of shape {arr.shape} instead."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(
            f"The '{name}' parameter must hold non-negative finite floats. "
            f"Got {arr.tolist()!r} instead."
        )
    return arr


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"The '{name}' parameter must be an integer >= {minimum}. "
            f"Got {value!r} instead."
        )
    if value < minimum:
        raise ValueError(
            f"The '{name}' parameter must be an integer >= {minimum}. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_labels(y, min_per_class: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Check class labels and return ``(classes, y_encoded)``.

    Labels must be discrete (integers, integral floats, strings or booleans),
    with at least two classes and ``min_per_class`` samples in every class.
    """
    target_type = type_of_target(y, input_name="y")
    if target_type not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: the 'y' argument must hold discrete class labels "
            f"(integers or strings). Got target type {target_type!r} instead."
        )
    classes, y_encoded, counts = np.unique(y, return_inverse=True, return_counts=True)
    if classes.size < 2:
        raise ValueError(
            f"The 'y' argument must hold at least 2 classes. Got {classes.size} "
            f"class ({classes.tolist()!r}) instead."
        )
    if np.any(counts < min_per_class):
        small = {str(k): int(v) for k, v in zip(classes, counts) if v < min_per_class}
        raise ValueError(
            f"Every class in 'y' needs at least {min_per_class} samples to estimate "
            f"a covariance. Got fewer for these classes (label: count): {small}."
        )
    return classes, y_encoded


def check_X_y(X, y) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate training data outside an estimator; return ``(X, y, classes, y_encoded)``.

    ``X`` becomes a float64 array of shape (n_samples, n_features); ``y`` must
    be 1-D with one label per row of ``X`` (see :func:`check_labels`).
    """
    check_X(X)
    X = check_array(X, dtype=np.float64, input_name="X")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"The 'y' argument must be 1-D with one label per row of X ({X.shape[0]}). "
            f"Got shape {y.shape} instead."
        )
    classes, y_encoded = check_labels(y)
    return X, y, classes, y_encoded


def check_choice(value, name: str, options) -> str:
    """Return ``value`` if it is one of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"The '{name}' parameter must be one of {', '.join(repr(o) for o in options)}. "
            f"Got {value!r} instead."
        )
    return value


def check_fraction(value, name: str) -> float:
    """Return ``value`` as a float in [0, 1]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"The '{name}' parameter must be a float in [0, 1]. Got {value!r} instead.")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"The '{name}' parameter must be a float in [0, 1]. Got {value!r} instead.")
    return float(value)


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Return ``dtype`` as ``np.dtype('float64')`` or ``np.dtype('float32')``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(
            f"The '{name}' parameter must be numpy.float64 or numpy.float32. Got {dtype!r} instead."
        )
    return dt


def check_c_grid(candidates, n_classes: int, name: str = "candidates") -> np.ndarray:
    """Return candidate values of ``c`` as an array of shape (n_candidates, n_classes).

    A 1-D sequence gives one ``c`` shared by all classes per candidate; a 2-D
    array of shape (n_candidates, n_classes) one value per class per candidate.
    """
    try:
        ndim = np.asarray(candidates).ndim
    except (TypeError, ValueError):
        ndim = 1  # ragged: check_c_candidates names the problem
    if ndim == 2:
        try:
            grid = np.asarray(candidates, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"The '{name}' parameter must hold non-negative floats. Got {candidates!r} instead."
            ) from exc
        if grid.shape[1] != n_classes or grid.shape[0] == 0:
            raise ValueError(
                f"The '{name}' parameter must be 1-D or of shape (n_candidates, {n_classes}). "
                f"Got an array of shape {grid.shape} instead."
            )
        if not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise ValueError(
                f"The '{name}' parameter must hold non-negative finite floats. Got {grid.tolist()!r} instead."
            )
        return grid
    values = check_c_candidates(candidates, name)
    return np.repeat(values[:, None], n_classes, axis=1)
