"""The judge's checks: one function per autograded cell, run in the grader's own process.

Every check reads three things, none of which can run code in the grader:

* ``claims``: the arrays the notebook's kernel exported after its last cell
  (``mu``, ``sigma``, ``chosen_c``...) -- what the student's notebook says;
* ``probe``: what the student's functions returned when the probe called them in
  a fresh sandbox without the test set (:mod:`grading.run.probe`);
* the references (:mod:`grading.judge.references`).

A check returns a list of messages for the student, empty when it passes.
The judge writes them into the graded notebook's test cell as one error, so
nbgrader scores the cell zero; visible checks are repeated here, so nothing
that runs in the student's kernel decides a grade.

Tolerances, and the errors they allow
-------------------------------------
* ``pi``: 1e-5 relative. float32 frequencies are exact to about 6e-8; a real
  mistake (uniform priors, counts from another subset) is off by 1e-3 or more.
* ``mu``: 1e-3 pixel units (pixels are 0..255). A float32 mean of 6,000 such
  values is exact to about 2e-4; a mean over another subset differs by 1e-2+.
* ``sigma``: 1e-4 of the largest covariance entry (about 13,000, so 1.3) off the
  diagonal and for the spread of the diagonal shift. float32 covariances of
  MNIST classes are exact to about 0.05; the mistakes this must catch (another
  subset, an uncentred second moment, c added off the diagonal) are 10 or more.
  Dividing by n_j or by n_j - 1 are both accepted.
* ``chosen_c`` against the c inside ``sigma``: 5e-4 relative, so a value rounded
  to 4 significant figures (error at most 5e-4 relative) is accepted.
* ``predict`` against the reference labels: 99.5% agreement, so a handful of
  near-ties decided differently by round-off (float32, another factorisation)
  do not cost points; a missing log-prior or log-determinant changes 5%+.
* the same function called twice (notebook and probe): 1e-6 relative to the
  array's scale: the same code on the same data agrees to round-off unless
  it chose something else (another c).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grading.judge.references import References, reference_factors, reference_labels

__all__ = ["CHECKS", "Evidence", "Fail", "PROBE_MODELS", "check", "check_model", "judge", "precompute_probe_errors"]

#: {grade_id: check} of every autograded cell, in the notebook's order: each check is registered by :func:`check`.
CHECKS: dict = {}


def check(function):
    """Register ``function`` as the check of the autograded cell whose grade_id is its name."""
    if not function.__name__.startswith("test_"):
        raise ValueError(f"A check must be named after its cell's grade_id, test_...; got {function.__name__!r}.")
    if function.__name__ in CHECKS:
        raise ValueError(f"Two checks for the cell {function.__name__!r}.")
    CHECKS[function.__name__] = function
    return function

K, D = 10, 784
_N_TRAIN = 60000
#: huge_c_error_rate against the reference: 5e-4 absolute (0.05 percentage points; 5 of 10,000 test images).
HUGE_C_RATE_TOLERANCE = 5e-4


class Fail(Exception):
    """One failed check; the message is for the student."""


@dataclass
class Evidence:
    """Everything the checks read."""

    claims: dict  # name -> ndarray
    claim_info: dict  # name -> {"status", "type", ...}
    probe: dict  # call id -> grading.run.probe.ProbeResult
    refs: References
    cache: dict = field(default_factory=dict)

    # -- reading the notebook's claims -------------------------------------------------
    def claim(self, name: str) -> np.ndarray:
        info = self.claim_info.get(name, {"status": "absent"})
        status = info.get("status")
        if status == "ok" and name in self.claims:
            return self.claims[name]
        if status == "missing":
            raise Fail(f"{name}: not defined when your notebook finished (did a cell above fail?).")
        if status == "unreadable":
            raise Fail(f"{name}: expected numbers; could not read it ({info.get('error', '')}).")
        raise Fail(f"{name}: your notebook's results could not be read (the kernel died or ran out of time).")

    # -- reading probe results ---------------------------------------------------------
    def returned(self, call_id: str, what: str):
        result = self.probe.get(call_id)
        if result is None:
            raise Fail(f"{what}: not checked.")
        if result.status == "returned":
            return result
        if result.status == "undefined":
            raise Fail(f"{what}: no function of that name was defined (check its name and that its cell runs).")
        if result.status == "raised":
            raise Fail(f"{what} raised {result.message}")
        raise Fail(f"{what}: {result.message}.")

    def test_set(self):
        if "test" not in self.cache:
            self.cache["test"] = self.refs.test_set()
        return self.cache["test"]

    def training_set(self):
        if "train" not in self.cache:
            from gradedlib.data import load_mnist

            self.cache["train"] = load_mnist("train")
        return self.cache["train"]

    def moments(self, which: str = "full"):
        """``refs.moments(which)``, read once per Evidence (each read is about 50 MB)."""
        key = ("moments", which)
        if key not in self.cache:
            self.cache[key] = self.refs.moments(which)
        return self.cache[key]


def _as_array(value, name: str, shape: tuple) -> np.ndarray:
    if value is None:
        raise Fail(f"{name}: expected numbers in an array of shape {shape}; could not read it.")
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != tuple(shape):
        raise Fail(f"{name}: expected shape {tuple(shape)}; found shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise Fail(f"{name}: expected finite numbers; found NaN or infinity.")
    return arr


def check_model(model, ref, what: str, per_class: bool = False):
    """Compare (mu, sigma, pi) with reference moments ``ref``; return c (float, or (10,) array)."""
    priors, means, cov, counts = ref
    mu = _as_array(model[0], f"mu ({what})", (K, D))
    sigma = _as_array(model[1], f"sigma ({what})", (K, D, D))
    pi = _as_array(model[2], f"pi ({what})", (K,))
    if not np.allclose(pi, priors, rtol=1e-5, atol=1e-7):
        j = int(np.argmax(np.abs(pi - priors)))
        raise Fail(f"pi ({what}): expected the class frequencies of y; for class {j} expected {priors[j]:.6f}, found {pi[j]:.6f}.")
    if not np.allclose(mu, means, rtol=0, atol=1e-3):
        j = int(np.argmax(np.abs(mu - means).max(axis=1)))
        raise Fail(f"mu ({what}): expected the mean image of each class of x; class {j} differs by up to "
                   f"{np.abs(mu[j] - means[j]).max():.4g}.")
    scale = float(np.abs(cov).max())
    tol = 1e-4 * scale
    idx = np.arange(D)
    best = None
    for label, reference in (("n_j", cov), ("n_j - 1", cov * (counts / (counts - 1.0))[:, None, None])):
        diff = sigma - reference
        diag = diff[:, idx, idx].copy()
        diff[:, idx, idx] = 0.0
        off_err = float(np.abs(diff).max())
        if best is None or off_err < best[0]:
            best = (off_err, label, diag)
    off_err, _, diag = best
    if off_err > tol:
        raise Fail(f"sigma ({what}): expected the empirical covariance of each class plus c*I; off the diagonal "
                   f"sigma differs from the covariance by up to {off_err:.4g}.")
    c = np.median(diag, axis=1)
    deviation = np.abs(diag - c[:, None]).max(axis=1)
    spread = float(deviation.max())
    if spread > tol + 1e-6 * float(np.abs(c).max()):
        raise Fail(f"sigma ({what}): expected covariance + c*I with one c on the whole diagonal; the amount added "
                   f"to the diagonal varies by {spread:.4g} within a class.")
    # c must stand out from the round-off of its own class: a c of 1e-5 in float64 does (the diagonal
    # agrees to about 1e-9), an unregularized covariance (c about 0 +- round-off) does not.
    if not np.all((c > 10 * deviation) & (c > 1e-12 * scale)):
        raise Fail(f"sigma ({what}): expected a positive c; found c = {np.round(c, 6).tolist()}.")
    if per_class:
        return c
    if np.ptp(c) > tol + 1e-6 * float(c.max()):
        raise Fail(f"sigma ({what}): expected the same c for every class; found {np.round(c, 4).tolist()}.")
    return float(np.mean(c))


_NOT_PD = "your sigma is not positive definite, so your model cannot classify."


def _error_rate(model, X, y, ev: Evidence | None = None) -> float:
    """Error rate of (mu, sigma, pi) on (X, y), by the reference predict (float64).

    With ``ev``, the factors of a sigma identical to the probe's fit_full sigma are
    taken from :func:`_known_model` (the same bits give the same factors).
    """
    mu = _as_array(model[0], "mu", (K, D))
    sigma = _as_array(model[1], "sigma", (K, D, D))
    pi = _as_array(model[2], "pi", (K,))
    X = np.asarray(X, dtype=np.float64)
    known = _known_model(ev, model) if ev is not None else None
    factors = known.get("factors") if known is not None else None
    if factors is None:
        try:
            factors = reference_factors(sigma, len(pi), X.shape[1])
        except np.linalg.LinAlgError:
            factors = _NOT_PD
        if known is not None and X.shape[1] == D:
            known["factors"] = factors
    if isinstance(factors, str):
        raise Fail(factors)
    labels = reference_labels(X, mu, pi, factors)
    return float(np.mean(labels != y))


# -- what the judge works out early, from the probe's model, and reuses for the notebook's -------------
#
# An honest notebook exports the very model that fit_generative_model returned in the probe (the same code on
# the same data): the same float64 bits.  Whatever the checks compute from the notebook's (mu, sigma, pi) is
# then computed while the notebook still runs, from the probe's copy (precompute_probe_errors), and read
# later only when the notebook's arrays are identical to it, bit for bit; any other model is computed as
# before.  The same bits give the same result, so no verdict depends on which path was taken.

_KNOWN = ("known model", "fit_full")  # cache key: the probe's fit_full model, and what was computed from it


def _bits_equal(a, b) -> bool:
    """Whether ``a`` and ``b`` are float64 arrays of one shape, laid out alike, with the same bits."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return False
    if a.dtype != np.float64 or b.dtype != np.float64 or a.shape != b.shape:
        return False
    if not (a.flags.c_contiguous and b.flags.c_contiguous):
        return False
    if a is b:
        return True
    return bool(np.array_equal(a.reshape(-1).view(np.int64), b.reshape(-1).view(np.int64)))


