"""Tests of the covariance family against independent references.

scikit-learn's GaussianNB, LinearDiscriminantAnalysis and
QuadraticDiscriminantAnalysis, its ledoit_wolf / oas shrunk covariances, and
scipy's multivariate_normal on explicitly built covariances.
"""

import warnings

import numpy as np
import pytest
from scipy.special import softmax
from scipy.stats import multivariate_normal
from sklearn.covariance import ledoit_wolf, oas
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.naive_bayes import GaussianNB
from sklearn.utils.estimator_checks import check_estimator

from gradedlib.model import GaussianGenerativeClassifier


@pytest.fixture(scope="module")
def data():
    """Four overlapping 6-D classes with different covariances and sizes."""
    rng = np.random.default_rng(5)
    blocks, labels = [], []
    for j, n in enumerate([60, 90, 45, 75]):
        A = rng.normal(size=(6, 6)) * (0.6 + 0.4 * j)
        blocks.append(rng.normal(size=(n, 6)) @ A + rng.normal(0, 2.0, size=6))
        labels.append(np.full(n, j))
    return np.vstack(blocks), np.concatenate(labels)


def moments(X, y):
    classes = np.unique(y)
    priors = np.array([np.mean(y == j) for j in classes])
    means = np.array([X[y == j].mean(axis=0) for j in classes])
    covs = np.array([np.cov(X[y == j], rowvar=False, bias=True) for j in classes])
    return priors, means, covs


def scipy_joint(X, priors, means, covs):
    return np.column_stack(
        [np.log(priors[j]) + multivariate_normal(means[j], covs[j]).logpdf(X) for j in range(len(priors))]
    )


def test_diag_equals_gaussian_naive_bayes(data):
    X, y = data
    gnb = GaussianNB(var_smoothing=1e-3).fit(X, y)
    model = GaussianGenerativeClassifier(c=gnb.epsilon_, covariance="diag").fit(X, y)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), gnb.predict_joint_log_proba(X), rtol=1e-10)
    np.testing.assert_allclose(np.diagonal(model.covariances_, axis1=1, axis2=2) + gnb.epsilon_, gnb.var_, rtol=1e-12)


@pytest.mark.parametrize("c", [0.0, 0.7])
def test_tied_equals_lda(data, c):
    X, y = data
    model = GaussianGenerativeClassifier(c=c, covariance="tied").fit(X, y)
    priors, means, covs = moments(X, y)
    pooled = np.tensordot(priors, covs, axes=1)
    lda = LinearDiscriminantAnalysis(solver="lsqr", store_covariance=True).fit(X, y)
    np.testing.assert_allclose(model.covariances_[0], lda.covariance_, atol=1e-10)
    assert all(b is model.bases_[0] for b in model.bases_)  # one shared factorisation
    expected = scipy_joint(X, priors, means, [pooled + c * np.eye(6)] * 4)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), expected, rtol=1e-9)
    if c == 0.0:
        np.testing.assert_allclose(model.predict_proba(X), lda.predict_proba(X), atol=1e-9)
        np.testing.assert_array_equal(model.predict(X), lda.predict(X))


def test_full_against_qda_with_reg_param():
    """QDA(reg_param=r) on X/s has the covariance (1 - r) S_j / s^2 + r I = ((1 - r) / s^2)(S_j + c I), c = s^2 r / (1 - r).

    Same covariances up to the common factor (1 - r) / s^2, but that factor
    divides every Mahalanobis term by 1 - r (a temperature), so QDA is *not*
    the classifier S_j + c I: its log posterior is recovered exactly from
    ours by rescaling the Mahalanobis part, checked here. (QDA divides by
    n_j in scikit-learn 1.9 and by n_j - 1 before; equal class sizes make
    that a common factor too, read off the fitted QDA.)
    """
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(50, 5)) @ rng.normal(size=(5, 5)) * 40 + 60 * j for j in range(3)])
    y = np.repeat([0, 1, 2], 50)
    r, n, s, d = 0.2, 50, 255.0, 5
    qda = QuadraticDiscriminantAnalysis(reg_param=r).fit(X / s, y)
    model = GaussianGenerativeClassifier(c=0.0).fit(X, y)
    k = (np.max(qda.scalings_[0]) - r) / ((1 - r) * model.eigenvalues_[0, -1] / s**2)
    assert k == pytest.approx(1.0, rel=1e-9) or k == pytest.approx(n / (n - 1), rel=1e-9)
    a = (1 - r) * k  # QDA covariance = (a / s^2) (S_j + c I)
    c = s**2 * r / a
    model.set_params(c=c)
    joint = model.predict_joint_log_proba(X)
    log_prior = np.log(model.priors_)
    log_det = np.log(model.eigenvalues_ + c).sum(axis=1)
    mahalanobis = -2 * (joint - log_prior) - d * np.log(2 * np.pi) - log_det
    decision = log_prior - 0.5 * (d * np.log(a / s**2) + log_det + mahalanobis / a)
    log_posterior = decision - np.logaddexp.reduce(decision, axis=1, keepdims=True)
    np.testing.assert_allclose(log_posterior, qda.predict_log_proba(X / s), atol=1e-9)
    assert not np.allclose(model.predict_proba(X), qda.predict_proba(X / s), atol=1e-3)


