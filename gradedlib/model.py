"""The Gaussian generative classifier.

For every class ``j`` the model keeps a prior ``pi_j``, a mean ``mu_j`` and the
empirical covariance ``Sigma_j``, and classifies ``x`` by the largest

    log pi_j + log N(x; mu_j, Sigma_j + c_j I).

Each covariance is factorised once, ``Sigma_j = V_j diag(lambda_j) V_j^T``;
then ``Sigma_j + c I = V_j diag(lambda_j + c) V_j^T`` for every ``c``, so a new
``c`` costs no new factorisation.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.sparse import issparse
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_c, check_labels, check_positive_int, check_X

__all__ = [
    "GaussianGenerativeClassifier",
    "fit_generative_model",
    "predict",
]

_LOG_2PI = np.log(2.0 * np.pi)


def _singular_tolerance(eigenvalues: np.ndarray) -> np.ndarray:
    """Eigenvalues at or below this are treated as zero (as scipy's ``_PSD`` does).

    Parameters
    ----------
    eigenvalues : ndarray of shape (n_classes, n_features)

    Returns
    -------
    tol : ndarray of shape (n_classes, 1)
    """
    factor = 1e6 * np.finfo(np.float64).eps
    return factor * np.max(np.abs(eigenvalues), axis=1, keepdims=True)


def _regularized_eigenvalues(eigenvalues: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Return ``eigenvalues + c`` and raise ``LinAlgError`` if any is not positive.

    Parameters
    ----------
    eigenvalues : ndarray of shape (n_classes, n_features)
    c : ndarray of shape (n_classes,)

    Returns
    -------
    shifted : ndarray of shape (n_classes, n_features)
    """
    shifted = eigenvalues + c[:, None]
    singular = shifted <= _singular_tolerance(shifted)
    if np.any(singular):
        counts = singular.sum(axis=1)
        bad = {int(j): int(k) for j, k in enumerate(counts) if k}
        raise np.linalg.LinAlgError(
            "The regularized covariance Sigma_j + c_j I is singular (not positive "
            "definite) for class index: number of zero eigenvalues "
            f"{bad}. Use a larger 'c' (c = {c.tolist()!r})."
        )
    return shifted


def _squared_projections(X: np.ndarray, means: np.ndarray, eigenvectors: np.ndarray, j: int) -> np.ndarray:
    """Return ``((X - mu_j) V_j) ** 2``, of shape (n_samples, n_features).

    Private kernel: inputs are assumed validated, float64 and consistent.
    """
    z = X @ eigenvectors[j]
    z -= means[j] @ eigenvectors[j]
    np.square(z, out=z)
    return z


def _log_joint(X, means, eigenvectors, shifted, log_priors) -> np.ndarray:
    """Return ``log pi_j + log N(x; mu_j, V_j diag(shifted_j) V_j^T)``.

    Private kernel: inputs are assumed validated and ``shifted > 0``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_classes, n_features)
    eigenvectors : ndarray of shape (n_classes, n_features, n_features)
    shifted : ndarray of shape (n_classes, n_features)
        Eigenvalues of the regularized covariances.
    log_priors : ndarray of shape (n_classes,)

    Returns
    -------
    log_joint : ndarray of shape (n_samples, n_classes)
    """
    n_classes, n_features = means.shape
    out = np.empty((X.shape[0], n_classes))
    log_dets = np.log(shifted).sum(axis=1)
    for j in range(n_classes):
        mahalanobis = _squared_projections(X, means, eigenvectors, j) @ (1.0 / shifted[j])
        out[:, j] = log_priors[j] - 0.5 * (n_features * _LOG_2PI + log_dets[j] + mahalanobis)
    return out


def _class_moments(X: np.ndarray, y_encoded: np.ndarray, n_classes: int):
    """Return priors, means and (divide-by-n) covariances per class.

    Private kernel: ``X`` is float64 of shape (n_samples, n_features) and every
    class ``0..n_classes-1`` occurs in ``y_encoded``.
    """
    n_samples, n_features = X.shape
    counts = np.bincount(y_encoded, minlength=n_classes)
    priors = counts / n_samples
    means = np.empty((n_classes, n_features))
    covariances = np.empty((n_classes, n_features, n_features))
    for j in range(n_classes):
        Xj = X[y_encoded == j]
        means[j] = Xj.mean(axis=0)
        centred = Xj - means[j]
        np.matmul(centred.T, centred, out=covariances[j])
        covariances[j] /= counts[j]
    return priors, means, covariances


class GaussianGenerativeClassifier(ClassifierMixin, BaseEstimator):
    """Gaussian generative classifier with covariances regularized by ``c I``.

    One multivariate Gaussian per class, fitted by maximum likelihood; a point
    is classified by the largest ``log pi_j + log N(x; mu_j, Sigma_j + c_j I)``.

    Parameters
    ----------
    c : float or array-like of shape (n_classes,), default=1.0
        Non-negative amount added to the diagonal of every class covariance,
        or one amount per class (in the order of ``classes_``). ``c=0`` is the
        unregularized model: when a covariance is singular (as on MNIST),
        ``log_likelihood``, ``predict`` and friends raise
        ``numpy.linalg.LinAlgError``. Use :func:`gradedlib.selection.choose_c`
        to choose ``c`` on training data; on raw MNIST pixels (0..255) good
        values lie in the thousands.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    n_features_in_ : int
        Number of features seen during ``fit``.
    priors_ : ndarray of shape (n_classes,)
        Class frequencies in the training data.
    means_ : ndarray of shape (n_classes, n_features)
        Class means.
    covariances_ : ndarray of shape (n_classes, n_features, n_features)
        Empirical class covariances *before* regularization, maximum-likelihood
        estimates that divide by the class count ``n_j`` (not ``n_j - 1``).
    eigenvalues_ : ndarray of shape (n_classes, n_features)
        Eigenvalues of ``covariances_`` (ascending), from one ``eigh`` per class.
    eigenvectors_ : ndarray of shape (n_classes, n_features, n_features)
        Orthonormal eigenvectors, ``covariances_[j] = V diag(eigenvalues_[j]) V.T``
        with ``V = eigenvectors_[j]``.

    Notes
    -----
    Eigenvalues ``lambda + c`` at or below ``1e6 * eps * max(lambda + c)`` are
    treated as zero, the criterion of ``scipy.stats.multivariate_normal``.
    Changing ``c`` after ``fit`` (``set_params(c=...)``) needs no refit: the
    eigendecomposition does not depend on ``c``.
    """

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y):
        """Fit priors, means and covariances, and factorise each covariance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; finite real values.
        y : array-like of shape (n_samples,)
            Class labels; at least two classes, at least two samples each.

        Returns
        -------
        self : GaussianGenerativeClassifier
            The fitted estimator.
        """
        X, y = self._validate_fit_input(X, y)
        classes, y_encoded = check_labels(y)
        check_c(self.c, classes.size)
        self.classes_ = classes
        self.priors_, self.means_, self.covariances_ = _class_moments(X, y_encoded, classes.size)
        self.eigenvalues_, self.eigenvectors_ = np.linalg.eigh(self.covariances_)
        return self

    def _validate_fit_input(self, X, y):
        check_X(X)
        if y is None:
            raise ValueError(
                "The 'y' argument must be an array of class labels of shape (n_samples,): "
                "this estimator requires y to be passed, but the target y is None."
            )
        y_arr = np.asarray(y)
        n_x = X.shape[0] if issparse(X) else np.asarray(X).shape[0]
        n_y = y_arr.shape[0] if y_arr.ndim else 0
        if n_x != n_y:
            raise ValueError(
                f"The 'X' and 'y' arguments must have the same number of samples. "
                f"Got {n_x} rows in X and {n_y} labels in y instead "
                f"(inconsistent numbers of samples)."
            )
        return validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)

    def _validated_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        check_X(X)
        return validate_data(self, X, dtype=np.float64, reset=False)

    def log_likelihood(self, X):
        """Return ``log pi_j + log N(x; mu_j, Sigma_j + c_j I)`` for every class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_joint : ndarray of shape (n_samples, n_classes)
            Column ``j`` belongs to ``classes_[j]``.

        Raises
        ------
        numpy.linalg.LinAlgError
            If a regularized covariance is singular (e.g. ``c=0`` on MNIST).
        """
        X = self._validated_X(X)
        c = check_c(self.c, self.classes_.size)
        shifted = _regularized_eigenvalues(self.eigenvalues_, c)
        return _log_joint(X, self.means_, self.eigenvectors_, shifted, np.log(self.priors_))

    def predict_log_proba(self, X):
        """Return log posterior probabilities, of shape (n_samples, n_classes)."""
        log_joint = self.log_likelihood(X)
        return log_joint - logsumexp(log_joint, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Return posterior probabilities ``P(class j | x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one; computed in log space with ``logsumexp``.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Return the most probable class of every row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        log_joint = self.log_likelihood(X)
        return self.classes_[np.argmax(log_joint, axis=1)]

    def error_rate(self, X, y):
        """Return the fraction of misclassified samples, ``1 - score(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        error : float
        """
        return 1.0 - self.score(X, y)

    def sample(self, n_samples=1, label=None, random_state=None):
        """Draw images from the class Gaussian ``N(mu_j, Sigma_j + c_j I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.
        label : object, default=None
            A label from ``classes_``; ``None`` draws the class of each sample
            from the priors.
        random_state : int, RandomState instance or None, default=None
            Seed for reproducible draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples (not clipped to any pixel range).
        y : ndarray of shape (n_samples,)
            Their class labels.
        """
        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        c = check_c(self.c, self.classes_.size)
        shifted = _regularized_eigenvalues(self.eigenvalues_, c)
        if label is None:
            idx = rng.choice(self.classes_.size, size=n_samples, p=self.priors_)
        else:
            matches = np.flatnonzero(self.classes_ == label)
            if matches.size != 1:
                raise ValueError(
                    f"The 'label' parameter must be one of {self.classes_.tolist()!r} "
                    f"or None. Got {label!r} instead."
                )
            idx = np.full(n_samples, matches[0])
        z = rng.standard_normal((n_samples, self.n_features_in_))
        out = np.empty((n_samples, self.n_features_in_))
        for j in np.unique(idx):
            rows = idx == j
            out[rows] = self.means_[j] + (z[rows] * np.sqrt(shifted[j])) @ self.eigenvectors_[j].T
        return out, self.classes_[idx]


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
    model = GaussianGenerativeClassifier(c=c).fit(x, y)
    expected = np.arange(model.classes_.size)
    if not np.array_equal(model.classes_, expected):
        raise ValueError(
            f"The 'y' argument must hold the labels 0..{expected[-1]} in the "
            f"functional form. Got labels {model.classes_.tolist()!r} instead."
        )
    c_arr = check_c(c, model.classes_.size)
    sigma = model.covariances_.copy()
    diag = np.arange(model.n_features_in_)
    sigma[:, diag, diag] += c_arr[:, None]
    return model.means_, sigma, model.priors_


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