def _known_model(ev: Evidence | None, model) -> dict | None:
    """The cache entry of the probe's fit_full model if ``model``'s (mu, sigma, pi) are identical to it, else None."""
    if ev is None:
        return None
    known = ev.cache.get(_KNOWN)
    if known is None or len(model) < 3:
        return None
    key = ("identical to fit_full", *(id(v) for v in model[:3]))
    memo = ev.cache.get(key)
    if memo is not None and all(u is v for u, v in zip(memo[0], model[:3])):
        return known if memo[1] else None
    try:
        same = all(_bits_equal(np.asarray(value, dtype=np.float64), ref)
                   for value, ref in zip(model[:3], known["arrays"]))
    except Exception:  # noqa: BLE001 - not numbers: not the known model (the checks report it)
        same = False
    ev.cache[key] = (tuple(model[:3]), same)  # keeps the arrays, so their ids stay theirs
    return known if same else None


def _symmetric(sigma: np.ndarray) -> bool:
    return bool(np.allclose(sigma, np.transpose(sigma, (0, 2, 1)), rtol=1e-6, atol=1e-6 * float(np.abs(sigma).max())))


def _training_rows(X) -> np.ndarray:
    """The 6,000 training images on which test_misc_training_errors estimates the training error."""
    return np.random.default_rng(5).choice(X.shape[0], size=6000, replace=False)


