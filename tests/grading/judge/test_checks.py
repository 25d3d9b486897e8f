"""The judge's checks on synthetic models: fair to correct code, strict with wrong code.

The data is random images with MNIST's scale (pixels 0..255, some always 0),
ten classes; the reference moments come from grading.judge.references.class_moments
and an independent np.cov computation checks those.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grading.judge.checks import CHECKS, Evidence, Fail, check_model, judge  # noqa: E402
from grading.run.probe import ProbeResult  # noqa: E402
from grading.judge.references import class_moments  # noqa: E402

D = 784


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 3000)
    X = np.clip(rng.normal(100 + 10 * y[:, None], 60, size=(3000, D)), 0, 255).round().astype(np.uint8)
    X[:, :50] = 0  # always-zero border pixels, as in MNIST
    return X, y


@pytest.fixture(scope="module")
def ref(data):
    return class_moments(*data)


def test_class_moments_agree_with_numpy(data, ref):
    X, y = data
    priors, means, cov, counts = ref
    j = 3
    assert np.allclose(cov[j], np.cov(X[y == j].astype(float), rowvar=False, bias=True))
    assert np.allclose(means[j], X[y == j].mean(axis=0)) and np.isclose(priors[j], np.mean(y == j))


def _model(ref, c, ddof=0, dtype=np.float64):
    priors, means, cov, counts = ref
    if ddof:
        cov = cov * (counts / (counts - 1))[:, None, None]
    sigma = cov + np.asarray(c, dtype=float).reshape(-1, 1, 1) * np.eye(D)
    return means.astype(dtype), sigma.astype(dtype), priors.astype(dtype)


def test_exact_model_gives_its_c(ref):
    assert check_model(_model(ref, 3000.0), ref, "t") == pytest.approx(3000.0)


def test_n_minus_1_covariances_are_accepted(ref):
    assert check_model(_model(ref, 3000.0, ddof=1), ref, "t") == pytest.approx(3000.0)


def test_float32_statistics_computed_in_float32_are_accepted(data, ref):
    X, y = data
    x32 = X.astype(np.float32)
    mu = np.empty((10, D), np.float32)
    sigma = np.empty((10, D, D), np.float32)
    for j in range(10):
        xj = x32[y == j]
        mu[j] = xj.mean(axis=0)
        centred = xj - mu[j]
        sigma[j] = centred.T @ centred / np.float32(len(xj)) + np.float32(3000) * np.eye(D, dtype=np.float32)
    pi = [float(np.mean(y == j)) for j in range(10)]  # a list
    assert check_model((mu, sigma, pi), ref, "t") == pytest.approx(3000.0, rel=1e-5)


@pytest.mark.parametrize("mistake, message", [
    ("uncentred", "off the diagonal"),
    ("c_off_diagonal", "off the diagonal"),
    ("subset", "mean image"),
    ("uniform_priors", "class frequencies"),
    ("c_per_class", "same c for every class"),
    ("no_c", "positive c"),
    ("c_not_constant", "varies"),
])
def test_real_mistakes_are_caught(data, ref, mistake, message):
    X, y = data
    mu, sigma, pi = _model(ref, 3000.0)
    if mistake == "uncentred":
        sigma = sigma + np.einsum("ki,kj->kij", mu, mu)
    elif mistake == "c_off_diagonal":
        sigma = sigma + 3000.0
    elif mistake == "subset":
        sub = class_moments(X[:2000], y[:2000])
        mu = sub[1]
    elif mistake == "uniform_priors":
        pi = np.full(10, 0.1)
    elif mistake == "c_per_class":
        sigma = _model(ref, np.linspace(1000, 5000, 10))[1]
    elif mistake == "no_c":
        sigma = _model(ref, 0.0)[1]
    elif mistake == "c_not_constant":
        sigma = sigma + np.diag(np.linspace(0, 50, D))
    with pytest.raises(Fail, match=message):
        check_model((mu, sigma, pi), ref, "t")


def test_a_tiny_c_in_float64_counts_as_positive_but_round_off_does_not(ref):
    assert check_model(_model(ref, 1e-5), ref, "t") == pytest.approx(1e-5, rel=1e-3)
    mu, sigma, pi = _model(ref, 0.0)
    noise = np.random.default_rng(1).normal(scale=1e-9, size=sigma.shape)
    with pytest.raises(Fail, match="positive c"):
        check_model((mu, sigma + (noise + noise.transpose(0, 2, 1)) / 2, pi), ref, "t")


def test_per_class_c_is_returned_when_allowed(ref):
    c = np.linspace(1000, 5000, 10)
    assert np.allclose(check_model(_model(ref, c), ref, "t", per_class=True), c)


def test_every_check_reports_a_missing_result_as_a_message_not_a_crash():
    evidence = Evidence(claims={}, claim_info={}, probe={"fit_unseen": ProbeResult("timeout", info={"error": "x did not return"})}, refs=None)
    verdicts = judge(evidence, list(CHECKS))
    assert set(verdicts) == set(CHECKS)
    for grade_id, messages in verdicts.items():
        assert len(messages) == 1 and "could not check" not in messages[0], (grade_id, messages)


class _Refs:
    """The two reference reads the test-error checks make, on the synthetic data."""

    def __init__(self, data, ref):
        self.data, self.ref, self.test_set_reads = data, ref, 0

    def moments(self, which="full"):
        return self.ref

    def test_set(self):  # a part of the synthetic data, to keep the test quick
        self.test_set_reads += 1
        return self.data[0][:800], self.data[1][:800]


def _per_class_evidence(data, ref, model, cache=None):
    result = ProbeResult("returned", items=[*model, np.full(10, 3000.0)], info={"tuple": True})
    claims = dict(zip(("mu_pc", "sigma_pc", "pi_pc", "c_pc"), result.items))
    return Evidence(claims, {name: {"status": "ok"} for name in claims}, {"per_class_full": result},
                    _Refs(data, ref), cache=dict(cache or {}))


@pytest.mark.parametrize("c, passes", [(3000.0, True), (1e12, False)])
def test_test_errors_computed_early_give_the_same_verdicts(data, ref, c, passes):
    from grading.judge.checks import precompute_probe_errors

    model = _model(ref, c)
    late = judge(_per_class_evidence(data, ref, model), ["test_per_class_values"])
    probe = _per_class_evidence(data, ref, model).probe
    refs = _Refs(data, ref)
    early = precompute_probe_errors(probe, refs)
    assert refs.test_set_reads == 1 and ("test error", "per_class_full") in early
    evidence = _per_class_evidence(data, ref, model, cache=early)
    assert judge(evidence, ["test_per_class_values"]) == late
    assert evidence.refs.test_set_reads == 0  # the check read the early value
    assert (late["test_per_class_values"] == []) is passes, late


def test_a_model_that_cannot_classify_fails_the_same_early_or_late(data, ref):
    from grading.judge.checks import precompute_probe_errors

    mu, sigma, pi = _model(ref, 3000.0)
    sigma = sigma.copy()
    sigma[4] = 0.0  # not positive definite, yet c per class is read from the diagonal
    model = (mu, sigma, pi)
    probe = _per_class_evidence(data, ref, model).probe
    early = precompute_probe_errors(probe, _Refs(data, ref))
    assert isinstance(early[("test error", "per_class_full")], Fail)
    with pytest.raises(Fail, match="not positive definite"):
        from grading.judge.checks import _probe_test_error

        _probe_test_error(Evidence({}, {}, probe, None, cache=early), "per_class_full", model)


@pytest.mark.parametrize("items", [
    ["not", "a", "model"],                                   # strings where arrays belong
    [np.zeros((10, 784)), np.zeros((10, 784)), np.ones(10) / 10],  # sigma of the wrong shape
    [np.zeros((10, 784)), np.full((10, 784, 784), np.nan), np.ones(10) / 10],  # NaN covariances
])
def test_a_hostile_probe_model_cannot_break_the_early_judge(data, ref, items):
    """Whatever the student's fit returns, the early pass neither raises nor changes the verdict."""
    from grading.judge.checks import precompute_probe_errors

    result = ProbeResult("returned", items=[*items, np.full(10, 3000.0)], info={"tuple": True})
    probe = {"per_class_full": result}
    early = precompute_probe_errors(probe, _Refs(data, ref))  # must not raise
    claims = dict(zip(("mu_pc", "sigma_pc", "pi_pc", "c_pc"), result.items))
    info = {name: {"status": "ok"} for name in claims}
    late = judge(Evidence(claims, info, probe, _Refs(data, ref)), ["test_per_class_values"])
    assert judge(Evidence(claims, info, probe, _Refs(data, ref), cache=early), ["test_per_class_values"]) == late
    assert late["test_per_class_values"], late  # and it fails
