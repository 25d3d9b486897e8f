"""Tests of the one density kernel (gradedlib.density) through its public names.

The reference is scipy's ``multivariate_normal.logpdf`` on explicitly built
covariances; the data have exactly constant features and classes with fewer
samples than features, so the null-space arithmetic is exercised.
"""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gradedlib.density import Eigenbasis, covariance_matrix, eigenbasis, full_eigenvectors, spectrum
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
