"""Figures for MNIST digits and for the Gaussian generative classifier.

Every function returns a matplotlib object (:class:`~matplotlib.axes.Axes` or
:class:`~matplotlib.figure.Figure`) built with :class:`matplotlib.figure.Figure`,
not with pyplot's global state, so they work on a headless machine. Nothing
here calls ``show`` or ``savefig``: display or save the returned figure
yourself (in a notebook, a returned ``Figure`` is displayed automatically).

Grey levels
-----------
Images are drawn on a fixed grey scale ``vrange=(0, 255)`` by default, the
range of MNIST pixels: values below 0 are drawn black and values above 255
white (clipped), so class means, deskewed images and model samples (which are
not confined to 0..255) look like pixel images and are comparable with each
other. Pass ``vrange=None`` to stretch each image from its own minimum (black)
to its maximum (white), e.g. for data scaled to 0..1.
"""

from __future__ import annotations

import numbers

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix
from sklearn.utils import check_random_state

from .images import IMAGE_SIDE, check_images

__all__ = [
    "displaychar",
    "image_grid",
    "plot_class_means",
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_samples",
    "plot_validation_curve",
]

_SIDE = IMAGE_SIDE


def _check_image_stack(images, name: str) -> np.ndarray:
    """Return images as float64 of shape (n, 28, 28); see :func:`gradedlib.images.check_images`."""
    return check_images(images, name, squares=True)[0].reshape(-1, _SIDE, _SIDE)


def _check_vrange(vrange):
    if vrange is None:
        return None
    try:
        lo, hi = (float(v) for v in vrange)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"The 'vrange' parameter must be None or a pair (low, high). Got {vrange!r} instead.") from exc
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"The 'vrange' parameter must be finite with low < high. Got {vrange!r} instead.")
    return lo, hi