def _check_probe_model(ev: Evidence, call_id: str, which: str, what: str, per_class: bool = False):
    """check_model of the probe call's model against ``ev.moments(which)``, memoised (a failure too)."""
    return _memoised(ev, ("check_model", call_id, which, what, per_class),
                     lambda: check_model(ev.probe[call_id].items[:3], ev.moments(which), what, per_class))


def _memoised(ev: Evidence, key, compute):
    """``compute()`` once per submission, kept in ``ev.cache`` under ``key``; a Fail is kept and raised again."""
    if key not in ev.cache:
        try:
            ev.cache[key] = compute()
        except Fail as exc:
            ev.cache[key] = exc
    value = ev.cache[key]
    if isinstance(value, Fail):
        raise Fail(str(value))
    return value


# The probe calls whose model (their first three items: mu, sigma, pi) a check measures on the test set.
PROBE_MODELS = ("fit_full", "per_class_full")
# The check_model calls of the checks on a probe call's model: (call id, moments, what, per_class).
_PROBE_CHECKS = (
    ("fit_unseen", "unseen", "new data", False),
    ("fit_full", "full", "training set, without the test set", False),
    ("per_class_full", "full", "one c per class", True),
)


def _probe_test_error(ev: Evidence, call_id: str, model) -> float:
    """Test error of ``model``, the (mu, sigma, pi) that the probe call ``call_id`` returned.

    Memoised in ``ev.cache`` (a failure too), so :func:`precompute_probe_errors`
    can compute it while the notebook still runs and the check only reads it.
    """
    return _memoised(ev, ("test error", call_id), lambda: _error_rate(model, *ev.test_set(), ev))


