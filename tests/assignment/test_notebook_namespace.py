"""The notebook's own cells never change the student's namespace (issue 23).

A visible test cell once assigned ``_x, _y, _mu0, _sigma0, _pi0``; a student
who used ``_pi0`` for their own priors before and after it lost 2 points.
Every test cell now runs its checks in a function (``__gm_<grade id>``,
deleted in a ``finally``), and the read-only cells bind only the names the
assignment gives (``mu, sigma, pi`` ...).  Two independent checks, on the
source notebook and on the release:

* the cells are **executed** (``exec``, with small stand-ins for the data and
  the student's results, and the self-checks off as while autograded) in a
  namespace prefilled with a sentinel for every name the cells mention: the
  namespace must be the same dict, value for value, afterwards, whether the
  checks pass or fail;
* their **syntax** (``ast``) is checked: a test cell binds nothing at the top
  level but its ``__gm_`` function, which it deletes in a ``finally``, and no
  cell declares a name ``global``.

The graded proof is the ``own_names_warnings_logging`` submission of
tests/grading/batch/test_assignment_grading.py (a correct solution that uses every one of
those names for its own values keeps full marks).
"""

from __future__ import annotations

import ast
import builtins

import nbformat
import numpy as np
import pytest

from assignment_fixtures.course import RELEASE, SOLUTION, cells_by_id

NOTEBOOKS = {"solution": SOLUTION, "release": RELEASE}
PREFIX = "__gm_"
#: Read-only code cells after the set-up, and the names each may bind (the assignment's contract).
READ_ONLY_BINDS = {
    "look_at_data": set(),
    "fit_call": {"mu", "sigma", "pi"},
    "per_class_call": {"mu_pc", "sigma_pc", "pi_pc", "c_pc"},
}
#: The names of issue 23's report: a test cell bound them all.
REPORTED = {"_x", "_y", "_mu0", "_sigma0", "_pi0"}


def bound_names(tree: ast.AST) -> set[str]:
    """Names that the top-level code of ``tree`` binds, rebinds or deletes in the module's namespace.

    Counts assignments of every kind (``=``, ``+=``, annotated, ``for`` and
    ``with ... as`` targets, ``except ... as``, ``match`` captures, the walrus,
    also inside comprehensions, where it binds in the enclosing scope),
    ``import``, ``def`` and ``class`` names, ``del``, and every name declared
    ``global`` or ``nonlocal`` anywhere (as ``"global NAME"``).  Bodies of
    functions, lambdas and classes are their own scopes and not entered (their
    decorators, defaults and bases are); comprehension targets are local.
    """
    found: set[str] = set()

    class Binder(ast.NodeVisitor):
        def _outer_parts(self, node):
            for part in [*node.decorator_list, *getattr(node, "bases", []), *getattr(node, "keywords", [])]:
                self.visit(part)
            if hasattr(node, "args"):
                self.visit(node.args)
            if getattr(node, "returns", None) is not None:
                self.visit(node.returns)

        def visit_FunctionDef(self, node):
            found.add(node.name)
            self._outer_parts(node)
            for inner in ast.walk(node):  # a `global` inside reaches the module's namespace
                if isinstance(inner, (ast.Global, ast.Nonlocal)):
                    found.update(f"global {name}" for name in inner.names)

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_ClassDef(self, node):
            found.add(node.name)
            self._outer_parts(node)
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Global, ast.Nonlocal)):
                    found.update(f"global {name}" for name in inner.names)

        def visit_Lambda(self, node):
            self.visit(node.args)  # defaults are evaluated outside; the body is its own scope

        def visit_arguments(self, node):
            for default in [*node.defaults, *node.kw_defaults]:
                if default is not None:
                    self.visit(default)

        def _comprehension(self, node):
            for generator in node.generators:
                self.visit(generator.iter)
                for condition in generator.ifs:
                    self.visit(condition)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    self.visit(getattr(node, part))

        visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

        def visit_Name(self, node):
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                found.add(node.id)

        def visit_Import(self, node):
            for alias in node.names:
                found.add(alias.asname or alias.name.split(".")[0])

        def visit_ImportFrom(self, node):
            for alias in node.names:
                found.add(alias.asname or alias.name)

        def visit_ExceptHandler(self, node):
            if node.name:
                found.add(node.name)
            self.generic_visit(node)

        def visit_Global(self, node):
            found.update(f"global {name}" for name in node.names)

        visit_Nonlocal = visit_Global

        def visit_MatchAs(self, node):
            if node.name:
                found.add(node.name)
            self.generic_visit(node)

        def visit_MatchStar(self, node):
            if node.name:
                found.add(node.name)

        def visit_MatchMapping(self, node):
            if node.rest:
                found.add(node.rest)
            self.generic_visit(node)

    Binder().visit(tree)
    return found


