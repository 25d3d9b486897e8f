"""The course's functional form of the model, for the instructor only (not in the student wheel).

``fit_generative_model(x, y, c) -> (mu, sigma, pi)`` and
``predict(x, mu, sigma, pi)`` have the signatures and the algorithm that the
assignment grades, so they do not ship in the wheel that students install
(:class:`gradedlib.GaussianGenerativeClassifier` does): the tests compare them
with the estimator, and the grading fixtures paste them as a copied solution.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from gradedlib._validation import check_c, check_X_y
from gradedlib.model import class_moments

__all__ = ["fit_generative_model", "predict"]


def fit_generative_model(x, y, c):
    """Fit a Gaussian generative model in the course's vocabulary.

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Integer labels ``0..k-1``, every one present.
    c : float or array-like of shape (k,)
        Regularization added to each covariance.

    Returns
    -------
    mu : ndarray of shape (k, n_features)
    sigma : ndarray of shape (k, n_features, n_features)
        Empirical covariances (divide by ``n_j``) plus ``c_j I``.
    pi : ndarray of shape (k,)
    """
    x, _, classes, y_encoded = check_X_y(x, y)
    expected = np.arange(classes.size)
    if not np.array_equal(classes, expected):
        raise ValueError(
            f"The 'y' argument must hold the labels 0..{expected[-1]} in the "
            f"functional form. Got labels {classes.tolist()!r} instead."
        )
    c_arr = check_c(c, classes.size)
    pi, mu, sigma = class_moments(x, y_encoded, classes.size)
    diag = np.arange(x.shape[1])
    sigma[:, diag, diag] += c_arr[:, None]
    return mu, sigma, pi


def predict(x, mu, sigma, pi):
    """Classify ``x`` by the largest ``log pi_j + log N(x; mu_j, sigma_j)``.

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)
    mu : array-like of shape (k, n_features)
    sigma : array-like of shape (k, n_features, n_features)
        Covariances, already regularized; each is Cholesky-factorised once.
    pi : array-like of shape (k,)

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int
        Values in ``0..k-1``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If some ``sigma[j]`` is not positive definite.
    """
    x = np.asarray(x, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    pi = np.asarray(pi, dtype=np.float64)
    k = mu.shape[0] if mu.ndim == 2 else -1
    if x.ndim != 2 or mu.ndim != 2 or mu.shape[1] != x.shape[1]:
        raise ValueError(
            f"The 'x' and 'mu' arguments must be 2-D with the same number of "
            f"columns. Got shapes {x.shape} and {mu.shape} instead."
        )
    if sigma.shape != (k, x.shape[1], x.shape[1]) or pi.shape != (k,):
        raise ValueError(
            f"The 'sigma' and 'pi' arguments must have shapes "
            f"{(k, x.shape[1], x.shape[1])} and {(k,)}. Got {sigma.shape} and "
            f"{pi.shape} instead."
        )
    scores = np.empty((x.shape[0], k))
    for j in range(k):
        try:
            L = np.linalg.cholesky(sigma[j])
        except np.linalg.LinAlgError as exc:
            raise np.linalg.LinAlgError(
                f"sigma[{j}] is not positive definite (singular covariance): {exc}"
            ) from exc
        z = scipy.linalg.solve_triangular(L, (x - mu[j]).T, lower=True)
        log_det = 2.0 * np.log(np.diag(L)).sum()
        scores[:, j] = np.log(pi[j]) - 0.5 * (log_det + np.einsum("ij,ij->j", z, z))
    return np.argmax(scores, axis=1)
