"""The covariance family: from nearest mean to one full covariance per class.

Every member is a Gaussian generative classifier whose class ``j`` has the
regularized covariance ``a_j C_j + c_j I``, stored as an
:class:`gradedlib.density.Eigenbasis` of ``C_j`` and scored by the one kernel
of :mod:`gradedlib.density`:

============  =======================================================  ======================
covariance    ``C_j``                                                  known as
============  =======================================================  ======================
"spherical"   ``sigma^2 I``, ``sigma^2 = tr(S_pooled) / d`` (shared)    nearest mean (+ priors)
"diag"        ``diag(S_j)``                                            Gaussian naive Bayes
"tied"        ``S_pooled = sum_j (n_j / n) S_j`` (shared)              LDA
"full"        ``alpha S_j + (1 - alpha) S_pooled``                     QDA (``alpha=1``),
                                                                       Friedman's RDA
============  =======================================================  ======================

``S_j`` is the maximum-likelihood covariance of class ``j`` (divide by
``n_j``). ``a_j = 1`` and ``c_j`` is given, except for shrinkage in closed
form (``c="ledoit-wolf"`` or ``"oas"``), where scikit-learn's
:func:`sklearn.covariance.ledoit_wolf` / :func:`sklearn.covariance.oas` give an
intensity ``rho_j`` per class and

- ``shrinkage_form="convex"``: ``(1 - rho_j) S_j + rho_j m_j I`` with
  ``m_j = tr(S_j) / d``, scikit-learn's shrunk covariance exactly
  (``a_j = 1 - rho_j``, ``c_j = rho_j m_j``);
- ``shrinkage_form="additive"``: ``S_j + c_j I`` with the same ratio of
  identity to covariance, ``c_j = rho_j m_j / (1 - rho_j)`` (``a_j = 1``).

The two forms differ only by the factor ``1 - rho_j`` of the whole covariance,
which changes every class's log-determinant by ``d log(1 - rho_j)``:
different classifiers whenever the ``rho_j`` differ.
"""

from __future__ import annotations

import numpy as np
from sklearn.covariance import ledoit_wolf, oas

from .density import Eigenbasis, eigenbasis

