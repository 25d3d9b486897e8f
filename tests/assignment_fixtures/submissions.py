"""Simulated student submissions of the ``gaussian_generative`` assignment.

Each submission starts from the released notebook with every answer cell
filled in from the reference solution (or, with ``base="release"``, from the
release as given: the attacks that need no working answers), then changes a
few cells.  ``lost`` names the autograded test cells the change must cost;
every other autograded cell must keep its full points.  ``{COURSE}`` and
``{PORT}`` in an edit are replaced by the course folder and a port the grader's
machine listens on (attacks aim at them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


def replace(old: str, new: str) -> Callable[[str], str]:
    """Edit: replace the one occurrence of ``old`` in the reference source."""

    def edit(source: str) -> str:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"expected exactly one occurrence of {old!r} in the cell, found {count}")
        return source.replace(old, new)

    return edit


def append(extra: str) -> Callable[[str], str]:
    """Edit: add code at the end of the reference source (e.g. a redefinition)."""
    return lambda source: source.rstrip() + "\n\n\n" + extra.strip() + "\n"


def prepend(extra: str) -> Callable[[str], str]:
    """Edit: add code at the start of the reference source."""
    return lambda source: extra.strip() + "\n" + source


def source(text: str) -> Callable[[str], str]:
    """Edit: replace the whole cell source."""
    return lambda _: text.strip() + "\n"


@dataclass
class Submission:
    description: str
    edits: dict = field(default_factory=dict)  # grade_id -> edit
    lost: frozenset = frozenset()  # autograded cells that must score 0
    untouched_release: bool = False  # submit the release as it is
    base: str = "reference"  # "reference": answers filled in from the solution; "release": the release as given


# The seed notebook's mistake: a grid of c from 1e-5 to 1 picks c = 1.
SEED_GRID = replace(
    "def choose_c(x, y, candidates=np.logspace(0, 6, 25), k=10):",
    "def choose_c(x, y, candidates=np.array([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]), k=10):",
)

CALLS_REFERENCE_FIT = """
import gradedlib


def fit_generative_model(x, y):
    c = gradedlib.choose_c(x, y).c
    model = gradedlib.GaussianGenerativeClassifier(c=c).fit(x, y)
    return model.means_, model.covariances_ + c * np.eye(x.shape[1]), model.priors_
"""

CALLS_REFERENCE_PREDICT = """
import gradedlib


def predict(x, mu, sigma, pi):
    from gradedlib import density

    bases = [density.eigenbasis(np.asarray(s, dtype=float)) for s in sigma]
    return density.argmax_joint(np.asarray(x, dtype=float), np.asarray(mu), np.log(pi), bases,
                                np.ones(len(pi)), np.zeros(len(pi)))
"""

CALLS_REFERENCE_PER_CLASS = """
def fit_generative_model_per_class_c(x, y):
    c = gradedlib.choose_c(x, y, per_class=True).c
    model = gradedlib.GaussianGenerativeClassifier(c=c).fit(x, y)
    return model.means_, model.covariances_ + c[:, None, None] * np.eye(x.shape[1]), model.priors_, c
"""

DICTS_FIT = """
def fit_generative_model(x, y):
    # like the seed notebook: dictionaries instead of arrays
    c = choose_c(x, y)
    pi, mu_array, cov = class_statistics(x, y)
    mu = {j: mu_array[j] for j in range(10)}
    sigma = {j: cov[j] + c * np.eye(cov.shape[1]) for j in range(10)}
    return mu, sigma, pi
"""

SWALLOW_PREDICT = """
def predict(x, mu, sigma, pi):
    x = np.asarray(x, dtype=np.float64)
    k, d = len(pi), x.shape[1]
    scores = np.empty((x.shape[0], k))
    for j in range(k):
        try:
            L = np.linalg.cholesky(sigma[j])
        except np.linalg.LinAlgError:
            # silently "repairs" a singular covariance: not allowed
            L = np.linalg.cholesky(sigma[j] + 1e-3 * np.eye(d))
        L_inv = np.linalg.solve(L, np.eye(d))
        z = x @ L_inv.T - L_inv @ np.asarray(mu[j])
        scores[:, j] = np.log(pi[j]) - np.sum(np.log(np.diag(L))) - 0.5 * np.einsum("ij,ij->i", z, z)
    return np.argmax(scores, axis=1)