@pytest.mark.parametrize("alpha", [0.0, 0.35, 1.0])
def test_rda_blend_matches_scipy(data, alpha):
    X, y = data
    c = 0.4
    model = GaussianGenerativeClassifier(c=c, alpha=alpha).fit(X, y)
    priors, means, covs = moments(X, y)
    pooled = np.tensordot(priors, covs, axes=1)
    blended = [alpha * covs[j] + (1 - alpha) * pooled + c * np.eye(6) for j in range(4)]
    np.testing.assert_allclose(model.predict_joint_log_proba(X), scipy_joint(X, priors, means, blended), rtol=1e-9)
    if alpha == 0.0:
        tied = GaussianGenerativeClassifier(c=c, covariance="tied").fit(X, y)
        np.testing.assert_allclose(model.predict_joint_log_proba(X), tied.predict_joint_log_proba(X), rtol=1e-10)


def test_spherical_is_nearest_mean(data):
    X, y = data
    c = 0.3
    model = GaussianGenerativeClassifier(c=c, covariance="spherical").fit(X, y)
    priors, means, _ = moments(X, y)
    sigma2 = np.mean((X - means[y]) ** 2)
    expected = scipy_joint(X, priors, means, [(sigma2 + c) * np.eye(6)] * 4)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), expected, rtol=1e-10)
    dist = ((X[:, None, :] - means[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(model.predict(X), np.argmin(dist - 2 * (sigma2 + c) * np.log(priors), axis=1))


@pytest.mark.parametrize("name, estimator", [("ledoit-wolf", ledoit_wolf), ("oas", oas)])
def test_shrinkage_convex_is_sklearns_shrunk_covariance(data, name, estimator):
    X, y = data
    model = GaussianGenerativeClassifier(c=name).fit(X, y)
    priors, means, _ = moments(X, y)
    shrunk = [estimator(X[y == j])[0] for j in range(4)]
    rho = [estimator(X[y == j])[1] for j in range(4)]
    np.testing.assert_allclose(model.shrinkage_, rho, rtol=1e-12)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), scipy_joint(X, priors, means, shrunk), rtol=1e-9)


def test_shrinkage_additive_is_s_plus_c_and_differs(data):
    X, y = data
    convex = GaussianGenerativeClassifier(c="ledoit-wolf").fit(X, y)
    additive = GaussianGenerativeClassifier(c="ledoit-wolf", shrinkage_form="additive").fit(X, y)
    rho = convex.shrinkage_
    m = np.array([np.trace(np.cov(X[y == j], rowvar=False, bias=True)) / 6 for j in range(4)])
    np.testing.assert_allclose(additive.c_, rho * m / (1 - rho), rtol=1e-12)
    np.testing.assert_array_equal(additive.scale_, 1.0)
    np.testing.assert_allclose(convex.scale_, 1 - rho, rtol=1e-12)
    plain = GaussianGenerativeClassifier(c=additive.c_).fit(X, y)
    np.testing.assert_allclose(additive.predict_joint_log_proba(X), plain.predict_joint_log_proba(X), rtol=1e-12)
    # The factor 1 - rho_j moves each class's log-determinant by d log(1 - rho_j):
    # the posteriors are those of a different classifier.
    diff = convex.predict_joint_log_proba(X) - additive.predict_joint_log_proba(X)
    assert np.ptp(rho) > 0.01
    assert not np.allclose(softmax(convex.predict_joint_log_proba(X), axis=1), softmax(additive.predict_joint_log_proba(X), axis=1))
    assert np.all(np.isfinite(diff))


def test_tied_shrinkage_matches_scipy(data):
    X, y = data
    model = GaussianGenerativeClassifier(c="oas", covariance="tied").fit(X, y)
    priors, means, _ = moments(X, y)
    shrunk, rho = oas(X - means[y], assume_centered=True)
    np.testing.assert_allclose(model.shrinkage_, rho, rtol=1e-12)
    np.testing.assert_allclose(model.predict_joint_log_proba(X), scipy_joint(X, priors, means, [shrunk] * 4), rtol=1e-9)


@pytest.mark.parametrize(
    "params",
    [
        dict(covariance="tied"),
        dict(covariance="diag"),
        dict(covariance="spherical"),
        dict(alpha=0.5),
        dict(c="oas"),
        dict(dtype=np.float32),
    ],
)
def test_sklearn_check_estimator_variants(params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(GaussianGenerativeClassifier(**params), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert failed == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_output_is_invariant_to_the_order_of_the_rows(dtype):
    # scikit-learn's check_methods_sample_order_invariance draws one unseeded
    # permutation of 20 rows with 3 features; here 100 seeded ones on the same data.
    # A float32 GEMV for the weighted squares failed about one permutation in five.
    X = 3 * np.random.RandomState(0).uniform(size=(20, 3))
    y = X[:, 0].astype(np.int64)
    model = GaussianGenerativeClassifier(dtype=dtype).fit(X, y)
    rng = np.random.RandomState(1)
    for _ in range(100):
        idx = rng.permutation(X.shape[0])
        for method in ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba"):
            np.testing.assert_allclose(
                getattr(model, method)(X[idx]), getattr(model, method)(X)[idx], rtol=1e-7, atol=1e-9, err_msg=method
            )


@pytest.mark.parametrize(
    "params, exc, match",
    [
        (dict(covariance="lda"), ValueError, "'covariance' parameter must be one of 'full', 'tied', 'diag', 'spherical'. Got 'lda' instead"),
        (dict(alpha=1.5), ValueError, "'alpha' parameter must be a float in \\[0, 1\\]. Got 1.5 instead"),
        (dict(alpha="half"), TypeError, "'alpha' parameter must be a float in \\[0, 1\\]. Got 'half'"),
        (dict(alpha=0.5, covariance="tied"), ValueError, "'alpha' parameter blends.*Got alpha=0.5 with covariance='tied'"),
        (dict(c="auto"), TypeError, "'c' parameter must be a non-negative float.*'ledoit-wolf', 'oas'. Got 'auto'"),
        (dict(c="oas", covariance="diag"), ValueError, "'c' parameter 'oas'.*needs covariance='full'.*Got covariance='diag'"),
        (dict(c="oas", shrinkage_form="mixed"), ValueError, "'shrinkage_form' parameter must be one of 'convex', 'additive'. Got 'mixed'"),
        (dict(dtype="float16"), ValueError, "'dtype' parameter must be numpy.float64 or numpy.float32. Got 'float16'"),
    ],
)
def test_bad_parameters(data, params, exc, match):
    X, y = data
    with pytest.raises(exc, match=match):
        GaussianGenerativeClassifier(**params).fit(X, y)


def test_shrinkage_needs_refit_after_change(data):
    X, y = data
    model = GaussianGenerativeClassifier(c="oas").fit(X, y)
    model.set_params(c="ledoit-wolf")
    with pytest.raises(ValueError, match="refit the model. Got c='ledoit-wolf' after a fit with c='oas'"):
        model.predict(X)
    model.set_params(c=0.5)  # a number needs no refit
    np.testing.assert_allclose(
        model.predict_joint_log_proba(X), GaussianGenerativeClassifier(c=0.5).fit(X, y).predict_joint_log_proba(X), rtol=1e-12
    )
