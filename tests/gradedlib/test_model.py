"""Tests of gradedlib.model on tiny fixtures, with scipy as the independent reference."""

import copy
import warnings

import numpy as np
import pytest
from scipy.special import softmax
from scipy.stats import multivariate_normal
from sklearn.utils.estimator_checks import check_estimator

from gradedlib.model import GaussianGenerativeClassifier
from support.functional import fit_generative_model, predict


@pytest.fixture
def blobs():
    """Three well-separated 4-D Gaussian classes of unequal sizes."""
    rng = np.random.default_rng(1)
    sizes = [30, 50, 20]
    centres = np.array([[0, 0, 0, 0], [5, 5, 0, 0], [0, 5, 5, 5]], dtype=float)
    X = np.vstack([rng.normal(c, 1.0, size=(n, 4)) for c, n in zip(centres, sizes)])
    y = np.repeat([0, 1, 2], sizes)
    return X, y


def test_sklearn_check_estimator():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SkipTestWarning for optional pandas / array API checks
        results = check_estimator(GaussianGenerativeClassifier(), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 50


def test_exact_one_dimensional_case():
    # Class 0 = {0, 2}: mean 1, variance 1 (divide by n). Class 1 = {10, 12}: mean 11, variance 1.
    X = np.array([[0.0], [2.0], [10.0], [12.0]])
    y = np.array([0, 0, 1, 1])
    model = GaussianGenerativeClassifier(c=0.0).fit(X, y)
    np.testing.assert_array_equal(model.priors_, [0.5, 0.5])
    np.testing.assert_array_equal(model.means_, [[1.0], [11.0]])
    np.testing.assert_array_equal(model.covariances_, [[[1.0]], [[1.0]]])
    # log(1/2) - log(2 pi)/2 - (x - mu)^2 / 2, exactly.
    ll = model.log_likelihood(np.array([[1.0], [6.0]]))
    expected = np.log(0.5) - 0.5 * np.log(2 * np.pi) - 0.5 * np.array([[0.0, 100.0], [25.0, 25.0]])
    np.testing.assert_allclose(ll, expected, rtol=1e-14)
    np.testing.assert_array_equal(model.predict([[5.9], [6.1], [-3.0]]), [0, 1, 0])
    # Equal posteriors on the boundary x = 6.
    np.testing.assert_allclose(model.predict_proba([[6.0]]), [[0.5, 0.5]])
    # With c = 3 the variances become 4.
    model.set_params(c=3.0)
    ll = model.log_likelihood(np.array([[3.0]]))
    expected = np.log(0.5) - 0.5 * np.log(2 * np.pi * 4) - np.array([4.0, 64.0]) / 8
    np.testing.assert_allclose(ll[0], expected, rtol=1e-14)


def test_fitted_attributes(blobs):
    X, y = blobs
    model = GaussianGenerativeClassifier(c=0.5)
    assert model.fit(X, y) is model
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.n_features_in_ == 4
    np.testing.assert_allclose(model.priors_, [0.3, 0.5, 0.2])
    for j in range(3):
        Xj = X[y == j]
        np.testing.assert_allclose(model.means_[j], Xj.mean(axis=0))
        np.testing.assert_allclose(model.covariances_[j], np.cov(Xj, rowvar=False, bias=True))
        V, lam = model.eigenvectors_[j], model.eigenvalues_[j]
        np.testing.assert_allclose(V @ np.diag(lam) @ V.T, model.covariances_[j], atol=1e-12)
    assert model.covariances_.shape == (3, 4, 4)
    assert model.eigenvalues_.shape == (3, 4)


@pytest.mark.parametrize("c", [0.0, 0.3, 10.0, [0.1, 1.0, 5.0]])
def test_log_likelihood_matches_scipy(blobs, c):
    X, y = blobs
    model = GaussianGenerativeClassifier(c=c).fit(X, y)
    c_arr = np.broadcast_to(np.asarray(c, dtype=float), (3,))
    expected = np.column_stack(
        [
            multivariate_normal(model.means_[j], model.covariances_[j] + c_arr[j] * np.eye(4)).logpdf(X)
            + np.log(model.priors_[j])
            for j in range(3)
        ]
    )
    np.testing.assert_allclose(model.log_likelihood(X), expected, rtol=1e-9)


def test_predict_proba_is_softmax_and_stable(blobs):
    X, y = blobs
    model = GaussianGenerativeClassifier(c=0.1).fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba, softmax(model.log_likelihood(X), axis=1), rtol=1e-10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Far from every class the densities underflow, the posteriors do not.
    far = np.full((1, 4), 1e4)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        far_proba = model.predict_proba(far)
    assert np.isfinite(far_proba).all() and np.isclose(far_proba.sum(), 1.0)
    assert model.score(X, y) > 0.95
    assert model.error_rate(X, y) == pytest.approx(1 - model.score(X, y))


def test_string_labels(blobs):
    X, y = blobs
    names = np.array(["zero", "one", "two"])[y]
    model = GaussianGenerativeClassifier(c=0.1).fit(X, names)
    assert set(model.predict(X)) <= {"zero", "one", "two"}
    np.testing.assert_array_equal(model.classes_, ["one", "two", "zero"])


def test_changing_c_needs_no_refit(blobs):
    X, y = blobs
    model = GaussianGenerativeClassifier(c=0.1).fit(X, y)
    bases = model.bases_
    vectors = [b.vectors for b in bases]
    before = model.log_likelihood(X)
    model.set_params(c=100.0)
    assert model.bases_ is bases and all(b.vectors is v for b, v in zip(model.bases_, vectors))
    fresh = GaussianGenerativeClassifier(c=100.0).fit(X, y)
    np.testing.assert_allclose(model.log_likelihood(X), fresh.log_likelihood(X), rtol=1e-12)
    assert not np.allclose(before, model.log_likelihood(X))


def test_singular_covariance_raises_linalgerror():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[:, 2] = 7.0  # a constant feature: zero variance in every class
    y = np.repeat([0, 1], 20)
    model = GaussianGenerativeClassifier(c=0.0).fit(X, y)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        model.predict(X)
    with pytest.raises(np.linalg.LinAlgError):
        multivariate_normal(model.means_[0], model.covariances_[0])  # scipy agrees
    with pytest.raises(np.linalg.LinAlgError):
        model.sample(2, label=0)
    model.set_params(c=1e-3)
    assert model.predict(X).shape == (40,)


def test_large_c_prior_decides(blobs):
    X, y = blobs
    model = GaussianGenerativeClassifier(c=1e12).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), 1)  # the most frequent class