def _draw(ax, image: np.ndarray, title, cmap, vrange) -> None:
    """Draw one validated (28, 28) image on ``ax`` without ticks."""
    if vrange is None:
        ax.imshow(image, cmap=cmap, interpolation="nearest")
    else:
        lo, hi = vrange
        ax.imshow(np.clip(image, lo, hi), cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(str(title), fontsize=9)


def displaychar(image, ax=None, title=None, *, cmap="gray", vrange=(0, 255)):
    """Show one MNIST digit.

    Parameters
    ----------
    image : array-like of shape (784,) or (28, 28)
        A flattened (row-major) or square 28x28 image.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; ``None`` creates a new 3x3-inch figure.
    title : str, default=None
        Axes title.
    cmap : str, default="gray"
        Matplotlib colormap.
    vrange : (float, float) or None, default=(0, 255)
        Grey scale: values are clipped to it. ``None`` stretches the image from
        its minimum to its maximum. See the module docstring.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on (no ticks).
    """
    arr = np.asarray(image)
    if arr.shape not in ((_SIDE * _SIDE,), (_SIDE, _SIDE)):
        raise ValueError(
            f"The 'image' argument must have shape (784,) or (28, 28). Got shape {arr.shape} instead."
        )
    img = _check_image_stack(arr, "image")[0]
    vrange = _check_vrange(vrange)
    if ax is None:
        ax = Figure(figsize=(3, 3)).subplots()
    _draw(ax, img, title, cmap, vrange)
    return ax


def image_grid(images, titles=None, ncols=10, cmap="gray", figsize=None, *, vrange=(0, 255), suptitle=None):
    """Draw several digits in a grid.

    Parameters
    ----------
    images : array-like of shape (n_images, 784) or (n_images, 28, 28)
        The images, drawn row by row.
    titles : sequence of str of length n_images, default=None
        One title per image.
    ncols : int, default=10
        Images per row (fewer if there are fewer images).
    cmap : str, default="gray"
        Matplotlib colormap.
    figsize : (float, float), default=None
        Figure size in inches; ``None`` gives 1.2 inches per image.
    vrange : (float, float) or None, default=(0, 255)
        Grey scale, clipped; ``None`` stretches each image on its own. See the
        module docstring.
    suptitle : str, default=None
        Title of the whole figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with ``nrows * ncols`` axes; unused axes are hidden.
    """
    stack = _check_image_stack(images, "images")
    n = stack.shape[0]
    if isinstance(ncols, (bool, np.bool_)) or not isinstance(ncols, numbers.Integral) or ncols < 1:
        raise ValueError(f"The 'ncols' parameter must be a positive integer. Got {ncols!r} instead.")
    if titles is not None:
        titles = list(titles) if not isinstance(titles, str) else None
        if titles is None or len(titles) != n:
            raise ValueError(
                f"The 'titles' argument must be a sequence of {n} titles, one per image. "
                f"Got {len(titles) if titles is not None else 'a single string'} instead."
            )
    vrange = _check_vrange(vrange)
    ncols = min(int(ncols), n)
    nrows = -(-n // ncols)
    if figsize is None:
        figsize = (1.2 * ncols, 1.2 * nrows + (0.25 * nrows if titles is not None else 0) + (0.4 if suptitle else 0))
    fig = Figure(figsize=figsize, layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for i, ax in enumerate(axes):
        if i < n:
            _draw(ax, stack[i], None if titles is None else titles[i], cmap, vrange)
        else:
            ax.set_axis_off()
    if suptitle is not None:
        fig.suptitle(str(suptitle))
    return fig


def plot_class_means(means, labels=None, *, ncols=10, vrange=(0, 255)):
    """Draw the mean image of every class.

    Parameters
    ----------
    means : array-like of shape (n_classes, 784), or a fitted GaussianGenerativeClassifier
        Class means (``model.means_``).
    labels : sequence of length n_classes, default=None
        Class labels for the titles; taken from ``model.classes_`` when a
        model is given, else ``0..n_classes-1``.
    ncols : int, default=10
    vrange : (float, float) or None, default=(0, 255)

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    if hasattr(means, "means_"):
        labels = means.classes_ if labels is None else labels
        means = means.means_
    stack = _check_image_stack(means, "means")
    labels = range(stack.shape[0]) if labels is None else labels
    titles = [f"mean of {lab}" for lab in labels]
    return image_grid(stack, titles=titles, ncols=ncols, vrange=vrange)


def plot_samples(model, n_per_class=1, *, random_state=None, ncols=10, vrange=(0, 255)):
    """Draw images sampled from every class Gaussian of a fitted model.

    Parameters
    ----------
    model : GaussianGenerativeClassifier
        A fitted model; samples come from ``N(mu_j, Sigma_j + c_j I)``.
    n_per_class : int, default=1
        Samples per class.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible samples.
    ncols : int, default=10
    vrange : (float, float) or None, default=(0, 255)
        Samples are not confined to 0..255; by default they are clipped to it.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Titled "sample of <label>".
    """
    if not hasattr(model, "sample") or not hasattr(model, "classes_"):
        raise TypeError(
            f"The 'model' argument must be a fitted GaussianGenerativeClassifier. Got {type(model).__name__} instead."
        )
    if isinstance(n_per_class, (bool, np.bool_)) or not isinstance(n_per_class, numbers.Integral) or n_per_class < 1:
        raise ValueError(f"The 'n_per_class' parameter must be a positive integer. Got {n_per_class!r} instead.")
    rng = check_random_state(random_state)
    images, labels = [], []
    for label in model.classes_:
        X, y = model.sample(n_samples=int(n_per_class), label=label, random_state=rng)
        images.append(X)
        labels.extend(y)
    return image_grid(np.concatenate(images), titles=[f"sample of {lab}" for lab in labels], ncols=ncols, vrange=vrange)


def plot_misclassified(X, y_true, y_pred, n=5, random_state=None, *, ncols=10, vrange=(0, 255)):
    """Draw a random selection of misclassified images.

    Parameters
    ----------
    X : array-like of shape (n_samples, 784)
        The images.
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    n : int, default=5
        How many misclassified images to draw, chosen at random without
        replacement; all of them if there are fewer.
    random_state : int, RandomState instance or None, default=None
        Seed of the random choice.
    ncols : int, default=10
    vrange : (float, float) or None, default=(0, 255)

    Returns
    -------
    fig : matplotlib.figure.Figure
        Panels titled ``"true: a / pred: b"``, in the order of ``X``. With no
        misclassified image, the figure holds one text panel saying so.
    """
    stack = _check_image_stack(X, "X")
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != (stack.shape[0],) or y_pred.shape != (stack.shape[0],):
        raise ValueError(
            f"The 'y_true' and 'y_pred' arguments must have shape ({stack.shape[0]},), one label per "
            f"image of X. Got shapes {y_true.shape} and {y_pred.shape} instead."
        )
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"The 'n' parameter must be a positive integer. Got {n!r} instead.")
    wrong = np.flatnonzero(y_true != y_pred)
    if wrong.size == 0:
        fig = Figure(figsize=(3, 1))
        ax = fig.subplots()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return fig
    rng = check_random_state(random_state)
    chosen = np.sort(rng.choice(wrong, size=min(int(n), wrong.size), replace=False))
    titles = [f"true: {y_true[i]} / pred: {y_pred[i]}" for i in chosen]
    return image_grid(stack[chosen], titles=titles, ncols=ncols, vrange=vrange,
                      figsize=(1.9 * min(ncols, chosen.size), 2.0 * -(-chosen.size // ncols)))


def _check_curve(candidates, errors):
    c = np.asarray(candidates, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    if c.ndim != 1 or c.size == 0 or e.shape != c.shape:
        raise ValueError(
            f"The 'candidates' and 'errors' arguments must be 1-D of the same non-zero length. "
            f"Got shapes {c.shape} and {e.shape} instead."
        )
    if not (np.all(np.isfinite(c)) and np.all(c > 0)):
        raise ValueError(f"The 'candidates' argument must hold positive finite values (log axis). Got {c.tolist()!r} instead.")
    if not np.all(np.isfinite(e)):
        raise ValueError("The 'errors' argument must hold finite values. Got NaN or infinite values instead.")
    return c, e


def plot_validation_curve(candidates, errors, chosen=None, ax=None):
    """Plot validation error against ``c`` on a logarithmic axis.

    Parameters
    ----------
    candidates : array-like of shape (n_candidates,)
        Positive values of ``c``.
    errors : array-like of shape (n_candidates,)
        Validation error of each candidate (a fraction, drawn in percent).
    chosen : float, default=None
        The chosen ``c``, marked with a vertical line.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; ``None`` creates a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the axes.
    """
    c, e = _check_curve(candidates, errors)
    if chosen is not None:
        if isinstance(chosen, (bool, np.bool_)) or not isinstance(chosen, numbers.Real) or not (np.isfinite(chosen) and chosen > 0):
            raise ValueError(f"The 'chosen' parameter must be a positive finite float or None. Got {chosen!r} instead.")
    if ax is None:
        ax = Figure(figsize=(5, 3.5), layout="constrained").subplots()
    order = np.argsort(c)
    ax.plot(c[order], 100 * e[order], marker="o", markersize=3)
    ax.set_xscale("log")
    ax.set_xlabel("c (added to every covariance diagonal)")
    ax.set_ylabel("validation error (%)")
    if chosen is not None:
        ax.axvline(float(chosen), color="tab:red", linestyle="--", label=f"chosen c = {float(chosen):.4g}")
        ax.legend()
    ax.set_title("Validation error against c")
    return ax.figure


def plot_confusion_matrix(y_true, y_pred, labels=None, ax=None):
    """Draw the confusion matrix with the counts written in the cells.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : sequence, default=None
        Label order; ``None`` uses the sorted union of both.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; ``None`` creates a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Rows are true labels, columns predicted labels.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"The 'y_true' and 'y_pred' arguments must be 1-D of the same non-zero length. "
            f"Got shapes {y_true.shape} and {y_pred.shape} instead."
        )
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    if ax is None:
        size = 1.5 + 0.5 * labels.size
        ax = Figure(figsize=(size, size), layout="constrained").subplots()
    ax.imshow(cm, cmap="Blues")
    ticks = np.arange(labels.size)
    ax.set_xticks(ticks, [str(v) for v in labels])
    ax.set_yticks(ticks, [str(v) for v in labels])
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    threshold = cm.max() / 2.0
    for i in range(labels.size):
        for j in range(labels.size):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > threshold else "black")
    ax.set_title("Confusion matrix")
    return ax.figure
