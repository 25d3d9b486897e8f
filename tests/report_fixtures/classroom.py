"""A small graded class, built without running any notebook.

The gradebook is written with nbgrader's own API (``nbgrader.api.Gradebook``):
the assignment, its notebook and grade cells (read from the committed release
notebook), the students, their submissions with timestamps, and the scores
nbgrader's autograder and a human grader would have recorded.  Beside it,
``submitted/`` holds each student's notebook and ``autograded/`` the graded
copy, whose failed test cells carry the one-line error output the grader
writes; ``grading_summary.json`` is present for some students only (dave's
summary is in his autograded notebook's metadata instead), and
``feedback/`` holds a feedback page for every graded student but harry.

``CLASS`` is the specification the tests compare the report against: it is
plain data, independent of the code under test.

The students' code (for the similarity check):

- ``alice`` the reference solution (from ``solutions/``);
- ``bob`` and ``carol`` two correct solutions written differently (3-fold
  cross-validation with Cholesky factors; scipy's ``multivariate_normal``),
  taken from ``tests/assignment_fixtures/submissions.py``, with their other
  cells written in their own way;
- ``dave`` alice's code with every name renamed (a disguised copy);
- ``erin`` the estimator pasted from ``gradedlib/model.py`` (the wheel's; the
  functional form is not in it), with thin wrappers of her own;
- ``ivan`` the reference solution with the seed's grid of c (so alice's
  code too: also listed as similar);
- ``harry`` the untouched release; ``grace`` a submission that could not be
  graded; ``judy`` a submission in ``submitted/`` that autograding never
  recorded in the gradebook; ``frank`` no submission at all.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from assignment_fixtures.submissions import (
    KFOLD_CHOLESKY_FIT,
    KFOLD_CHOLESKY_PREDICT,
    SCIPY_FIT,
    SCIPY_PREDICT,
)

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "gaussian_generative"
NOTEBOOK = ASSIGNMENT
RELEASE = ROOT / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
GRADEDLIB_MODEL = ROOT / "gradedlib" / "model.py"

UTC = dt.timezone.utc
DUE = dt.datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
ON_TIME = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# One-line failure messages, as the grader writes them (evalue of the error output).
SEED_GRID_MSG = "test_fit_test_error: test error {:.4f} with c = 1, expected at most 5% (choose c from a wider grid)"
VALUES_MSG = "test_fit_values: mu differs from the reference by {:.3g}, expected at most 1e-06"
NOT_IMPLEMENTED = ("NotImplementedError", "")


@dataclass
class StudentSpec:
    """What one student submitted and what the graders recorded."""

    first: str
    last: str
    submitted: bool = True
    timestamp: dt.datetime | None = ON_TIME
    gradable: bool = True
    recorded: bool = True  # False: in submitted/, but autograding never recorded it in the gradebook
    # autograded cell -> (ename, evalue) of its error output; every other autograded cell passes
    failed: dict = field(default_factory=dict)
    # written-answer cell -> manual score, or None when not graded yet
    manual: dict = field(default_factory=dict)
    late_penalty: float | None = None
    summary: dict | None = None  # written as grading_summary.json
    metadata_summary: dict | None = None  # written in the autograded notebook's metadata only
    code: str = "reference"  # how the solution cells are filled, see _solution_sources


def _grade_cells(nb) -> dict:
    """{grade_id: (points, cell_type)} of the release's graded cells, in notebook order."""
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            out[meta["grade_id"]] = (float(meta["points"]), cell.cell_type)
    return out


RELEASE_NB = nbformat.read(RELEASE, as_version=4)
GRADE_CELLS = _grade_cells(RELEASE_NB)
AUTO_CELLS = [name for name, (_, kind) in GRADE_CELLS.items() if kind == "code"]
MANUAL_CELLS = [name for name, (_, kind) in GRADE_CELLS.items() if kind == "markdown"]

