"""The whole job on arrays: choose c on the training set, fit, and measure.

:func:`evaluate` is what ``gradedlib fit`` computes, without the command line:
arrays in, an :class:`Evaluation` out. It reads no file and prints nothing;
``progress`` (optional) receives one message per step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Evaluation", "evaluate"]


@dataclass
class Evaluation:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    model : GaussianGenerativeClassifier
        Fitted on all the training images with the chosen (or given) c.
    selection : CSelection or None
        The search for c (None when c was given).
    c : float or ndarray of shape (n_classes,)
        The c of ``model``.
    test_predictions : ndarray of shape (n_test,)
        ``model.predict(X_test)``.
    train_predictions : ndarray of shape (n_train,)
        ``model.predict(X_train)``.
    test_error, train_error : float
        Error rates on the test and training images.
    confusion : ndarray of shape (n_classes, n_classes)
        Test-set confusion matrix (rows: true label, columns: predicted).
    timings : dict
        Seconds per step: "choose_c" (if searched), "fit",
        "predict_test", "predict_train".
    """

    model: object
    selection: object
    c: object
    test_predictions: np.ndarray
    train_predictions: np.ndarray
    test_error: float
    train_error: float
    confusion: np.ndarray
    timings: dict = field(default_factory=dict)


def evaluate(X_train, y_train, X_test, y_test, *, c=None, folds=None, per_class=False, random_state=0,
             progress=None) -> Evaluation:
    """Choose c on the training set only (unless given), fit on all of it, and measure.

    Parameters
    ----------
    X_train : array-like of shape (n_train, 784)
    y_train : array-like of shape (n_train,)
    X_test : array-like of shape (n_test, 784)
    y_test : array-like of shape (n_test,)
    c : float, array-like of shape (n_classes,) or None, default=None
        The regularization; ``None`` chooses it with :func:`gradedlib.selection.choose_c`.
    folds : int or None, default=None
        Cross-validation folds for the search; ``None``: one hold-out of 10,000.
    per_class : bool, default=False
        Search one c per class.
    random_state : int, default=0
        Seed of the search's split.
    progress : callable or None, default=None
        ``progress(step, total, message)`` during the search, ``progress(None, None, message)``
        between steps.

    Returns
    -------
    Evaluation
    """
    from scipy.sparse import issparse
    from sklearn.metrics import confusion_matrix

    from ._validation import check_X

    from .model import GaussianGenerativeClassifier
    from .selection import choose_c

    def say(message):
        if progress is not None:
            progress(None, None, message)

    timings = {}
    # Converted to float64 once, here: choose_c, fit and predict then use these
    # arrays without copying them again (each would convert uint8 MNIST anew).
    for name, arr in (("X_train", X_train), ("X_test", X_test)):
        check_X(arr, name)
    if not issparse(X_train):
        X_train = np.asarray(X_train, dtype=np.float64)
    if not issparse(X_test):
        X_test = np.asarray(X_test, dtype=np.float64)
    selection = None
    if c is None:
        say("choosing c on the training set only"
            + (f" ({folds}-fold cross-validation)" if folds else " (hold-out of 10,000)"))
        t = time.perf_counter()
        selection = choose_c(X_train, y_train, folds=folds, per_class=per_class, random_state=random_state,
                             progress=progress)
        timings["choose_c"] = time.perf_counter() - t
        c = selection.c
    say(f"fitting on all {len(y_train):,} training images")
    t = time.perf_counter()
    model = GaussianGenerativeClassifier(c=c).fit(X_train, y_train)
    timings["fit"] = time.perf_counter() - t
    say(f"predicting the {len(y_test):,} test images")
    t = time.perf_counter()
    pred_test = model.predict(X_test)
    timings["predict_test"] = time.perf_counter() - t
    say("predicting the training images (training error)")
    t = time.perf_counter()
    pred_train = model.predict(X_train)
    timings["predict_train"] = time.perf_counter() - t
    y_test, y_train = np.asarray(y_test), np.asarray(y_train)
    return Evaluation(
        model=model, selection=selection, c=c, test_predictions=pred_test, train_predictions=pred_train,
        test_error=float(np.mean(pred_test != y_test)), train_error=float(np.mean(pred_train != y_train)),
        confusion=confusion_matrix(y_test, pred_test, labels=model.classes_), timings=timings,
    )