def precompute_probe_errors(probe: dict, refs: References) -> dict:
    """What the checks compute from the probe's results alone, as an :class:`Evidence` cache to start from.

    It needs only the probe's results (and the references), so the judge calls it
    as soon as the probe ends, while the notebook may still run; the checks then
    read the values instead of computing them: the test errors of the models the
    probe returned, check_model of those models, and, for fit_full's model, its
    Cholesky factors, its symmetry and its error on the training images, which
    the checks of the notebook's own model reuse when that model is identical,
    bit for bit (see :func:`_known_model`). A model the checks would refuse
    earlier (wrong shapes) is skipped: its check fails before it asks. Nothing
    here raises: a value that cannot be worked out is left to the check.
    """
    ev = Evidence({}, {}, probe, refs)
    fit_full = probe.get("fit_full")
    if fit_full is not None and fit_full.status == "returned" and len(fit_full.items) >= 3:
        try:
            arrays = (_as_array(fit_full.items[0], "mu", (K, D)), _as_array(fit_full.items[1], "sigma", (K, D, D)),
                      _as_array(fit_full.items[2], "pi", (K,)))
            if all(a.flags.c_contiguous for a in arrays):
                ev.cache[_KNOWN] = {"arrays": arrays, "symmetric": _symmetric(arrays[1])}
        except Exception:  # noqa: BLE001 - not a model the checks of the notebook's model could reuse
            ev.cache.pop(_KNOWN, None)
    for call_id in PROBE_MODELS:
        result = probe.get(call_id)
        if result is None or result.status != "returned" or len(result.items) < 3:
            continue
        try:
            _probe_test_error(ev, call_id, result.items[:3])
        except Fail:
            pass  # kept in the cache: the check raises it again
        except Exception:  # noqa: BLE001 - an odd value: the check meets it again and reports it
            ev.cache.pop(("test error", call_id), None)
    known = ev.cache.get(_KNOWN)
    if known is not None:
        try:
            X, y = ev.training_set()
            rows = _training_rows(X)
            known["train error"] = _error_rate(known["arrays"], X[rows], y[rows], ev)
        except Fail as exc:
            known["train error"] = exc
        except Exception:  # noqa: BLE001 - left to the check
            known.pop("train error", None)
    for call_id, which, what, per_class in _PROBE_CHECKS:
        result = probe.get(call_id)
        if result is None or result.status != "returned" or len(result.items) < 3:
            continue
        try:
            _check_probe_model(ev, call_id, which, what, per_class)
        except Fail:
            pass  # kept in the cache: the check raises it again
        except Exception:  # noqa: BLE001 - an odd value: the check meets it again and reports it
            ev.cache.pop(("check_model", call_id, which, what, per_class), None)
    for which in ("full", "unseen"):
        ev.cache.pop(("moments", which), None)  # 50 MB each: read again if a check needs them
    return ev.cache


