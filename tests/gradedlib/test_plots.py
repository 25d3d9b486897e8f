"""Tests of gradedlib.plots: figures are returned, never shown or saved."""

import os

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gradedlib import plots
from gradedlib.model import GaussianGenerativeClassifier


@pytest.fixture
def images(rng):
    return rng.integers(0, 256, size=(7, 784)).astype(np.uint8)


@pytest.fixture(autouse=True)
def no_files_written(tmp_path, monkeypatch):
    """Run every test in an empty directory and check that it stays empty."""
    monkeypatch.chdir(tmp_path)
    yield
    assert os.listdir(tmp_path) == []


def test_displaychar_returns_axes_without_ticks(images):
    ax = plots.displaychar(images[0], title="a digit")
    assert isinstance(ax, Axes)
    assert ax.get_title() == "a digit"
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    shown = ax.images[0].get_array()
    assert shown.shape == (28, 28)
    np.testing.assert_array_equal(shown, images[0].reshape(28, 28))


def test_displaychar_draws_on_given_axes(images):
    ax = Figure().subplots()
    assert plots.displaychar(images[0].reshape(28, 28), ax=ax) is ax


def test_float_images_are_clipped_to_pixel_range():
    img = np.linspace(-100, 400, 784)
    ax = plots.displaychar(img)
    shown = ax.images[0].get_array()
    assert shown.min() == 0 and shown.max() == 255
    assert ax.images[0].get_clim() == (0, 255)
    ax = plots.displaychar(img, vrange=None)
    assert ax.images[0].get_array().min() == -100


def test_image_grid_layout_and_titles(images):
    fig = plots.image_grid(images, titles=[f"t{i}" for i in range(7)], ncols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 9  # 3 rows x 3 columns, two hidden
    assert [ax.get_title() for ax in fig.axes[:7]] == [f"t{i}" for i in range(7)]
    assert sum(ax.axison for ax in fig.axes) == 7


def test_class_means_and_samples_from_model(rng):
    X = rng.random((60, 784)) * 255
    y = np.repeat(np.arange(3), 20)
    model = GaussianGenerativeClassifier(c=100.0).fit(X, y)
    fig = plots.plot_class_means(model)
    assert [ax.get_title() for ax in fig.axes] == ["mean of 0", "mean of 1", "mean of 2"]
    fig = plots.plot_samples(model, n_per_class=2, random_state=0)
    assert [ax.get_title() for ax in fig.axes] == ["sample of 0"] * 2 + ["sample of 1"] * 2 + ["sample of 2"] * 2


def test_plot_misclassified_titles(images):
    y_true = np.array([0, 1, 2, 3, 4, 5, 6])
    y_pred = np.array([0, 7, 2, 8, 4, 9, 6])
    fig = plots.plot_misclassified(images, y_true, y_pred, n=5, random_state=0)
    titles = sorted(ax.get_title() for ax in fig.axes if ax.axison)
    assert titles == ["true: 1 / pred: 7", "true: 3 / pred: 8", "true: 5 / pred: 9"]
    fig = plots.plot_misclassified(images, y_true, y_pred, n=2, random_state=0)
    assert sum(ax.axison for ax in fig.axes) == 2


def test_plot_misclassified_none_wrong(images):
    y = np.arange(7)
    fig = plots.plot_misclassified(images, y, y)
    assert "no misclassified" in fig.axes[0].texts[0].get_text()


def test_validation_curve_log_axis_and_chosen():
    fig = plots.plot_validation_curve([1, 10, 100, 1000], [0.2, 0.1, 0.05, 0.08], chosen=100)
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [20, 10, 5, 8])
    assert "chosen c = 100" in ax.get_legend().get_texts()[0].get_text()


def test_confusion_matrix_counts_annotated():
    fig = plots.plot_confusion_matrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 0])
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["1", "1", "0", "0", "2", "0", "1", "0", "0"]
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: plots.displaychar(np.zeros(783)), ValueError, r"'image'.*\(783,\)"),
        (lambda: plots.displaychar(np.full(784, np.nan)), ValueError, r"'image'.*finite"),
        (lambda: plots.image_grid(np.zeros((2, 5))), ValueError, r"'images'.*\(2, 5\)"),
        (lambda: plots.image_grid(np.zeros((2, 784)), titles=["a"]), ValueError, r"'titles'.*2"),
        (lambda: plots.image_grid(np.zeros((2, 784)), ncols=0), ValueError, r"'ncols'"),
        (lambda: plots.image_grid(np.zeros((0, 784))), ValueError, r"at least one"),
        (lambda: plots.displaychar(np.zeros(784), vrange=(5, 1)), ValueError, r"'vrange'"),
        (lambda: plots.plot_misclassified(np.zeros((3, 784)), [0, 1], [0, 1]), ValueError, r"'y_true'"),
        (lambda: plots.plot_misclassified(np.zeros((2, 784)), [0, 1], [1, 0], n=0), ValueError, r"'n'"),
        (lambda: plots.plot_validation_curve([0, 1], [0.1, 0.2]), ValueError, r"'candidates'.*positive"),
        (lambda: plots.plot_validation_curve([1, 2], [0.1]), ValueError, r"same"),
        (lambda: plots.plot_validation_curve([1, 2], [0.1, 0.2], chosen=-1.0), ValueError, r"'chosen'"),
        (lambda: plots.plot_confusion_matrix([0, 1], [0]), ValueError, r"'y_true'"),
        (lambda: plots.plot_samples("model"), TypeError, r"'model'"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
