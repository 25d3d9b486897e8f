"""Draw the README's picture: one test digit of each class, and the ten class means.

    python guides/images/make_pictures.py      # writes guides/images/digits-and-means.png

The same figure as the book's landing page (book/index.md), from the bundled
MNIST files; run it again if the figure's code there changes.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np

from gradedlib import load_mnist
from gradedlib.plots import image_grid


def main() -> Path:
    X_train, y_train = load_mnist("train")
    X_test, y_test = load_mnist("test")
    first_of_each = [int(np.flatnonzero(y_test == j)[0]) for j in range(10)]
    means = np.array([X_train[y_train == j].mean(axis=0) for j in range(10)])
    fig = image_grid(np.vstack([X_test[first_of_each], means]), ncols=10,
                     titles=[f"a {j}" for j in range(10)] + [f"mean {j}" for j in range(10)])
    path = Path(__file__).resolve().parent / "digits-and-means.png"
    fig.savefig(path, dpi=80, bbox_inches="tight")
    return path


if __name__ == "__main__":
    print(main())