__all__ = ["COVARIANCE_TYPES", "SHRINKAGE_ESTIMATORS", "class_groups", "fit_family", "symmetric_scatter"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
SHRINKAGE_ESTIMATORS = {"ledoit-wolf": ledoit_wolf, "oas": oas}


def class_groups(X: np.ndarray, y_encoded: np.ndarray, n_classes: int):
    """Yield ``(j, X_j)`` for every class; each ``X_j`` is a fresh copy of its rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y_encoded : ndarray of shape (n_samples,), labels ``0..n_classes-1``
    n_classes : int

    Yields
    ------
    j : int
    X_j : ndarray of shape (n_j, n_features)
    """
    order = np.argsort(y_encoded, kind="stable")
    bounds = np.searchsorted(y_encoded[order], np.arange(n_classes + 1))
    for j in range(n_classes):
        yield j, X[order[bounds[j] : bounds[j + 1]]]


def symmetric_scatter(centred: np.ndarray) -> np.ndarray:
    """Return ``centred.T @ centred`` (numpy calls BLAS ``syrk`` for this product).

    Parameters
    ----------
    centred : ndarray of shape (n_samples, n_features)

    Returns
    -------
    scatter : ndarray of shape (n_features, n_features)
    """
    return centred.T @ centred


def fit_family(X, y_encoded, n_classes, covariance="full", alpha=1.0, shrinkage=None, shrinkage_form="convex"):
    """Fit one member of the covariance family (private-style kernel: inputs are validated).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    y_encoded : ndarray of shape (n_samples,), int
    n_classes : int
    covariance : {"full", "tied", "diag", "spherical"}
    alpha : float in [0, 1]
        Weight of the per-class covariance in Friedman's blend (``"full"``).
    shrinkage : {None, "ledoit-wolf", "oas"}
        Closed-form shrinkage (``"full"`` with ``alpha=1``, or ``"tied"``).
    shrinkage_form : {"convex", "additive"}

    Returns
    -------
    priors : ndarray of shape (n_classes,)
    means : ndarray of shape (n_classes, n_features)
    bases : list of Eigenbasis, length n_classes
        Shared classes hold the same object.
    shrinkage : ndarray of shape (n_classes,) or None
        The intensities ``rho_j`` (``None`` without shrinkage).
    scale : ndarray of shape (n_classes,)
        ``a_j``.
    c : ndarray of shape (n_classes,) or None
        ``c_j`` from shrinkage (``None`` without shrinkage).
    """
    n_samples, d = X.shape
    counts = np.bincount(y_encoded, minlength=n_classes)
    priors = counts / n_samples
    means = np.empty((n_classes, d))
    def groups():  # one class at a time: never a second full copy of X
        return class_groups(X, y_encoded, n_classes)

    if covariance == "full" and alpha == 1.0:
        return _fit_per_class(X, y_encoded, n_classes, counts, priors, means, shrinkage, shrinkage_form)
    for j, Xj in groups():
        means[j] = Xj.mean(axis=0)
    rho = None
    scale = np.ones(n_classes)
    c = None
    if covariance == "diag":
        variances = np.array([np.mean((Xj - means[j]) ** 2, axis=0) for j, Xj in groups()])
        bases = [Eigenbasis(np.flatnonzero(v > 0), v[v > 0], None) for v in variances]
        return priors, means, bases, rho, scale, c
    if covariance == "spherical":
        sigma2 = sum(np.sum((Xj - means[j]) ** 2) for j, Xj in groups()) / (n_samples * d)
        rows = np.arange(d) if sigma2 > 0 else np.arange(0)
        basis = Eigenbasis(rows, np.full(rows.size, sigma2), None)
        return priors, means, [basis] * n_classes, rho, scale, c

    def scatter(j, Xj):
        return symmetric_scatter(Xj - means[j])

    if covariance == "tied" or alpha < 1.0:
        pooled = np.zeros((d, d))
        for j, Xj in groups():
            pooled += scatter(j, Xj)
        pooled /= n_samples
    if covariance == "tied":
        if shrinkage is not None:
            centred = np.vstack([Xj - means[j] for j, Xj in groups()])
            rho = np.full(n_classes, SHRINKAGE_ESTIMATORS[shrinkage](centred, assume_centered=True)[1])
            m = np.full(n_classes, np.trace(pooled) / d)
        basis = eigenbasis(pooled)
        bases = [basis] * n_classes
    else:  # Friedman's blend (alpha < 1; shrinkage needs alpha=1)
        m = None
        bases = []
        for j, Xj in groups():
            S = scatter(j, Xj) / counts[j]
            S *= alpha
            S += (1.0 - alpha) * pooled
            bases.append(eigenbasis(S))
    if shrinkage is None:
        return priors, means, bases, rho, scale, c
    scale, c = _shrinkage_form(rho, m, shrinkage, shrinkage_form)
    return priors, means, bases, rho, scale, c


def _fit_per_class(X, y_encoded, n_classes, counts, priors, means, shrinkage, shrinkage_form):
    """The per-class model (``"full"``, ``alpha=1``): one pass over each class's rows.

    Each class is copied once; its mean, the features that vary in it, its
    scatter on those features and their eigendecomposition come from that
    copy. Features constant in the class (largest value equal to the
    smallest) are an exact null space: zero rows and columns, never
    factorised. Returns what :func:`fit_family` returns.
    """
    d = X.shape[1]
    bases = []
    rho = m = None
    if shrinkage is not None:
        rho, m = np.empty(n_classes), np.empty(n_classes)
    for j, Xj in class_groups(X, y_encoded, n_classes):
        means[j] = Xj.mean(axis=0)
        if shrinkage is not None:
            rho[j] = SHRINKAGE_ESTIMATORS[shrinkage](Xj)[1]
        rows = np.flatnonzero(Xj.max(axis=0) != Xj.min(axis=0))
        centred = Xj[:, rows]
        centred -= means[j, rows]
        bases.append(eigenbasis(symmetric_scatter(centred) / counts[j], rows, d))
        if shrinkage is not None:
            m[j] = bases[-1].values.sum() / d
    if shrinkage is None:
        return priors, means, bases, None, np.ones(n_classes), None
    scale, c = _shrinkage_form(rho, m, shrinkage, shrinkage_form)
    return priors, means, bases, rho, scale, c


def _shrinkage_form(rho, m, shrinkage, shrinkage_form):
    """Return ``(scale, c)``, each of shape (n_classes,), of the shrunk covariances ``scale_j C_j + c_j I``.

    ``rho`` holds the intensities, ``m`` the mean eigenvalue of each ``C_j``.
    """
    if shrinkage_form == "convex":
        return 1.0 - rho, rho * m
    if np.any(rho >= 1.0):
        raise ValueError(
            f"The 'shrinkage_form' parameter 'additive' needs shrinkage intensities "
            f"below 1. Got {rho.tolist()!r} from {shrinkage!r} instead; use "
            "shrinkage_form='convex'."
        )
    return np.ones(rho.size), rho * m / (1.0 - rho)