def test_sample(blobs):
    X, y = blobs
    model = GaussianGenerativeClassifier(c=0.2).fit(X, y)
    S, labels = model.sample(4000, label=2, random_state=0)
    assert S.shape == (4000, 4) and (labels == 2).all()
    np.testing.assert_allclose(S.mean(axis=0), model.means_[2], atol=0.1)
    np.testing.assert_allclose(np.cov(S, rowvar=False), model.covariances_[2] + 0.2 * np.eye(4), atol=0.15)
    S2, _ = model.sample(4000, label=2, random_state=0)
    np.testing.assert_array_equal(S, S2)
    _, mixed = model.sample(5000, random_state=1)
    np.testing.assert_allclose(np.bincount(mixed) / 5000, model.priors_, atol=0.03)
    with pytest.raises(ValueError, match="'label' parameter must be one of \\[0, 1, 2\\] or None. Got 7"):
        model.sample(1, label=7)
    with pytest.raises(ValueError, match="'n_samples' parameter must be an integer >= 1. Got 0"):
        model.sample(0)


def test_functional_form_matches_estimator(blobs):
    X, y = blobs
    mu, sigma, pi = fit_generative_model(X, y, 0.5)
    model = GaussianGenerativeClassifier(c=0.5).fit(X, y)
    np.testing.assert_allclose(sigma - model.covariances_, np.broadcast_to(0.5 * np.eye(4), (3, 4, 4)), atol=1e-14)
    np.testing.assert_array_equal(mu, model.means_)
    np.testing.assert_array_equal(pi, model.priors_)
    labels = predict(X, mu, sigma, pi)
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, model.predict(X))
    _, sigma_pc, _ = fit_generative_model(X, y, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.diagonal(sigma_pc - model.covariances_, axis1=1, axis2=2), [[1.0] * 4, [2.0] * 4, [3.0] * 4])


def test_functional_predict_raises_on_singular(blobs):
    X, y = blobs
    mu, sigma, pi = fit_generative_model(X, y, 0.0)
    sigma[1, :, 3] = 0.0
    sigma[1, 3, :] = 0.0
    with pytest.raises(np.linalg.LinAlgError, match="sigma\\[1\\] is not positive definite"):
        predict(X, mu, sigma, pi)


