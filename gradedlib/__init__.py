"""gradedlib: the reference Gaussian generative classifier for MNIST.

Modules
-------
data        reading IDX files, the bundled and checksum-verified MNIST
model       GaussianGenerativeClassifier (the estimator) and class_moments
model_cv    GaussianGenerativeClassifierCV (the estimator that chooses c itself)
density     the one Gaussian log-density kernel (null space, float32 option)
family      the covariance family: spherical, diag, tied, full, RDA, shrinkage
selection   choosing the regularization c on training data only
evaluation  the job of ``gradedlib fit`` on arrays (choose c, fit, measure)
images      image sizes and the one image validator
preprocess  deskewing
plots       figures (they return matplotlib objects, never show or save)
selfcheck   the assignment's value self-checks on synthetic data
cli         the ``gradedlib`` command line

The MNIST data is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges,
under CC BY-SA 3.0.
"""

from .data import MNIST_ATTRIBUTION, load_mnist, read_idx
from .model import GaussianGenerativeClassifier, class_moments
from .model_cv import GaussianGenerativeClassifierCV
from .preprocess import deskew
from .selection import CSelection, choose_c

__version__ = "0.1.0"

__all__ = [
    "MNIST_ATTRIBUTION",
    "CSelection",
    "GaussianGenerativeClassifier",
    "GaussianGenerativeClassifierCV",
    "choose_c",
    "class_moments",
    "deskew",
    "load_mnist",
    "read_idx",
]