CLASS = {
    "alice": StudentSpec(
        "Alice", "Archer",
        manual={"exercise1_answer": 2.0, "exercise2_answer": 2.0, "exercise4_answer": 1.0},
        summary={"seconds": 82.5, "limits_hit": [], "not_gradable": None},
    ),
    "bob": StudentSpec(
        "Bob", "Baker", code="kfold",
        manual={"exercise1_answer": 2.0, "exercise2_answer": None, "exercise4_answer": None},
        summary={"seconds": 141.0, "limits_hit": [], "not_gradable": None},
    ),
    "carol": StudentSpec(
        "Carol", "Cruz", code="scipy",
        # 1 day 16 hours late: 2 started days at 10% of the 30 points (nbgrader_config.py's policy)
        timestamp=dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        late_penalty=6.0,
        manual={"exercise1_answer": 1.0, "exercise2_answer": 2.0, "exercise4_answer": 2.0},
        summary={"seconds": 230.0, "limits_hit": [], "not_gradable": None},
    ),
    "dave": StudentSpec(
        "Dave", "Dunn", code="renamed_alice",
        failed={"test_fit_test_error": ("AssertionError", SEED_GRID_MSG.format(0.1612))},
        manual={"exercise1_answer": 0.0, "exercise2_answer": 1.0, "exercise4_answer": 2.0},
        metadata_summary={"seconds": 97.5, "notebook_seconds": 60.0, "limits_hit": ["output"], "events": [], "failed": {}},
    ),
    "erin": StudentSpec(
        "Erin", "Eze", code="gradedlib",
        failed={
            "test_fit_values": ("AssertionError", VALUES_MSG.format(0.25)),
            "test_predict_values": ("AssertionError", "test_predict_values: predict used gradedlib's code, which is blocked in the hidden tests"),
        },
        summary={"seconds": 75.25, "limits_hit": ["memory"], "not_gradable": None},
    ),
    "frank": StudentSpec("Frank", "Fox", submitted=False, timestamp=None),
    "grace": StudentSpec(
        "Grace", "Gill", gradable=False, code="release",
        summary={"seconds": 0.5, "limits_hit": [], "not_gradable": "the notebook is not valid JSON (line 1 column 1)"},
    ),
    "judy": StudentSpec("Judy", "Jones", gradable=False, recorded=False, code="release"),
    "harry": StudentSpec(
        "Harry", "Hale", code="release",
        failed={name: NOT_IMPLEMENTED for name in AUTO_CELLS},
        manual={"exercise1_answer": 0.0, "exercise2_answer": 0.0, "exercise4_answer": 0.0},
        summary={"seconds": 12.0, "limits_hit": [], "not_gradable": None},
    ),
    "ivan": StudentSpec(
        "Ivan", "Ito", code="seed_grid",
        failed={
            "test_fit_test_error": ("AssertionError", SEED_GRID_MSG.format(0.1587)),
            "test_fit_values": ("AssertionError", VALUES_MSG.format(0.5)),
        },
        manual={"exercise1_answer": 2.0, "exercise2_answer": 2.0, "exercise4_answer": None},
        summary={"seconds": 600.0, "limits_hit": ["time"], "not_gradable": None},
    ),
}


# ---------------------------------------------------------------------------
# Expected figures, computed from the specification alone


def expected_scores(student: str) -> dict:
    """{cell: score} of a graded student (autograded and manual cells; ungraded manual -> 0)."""
    spec = CLASS[student]
    scores = {}
    for name in AUTO_CELLS:
        scores[name] = 0.0 if name in spec.failed else GRADE_CELLS[name][0]
    for name in MANUAL_CELLS:
        scores[name] = spec.manual.get(name) or 0.0
    return scores


def expected_total(student: str) -> float:
    """The final score nbgrader reports: all cells minus the late penalty."""
    spec = CLASS[student]
    if not spec.submitted or not spec.gradable:
        return 0.0
    return sum(expected_scores(student).values()) - (spec.late_penalty or 0.0)


# ---------------------------------------------------------------------------
# Students' code


def _strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _solution_cells(nb) -> dict:
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    }


REFERENCE = {name: _strip_solution_markers(cell.source) for name, cell in _solution_cells(nbformat.read(SOLUTION, as_version=4)).items()}