def test_functional_form_needs_labels_0_to_k(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="labels 0..2.*Got labels \\[1, 2, 3\\]"):
        fit_generative_model(X, y + 1, 1.0)


# ---- bad input: every case raises a clear error naming the argument ----

GOOD_X = np.arange(24, dtype=float).reshape(6, 4) ** 1.5
GOOD_Y = np.array([0, 0, 1, 1, 2, 2])


@pytest.mark.parametrize(
    "X, y, exc, match",
    [
        (GOOD_X[0], GOOD_Y, ValueError, "'X' argument must be a 2-D array.*Got an array of shape \\(4,\\)"),
        (GOOD_X[None], GOOD_Y, ValueError, "'X' argument must be a 2-D array.*shape \\(1, 6, 4\\)"),
        (GOOD_X.astype(str), GOOD_Y, TypeError, "'X' argument must hold real numbers.*dtype <U"),
        (np.where(GOOD_X > 90, np.nan, GOOD_X), GOOD_Y, ValueError, "'X' argument must hold finite values. Got 3 NaN"),
        (np.where(GOOD_X > 90, np.inf, GOOD_X), GOOD_Y, ValueError, "Got 0 NaN and 3 infinite"),
        (GOOD_X, GOOD_Y + 0.5, ValueError, "'y' argument must hold discrete class labels.*'continuous'"),
        (GOOD_X, np.zeros(6), ValueError, "'y' argument must hold at least 2 classes. Got 1 class"),
        (GOOD_X, GOOD_Y[:5], ValueError, "'X' and 'y' arguments must have the same number of samples. Got 6 rows in X and 5"),
        (GOOD_X, np.array([0, 0, 1, 1, 1, 2]), ValueError, "at least 2 samples.*\\{'2': 1\\}"),
        (GOOD_X, None, ValueError, "'y' argument must be an array of class labels"),
    ],
)
def test_fit_bad_input(X, y, exc, match):
    with pytest.raises(exc, match=match):
        GaussianGenerativeClassifier(c=1.0).fit(X, y)


@pytest.mark.parametrize(
    "c, exc, match",
    [
        (-1, ValueError, "'c' parameter must be a non-negative finite float. Got -1 instead"),
        (float("nan"), ValueError, "'c' parameter must be a non-negative finite float. Got nan"),
        (float("inf"), ValueError, "Got inf instead"),
        ([1.0, 2.0], ValueError, "'c' parameter must be a non-negative float or an array of shape \\(3,\\).*Got an array of shape \\(2,\\)"),
        ([1.0, -2.0, 3.0], ValueError, "'c' parameter must be non-negative and finite. Got -2.0"),
        ("big", TypeError, "'c' parameter must be a non-negative float.*Got 'big'"),
        (True, TypeError, "Got True instead"),
    ],
)
def test_bad_c(c, exc, match):
    with pytest.raises(exc, match=match):
        GaussianGenerativeClassifier(c=c).fit(GOOD_X, GOOD_Y)
    model = GaussianGenerativeClassifier(c=1.0).fit(GOOD_X, GOOD_Y)
    model.set_params(c=c)
    with pytest.raises(exc, match=match):
        model.predict(GOOD_X)


def test_predict_bad_input():
    model = GaussianGenerativeClassifier(c=1.0)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.predict(GOOD_X)
    model.fit(GOOD_X, GOOD_Y)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianGenerativeClassifier is expecting 4"):
        model.predict(GOOD_X[:, :3])
    with pytest.raises(ValueError, match="'X' argument must hold finite values"):
        model.predict_proba(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="'X' argument must be a 2-D array"):
        model.log_likelihood(GOOD_X[0])


def test_functional_predict_bad_shapes(blobs):
    X, y = blobs
    mu, sigma, pi = fit_generative_model(X, y, 1.0)
    with pytest.raises(ValueError, match="'x' and 'mu' arguments must be 2-D with the same number of columns"):
        predict(X[:, :3], mu, sigma, pi)
    with pytest.raises(ValueError, match="'sigma' and 'pi' arguments must have shapes"):
        predict(X, mu, sigma, pi[:2])


# ---- the real data ----


@pytest.mark.slow
def test_mnist_chosen_c_and_test_error(mnist_selection, mnist_model, mnist_test):
    Xt, yt = mnist_test
    assert 1_000 <= mnist_selection.c <= 10_000
    assert mnist_model.error_rate(Xt, yt) <= 0.045


