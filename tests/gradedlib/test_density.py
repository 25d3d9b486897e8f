"""Tests of the one density kernel (gradedlib.density) through its public names.

The reference is scipy's ``multivariate_normal.logpdf`` on explicitly built
covariances; the data have exactly constant features and classes with fewer
samples than features, so the null-space arithmetic is exercised.
"""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gradedlib.density import Eigenbasis, argmax_joint, covariance_matrix, eigenbasis, full_eigenvectors, spectrum
from gradedlib.model import GaussianGenerativeClassifier


@pytest.fixture(scope="module")
def degenerate():
    """Three 12-D classes: features 0 and 5 constant in class 0, feature 11 in all; class 2 has 8 samples (rank 7)."""
    rng = np.random.default_rng(11)
    sizes = [40, 30, 8]
    blocks = []
    for j, n in enumerate(sizes):
        A = rng.normal(size=(12, 12)) * (1.0 + j)
        blocks.append(rng.normal(size=(n, 12)) @ A + 3.0 * j)
    X = np.vstack(blocks)
    X[:40, [0, 5]] = [2.0, -1.0]
    X[:, 11] = 4.0
    y = np.repeat([0, 1, 2], sizes)
    return X, y


def scipy_log_joint(data, X, c):
    """log pi_j + scipy logpdf, with moments computed here from the training data."""
    X_train, y_train = data
    d = X.shape[1]
    c = np.broadcast_to(np.asarray(c, dtype=float), (3,))
    out = []
    for j in range(3):
        Xj = X_train[y_train == j]
        cov = np.cov(Xj, rowvar=False, bias=True) + c[j] * np.eye(d)
        out.append(np.log(len(Xj) / len(X_train)) + multivariate_normal(Xj.mean(axis=0), cov).logpdf(X))
    return np.column_stack(out)


def test_eigenbasis_splits_off_the_exact_null_space(degenerate):
    X, y = degenerate
    model = GaussianGenerativeClassifier(c=1.0).fit(X, y)
    b0, b1, b2 = model.bases_
    np.testing.assert_array_equal(b0.rows, [1, 2, 3, 4, 6, 7, 8, 9, 10])  # 0, 5, 11 constant
    np.testing.assert_array_equal(b1.rows, np.arange(11))
    assert np.sum(b2.values > 0) == 7 and np.sum(b2.values == 0) == 4  # 8 samples: rank 7 of 11 rows
    for j, b in enumerate(model.bases_):
        Xj = X[y == j]
        np.testing.assert_allclose(covariance_matrix(b, 12), np.cov(Xj, rowvar=False, bias=True), atol=1e-10)
        V = full_eigenvectors(b, 12)
        np.testing.assert_allclose(V.T @ V, np.eye(12), atol=1e-12)
        np.testing.assert_allclose((V * spectrum(b, 12)) @ V.T, covariance_matrix(b, 12), atol=1e-10)
        assert np.all(np.diff(spectrum(b, 12)) >= 0)
    np.testing.assert_array_equal(model.eigenvalues_[0, :3], 0.0)


@pytest.mark.parametrize("c", [1e-3, 0.5, 40.0, [0.2, 3.0, 9.0]])
def test_null_space_kernel_matches_scipy(degenerate, c):
    X, y = degenerate
    model = GaussianGenerativeClassifier(c=c).fit(X, y)
    probe = np.vstack([X, X[:5] + 7.0])  # also off the constant features
    np.testing.assert_allclose(model.predict_joint_log_proba(probe), scipy_log_joint(degenerate, probe, c), rtol=1e-9)


def test_log_likelihood_is_an_alias(degenerate):
    X, y = degenerate
    model = GaussianGenerativeClassifier(c=2.0).fit(X, y)
    np.testing.assert_array_equal(model.log_likelihood(X), model.predict_joint_log_proba(X))


def test_path_equals_one_c_at_a_time(degenerate):
    X, y = degenerate
    model = GaussianGenerativeClassifier(c=1.0).fit(X, y)
    cs = [0.01, 0.3, 5.0, 1e3]
    path = model.joint_log_proba_path(X, cs)
    assert path.shape == (4, X.shape[0], 3)
    for k, c in enumerate(cs):
        np.testing.assert_allclose(path[k], scipy_log_joint(degenerate, X, c), rtol=1e-9)
    # One row of per-class values per candidate, and a subset of classes.
    grid = np.array([[0.1, 2.0, 30.0], [5.0, 0.5, 1.0]])
    per_class = model.joint_log_proba_path(X, grid)
    np.testing.assert_allclose(per_class[1], scipy_log_joint(degenerate, X, grid[1]), rtol=1e-9)
    only_2 = model.joint_log_proba_path(X, grid, classes=[2])
    np.testing.assert_array_equal(only_2[:, :, 0], per_class[:, :, 2])


