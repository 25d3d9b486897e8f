"""Choosing the regularization ``c`` on training data only.

:func:`choose_c` holds out part of the training data (or uses k-fold
cross-validation), fits the model once per split, and scores every candidate
``c`` from one eigendecomposition per class: a new ``c`` costs ``O(n d)`` per
class, not a new ``O(d^3)`` factorisation: all candidates are scored by one
call of :meth:`~gradedlib.model.GaussianGenerativeClassifier.joint_log_proba_path`, the same
density kernel (:mod:`gradedlib.density`) that ``predict`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, train_test_split

from ._validation import check_c_candidates, check_positive_int, check_X_y
from .model import GaussianGenerativeClassifier

__all__ = ["CSelection", "choose_c", "default_candidates"]


def default_candidates() -> np.ndarray:
    """Return the default grid: 29 values, four per decade, from 1 to 1e7.

    Pixels are 0..255, so a pixel variance is at most 127.5**2 (about 16,000;
    MNIST's largest is about 13,000) and a good ``c`` lies in the thousands; the
    grid spans that scale widely.
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
        Per-class search only: ``(sweep, class_index, c, validation_error)``
        after each coordinate step (``c`` is that class's value after the step).
    """

    c: float | np.ndarray
    candidates: np.ndarray
    errors: np.ndarray
    fold_errors: np.ndarray
    validation_error: float
    classes: np.ndarray
    per_class: bool
    history: list = field(default_factory=list)


def _column_errors(scores: np.ndarray, column: np.ndarray, j: int, y: np.ndarray) -> np.ndarray:
    """Error rate when column ``j`` of ``scores`` is replaced by each row of ``column``.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
    column : ndarray of shape (n_candidates, n_samples)
    j : int
    y : ndarray of shape (n_samples,), encoded labels

    Returns
    -------
    errors : ndarray of shape (n_candidates,)
    """
    others = scores.copy()
    others[:, j] = -np.inf
    other_best = np.argmax(others, axis=1)
    other_max = others[np.arange(others.shape[0]), other_best]
    # argmax takes the first maximum: class j wins a tie only against later classes.
    wins = np.where(other_best[None, :] < j, column > other_max[None, :], column >= other_max[None, :])
    wrong = np.where(wins, y[None, :] != j, other_best[None, :] != y[None, :])
    return wrong.mean(axis=1)


# Multiplicative steps of the per-class search: c_j * 2**(i/16), i = -16..16.
_PER_CLASS_FACTORS = 2.0 ** (np.arange(-16, 17) / 16)


def _splits(X, y_encoded, folds, validation_size, random_state):
    if folds is None:
        idx = np.arange(X.shape[0])
        train, val = train_test_split(
            idx, test_size=validation_size, random_state=random_state, stratify=y_encoded
        )
        return [(np.sort(train), np.sort(val))]
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    return list(cv.split(X, y_encoded))


def _per_class_search(models, X_vals, y_vals, scores, c, max_sweeps, progress):
    """Coordinate descent on per-class ``c`` (see :func:`choose_c`).

    Private kernel. ``scores[f]`` of shape (n_val_f, n_classes) is the log
    joint of split ``f`` at the starting ``c`` of shape (n_classes,).

    Returns
    -------
    c : ndarray of shape (n_classes,)
    validation_error : float
    history : list of (sweep, class_index, c_j, validation_error)
    """
    scores = [s.copy() for s in scores]
    c = c.copy()
    centre = _PER_CLASS_FACTORS.size // 2
    history = []
    for sweep in range(1, max_sweeps + 1):
        changed = False
        for j in range(c.size):
            local = c[j] * _PER_CLASS_FACTORS
            columns = [m.joint_log_proba_path(Xv, local, classes=[j])[:, :, 0] for m, Xv in zip(models, X_vals)]
            errs = np.mean([_column_errors(s, col, j, yv) for s, col, yv in zip(scores, columns, y_vals)], axis=0)
            k = int(np.argmin(errs))
            if errs[k] < errs[centre]:
                c[j] = local[k]
                for s, col in zip(scores, columns):
                    s[:, j] = col[k]
                changed = True
            else:
                k = centre
            history.append((sweep, j, float(c[j]), float(errs[k])))
        if progress is not None:
            progress(sweep, max_sweeps, f"per-class sweep {sweep}: validation error {history[-1][3]:.4f}")
        if not changed:
            break
    final = float(np.mean([np.mean(np.argmax(s, axis=1) != yv) for s, yv in zip(scores, y_vals)]))
    return c, final, history


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
    estimator=None,
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
        Choose one ``c`` per class by coordinate descent on the validation
        error: start from the best single ``c`` of ``candidates``; then,
        class by class, try ``c_j * 2**(i/16)`` for ``i = -16..16`` (factors
        0.5 to 2) with the other classes fixed and keep the best (ties keep
        the current value); sweep until a sweep changes nothing or
        ``max_sweeps`` sweeps are done. The steps are fine because the
        log-determinant makes the log-likelihood of a class very sensitive
        to its own ``c``: on MNIST, a factor of 1.8 for one class alone
        raises the validation error tenfold.
    random_state : int, default=0
        Seed of the split, for reproducible results.
    max_sweeps : int, default=5
        Upper bound on coordinate-descent sweeps (``per_class=True`` only).
    progress : callable, default=None
        Called as ``progress(step, total, message)`` after each model fit,
        for a progress display. ``choose_c`` itself prints nothing.
    estimator : GaussianGenerativeClassifier, default=None
        A template whose other parameters (``covariance``, ``alpha``,
        ``dtype``) are used for every fit; its ``c`` is ignored. ``None`` is
        ``GaussianGenerativeClassifier()``, the full per-class model.

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
    X, y, classes, y_encoded = check_X_y(X, y)
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
    if estimator is None:
        template = GaussianGenerativeClassifier()
    elif isinstance(estimator, GaussianGenerativeClassifier):
        template = estimator
    else:
        raise TypeError(
            f"The 'estimator' parameter must be a GaussianGenerativeClassifier or None. "
            f"Got {estimator!r} instead."
        )

    splits = _splits(X, y_encoded, folds, validation_size, random_state)
    grids, y_vals, models = [], [], []
    for step, (train, val) in enumerate(splits, start=1):
        model = clone(template).set_params(c=float(candidates[0])).fit(X[train], y_encoded[train])
        grids.append(model.joint_log_proba_path(X[val], candidates))  # (n_candidates, n_val, n_classes)
        y_vals.append(y_encoded[val])
        if per_class:
            models.append(model)  # kept for the per-class search; freed otherwise
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

    c, final_error, history = _per_class_search(
        models,
        [X[val] for _, val in splits],
        y_vals,
        [grid[best] for grid in grids],
        np.full(classes.size, float(candidates[best])),
        max_sweeps,
        progress,
    )
    return CSelection(
        c=c,
        candidates=candidates,
        errors=errors,
        fold_errors=fold_errors,
        validation_error=final_error,
        classes=classes,
        per_class=True,
        history=history,
    )