def mentioned_names(source: str) -> set[str]:
    """Every identifier of ``source``: names read or written, arguments, imported and defined names."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _code(cell) -> bool:
    """True when the cell holds code, not comments only."""
    return bool(ast.parse(cell.source).body)


def _cells(path):
    nb = nbformat.read(path, as_version=4)
    tests = {k: c for k, c in cells_by_id(nb).items()
             if c.cell_type == "code" and c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("solution")}
    read_only = {k: c for k, c in cells_by_id(nb).items()
                 if c.cell_type == "code" and c.metadata["nbgrader"].get("locked")
                 and not c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("solution")}
    return nb, tests, read_only


# ------------------------------------------------------------- the checker --

@pytest.mark.parametrize("source, expected", [
    ("a = 1", {"a"}), ("a += 1", {"a"}), ("a: int = 1", {"a"}), ("a, (b, *c) = x", {"a", "b", "c"}),
    ("for i in x: pass", {"i"}), ("with f() as g: pass", {"g"}), ("import os.path", {"os"}),
    ("import numpy as np", {"np"}), ("from m import n as o, p", {"o", "p"}), ("def f(a=(w := 1)): b = 2", {"f", "w"}),
    ("class K: z = 1", {"K"}), ("del q", {"q"}), ("[y for y in x if (v := y)]", {"v"}),
    ("try:\n    pass\nexcept E as e:\n    pass", {"e"}), ("def f():\n    global G\n    G = 1", {"f", "global G"}),
    ("match x:\n    case [a, *r]: pass\n    case {'k': b, **m}: pass", {"a", "r", "b", "m"}),
    ("f(x)\n[g(y) for y in x]\n(lambda t: t)(1)", set()), ("print(_pi0)", set()),
])
def test_bound_names_sees_every_kind_of_binding(source, expected):
    assert bound_names(ast.parse(source)) == expected


# ------------------------------------------------------------ the syntax --

@pytest.mark.parametrize("which", NOTEBOOKS)
def test_test_cells_bind_nothing_but_their_function_which_they_delete(which):
    _, tests, _ = _cells(NOTEBOOKS[which])
    with_code = {k: c for k, c in tests.items() if _code(c)}
    assert len(with_code) >= 8, sorted(with_code)
    for grade_id, cell in with_code.items():
        function = PREFIX + grade_id
        body = ast.parse(cell.source).body
        assert [type(s) for s in body] == [ast.FunctionDef, ast.Try], f"{grade_id}: expected `def {function}` and try/finally"
        define, guard = body
        assert define.name == function and not define.decorator_list, grade_id
        call = ast.dump(ast.parse(f"{function}()").body[0])
        assert [ast.dump(s) for s in guard.body] == [call], f"{grade_id}: the try must only call {function}()"
        assert not guard.handlers and not guard.orelse, grade_id
        assert [ast.dump(s) for s in guard.finalbody] == [ast.dump(ast.parse(f"del {function}").body[0])], grade_id
        assert bound_names(ast.parse(cell.source)) == {function}, grade_id
        calls = {n.func.id for n in ast.walk(define) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"globals", "vars", "exec", "eval", "setattr", "delattr"}, grade_id
    for grade_id, cell in tests.items():
        if not _code(cell):
            assert bound_names(ast.parse(cell.source)) == set(), grade_id


@pytest.mark.parametrize("which", NOTEBOOKS)
def test_read_only_cells_bind_only_the_assignments_names(which):
    nb, _, read_only = _cells(NOTEBOOKS[which])
    code = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.cell_type == "code"]
    assert code[0] == "setup", "the set-up cell (which may bind anything: it runs first) must be the first code cell"
    assert set(read_only) - {"setup"} == set(READ_ONLY_BINDS), sorted(read_only)
    for grade_id, allowed in READ_ONLY_BINDS.items():
        source = "\n".join(line for line in read_only[grade_id].source.splitlines() if not line.startswith("%"))
        assert bound_names(ast.parse(source)) == allowed, grade_id


# --------------------------------------------------------- the execution --

def _data():
    """Small stand-ins for MNIST: 2000 training and 100 test images, 50 pixels 0 in every image."""
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(2000, 784)).astype(np.uint8)
    test = rng.integers(0, 256, size=(100, 784)).astype(np.uint8)
    train[:, :50] = 0  # zero-variance pixels: the covariances of 2000 images are singular
    return {"train_data": train, "train_labels": np.arange(2000) % 10,
            "test_data": test, "test_labels": np.arange(100) % 10}


def _good_results():
    """A student's results that pass every visible check (self-checks off)."""
    def predict(x, mu, sigma, pi):
        for s in sigma:
            np.linalg.cholesky(s)  # LinAlgError for a singular covariance
        return np.zeros(len(x), dtype=np.int64)

    def fit_generative_model(x, y):
        raise AssertionError("a self-check ran although the notebook is autograded")

    def fit_generative_model_per_class_c(x, y):
        raise AssertionError("a self-check ran although the notebook is autograded")

    mu, sigma, pi = np.zeros((10, 784)), np.stack([np.eye(784)] * 10), np.full(10, 0.1)
    return {"mu": mu, "sigma": sigma, "pi": pi, "chosen_c": 3000.0, "predict": predict,
            "fit_generative_model": fit_generative_model,
            "fit_generative_model_per_class_c": fit_generative_model_per_class_c,
            "misclassified_shown": np.arange(5), "zero_variance_pixels": np.full(10, 50),
            "huge_c_error_rate": 0.89, "huge_c_predicted_digit": 1, "training_errors": 100,
            "mu_pc": mu, "sigma_pc": sigma, "pi_pc": pi, "c_pc": np.full(10, 3000.0)}


