"""Tests of gradedlib.preprocess: deskewing by moments."""

import numpy as np
import pytest

from gradedlib.model import GaussianGenerativeClassifier
from gradedlib.preprocess import deskew, image_moments
from gradedlib.selection import choose_c


def slanted_bar(slope, centre_col=13.0, rows=range(4, 24)):
    """An anti-aliased bar whose ink centre moves by ``slope`` columns per row.

    Row ``r`` holds weights (1 - f, 1, f) at columns c0, c0 + 1, c0 + 2, with
    ``c0 + f = centre_col + slope * (r - 13.5)``; its centre of ink is then
    exactly ``centre_col + 0.5 + slope * (r - 13.5)``.
    """
    img = np.zeros((28, 28))
    for r in rows:
        col = centre_col + slope * (r - 13.5)
        c0 = int(np.floor(col))
        f = col - c0
        img[r, c0 : c0 + 3] = 200.0 * np.array([1 - f, 1.0, f])
    return img.ravel()


def row_centres(img):
    rows = img.reshape(28, 28)
    inked = rows.sum(axis=1) > 1e-9
    return (rows[inked] @ np.arange(28)) / rows[inked].sum(axis=1)


def test_slanted_bar_becomes_vertical():
    img = slanted_bar(0.4)
    _, alpha_before = image_moments(img)
    assert alpha_before > 0.3
    out = deskew(img)
    _, alpha_after = image_moments(out)
    assert abs(alpha_after) < 0.02
    # every row's centre of ink moved to the same column, the image centre
    assert np.ptp(row_centres(img)) > 7
    np.testing.assert_allclose(row_centres(out), 13.5, atol=1e-9)


def test_negative_slant_also_straightened():
    _, alpha = image_moments(deskew(slanted_bar(-0.5)))
    assert abs(alpha) < 0.02


def test_centre_of_mass_moves_to_image_centre():
    img = np.zeros((28, 28))
    img[3:9, 2:6] = 200.0
    img[5, 7] = 90.0
    before, _ = image_moments(img.ravel())
    assert np.all(np.abs(before - 13.5) > 5)
    after, _ = image_moments(deskew(img.ravel()))
    np.testing.assert_allclose(after, [13.5, 13.5], atol=1e-9)


def test_upright_centred_digit_is_unchanged():
    img = np.zeros((28, 28))
    img[4:24, 13:15] = 255.0
    np.testing.assert_array_equal(deskew(img.ravel()), img.ravel())


def test_integer_shift_is_exact():
    img = np.zeros((28, 28))
    img[8:20, 3:5] = 100.0  # centre (13.5, 3.5): moves 10 columns right
    expected = np.zeros((28, 28))
    expected[8:20, 13:15] = 100.0
    np.testing.assert_allclose(deskew(img.ravel()), expected.ravel(), atol=1e-9)


def test_shapes_dtype_and_input_untouched(rng):
    X = rng.integers(0, 256, size=(5, 784)).astype(np.uint8)
    copy = X.copy()
    out = deskew(X)
    assert out.shape == (5, 784) and out.dtype == np.float64
    np.testing.assert_array_equal(X, copy)
    single = deskew(X[2])
    assert single.shape == (784,)
    np.testing.assert_allclose(single, out[2])
    assert out.min() >= 0 and out.max() <= X.max() + 1e-9


def test_batch_equals_one_by_one(rng):
    X = rng.random((300, 784)) * (rng.random((300, 784)) > 0.8) * 255
    out = deskew(X)
    for i in (0, 129, 299):
        np.testing.assert_allclose(out[i], deskew(X[i]), atol=1e-12)


def test_all_zero_image_returned_unchanged():
    X = np.zeros((3, 784))
    X[1] = slanted_bar(0.3)
    out = deskew(X)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[0], 0.0)
    np.testing.assert_array_equal(out[2], 0.0)
    centre, alpha = image_moments(np.zeros(784))
    np.testing.assert_array_equal(centre, [13.5, 13.5])
    assert alpha == 0.0


def test_single_row_of_ink_is_only_centred():
    img = np.zeros((28, 28))
    img[20, 5:15] = 255.0
    out = deskew(img.ravel())
    assert np.all(np.isfinite(out))
    centre, _ = image_moments(out)
    np.testing.assert_allclose(centre, [13.5, 13.5], atol=1e-9)


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (np.zeros((4, 783)), ValueError, r"'X'.*\(n_images, 784\).*\(4, 783\)"),
        (np.zeros((2, 28, 28)), ValueError, r"'X'.*shape"),
        (np.zeros(10), ValueError, r"'X'.*\(10,\)"),
        (np.full((1, 784), np.nan), ValueError, r"'X'.*finite"),
        (np.full((1, 784), np.inf), ValueError, r"'X'.*finite"),
        (-np.ones((1, 784)), ValueError, r"'X'.*non-negative"),
        (np.array([["a"] * 784]), TypeError, r"'X'.*numeric"),
    ],
)
def test_bad_input_raises_naming_the_argument(X, exc, match):
    with pytest.raises(exc, match=match):
        deskew(X)


@pytest.mark.slow
def test_deskewed_model_beats_one_nearest_neighbour(mnist_train, mnist_test):
    """With deskewing and c chosen on training data only, test error <= 3.0%."""
    X, y = mnist_train
    Xt, yt = mnist_test
    D, Dt = deskew(X), deskew(Xt)
    selection = choose_c(D, y)
    model = GaussianGenerativeClassifier(c=selection.c).fit(D, y)
    assert model.error_rate(Dt, yt) <= 0.030