@pytest.mark.slow
def test_mnist_small_and_huge_c(mnist_model, mnist_test):
    Xt, yt = mnist_test
    small = copy.copy(mnist_model).set_params(c=1.0)  # shares the fitted arrays, no refit
    assert small.error_rate(Xt, yt) > 0.10
    small.set_params(c=1e9)
    pred = small.predict(Xt)
    assert (pred == 1).all()
    assert np.mean(pred != yt) == pytest.approx(0.8865, abs=1e-12)


@pytest.mark.slow
def test_mnist_unregularized_raises(mnist_model, mnist_test):
    Xt, _ = mnist_test
    model = copy.copy(mnist_model).set_params(c=0.0)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        model.predict(Xt[:10])
    with pytest.raises(np.linalg.LinAlgError):
        multivariate_normal(mnist_model.means_[0], mnist_model.covariances_[0])


@pytest.mark.slow
def test_mnist_log_likelihood_matches_scipy(mnist_model, mnist_test):
    Xt, _ = mnist_test
    rng = np.random.default_rng(3)
    sample = Xt[rng.choice(len(Xt), 25, replace=False)].astype(float)
    c = mnist_model.c
    expected = np.column_stack(
        [
            multivariate_normal(mnist_model.means_[j], mnist_model.covariances_[j] + c * np.eye(784)).logpdf(sample)
            + np.log(mnist_model.priors_[j])
            for j in range(10)
        ]
    )
    np.testing.assert_allclose(mnist_model.log_likelihood(sample), expected, rtol=1e-9)


def test_class_moments_public(blobs):
    from gradedlib.model import class_moments

    X, y = blobs
    priors, means, covs = class_moments(X, y, 3)
    np.testing.assert_allclose(priors, [0.3, 0.5, 0.2])
    for j in range(3):
        np.testing.assert_allclose(means[j], X[y == j].mean(axis=0))
        np.testing.assert_allclose(covs[j], np.cov(X[y == j], rowvar=False, bias=True), rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(covs[j], covs[j].T)


@pytest.mark.slow
def test_mnist_float32_agrees_with_float64(mnist_model, mnist_test):
    Xt, yt = mnist_test
    low = copy.copy(mnist_model).set_params(dtype=np.float32)
    agreement = np.mean(low.predict(Xt) == mnist_model.predict(Xt))
    assert agreement >= 0.999
    # The null space is real on MNIST: constant pixels in every class, none factorised.
    assert all(784 - b.rows.size >= 150 for b in mnist_model.bases_)


@pytest.mark.slow
def test_mnist_staged_predict_equals_the_joint_argmax(mnist_model, mnist_test):
    """predict's staged kernel: the exact log-joint's labels on all 10,000 test images, and float32 >= 99.9%."""
    from gradedlib.density import argmax_joint

    Xt, _ = mnist_test
    model = copy.copy(mnist_model)
    exact = model.predict_joint_log_proba(Xt).argmax(axis=1)
    indices, decided = argmax_joint(
        Xt, model.means_, np.log(model.priors_), model.bases_, model.scale_, model.c_, return_stages=True
    )
    assert decided[0] < len(Xt) and decided[0] > len(Xt) // 2, decided  # staged, and most rows decided early
    np.testing.assert_array_equal(indices, exact)
    np.testing.assert_array_equal(model.predict(Xt), model.classes_[exact])
    model.set_params(dtype=np.float32)
    assert np.mean(model.predict(Xt) == model.classes_[exact]) >= 0.999


# ---- GaussianGenerativeClassifierCV: chooses c itself, on the training data only ----


def test_cv_sklearn_check_estimator():
    from gradedlib.model_cv import GaussianGenerativeClassifierCV

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SkipTestWarning for optional pandas / array API checks
        results = check_estimator(GaussianGenerativeClassifierCV(), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 50


@pytest.mark.parametrize("cv", [None, 3])
def test_cv_is_choose_c_then_a_fit_on_everything(blobs, cv):
    """The same search as choose_c (same split, same errors), then the model of the chosen c on all of X."""
    from gradedlib import GaussianGenerativeClassifierCV
    from gradedlib.selection import choose_c

    X, y = blobs
    cs = [1e-3, 1e-1, 1.0, 10.0, 100.0, 1e4]
    model = GaussianGenerativeClassifierCV(cs, cv=cv, random_state=4)
    assert model.fit(X, y) is model
    # cv=None holds out one sixth of the samples (10,000 of MNIST's 60,000): 17 of 100 here.
    expected = choose_c(X, y, cs, folds=cv, validation_size=17, random_state=4)
    np.testing.assert_array_equal(model.validation_errors_, expected.errors)
    np.testing.assert_array_equal(model.fold_validation_errors_, expected.fold_errors)
    assert model.fold_validation_errors_.shape == (1 if cv is None else 3, len(cs))
    np.testing.assert_array_equal(model.cs_, cs)
    np.testing.assert_array_equal(model.c_, np.full(3, expected.c))
    assert model.validation_error_ == expected.validation_error == model.validation_errors_.min()
    assert model.selection_.c == expected.c
    # Nothing of the search is kept in the final model: it is the fixed-c model fitted on all of X.
    fixed = GaussianGenerativeClassifier(c=expected.c).fit(X, y)
    np.testing.assert_array_equal(model.means_, fixed.means_)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), fixed.predict_joint_log_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), fixed.predict(X))
    S, labels = model.sample(3, random_state=0)
    assert S.shape == (3, 4) and labels.shape == (3,)


