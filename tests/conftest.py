"""Shared fixtures: real MNIST loaded once per session, and a headless backend."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from gradedlib.data import load_mnist
from gradedlib.model import GaussianGenerativeClassifier
from gradedlib.selection import choose_c


@pytest.fixture(scope="session")
def mnist_train():
    """The 60,000 training images and labels, (X uint8 (60000, 784), y uint8)."""
    return load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test():
    """The 10,000 test images and labels."""
    return load_mnist("test")


@pytest.fixture(scope="session")
def mnist_selection(mnist_train):
    """choose_c on the training set only (hold-out of 10,000, default grid)."""
    X, y = mnist_train
    return choose_c(X, y)


@pytest.fixture(scope="session")
def mnist_model(mnist_train, mnist_selection):
    """The model refitted on all 60,000 training images with the chosen c."""
    X, y = mnist_train
    return GaussianGenerativeClassifier(c=mnist_selection.c).fit(X, y)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def boundary_classes(tmp_path_factory):
    """The classes of boundary attacks, graded once per sandbox layer on first use (see
    ``assignment_fixtures/boundary_class.py``); ``.get(layer)`` returns what the tests read."""
    from assignment_fixtures.boundary_class import BoundaryClasses

    return BoundaryClasses(tmp_path_factory)
