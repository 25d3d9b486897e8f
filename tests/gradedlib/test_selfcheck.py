"""gradedlib.selfcheck: the visible value checks of the assignment.

Every check must pass on the reference solution and on two correct solutions
that differ from it (k-fold with np.cov dividing by n - 1; scipy's
multivariate_normal with a hard-coded 784), and each common mistake must be
caught with a message that says what was expected and what was found.

The student functions are source text (copied from the nbgrader source
notebook and from the simulated class of tests/assignment_fixtures) executed
in a fresh namespace, as in a notebook; the mistakes are one-line edits of it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradedlib import selfcheck
from gradedlib.selfcheck import (
    SelfCheckError,
    check_chosen_c,
    check_fit,
    check_fit_per_class_c,
    check_predict,
    synthetic_classes,
)

ROOT = Path(__file__).resolve().parents[2]

# Small images for the mistakes (fast); the reference and the alternatives
# also run at the default 784 pixels, as in the notebook.
SMALL = 16

REFERENCE = '''
import numpy as np
import scipy.linalg


def class_statistics(x, y, k=10):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    n, d = x.shape
    pi = np.empty(k)
    mu = np.empty((k, d))
    cov = np.empty((k, d, d))
    for j in range(k):
        xj = x[y == j]
        pi[j] = xj.shape[0] / n
        mu[j] = xj.mean(axis=0)
        centred = xj - mu[j]
        cov[j] = centred.T @ centred / xj.shape[0]
    return pi, mu, cov


def holdout_split(n, validation_fraction=1 / 6, seed=0):
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * validation_fraction))
    return order[n_val:], order[:n_val]


def validation_scores(x_train, y_train, x_val, candidates, k=10):
    pi, mu, cov = class_statistics(x_train, y_train, k)
    x_val = np.asarray(x_val, dtype=np.float64)
    d = x_val.shape[1]
    scores = np.empty((len(candidates), x_val.shape[0], k))
    for j in range(k):
        lam, V = np.linalg.eigh(cov[j])
        lam = np.clip(lam, 0.0, None)
        sq = (x_val @ V - mu[j] @ V) ** 2
        for i, c in enumerate(candidates):
            scores[i, :, j] = np.log(pi[j]) - 0.5 * (
                np.sum(np.log(lam + c)) + sq @ (1.0 / (lam + c)) + d * np.log(2 * np.pi)
            )
    return scores


def choose_c(x, y, candidates=np.logspace(0, 6, 25), k=10):
    train, val = holdout_split(len(y))
    scores = validation_scores(x[train], y[train], x[val], candidates, k)
    errors = np.mean(np.argmax(scores, axis=2) != np.asarray(y)[val], axis=1)
    return float(candidates[np.argmin(errors)])


def fit_generative_model(x, y):
    c = choose_c(x, y)
    pi, mu, cov = class_statistics(x, y)
    sigma = cov + c * np.eye(cov.shape[1])
    return mu, sigma, pi


def predict(x, mu, sigma, pi):
    x = np.asarray(x, dtype=np.float64)
    k, d = len(pi), x.shape[1]
    scores = np.empty((x.shape[0], k))
    for j in range(k):
        L = np.linalg.cholesky(sigma[j])
        L_inv = scipy.linalg.solve_triangular(L, np.eye(d), lower=True)
        z = x @ L_inv.T - L_inv @ np.asarray(mu[j])
        log_det = 2.0 * np.sum(np.log(np.diag(L)))
        scores[:, j] = np.log(pi[j]) - 0.5 * (log_det + np.einsum("ij,ij->i", z, z))
    return np.argmax(scores, axis=1)


def fit_generative_model_per_class_c(x, y):
    candidates = np.logspace(0, 6, 25)
    train, val = holdout_split(len(y))
    scores = validation_scores(x[train], y[train], x[val], candidates)
    y_val = np.asarray(y)[val]
    classes = np.arange(10)

    def validation_error(choice):
        return np.mean(np.argmax(scores[choice, :, classes].T, axis=1) != y_val)

    single = np.mean(np.argmax(scores, axis=2) != y_val, axis=1)
    choice = np.full(10, np.argmin(single))
    for sweep in range(3):
        changed = False
        for j in range(10):
            errors = []
            for i in range(len(candidates)):
                trial = choice.copy()
                trial[j] = i
                errors.append(validation_error(trial))
            best = int(np.argmin(errors))
            if errors[best] < errors[choice[j]]:
                choice[j] = best
                changed = True
        if not changed:
            break
    c = candidates[choice]
    pi, mu, cov = class_statistics(x, y)
    sigma = cov + c[:, None, None] * np.eye(cov.shape[1])
    return mu, sigma, pi, c
'''

# Correct but different (tests/assignment_fixtures/submissions.py).
KFOLD_CHOLESKY = '''
import numpy as np
import scipy.linalg


def fit_generative_model(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    candidates = np.logspace(2, 5, 13)
    folds = np.array_split(np.random.default_rng(7).permutation(len(y)), 3)
    wrong = np.zeros(len(candidates))
    for f in range(3):
        val = folds[f]
        train = np.concatenate([folds[g] for g in range(3) if g != f])
        scores = np.empty((len(candidates), len(val), 10))
        for j in range(10):
            xj = x[train][y[train] == j]
            m = xj.mean(axis=0)
            lam, V = np.linalg.eigh(np.cov(xj, rowvar=False))
            lam = np.clip(lam, 0, None)
            p = np.log(len(xj) / len(train))
            sq = ((x[val] - m) @ V) ** 2
            for i, c in enumerate(candidates):
                scores[i, :, j] = p - 0.5 * (np.log(lam + c).sum() + sq @ (1 / (lam + c)))
        wrong += np.sum(np.argmax(scores, axis=2) != y[val], axis=1)
    c = candidates[np.argmin(wrong)]
    mu = np.array([x[y == j].mean(axis=0) for j in range(10)])
    sigma = np.array([np.cov(x[y == j], rowvar=False) + c * np.eye(x.shape[1]) for j in range(10)])
    pi = np.bincount(y, minlength=10) / len(y)
    return mu, sigma, pi


def predict(x, mu, sigma, pi):
    x = np.asarray(x, dtype=np.float64)
    scores = np.empty((len(x), len(pi)))
    for j in range(len(pi)):
        L = scipy.linalg.cholesky(sigma[j], lower=True)
        z = scipy.linalg.solve_triangular(L, (x - mu[j]).T, lower=True)
        scores[:, j] = np.log(pi[j]) - np.log(np.diag(L)).sum() - 0.5 * (z * z).sum(axis=0)
    return np.argmax(scores, axis=1)
'''

SCIPY_MVN = '''
import numpy as np
from scipy.stats import multivariate_normal
from sklearn.model_selection import train_test_split


def fit_generative_model(x, y):
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=0.2, random_state=1)
    best_c, best_error = None, np.inf
    for c in [1500.0, 6000.0]:
        scores = np.column_stack([
            np.log(np.mean(y_tr == j))
            + multivariate_normal(x_tr[y_tr == j].mean(axis=0),
                                  np.cov(x_tr[y_tr == j], rowvar=False, bias=True) + c * np.eye(784)).logpdf(x_val)
            for j in range(10)
        ])
        error = np.mean(np.argmax(scores, axis=1) != y_val)
        if error < best_error:
            best_c, best_error = c, error
    mu = np.array([x[y == j].mean(axis=0) for j in range(10)])
    sigma = np.array([np.cov(x[y == j], rowvar=False, bias=True) + best_c * np.eye(784) for j in range(10)])
    pi = np.array([np.mean(y == j) for j in range(10)])
    return mu, sigma, pi


def predict(x, mu, sigma, pi):
    scores = np.column_stack([
        np.log(pi[j]) + multivariate_normal(mu[j], sigma[j]).logpdf(x) for j in range(len(pi))
    ])
    return np.argmax(np.atleast_2d(scores), axis=1)
'''


def load(source: str, *edits: tuple[str, str]) -> dict:
    """Execute ``source`` after the edits (old, new), each of which must match once."""
    for old, new in edits:
        assert source.count(old) == 1, f"the edit {old!r} must match exactly once"
        source = source.replace(old, new)
    namespace: dict = {}
    exec(compile(textwrap.dedent(source), "<student>", "exec"), namespace)  # noqa: S102 - an edited solution
    return namespace


def failure(check, function, **kwargs) -> str:
    with pytest.raises(SelfCheckError) as info:
        check(function, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------- the data --

def test_synthetic_classes_are_exact():
    data = synthetic_classes(SMALL)
    assert data.x.shape == (300, SMALL) and data.y.shape == (300,)
    assert np.array_equal(np.bincount(data.y, minlength=10), data.counts)
    for ddof in (0, 1):
        cov = data.covariances(ddof)
        for j in range(10):
            xj = data.x[data.y == j]
            np.testing.assert_allclose(xj.mean(axis=0), data.means[j], atol=1e-9)
            np.testing.assert_allclose(np.cov(xj, rowvar=False, ddof=ddof), cov[j], atol=1e-8)
    # pixels outside the informative ones are 0 in every image
    others = np.setdiff1d(np.arange(SMALL), data.pixels)
    assert np.all(data.x[:, others] == 0)


def test_synthetic_classes_leave_numpy_global_state_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    synthetic_classes(SMALL)
    assert np.array_equal(np.random.get_state()[1], before)


def test_synthetic_classes_rejects_too_few_pixels():
    with pytest.raises(ValueError, match=r"n_pixels must be an integer >= 12. Got 5 instead"):
        synthetic_classes(5)


# ------------------------------------------------- correct solutions pass --

@pytest.mark.parametrize("source", [REFERENCE, KFOLD_CHOLESKY], ids=["reference", "kfold_cholesky"])
def test_correct_solutions_pass_small(source, capsys):
    ns = load(source)
    check_fit(ns["fit_generative_model"], n_pixels=SMALL)
    check_predict(ns["predict"], n_pixels=SMALL)
    out = capsys.readouterr()
    assert "fit_generative_model: all" in out.out and "predict: all 8 self-checks passed" in out.out
    assert out.err == ""


@pytest.mark.slow
def test_reference_passes_at_784_pixels(capsys):
    """The default, as in the notebook (about 40 eigendecompositions of 784 x 784)."""
    ns = load(REFERENCE)
    check_fit(ns["fit_generative_model"])
    check_predict(ns["predict"])
    out = capsys.readouterr().out
    assert "fit_generative_model: all 6 self-checks passed" in out and "dividing by n_j)" in out
    assert "predict: all 8 self-checks passed" in out


def test_reference_per_class_passes(capsys):
    ns = load(REFERENCE)
    check_fit_per_class_c(ns["fit_generative_model_per_class_c"], n_pixels=SMALL)
    assert "fit_generative_model_per_class_c: all 7 self-checks passed" in capsys.readouterr().out


def test_scipy_solution_passes(capsys):
    # the simulated class's version hard-codes 784; here the size of x, to run small
    ns = load(SCIPY_MVN.replace("np.eye(784)", "np.eye(x.shape[1])"))
    check_fit(ns["fit_generative_model"], n_pixels=SMALL)
    check_predict(ns["predict"], n_pixels=SMALL)
    out = capsys.readouterr().out
    assert "fit_generative_model: all 6 self-checks passed" in out and "predict: all 8 self-checks passed" in out


def test_n_minus_one_covariance_is_accepted(capsys):
    ns = load(REFERENCE, ("cov[j] = centred.T @ centred / xj.shape[0]", "cov[j] = centred.T @ centred / (xj.shape[0] - 1)"))
    check_fit(ns["fit_generative_model"], n_pixels=SMALL)
    check_fit_per_class_c(ns["fit_generative_model_per_class_c"], n_pixels=SMALL)
    assert "dividing by n_j - 1" in capsys.readouterr().out


# --------------------------------------------------- fit: mistakes caught --

FIT_MISTAKES = {
    "no_c": (("sigma = cov + c * np.eye(cov.shape[1])", "sigma = cov"),
             "expected the covariance of class 0 plus c I with c > 0; found c = 0"),
    "c_everywhere": (("sigma = cov + c * np.eye(cov.shape[1])", "sigma = cov + c"),
                     "Off the diagonal, sigma[0] is the covariance of class 0 alone"),
    "pi_counts": (("pi[j] = xj.shape[0] / n", "pi[j] = xj.shape[0]"),
                  "these are the counts: divide by the number of images n"),
    "pi_uniform": (("pi[j] = xj.shape[0] / n", "pi[j] = 1 / k"),
                   "equal priors: pi[j] must be the share of label j in y"),
    "mu_rescaled": (("mu[j] = xj.mean(axis=0)\n", "mu[j] = xj.mean(axis=0) / 255\n"),
                    "your mu is divided by 255"),
    "mu_global": (("mu[j] = xj.mean(axis=0)\n", "mu[j] = x.mean(axis=0)\n"),
                  "that is the mean of all images"),
    "c_per_pixel": (("sigma = cov + c * np.eye(cov.shape[1])", "sigma = cov + c * np.diag(np.arange(1.0, cov.shape[1] + 1))"),
                    "Add c * np.eye(d) once"),
    "argmax_c": (("return float(candidates[np.argmin(errors)])", "return float(candidates[np.argmax(errors)])"),
                 "Keep the candidate with the LOWEST validation error"),
    "split_changes": (("order = np.random.default_rng(seed).permutation(n)",
                       "COUNTER.append(1)\n    order = np.random.default_rng(2 + len(COUNTER)).permutation(n)"),
                      "expected the same result on a second call after np.random.seed(0)"),
    "modifies_x": (("    c = choose_c(x, y)\n", "    x *= 1.0\n    x[0, 0] += 1.0\n    c = choose_c(x, y)\n"),
                   "your function modified its arguments in place"),
}


@pytest.mark.parametrize("mistake", sorted(FIT_MISTAKES))
def test_fit_mistake_is_caught(mistake):
    edit, message = FIT_MISTAKES[mistake]
    source = REFERENCE if mistake != "split_changes" else "COUNTER = []\n" + REFERENCE
    ns = load(source, edit)
    text = failure(check_fit, ns["fit_generative_model"], n_pixels=SMALL)
    assert message in text, text
    assert "expected" in text and "found" in text
    assert "on synthetic data (not MNIST)" in text or "raised" in text


def test_fit_returning_dicts_is_caught():
    ns = load(REFERENCE + '''
def fit_generative_model(x, y):
    c = choose_c(x, y)
    pi, mu_array, cov = class_statistics(x, y)
    mu = {j: mu_array[j] for j in range(10)}
    sigma = {j: cov[j] + c * np.eye(cov.shape[1]) for j in range(10)}
    return mu, sigma, pi
''')
    text = failure(check_fit, ns["fit_generative_model"], n_pixels=SMALL)
    assert "mu (returned by fit_generative_model): expected a numpy array of shape (10, 16); found dict" in text


def test_fit_that_raises_names_the_error_and_the_data():
    ns = load(REFERENCE, ("sigma = cov + c * np.eye(cov.shape[1])", "sigma = cov + c * np.eye(784)"))
    text = failure(check_fit, ns["fit_generative_model"], n_pixels=SMALL)
    assert text.startswith("fit_generative_model raised ValueError")
    assert "x of shape (300, 16)" in text


def test_fit_wrong_return_form():
    text = failure(check_fit, lambda x, y: (1, 2))
    assert text == "fit_generative_model: expected a tuple (mu, sigma, pi); found a tuple of length 2."
    text = failure(check_fit, "not a function")
    assert "expected a function; found str" in text


# ------------------------------------------ per-class fit: c added once --

def test_per_class_c_added_twice_is_caught():
    ns = load(REFERENCE, ("sigma = cov + c[:, None, None] * np.eye(cov.shape[1])",
                          "sigma = cov + c[:, None, None] * np.eye(cov.shape[1])\n    sigma = sigma + c[:, None, None] * np.eye(cov.shape[1])"))
    text = failure(check_fit_per_class_c, ns["fit_generative_model_per_class_c"], n_pixels=SMALL)
    assert "expected the value added to the diagonal of sigma[" in text
    assert "is c added more than once?" in text


def test_single_c_with_different_values_per_class_is_caught():
    ns = load(REFERENCE)

    def fit(x, y):
        mu, sigma, pi, c = ns["fit_generative_model_per_class_c"](x, y)
        return mu, sigma + np.arange(10)[:, None, None] * np.eye(x.shape[1]), pi

    text = failure(check_fit, fit, n_pixels=SMALL)
    assert "expected one c added to all ten covariances; found c = [" in text


# ------------------------------------------------- predict: mistakes caught --

PREDICT_MISTAKES = {
    "no_log_prior": (("scores[:, j] = np.log(pi[j]) - 0.5 * (log_det", "scores[:, j] = - 0.5 * (log_det"),
                     "Is log pi[j] part of your score?"),
    "no_log_det": (("0.5 * (log_det + np.einsum", "0.5 * (0 * log_det + np.einsum"),
                   "Is -0.5 * log det(sigma[j]) part of your score?"),
    "no_half": (("scores[:, j] = np.log(pi[j]) - 0.5 * (log_det", "scores[:, j] = np.log(pi[j]) - (log_det"),
                "general case (different means, covariances and priors): expected the label of the largest"),
    "prior_not_log": (("scores[:, j] = np.log(pi[j]) - 0.5", "scores[:, j] = pi[j] - 0.5"),
                      "general case (different means, covariances and priors): expected the label of the largest"),
    "argmin": (("return np.argmax(scores, axis=1)", "return np.argmin(scores, axis=1)"),
               "equal covariances and equal priors: expected the label of the nearest mean"),
    "densities": (("return np.argmax(scores, axis=1)", "return np.argmax(np.exp(scores), axis=1)"),
                  "never the log of a density"),
    "c_added_again": (("L = np.linalg.cholesky(sigma[j])", "L = np.linalg.cholesky(sigma[j] + 1000.0 * np.eye(d))"),
                      "expected numpy.linalg.LinAlgError because every sigma[j] is singular; found labels instead"),
    "c_added_in_place": (("L = np.linalg.cholesky(sigma[j])", "sigma[j] += 1.0 * np.eye(d)\n        L = np.linalg.cholesky(sigma[j])"),
                         "expected predict to leave its arguments unchanged; it modified sigma"),
    "skips_singular": (("L = np.linalg.cholesky(sigma[j])",
                        "try:\n            L = np.linalg.cholesky(sigma[j])\n        except np.linalg.LinAlgError:\n"
                        "            scores[:, j] = -np.inf\n            continue"),
                       "one singular covariance (class 6): expected numpy.linalg.LinAlgError"),
    "pinv": (("L = np.linalg.cholesky(sigma[j])", "L = np.linalg.cholesky(sigma[j] + 1e-9 * np.trace(sigma[j]) * np.eye(d))"),
             "singular covariances (no c added): expected numpy.linalg.LinAlgError"),
    "float_labels": (("return np.argmax(scores, axis=1)", "return np.argmax(scores, axis=1).astype(float)"),
                     "expected an integer array of labels; found dtype float64"),
    # state kept between calls: every second call moves the first point's label
    "state_between_calls": (("return np.argmax(scores, axis=1)",
                             "labels = np.argmax(scores, axis=1)\n    CALLS.append(1)\n"
                             "    if len(CALLS) % 2 == 0:\n        labels[0] = (labels[0] + 1) % k\n    return labels"),
                            "predict: expected the same labels on a second call with the same arguments after "
                            "np.random.seed(0); found different labels"),
}


@pytest.mark.parametrize("mistake", sorted(PREDICT_MISTAKES))
def test_predict_mistake_is_caught(mistake):
    edit, message = PREDICT_MISTAKES[mistake]
    ns = load("CALLS = []\n" + REFERENCE, edit)
    text = failure(check_predict, ns["predict"], n_pixels=SMALL)
    assert message in text, text


def test_predict_raising_another_error_on_singular_is_reported():
    ns = load(REFERENCE)

    def predict(x, mu, sigma, pi):
        if np.linalg.matrix_rank(sigma[6]) < sigma.shape[1]:
            raise ValueError("singular")
        return ns["predict"](x, mu, sigma, pi)

    text = failure(check_predict, predict, n_pixels=SMALL)
    assert "expected numpy.linalg.LinAlgError because sigma[6] is singular" in text
    assert "found ValueError: singular" in text


# ------------------------------------------------------------- chosen_c --

def test_check_chosen_c():
    data = synthetic_classes(SMALL)
    ns = load(REFERENCE)
    np.random.seed(0)
    mu, sigma, pi = ns["fit_generative_model"](data.x, data.y)
    c = float(sigma[0][0, 0] - data.x[data.y == 0][:, 0].var())
    check_chosen_c(c, sigma, data.x, data.y)
    with pytest.raises(SelfCheckError, match=r"chosen_c: expected the c added to sigma\[0\], .*; found chosen_c = .*"
                                             r" \(sigma holds twice chosen_c: is c added twice\?\)"):
        check_chosen_c(c / 2, sigma, data.x, data.y)
    with pytest.raises(SelfCheckError, match=r"chosen_c: expected a float; found int 3"):
        check_chosen_c(3, sigma, data.x, data.y)
    np1 = data.x[data.y == 0].var(axis=0, ddof=1)
    sigma1 = sigma.copy()
    sigma1[0] = np.diag(np1 + c)
    check_chosen_c(c, sigma1, data.x, data.y)


# ------------------------------------------- works without model/selection --

def test_selfcheck_works_with_model_and_selection_blocked():
    """The grading sandbox removes gradedlib.model and gradedlib.selection:
    the self-checks must neither import them nor call into them."""
    code = textwrap.dedent('''
        import importlib, sys
        import gradedlib  # its __init__ may import them; they are dropped below
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name in ("gradedlib.model", "gradedlib.selection"):
                    raise ImportError(f"{name} is blocked")
                return None
        for name in ("gradedlib.model", "gradedlib.selection", "gradedlib.selfcheck"):
            sys.modules.pop(name, None)
            if hasattr(gradedlib, name.split(".")[1]):
                delattr(gradedlib, name.split(".")[1])
        sys.meta_path.insert(0, Block())
        sc = importlib.import_module("gradedlib.selfcheck")
        ns = {}
        exec(sys.stdin.read(), ns)
        sc.check_fit(ns["fit_generative_model"], n_pixels=16)
        sc.check_predict(ns["predict"], n_pixels=16)
        assert "gradedlib.model" not in sys.modules and "gradedlib.selection" not in sys.modules
        print("ok")
    ''')
    proc = subprocess.run([sys.executable, "-c", code], input=REFERENCE, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")


def test_no_mnist_value_in_messages():
    """The checks never load MNIST: their data is synthetic."""
    import inspect

    source = inspect.getsource(selfcheck)
    assert "load_mnist" not in source and "gradedlib.data" not in source


# ------------------------------ the release's visible cells, on the class --

SELF_CHECKED_CELLS = ("test_fit_shapes", "test_predict_shapes", "test_per_class_shapes")


def _visible_self_checks(student: str, monkeypatch) -> dict:
    """{visible test cell: "passed" or the SelfCheckError message} for a simulated submission.

    The submission is built on the released notebook (as a student would fill
    it); its functions are re-created from its cells' definitions (no MNIST is
    loaded), then each visible test cell's self-check lines run as written.
    """
    import nbformat

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    from assignment_fixtures.course import build_submission
    from assignment_fixtures.submissions import SUBMISSIONS
    from grading.run.probe import definitions_of

    release = nbformat.read(ROOT / "exercises" / "gaussian_generative" / "gaussian_generative.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / "gaussian_generative" / "gaussian_generative.ipynb", as_version=4)
    nb = build_submission(release, solution, SUBMISSIONS[student], {"COURSE": "/nonexistent", "PORT": 9})
    grade_id = lambda cell: cell.metadata.get("nbgrader", {}).get("grade_id")  # noqa: E731
    cells = [(i, c.source) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and not grade_id(c).startswith("test_")]
    statements, _ = definitions_of(cells)
    namespace: dict = {}
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    for statement in statements:
        try:  # as the grader's probe does: a definition that needs the notebook's data is left out
            exec(compile(statement, f"<{student}>", "exec"), namespace)  # noqa: S102 - a student's definitions
        except Exception:  # noqa: BLE001
            pass
    outcome = {}
    for cell in nb.cells:
        if grade_id(cell) not in SELF_CHECKED_CELLS:
            continue
        # (the test cell runs its checks in a function: its lines are indented)
        lines = [line.strip() for line in cell.source.splitlines()
                 if line.strip().startswith(("from gradedlib.selfcheck", "check_"))
                 and not line.strip().startswith("check_chosen_c")]
        assert any(line.startswith("check_") for line in lines), f"{grade_id(cell)} calls no self-check"
        try:
            exec("\n".join(lines), namespace)  # noqa: S102 - the notebook's self-check calls
            outcome[grade_id(cell)] = "passed"
        except SelfCheckError as exc:
            outcome[grade_id(cell)] = str(exc)
    return outcome



@pytest.mark.slow
@pytest.mark.parametrize("student", ["reference", "kfold_cholesky", "scipy_mvn", "unusual_correct"])
def test_release_self_checks_pass_correct_submissions(student, monkeypatch, capsys):
    """The reference and the class's correct-but-different solutions pass every visible self-check."""
    outcome = _visible_self_checks(student, monkeypatch)
    assert outcome == dict.fromkeys(SELF_CHECKED_CELLS, "passed"), outcome
    assert capsys.readouterr().out.count("self-checks passed on synthetic data") == 3