def _bad_results():
    """A student's results that fail every visible check with code."""
    def predict(x, mu, sigma, pi):
        return ["seven"] * len(x)  # neither integer labels nor LinAlgError

    return {"mu": np.zeros(3), "sigma": np.zeros(3), "pi": np.zeros(3), "chosen_c": -1.0, "predict": predict,
            "fit_generative_model": None, "fit_generative_model_per_class_c": None,
            "misclassified_shown": [1, 1], "zero_variance_pixels": np.array([-1.5]),
            "huge_c_error_rate": 2, "huge_c_predicted_digit": 11, "training_errors": "many",
            "mu_pc": np.zeros(3), "sigma_pc": np.zeros(3), "pi_pc": np.zeros(3), "c_pc": np.zeros(3)}


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<the student's own {self.name}>"


def _namespace(given: dict, cells, must_mention: set = frozenset()) -> dict:
    """``given``, plus a sentinel for every other name the cells mention (not a builtin, not the grader's)."""
    mentioned = set().union(*(mentioned_names(c.source) for c in cells))
    own = mentioned - set(given) - set(dir(builtins)) - {n for n in mentioned if n.startswith(PREFIX)}
    assert must_mention <= own, f"the cells no longer mention {must_mention - own}: the sentinels prove less"
    namespace = {"__builtins__": builtins, "__name__": "__main__", **given}
    namespace.update({name: _Sentinel(name) for name in own})
    return namespace


def _assert_same(before: dict, after: dict, where: str):
    added, removed = set(after) - set(before), set(before) - set(after)
    assert not added and not removed, f"{where}: added {sorted(added)}, removed {sorted(removed)}"
    rebound = sorted(name for name in before if after[name] is not before[name])
    assert not rebound, f"{where} rebound {rebound}"