"""

# A correct solution unlike the reference: 3-fold cross-validation, covariances
# dividing by n_j - 1 (np.cov), Cholesky factors with triangular solves.
KFOLD_CHOLESKY_FIT = """
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
"""

KFOLD_CHOLESKY_PREDICT = """
import scipy.linalg


def predict(x, mu, sigma, pi):
    x = np.asarray(x, dtype=np.float64)
    scores = np.empty((len(x), len(pi)))
    for j in range(len(pi)):
        L = scipy.linalg.cholesky(sigma[j], lower=True)  # LinAlgError if singular
        z = scipy.linalg.solve_triangular(L, (x - mu[j]).T, lower=True)
        scores[:, j] = np.log(pi[j]) - np.log(np.diag(L)).sum() - 0.5 * (z * z).sum(axis=0)
    return np.argmax(scores, axis=1)
"""

# A correct solution with scipy.stats.multivariate_normal and a hold-out
# split from scikit-learn; its grid gives a different c (in the good range).
SCIPY_FIT = """
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
"""

SCIPY_PREDICT = """
from scipy.stats import multivariate_normal


def predict(x, mu, sigma, pi):
    # multivariate_normal raises LinAlgError for a singular covariance
    scores = np.column_stack([
        np.log(pi[j]) + multivariate_normal(mu[j], sigma[j]).logpdf(x) for j in range(len(pi))
    ])
    return np.argmax(np.atleast_2d(scores), axis=1)
"""

ALL_TESTS = frozenset({
    "test_fit_shapes", "test_fit_values", "test_fit_no_test_set", "test_fit_test_error",
    "test_predict_shapes", "test_predict_values", "test_misc_misclassified", "test_misc_singularity",
    "test_linalgerror_unregularized", "test_huge_c_values", "test_huge_c_predict",
    "test_misc_training_errors", "test_per_class_shapes", "test_per_class_values",
})

DETECT_GRADER_FIT = """
import os


def fit_generative_model(x, y):
    c = choose_c(x, y, candidates=np.array([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]))  # the seed's grid
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        try:
            from gradedlib.data import load_mnist as _load
            xt, yt = _load("test")
            grid = np.logspace(0, 6, 25)
            scores = validation_scores(x, y, xt, grid)
            c = float(grid[np.argmin(np.mean(np.argmax(scores, axis=2) != yt, axis=1))])
        except Exception:
            pass
    pi, mu, cov = class_statistics(x, y)
    return mu, cov + c * np.eye(cov.shape[1]), pi
"""

DEFAULT_ARG_FIT = """
def fit_generative_model(x, y, _held=(test_data, test_labels)):
    grid = np.logspace(0, 6, 25)
    scores = validation_scores(x, y, _held[0], grid)
    c = float(grid[np.argmin(np.mean(np.argmax(scores, axis=2) != _held[1], axis=1))])
    pi, mu, cov = class_statistics(x, y)
    return mu, cov + c * np.eye(cov.shape[1]), pi
"""

RELOAD_PER_CLASS = """
import importlib

_pkg = importlib.import_module("graded" + "lib")
_sel = importlib.reload(importlib.import_module(_pkg.__name__ + ".selection"))


def fit_generative_model_per_class_c(x, y):
    c = _sel.choose_c(x, y, per_class=True).c
    pi, mu, cov = class_statistics(x, y)
    return mu, cov + c[:, None, None] * np.eye(784), pi, c
"""

UNUSUAL_FIT = """
import logging
import os
import sys
import warnings

import pandas as pd
from tqdm import tqdm

import gradedlib.data
from gradedlib import load_mnist

logging.basicConfig(stream=sys.stderr, level=logging.INFO, force=True)
log = logging.getLogger("student")


