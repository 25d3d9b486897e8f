"""Tests of the ``gradedlib`` command line."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

import gradedlib.data
from gradedlib.cli import main

RESULT_KEYS = {
    "c", "candidates", "validation_errors", "validation_error", "test_error", "test_errors",
    "train_errors", "train_error", "confusion_matrix", "timings", "classes", "figures",
}


@pytest.fixture
def tiny_mnist(monkeypatch):
    """Replace the bundled MNIST by 3 separable classes of 40 / 15 images."""
    rng = np.random.default_rng(0)

    def fake(split="train", *, data_home=None):
        n = 40 if split == "train" else 15
        y = np.repeat(np.arange(3, dtype=np.uint8), n)
        X = rng.integers(0, 60, size=(y.size, 784))
        for j in range(3):
            X[y == j, 200 * j : 200 * j + 150] += 150
        return X.astype(np.uint8), y

    monkeypatch.setattr(gradedlib.data, "load_mnist", fake)


@pytest.fixture
def small_mnist(monkeypatch):
    """Like tiny_mnist, but only 24 pixels vary (the rest are 0): the fits factorise 24 x 24 matrices."""
    rng = np.random.default_rng(0)

    def fake(split="train", *, data_home=None):
        n = 40 if split == "train" else 15
        y = np.repeat(np.arange(3, dtype=np.uint8), n)
        X = np.zeros((y.size, 784), dtype=np.uint8)
        X[:, :24] = rng.integers(0, 60, size=(y.size, 24))
        for j in range(3):
            X[y == j, 8 * j : 8 * j + 8] += 150
        return X, y

    monkeypatch.setattr(gradedlib.data, "load_mnist", fake)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["fit", "--c", "-1"], "--c: must be a positive float. Got '-1'"),
        (["fit", "--c", "0"], "--c: must be a positive float"),
        (["fit", "--c", "nan"], "--c: must be a positive float"),
        (["fit", "--c", "abc"], "--c: must be a positive float"),
        (["fit", "--folds", "1"], "--folds: must be an integer >= 2. Got '1'"),
        (["fit", "--folds", "2.5"], "--folds: must be an integer >= 2"),
        (["fit", "--seed", "-3"], "--seed: must be an integer"),
        (["fit", "--c", "100", "--per-class"], "cannot be combined"),
        (["fit", "--c", "100", "--folds", "3"], "cannot be combined"),
        (["fit", "--bogus"], "unrecognized arguments: --bogus"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_argument_errors_exit_2_with_one_line(argv, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "error:" in err and fragment in err
    assert "Traceback" not in err


def test_figures_must_be_a_directory(tmp_path, capsys):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(SystemExit) as info:
        main(["fit", "--c", "10", "--figures", str(path)])
    assert info.value.code == 2
    assert "--figures must be a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["fit", "--C", "100"], "unrecognized arguments: --C 100 (did you mean --c?)"),
        (["fit", "--per_class"], "unrecognized arguments: --per_class (did you mean --per-class?)"),
        (["fit", "--C", "1", "--seeds", "3"], "(did you mean --c for --C, --seed for --seeds?)"),
        # No abbreviations: --fold is not taken as --folds, --fig not as --figures.
        (["fit", "--fold", "5"], "unrecognized arguments: --fold 5 (did you mean --folds?)"),
        (["fit", "--fig", "out"], "unrecognized arguments: --fig out (did you mean --figures?)"),
        (["check", "--time", "5", "n.ipynb"], "unrecognized arguments: --time n.ipynb (did you mean --timeout?)"),
    ],
)
def test_unknown_options_get_a_suggestion_and_no_abbreviation_is_taken(argv, fragment, capsys, monkeypatch):
    def no_computation(*args, **kwargs):
        raise AssertionError("an argument error must stop before any computation")

    monkeypatch.setattr(gradedlib.data, "load_mnist", no_computation)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err
    assert f"see 'gradedlib {argv[0]} --help'" in err


def test_an_unknown_option_unlike_any_gets_no_suggestion(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--bogus"])
    assert "did you mean" not in capsys.readouterr().err


@pytest.mark.parametrize("where", ["/proc/nope", "{tmp}/file.txt/figures"])
def test_an_unwritable_figures_folder_exits_2_before_any_computation(where, tmp_path, capsys, monkeypatch):
    (tmp_path / "file.txt").write_text("x")
    where = where.format(tmp=tmp_path)

    def no_computation(*args, **kwargs):
        raise AssertionError("the folder must be checked before any computation")

    monkeypatch.setattr(gradedlib.data, "load_mnist", no_computation)
    with pytest.raises(SystemExit) as info:
        main(["fit", "--c", "10", "--figures", where])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"--figures must be a directory that can be written. Got {where!r}, which cannot be written" in err


def test_a_missing_figures_folder_is_created_up_front(tmp_path):
    from gradedlib.cli import _unwritable_folder

    figdir = tmp_path / "new" / "figures"
    assert _unwritable_folder(figdir) is None
    assert figdir.is_dir() and list(figdir.iterdir()) == []  # the probe file is gone


def test_progress_says_something_at_least_every_interval(small_mnist, capsys, monkeypatch):
    """A refit that says nothing for a while gets "still working" lines (every 10 s; here every 0.2 s)."""
    import re

    import gradedlib.cli
    from gradedlib.model import GaussianGenerativeClassifier

    monkeypatch.setattr(gradedlib.cli, "HEARTBEAT_SECONDS", 0.2)
    fit = GaussianGenerativeClassifier.fit

    def slow_fit(self, X, y):
        time.sleep(1.2)
        return fit(self, X, y)

    monkeypatch.setattr(GaussianGenerativeClassifier, "fit", slow_fit)
    assert main(["fit", "--c", "1000"]) == 0
    lines = capsys.readouterr().err.splitlines()
    beats = [line for line in lines if "still working" in line]
    assert len(beats) >= 3, lines
    assert all(line.endswith("after: fitting on all 120 training images") for line in beats)
    stamps = [float(re.match(r"\[\s*([\d.]+) s\]", line).group(1)) for line in lines]
    gaps = np.diff(stamps)
    assert gaps.max() < 0.2 + 0.3, (gaps, lines)  # the interval, and scheduling slack on a loaded machine
    # The heartbeat stops with the run: nothing more is written afterwards.
    time.sleep(0.5)
    assert capsys.readouterr().err == ""


def test_quiet_has_no_heartbeat():
    import io

    from gradedlib.cli import _Progress

    stream = io.StringIO()
    with _Progress(stream, enabled=False, interval=0.05) as progress:
        progress.say("fitting")
        time.sleep(0.3)
    assert stream.getvalue() == ""


def test_argument_error_in_a_real_process_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "gradedlib", "fit", "--folds", "1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("deskew", [False, True])
def test_json_with_given_c(tiny_mnist, capsys, deskew):
    assert main(["fit", "--c", "1000", "--json"] + (["--deskew"] if deskew else [])) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert RESULT_KEYS <= set(result)
    assert result["deskew"] is deskew and ("deskew" in result["timings"]) is deskew
    assert result["c"] == 1000.0
    assert result["candidates"] is None and result["validation_errors"] is None
    cm = np.array(result["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == 45
    assert result["test_errors"] == 45 - np.trace(cm)
    assert result["train_errors"] == round(result["train_error"] * 120)
    assert "fitting on all" in out.err  # progress on stderr, not stdout
    assert "no figures written (--figures DIR writes them)" in out.err  # stdout is the JSON alone


def test_json_with_chosen_c_and_figures(tiny_mnist, tmp_path, capsys):
    figdir = tmp_path / "figs"
    assert main(["fit", "--folds", "2", "--json", "--figures", str(figdir), "--seed", "3"]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert RESULT_KEYS <= set(result)
    assert len(result["candidates"]) == len(result["validation_errors"]) == 29
    assert result["c"] in result["candidates"]
    assert "choosing c [" in out.err
    names = sorted(p.name for p in figdir.iterdir())
    assert names == ["class_means.png", "confusion_matrix.png", "misclassified.png", "samples.png",
                     "validation_curve.png"]
    assert all((figdir / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


def test_text_output_and_per_class(tiny_mnist, capsys):
    assert main(["fit", "--folds", "2", "--per-class", "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert "chosen c per class" in out.out
    assert "test error:" in out.out and "training errors:" in out.out
    assert "confusion matrix" in out.out
    assert out.out.endswith("figures: none written (--figures DIR writes them)\n")


@pytest.mark.slow
def test_fit_end_to_end_on_mnist(tmp_path):
    figdir = tmp_path / "figures"
    proc = subprocess.run(
        [sys.executable, "-m", "gradedlib", "fit", "--json", "--figures", str(figdir)],
        capture_output=True, text=True, check=True,
    )
    result = json.loads(proc.stdout)
    assert 1000 <= result["c"] <= 10000
    assert result["test_error"] <= 0.045
    assert np.array(result["confusion_matrix"]).sum() == 10000
    for name in ("class_means.png", "samples.png", "misclassified.png", "validation_curve.png"):
        assert (figdir / name).stat().st_size > 1000
    assert "choosing c" in proc.stderr