def _same(a, b, what: str) -> None:
    for u, v in zip(a, b):
        u = np.asarray(u, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        if _bits_equal(u, v) and not np.isnan(v).any():
            continue  # identical numbers, none NaN: allclose below is True whatever the tolerance
        scale = max(1.0, float(np.abs(v).max())) if v.size else 1.0
        if u.shape != v.shape or not np.allclose(u, v, rtol=1e-6, atol=1e-6 * scale):
            raise Fail(what)


def _agreement(labels, expected, what: str, hint: str) -> None:
    labels = np.asarray(labels)
    if labels.shape != expected.shape:
        raise Fail(f"{what}: expected an array of shape {expected.shape}; found shape {labels.shape}.")
    agree = float(np.mean(labels == expected))
    if agree < 0.995:
        raise Fail(f"{what}: {hint}; your labels agree with the correct ones on {100 * agree:.1f}% of "
                   f"{len(expected)} images.")


def _notebook_model(ev: Evidence, names=("mu", "sigma", "pi"), strict: bool = False):
    """The notebook's model; with ``strict`` a dict (the seed's habit) is refused: the contract says arrays."""
    model = tuple(ev.claim(n) for n in names)
    if strict:
        for name in names:
            if ev.claim_info[name].get("type") == "dict":
                raise Fail(f"{name}: expected a numpy array (or a list); found a dict.")
    return model


def _refuse_dicts(result, names, what: str) -> None:
    for name, item in zip(names, result.info.get("items", [])):
        if isinstance(item, dict) and item.get("type") == "dict":
            raise Fail(f"{name} ({what}): expected a numpy array (or a list); found a dict.")


# -- one function per autograded cell -------------------------------------------------------

@check
def test_fit_shapes(ev: Evidence) -> None:
    model = _notebook_model(ev, strict=True)
    mu, sigma, pi = model
    _as_array(mu, "mu", (K, D))
    sigma = _as_array(sigma, "sigma", (K, D, D))
    pi = _as_array(pi, "pi", (K,))
    if abs(pi.sum() - 1) > 1e-6:
        raise Fail(f"pi: expected frequencies that sum to 1; found sum {pi.sum()}")
    known = _known_model(ev, model)
    if not (known["symmetric"] if known is not None else _symmetric(sigma)):
        raise Fail("sigma: expected symmetric matrices sigma[j]")
    _chosen_c(ev)


def _chosen_c(ev: Evidence) -> float:
    value = ev.claim("chosen_c")
    kind = ev.claim_info["chosen_c"].get("type", "")
    if value.shape != () or kind == "bool" or value.dtype.kind not in "iuf":
        raise Fail(f"chosen_c: expected a float; found {kind or 'something else'} of shape {value.shape}.")
    c = float(value)
    if not np.isfinite(c) or c <= 0:
        raise Fail(f"chosen_c: expected a positive value; found {c}")
    return c


@check
def test_fit_values(ev: Evidence) -> None:
    result = ev.returned("fit_unseen", "fit_generative_model (on new data)")
    if not result.info.get("tuple") or len(result.items) != 3:
        raise Fail("fit_generative_model: expected a tuple (mu, sigma, pi); found "
                   f"{result.info.get('length', 1)} value(s).")
    _refuse_dicts(result, ("mu", "sigma", "pi"), "new data")
    _check_probe_model(ev, "fit_unseen", "unseen", "new data")


@check
def test_fit_no_test_set(ev: Evidence) -> None:
    result = ev.returned("fit_full", "fit_generative_model (called again without the test set)")
    if len(result.items) != 3:
        raise Fail("fit_generative_model: expected a tuple (mu, sigma, pi).")
    _same(result.items, _notebook_model(ev),
          "fit_generative_model returned a different model when it was called again where the test set does "
          "not exist (it must choose c from x and y alone, and be reproducible after np.random.seed(0)).")


@check
def test_fit_test_error(ev: Evidence) -> None:
    """chosen_c is the c in the notebook's sigma; the model made without the test set has <= 5% test error.

    The test error is measured on the model that fit_generative_model returned in
    the probe (where the test set does not exist), so a function that behaves
    differently when it can reach the test set gains nothing here.
    """
    model = _notebook_model(ev)
    known = _known_model(ev, model)
    c_probe = ev.cache.get(("check_model", "fit_full", "full", "training set, without the test set", False))
    if known is not None and isinstance(c_probe, float):
        c = c_probe  # the same arrays passed check_model in the probe: the same c
    else:
        c = check_model(model, ev.moments("full"), "training set")
    chosen = _chosen_c(ev)
    if abs(chosen - c) > 5e-4 * c:
        raise Fail(f"chosen_c: expected the c added to sigma, {c:.6g}; found {chosen:.6g}")
    result = ev.returned("fit_full", "fit_generative_model (called again without the test set)")
    if len(result.items) != 3:
        raise Fail("fit_generative_model: expected a tuple (mu, sigma, pi).")
    c_probe = _check_probe_model(ev, "fit_full", "full", "training set, without the test set")
    err = _probe_test_error(ev, "fit_full", result.items)
    if err > 0.05:
        raise Fail(f"Expected a test error of at most 5% for a well-chosen c; your model (c = {c_probe:.4g}) has "
                   f"{100 * err:.2f}%. Search c over a wider range of values.")


def _labels(ev: Evidence, call_id: str, what: str, n: int) -> np.ndarray:
    result = ev.returned(call_id, what)
    if len(result.items) != 1 or result.items[0] is None:
        raise Fail(f"{what}: expected an array of {n} labels; found {result.info.get('length')} values.")
    labels = np.asarray(result.items[0])
    if labels.shape != (n,):
        raise Fail(f"{what}: expected an array of shape ({n},); found shape {labels.shape}.")
    if labels.dtype.kind not in "iu":
        raise Fail(f"{what}: expected integer labels; found dtype {labels.dtype}")
    return labels


@check
def test_predict_shapes(ev: Evidence) -> None:
    labels = _labels(ev, "predict_small", "predict (a small regularized model, 100 images)", 100)
    if not set(np.unique(labels).tolist()) <= set(range(K)):
        raise Fail(f"predict: expected labels 0..9; found {sorted(set(np.unique(labels).tolist()))}")


@check
def test_predict_values(ev: Evidence) -> None:
    labels = _labels(ev, "predict_ref", "predict", 2000)
    _agreement(labels, ev.refs.load("ref_labels"), "predict",
               "expected the label of largest log pi_j + log N(x; mu_j, sigma_j)")
    labels = _labels(ev, "predict_priors", "predict (equal means and covariances)", 5)
    if labels.tolist() != [7] * 5:
        raise Fail(f"predict: with equal means and covariances the largest prior (class 7) must win; found "
                   f"{labels.tolist()}. Did you include log pi_j?")
    labels = _labels(ev, "predict_det", "predict (x at the common mean)", 3)
    if labels.tolist() != [9] * 3:
        raise Fail(f"predict: at x = mu the class with the smallest determinant (class 9) must win; found "
                   f"{labels.tolist()}. Did you include log det sigma_j?")


@check
def test_misc_misclassified(ev: Evidence) -> None:
    shown = ev.claim("misclassified_shown")
    Xt, yt = ev.test_set()
    if shown.shape != (5,) or shown.dtype.kind not in "iu":
        raise Fail(f"misclassified_shown: expected five integer indices; found shape {shown.shape}, dtype {shown.dtype}")
    if len(set(shown.tolist())) != 5 or shown.min() < 0 or shown.max() >= len(yt):
        raise Fail(f"misclassified_shown: expected five distinct indices into test_data; found {shown.tolist()}")
    err = _error_rate(_notebook_model(ev), Xt[shown], yt[shown], ev)
    if err != 1.0:
        raise Fail(f"misclassified_shown: expected five images your model misclassifies; it gets "
                   f"{int(round(5 * (1 - err)))} of them right.")


@check
def test_misc_singularity(ev: Evidence) -> None:
    zv = ev.claim("zero_variance_pixels")
    if zv.shape != (K,) or zv.dtype.kind not in "iu":
        raise Fail(f"zero_variance_pixels: expected an integer array of shape (10,); found shape {zv.shape}, "
                   f"dtype {zv.dtype}")
    expected = ev.refs.load("zero_variance")
    if not np.array_equal(zv, expected):
        raise Fail(f"zero_variance_pixels: expected {expected.tolist()}; found {zv.tolist()}")


def _raises_linalgerror(ev: Evidence, call_id: str, what: str) -> None:
    result = ev.probe.get(call_id)
    if result is not None and result.status == "raised" and result.info.get("linalgerror"):
        return
    if result is None or result.status == "returned":
        raise Fail(f"{what}: expected numpy.linalg.LinAlgError for a singular covariance; predict returned "
                   "labels instead (did it catch the error or add regularization on its own?).")
    if result.status == "raised":
        raise Fail(f"{what}: expected numpy.linalg.LinAlgError; it raised {result.message}")
    ev.returned(call_id, what)  # undefined / timeout / crash: its message


@check
def test_linalgerror_unregularized(ev: Evidence) -> None:
    _raises_linalgerror(ev, "linalg_small", "predict (unregularized covariances of 2000 images)")
    _raises_linalgerror(ev, "linalg_full", "predict (unregularized covariances of the training set)")
    _raises_linalgerror(ev, "linalg_one", "predict (only digit 3 unregularized)")


@check
def test_huge_c_values(ev: Evidence) -> None:
    rate = ev.claim("huge_c_error_rate")
    digit = ev.claim("huge_c_predicted_digit")
    if rate.shape != () or ev.claim_info["huge_c_error_rate"].get("type") == "bool" or not 0 <= float(rate) <= 1:
        raise Fail(f"huge_c_error_rate: expected a float in [0, 1]; found {rate.tolist()!r}")
    if digit.shape != () or digit.dtype.kind not in "iu" or not 0 <= int(digit) <= 9:
        raise Fail(f"huge_c_predicted_digit: expected an int 0..9; found {digit.tolist()!r}")
    _, yt = ev.test_set()
    labels = ev.refs.load("huge_test_labels")
    expected_rate = float(np.mean(labels != yt))
    expected_digit = int(np.bincount(labels, minlength=K).argmax())
    if abs(float(rate) - expected_rate) > HUGE_C_RATE_TOLERANCE:
        raise Fail(f"huge_c_error_rate: expected {expected_rate:.4f} for c = 1e9; found {float(rate):.4f}")
    if int(digit) != expected_digit:
        raise Fail(f"huge_c_predicted_digit: expected {expected_digit}; found {int(digit)}")


@check
def test_huge_c_predict(ev: Evidence) -> None:
    labels = _labels(ev, "predict_huge", "predict with c = 1e9", 1000)
    expected = ev.refs.load("huge_labels")
    _agreement(labels, expected, "predict with c = 1e9",
               f"expected the reference labels (digit {int(np.bincount(expected).argmax())} almost always)")


@check
def test_misc_training_errors(ev: Evidence) -> None:
    claimed = ev.claim("training_errors")
    if claimed.shape != () or claimed.dtype.kind not in "iu":
        raise Fail(f"training_errors: expected an int; found {ev.claim_info['training_errors'].get('type')}")
    if not 0 <= int(claimed) <= _N_TRAIN:
        raise Fail(f"training_errors: expected a count between 0 and {_N_TRAIN}; found {int(claimed)}")
    X, y = ev.training_set()
    rows = _training_rows(X)
    model = _notebook_model(ev)
    known = _known_model(ev, model)
    if known is not None and "train error" in known and X.shape[0] == _N_TRAIN:
        if isinstance(known["train error"], Fail):
            raise Fail(str(known["train error"]))
        rate = known["train error"]  # worked out early on the probe's identical model
    else:
        rate = _error_rate(model, X[rows], y[rows], ev)
    # The tolerance: five standard deviations of an error rate estimated on 6,000 of the 60,000 images, so
    # that an honest count fails with probability below one in a million. It is wide: at the reference's
    # rate (about 4%) five standard deviations are about 0.013, some 765 of 60,000 errors. A tighter check
    # would have to classify all 60,000 training images with the student's model, ten times this check's
    # prediction cost for every submission, and we keep the sample. What the check asks for is the size
    # of the student's own training error, not the count to the unit; so it cannot tell a count that was
    # computed from one copied off a page, and no public page may print the reference model's count (or its
    # rate): tests/support/answer_keys.py looks for both, and tests/book/test_graded_answers_hidden.py runs it on the
    # built book, its reader notebooks and the student wheel.
    sd = max(np.sqrt(rate * (1 - rate) / 6000), 1 / 6000)
    if abs(int(claimed) / X.shape[0] - rate) > 5 * sd:
        raise Fail(f"training_errors: expected the errors of your model on the 60,000 training images (about "
                   f"{rate * X.shape[0]:.0f}, estimated from 6,000 of them); found {int(claimed)}")


@check
def test_per_class_shapes(ev: Evidence) -> None:
    c = _as_array(ev.claim("c_pc"), "c", (K,))
    if not np.all(c > 0):
        raise Fail(f"c: expected ten positive values; found {c.tolist()}")
    _as_array(ev.claim("sigma_pc"), "sigma", (K, D, D))
    _as_array(ev.claim("mu_pc"), "mu", (K, D))
    _as_array(ev.claim("pi_pc"), "pi", (K,))


@check
def test_per_class_values(ev: Evidence) -> None:
    result = ev.returned("per_class_full", "fit_generative_model_per_class_c")
    if not result.info.get("tuple") or len(result.items) != 4:
        raise Fail("fit_generative_model_per_class_c: expected a tuple (mu, sigma, pi, c); found "
                   f"{result.info.get('length', 1)} value(s).")
    c = _check_probe_model(ev, "per_class_full", "full", "one c per class", per_class=True)
    returned_c = _as_array(result.items[3], "c", (K,))
    if not np.allclose(returned_c, c, rtol=5e-4, atol=1e-6):
        raise Fail(f"c: expected the values added to each sigma[j], {np.round(c, 4).tolist()}; found "
                   f"{np.round(returned_c, 4).tolist()}")
    _same(result.items, _notebook_model(ev, ("mu_pc", "sigma_pc", "pi_pc", "c_pc")),
          "fit_generative_model_per_class_c returned a different model when it was called again where the test "
          "set does not exist (it must choose c from x and y alone, and be reproducible after np.random.seed(0)).")
    err = _probe_test_error(ev, "per_class_full", result.items[:3])
    if err > 0.05:
        raise Fail(f"Expected a test error of at most 5% with one c per class; found {100 * err:.2f}% "
                   f"(c = {np.round(c, 1).tolist()}).")




def judge(ev: Evidence, grade_ids) -> dict:
    """{grade_id: [messages]} for every autograded cell (an empty list: passed)."""
    verdicts = {}
    for grade_id in grade_ids:
        check = CHECKS.get(grade_id)
        if check is None:
            verdicts[grade_id] = [f"The grader has no check for the cell {grade_id!r}; please tell your instructor."]
            continue
        try:
            check(ev)
            verdicts[grade_id] = []
        except Fail as exc:
            verdicts[grade_id] = [str(exc)]
        except Exception as exc:  # noqa: BLE001 - a bug or an unexpected value: the cell fails, visibly
            verdicts[grade_id] = [f"The grader could not check this cell ({type(exc).__name__}: {exc})."]
    return verdicts