def test_float32_path_agrees_with_float64(degenerate):
    X, y = degenerate
    model = GaussianGenerativeClassifier(c=0.5).fit(X, y)
    ref = model.predict_joint_log_proba(X)
    model.set_params(dtype=np.float32)
    low = model.predict_joint_log_proba(X)
    assert low.dtype == np.float64
    assert not np.array_equal(low, ref)  # it really ran in float32
    np.testing.assert_allclose(low, ref, rtol=1e-4)
    np.testing.assert_array_equal(model.predict(X), np.asarray(model.classes_)[ref.argmax(axis=1)])


def test_only_one_copy_of_the_covariance_numbers(degenerate):
    X, y = degenerate
    model = GaussianGenerativeClassifier(c=1.0).fit(X, y)
    square = [k for k, v in vars(model).items() if isinstance(v, np.ndarray) and v.ndim == 3]
    assert square == []  # covariances_ and eigenvectors_ are derived, not stored
    stored = sum(b.vectors.size for b in model.bases_)
    assert stored == 9**2 + 11**2 + 11**2


def test_singular_and_bad_path_arguments(degenerate):
    X, y = degenerate
    model = GaussianGenerativeClassifier(c=1.0).fit(X, y)
    with pytest.raises(np.linalg.LinAlgError, match="singular.*class index"):
        model.joint_log_proba_path(X, [1.0, 0.0])
    with pytest.raises(ValueError, match="'candidates' parameter must be 1-D or of shape \\(n_candidates, 3\\). Got an array of shape \\(2, 2\\)"):
        model.joint_log_proba_path(X, [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="'candidates' parameter must hold non-negative finite"):
        model.joint_log_proba_path(X, [[1.0, -2.0, 3.0]])
    with pytest.raises(ValueError, match="'classes' parameter must be a 1-D sequence of class indices in 0..2. Got \\[3\\]"):
        model.joint_log_proba_path(X, [1.0], classes=[3])
    model.set_params(dtype=np.int64)
    with pytest.raises(ValueError, match="'dtype' parameter must be numpy.float64 or numpy.float32. Got"):
        model.predict(X)


def test_axis_aligned_basis():
    basis = Eigenbasis(np.array([0, 2]), np.array([4.0, 9.0]), None)
    np.testing.assert_array_equal(covariance_matrix(basis, 3), np.diag([4.0, 0.0, 9.0]))
    np.testing.assert_array_equal(spectrum(basis, 3), [0.0, 4.0, 9.0])
    V = full_eigenvectors(basis, 3)
    np.testing.assert_array_equal((V * spectrum(basis, 3)) @ V.T, np.diag([4.0, 0.0, 9.0]))
    b = eigenbasis(np.diag([4.0, 0.0, 9.0]))
    np.testing.assert_array_equal(b.rows, [0, 2])
    np.testing.assert_allclose(b.values, [4.0, 9.0])


# --- predict's staged kernel (gradedlib.density.argmax_joint) ----------------


@pytest.fixture(scope="module")
def spread():
    """Three 40-D classes whose covariance eigenvalues span 1e4 .. 1e-2, with close means.

    With c = 100 about a third of the directions have ``lambda / (lambda + c) >= 0.5``,
    so the staged kernel starts from a third of the directions and has to go
    further for the rows near a decision boundary.
    """
    rng = np.random.default_rng(5)
    d, n = 40, 400
    X, y = [], []
    for j in range(3):
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        root = Q * np.sqrt(np.geomspace(1e4, 1e-2, d))
        X.append(rng.normal(size=(n, d)) @ root.T + rng.normal(scale=3.0, size=d))
        y.append(np.full(n, j))
    X, y = np.vstack(X), np.concatenate(y)
    # Query points: fresh draws of the classes, midpoints of pairs from different
    # classes (near the boundaries), and points far away.
    pairs = rng.integers(0, 3 * n, size=(600, 2))
    pairs = pairs[y[pairs[:, 0]] != y[pairs[:, 1]]]
    query = np.vstack([X + rng.normal(scale=2.0, size=X.shape), X[pairs].mean(axis=1), 50.0 * rng.normal(size=(50, d))])
    return X, y, query


def truncated_labels(model, query, c, fraction):
    """Argmax of the log-joint that keeps only directions with lambda / (lambda + c) >= fraction."""
    d = query.shape[1]
    scores = []
    for j in range(model.classes_.size):
        lam, V = model.eigenvalues_[j], model.eigenvectors_[j]
        kept = lam / (lam + c) >= fraction
        diff = query - model.means_[j]
        z = diff @ V[:, kept]
        quad = (diff**2).sum(axis=1) / c - (z**2 @ (lam[kept] / (c * (lam[kept] + c))))
        log_det = np.log(lam + c).sum()
        scores.append(np.log(model.priors_[j]) - 0.5 * (d * np.log(2 * np.pi) + log_det + quad))
    return np.argmax(np.column_stack(scores), axis=1)


def scipy_labels(X, y, query, c):
    d = X.shape[1]
    scores = [
        np.log(np.mean(y == j))
        + multivariate_normal(X[y == j].mean(axis=0), np.cov(X[y == j], rowvar=False, bias=True) + c * np.eye(d)).logpdf(query)
        for j in range(3)
    ]
    return np.argmax(np.column_stack(scores), axis=1)


def test_staged_predict_gives_the_exact_labels(spread):
    X, y, query = spread
    c = 100.0
    model = GaussianGenerativeClassifier(c=c).fit(X, y)
    exact = scipy_labels(X, y, query, c)
    # Not vacuous: the leading directions alone give other labels for some rows ...
    assert np.sum(truncated_labels(model, query, c, 0.5) != exact) >= 5
    # ... and the staged kernel really stopped early for most rows, and went on for some.
    indices, decided = argmax_joint(
        query, model.means_, np.log(model.priors_), model.bases_, model.scale_, model.c_, return_stages=True
    )
    assert decided.sum() == query.shape[0]
    assert decided[0] > 0.5 * query.shape[0] and decided[1:].sum() >= 5, decided
    np.testing.assert_array_equal(indices, exact)
    np.testing.assert_array_equal(model.predict(query), exact)
    np.testing.assert_array_equal(model.predict(query), model.predict_joint_log_proba(query).argmax(axis=1))


@pytest.mark.parametrize("c", [1e-3, 1.0, 30.0, 1e3, 1e6, [0.5, 300.0, 5e4]])
def test_staged_predict_matches_the_joint_for_every_c(spread, c):
    X, y, query = spread
    model = GaussianGenerativeClassifier(c=c).fit(X, y)
    np.testing.assert_array_equal(model.predict(query), model.predict_joint_log_proba(query).argmax(axis=1))
    model.set_params(dtype=np.float32)
    agree = np.mean(model.predict(query) == model.predict_joint_log_proba(query).argmax(axis=1))
    assert agree >= 0.999


def test_staged_predict_with_c_zero_on_a_regular_covariance(spread):
    X, y, query = spread
    model = GaussianGenerativeClassifier(c=0.0).fit(X, y)  # 400 samples in 40-D: non-singular
    np.testing.assert_array_equal(model.predict(query), scipy_labels(X, y, query, 0.0))


def test_argmax_joint_rejects_bad_arguments(spread):
    X, y, query = spread
    m = GaussianGenerativeClassifier(c=1.0).fit(X, y)
    good = dict(X=query, means=m.means_, log_priors=np.log(m.priors_), bases=m.bases_, scale=m.scale_, c=m.c_)
    with pytest.raises(ValueError, match="'X' and 'means' .* same number of columns. Got shapes"):
        argmax_joint(**{**good, "X": query[:, :5]})
    with pytest.raises(ValueError, match=r"'c' argument must have shape \(3,\). Got shape \(2,\)"):
        argmax_joint(**{**good, "c": [1.0, 2.0]})
    with pytest.raises(ValueError, match="'c' argument must hold non-negative floats. Got"):
        argmax_joint(**{**good, "c": [1.0, -2.0, 1.0]})
    with pytest.raises(ValueError, match="'bases' argument must hold 3 Eigenbasis objects. Got 2"):
        argmax_joint(**{**good, "bases": m.bases_[:2]})
    with pytest.raises(ValueError, match="'dtype' argument must be numpy.float64 or numpy.float32. Got float16"):
        argmax_joint(**good, dtype=np.float16)
    few = np.r_[0:30, 400:430]  # 30 samples of classes 0 and 1 in 40-D
    singular = GaussianGenerativeClassifier(c=0.0).fit(X[few], y[few])
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        argmax_joint(query, singular.means_, np.log(singular.priors_), singular.bases_, singular.scale_, [0.0, 0.0])