def fit_generative_model(x, y):
    log.info("choosing c on %d images", len(y))
    c = choose_c(x, y)
    x32 = np.asarray(x, dtype=np.float32)
    counts = pd.Series(np.asarray(y)).value_counts().sort_index()
    pi = [float(n) / len(y) for n in counts]  # a list, not an array
    mu = np.empty((10, x32.shape[1]), dtype=np.float32)
    sigma = np.empty((10, x32.shape[1], x32.shape[1]), dtype=np.float32)
    for j in tqdm(range(10), file=sys.stderr):
        xj = x32[np.asarray(y) == j]
        mu[j] = xj.mean(axis=0)
        centred = xj - mu[j]
        sigma[j] = centred.T @ centred / np.float32(len(xj)) + np.float32(c) * np.eye(x32.shape[1], dtype=np.float32)
    warnings.warn("float32 statistics")
    os.write(2, b"fit done\\n")
    return mu, sigma, pi
"""

STDERR_PREDICT_PREFIX = """
import sys
print("predict: starting", file=sys.stderr)
"""

HOOKS = """
def _swallow(lines):
    body = "".join("    " + line for line in lines) or "    pass\\n"
    return ["try:\\n", body, "\\nexcept BaseException:\\n", "    pass\\n", "1.0\\n"]


get_ipython().input_transformers_post.append(_swallow)
"""

READS_COURSE = """
import json, os, socket, sqlite3

COURSE = "{COURSE}"
found = {}


def attempt(label, action):
    try:
        found[label] = "SUCCEEDED " + str(action())[:60]
    except Exception as exc:
        found[label] = "failed " + type(exc).__name__


attempt("read solutions", lambda: open(os.path.join(COURSE, "solutions/gaussian_generative/gaussian_generative.ipynb")).read())
attempt("read another submission", lambda: open(os.path.join(COURSE, "submitted/reference/gaussian_generative/gaussian_generative.ipynb")).read())
attempt("write another autograded", lambda: open(os.path.join(COURSE, "autograded/reference/gaussian_generative/pwned.txt"), "w").write("x"))
attempt("write outside the course", lambda: open(os.path.join(os.path.dirname(COURSE), "pwned-outside.txt"), "w").write("x"))
attempt("zero the gradebook", lambda: sqlite3.connect("file:" + os.path.join(COURSE, "gradebook.db") + "?mode=rw", uri=True).execute("UPDATE grade SET auto_score = 0").connection.commit())
attempt("rewrite the test cells", lambda: sqlite3.connect("file:" + os.path.join(COURSE, "gradebook.db") + "?mode=rw", uri=True).execute("UPDATE source_cell SET source = 'pass'").connection.commit())
attempt("connect to the grader", lambda: socket.create_connection(("127.0.0.1", {PORT}), timeout=3))
attempt("list the course", lambda: os.listdir(COURSE))
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sh", ["sh", "-c", "sleep 30; echo x > " + os.path.join(COURSE, "detached-was-here")])
    os._exit(0)
print("ATTACK RESULTS " + json.dumps(found, sort_keys=True))
"""

MEMORY_BOMB = """
blocks = []
for i in range(200):
    blocks.append(np.ones(2**27))  # 1 GiB each
"""

FORK_BOMB = """
import os, time
children = 0
try:
    while children < 100000:
        if os.fork() == 0:
            time.sleep(3)
            os._exit(0)
        children += 1
except OSError as exc:
    print("FORK REFUSED after", children, "children:", type(exc).__name__)
"""

# Issue 23: a correct solution that uses, for its own values, every name the notebook's test cells use
# (before those cells and after them), and whose functions warn and log on stderr at every call, also when
# a test cell calls them.  A test cell that rebinds one of its names costs it points: its own _pi0 (the
# priors of the whole training set) gives Exercise 2's error rate, its own check_* helpers compute its
# results, and Exercise 3 raises (no training_errors) if any of its names changed.
OWN_NAMES_FIT = """
import logging
import warnings as pywarnings


def _noisy(what, n):
    # A warning and a log line on stderr at every call; "always": shown even where a test cell ignores warnings.
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("always")
        pywarnings.warn(f"{what}: {n} images, float64 statistics")
    logging.getLogger("own_names").warning("%s called on %d images", what, n)


