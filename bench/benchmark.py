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
    scipy's frozen ``multivariate_normal`` per class (construction, i.e. its
    eigendecomposition, included) with a vectorised ``logpdf``, the seed's
    per-image loop (timed on a subsample, extrapolated, marked), and
    ``GaussianGenerativeClassifier.predict`` in float64 and in float32; the
    labels are compared (float64 must be identical to scipy; float32 is
    reported as the fraction of labels equal to float64's).
(c) Wall time and peak memory (max RSS) of ``gradedlib fit`` run as a subprocess,
    and the size of the fitted model's arrays.
(d) The covariance family on MNIST: for every variant, ``c`` chosen on a
    stratified hold-out of 10,000 training images (one path over the default
    grid, no search for shrinkage in closed form), then the fit time on all
    60,000 training images and the test error (``--no-family`` skips it).

The tables are also written, with the machine, date, commit and load average,
into ``bench/results/benchmark.md`` (``--results-name`` changes the name,
``--no-results`` writes nothing), the file the book's Measurements page
includes.
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

import _results
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
    # scipy, vectorised over images: one frozen object per class, logpdf on the whole array.
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
    del cov
    # gradedlib, float64 then float32, input validation included; each timed twice, the faster kept.
    times = {}
    preds = {}
    for name, dtype in (("float64", np.float64), ("float32", np.float32)):
        model.set_params(dtype=dtype)
        best = np.inf
        for _ in range(2):
            t = time.perf_counter()
            preds[name] = model.predict(X_test)
            best = min(best, time.perf_counter() - t)
        times[name] = best
    from gradedlib.density import argmax_joint

    model.set_params(dtype=np.float64)
    _, decided = argmax_joint(X_test, model.means_, np.log(model.priors_), model.bases_, model.scale_, model.c_,
                              return_stages=True)
    same_scipy = bool(np.array_equal(preds["float64"], pred_scipy))
    same_loop = bool(np.array_equal(preds["float64"][:n_loop], pred_loop))
    agree32 = float(np.mean(preds["float32"] == preds["float64"]))
    label = "predict 10,000 test images"
    rows.append((label, "seed per-image loop", t_loop_full,
                 f"EXTRAPOLATED from {n_loop} images (*); predictions identical on them: {same_loop}"))
    rows.append((label, "scipy frozen mvn + logpdf", t_scipy, f"of which logpdf calls {t_logpdf:.2f} s"))
    rows.append((label, "gradedlib predict float64", times["float64"], f"labels identical to scipy: {same_scipy}; "
                 f"test error {np.mean(preds['float64'] != y_test):.4f}; best of 2; rows decided per stage "
                 f"{decided.tolist()}"))
    rows.append((label, "gradedlib predict float32", times["float32"], f"labels equal to float64: {agree32:.2%} "
                 f"({int(np.sum(preds['float32'] != preds['float64']))} differ); test error "
                 f"{np.mean(preds['float32'] != y_test):.4f}; best of 2"))
    rows.append((label, "ratio scipy / gradedlib f64", t_scipy / times["float64"], "target >= 4x"))
    rows.append((label, "ratio scipy / gradedlib f32", t_scipy / times["float32"], "target >= 8x, agreement >= 99.9%"))
    rows.append((label, "ratio seed loop / gradedlib f64", t_loop_full / times["float64"], "(*) extrapolated"))
    stored = sum(v.nbytes for v in vars(model).values() if isinstance(v, np.ndarray))
    stored += sum(b.rows.nbytes + b.values.nbytes + (0 if b.vectors is None else b.vectors.nbytes)
                  for b in {id(b): b for b in model.bases_}.values())
    rows.append(("fitted model (full, MNIST)", "stored arrays (MB)", stored / 1e6,
                 "one copy: bases_ (eigenvectors on the varying pixels); covariances_/eigenvectors_ derived; "
                 "0.1.0 stored 98 MB"))
    return same_scipy and same_loop and agree32 >= 0.999


FAMILY = [
    ("nearest mean (spherical)", dict(covariance="spherical")),
    ("Gaussian naive Bayes (diag)", dict(covariance="diag")),
    ("LDA (tied)", dict(covariance="tied")),
    ("QDA + cI (full)", dict()),
    ("RDA alpha=0.5 (full)", dict(alpha=0.5)),
    ("Ledoit-Wolf convex", dict(c="ledoit-wolf")),
    ("Ledoit-Wolf additive", dict(c="ledoit-wolf", shrinkage_form="additive")),
    ("OAS convex", dict(c="oas")),
    ("OAS additive", dict(c="oas", shrinkage_form="additive")),
    ("LDA + Ledoit-Wolf (tied)", dict(covariance="tied", c="ledoit-wolf")),
]


def bench_family(X, y, X_test, y_test, family_rows):
    """c on a hold-out (grid of choose_c), fit time on all 60,000 and test error, per variant."""
    from gradedlib.selection import default_candidates

    idx = np.arange(y.size)
    tr, val = train_test_split(idx, test_size=10000, random_state=0, stratify=y)
    grid = default_candidates()
    for name, params in FAMILY:
        if isinstance(params.get("c"), str):
            chosen, val_err = params["c"], float("nan")
        else:
            held = GaussianGenerativeClassifier(**params).fit(X[tr], y[tr])
            path = held.joint_log_proba_path(X[val], grid)
            errs = np.mean(held.classes_[np.argmax(path, axis=2)] != y[val][None, :], axis=1)
            best = int(np.argmin(errs))
            chosen, val_err = float(grid[best]), float(errs[best])
            del held, path
        t = time.perf_counter()
        model = GaussianGenerativeClassifier(**{**params, "c": chosen}).fit(X, y)
        t_fit = time.perf_counter() - t
        t = time.perf_counter()
        err = float(np.mean(model.predict(X_test) != y_test))
        t_pred = time.perf_counter() - t
        c_text = (f"{chosen} (c_j {np.min(model.c_):.3g}..{np.max(model.c_):.3g}, rho_j "
                  f"{np.min(model.shrinkage_):.3g}..{np.max(model.shrinkage_):.3g})"
                  if isinstance(chosen, str) else f"{chosen:.4g} (validation error {val_err:.4f})")
        family_rows.append((name, err, t_fit, t_pred, c_text))
        del model


def bench_cli(rows, quick):
    cmd = [sys.executable, "-m", "gradedlib", "fit", "--json", "--quiet"]
    if quick:
        cmd += ["--c", "3162.28"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kB
    result = json.loads(proc.stdout)
    # The fixed cost of any gradedlib command: Python and the imports (scikit-learn's
    # own import pulls in scipy.stats, and pandas where it is installed).
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradedlib.cli, gradedlib.evaluation, sklearn.metrics"], check=True)
    startup = time.perf_counter() - t
    timings = result["timings"]
    label = "gradedlib fit" + (" --c (quick)" if quick else "")
    rows.append((label, "wall time", wall, f"target < 10 s (idle machine); test error {result['test_error']:.4f}, c = {result['c']}"))
    rows.append((label, "of which the job (its timings)", timings["total"],
                 ", ".join(f"{k} {v:.2f}" for k, v in timings.items() if k != "total")))
    rows.append((label, "python + imports alone", startup, "a child that only imports what gradedlib fit imports"))
    rows.append((label, "peak memory (MB)", peak_mb, "max RSS of the child; target < 1536 MB"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="time fewer seed candidates and a shorter loop")
    parser.add_argument("--seed-candidates", type=int, default=None,
                        help="how many of the 50 candidates to time the seed's way (default 5; 2 with --quick)")
    parser.add_argument("--no-family", action="store_true", help="skip the covariance-family table")
    parser.add_argument("--parts", default="cli,choose,predict,family",
                        help="comma-separated subset of cli,choose,predict,family (default: all)")
    parser.add_argument("--results-name", default="benchmark",
                        help="write the tables into bench/results/NAME.md (default: benchmark)")
    parser.add_argument("--no-results", action="store_true", help="print only; write no results file")
    args = parser.parse_args(argv)
    started, load_start = _results.now(), _results.load()
    n_timed_50 = args.seed_candidates or (2 if args.quick else 5)
    n_timed_6 = 2 if args.quick else 6
    n_loop = 50 if args.quick else 200

    X, y = load_mnist("train")
    X_test, y_test = load_mnist("test")
    parts = set(args.parts.split(","))
    rows = []
    ok_a6 = ok_a50 = ok_b = True
    if "cli" in parts:
        bench_cli(rows, args.quick)  # first, so RUSAGE_CHILDREN holds only this child
    if "choose" in parts:
        ok_a6 = bench_choose_c(X, y, 6, n_timed_6, rows)
        ok_a50 = bench_choose_c(X, y, 50, n_timed_50, rows)
    if "predict" in parts:
        ok_b = bench_predict(X, y, X_test, y_test, n_loop, rows)
    family_rows = []
    if "family" in parts and not args.no_family:
        bench_family(X, y, X_test, y_test, family_rows)

    import os
    out = [f"parts: {sorted(parts)}{' (--quick)' if args.quick else ''}",
           f"machine: {os.cpu_count()} CPUs; numpy {np.__version__}; load average at the end {os.getloadavg()}",
           f"{'task':<32} {'method':<30} {'seconds / ratio':>16}  notes",
           "-" * 120]
    for task, method, value, note in rows:
        unit = "x" if method.startswith("ratio") else ("MB" if "MB" in method else "s")
        out.append(f"{task:<32} {method:<30} {value:>14.2f} {unit:<2} {note}")
    out.append("(*) extrapolated from a subset, see notes")
    if family_rows:
        out += ["", f"{'variant':<30} {'test error':>10} {'fit 60k (s)':>12} {'predict 10k (s)':>16}  c", "-" * 120]
        for name, err, t_fit, t_pred, c_text in family_rows:
            out.append(f"{name:<30} {err:>10.4f} {t_fit:>12.2f} {t_pred:>16.2f}  {c_text}")
    agree = ok_a6 and ok_a50 and ok_b
    if not agree:
        out.append("WARNING: results of the methods disagree (see notes)")
    print("\n".join(out))
    if not args.no_results:
        path = _results.write(args.results_name, "Library benchmark (bench/benchmark.py)", "\n".join(out),
                              started=started, load_start=load_start)
        print(f"written: {path}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
