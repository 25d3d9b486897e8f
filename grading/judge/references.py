"""What the judge compares with, computed once per grading run and shared read-only.

Nothing here depends on a student.  :func:`prepare` computes (or reuses from
the cache folder) the reference class moments of the training set and of the
"unseen" subset, the images the probe gives to ``predict``, and the reference
answers; and it lays out the two read-only views that sandboxes mount:

``notebook/``  the student package (gradedlib without its model and selection
               code) with all of MNIST: what the notebook itself may use;
``probe/``     the same package with the training set only (the test set does
               not exist there), the probe runner, and the probe's inputs.

The subsets are drawn with a seed that is made once per course and kept in the
cache folder (``seed``), so a student cannot know in advance which images are
"unseen"; regrading the same course uses the same subsets.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import gradedlib
from gradedlib.data import data_dir, load_mnist
from grading.run.probe import PROBE_RUNNER

__all__ = ["References", "prepare", "class_moments", "zero_variance_counts", "reference_factors", "reference_labels",
           "reference_predict", "STUDENT_MODULES", "N_UNSEEN", "N_CHECK"]

#: gradedlib modules students may use while graded (none imports the model or selection code).
STUDENT_MODULES = ("data", "images", "plots", "preprocess", "selfcheck")
N_UNSEEN = 20000  # "data it has never seen": a random subset of the training images
N_CHECK = 2000  # images the probe classifies with the reference parameters
PREDICT_C = 3000.0  # the c of the reference parameters given to predict
HUGE_C = 1e9
_VERSION = "1"  # bump when what is computed here changes

_STUDENT_INIT = '''"""gradedlib as the grader provides it: loading the data, plots, preprocessing.

gradedlib's model and selection code (GaussianGenerativeClassifier,
fit_generative_model, predict, choose_c) does not exist while your notebook is
graded: the assignment asks for your own code.
"""

from .data import MNIST_ATTRIBUTION, load_mnist, read_idx

_ABSENT = ("GaussianGenerativeClassifier", "GaussianGenerativeClassifierCV", "fit_generative_model", "predict",
           "choose_c", "CSelection", "class_moments", "model", "model_cv", "selection", "cli", "density", "family")


def __getattr__(name):
    if name in _ABSENT:
        raise ImportError(
            f"gradedlib.{name} is not available while the notebook is graded: the assignment asks for your "
            "own code (gradedlib.data, gradedlib.plots and gradedlib.preprocess are available)."
        )
    raise AttributeError(f"module 'gradedlib' has no attribute {name!r}")
'''


def class_moments(X: np.ndarray, y: np.ndarray, k: int = 10):
    """Priors (k,), means (k, d), covariances dividing by n_j (k, d, d) and counts (k,), in float64.

    An independent two-pass computation (centre, then X^T X / n_j), not gradedlib's.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.intp)
    n, d = X.shape
    counts = np.bincount(y, minlength=k).astype(np.float64)
    priors = counts / n
    means = np.empty((k, d))
    covariances = np.empty((k, d, d))
    for j in range(k):
        xj = X[y == j]
        means[j] = xj.mean(axis=0)
        centred = xj - means[j]
        covariances[j] = centred.T @ centred / xj.shape[0]
    return priors, means, covariances, counts


def zero_variance_counts(X: np.ndarray, y: np.ndarray, k: int = 10) -> np.ndarray:
    """(k,) ints: for each class, the pixels with one value in all of its images (``zero_variance_pixels``)."""
    X = np.asarray(X)
    y = np.asarray(y)
    return np.array([np.sum(np.ptp(X[y == j], axis=0) == 0) for j in range(k)])


@dataclass
class References:
    """The reference data of one grading run (all in the grader's own process)."""

    folder: Path
    notebook_view: Path
    probe_view: Path

    def load(self, name: str) -> np.ndarray:
        with np.load(self.folder / "references.npz", allow_pickle=False) as data:
            return data[name]

    def arrays(self, *names: str) -> dict:
        with np.load(self.folder / "references.npz", allow_pickle=False) as data:
            return {name: data[name] for name in names}

    def moments(self, which: str = "full"):
        """(priors, means, covariances, counts) of the full training set or the unseen subset."""
        path = self.probe_view / "moments.npz" if which == "full" else self.folder / "unseen_moments.npz"
        with np.load(path, allow_pickle=False) as data:
            return data["priors"], data["means"], data["covariances"], data["counts"]

    def test_set(self):
        return load_mnist("test")


def _fingerprint() -> str:
    h = hashlib.sha256(_VERSION.encode())
    h.update((Path(data_dir()) / "SHA256SUMS.uncompressed").read_bytes())
    for module in STUDENT_MODULES:
        path = Path(gradedlib.__file__).parent / f"{module}.py"
        if path.exists():
            h.update(path.read_bytes())
    h.update(PROBE_RUNNER.read_bytes())
    return h.hexdigest()[:16]


def _student_package(target: Path, with_test_set: bool) -> None:
    source = Path(gradedlib.__file__).parent
    package = target / "gradedlib"
    (package / "_data" / "mnist").mkdir(parents=True)
    (package / "__init__.py").write_text(_STUDENT_INIT)
    for module in STUDENT_MODULES:
        if (source / f"{module}.py").exists():
            shutil.copy2(source / f"{module}.py", package / f"{module}.py")
    for item in Path(data_dir()).iterdir():
        if item.name.startswith("t10k") and not with_test_set:
            continue
        shutil.copy2(item, package / "_data" / "mnist" / item.name)


