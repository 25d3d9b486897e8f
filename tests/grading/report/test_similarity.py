"""The similarity check (grading/report/similarity.py, copydetect) on the small graded class.

The class (tests/report_fixtures/classroom.py) holds a copy of alice's code
with every name renamed (dave), alice's code with one change (ivan), fit and
predict built on the estimator pasted from gradedlib/model.py (erin), and two correct solutions
written differently (bob, carol) that must not be listed.
"""

from __future__ import annotations

import nbformat
import pytest

from report_fixtures.classroom import ASSIGNMENT, RELEASE_NB, shared_course, student_notebook

from grading.report import similarity

pytestmark = pytest.mark.slow  # builds a gradebook (~10 s) for the class

COPIES = {frozenset({"alice", "dave"}), frozenset({"alice", "ivan"}), frozenset({"dave", "ivan"})}
PASTED = frozenset({"erin", "gradedlib/model.py"})


@pytest.fixture(scope="module")
def pairs():
    return similarity.check_submissions(shared_course(), ASSIGNMENT)


def test_lists_the_renamed_copy_and_the_code_pasted_from_gradedlib(pairs):
    found = {frozenset({p.first, p.second}) for p in pairs}
    assert found == COPIES | {PASTED}


def test_renamed_copy_matches_almost_entirely(pairs):
    (pair,) = [p for p in pairs if {p.first, p.second} == {"alice", "dave"}]
    assert min(pair.first_share, pair.second_share) > 0.9
    assert "<mark>" in pair.first_html and "<mark>" in pair.second_html
    assert "digit_stats" in (pair.first_html + pair.second_html)  # dave's renamed function is shown


def test_pasted_gradedlib_code_is_most_of_the_submission(pairs):
    (pair,) = [p for p in pairs if {p.first, p.second} == set(PASTED)]
    assert pair.first == "erin" and pair.first_share > 0.8


def test_different_correct_solutions_and_empty_answers_are_not_listed(pairs):
    named = {name for p in pairs for name in (p.first, p.second)}
    # bob and carol: correct and written differently; harry: the release;
    # grace: a broken notebook; frank: no submission
    assert not named & {"bob", "carol", "harry", "grace", "frank"}


def test_below_threshold_pairs_exist_but_are_not_listed():
    """With no threshold the different solutions do share some code: the threshold is what separates them."""
    codes = {name: similarity.student_code(student_notebook(kind)) for name, kind in
             (("alice", "reference"), ("bob", "kfold"), ("carol", "scipy"))}
    release = nbformat.from_dict(RELEASE_NB)
    boilerplate = [similarity.release_code(release), similarity.student_code(release)]
    everything = similarity.compare_codes(codes, None, boilerplate, threshold=1e-9, min_tokens=1)
    assert everything, "the correct solutions share no code at all: the test shows nothing"
    assert all(p.share < similarity.DEFAULT_THRESHOLD for p in everything)


RENAMED_A = '''
def centre_and_scale(values, weights):
    total = 0.0
    for index in range(len(values)):
        total = total + weights[index] * values[index]
    mean = total / sum(weights)
    spread = [(v - mean) ** 2 for v in values]
    return [(v - mean) / (sum(spread) / len(spread)) ** 0.5 for v in values]
'''
RENAMED_B = RENAMED_A.replace("centre_and_scale", "normalise").replace("values", "xs").replace(
    "weights", "ws").replace("total", "acc").replace("index", "i").replace("mean", "m").replace("spread", "sq")
UNRELATED = '''
class Queue:
    def __init__(self):
        self.items = {}
        self.head = self.tail = 0

    def push(self, item):
        self.items[self.tail] = item
        self.tail += 1

    def pop(self):
        if self.head == self.tail:
            raise IndexError("pop from an empty queue")
        item = self.items.pop(self.head)
        self.head += 1
        return item
'''


def test_compare_codes_sees_through_renaming_and_ignores_boilerplate():
    found = similarity.compare_codes({"a": RENAMED_A, "b": RENAMED_B, "c": UNRELATED}, min_tokens=20)
    assert [{p.first, p.second} for p in found] == [{"a", "b"}]
    assert found[0].share == pytest.approx(1.0)
    # the same two files, when their code is the given boilerplate, are not listed
    assert similarity.compare_codes({"a": RENAMED_A, "b": RENAMED_B}, boilerplate=[RENAMED_A], min_tokens=20) == []


def test_compare_codes_with_references():
    found = similarity.compare_codes({"a": RENAMED_B, "c": UNRELATED}, {"lib/stats.py": RENAMED_A}, min_tokens=20)
    assert [(p.first, p.second) for p in found] == [("a", "lib/stats.py")]


def test_student_code_leaves_out_given_cells_and_magics():
    nb = student_notebook("reference")
    code = similarity.student_code(nb)
    assert "def fit_generative_model" in code and "def predict" in code
    assert "%matplotlib" not in code
    assert "Visible checks" not in code and "Hidden tests" not in code  # the test cells' comments
    assert "load_mnist" not in code  # the given set-up cell


@pytest.mark.parametrize("kwargs, words", [
    ({"threshold": 0.0}, ["'threshold'", "(0, 1]", "0.0"]),
    ({"threshold": 1.5}, ["'threshold'", "1.5"]),
    ({"min_tokens": 0}, ["'min_tokens'", "0"]),
])
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError) as info:
        similarity.compare_codes({"a": RENAMED_A}, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_names_shared_by_codes_and_references_are_refused():
    with pytest.raises(ValueError, match="must not share names.*'a'"):
        similarity.compare_codes({"a": RENAMED_A}, {"a": RENAMED_B})
