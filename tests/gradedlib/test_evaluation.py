"""gradedlib.evaluation.evaluate: the job of ``gradedlib fit`` on arrays, against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gradedlib.evaluation import evaluate


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    d = 12

    def draw(n):
        y = rng.integers(0, 3, n)
        X = rng.normal(0, 1, (n, d)) * (1 + y[:, None]) + 2.0 * y[:, None]
        return X, y

    return draw(600), draw(300)


def _scipy_labels(X, X_train, y_train, c):
    """Independent reference: class frequencies, means, covariances (divided by n_j) + cI, scipy logpdf."""
    scores = []
    for j in np.unique(y_train):
        xj = X_train[y_train == j]
        cov = np.cov(xj, rowvar=False, bias=True) + c * np.eye(X.shape[1])
        scores.append(np.log(len(xj) / len(y_train)) + multivariate_normal(xj.mean(axis=0), cov).logpdf(X))
    return np.argmax(np.stack(scores, axis=1), axis=1)


def test_given_c_matches_scipy(data):
    (X, y), (Xt, yt) = data
    messages = []
    ev = evaluate(X, y, Xt, yt, c=0.5, progress=lambda step, total, message: messages.append((step, message)))
    expected_test = _scipy_labels(Xt, X, y, 0.5)
    np.testing.assert_array_equal(ev.test_predictions, expected_test)
    assert ev.test_error == pytest.approx(np.mean(expected_test != yt))
    assert ev.train_error == pytest.approx(np.mean(_scipy_labels(X, X, y, 0.5) != y))
    assert ev.selection is None and ev.c == 0.5 and "choose_c" not in ev.timings
    assert ev.confusion.sum() == len(yt) and np.trace(ev.confusion) == np.sum(expected_test == yt)
    assert messages[0] == (None, "fitting on all 600 training images")


def test_c_is_chosen_on_the_training_set_only(data):
    (X, y), (Xt, yt) = data
    ev = evaluate(X, y, Xt, yt, folds=3)
    assert ev.selection is not None and ev.c == ev.selection.c and "choose_c" in ev.timings
    # the search never saw the test set: the same c with another test set
    ev2 = evaluate(X, y, Xt[::-1], yt[::-1], folds=3)
    assert ev2.c == ev.c


def test_bad_c_is_refused_by_the_model(data):
    (X, y), (Xt, yt) = data
    with pytest.raises(ValueError, match="'c'"):
        evaluate(X, y, Xt, yt, c=-1.0)
