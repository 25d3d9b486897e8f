"""The Gaussian generative classifier.

For every class ``j`` the model keeps a prior ``pi_j``, a mean ``mu_j`` and a
covariance ``Sigma_j`` (by default the empirical one), and classifies ``x`` by
the largest

    log pi_j + log N(x; mu_j, Sigma_j + c_j I).

Each covariance is factorised once, ``Sigma_j = V_j diag(lambda_j) V_j^T``;
then ``Sigma_j + c I = V_j diag(lambda_j + c) V_j^T`` for every ``c``, so a new
``c`` costs no new factorisation. The density itself lives in
:mod:`gradedlib.density`, the covariance family in :mod:`gradedlib.family`.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import issparse
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import (
    check_c,
    check_c_grid,
    check_choice,
    check_float_dtype,
    check_fraction,
    check_labels,
    check_positive_int,
    check_X,
)
from .density import (
    argmax_joint_kernel,
    covariance_matrix,
    full_eigenvectors,
    log_joint_kernel,
    singular_eigenvalues,
    spectrum,
)
from .family import COVARIANCE_TYPES, SHRINKAGE_ESTIMATORS, class_groups, fit_family, symmetric_scatter

__all__ = [
    "GaussianGenerativeClassifier",
    "class_moments",
]

def class_moments(X, y_encoded, n_classes):
    """Return the priors, means and maximum-likelihood covariances of every class.

    This is the reference the assignment's hidden tests compare students'
    moments with: covariances divide by the class count ``n_j``, not
    ``n_j - 1``. (It lives in ``gradedlib.model`` so that the grader's guard
    against gradedlib's model code covers it.)

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    y_encoded : ndarray of shape (n_samples,), int
        Labels ``0..n_classes-1``, every one present.
    n_classes : int

    Returns
    -------
    priors : ndarray of shape (n_classes,)
        Class frequencies.
    means : ndarray of shape (n_classes, n_features)
    covariances : ndarray of shape (n_classes, n_features, n_features)
    """
    X = np.asarray(X, dtype=np.float64)
    y_encoded = np.asarray(y_encoded)
    n_samples, n_features = X.shape
    counts = np.bincount(y_encoded, minlength=n_classes)
    priors = counts / n_samples
    means = np.empty((n_classes, n_features))
    covariances = np.empty((n_classes, n_features, n_features))
    for j, Xj in class_groups(X, y_encoded, n_classes):
        means[j] = Xj.mean(axis=0)
        covariances[j] = symmetric_scatter(Xj - means[j]) / counts[j]
    return priors, means, covariances



class GaussianGenerativeClassifier(ClassifierMixin, BaseEstimator):
    """Gaussian generative classifier: one Gaussian per class, regularized by ``c I``.

    A point is classified by the largest
    ``log pi_j + log N(x; mu_j, a_j C_j + c_j I)``, where ``C_j`` is the class
    covariance of the chosen member of the family (``covariance``, ``alpha``;
    see :mod:`gradedlib.family`) and ``a_j = 1`` except for convex shrinkage.
    With the defaults (``covariance="full"``, ``alpha=1``) ``C_j`` is the
    empirical covariance ``S_j`` of class ``j``: the course's model.

    Parameters
    ----------
    c : float, array-like of shape (n_classes,), "ledoit-wolf" or "oas", default=1.0
        Non-negative amount added to the diagonal of every class covariance,
        or one amount per class (in the order of ``classes_``). ``c=0`` is the
        unregularized model: when a covariance is singular (as on MNIST),
        ``predict_joint_log_proba``, ``predict`` and friends raise
        ``numpy.linalg.LinAlgError``. **The default 1.0 is not a choice but a
        placeholder of unit scale**, as ``Ridge(alpha=1.0)``'s: ``c`` has the
        units of a pixel variance, so no default suits every data set. On raw
        MNIST pixels (0..255) good values lie in the thousands, and ``c=1``
        leaves the covariances nearly singular (test error above 10%,
        ``tests/gradedlib/test_model.py``). Choose ``c`` on training data:
        :class:`~gradedlib.model_cv.GaussianGenerativeClassifierCV` searches and fits in one
        ``fit``, :func:`gradedlib.selection.choose_c` returns the search
        alone. ``"ledoit-wolf"`` or ``"oas"``: shrinkage
        in closed form, one intensity ``rho_j`` per class from
        :func:`sklearn.covariance.ledoit_wolf` or :func:`sklearn.covariance.oas`
        (``covariance="full"`` with ``alpha=1``, or ``"tied"``), no search.
    covariance : {"full", "tied", "diag", "spherical"}, default="full"
        ``"full"``: one covariance per class; ``"tied"``: one pooled
        within-class covariance for all classes (LDA); ``"diag"``: per-class
        variances (Gaussian naive Bayes); ``"spherical"``: one pooled variance
        ``sigma^2 I`` for all classes (nearest mean, with priors).
    alpha : float in [0, 1], default=1.0
        Friedman's regularized discriminant analysis, ``covariance="full"``
        only: ``C_j = alpha S_j + (1 - alpha) S_pooled``. ``1`` is the
        per-class model, ``0`` the tied one.
    shrinkage_form : {"convex", "additive"}, default="convex"
        With ``c="ledoit-wolf"`` or ``"oas"``: ``"convex"`` is scikit-learn's
        shrunk covariance ``(1 - rho_j) S_j + rho_j m_j I`` (``m_j`` the mean
        eigenvalue); ``"additive"`` is ``S_j + c_j I`` with
        ``c_j = rho_j m_j / (1 - rho_j)``, the same directions without the
        factor ``1 - rho_j``. Ignored otherwise.
    dtype : numpy.float64 or numpy.float32, default=numpy.float64
        Precision of the projection onto the eigenvectors when scoring, the
        only ``O(n d^2)`` step; log-determinants and sums stay float64.
        ``numpy.float32`` moves half the bytes; on MNIST its labels equal
        float64's on all 10,000 test images (``bench/benchmark.py``, whose last run is in
        ``bench/results/benchmark.md``).
        Fitting is always float64.

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
    bases_ : list of gradedlib.density.Eigenbasis, length n_classes
        The factorised class covariances ``C_j``: the only copy of the
        ``n_features x n_features`` numbers (classes of a tied or spherical
        model share one object). Null-space features are not stored.
    shrinkage_ : ndarray of shape (n_classes,) or None
        Shrinkage intensities ``rho_j`` (``c="ledoit-wolf"`` or ``"oas"``).
    scale_ : ndarray of shape (n_classes,)
        ``a_j``: ``1 - rho_j`` for convex shrinkage, else ones.
    c_ : ndarray of shape (n_classes,)
        The regularization ``c_j`` in effect at fit time (from ``c``, or from
        shrinkage). Changing a numeric ``c`` later needs no refit.
    covariances_ : ndarray of shape (n_classes, n_features, n_features)
        Property, derived from ``bases_`` on each access (one GEMM per class):
        ``C_j`` *before* regularization; for the default model the empirical
        class covariances, maximum-likelihood estimates that divide by the
        class count ``n_j`` (not ``n_j - 1``).
    eigenvalues_ : ndarray of shape (n_classes, n_features)
        Property: eigenvalues of ``covariances_``, ascending; exactly 0 in the
        null space.
    eigenvectors_ : ndarray of shape (n_classes, n_features, n_features)
        Property, derived from ``bases_`` on each access: orthonormal
        eigenvectors, ``covariances_[j] = V diag(eigenvalues_[j]) V.T`` with
        ``V = eigenvectors_[j]``.

    Notes
    -----
    Regularized eigenvalues at or below ``1e6 * eps * max`` are treated as
    zero (singular), the criterion of ``scipy.stats.multivariate_normal``.
    Changing a numeric ``c`` after ``fit`` (``set_params(c=...)``) needs no
    refit: the eigendecomposition does not depend on ``c``.
    """

    def __init__(self, c=1.0, *, covariance="full", alpha=1.0, shrinkage_form="convex", dtype=np.float64):
        self.c = c
        self.covariance = covariance
        self.alpha = alpha
        self.shrinkage_form = shrinkage_form
        self.dtype = dtype

    def _check_params(self, n_classes):
        """Validate the parameters; return ``(shrinkage, c)`` (one of them ``None``)."""
        covariance = check_choice(self.covariance, "covariance", COVARIANCE_TYPES)
        alpha = check_fraction(self.alpha, "alpha")
        if alpha < 1.0 and covariance != "full":
            raise ValueError(
                f"The 'alpha' parameter blends per-class and tied covariances and needs "
                f"covariance='full'. Got alpha={alpha!r} with covariance={covariance!r} instead."
            )
        check_choice(self.shrinkage_form, "shrinkage_form", ("convex", "additive"))
        check_float_dtype(self.dtype)
        if isinstance(self.c, str):
            if self.c not in SHRINKAGE_ESTIMATORS:
                raise TypeError(
                    f"The 'c' parameter must be a non-negative float, an array of {n_classes} "
                    f"non-negative floats, or one of 'ledoit-wolf', 'oas'. Got {self.c!r} instead."
                )
            if covariance not in ("full", "tied") or alpha < 1.0:
                raise ValueError(
                    f"The 'c' parameter {self.c!r} (shrinkage in closed form) needs "
                    f"covariance='full' with alpha=1, or covariance='tied'. Got "
                    f"covariance={covariance!r}, alpha={alpha!r} instead."
                )
            return self.c, None
        return None, check_c(self.c, n_classes)

    def fit(self, X, y):
        """Fit priors, means and class covariances, and factorise each covariance.

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
        shrinkage, c = self._check_params(classes.size)
        self.classes_ = classes
        self.priors_, self.means_, self.bases_, self.shrinkage_, self.scale_, c_fit = fit_family(
            X, y_encoded, classes.size, self.covariance, float(self.alpha), shrinkage, self.shrinkage_form
        )
        self.c_ = c if shrinkage is None else c_fit
        self._fitted_shrinkage = shrinkage
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

    def _regularization(self):
        """Return ``(scale, c)`` in effect, each of shape (n_classes,)."""
        shrinkage, c = self._check_params(self.classes_.size)
        if shrinkage is None:
            return np.ones(self.classes_.size), c
        if shrinkage != self._fitted_shrinkage:
            raise ValueError(
                f"The 'c' parameter {shrinkage!r} is computed from the data in fit: refit the "
                f"model. Got c={shrinkage!r} after a fit with c={self._fitted_shrinkage!r} instead."
            )
        return self.scale_, self.c_

    def joint_log_proba_path(self, X, candidates, classes=None):
        """Return the joint log-likelihood for many values of ``c`` at once.

        ``log pi_j + log N(x; mu_j, a_j C_j + c I)`` for every candidate ``c``,
        from one projection of ``X`` per class: a new ``c`` costs ``O(n d)``
        per class, not ``O(n d^2)``. The estimator's own ``c`` is not used;
        ``a_j`` is (``scale_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        candidates : array-like of shape (n_candidates,) or (n_candidates, n_classes)
            One ``c`` for all classes per candidate, or one row of per-class
            values per candidate.
        classes : array-like of int, default=None
            Indices (into ``classes_``) of the classes to score; all when
            ``None``.

        Returns
        -------
        log_joint : ndarray of shape (n_candidates, n_samples, n_scored_classes)

        Raises
        ------
        numpy.linalg.LinAlgError
            If a candidate leaves some regularized covariance singular.
        """
        X = self._validated_X(X)
        k = self.classes_.size
        grid = check_c_grid(candidates, k)
        scale, _ = self._regularization()
        if classes is None:
            idx = np.arange(k)
        else:
            idx = np.asarray(classes)
            if idx.ndim != 1 or idx.dtype.kind not in "iu" or np.any((idx < 0) | (idx >= k)):
                raise ValueError(
                    f"The 'classes' parameter must be a 1-D sequence of class indices in 0..{k - 1}. "
                    f"Got {classes!r} instead."
                )
        singular_eigenvalues([self.bases_[j] for j in idx], scale[idx], grid[:, idx], self.n_features_in_)
        return log_joint_kernel(
            X, self.means_, np.log(self.priors_), self.bases_, scale, grid, check_float_dtype(self.dtype), idx
        )

    def predict_joint_log_proba(self, X):
        """Return ``log pi_j + log N(x; mu_j, a_j C_j + c_j I)`` for every class.

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
        scale, c = self._regularization()
        singular_eigenvalues(self.bases_, scale, c[None, :], self.n_features_in_)
        return log_joint_kernel(
            X, self.means_, np.log(self.priors_), self.bases_, scale, c[None, :], check_float_dtype(self.dtype)
        )[0]

    def log_likelihood(self, X):
        """Alias of :meth:`predict_joint_log_proba` (the name of gradedlib 0.1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_joint : ndarray of shape (n_samples, n_classes)
        """
        return self.predict_joint_log_proba(X)

    def predict_log_proba(self, X):
        """Return log posterior probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        log_joint = self.predict_joint_log_proba(X)
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

        The argmax of :meth:`predict_joint_log_proba`, computed by
        :func:`gradedlib.density.argmax_joint`'s staged kernel: the leading
        eigen-directions of every class bound each log-joint in an interval,
        and only rows whose winner those bounds leave open get more
        directions. The labels are the exact log-joint's (ties within
        roundoff aside), from far fewer flops when ``c`` is large.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        X = self._validated_X(X)
        scale, c = self._regularization()
        singular_eigenvalues(self.bases_, scale, c[None, :], self.n_features_in_)
        indices, _ = argmax_joint_kernel(
            X, self.means_, np.log(self.priors_), self.bases_, scale, c, check_float_dtype(self.dtype)
        )
        return self.classes_[indices]

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

    @property
    def covariances_(self):
        check_is_fitted(self)
        d = self.n_features_in_
        return np.stack([covariance_matrix(b, d) for b in self.bases_])

    @property
    def eigenvalues_(self):
        check_is_fitted(self)
        return np.stack([spectrum(b, self.n_features_in_) for b in self.bases_])

    @property
    def eigenvectors_(self):
        check_is_fitted(self)
        return np.stack([full_eigenvectors(b, self.n_features_in_) for b in self.bases_])

    def sample(self, n_samples=1, label=None, random_state=None):
        """Draw images from the class Gaussian ``N(mu_j, a_j C_j + c_j I)``.

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
        scale, c = self._regularization()
        singular_eigenvalues(self.bases_, scale, c[None, :], self.n_features_in_)
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
        d = self.n_features_in_
        z = rng.standard_normal((n_samples, d))
        out = np.empty((n_samples, d))
        for j in np.unique(idx):
            rows = idx == j
            b = self.bases_[j]
            shifted = scale[j] * spectrum(b, d) + c[j]
            out[rows] = self.means_[j] + (z[rows] * np.sqrt(shifted)) @ full_eigenvectors(b, d).T
        return out, self.classes_[idx]