# dave's disguise: every name of alice's code renamed
RENAMES = {
    "class_statistics": "digit_stats", "holdout_split": "split_rows", "validation_scores": "loglik_grid",
    "choose_c": "pick_reg", "candidates": "grid", "x_train": "xa", "y_train": "ya", "x_val": "xb",
    "centred": "dev", "scores": "ll", "errors": "errs", "train": "idx_a", "val": "idx_b", "order": "perm",
    "n_val": "n_b", "lam": "evals", "V": "evecs", "sq": "proj", "cov": "covs", "xj": "rows", "mu": "means",
    "pi": "priors", "sigma": "covs_reg", "L_inv": "Linv", "L": "chol", "z": "w", "log_det": "logdet",
    "validation_fraction": "frac", "seed": "s", "test_predictions": "yhat", "misclassified": "wrong",
    "choice": "pick", "single": "one_c", "sweep": "rnd", "changed": "moved", "trial": "t", "best": "b",
    "validation_error": "val_err", "y_val": "yb", "classes": "digits",
}


def _rename(source: str) -> str:
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, RENAMES), key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda m: RENAMES[m.group(1)], source)


def _gradedlib_source(*names: str) -> str:
    """The source of top-level functions and classes of gradedlib/model.py, pasted as they are."""
    text = GRADEDLIB_MODEL.read_text()
    tree = ast.parse(text)
    found = {
        node.name: ast.get_source_segment(text, node)
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }
    return "\n\n\n".join(found[name] for name in names)


OWN_CELLS = {
    # bob's own way of writing the other answers
    "kfold": {
        "chosen_c_solution": 'chosen_c = float(np.mean(np.diagonal(sigma[0]) - train_data[train_labels == 0].var(axis=0, ddof=1)))\nprint("chosen c:", chosen_c)',
        "misclassified_solution": (
            "labels_hat = predict(test_data, mu, sigma, pi)\n"
            "wrong_idx = [i for i in range(len(test_labels)) if labels_hat[i] != test_labels[i]]\n"
            "test_error_rate = len(wrong_idx) / len(test_labels)\n"
            "misclassified_shown = random.sample(wrong_idx, 5)\n"
            "for i in misclassified_shown:\n"
            "    displaychar(test_data[i])\n"
            "    plt.show()\n"
        ),
        "exercise1_code": (
            "zero_variance_pixels = []\n"
            "for digit in range(10):\n"
            "    std = train_data[train_labels == digit].std(axis=0)\n"
            "    zero_variance_pixels.append(int((std == 0).sum()))\n"
        ),
        "exercise2_code": (
            "big = [s + 1e9 * np.identity(784) for s in sigma]\n"
            "guesses = predict(test_data, mu, big, pi)\n"
            "huge_c_error_rate = float((guesses != test_labels).mean())\n"
            "values, counts = np.unique(guesses, return_counts=True)\n"
            "huge_c_predicted_digit = int(values[counts.argmax()])\n"
        ),
        "exercise3_code": 'training_errors = int((predict(train_data, mu, sigma, pi) != train_labels).sum())\nprint(training_errors)',
        "per_class_solution": (
            "def fit_generative_model_per_class_c(x, y):\n"
            "    mu, sigma, pi = fit_generative_model(x, y)\n"
            "    base = np.mean(np.diagonal(sigma[0]) - x[y == 0].var(axis=0, ddof=1))\n"
            "    c = np.full(10, base)\n"
            "    return mu, sigma, pi, c\n"
        ),
        "per_class_evaluation": "per_class_error = float(np.mean(predict(test_data, mu_pc, sigma_pc, pi_pc) != test_labels))",
    },
    # carol's
    "scipy": {
        "chosen_c_solution": "chosen_c = float(sigma[3][0, 0] - np.var(train_data[train_labels == 3][:, 0]))",
        "misclassified_solution": (
            "preds = predict(test_data, mu, sigma, pi)\n"
            "test_error_rate = float(np.count_nonzero(preds - test_labels)) / test_labels.size\n"
            "bad = np.where(preds != test_labels)[0]\n"
            "misclassified_shown = bad[:5]\n"
            "fig, grid = plt.subplots(1, 5)\n"
            "for k in range(5):\n"
            "    grid[k].imshow(test_data[bad[k]].reshape(28, 28), cmap='gray')\n"
            "    grid[k].set_title(f'{preds[bad[k]]} / {test_labels[bad[k]]}')\n"
        ),
        "exercise1_code": "zero_variance_pixels = np.array([(np.var(train_data[train_labels == d], axis=0) == 0).sum() for d in range(10)])",
        "exercise2_code": (
            "from collections import Counter\n"
            "p = predict(test_data, mu, [np.eye(784) * 1e9 + s for s in sigma], pi)\n"
            "huge_c_error_rate = float(np.mean(p != test_labels))\n"
            "huge_c_predicted_digit = Counter(p.tolist()).most_common(1)[0][0]\n"
        ),
        "exercise3_code": "training_errors = int(np.count_nonzero(predict(train_data, mu, sigma, pi) != train_labels))",
        "per_class_solution": (
            "def fit_generative_model_per_class_c(x, y):\n"
            "    from sklearn.model_selection import train_test_split\n"
            "    xa, xb, ya, yb = train_test_split(x, y, test_size=0.25, random_state=3)\n"
            "    cs = np.empty(10)\n"
            "    for d in range(10):\n"
            "        errs = {}\n"
            "        for c in (1e3, 3e3, 1e4):\n"
            "            m, s, p = fit_generative_model(xa, ya)\n"
            "            errs[c] = np.mean(predict(xb[yb == d], m, s, p) != d)\n"
            "        cs[d] = min(errs, key=errs.get)\n"
            "    mu, sigma, pi = fit_generative_model(x, y)\n"
            "    return mu, sigma, pi, cs\n"
        ),
        "per_class_evaluation": "per_class_error = float((predict(test_data, mu_pc, sigma_pc, pi_pc) != test_labels).mean())",
    },
}