@pytest.mark.slow
@pytest.mark.parametrize("student, cell, expected", [
    ("no_regularization", "test_fit_shapes", "c > 0"),
    ("dicts", "test_fit_shapes", "expected a numpy array"),
    ("swallow_and_raise", "test_predict_shapes", "LinAlgError"),
])
def test_release_self_checks_catch_the_class_mistakes(student, cell, expected, monkeypatch, capsys):
    """A faulty submission of the simulated class fails the visible cell of its mistake, and only that one."""
    outcome = _visible_self_checks(student, monkeypatch)
    assert expected in outcome[cell], outcome[cell]
    assert {k: v for k, v in outcome.items() if k != cell} == dict.fromkeys(set(SELF_CHECKED_CELLS) - {cell}, "passed")


def test_self_checks_do_not_run_while_autograded(monkeypatch, capsys):
    """Under nbgrader's autograde the checks print that they did not run (the grader judges the values)."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")

    def broken(*args):
        raise AssertionError("must not be called")

    check_fit(broken)
    check_fit_per_class_c(broken)
    check_predict(broken)
    check_chosen_c("not a float", None, None, None)
    out = capsys.readouterr().out
    assert out.count("self-checks not run while the notebook is autograded") == 4


def test_float32_statistics_pass_and_a_missing_c_is_still_caught_in_float32(capsys):
    """float32 statistics are correct (the grader accepts them); the float32 tolerance still sees c = 0."""
    as32 = ("return mu, sigma, pi\n", "return mu.astype(np.float32), sigma.astype(np.float32), pi.astype(np.float32)\n")
    ns = load(REFERENCE.replace("    return mu, sigma, pi\n", "    " + as32[1], 1))
    check_fit(ns["fit_generative_model"], n_pixels=SMALL)
    assert "fit_generative_model: all 6 self-checks passed" in capsys.readouterr().out
    ns = load(REFERENCE.replace("    return mu, sigma, pi\n", "    sigma = sigma - c * np.eye(sigma.shape[1])\n    " + as32[1], 1))
    message = failure(check_fit, ns["fit_generative_model"], n_pixels=SMALL)
    assert "with c > 0" in message, message


# ------------------------- reproducibility: the checks' two calls are reused --

# Cheap at 784 pixels (no eigendecomposition): c = 100 is fixed.
FIXED_C = """
import numpy as np

