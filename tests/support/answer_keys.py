"""What the assignment grades, as it could leak into the public book: graded values and written-answer keys.

The book, its reader notebooks and the student wheel are public. None of them
may hand a student what the grader checks or what the written answers are
marked on. This module computes those things the way the grader does
(:mod:`grading.judge.references`, :mod:`grading.judge.checks`) and finds them in a text:

* ``zero_variance_pixels`` (Exercise 1, checked exactly): the ten per-class
  counts of the full training set, found when they appear in order among the
  integers of a text, as a printed array or as a column of a table;
* the ranks of the full training set's class covariances (Exercise 1's "look
  at the rank"): their ten deficits, found the same way;
* ``huge_c_error_rate`` (Exercise 2): any number (a fraction, or a
  percentage) within the grader's tolerance of the c = 1e9 test error rate;
* ``huge_c_predicted_digit`` (Exercise 2): a sentence that names the digit as
  what a huge c, or the limit c -> infinity, predicts;
* ``training_errors`` (Exercise 3): the reference model's errors on the
  60,000 training images (c chosen by hold-out on the training set, as the
  reference solution chooses it), found as that integer, or as its rate printed
  to 0.01 points (or finer) within :data:`NEAR` characters after a word about
  training. The grader's tolerance is wide (:func:`grading.judge.checks.test_misc_training_errors`
  says why), so any page that prints this count hands it to every student
  whose model is near the reference;
* Exercise 4's answer, the one-c and one-c-per-class test errors of the full
  training set (gradedlib's own search): both on one page, to the precision
  that a page prints them (0.01 points);
* the written answers of the reference solution: any run of
  :data:`SHINGLE` words of their ``_Solution:_`` text.

:func:`find_leaks` returns one line per leak found, empty when there is none.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grading.judge.checks import HUGE_C_RATE_TOLERANCE, K
from grading.judge.references import HUGE_C, reference_predict, class_moments, zero_variance_counts

__all__ = ["GradedValues", "graded_values", "find_leaks", "html_text", "solution_answers", "SHINGLE"]

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "gaussian_generative" / "gaussian_generative.ipynb"
WRITTEN = ("exercise1_answer", "exercise2_answer", "exercise4_answer")
SHINGLE = 8  # words in a row of a written answer that count as copying it
PRINTED = 5e-5  # half of 0.01 percentage point: a test error printed as 4.35% is that value to here
NEAR = 300  # characters before a training error rate in which a word about training must appear
WINDOW = 60  # integers of a text within which ten graded counts must appear, in order, to be found


@dataclass(frozen=True)
class GradedValues:
    zero_variance: tuple  # (10,) ints, checked exactly
    rank_deficit: tuple  # (10,) ints: 784 - rank of each class covariance of the training set
    huge_c_error_rate: float  # checked to HUGE_C_RATE_TOLERANCE
    huge_c_digit: int
    exercise4_errors: tuple  # (single c, one c per class) test errors of gradedlib's search
    training_errors: int  # the reference model's errors on the 60,000 training images (Exercise 3)
    n_train: int


def graded_values() -> GradedValues:
    """The graded values and the numbers of the written answers, from MNIST, as the grader computes them.

    Takes about two minutes (a reference prediction of the test set, ten
    eigendecompositions, gradedlib's per-class search of c, which starts from
    its hold-out search, a prediction of the training set).
    """
    from gradedlib import GaussianGenerativeClassifier, choose_c
    from gradedlib.data import load_mnist

    X, y = load_mnist("train")
    Xt, yt = load_mnist("test")
    priors, means, cov, _ = class_moments(X, y)
    labels = reference_predict(Xt, means, cov + HUGE_C * np.eye(X.shape[1]), priors)
    eigenvalues = np.linalg.eigvalsh(cov)
    rank = np.sum(eigenvalues > 1e6 * np.finfo(float).eps * eigenvalues.max(axis=1, keepdims=True), axis=1)
    per_class = choose_c(X, y, per_class=True)
    c_single = float(per_class.candidates[np.argmin(per_class.errors)])
    model = GaussianGenerativeClassifier(c=c_single).fit(X, y)
    err_single = float(np.mean(model.predict(Xt) != yt))
    err_per_class = float(np.mean(model.set_params(c=per_class.c).predict(Xt) != yt))
    # Exercise 3: the reference solution holds out a sixth of the training set and chooses c on a grid
    # of its own; gradedlib's hold-out search chooses the same c (3162.28 on MNIST), the book's c.  That
    # search is c_single: choose_c(X, y, per_class=True) starts from choose_c(X, y)'s own result (the same
    # split, the same errors, the same argmin), so it is not run a second time.
    reference = model.set_params(c=c_single)
    training_errors = int(np.sum(reference.predict(X) != y))
    return GradedValues(
        zero_variance=tuple(int(v) for v in zero_variance_counts(X, y)),
        rank_deficit=tuple(int(X.shape[1] - r) for r in rank),
        huge_c_error_rate=float(np.mean(labels != yt)),
        huge_c_digit=int(np.bincount(labels, minlength=K).argmax()),
        exercise4_errors=(err_single, err_per_class),
        training_errors=training_errors,
        n_train=int(X.shape[0]),
    )


def solution_answers(path: Path = SOLUTION) -> dict:
    """{grade_id: text after _Solution:_} of the reference solution's written answers."""
    import nbformat

    answers = {}
    for cell in nbformat.read(path, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in WRITTEN:
            answers[grade_id] = cell.source.split("_Solution:_", 1)[-1]
    return answers


def html_text(page: str) -> str:
    """The text a reader sees on an HTML page (scripts, styles and tags removed, entities decoded)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _words(text: str) -> list:
    return re.findall(r"[a-z0-9]+", text.lower())


_INTEGER = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)(?![\d.]|,\d{3})")
_TRAINING = re.compile(r"\btrain", re.I)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)\s*(%|\\%)?")
# Words that put a sentence about the limit of a huge c (the regime of Exercise 2).
_HUGE = r"(10\^\{?9\}?|1e\+?0?9|10\*\*9|billion|\\infty|∞|\blimit\b|huge c|c is huge)"


def _subsequence_in_window(tokens: list, target: tuple, window: int = WINDOW) -> bool:
    for start, token in enumerate(tokens):
        if token != target[0]:
            continue
        k = 1
        for t in tokens[start + 1:start + window]:
            if k < len(target) and t == target[k]:
                k += 1
        if k == len(target):
            return True
    return False


def _digit_sentences(text: str, digit: int) -> list:
    """Sentences saying that a huge c (or its limit) predicts ``digit``."""
    flat = re.sub(r"\s+", " ", text)
    named = re.compile(rf"(\b(a|as|an?|digit|the|is|are)\s+{digit}\b|\b{digit}s\b|\bones\b)" if digit == 1
                       else rf"(\b(a|as|an?|digit|the|is|are)\s+{digit}\b|\b{digit}s\b)")
    verbs = re.compile(r"(call|classif|label|predict|assign|given|gets|wins)", re.I)
    everything = re.compile(rf"\bevery(thing| image| test image)\b[^.]{{0,30}}\b(called|classified|labell?ed|"
                            rf"predicted|given)( as)?( an?)? {digit}\b", re.I)
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+", flat):
        if (re.search(_HUGE, sentence, re.I) and verbs.search(sentence) and named.search(sentence)) \
                or everything.search(sentence):
            found.append(sentence.strip()[:200])
    return found


def _printed(match, rate: float) -> bool:
    """Whether a number of :data:`_NUMBER` prints ``rate`` to 0.01 points or finer (a percentage or a fraction)."""
    digits = match.group(1).split(".")[1] if "." in match.group(1) else ""
    if match.group(2):
        return len(digits) >= 2 and abs(float(match.group(1)) / 100 - rate) <= PRINTED
    return len(digits) >= 4 and abs(float(match.group(1)) - rate) <= PRINTED


def find_leaks(text: str, values: GradedValues, answers: dict, where: str = "") -> list:
    """One line per graded value or written-answer key that ``text`` gives away."""
    leaks = []
    integers = [int(m.group(1).replace(",", "")) for m in _INTEGER.finditer(text)]
    if _subsequence_in_window(integers, values.zero_variance):
        leaks.append(f"{where}: the per-class zero-variance pixel counts {list(values.zero_variance)} (graded)")
    if len(set(values.rank_deficit)) > 1 and _subsequence_in_window(integers, values.rank_deficit):
        leaks.append(f"{where}: the rank deficits of the training set's covariances {list(values.rank_deficit)} "
                     "(Exercise 1)")
    numbers = []
    for m in _NUMBER.finditer(text):
        v = float(m.group(1))
        numbers.append((v / 100 if m.group(2) else v, m.group(0)))
    rate = values.huge_c_error_rate
    hits = sorted({s for v, s in numbers if abs(v - rate) <= HUGE_C_RATE_TOLERANCE})
    if hits:
        leaks.append(f"{where}: the c = 1e9 test error rate {rate:.4f} (graded, tolerance "
                     f"{HUGE_C_RATE_TOLERANCE}) as {hits}")
    for sentence in _digit_sentences(text, values.huge_c_digit):
        leaks.append(f"{where}: the digit predicted at huge c ({values.huge_c_digit}, graded): {sentence!r}")
    count = values.training_errors
    if re.search(rf"(?<![\d.,])({count}|{count:,})(?!\d|[.,]\d)", text):
        leaks.append(f"{where}: the reference model's training errors, {values.training_errors} of "
                     f"{values.n_train} (graded: training_errors)")
    train_rate = values.training_errors / values.n_train
    found_rate = sorted({m.group(0) for m in _NUMBER.finditer(text)
                         if _printed(m, train_rate) and _TRAINING.search(text, max(0, m.start() - NEAR), m.start())})
    if found_rate:
        leaks.append(f"{where}: the reference model's training error rate {train_rate:.2%} after a word about "
                     f"training, as {found_rate} (graded: training_errors = rate x {values.n_train})")
    single, per_class = values.exercise4_errors
    found_single = [s for v, s in numbers if s.endswith("%") and abs(v - single) <= PRINTED]
    found_pc = [s for v, s in numbers if s.endswith("%") and abs(v - per_class) <= PRINTED]
    if found_single and found_pc and abs(single - per_class) > PRINTED:
        leaks.append(f"{where}: Exercise 4's answer on the training set, test errors {single:.2%} (one c) and "
                     f"{per_class:.2%} (one c per class)")
    words = _words(text)
    grams = {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    for grade_id, answer in answers.items():
        a = _words(answer)
        copied = [" ".join(a[i:i + SHINGLE]) for i in range(len(a) - SHINGLE + 1)
                  if " ".join(a[i:i + SHINGLE]) in grams]
        if copied:
            leaks.append(f"{where}: the written answer {grade_id}: {copied[0]!r}")
    return leaks
