"""Choosing the regularization ``c`` on training data only.

:func:`choose_c` holds out part of the training data (or uses k-fold
cross-validation), fits the model once per split, and scores every candidate
``c`` from one eigendecomposition per class: a new ``c`` costs ``O(n d)`` per
class, not a new ``O(d^3)`` factorisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.utils.validation import check_array

from ._validation import check_c_candidates, check_labels, check_positive_int
from .model import (
    _LOG_2PI,
    GaussianGenerativeClassifier,
    _regularized_eigenvalues,
    _squared_projections,
)

__all__ = ["CSelection", "choose_c", "default_candidates"]


def default_candidates() -> np.ndarray:
    """Return the default grid: 29 values, four per decade, from 1 to 1e7.

    Pixels are 0..255, so pixel variances reach the tens of thousands and a
    good ``c`` lies in the thousands; the grid spans that scale widely.
    """
    return np.logspace(0, 7, 29)


@dataclass
class CSelection:
    """The result of :func:`choose_c`.

    Attributes
    ----------
    c : float or ndarray of shape (n_classes,)
        The chosen value (one per class, in the order of ``classes``, when
        ``per_class=True``).
    candidates : ndarray of shape (n_candidates,)
        The candidate values tried.
    errors : ndarray of shape (n_candidates,)
        Validation error of each candidate used as a single ``c`` for all
        classes, averaged over folds.
    fold_errors : ndarray of shape (n_splits, n_candidates)
        The same, per split (one row for a hold-out split).
    validation_error : float
        Validation error of the chosen ``c`` (averaged over folds).
    classes : ndarray of shape (n_classes,)
        The class labels.
    per_class : bool
        Whether ``c`` holds one value per class.
    history : list of tuple
        Per-class search only: ``(sweep, class_label, c, validation_error)``
        after each coordinate step.
    """

    c: float | np.ndarray
    candidates: np.ndarray
    errors: np.ndarray
    fold_errors: np.ndarray
    validation_error: float
    classes: np.ndarray
    per_class: bool
    history: list = field(default_factory=list)


def _grid_log_joint(model: GaussianGenerativeClassifier, X: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Return ``log pi_j + log N(x; mu_j, Sigma_j + c I)`` for every candidate.

    Private kernel: ``model`` is fitted, ``X`` is validated float64.

    Returns
    -------
    log_joint : ndarray of shape (n_candidates, n_samples, n_classes)
    """
    n_classes, n_features = model.means_.shape
    out = np.empty((candidates.size, X.shape[0], n_classes))
    for j in range(n_classes):
        # One check per candidate: raises LinAlgError for a singular one.
        shifted = np.stack(
            [_regularized_eigenvalues(model.eigenvalues_[j : j + 1], np.array([c]))[0] for c in candidates]
        )  # (n_candidates, n_features)
        sq = _squared_projections(X, model.means_, model.eigenvectors_, j)  # (n, d)
        mahalanobis = sq @ (1.0 / shifted).T  # (n, n_candidates)
        log_dets = np.log(shifted).sum(axis=1)  # (n_candidates,)
        out[:, :, j] = (
            np.log(model.priors_[j]) - 0.5 * (n_features * _LOG_2PI + log_dets[:, None] + mahalanobis.T)
        )
    return out


def _splits(X, y_encoded, folds, validation_size, random_state):
    if folds is None:
        idx = np.arange(X.shape[0])
        train, val = train_test_split(
            idx, test_size=validation_size, random_state=random_state, stratify=y_encoded
        )
        return [(np.sort(train), np.sort(val))]
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    return list(cv.split(X, y_encoded))


def _errors_for_indices(grids, y_vals, idx) -> float:
    """Mean validation error when class ``j`` uses candidate ``idx[j]``."""
    errs = []
    for grid, y_val in zip(grids, y_vals):
        scores = grid[idx, :, np.arange(idx.size)].T  # (n, n_classes)
        errs.append(np.mean(np.argmax(scores, axis=1) != y_val))
    return float(np.mean(errs))


def _coordinate_errors(grids, y_vals, idx, j) -> np.ndarray:
    """Mean validation error for every candidate of class ``j``, others fixed."""
    n_candidates = grids[0].shape[0]
    total = np.zeros(n_candidates)
    for grid, y_val in zip(grids, y_vals):
        n_classes = grid.shape[2]
        scores = grid[idx, :, np.arange(n_classes)].T.copy()  # (n, n_classes)
        scores[:, j] = -np.inf
        other_best = np.argmax(scores, axis=1)
        other_max = scores[np.arange(scores.shape[0]), other_best]
        mine = grid[:, :, j]  # (n_candidates, n)
        pred_is_j = mine > other_max[None, :]
        wrong = np.where(pred_is_j, y_val[None, :] != j, other_best[None, :] != y_val[None, :])
        total += wrong.mean(axis=1)
    return total / len(grids)