def test_cv_default_grid_per_class_labels_and_template_parameters(scales_data):
    from gradedlib import GaussianGenerativeClassifierCV
    from gradedlib.selection import choose_c, default_candidates

    X, y = scales_data
    names = np.array(["a", "b", "c"])[y]
    model = GaussianGenerativeClassifierCV(np.logspace(-2, 2, 9), cv=4, per_class=True, random_state=0).fit(X, names)
    expected = choose_c(X, names, np.logspace(-2, 2, 9), folds=4, per_class=True, random_state=0)
    np.testing.assert_array_equal(model.c_, expected.c)
    assert len(set(model.c_.tolist())) > 1  # one c per class
    np.testing.assert_array_equal(model.selection_.classes, ["a", "b", "c"])
    assert model.validation_error_ == expected.validation_error < model.validation_errors_.min()
    # The default grid, and the covariance family passed on to every fit of the search.
    tied = GaussianGenerativeClassifierCV(covariance="tied").fit(X, names)
    np.testing.assert_array_equal(tied.cs_, default_candidates())
    template = GaussianGenerativeClassifier(covariance="tied")
    expected = choose_c(X, names, validation_size=20, random_state=0, estimator=template)
    np.testing.assert_array_equal(tied.validation_errors_, expected.errors)
    assert tied.c_[0] == expected.c and len(tied.bases_) == 3 and tied.bases_[0] is tied.bases_[1]
    assert "c" not in GaussianGenerativeClassifierCV().get_params()