def _solution_sources(kind: str) -> dict:
    """{solution cell: source} for a kind of student code ('release' leaves the release as is)."""
    if kind == "release":
        return {}
    if kind == "reference":
        return dict(REFERENCE)
    if kind == "seed_grid":
        out = dict(REFERENCE)
        out["fit_solution"] = out["fit_solution"].replace("np.logspace(0, 6, 25)", "np.array([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0])", 1)
        return out
    if kind == "renamed_alice":
        return {name: _rename(src) for name, src in REFERENCE.items()}
    if kind == "kfold":
        return {**OWN_CELLS["kfold"], "fit_solution": KFOLD_CHOLESKY_FIT.strip(), "predict_solution": KFOLD_CHOLESKY_PREDICT.strip()}
    if kind == "scipy":
        return {**OWN_CELLS["scipy"], "fit_solution": SCIPY_FIT.strip(), "predict_solution": SCIPY_PREDICT.strip()}
    if kind == "gradedlib":
        # the model's class and its moments, pasted from gradedlib/model.py, with thin wrappers of her own
        fit = "import scipy.linalg\n\n\n" + _gradedlib_source("class_moments", "GaussianGenerativeClassifier")
        fit += ("\n\n\ndef fit_generative_model(x, y):\n    pi, mu, cov = class_moments(x, y, 10)\n"
                "    return mu, cov + 3000.0 * np.eye(x.shape[1]), pi\n")
        predict = ("def predict(x, mu, sigma, pi):\n    scores = [np.log(p) + scipy.stats.multivariate_normal(m, s).logpdf(x)"
                   " for m, s, p in zip(mu, sigma, pi)]\n    return np.argmax(scores, axis=0)\n")
        return {"fit_solution": fit, "predict_solution": "import scipy.stats\n\n\n" + predict}
    raise ValueError(f"unknown kind of student code {kind!r}")


def student_notebook(kind: str):
    """The release with the solution cells of ``kind`` filled in."""
    nb = nbformat.from_dict(json.loads(json.dumps(RELEASE_NB)))
    sources = _solution_sources(kind)
    for name, cell in _solution_cells(nb).items():
        if name in sources:
            cell.source = sources[name]
    return nb


