"""Side-by-side timings of gradedlib against the seed notebook's scipy approach.

Run ``python bench/benchmark.py`` (``--quick`` for a smaller run). It prints
one table; every ratio compares timings measured in this same run.

(a) Choosing c on a stratified split of 50,000 training / 10,000 validation
    images, over 6 and over 50 candidates: the seed's way (a new
    ``scipy.stats.multivariate_normal`` per class per candidate, ``logpdf`` on
    the validation set) against ``gradedlib.choose_c``. When the seed's way
    would take too long, a subset of candidates is timed and the total is
    extrapolated per candidate (marked "extrapolated").
(b) Predicting the 10,000 test images with a model fitted on 60,000:
    scipy's vectorised ``logpdf`` per class, the seed's per-image loop (timed
    on a subsample, extrapolated, marked), and ``GaussianGenerativeClassifier
    .predict``; the predictions are compared.
(c) Wall time and peak memory (max RSS) of ``gradedlib fit`` run as a subprocess.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from scipy.stats import multivariate_normal
from sklearn.model_selection import train_test_split

from gradedlib import GaussianGenerativeClassifier, choose_c, load_mnist


def seed_moments(X, y, k=10):
    """The seed's per-class mean and covariance (divide by n, like gradedlib)."""
    mu = np.array([X[y == j].mean(axis=0) for j in range(k)])
    sigma = np.array([np.cov(X[y == j], rowvar=False, bias=True) for j in range(k)])
    pi = np.bincount(y, minlength=k) / y.size
    return mu, sigma, pi


def seed_scores(X, mu, sigma, pi, c):
    """log pi_j + log N(x; mu_j, sigma_j + c I), one new scipy object per class."""
    eye = np.eye(mu.shape[1])
    return np.column_stack(
        [np.log(pi[j]) + multivariate_normal(mean=mu[j], cov=sigma[j] + c * eye).logpdf(X) for j in range(mu.shape[0])]
    )


def seed_choose_c(X_tr, y_tr, X_val, y_val, candidates):
    """The seed's grid search; returns (errors, seconds per candidate, fit seconds)."""
    t = time.perf_counter()
    mu, sigma, pi = seed_moments(X_tr, y_tr)
    t_moments = time.perf_counter() - t
    errors, per_candidate = [], []
    for c in candidates:
        t = time.perf_counter()
        pred = np.argmax(seed_scores(X_val, mu, sigma, pi, c), axis=1)
        errors.append(np.mean(pred != y_val))
        per_candidate.append(time.perf_counter() - t)
    return np.array(errors), np.array(per_candidate), t_moments


def bench_choose_c(X, y, n_candidates, n_seed_timed, rows):
    candidates = np.logspace(0, 7, n_candidates) if n_candidates > 6 else np.logspace(2, 5, n_candidates)
    idx = np.arange(y.size)
    tr, val = train_test_split(idx, test_size=10000, random_state=0, stratify=y)
    X_tr, y_tr, X_val, y_val = X[tr], y[tr], X[val], y[val]
    timed = candidates if n_seed_timed >= n_candidates else candidates[np.linspace(0, n_candidates - 1, n_seed_timed).round().astype(int)]
    errs, per_c, t_mom = seed_choose_c(X_tr, y_tr, X_val, y_val, timed)
    extrapolated = timed.size < candidates.size
    seed_total = t_mom + per_c.mean() * candidates.size
    t = time.perf_counter()
    sel = choose_c(X, y, candidates, validation_size=10000, random_state=0)
    t_g = time.perf_counter() - t
    # Same split, same model: the errors of the timed candidates must agree.
    pos = np.searchsorted(candidates, timed)
    agree = np.allclose(errs, sel.errors[pos])
    label = f"choose c, {n_candidates} candidates"
    note = (f"seed: {timed.size} of {n_candidates} candidates timed, EXTRAPOLATED per candidate"
            if extrapolated else "seed: all candidates timed")
    rows.append((label, "seed (scipy per class per c)", seed_total, note + ("" if not extrapolated else " (*)")))
    rows.append((label, "gradedlib choose_c", t_g, f"validation errors agree with seed: {agree}; chosen c = {sel.c:.4g}"))
    rows.append((label, "ratio seed / gradedlib", seed_total / t_g, "target >= 20x (50 candidates)"))
    return agree