@pytest.fixture
def scales_data():
    """Three overlapping 15-D classes with very different spreads (per-class c helps)."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(40, 15)) * 0.5, rng.normal(size=(40, 15)) * 2.0 + 0.6,
                   rng.normal(size=(40, 15)) * 1.0 - 0.6])
    return X, np.repeat([0, 1, 2], 40)


@pytest.mark.parametrize(
    "params, exc, match",
    [
        (dict(cs=[]), ValueError, "The 'cs' parameter must be a non-empty 1-D sequence.*Got an array of shape \\(0,\\)"),
        (dict(cs=[1.0, -2.0]), ValueError, "The 'cs' parameter must hold non-negative finite floats. Got \\[1.0, -2.0\\]"),
        (dict(cs="big"), TypeError, "The 'cs' parameter must be a sequence of positive floats. Got 'big'"),
        (dict(cv=1), ValueError, "The 'cv' parameter must be None \\(a hold-out split\\) or an integer >= 2. Got 1 instead"),
        (dict(cv=2.5), TypeError, "The 'cv' parameter must be None.*Got 2.5 instead"),
        (dict(cv=True), TypeError, "The 'cv' parameter must be None.*Got True instead"),
        (dict(per_class="yes"), TypeError, "The 'per_class' parameter must be a bool. Got 'yes' instead"),
        (dict(random_state=-1), ValueError, "The 'random_state' parameter must be an int in 0..2\\*\\*32-1.*Got -1"),
        (dict(covariance="ful"), ValueError, "The 'covariance' parameter must be one of 'full'.*Got 'ful' instead"),
        (dict(alpha=0.5, covariance="tied"), ValueError, "The 'alpha' parameter blends.*Got alpha=0.5"),
        (dict(dtype=np.int32), ValueError, "The 'dtype' parameter must be numpy.float64 or numpy.float32"),
    ],
)
def test_cv_bad_parameters(blobs, params, exc, match):
    from gradedlib import GaussianGenerativeClassifierCV

    X, y = blobs
    with pytest.raises(exc, match=match):
        GaussianGenerativeClassifierCV(**params).fit(X, y)


@pytest.mark.parametrize(
    "cv, counts, match",
    [
        # Hold-out of 7 of 40: class 1 (6 samples) keeps floor(6 * 33 / 40) = 4 >= 2; class 2 (3) keeps 2.
        (None, [31, 6, 3], None),
        # 2 samples of class 2: a hold-out of one sixth leaves floor(2 * 33 / 41) = 1 of them.
        (None, [33, 6, 2], "Got cv=None \\(a hold-out of 7 of 41 samples\\), where class 2 has 2 samples "
                           "and some split would leave 1 of them to fit, instead"),
        (3, [30, 6, 3], None),
        (3, [30, 6, 2], "Got cv=3 \\(3-fold cross-validation\\), where class 2 has 2 samples and some split "
                        "would leave 0 of them to fit"),
        (2, [30, 6, 3], "class 2 has 3 samples and some split would leave 1 of them"),
    ],
)
def test_cv_needs_two_training_samples_of_every_class_in_every_split(cv, counts, match):
    from gradedlib import GaussianGenerativeClassifierCV

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), counts)
    X = rng.normal(size=(y.size, 2)) + 4.0 * y[:, None]
    model = GaussianGenerativeClassifierCV([0.1, 1.0], cv=cv)
    if match is None:
        assert model.fit(X, y).c_.shape == (3,)
    else:
        with pytest.raises(ValueError, match="needs at least 2 training samples of every class in every split"):
            model.fit(X, y)
        with pytest.raises(ValueError, match=match):
            model.fit(X, y)


def test_the_default_c_is_documented_as_a_placeholder():
    """c=1.0 is no choice: the docstring says so and names the estimator that chooses c."""
    import inspect

    assert inspect.signature(GaussianGenerativeClassifier).parameters["c"].default == 1.0
    doc = " ".join(GaussianGenerativeClassifier.__doc__.split())
    assert "The default 1.0 is not a choice but a placeholder" in doc
    assert ":class:`~gradedlib.model_cv.GaussianGenerativeClassifierCV`" in doc


@pytest.mark.slow
def test_library_guide_examples_print_what_the_guide_says(mnist_selection, capsys):
    """guides/library.md: every ```python block of "In Python", run in order in one namespace, prints the
    ```text block that follows it: words, labels, shapes and integers exactly, decimals within 0.002."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "guides" / "library.md").read_text(encoding="utf-8")
    section = re.search(r"^## In Python\n(.*?)(?=^## )", text, flags=re.M | re.S).group(1)
    blocks = re.findall(r"^```(\w+)\n(.*?)^```$", section, flags=re.M | re.S)
    assert [lang for lang, _ in blocks] == ["python", "text"] * (len(blocks) // 2) and len(blocks) >= 4, (
        "each example of the guide must be followed by the output it prints"
    )
    pairs = [(blocks[i][1], blocks[i + 1][1]) for i in range(0, len(blocks), 2)]
    number = re.compile(r"-?\d+(?:\.\d*)?(?:e[+-]?\d+)?")
    namespace = {}
    for code, expected in pairs:
        capsys.readouterr()
        exec(compile(code, "guides/library.md", "exec"), namespace)  # noqa: S102 - the guide's own examples
        printed = capsys.readouterr().out
        got_lines, want_lines = printed.strip().splitlines(), expected.strip().splitlines()
        assert len(got_lines) == len(want_lines), (printed, expected)
        for got, want in zip(got_lines, want_lines):
            assert number.sub("#", got).split() == number.sub("#", want).split(), (got, want)
            for g, w in zip(number.findall(got), number.findall(want)):
                if "." in w or "e" in w:
                    assert abs(float(g) - float(w)) <= 0.002, (got, want)
                else:
                    assert g == w, (got, want)
    # The estimator chose what choose_c chooses (the split of gradedlib fit and of the book).
    assert namespace["model"].c_[0] == mnist_selection.c