CALLS = []


def fit_generative_model(x, y):
    CALLS.append(1)
    x = np.asarray(x, dtype=float)
    pi = np.array([np.mean(y == j) for j in range(10)])
    mu = np.array([x[y == j].mean(axis=0) for j in range(10)])
    sigma = np.array([np.cov(x[y == j], rowvar=False, bias=True) + C * np.eye(x.shape[1]) for j in range(10)])
    return mu, sigma, pi


def predict(x, mu, sigma, pi):
    CALLS.append(1)
    return np.zeros(len(x), dtype=int)
"""


def test_reproducibility_reuses_the_two_calls_of_check_fit(capsys):
    ns = load("C = 100.0\n" + FIXED_C)
    check_fit(ns["fit_generative_model"])
    assert len(ns["CALLS"]) == 2
    report = selfcheck.reproducibility_report(ns, ("fit_generative_model",))
    assert len(ns["CALLS"]) == 2  # not called again
    assert report == [{"name": "fit_generative_model", "status": "same",
                       "detail": "both calls made by the self-check of a visible test cell"}]
    # redefined after its check (a new function): called twice again
    ns2 = load("C = 100.0\n" + FIXED_C)
    report = selfcheck.reproducibility_report(ns2, ("fit_generative_model",))
    assert len(ns2["CALLS"]) == 2 and report[0]["status"] == "same" and report[0]["detail"] == ""


def test_reproducibility_reuses_a_difference_seen_by_check_fit():
    ns = load("C = 100.0\n" + FIXED_C.replace(
        "sigma = np.array(", "C = float(np.random.default_rng().uniform(50.0, 1600.0))\n    sigma = np.array("))
    text = failure(check_fit, ns["fit_generative_model"])
    assert "expected the same result on a second call after np.random.seed(0)" in text
    report = selfcheck.reproducibility_report(ns, ("fit_generative_model",))
    assert len(ns["CALLS"]) == 2
    assert report[0]["status"] == "different" and report[0]["detail"].startswith("different sigma on the same data")


def test_reproducibility_reuses_check_predict_only_at_its_own_size(monkeypatch):
    # reproducibility_report works at N_PIXELS (784); SMALL here, to run fast
    monkeypatch.setattr(selfcheck, "N_PIXELS", SMALL)
    ns = load("C = 100.0\n" + FIXED_C)
    failure(check_predict, ns["predict"], n_pixels=SMALL + 4)  # all zeros: wrong, but the two calls are compared
    calls = len(ns["CALLS"])
    report = selfcheck.reproducibility_report(ns, ("predict",))
    assert len(ns["CALLS"]) == calls + 2 and report[0]["status"] == "same"  # other data: called again
    failure(check_predict, ns["predict"], n_pixels=SMALL)
    calls = len(ns["CALLS"])
    report = selfcheck.reproducibility_report(ns, ("predict",))
    assert len(ns["CALLS"]) == calls and report == [  # the same size: not called again
        {"name": "predict", "status": "same", "detail": "both calls made by the self-check of a visible test cell"}]
