"""``GaussianGenerativeClassifierCV``: the estimator that chooses its regularization c itself.

In scikit-learn's style (``RidgeCV``, ``LogisticRegressionCV``): ``fit``
chooses c on the training data only, with :func:`gradedlib.selection.choose_c`
(the library's fast path), then refits :class:`gradedlib.model.GaussianGenerativeClassifier`
on all of it.  A module of its own: the selection code builds on the model,
and this estimator on both.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._validation import check_c, check_c_candidates, check_labels
from .family import fit_family
from .model import GaussianGenerativeClassifier
from .selection import choose_c, default_candidates

__all__ = ["GaussianGenerativeClassifierCV"]


# The hold-out of GaussianGenerativeClassifierCV(cv=None): one sixth of the
# training samples, which is 10,000 of MNIST's 60,000, the hold-out of
# choose_c's default and of `gradedlib fit`.
_HOLDOUT_FRACTION = 1 / 6


class GaussianGenerativeClassifierCV(GaussianGenerativeClassifier):
    """Gaussian generative classifier that chooses ``c`` itself, on the training data only.

    The scikit-learn counterpart of ``RidgeCV`` or ``LogisticRegressionCV``:
    ``fit(X, y)`` searches the regularization ``c`` over the grid ``cs`` by
    the validation error of :func:`gradedlib.selection.choose_c` (one
    stratified hold-out split, or stratified k-fold), then refits on all of
    ``X`` with the chosen value. The search is the library's fast path: one
    eigendecomposition per class and split, all of ``cs`` scored by one
    :meth:`~gradedlib.model.GaussianGenerativeClassifier.joint_log_proba_path` each. The
    fitted estimator is a :class:`~gradedlib.model.GaussianGenerativeClassifier` with
    ``c = c_`` (every method and fitted attribute of that class), plus what
    the search found. Nothing outside ``X`` and ``y`` is used.

    Parameters
    ----------
    cs : array-like of shape (n_cs,), default=None
        Candidate values of ``c``, non-negative floats (``0`` only if no
        covariance is singular). ``None`` is
        :func:`gradedlib.selection.default_candidates`: 29 values, four per
        decade, from 1 to 1e7, the scale of raw pixel values (0..255).
    cv : int or None, default=None
        ``None``: one stratified hold-out split of one sixth of the samples
        (10,000 of MNIST's 60,000, the split of ``gradedlib fit``), or of at
        least one sample per class. An integer ``k >= 2``: stratified k-fold
        cross-validation, validation errors averaged over the ``k`` folds
        (``k`` times the cost). Every class needs at least 2 training samples
        in every split.
    per_class : bool, default=False
        Choose one ``c`` per class: the best single ``c`` of ``cs``, then
        coordinate descent on the validation error (see
        :func:`gradedlib.selection.choose_c`).
    covariance : {"full", "tied", "diag", "spherical"}, default="full"
        The covariance family, as in :class:`~gradedlib.model.GaussianGenerativeClassifier`.
    alpha : float in [0, 1], default=1.0
        Regularized discriminant analysis (``covariance="full"`` only), as in
        :class:`~gradedlib.model.GaussianGenerativeClassifier`.
    dtype : numpy.float64 or numpy.float32, default=numpy.float64
        Precision of the projection when scoring, in the search and after it.
    random_state : int, numpy.random.RandomState or None, default=0
        Seed of the split (or of the folds' shuffling). The default makes
        ``fit`` reproducible; on MNIST it gives the split, and the ``c``, of
        ``choose_c(X, y)`` and ``gradedlib fit``.

    Attributes
    ----------
    c_ : ndarray of shape (n_classes,)
        The chosen ``c``, one value per class (all equal unless
        ``per_class=True``), in the order of ``classes_``.
    cs_ : ndarray of shape (n_cs,)
        The candidate values tried.
    validation_errors_ : ndarray of shape (n_cs,)
        Validation error of each candidate (one ``c`` for all classes),
        averaged over the splits.
    fold_validation_errors_ : ndarray of shape (n_splits, n_cs)
        The same per split (one row for the hold-out).
    validation_error_ : float
        Validation error of the chosen ``c_`` (averaged over the splits).
    selection_ : gradedlib.selection.CSelection
        The whole result of the search (with ``history`` for
        ``per_class=True``).
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    n_features_in_ : int
        Number of features seen during ``fit``.
    priors_ : ndarray of shape (n_classes,)
        Class frequencies in the training data.
    means_ : ndarray of shape (n_classes, n_features)
        Class means.
    bases_ : list of gradedlib.density.Eigenbasis, length n_classes
        The factorised class covariances, fitted on all of ``X``.
    shrinkage_ : None
        No shrinkage (the ``c`` is searched, not computed in closed form).
    scale_ : ndarray of shape (n_classes,)
        Ones.
    covariances_ : ndarray of shape (n_classes, n_features, n_features)
        Property: the class covariances before regularization.
    eigenvalues_ : ndarray of shape (n_classes, n_features)
        Property: their eigenvalues, ascending.
    eigenvectors_ : ndarray of shape (n_classes, n_features, n_features)
        Property: their orthonormal eigenvectors.

    See Also
    --------
    gradedlib.model.GaussianGenerativeClassifier : the same model with a given ``c``.
    gradedlib.selection.choose_c : the search alone, as a function.

    Notes
    -----
    The chosen ``c`` is the first candidate (in the order of ``cs``) with the
    smallest validation error. Shrinkage in closed form (``c="ledoit-wolf"``
    or ``"oas"``) needs no search: use :class:`~gradedlib.model.GaussianGenerativeClassifier`.

    Examples
    --------
    >>> from gradedlib import GaussianGenerativeClassifierCV, load_mnist
    >>> X, y = load_mnist("train")
    >>> model = GaussianGenerativeClassifierCV().fit(X, y)   # doctest: +SKIP
    >>> model.c_[0], model.validation_error_                 # doctest: +SKIP
    """

    def __init__(self, cs=None, *, cv=None, per_class=False, covariance="full", alpha=1.0, dtype=np.float64,
                 random_state=0):
        self.cs = cs
        self.cv = cv
        self.per_class = per_class
        self.covariance = covariance
        self.alpha = alpha
        self.dtype = dtype
        self.random_state = random_state

    def _check_search_params(self, classes, y_encoded):
        """Validate the parameters against the data.

        Returns
        -------
        template : GaussianGenerativeClassifier
            The model whose clones the search fits (covariance, alpha, dtype).
        candidates : ndarray of shape (n_cs,)
        validation_size : int
            Size of the hold-out set (``cv=None``; ignored otherwise).
        """
        candidates = default_candidates() if self.cs is None else check_c_candidates(self.cs, "cs")
        template = GaussianGenerativeClassifier(
            c=float(candidates[0]), covariance=self.covariance, alpha=self.alpha, dtype=self.dtype
        )
        template._check_params(classes.size)  # covariance, alpha, dtype: the estimator's own checks
        cv = self.cv
        if cv is not None and (isinstance(cv, (bool, np.bool_)) or not isinstance(cv, numbers.Integral)):
            raise TypeError(f"The 'cv' parameter must be None (a hold-out split) or an integer >= 2. "
                            f"Got {cv!r} instead.")
        if cv is not None and cv < 2:
            raise ValueError(f"The 'cv' parameter must be None (a hold-out split) or an integer >= 2. "
                             f"Got {cv!r} instead.")
        if not isinstance(self.per_class, (bool, np.bool_)):
            raise TypeError(f"The 'per_class' parameter must be a bool. Got {self.per_class!r} instead.")
        rs = self.random_state
        if not (rs is None or isinstance(rs, np.random.RandomState)
                or (isinstance(rs, numbers.Integral) and not isinstance(rs, (bool, np.bool_)) and 0 <= rs < 2**32)):
            raise ValueError(f"The 'random_state' parameter must be an int in 0..2**32-1, a "
                             f"numpy.random.RandomState or None. Got {rs!r} instead.")

        counts = np.bincount(y_encoded, minlength=classes.size)
        n_samples = int(counts.sum())
        validation_size = max(classes.size, round(n_samples * _HOLDOUT_FRACTION))
        if cv is None:
            # Stratified splitting gives class j at least floor(n_j / n * n_train) training samples.
            kept = np.floor(counts / n_samples * (n_samples - validation_size)).astype(int)
            scheme = f"cv=None (a hold-out of {validation_size} of {n_samples} samples)"
        else:
            # Stratified k-fold puts floor or ceil(n_j / k) samples of class j in each validation fold.
            kept = counts - np.ceil(counts / cv).astype(int)
            kept[counts < cv] = 0  # fewer samples than folds: some fold has none of the class to validate
            scheme = f"cv={cv} ({cv}-fold cross-validation)"
        if np.any(kept < 2):
            j = int(np.argmin(kept))
            raise ValueError(
                f"GaussianGenerativeClassifierCV needs at least 2 training samples of every class in every "
                f"split of 'cv' (and, with an integer cv, at least cv samples of every class). Got {scheme}, "
                f"where class {classes[j].tolist()!r} has {counts[j]} samples and some split would leave {kept[j]} "
                f"of them to fit, instead. Give more samples, a smaller cv, or use "
                f"GaussianGenerativeClassifier with a given c."
            )
        return template, candidates, validation_size

    def fit(self, X, y):
        """Choose ``c`` on ``(X, y)`` by validation error, then fit on all of ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; finite real values.
        y : array-like of shape (n_samples,)
            Class labels; at least two classes, enough samples of each for
            the splits of ``cv``.

        Returns
        -------
        self : GaussianGenerativeClassifierCV
            The fitted estimator.

        Raises
        ------
        numpy.linalg.LinAlgError
            If a candidate leaves some regularized covariance singular (e.g. 0).
        """
        X, y = self._validate_fit_input(X, y)
        classes, y_encoded = check_labels(y)
        template, candidates, validation_size = self._check_search_params(classes, y_encoded)
        selection = choose_c(
            X, y, candidates, folds=self.cv, validation_size=validation_size, per_class=bool(self.per_class),
            random_state=self.random_state, estimator=template,
        )
        self.classes_ = classes
        self.priors_, self.means_, self.bases_, self.shrinkage_, self.scale_, _ = fit_family(
            X, y_encoded, classes.size, self.covariance, float(self.alpha), None, "convex"
        )
        self.c_ = check_c(selection.c, classes.size)
        self.selection_ = selection
        self.cs_ = selection.candidates
        self.validation_errors_ = selection.errors
        self.fold_validation_errors_ = selection.fold_errors
        self.validation_error_ = selection.validation_error
        return self

    def _regularization(self):
        """Return ``(scale, c)`` in effect, each of shape (n_classes,): ones and ``c_``."""
        check_is_fitted(self)
        return self.scale_, self.c_
