"""Tests of gradedlib.selection.choose_c against a brute-force reference."""

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, train_test_split

from gradedlib.model import GaussianGenerativeClassifier
from gradedlib.selection import choose_c, default_candidates

CANDIDATES = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]


@pytest.fixture(scope="module")
def data():
    """Four overlapping 6-D classes with different covariances."""
    rng = np.random.default_rng(7)
    blocks, labels = [], []
    for j, n in enumerate([90, 120, 60, 80]):
        A = rng.normal(size=(6, 6)) * (0.5 + j * 0.3)
        blocks.append(rng.normal(size=(n, 6)) @ A + rng.normal(0, 1.5, size=6))
        labels.append(np.full(n, j))
    return np.vstack(blocks), np.concatenate(labels)


def brute_force_error(X, y, train, val, c):
    model = GaussianGenerativeClassifier(c=c).fit(X[train], y[train])
    return model.error_rate(X[val], y[val])


def test_default_grid_spans_the_pixel_scale():
    grid = default_candidates()
    assert grid.min() <= 10 and grid.max() >= 1e6
    np.testing.assert_allclose(np.diff(np.log10(grid)), 0.25)


def test_holdout_errors_equal_brute_force(data):
    X, y = data
    result = choose_c(X, y, CANDIDATES, validation_size=100, random_state=3)
    idx = np.arange(len(y))
    train, val = train_test_split(idx, test_size=100, random_state=3, stratify=y)
    expected = [brute_force_error(X, y, train, val, c) for c in CANDIDATES]
    np.testing.assert_allclose(result.errors, expected, atol=1e-12)
    assert result.c == CANDIDATES[int(np.argmin(expected))]
    assert result.validation_error == min(expected)
    assert result.fold_errors.shape == (1, len(CANDIDATES))
    assert isinstance(result.c, float) and not result.per_class


def test_kfold_errors_equal_brute_force(data):
    X, y = data
    result = choose_c(X, y, CANDIDATES, folds=4, random_state=5)
    cv = StratifiedKFold(4, shuffle=True, random_state=5)
    per_fold = np.array([[brute_force_error(X, y, tr, va, c) for c in CANDIDATES] for tr, va in cv.split(X, y)])
    np.testing.assert_allclose(result.fold_errors, per_fold, atol=1e-12)
    np.testing.assert_allclose(result.errors, per_fold.mean(axis=0), atol=1e-12)


@pytest.fixture(scope="module")
def scales():
    """Three overlapping 15-D classes with very different spreads and few samples."""
    rng = np.random.default_rng(1)
    X = np.vstack(
        [
            rng.normal(size=(40, 15)) * 0.5,
            rng.normal(size=(40, 15)) * 2.0 + 0.6,
            rng.normal(size=(40, 15)) * 1.0 - 0.6,
        ]
    )
    return X, np.repeat([0, 1, 2], 40)


def test_per_class_search(scales):
    X, y = scales
    grid = np.logspace(-2, 2, 9)
    single = choose_c(X, y, grid, folds=4, random_state=0)
    result = choose_c(X, y, grid, folds=4, random_state=0, per_class=True)
    assert result.c.shape == (3,) and result.per_class
    np.testing.assert_array_equal(result.errors, single.errors)
    # Every value is the best single c times a power of 2**(1/16).
    steps = np.log2(result.c / single.c) * 16
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    # Here the classes differ in spread, and per-class c strictly helps on validation.
    assert result.validation_error < single.validation_error
    assert len(set(result.c.tolist())) > 1
    # Its reported error is that of the chosen per-class c, recomputed by brute force.
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    brute = np.mean([brute_force_error(X, y, tr, va, result.c) for tr, va in cv.split(X, y)])
    assert result.validation_error == pytest.approx(brute, abs=1e-12)
    assert result.history[-1][3] == pytest.approx(result.validation_error)
    again = choose_c(X, y, grid, folds=4, random_state=0, per_class=True)
    np.testing.assert_array_equal(again.c, result.c)


def test_per_class_never_worse_than_single(data):
    X, y = data
    single = choose_c(X, y, CANDIDATES, folds=3, random_state=1)
    result = choose_c(X, y, CANDIDATES, folds=3, random_state=1, per_class=True)
    assert result.validation_error <= single.validation_error


def test_progress_callback(data):
    X, y = data
    calls = []
    choose_c(X, y, CANDIDATES, folds=3, progress=lambda *args: calls.append(args))
    assert [c[:2] for c in calls] == [(1, 3), (2, 3), (3, 3)]
    assert all(isinstance(c[2], str) for c in calls)


def test_singular_candidate_raises():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X[:, 1] = 0.0
    y = np.repeat([0, 1], 30)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        choose_c(X, y, [0.0, 1.0], validation_size=20)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(candidates=[]), ValueError, "'candidates' parameter must be a non-empty 1-D"),
        (dict(candidates=[1.0, -1.0]), ValueError, "'candidates' parameter must hold non-negative finite"),
        (dict(candidates=[[1.0]]), ValueError, "non-empty 1-D.*shape \\(1, 1\\)"),
        (dict(candidates=["a"]), TypeError, "'candidates' parameter must be a sequence of positive floats"),
        (dict(folds=1), ValueError, "'folds' parameter must be an integer >= 2. Got 1"),
        (dict(folds=2.5), TypeError, "'folds' parameter must be an integer >= 2. Got 2.5"),
        (dict(validation_size=0), ValueError, "'validation_size' parameter must be an integer >= 1. Got 0"),
        (dict(validation_size=10_000), ValueError, "'validation_size' parameter must leave at least 2 training samples"),
        (dict(per_class="yes", validation_size=50), TypeError, "'per_class' parameter must be a bool. Got 'yes'"),
    ],
)
def test_bad_arguments(data, kwargs, exc, match):
    X, y = data
    with pytest.raises(exc, match=match):
        choose_c(X, y, **kwargs)


def test_bad_data(data):
    X, y = data
    with pytest.raises(ValueError, match="'y' argument must be 1-D with one label per row of X \\(350\\). Got shape \\(349,\\)"):
        choose_c(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type"):
        choose_c(X, y + 0.25)
    with pytest.raises(ValueError, match="NaN"):
        choose_c(np.where(X > 3, np.nan, X), y)


@pytest.mark.slow
def test_mnist_kfold_choice(mnist_train):
    X, y = mnist_train
    result = choose_c(X, y, np.logspace(2, 5, 7), folds=3)
    assert 1_000 <= result.c <= 10_000
    assert result.fold_errors.shape == (3, 7)


@pytest.mark.parametrize("params", [dict(covariance="tied"), dict(covariance="diag"), dict(alpha=0.4)])
def test_estimator_template_errors_equal_brute_force(data, params):
    X, y = data
    template = GaussianGenerativeClassifier(c=123.0, **params)
    result = choose_c(X, y, CANDIDATES, validation_size=100, random_state=3, estimator=template)
    train, val = train_test_split(np.arange(len(y)), test_size=100, random_state=3, stratify=y)
    expected = [
        GaussianGenerativeClassifier(c=c, **params).fit(X[train], y[train]).error_rate(X[val], y[val]) for c in CANDIDATES
    ]
    np.testing.assert_allclose(result.errors, expected, atol=1e-12)
    assert template.c == 123.0  # the template is cloned, never changed
    with pytest.raises(TypeError, match="'estimator' parameter must be a GaussianGenerativeClassifier or None. Got 'lda'"):
        choose_c(X, y, CANDIDATES, validation_size=100, estimator="lda")