@pytest.mark.parametrize("which", NOTEBOOKS)
@pytest.mark.parametrize("results", ["passing", "failing"])
def test_test_cells_leave_every_name_as_it_was(which, results, monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # the self-checks print one line and return
    _, tests, _ = _cells(NOTEBOOKS[which])
    with_code = {k: c for k, c in tests.items() if _code(c)}
    given = {**_data(), **(_good_results() if results == "passing" else _bad_results())}
    namespace = _namespace(given, with_code.values(), REPORTED)
    before = dict(namespace)
    for grade_id, cell in with_code.items():
        code = compile(cell.source, f"<{grade_id}>", "exec")
        if results == "passing":
            exec(code, namespace)  # noqa: S102 - the notebook's own test cell
        else:
            with pytest.raises(Exception):  # noqa: B017 - any failure: an assertion, a TypeError...
                exec(code, namespace)  # noqa: S102
        _assert_same(before, namespace, f"{which} {grade_id} ({results})")
    if results == "passing":
        assert capsys.readouterr().out.count("self-checks not run while the notebook is autograded") == 4


@pytest.mark.parametrize("which", NOTEBOOKS)
def test_read_only_cells_rebind_only_the_assignments_results(which):
    import matplotlib

    matplotlib.use("Agg")
    import random

    import matplotlib.pyplot as plt

    _, _, read_only = _cells(NOTEBOOKS[which])
    results = _good_results()
    calls = []

    def displaychar(image, ax=None, title=None):
        calls.append(title)

    given = {**_data(), "np": np, "plt": plt, "random": random, "displaychar": displaychar,
             "fit_generative_model": lambda x, y: (results["mu"], results["sigma"], results["pi"]),
             "fit_generative_model_per_class_c": lambda x, y: (results["mu"], results["sigma"], results["pi"],
                                                              results["c_pc"])}
    namespace = _namespace(given, [read_only[k] for k in READ_ONLY_BINDS])
    for grade_id, allowed in READ_ONLY_BINDS.items():
        before = dict(namespace)
        exec(compile(read_only[grade_id].source, f"<{grade_id}>", "exec"), namespace)  # noqa: S102
        changed = {name for name in namespace if name not in before or namespace[name] is not before[name]}
        assert changed == allowed and set(before) <= set(namespace), (grade_id, sorted(changed))
        plt.close("all")
    assert calls == [None, "mean of 0", "mean of 1", "mean of 2"]


# ------------------------------------------------- the graded class's proof --

def _parse(source: str) -> ast.Module:
    return ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))


def test_a_submission_of_the_class_uses_every_name_of_the_test_cells_before_and_after_them():
    """``own_names_warnings_logging`` binds each name before the first test cell that mentions it and reads
    it in an answer cell after the last one (where an answer cell follows), so the graded class proves that
    no test cell changes a student's names."""
    from assignment_fixtures.course import build_submission
    from assignment_fixtures.submissions import SUBMISSIONS

    submission = SUBMISSIONS["own_names_warnings_logging"]
    assert not submission.lost, "a correct solution: it must keep full marks"
    nb = build_submission(nbformat.read(RELEASE, as_version=4), nbformat.read(SOLUTION, as_version=4), submission)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    meta = lambda c: c.metadata["nbgrader"]  # noqa: E731
    tests = [(i, c) for i, c in code if meta(c).get("grade") and not meta(c).get("solution") and _code(c)]
    others = [(i, c) for i, c in code if not (meta(c).get("grade") and not meta(c).get("solution"))]
    answers = [(i, c) for i, c in others if meta(c).get("solution")]
    given = set(_data()) | set(_good_results())
    mentioned = {i: mentioned_names(c.source) for i, c in tests}
    names = set().union(*mentioned.values()) - given - set(dir(builtins))
    names = {n for n in names if not n.startswith(PREFIX)}
    assert REPORTED | {"warnings", "check_fit"} <= names
    for name in sorted(names):
        where = [i for i, found in mentioned.items() if name in found]
        assert any(i < min(where) and name in bound_names(_parse(c.source)) for i, c in others), (
            f"{name}: not bound by the submission before cell {min(where)}")
        later = [c for i, c in answers if i > max(where)]
        if later:
            loads = set().union(*({n.id for n in ast.walk(_parse(c.source)) if isinstance(n, ast.Name)} for c in later))
            assert name in loads, f"{name}: not used by the submission after cell {max(where)}"
