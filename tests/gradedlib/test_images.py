"""gradedlib.images: the one validator that plots and preprocess share."""

from __future__ import annotations

import numpy as np
import pytest

from gradedlib import plots, preprocess
from gradedlib.images import IMAGE_SIDE, N_PIXELS, check_images


def test_sizes():
    assert (IMAGE_SIDE, N_PIXELS) == (28, 784)


@pytest.mark.parametrize("shape, squares, n, single", [
    ((784,), False, 1, True), ((5, 784), False, 5, False),
    ((28, 28), True, 1, True), ((3, 28, 28), True, 3, False), ((2, 784), True, 2, False),
])
def test_accepted_forms_become_float64_rows(shape, squares, n, single):
    X = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    out, was_single = check_images(X, squares=squares)
    assert out.dtype == np.float64 and out.shape == (n, 784) and was_single is single
    np.testing.assert_array_equal(out.ravel(), X.ravel().astype(float))


@pytest.mark.parametrize("X, kwargs, exc, match", [
    (np.zeros((28, 28)), {}, ValueError, r"The 'X' argument must have shape \(n_images, 784\) or \(784,\).*Got shape \(28, 28\) instead"),
    (np.zeros((2, 5)), {"squares": True}, ValueError, r"or \(28, 28\)\. Got shape \(2, 5\) instead"),
    (np.zeros((0, 784)), {}, ValueError, r"at least one image"),
    (np.array([[1j] * 784]), {}, TypeError, r"real numeric array of images\. Got dtype complex128"),
    (np.array([None] * 784), {}, TypeError, r"Got dtype object"),
    (np.full((2, 784), np.nan), {}, ValueError, r"finite values\. Got 1568 NaN"),
    (-np.ones(784), {"non_negative": True}, ValueError, r"non-negative intensities\. Got minimum -1\.0"),
])
def test_bad_images_are_refused_naming_the_argument(X, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        check_images(X, **kwargs)


def test_empty_allowed_only_when_asked():
    out, single = check_images(np.zeros((0, 784)), allow_empty=True)
    assert out.shape == (0, 784) and not single


def test_plots_and_preprocess_give_the_same_error_for_the_same_bad_images():
    bad = np.zeros((3, 783))
    messages = []
    for call in (lambda: plots.image_grid(bad), lambda: preprocess.deskew(bad)):
        with pytest.raises(ValueError) as info:
            call()
        messages.append(str(info.value).split("'", 2)[2])  # after the argument's name
    assert messages[0].startswith(" argument must have shape (n_images, 784) or (784,): flattened 28x28 images")
    assert messages[1].startswith(messages[0].split(", or")[0].rstrip("."))