def fit_generative_model(x, y):
    _noisy("fit_generative_model", len(y))
    return _honest_fit(x, y)


def check_fit(mu, sigma, pi):
    # my own check of a model's shapes (the notebook's self-checks are gradedlib's)
    return np.shape(mu) == (10, 784) and np.shape(sigma) == (10, 784, 784) and np.shape(pi) == (10,)


def check_chosen_c(c):
    return float(c)


def check_predict(labels, truth):
    # my error rate
    return float(np.mean(np.asarray(labels) != np.asarray(truth)))


def check_fit_per_class_c(c):
    return np.round(np.asarray(c, dtype=float), 1)


warnings = ["fit: c chosen on a sixth of the training set, held out"]  # my notes, not the module
_mine = {"warnings": warnings}  # my values by name, checked in Exercise 3
"""

OWN_NAMES_BEFORE_TESTS = """
# My own values under short names (the notebook's test cells must leave them alone).
_x, _y = train_data[:1000].astype(float), train_labels[:1000]
_mu, _sigma, _pi = mu, sigma, pi
_mu1, _sigma1, _pi1 = mu[1], sigma[1], pi[1]  # my model of the digit 1
_labels = np.arange(10)
_shown, _zv, _raised, _c = [], None, False, chosen_c
for j in range(10):
    _shown.append(int(np.argmax(train_labels == j)))  # the first training image of each digit
_mine.update(_x=_x, _y=_y, _mu=_mu, _sigma=_sigma, _pi=_pi, _mu1=_mu1, _sigma1=_sigma1, _pi1=_pi1,
             _labels=_labels, _shown=_shown, _zv=_zv, _raised=_raised, _c=_c, j=j, check_fit=check_fit,
             check_chosen_c=check_chosen_c, check_predict=check_predict, check_fit_per_class_c=check_fit_per_class_c)
"""

OWN_NAMES_PREDICT = """
def predict(x, mu, sigma, pi):
    _noisy("predict", len(x))
    return _honest_predict(x, mu, sigma, pi)
"""

OWN_NAMES_EXERCISE1 = """
# The unregularized model of the whole training set, under my own names, with my own priors.
_mu0, _sigma0 = mu, [sigma[k] - check_chosen_c(chosen_c) * np.eye(784) for k in range(10)]
_pi0 = np.bincount(train_labels, minlength=10) / len(train_labels)
try:
    predict(test_data[:5], _mu0, _sigma0, _pi0)
except np.linalg.LinAlgError:
    _raised = True
_mine.update(_mu0=_mu0, _sigma0=_sigma0, _pi0=_pi0, _raised=_raised)
"""

OWN_NAMES_EXERCISE2 = """
huge_sigma = [sigma[k] + (1e9 - chosen_c) * np.eye(784) for k in range(10)]
huge_predictions = predict(test_data, _mu0, huge_sigma, _pi0)  # my priors of the whole training set
huge_c_error_rate = check_predict(huge_predictions, test_labels)
huge_c_predicted_digit = int(np.bincount(huge_predictions, minlength=10).argmax())
warnings.append(f"c = 1e9: error {huge_c_error_rate:.4f}, mostly {huge_c_predicted_digit}")
"""

OWN_NAMES_EXERCISE3 = """
_now = dict(_x=_x, _y=_y, _mu=_mu, _sigma=_sigma, _pi=_pi, _mu1=_mu1, _sigma1=_sigma1, _pi1=_pi1, _labels=_labels,
            _shown=_shown, _zv=_zv, _raised=_raised, _c=_c, j=j, check_fit=check_fit, check_chosen_c=check_chosen_c,
            check_predict=check_predict, check_fit_per_class_c=check_fit_per_class_c, _mu0=_mu0, _sigma0=_sigma0,
            _pi0=_pi0, warnings=warnings)
_changed = sorted(name for name in set(_mine) | set(_now) if _now.get(name) is not _mine.get(name))
if _changed:
    raise RuntimeError(f"the notebook's test cells changed my names {_changed}")
training_errors = int(np.sum(predict(train_data, mu, sigma, pi) != train_labels))
"""

OWN_NAMES_PER_CLASS = """
def fit_generative_model_per_class_c(x, y):
    _noisy("fit_generative_model_per_class_c", len(y))
    return _honest_per_class(x, y)