def _autograded_notebook(nb, spec: StudentSpec):
    graded = nbformat.from_dict(json.loads(json.dumps(nb)))
    if spec.metadata_summary is not None:
        graded.metadata["generative_mnist_grading"] = spec.metadata_summary
    for cell in graded.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        name = cell.metadata.get("nbgrader", {}).get("grade_id")
        if name in spec.failed:
            ename, evalue = spec.failed[name]
            cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])]
    return graded


# ---------------------------------------------------------------------------
# The course directory

# What nbgrader generate_feedback writes, reduced to what identifies it.
FEEDBACK_HTML = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>feedback</title></head><body>feedback for {student}</body></html>"


def build_course(course: Path) -> Path:
    """Write gradebook.db, submitted/ and autograded/ of the class into ``course``."""
    from nbgrader.api import Gradebook

    # nbgrader's Gradebook runs ``alembic``, installed beside this Python.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    course.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    release_dir = course / "exercises" / ASSIGNMENT
    release_dir.mkdir(parents=True)
    shutil.copy2(RELEASE, release_dir / f"{NOTEBOOK}.ipynb")
    with Gradebook(db_url) as gb:
        gb.add_assignment(ASSIGNMENT, duedate=DUE.replace(tzinfo=None))
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        for name, (points, kind) in GRADE_CELLS.items():
            gb.add_grade_cell(name, NOTEBOOK, ASSIGNMENT, max_score=points, cell_type=kind)
        for name, spec in CLASS.items():
            gb.add_student(name, first_name=spec.first, last_name=spec.last, email=f"{name}@example.edu")
            if not spec.submitted:
                continue
            nb = student_notebook(spec.code)
            folder = course / "submitted" / name / ASSIGNMENT
            folder.mkdir(parents=True)
            if not spec.recorded:
                nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
                continue
            gb.add_submission(ASSIGNMENT, name, timestamp=spec.timestamp.replace(tzinfo=None))
            if spec.gradable:
                nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
            else:
                (folder / f"{NOTEBOOK}.ipynb").write_text("<<<<<<< HEAD\nnot a notebook\n")
            (folder / "timestamp.txt").write_text(spec.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
            out = course / "autograded" / name / ASSIGNMENT
            if spec.summary is not None:
                out.mkdir(parents=True, exist_ok=True)
                (out / "grading_summary.json").write_text(json.dumps(spec.summary))
            if not spec.gradable:
                continue
            out.mkdir(parents=True, exist_ok=True)
            nbformat.write(_autograded_notebook(nb, spec), out / f"{NOTEBOOK}.ipynb")
            if name != "harry":  # harry's feedback was not generated
                feedback = course / "feedback" / name / ASSIGNMENT
                feedback.mkdir(parents=True)
                (feedback / f"{NOTEBOOK}.html").write_text(FEEDBACK_HTML.format(student=name))
            for cell in AUTO_CELLS:
                grade = gb.find_grade(cell, NOTEBOOK, ASSIGNMENT, name)
                grade.auto_score = 0.0 if cell in spec.failed else GRADE_CELLS[cell][0]
                grade.needs_manual_grade = False
            for cell in MANUAL_CELLS:
                grade = gb.find_grade(cell, NOTEBOOK, ASSIGNMENT, name)
                grade.auto_score = None
                grade.manual_score = spec.manual.get(cell)
                grade.needs_manual_grade = spec.manual.get(cell) is None
            submitted_nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, name)
            submitted_nb.late_submission_penalty = spec.late_penalty
            gb.db.commit()
    return course


_SHARED: dict = {}


def shared_course() -> Path:
    """One course folder per test session (built once, ~10 s), removed at exit.

    Tests must treat it as read-only and write their outputs elsewhere.
    """
    if "course" not in _SHARED:
        import atexit
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="report-class-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _SHARED["course"] = build_course(folder / "course")
    return _SHARED["course"]


def grading_summary(student: str) -> dict:
    """The summary the report should find for a student: the JSON file's, else the notebook metadata's."""
    spec = CLASS[student]
    return spec.summary or spec.metadata_summary or {}