def reference_factors(sigma, k: int, d: int) -> list:
    """Per class j < k: (L^-1, sum(log(diag(L)))) of sigma_j = L L^T (raises LinAlgError if not positive definite).

    What :func:`reference_predict` needs of sigma, so a caller can form it once and classify several image
    sets with it (:func:`reference_labels`): the labels are the same, to the bit, as formed each time.
    """
    import scipy.linalg

    factors = []
    for j in range(k):
        L = np.linalg.cholesky(sigma[j])
        L_inv = scipy.linalg.solve_triangular(L, np.eye(d), lower=True)
        factors.append((L_inv, np.sum(np.log(np.diag(L)))))
    return factors


def reference_labels(X, means, priors, factors) -> np.ndarray:
    """Labels of largest log pi_j + log N(x; mu_j, sigma_j), with sigma's :func:`reference_factors`."""
    X = np.asarray(X, dtype=np.float64)
    scores = np.empty((X.shape[0], len(priors)))
    for j, (L_inv, half_log_det) in enumerate(factors):
        z = (X - means[j]) @ L_inv.T
        scores[:, j] = np.log(priors[j]) - half_log_det - 0.5 * np.einsum("ij,ij->i", z, z)
    return np.argmax(scores, axis=1)


def reference_predict(X, means, sigma, priors) -> np.ndarray:
    """Labels of largest log pi_j + log N(x; mu_j, sigma_j), by Cholesky factors (float64).

    Each class: sigma_j = L L^T (raises LinAlgError if not positive definite), then
    z = (x - mu_j) L^-T with L^-1 formed once, so the work per image is one matrix product.
    """
    X = np.asarray(X, dtype=np.float64)
    return reference_labels(X, means, priors, reference_factors(sigma, len(priors), X.shape[1]))


def prepare(cache_root: str | os.PathLike, seed: int | None = None) -> References:
    """Compute (or reuse) the references and the two read-only views under ``cache_root``.

    ``seed`` (the course's, for a remote worker) draws the subsets; by default the
    seed kept in ``cache_root/seed``, made at random the first time.
    """
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    os.chmod(cache_root, 0o700)
    seed_file = cache_root / "seed"
    if seed is None:
        if not seed_file.exists():
            tmp = seed_file.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(str(secrets.randbits(32)))
            tmp.replace(seed_file)
        seed = int(seed_file.read_text())
    folder = cache_root / f"references-{_fingerprint()}-{seed}"
    refs = References(folder, folder / "notebook", folder / "probe")
    if (folder / "complete").exists():
        return refs
    building = cache_root / f"building-{os.getpid()}-{secrets.token_hex(4)}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    X, y = load_mnist("train")
    Xt, yt = load_mnist("test")
    rng = np.random.default_rng(seed)
    unseen = np.sort(rng.choice(X.shape[0], size=N_UNSEEN, replace=False))
    check = np.sort(rng.choice(X.shape[0], size=N_CHECK, replace=False))
    priors, means, cov, counts = class_moments(X, y)
    u_priors, u_means, u_cov, u_counts = class_moments(X[unseen], y[unseen])
    small_x, small_y = X[:2000], y[:2000]
    s_priors, s_means, s_cov, _ = class_moments(small_x, small_y)
    eye = np.eye(X.shape[1])
    ref_labels = reference_predict(X[check], means, cov + PREDICT_C * eye, priors)
    huge_labels = reference_predict(X[check[:1000]], means, cov + HUGE_C * eye, priors)
    huge_test = reference_predict(Xt, means, cov + HUGE_C * eye, priors)
    zero_variance = zero_variance_counts(X, y)

    notebook = building / "notebook"
    probe = building / "probe"
    _student_package(notebook / "lib", with_test_set=True)
    _student_package(probe / "lib", with_test_set=False)
    shutil.copy2(PROBE_RUNNER, probe / "lib" / "gm_probe_runner.py")
    np.savez(probe / "moments.npz", priors=priors, means=means, covariances=cov, counts=counts)
    rng_inputs = np.random.default_rng(1)
    np.savez(
        probe / "inputs.npz",
        x_unseen=X[unseen], y_unseen=y[unseen], x_check=X[check], x_check_20=X[check[:20]],
        x_check_1000=X[check[:1000]], x_small_100=X[2000:2100],
        small_priors=s_priors, small_means=s_means,
        small_sigma=s_cov + PREDICT_C * eye, small_sigma0=s_cov,
        x_normal=rng_inputs.normal(size=(5, X.shape[1])), x_zero=np.zeros((3, X.shape[1])),
        same_means=np.zeros((10, X.shape[1])),
        same_sigma=np.broadcast_to(eye, (10,) + eye.shape).copy(),
        scaled_sigma=np.broadcast_to(eye, (10,) + eye.shape) * (2.0 - np.arange(10) / 10.0)[:, None, None],
        skewed_priors=np.where(np.arange(10) == 7, 0.55, 0.05), uniform_priors=np.full(10, 0.1),
    )
    np.savez(building / "unseen_moments.npz", priors=u_priors, means=u_means, covariances=u_cov, counts=u_counts)
    np.savez(
        building / "references.npz",
        unseen_rows=unseen, check_rows=check, ref_labels=ref_labels, huge_labels=huge_labels,
        huge_test_labels=huge_test, zero_variance=zero_variance,
        small_labels=reference_predict(X[2000:2100], s_means, s_cov + PREDICT_C * eye, s_priors),
    )
    (building / "meta.json").write_text(json.dumps({"seed": seed, "fingerprint": _fingerprint()}))
    for path in (notebook, probe):
        for p in path.rglob("*"):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        os.chmod(path, 0o755)
    os.chmod(building, 0o755)
    (building / "complete").write_text("")
    try:
        building.rename(folder)
    except OSError:  # another process finished first: use its copy
        shutil.rmtree(building, ignore_errors=True)
    return refs