def choose_c(
    X,
    y,
    candidates=None,
    *,
    folds=None,
    validation_size=10000,
    per_class=False,
    random_state=0,
    max_sweeps=5,
    progress=None,
):
    """Choose the regularization ``c`` by validation error on training data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training data. Nothing else is used.
    y : array-like of shape (n_samples,)
        Training labels.
    candidates : array-like of shape (n_candidates,), default=None
        Values of ``c`` to try; ``None`` uses :func:`default_candidates`
        (1 to 1e7, four per decade).
    folds : int, default=None
        ``None`` for one stratified hold-out split of ``validation_size``
        samples; an integer ``k >= 2`` for stratified k-fold
        cross-validation, errors averaged over folds.
    validation_size : int, default=10000
        Size of the hold-out set when ``folds`` is ``None``.
    per_class : bool, default=False
        Choose one ``c`` per class by coordinate descent: start from the best
        single ``c``; then, class by class, set that class's ``c`` to the
        candidate with the lowest validation error while the others stay
        fixed (ties keep the current value), and sweep until nothing changes
        or ``max_sweeps`` sweeps are done.
    random_state : int, default=0
        Seed of the split, for reproducible results.
    max_sweeps : int, default=5
        Upper bound on coordinate-descent sweeps (``per_class=True`` only).
    progress : callable, default=None
        Called as ``progress(step, total, message)`` after each model fit,
        for a progress display. ``choose_c`` itself prints nothing.

    Returns
    -------
    result : CSelection
        ``result.c`` is a float, or an array of shape (n_classes,) when
        ``per_class=True``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a candidate leaves some regularized covariance singular (e.g. 0).
    """
    X = check_array(X, dtype=np.float64, input_name="X")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"The 'y' argument must be 1-D with one label per row of X ({X.shape[0]}). "
            f"Got shape {y.shape} instead."
        )
    classes, y_encoded = check_labels(y)
    candidates = default_candidates() if candidates is None else check_c_candidates(candidates)
    if folds is not None:
        folds = check_positive_int(folds, "folds", minimum=2)
    else:
        validation_size = check_positive_int(validation_size, "validation_size")
        if validation_size > X.shape[0] - 2 * classes.size:
            raise ValueError(
                f"The 'validation_size' parameter must leave at least 2 training samples "
                f"per class (at most {X.shape[0] - 2 * classes.size}). Got {validation_size} instead."
            )
    if not isinstance(per_class, (bool, np.bool_)):
        raise TypeError(f"The 'per_class' parameter must be a bool. Got {per_class!r} instead.")
    max_sweeps = check_positive_int(max_sweeps, "max_sweeps")

    splits = _splits(X, y_encoded, folds, validation_size, random_state)
    grids, y_vals = [], []
    for step, (train, val) in enumerate(splits, start=1):
        model = GaussianGenerativeClassifier(c=float(candidates[0])).fit(X[train], y_encoded[train])
        grids.append(_grid_log_joint(model, X[val], candidates))
        y_vals.append(y_encoded[val])
        if progress is not None:
            progress(step, len(splits), f"split {step}/{len(splits)}: scored {candidates.size} candidates")

    fold_errors = np.array(
        [np.mean(np.argmax(grid, axis=2) != y_val[None, :], axis=1) for grid, y_val in zip(grids, y_vals)]
    )
    errors = fold_errors.mean(axis=0)
    best = int(np.argmin(errors))
    if not per_class:
        return CSelection(
            c=float(candidates[best]),
            candidates=candidates,
            errors=errors,
            fold_errors=fold_errors,
            validation_error=float(errors[best]),
            classes=classes,
            per_class=False,
        )

    idx = np.full(classes.size, best)
    current = float(errors[best])
    history = []
    for sweep in range(1, max_sweeps + 1):
        changed = False
        for j in range(classes.size):
            errs = _coordinate_errors(grids, y_vals, idx, j)
            k = int(np.argmin(errs))
            if errs[k] < errs[idx[j]]:
                idx[j] = k
                changed = True
            current = float(errs[idx[j]])
            history.append((sweep, classes[j], float(candidates[idx[j]]), current))
        if not changed:
            break
    return CSelection(
        c=candidates[idx].astype(np.float64),
        candidates=candidates,
        errors=errors,
        fold_errors=fold_errors,
        validation_error=_errors_for_indices(grids, y_vals, idx),
        classes=classes,
        per_class=True,
        history=history,
    )