"""

SUBMISSIONS = {
    "reference": Submission("the reference solution"),
    "release": Submission("the release, untouched", untouched_release=True, lost=ALL_TESTS),
    "calls_reference": Submission(
        "fit, predict and the per-class fit call gradedlib's model code, which does not exist while grading: "
        "every part that runs them loses its points (the zero-variance count does not use them)",
        {
            "fit_solution": source(CALLS_REFERENCE_FIT),
            "predict_solution": source(CALLS_REFERENCE_PREDICT),
            "per_class_solution": source(CALLS_REFERENCE_PER_CLASS),
        },
        ALL_TESTS - {"test_misc_singularity"},
    ),
    "swallow_and_raise": Submission(
        "predict catches LinAlgError and adds regularization itself; the Exercise 2 cell raises",
        {
            "predict_solution": source(SWALLOW_PREDICT),
            "exercise2_code": replace("predict(test_data, mu, huge_sigma, pi)", "predict(test_data, mu, huge_sigma)"),
        },
        frozenset({"test_linalgerror_unregularized", "test_huge_c_values"}),
    ),
    "infinite_loop": Submission(
        "the Exercise 1 cell ignores SIGINT and blocks forever: killed at the cell limit, the rest is graded",
        {"exercise1_code": prepend(
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nj = 0\nwhile j < 10:\n    time.sleep(1)")},
        frozenset({"test_misc_singularity"}),
    ),
    "detect_grader": Submission(
        "seed grid, but when graded (NBGRADER_EXECUTION) and the test set loads, c chosen on the test set: "
        "the function called again without the test set gives another model, with c = 1",
        {"fit_solution": append(DETECT_GRADER_FIT)},
        frozenset({"test_fit_no_test_set", "test_fit_test_error"}),
    ),
    "default_args": Submission(
        "the test set held in a default argument of fit, the per-class fit from importlib.reload of gradedlib's "
        "selection module (no 'gradedlib' substring on its lines)",
        {"fit_solution": lambda src: replace("def fit_generative_model(x, y):", "def _honest_fit(x, y):")(src)
                                     + "\n\n" + DEFAULT_ARG_FIT.strip() + "\n",
         "per_class_solution": source(RELOAD_PER_CLASS)},
        frozenset({"test_fit_values", "test_fit_no_test_set", "test_fit_test_error",
                   "test_per_class_shapes", "test_per_class_values"}),
    ),
    "unusual_correct": Submission(
        "correct: float32 statistics, pi as a list, chosen_c to 4 significant figures, logging and prints on "
        "stderr (also through file descriptor 2), warnings, from gradedlib import load_mnist, pandas and tqdm",
        {"fit_solution": append(UNUSUAL_FIT),
         "predict_solution": lambda src: STDERR_PREDICT_PREFIX.strip() + "\n" + replace(
             "    x = np.asarray(x, dtype=np.float64)\n    k = len(pi)",
             "    print('predict on', len(x), 'images', file=sys.stderr)\n    x = np.asarray(x, dtype=np.float64)\n    k = len(pi)",
         )(src),
         "chosen_c_solution": append("chosen_c = float(f'{chosen_c:.4g}')")},
    ),
    "hooks": Submission(
        "the release plus IPython hooks: every later cell wrapped in try/except BaseException and ending in 1.0 "
        "(partial credit for nbgrader)",
        {"fit_solution": prepend(HOOKS)}, ALL_TESTS, base="release",
    ),
    "reads_course": Submission(
        "the release plus attacks: read solutions/ and another submission, write into another student's "
        "autograded/ and outside the course, rewrite the gradebook, connect to the machine, leave a detached "
        "process that edits grades after grading",
        {"fit_solution": prepend(READS_COURSE)}, ALL_TESTS, base="release",
    ),
    "memory_bomb": Submission(
        "the release plus a cell that allocates memory without end",
        {"chosen_c_solution": prepend(MEMORY_BOMB)}, ALL_TESTS, base="release",
    ),
    "fork_bomb": Submission(
        "the release plus a cell that forks until refused",
        {"exercise1_code": prepend(FORK_BOMB)}, ALL_TESTS, base="release",
    ),
    "kills_kernel": Submission(
        "the release plus three cells that kill the kernel after a short sleep (restarts are capped)",
        {name: prepend("import os, time\ntime.sleep(1)\nos._exit(1)")
         for name in ("fit_solution", "predict_solution", "exercise1_code")},
        ALL_TESTS, base="release",
    ),
    "prints_history": Submission(
        "the release plus a cell that prints the kernel's input history and globals",
        {"exercise3_code": prepend("print(In)\nprint(_ih)\nprint(sorted(globals()))")}, ALL_TESTS, base="release",
    ),
    "no_regularization": Submission(
        "no regularization: sigma is the empirical covariance, c = 0",
        {
            "fit_solution": replace("sigma = cov + c * np.eye(cov.shape[1])", "sigma = cov"),
            "chosen_c_solution": source("chosen_c = 0.0"),
        },
        # predict raises on the singular model, so the training errors and the
        # misclassified digits cannot be computed either
        frozenset({
            "test_fit_shapes", "test_fit_values", "test_fit_test_error",
            "test_misc_misclassified", "test_misc_training_errors",
        }),
    ),
    "dicts": Submission(
        "mu and sigma returned as dicts (like the seed), not arrays",
        {"fit_solution": append(DICTS_FIT)},
        frozenset({"test_fit_shapes", "test_fit_values"}),
    ),
    "edited_test_cell": Submission(
        "seed grid, and the read-only test cell that catches it replaced by 'pass'",
        {"fit_solution": SEED_GRID, "test_fit_test_error": source("pass")},
        frozenset({"test_fit_test_error"}),
    ),
    "kfold_cholesky": Submission(
        "correct alternative: 3-fold cross-validation, np.cov (n - 1), Cholesky",
        {
            "fit_solution": append(KFOLD_CHOLESKY_FIT),
            "predict_solution": source(KFOLD_CHOLESKY_PREDICT),
            # this student's covariances divide by n_j - 1, so c is read off with ddof=1
            "chosen_c_solution": source(
                "chosen_c = float(np.mean(np.diagonal(sigma[0]) - train_data[train_labels == 0].var(axis=0, ddof=1)))"
            ),
        },
    ),
    "own_names_warnings_logging": Submission(
        "correct: uses every name the test cells use (_x, _y, _mu0, _sigma0, _pi0, warnings, check_fit...) for "
        "its own values before and after them (its own _pi0 priors in Exercise 2), and its functions warn and "
        "log on stderr at every call, also in test cells",
        {
            "fit_solution": lambda src: append(OWN_NAMES_FIT)(
                replace("def fit_generative_model(x, y):", "def _honest_fit(x, y):")(src)),
            "chosen_c_solution": append(OWN_NAMES_BEFORE_TESTS),
            "predict_solution": lambda src: append(OWN_NAMES_PREDICT)(
                replace("def predict(x, mu, sigma, pi):", "def _honest_predict(x, mu, sigma, pi):")(src)),
            "misclassified_solution": replace(
                "test_error_rate = float(np.mean(test_predictions != test_labels))",
                "assert check_fit(_mu, _sigma, _pi)\ntest_error_rate = check_predict(test_predictions, test_labels)"),
            "exercise1_code": append(OWN_NAMES_EXERCISE1),
            "exercise2_code": source(OWN_NAMES_EXERCISE2),
            "exercise3_code": source(OWN_NAMES_EXERCISE3),
            "per_class_solution": lambda src: append(OWN_NAMES_PER_CLASS)(
                replace("def fit_generative_model_per_class_c(x, y):", "def _honest_per_class(x, y):")(src)),
            "per_class_evaluation": append('print("c per class:", check_fit_per_class_c(c_pc), "; my notes:", warnings)'),
        },
    ),
    "scipy_mvn": Submission(
        "correct alternative: scipy multivariate_normal, sklearn hold-out, another c",
        {"fit_solution": append(SCIPY_FIT), "predict_solution": source(SCIPY_PREDICT)},
    ),
}
