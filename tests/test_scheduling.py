"""The scheduling hints of tests/conftest.py name files that exist: a renamed file would otherwise lose its
group (its module fixtures made on both workers) or its place at the front of the run, without a failure."""

from pathlib import Path

from conftest import FILE_GROUPS, SCOPE_SECONDS, _scope

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def test_every_grouped_file_exists_once():
    for name in FILE_GROUPS:
        found = sorted(TESTS.rglob(name))
        assert len(found) == 1, f"FILE_GROUPS names {name!r}: found {found}"


def test_every_scope_with_seconds_is_a_group_or_a_test_file():
    groups = set(FILE_GROUPS.values())
    for scope in SCOPE_SECONDS:
        assert scope in groups or (REPO / scope).is_file(), f"SCOPE_SECONDS names {scope!r}: no such group or file"


def test_a_test_of_a_grouped_file_is_in_its_group_and_others_in_their_file():
    assert _scope("tests/grading/batch/test_assignment_grading.py::test_x[a]") == "grading"
    assert _scope("tests/gradedlib/test_model.py::test_y") == "tests/gradedlib/test_model.py"