def bench_predict(X, y, X_test, y_test, n_loop, rows):
    c = 10**3.5
    model = GaussianGenerativeClassifier(c=c).fit(X, y)
    cov = model.covariances_
    eye = np.eye(X.shape[1])
    # scipy, vectorised over images: one object per class, logpdf on the whole array.
    t = time.perf_counter()
    t_logpdf = 0.0
    scores = np.empty((X_test.shape[0], 10))
    for j in range(10):
        rv = multivariate_normal(mean=model.means_[j], cov=cov[j] + c * eye)
        t1 = time.perf_counter()
        scores[:, j] = np.log(model.priors_[j]) + rv.logpdf(X_test)
        t_logpdf += time.perf_counter() - t1
    t_scipy = time.perf_counter() - t
    pred_scipy = model.classes_[np.argmax(scores, axis=1)]
    # The seed's loop, one logpdf call per image, on a subsample.
    sub = X_test[:n_loop]
    t = time.perf_counter()
    t_construct = 0.0
    loop_scores = np.empty((n_loop, 10))
    for j in range(10):
        t1 = time.perf_counter()
        rv = multivariate_normal(mean=model.means_[j], cov=cov[j] + c * eye)
        t_construct += time.perf_counter() - t1
        for i in range(n_loop):
            loop_scores[i, j] = np.log(model.priors_[j]) + rv.logpdf(sub[i])
    t_loop = time.perf_counter() - t
    t_loop_full = t_construct + (t_loop - t_construct) * X_test.shape[0] / n_loop
    pred_loop = model.classes_[np.argmax(loop_scores, axis=1)]
    # gradedlib.
    t = time.perf_counter()
    pred_g = model.predict(X_test)
    t_g = time.perf_counter() - t
    same_scipy = bool(np.array_equal(pred_g, pred_scipy))
    same_loop = bool(np.array_equal(pred_g[:n_loop], pred_loop))
    label = "predict 10,000 test images"
    rows.append((label, "seed per-image loop", t_loop_full,
                 f"EXTRAPOLATED from {n_loop} images (*); predictions identical on them: {same_loop}"))
    rows.append((label, "scipy vectorised logpdf", t_scipy, f"of which logpdf calls {t_logpdf:.2f} s"))
    rows.append((label, "gradedlib predict", t_g, f"predictions identical to scipy: {same_scipy}; "
                 f"test error {np.mean(pred_g != y_test):.4f}"))
    rows.append((label, "ratio scipy / gradedlib", t_scipy / t_g, "target >= 3x"))
    rows.append((label, "ratio seed loop / gradedlib", t_loop_full / t_g, "(*) extrapolated"))
    return same_scipy and same_loop


def bench_cli(rows, quick):
    cmd = [sys.executable, "-m", "gradedlib", "fit", "--json", "--quiet"]
    if quick:
        cmd += ["--c", "3162.28"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kB
    result = json.loads(proc.stdout)
    label = "gradedlib fit" + (" --c (quick)" if quick else "")
    rows.append((label, "wall time", wall, f"target < 30 s; test error {result['test_error']:.4f}, c = {result['c']}"))
    rows.append((label, "peak memory (MB)", peak_mb, "max RSS of the child; target < 2048 MB"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time fewer seed candidates and a shorter loop")
    parser.add_argument("--seed-candidates", type=int, default=None,
                        help="how many of the 50 candidates to time the seed's way (default 5; 2 with --quick)")
    args = parser.parse_args(argv)
    n_timed_50 = args.seed_candidates or (2 if args.quick else 5)
    n_timed_6 = 2 if args.quick else 6
    n_loop = 50 if args.quick else 200

    X, y = load_mnist("train")
    X_test, y_test = load_mnist("test")
    rows = []
    bench_cli(rows, args.quick)  # first, so RUSAGE_CHILDREN holds only this child
    ok_a6 = bench_choose_c(X, y, 6, n_timed_6, rows)
    ok_a50 = bench_choose_c(X, y, 50, n_timed_50, rows)
    ok_b = bench_predict(X, y, X_test, y_test, n_loop, rows)

    import os
    print(f"machine: {os.cpu_count()} CPUs; numpy {np.__version__}; load average {os.getloadavg()}")
    print(f"{'task':<32} {'method':<30} {'seconds / ratio':>16}  notes")
    print("-" * 120)
    for task, method, value, note in rows:
        unit = "x" if method.startswith("ratio") else ("MB" if "memory" in method else "s")
        print(f"{task:<32} {method:<30} {value:>14.2f} {unit:<2} {note}")
    print("(*) extrapolated from a subset, see notes")
    if not (ok_a6 and ok_a50 and ok_b):
        print("WARNING: results of the methods disagree (see notes)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
