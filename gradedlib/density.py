"""The one home of the Gaussian log-density of gradedlib.

Every class ``j`` of every covariance model of :mod:`gradedlib.model` is a
Gaussian whose regularized covariance has the eigendecomposition

    a_j Sigma_j + c_j I = V_j diag(a_j lambda_j + c_j) V_j^T,

where ``Sigma_j`` is the (unregularized) class covariance, ``a_j`` a scale
(1, or ``1 - rho_j`` for convex shrinkage) and ``c_j >= 0`` the
regularization. This module scores

    log pi_j + log N(x; mu_j, a_j Sigma_j + c_j I)

for many values of ``c`` at once, from one projection per class.

The null space
--------------
On MNIST about 200 eigenvalues per class are exactly zero: the pixels that are
constant in that class (always-zero borders). A class is therefore stored as
an :class:`Eigenbasis`: the ``rows`` (pixels) where it varies, the
eigenvalues ``values`` of its covariance restricted to those pixels and the
eigenvectors ``vectors`` (or ``None`` for axis-aligned, diagonal models). In
every direction outside the *range* (the eigenvectors of positive
eigenvalues), the regularized variance is just ``c``, so

    (x - mu)^T (a Sigma + c I)^{-1} (x - mu)
        = sum_range z_i^2 / (a lambda_i + c) + (||x - mu||^2 - sum_range z_i^2) / c,

with ``z = V_range^T (x_rows - mu_rows)``: the projection is a GEMM of
``n x |rows| x |range|`` instead of ``n x d x d`` (about 580 x 560 instead of
784 x 784 on MNIST, 0.52 of the flops), and the null-space part needs no
projection at all: ``||x - mu_j||^2`` for every class comes from one small
GEMM ``X mu^T`` per block of rows.

Precision
---------
The projection, the only ``O(n d^2)`` step, runs in float64 by default or in
float32 when asked (``dtype=np.float32``); log-determinants, priors and the
sums over classes stay in float64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "Eigenbasis",
    "argmax_joint",
    "argmax_joint_kernel",
    "covariance_matrix",
    "eigenbasis",
    "full_eigenvectors",
    "log_joint_kernel",
    "singular_eigenvalues",
    "spectrum",
]

_LOG_2PI = np.log(2.0 * np.pi)

# Rows of X per block: the block and its projections stay in the CPU caches.
_CHUNK = 2048


class Eigenbasis(NamedTuple):
    """One class covariance in factored form, ``Sigma = V diag(values) V^T``.

    Attributes
    ----------
    rows : ndarray of shape (n_rows,), dtype intp
        Features (pixels) where the covariance has a non-zero row; every other
        feature is a null-space direction (eigenvalue exactly 0).
    values : ndarray of shape (n_rows,)
        Eigenvalues of the covariance restricted to ``rows``, each ``> 0`` or
        exactly ``0`` (roundoff below ``n_features * eps * max`` is set to 0).
    vectors : ndarray of shape (n_rows, n_rows) or None
        Orthonormal eigenvectors (columns, in the order of ``values``) over
        ``rows``; ``None`` means the identity (an axis-aligned, diagonal
        covariance).
    """

    rows: np.ndarray
    values: np.ndarray
    vectors: np.ndarray | None


def eigenbasis(covariance: np.ndarray, rows: np.ndarray | None = None, n_features: int | None = None) -> Eigenbasis:
    """Factorise one covariance matrix into an :class:`Eigenbasis`.

    Features with a zero diagonal entry (zero variance) are split off exactly:
    for a positive semi-definite matrix their whole row and column are zero.
    The rest is factorised with one ``eigh`` (reading the upper triangle
    only); eigenvalues at or below ``n_features * eps * max(eigenvalues)`` (the
    roundoff of ``eigh``) are set to exactly 0.

    Parameters
    ----------
    covariance : ndarray of shape (n_features, n_features) or (n_rows, n_rows)
        Symmetric positive semi-definite; with ``rows``, already restricted to
        those features (its upper triangle is enough).
    rows : ndarray of shape (n_rows,), default=None
        The features ``covariance`` is restricted to (all with a positive
        variance); ``None`` finds them from the diagonal.
    n_features : int, default=None
        Total number of features (needed with ``rows``).

    Returns
    -------
    basis : Eigenbasis
    """
    if rows is None:
        n_features = covariance.shape[0]
        rows = np.flatnonzero(np.diagonal(covariance) > 0)
        covariance = covariance[np.ix_(rows, rows)]
    values, vectors = np.linalg.eigh(covariance, UPLO="U")
    if values.size:
        tol = n_features * np.finfo(np.float64).eps * max(float(values[-1]), 0.0)
        values[values <= tol] = 0.0
    return Eigenbasis(rows, values, vectors)


def spectrum(basis: Eigenbasis, n_features: int) -> np.ndarray:
    """Return all ``n_features`` eigenvalues of the covariance, ascending.

    Parameters
    ----------
    basis : Eigenbasis
    n_features : int

    Returns
    -------
    eigenvalues : ndarray of shape (n_features,)
    """
    out = np.zeros(n_features)
    out[n_features - basis.values.size :] = np.sort(basis.values)
    return out


def full_eigenvectors(basis: Eigenbasis, n_features: int) -> np.ndarray:
    """Return the ``(n_features, n_features)`` eigenvectors matching :func:`spectrum`.

    The null-space features come first (as unit vectors), then the columns of
    ``basis.vectors`` embedded at ``basis.rows``, in ascending eigenvalue order.

    Returns
    -------
    vectors : ndarray of shape (n_features, n_features)
    """
    d = n_features
    out = np.zeros((d, d))
    null_rows = np.setdiff1d(np.arange(d), basis.rows, assume_unique=True)
    out[null_rows, np.arange(null_rows.size)] = 1.0
    order = np.argsort(basis.values, kind="stable")
    cols = np.arange(null_rows.size, d)
    if basis.vectors is None:
        out[basis.rows[order], cols] = 1.0
    else:
        out[np.ix_(basis.rows, cols)] = basis.vectors[:, order]
    return out


def covariance_matrix(basis: Eigenbasis, n_features: int) -> np.ndarray:
    """Return ``V diag(values) V^T`` as a dense ``(n_features, n_features)`` matrix."""
    out = np.zeros((n_features, n_features))
    if basis.vectors is None:
        out[basis.rows, basis.rows] = basis.values
    else:
        out[np.ix_(basis.rows, basis.rows)] = (basis.vectors * basis.values) @ basis.vectors.T
    return out


def singular_eigenvalues(bases, scale: np.ndarray, c: np.ndarray, n_features: int) -> None:
    """Raise ``LinAlgError`` if some regularized covariance is singular.

    The regularized eigenvalues are ``scale_j * values + c_j`` on the rows and
    ``c_j`` in the null space; any at or below ``1e6 * eps * max`` counts as
    zero, the criterion of ``scipy.stats.multivariate_normal``. Vectorised
    over candidates (one pass per class).

    Parameters
    ----------
    bases : sequence of Eigenbasis, length n_classes
    scale : ndarray of shape (n_classes,)
    c : ndarray of shape (n_candidates, n_classes)
    n_features : int

    Raises
    ------
    numpy.linalg.LinAlgError
        Naming the class indices, the number of zero eigenvalues and the
        first offending row of ``c``.
    """
    factor = 1e6 * np.finfo(np.float64).eps
    zeros = np.zeros(c.shape, dtype=int)  # (n_candidates, n_classes)
    for j, basis in enumerate(bases):
        shifted = scale[j] * basis.values[None, :] + c[:, j : j + 1]  # (n_candidates, n_rows)
        top = np.maximum(shifted.max(axis=1, initial=0.0), c[:, j])
        limit = factor * top
        zeros[:, j] = np.sum(shifted <= limit[:, None], axis=1)
        zeros[:, j] += (n_features - basis.values.size) * (c[:, j] <= limit)
    bad_rows = np.flatnonzero(zeros.any(axis=1))
    if bad_rows.size:
        row = bad_rows[0]
        bad = {int(j): int(k) for j, k in enumerate(zeros[row]) if k}
        raise np.linalg.LinAlgError(
            "The regularized covariance Sigma_j + c_j I is singular (not positive "
            f"definite) for class index: number of zero eigenvalues {bad}. "
            f"Use a larger 'c' (c = {c[row].tolist()!r})."
        )


def log_joint_kernel(X, means, log_priors, bases, scale, c, dtype=np.float64, classes=None):
    """Kernel, no validation: ``log pi_j + log N(x; mu_j, scale_j Sigma_j + c I)`` for every row of ``c``.

    Inputs are assumed validated; every regularized covariance is assumed
    positive definite (see :func:`singular_eigenvalues`).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    means : ndarray of shape (n_classes, n_features)
    log_priors : ndarray of shape (n_classes,)
    bases : sequence of Eigenbasis, length n_classes
        Classes that share one ``vectors`` object (a tied covariance) share
        one projection of ``X``.
    scale : ndarray of shape (n_classes,)
    c : ndarray of shape (n_candidates, n_classes)
        One row per candidate, one value per class.
    dtype : numpy float dtype, default=np.float64
        Precision of the projection, the only ``O(n d^2)`` step.
    classes : sequence of int, default=None
        Class indices to score (all when ``None``).

    Returns
    -------
    log_joint : ndarray of shape (n_candidates, n_samples, n_out_classes)
    """
    n, d = X.shape
    classes = list(range(means.shape[0])) if classes is None else list(classes)
    out = np.empty((c.shape[0], n, len(classes)))
    range_vectors = {}  # id(basis.vectors) -> range columns in `dtype`, shared by tied classes
    plans = []
    for j in classes:
        b = bases[j]
        keep = b.values > 0
        vals = b.values[keep]
        if b.vectors is None:
            rows, vecs, shift = b.rows[keep], None, None
        else:
            rows = b.rows
            if id(b.vectors) not in range_vectors:
                range_vectors[id(b.vectors)] = (b.vectors if keep.all() else b.vectors[:, keep]).astype(dtype)
            vecs = range_vectors[id(b.vectors)]
            shift = (means[j, rows] @ b.vectors[:, keep]).astype(dtype)  # mu_j projected
        n_null = d - vals.size
        shifted = scale[j] * vals[None, :] + c[:, j : j + 1]  # (n_c, r)
        log_det = np.log(shifted).sum(axis=1)
        if n_null:
            log_det += n_null * np.log(c[:, j])
        weights = (1.0 / shifted).T  # (r, n_c)
        if n_null:  # one more column: the squared norm of the range part
            weights = np.hstack([weights, np.ones((vals.size, 1))])
        plans.append(
            dict(
                j=j,
                rows=rows,
                vecs=vecs,
                shift=shift,
                mu_rows=means[j, rows].astype(dtype),
                weights=weights,
                inv_c=(1.0 / c[:, j]) if n_null else None,
                const=log_priors[j] - 0.5 * (d * _LOG_2PI + log_det),  # (n_c,)
            )
        )
    need_norms = any(p["inv_c"] is not None for p in plans)
    mean_norms = np.einsum("ij,ij->i", means, means)
    for start in range(0, n, _CHUNK):
        block = X[start : start + _CHUNK]
        block_t = block if dtype == block.dtype else block.astype(dtype)
        if need_norms:  # ||x - mu_j||^2 for every class, from one small GEMM
            sq_dist = np.einsum("ij,ij->i", block, block)[:, None] - 2.0 * (block @ means.T) + mean_norms
        projected = {}
        for k, p in enumerate(plans):
            if p["vecs"] is None:
                z = block_t[:, p["rows"]] - p["mu_rows"]
            else:
                key = id(p["vecs"])
                if key not in projected:
                    projected[key] = block_t[:, p["rows"]] @ p["vecs"]
                z = projected[key] - p["shift"]
            # Squares and their weighted sum in float64 even for a float32 projection:
            # float32 GEMV rounds a row differently by its position in the block, so
            # a reordered X would change the result (scikit-learn's order check).
            maha = np.square(z, dtype=np.float64) @ p["weights"]  # (m, n_c [+ 1])
            if p["inv_c"] is not None:
                # Null space: ||x - mu||^2 minus the range part, exactly, with no projection.
                q_null = np.maximum(sq_dist[:, p["j"]] - maha[:, -1], 0.0)
                maha = maha[:, :-1] + q_null[:, None] * p["inv_c"][None, :]
            out[:, start : start + block.shape[0], k] = p["const"][:, None] - 0.5 * maha.T
    return out


# Stages of :func:`argmax_joint_kernel`: the directions of a class whose regularized
# variance ``a lambda + c`` owes at least this fraction to the covariance
# (``a lambda / (a lambda + c)``), largest first; the last stage is the rest.
_STAGES = (0.5, 0.1, 0.01)

# Relative slack of the certificate for the roundoff of the two computations
# (this one and :func:`log_joint_kernel`): float64 roundoff is below 1e-12 of the
# largest term; a float32 projection's is below 1e-4 on MNIST.
_CERTIFICATE_SLACK = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-3}

# When the first stage already holds more than this fraction of all the
# directions (a small ``c``: most variances owe more to the data than to
# ``c``), staging saves nothing and the argmax of :func:`log_joint_kernel` is used.
_MAX_FIRST_STAGE = 0.4


def argmax_joint_kernel(X, means, log_priors, bases, scale, c, dtype=np.float64):
    """Kernel, no validation: ``argmax_j`` of :func:`log_joint_kernel` for one ``c`` per class, in fewer flops.

    Inputs are assumed validated and every regularized covariance positive
    definite (see :func:`singular_eigenvalues`). Only classes with their own
    eigenvectors take the staged path below; otherwise (tied, diagonal or
    spherical models, whose scoring is cheap or shared), for ``c_j = 0``
    (allowed when that covariance is non-singular; the staged form divides
    by ``c``), and when the first
    stage would hold more than ``_MAX_FIRST_STAGE`` of the directions
    (a small ``c``), this is the argmax of :func:`log_joint_kernel`.

    With ``w_i = a lambda_i / (c (a lambda_i + c))`` (largest for the largest
    eigenvalues), ``S = ||x - mu||^2`` and ``z = V^T (x - mu)``, the quadratic
    form is exactly

        (x - mu)^T (a Sigma + c I)^{-1} (x - mu) = S / c - sum_i w_i z_i^2.

    Summing over the leading directions only (set ``T``) leaves out
    ``sum_{i not in T} w_i z_i^2``, which lies between 0 and
    ``max_{i not in T} w_i * (E - sum_{i in T} z_i^2)``, ``E`` the squared norm
    of ``x - mu`` on the class's varying pixels. So each log-joint is known to
    lie in an interval. A row is decided when the lower end of the best class
    exceeds the upper end of every other class (with a relative slack for
    roundoff); undecided rows get the next directions (``_STAGES``), and
    after the last stage the intervals have width 0 (the exact value). On
    MNIST with ``c`` in the thousands, about 80 of about 580 directions per
    class decide four rows in five.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    means : ndarray of shape (n_classes, n_features)
    log_priors : ndarray of shape (n_classes,)
    bases : sequence of Eigenbasis, length n_classes
    scale : ndarray of shape (n_classes,)
    c : ndarray of shape (n_classes,)
    dtype : numpy float dtype, default=np.float64
        Precision of the projections.

    Returns
    -------
    indices : ndarray of shape (n_samples,), dtype intp
        Column of the largest log-joint of every row. Equal to
        ``log_joint_kernel(...)[0].argmax(axis=1)`` except where two classes tie
        within the roundoff slack.
    decided : ndarray of shape (len(_STAGES) + 1,), dtype int
        Rows decided at each stage (all at stage 0, with all directions, when
        the full kernel was used).
    """
    n, d = X.shape
    k = means.shape[0]
    shared = len({id(b.vectors) for b in bases}) < k
    if shared or any(b.vectors is None for b in bases) or np.any(np.asarray(c) == 0):
        return _full_argmax(X, means, log_priors, bases, scale, c, dtype)
    dtype = np.dtype(dtype)
    slack = _CERTIFICATE_SLACK[dtype]
    n_stages = len(_STAGES) + 1
    # Per stage, the directions of all classes side by side: one GEMM per stage
    # (embedded in all n_features rows, zero outside a class's varying pixels),
    # and a block matrix that sums w z^2 and z^2 per class.
    stage_vecs = [[] for _ in range(n_stages)]
    stage_shift = [[] for _ in range(n_stages)]
    stage_w = [[] for _ in range(n_stages)]
    stage_class = [[] for _ in range(n_stages)]
    w_rest = np.zeros((n_stages, k))
    const = np.empty(k)
    inv_c = 1.0 / np.asarray(c, dtype=np.float64)
    mask = np.zeros((d, k))
    for j, b in enumerate(bases):
        a = scale[j] * b.values
        order = np.argsort(-a, kind="stable")
        order = order[a[order] > 0]
        a = a[order]
        cj = float(c[j])
        w = a / (cj * (a + cj))  # descending
        frac = a / (a + cj)
        cuts = [0] + [int(np.sum(frac >= t)) for t in _STAGES] + [order.size]
        const[j] = log_priors[j] - 0.5 * (d * _LOG_2PI + np.log(a + cj).sum() + (d - order.size) * np.log(cj))
        mask[b.rows, j] = 1.0
        for s in range(n_stages):
            cols = order[cuts[s] : cuts[s + 1]]
            full = np.zeros((d, cols.size))
            full[b.rows] = b.vectors[:, cols]
            stage_vecs[s].append(full)
            stage_shift[s].append(means[j] @ full)
            stage_w[s].append(w[cuts[s] : cuts[s + 1]])
            stage_class[s].append(np.full(cols.size, j))
            w_rest[s, j] = w[cuts[s + 1]] if cuts[s + 1] < order.size else 0.0
    if sum(v.shape[1] for v in stage_vecs[0]) > _MAX_FIRST_STAGE * sum(
        v.shape[1] for stage in stage_vecs for v in stage
    ):
        return _full_argmax(X, means, log_priors, bases, scale, c, dtype)
    stages = []
    for s in range(n_stages):
        owner = np.concatenate(stage_class[s])
        sums = np.zeros((owner.size, 2 * k))
        sums[np.arange(owner.size), owner] = np.concatenate(stage_w[s])
        sums[np.arange(owner.size), k + owner] = 1.0
        stages.append((np.hstack(stage_vecs[s]).astype(dtype), np.concatenate(stage_shift[s]).astype(dtype),
                       sums.astype(dtype)))
    mean_norms = np.einsum("ij,ij->i", means, means)
    masked_means = mask * means.T  # (d, k)
    masked_norms = np.einsum("ij,ij->j", masked_means, masked_means)
    out = np.empty(n, dtype=np.intp)
    counts = np.zeros(n_stages, dtype=int)
    for start in range(0, n, _CHUNK):
        block = X[start : start + _CHUNK]
        m = block.shape[0]
        S = np.einsum("ij,ij->i", block, block)[:, None] - 2.0 * (block @ means.T) + mean_norms  # ||x - mu_j||^2
        E = (block * block) @ mask - 2.0 * (block @ masked_means) + masked_norms  # on the varying pixels
        base = const - 0.5 * S * inv_c  # (m, k)
        half_s = 0.5 * (S * inv_c).max(axis=1)
        AB = np.zeros((m, 2 * k))  # sums over projected directions of w z^2 and of z^2
        active = np.arange(m)
        block_t = block if dtype == block.dtype else block.astype(dtype)
        for s, (vecs, shift, sums) in enumerate(stages):
            if vecs.shape[1]:
                z = block_t[active] @ vecs
                z -= shift
                np.square(z, out=z)
                AB[active] += z @ sums
            lower = base[active] + 0.5 * AB[active, :k]
            upper = lower + 0.5 * w_rest[s] * np.maximum(E[active] - AB[active, k:], 0.0)
            tol = slack * (np.abs(lower).max(axis=1) + half_s[active])
            best = lower.argmax(axis=1)
            at = np.arange(active.size)
            best_lower = lower[at, best]
            upper[at, best] = -np.inf
            decided = best_lower - tol > upper.max(axis=1) + tol
            if s == n_stages - 1:
                decided[:] = True  # exact values; a tie within roundoff goes to the first class
            out[start + active[decided]] = best[decided]
            counts[s] += int(decided.sum())
            active = active[~decided]
            if active.size == 0:
                break
    return out, counts


def _full_argmax(X, means, log_priors, bases, scale, c, dtype):
    """The argmax of :func:`log_joint_kernel` in the return form of :func:`argmax_joint_kernel`."""
    counts = np.zeros(len(_STAGES) + 1, dtype=int)
    counts[0] = X.shape[0]
    return log_joint_kernel(X, means, log_priors, bases, scale, np.asarray(c)[None, :], dtype)[0].argmax(axis=1), counts


def argmax_joint(X, means, log_priors, bases, scale, c, dtype=np.float64, return_stages=False):
    """Return the column of the largest ``log pi_j + log N(x; mu_j, a_j Sigma_j + c_j I)`` of every row.

    The public, validating wrapper of the staged kernel behind
    :meth:`gradedlib.model.GaussianGenerativeClassifier.predict`: the labels
    of the exact log-joint (except for ties within roundoff), from fewer
    flops when ``c`` is large enough that most directions matter little.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    means : array-like of shape (n_classes, n_features)
    log_priors : array-like of shape (n_classes,)
    bases : sequence of Eigenbasis, length n_classes
    scale : array-like of shape (n_classes,)
    c : array-like of shape (n_classes,)
        Non-negative regularization, one value per class.
    dtype : numpy.float64 or numpy.float32, default=numpy.float64
    return_stages : bool, default=False
        Also return how many rows each stage decided.

    Returns
    -------
    indices : ndarray of shape (n_samples,), dtype intp
    decided : ndarray of shape (n_stages,), dtype int
        Only with ``return_stages=True``: the rows decided at each stage (the
        first stage uses the directions with ``a lambda / (a lambda + c)``
        at least 0.5, then 0.1, 0.01, then all). All rows count at the first
        stage when the full kernel was used instead (see the model's
        ``predict``).

    Raises
    ------
    ValueError
        If an argument has the wrong shape or ``c`` is negative or not finite.
    numpy.linalg.LinAlgError
        If some regularized covariance is singular.
    """
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    if X.ndim != 2 or means.ndim != 2 or X.shape[1] != means.shape[1]:
        raise ValueError(
            f"The 'X' and 'means' arguments must be 2-D with the same number of columns. "
            f"Got shapes {X.shape} and {means.shape} instead."
        )
    k, d = means.shape
    log_priors = np.asarray(log_priors, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    for name, value in (("log_priors", log_priors), ("scale", scale), ("c", c)):
        if value.shape != (k,):
            raise ValueError(f"The '{name}' argument must have shape ({k},). Got shape {value.shape} instead.")
    if len(bases) != k:
        raise ValueError(f"The 'bases' argument must hold {k} Eigenbasis objects. Got {len(bases)} instead.")
    if not np.all(np.isfinite(c) & (c >= 0)):
        raise ValueError(f"The 'c' argument must hold non-negative floats. Got {c.tolist()!r} instead.")
    dtype = np.dtype(dtype)
    if dtype not in _CERTIFICATE_SLACK:
        raise ValueError(f"The 'dtype' argument must be numpy.float64 or numpy.float32. Got {dtype} instead.")
    singular_eigenvalues(bases, scale, c[None, :], d)
    indices, decided = argmax_joint_kernel(X, means, log_priors, bases, scale, c, dtype)
    return (indices, decided) if return_stages else indices
