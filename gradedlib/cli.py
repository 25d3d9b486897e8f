"""The ``gradedlib`` command line (also ``python -m gradedlib``).

``gradedlib fit`` loads the bundled MNIST, optionally deskews it, chooses ``c``
on the training set only (progress on stderr, a line at least every ten
seconds), refits on all 60,000 training images and reports the test error.
``--json`` prints a machine-readable result on stdout; ``--figures DIR``
writes PNG figures (without it, the report says that none were written).

Argument errors print one line on stderr and exit with status 2, before any
computation: an unknown option names the closest known one ("did you mean
--c?"), options must be spelled in full (no abbreviations), and a ``--figures``
folder that cannot be written is refused up front. A failing computation
(e.g. a singular covariance) prints one line and exits with 1.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "build_parser", "run_fit"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line on stderr (status 2).

    Options must be spelled in full (``allow_abbrev=False``: ``--fold 5`` is
    an error, not ``--folds 5``), and an unknown option gets the closest known
    option of its subcommand as a suggestion (``--C`` -> ``--c``). Subparsers
    are of this class too.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def parse_args(self, args=None, namespace=None):
        args, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self._subcommand_parser(args)
            parser.error(f"unrecognized arguments: {' '.join(extras)}{parser._suggestions(extras)}")
        return args

    def _subcommand_parser(self, namespace) -> argparse.ArgumentParser:
        """The parser of the subcommand that ``namespace`` holds (this parser if none)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices.get(getattr(namespace, action.dest, None), self)
        return self

    def _suggestions(self, extras) -> str:
        """``" (did you mean --c?)"`` for the unknown options of ``extras`` that resemble a known one."""
        known = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
        unknown = [e.split("=", 1)[0] for e in extras if e.startswith("-") and not _looks_numeric(e)]
        hints = []
        for word in unknown:
            same_but_case = [o for o in known if o.lower() == word.lower()]
            # Compared without the dashes, which every option shares.
            stems = {o.lstrip("-"): o for o in known}
            close = same_but_case or [stems[m] for m in difflib.get_close_matches(word.lstrip("-"), stems, n=1,
                                                                                 cutoff=0.6)]
            if close:
                hints.append(f"{close[0]} for {word}" if len(unknown) > 1 else close[0])
        return f" (did you mean {', '.join(hints)}?)" if hints else ""


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive float. Got {text!r} instead.") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive float. Got {text!r} instead.")
    return value


def _folds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2. Got {text!r} instead.") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2. Got {text!r} instead.")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..2**32-1. Got {text!r} instead.") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..2**32-1. Got {text!r} instead.")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``gradedlib`` command."""
    from . import __version__

    parser = _Parser(prog="gradedlib", description="Gaussian generative classification of MNIST digits.")
    parser.add_argument("--version", action="version", version=f"gradedlib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    fit = sub.add_parser(
        "fit",
        help="choose c on the training set, fit, and report the test error",
        description="Choose c on the 60,000 training images only, refit on all of them, "
        "and report the error on the 10,000 test images.",
    )
    fit.add_argument("--c", type=_positive_float, default=None, metavar="FLOAT",
                     help="use this c and skip the choice of c")
    fit.add_argument("--per-class", action="store_true", help="choose one c per class (coordinate descent)")
    fit.add_argument("--folds", type=_folds, default=None, metavar="K",
                     help="k-fold cross-validation instead of one hold-out set of 10,000")
    fit.add_argument("--deskew", action="store_true", help="deskew every image first (gradedlib.preprocess.deskew)")
    fit.add_argument("--seed", type=_seed, default=0, metavar="INT",
                     help="seed of the validation split and of the figures' random choices (default 0)")
    fit.add_argument("--json", action="store_true", help="print a JSON result on stdout instead of text")
    fit.add_argument("--figures", type=Path, default=None, metavar="DIR",
                     help="write PNG figures (class means, samples, misclassified digits, error against c, "
                     "confusion matrix) to DIR")
    fit.add_argument("--quiet", action="store_true", help="no progress display on stderr")
    from .check import add_check_parser  # `gradedlib check NOTEBOOK` (gradedlib/check.py)

    add_check_parser(sub)
    return parser


# The longest silence of the progress display on stderr, in seconds.
HEARTBEAT_SECONDS = 10.0


class _Progress:
    """A one-line text progress display on a stream (stderr).

    Used as a context manager, it also keeps a heartbeat: when nothing has
    been said for ``interval`` seconds (a long fit or prediction), it writes
    ``... still working, N s after: <last message>``, so that a line appears at
    least every ``interval`` seconds (default ``HEARTBEAT_SECONDS``) until the
    context ends.
    """

    def __init__(self, stream, enabled: bool, interval: float | None = None):
        self.stream = stream
        self.enabled = enabled
        self.interval = HEARTBEAT_SECONDS if interval is None else interval
        self.start = time.perf_counter()
        self._said_time = self._line_time = self.start
        self._last_message = "starting"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def _write(self, message: str) -> None:
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"[{elapsed:6.1f} s] {message}\n")
        self.stream.flush()

    def say(self, message: str) -> None:
        if self.enabled:
            with self._lock:
                self._write(message)
                self._said_time = self._line_time = time.perf_counter()
                self._last_message = message

    def _heartbeat(self) -> None:
        tick = min(0.5, self.interval / 4)
        while not self._stop.wait(tick):
            with self._lock:
                now = time.perf_counter()
                if now - self._line_time >= self.interval - tick:  # the next tick could be late
                    self._write(f"... still working, {now - self._said_time:.0f} s after: {self._last_message}")
                    self._line_time = now

    def __enter__(self):
        if self.enabled:
            self._stop.clear()
            self._thread = threading.Thread(target=self._heartbeat, name="gradedlib-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        return False

    def choose_c_callback(self, step: int, total: int, message: str) -> None:
        width = 20
        done = int(width * step / total)
        self.say(f"choosing c [{'#' * done}{'.' * (width - done)}] {step}/{total} {message}")


def run_fit(args, progress: _Progress) -> dict:
    """Do the work of ``gradedlib fit`` (load, deskew, :func:`gradedlib.evaluation.evaluate`, figures).

    Returns the result as a JSON-able dict.
    """
    from .data import MNIST_ATTRIBUTION, load_mnist
    from .evaluation import evaluate

    timings = {}
    t0 = time.perf_counter()
    X_train, y_train = load_mnist("train")
    X_test, y_test = load_mnist("test")
    timings["load"] = time.perf_counter() - t0
    progress.say(f"loaded MNIST: {X_train.shape[0]} training and {X_test.shape[0]} test images")

    if args.deskew:
        from .preprocess import deskew

        t = time.perf_counter()
        X_train = deskew(X_train)
        X_test = deskew(X_test)
        timings["deskew"] = time.perf_counter() - t
        progress.say("deskewed all images")

    def report(step, total, message):
        if step is None:
            progress.say(message)
        else:
            progress.choose_c_callback(step, total, message)

    ev = evaluate(X_train, y_train, X_test, y_test, c=args.c, folds=args.folds, per_class=args.per_class,
                  random_state=args.seed, progress=report)
    timings.update(ev.timings)
    selection = ev.selection
    result = {
        "c": np.asarray(ev.c).tolist(),
        "per_class": bool(args.per_class and selection is not None),
        "deskew": bool(args.deskew),
        "folds": args.folds,
        "seed": args.seed,
        "classes": ev.model.classes_.tolist(),
        "candidates": None if selection is None else selection.candidates.tolist(),
        "validation_errors": None if selection is None else selection.errors.tolist(),
        "validation_error": None if selection is None else selection.validation_error,
        "test_error": ev.test_error,
        "test_errors": int(np.sum(ev.test_predictions != y_test)),
        "n_test": int(y_test.size),
        "train_error": ev.train_error,
        "train_errors": int(np.sum(ev.train_predictions != y_train)),
        "n_train": int(y_train.size),
        "confusion_matrix": ev.confusion.tolist(),
        "timings": timings,
        "figures": [],
        "data": MNIST_ATTRIBUTION,
    }
    if args.figures is not None:
        progress.say(f"writing figures to {args.figures}")
        t = time.perf_counter()
        result["figures"] = _write_figures(args.figures, ev.model, selection, X_test, y_test, ev.test_predictions,
                                           args.seed)
        timings["figures"] = time.perf_counter() - t
        progress.say(f"wrote {len(result['figures'])} figures to {args.figures}")
    timings["total"] = time.perf_counter() - t0
    return result


def _unwritable_folder(directory: Path) -> str | None:
    """Why ``directory`` cannot receive the figures, or ``None`` when it can.

    Creates the folder (and its parents) if missing, as the figures would,
    and writes and removes one temporary file in it: the only test that
    holds for root, read-only mounts and pseudo file systems such as /proc.
    """
    if directory.exists() and not directory.is_dir():
        return "is a file"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return f"cannot be written ({exc.strerror or type(exc).__name__})"
    return None


def _write_figures(directory: Path, model, selection, X_test, y_test, pred_test, seed) -> list[str]:
    """Write the PNG figures and return their paths (plots draws on Figure objects: no backend needed)."""
    from . import plots

    directory.mkdir(parents=True, exist_ok=True)
    figures = {
        "class_means.png": plots.plot_class_means(model),
        "samples.png": plots.plot_samples(model, n_per_class=1, random_state=seed),
        "misclassified.png": plots.plot_misclassified(X_test, y_test, pred_test, n=10, random_state=seed, ncols=5),
        "confusion_matrix.png": plots.plot_confusion_matrix(y_test, pred_test, labels=model.classes_),
    }
    if selection is not None:
        chosen = None if selection.per_class else selection.c
        figures["validation_curve.png"] = plots.plot_validation_curve(selection.candidates, selection.errors, chosen=chosen)
    written = []
    for name, fig in figures.items():
        path = directory / name
        fig.savefig(path, dpi=100)
        written.append(str(path))
    return written


def _format_text(result: dict) -> str:
    """Human-readable report of a ``run_fit`` result."""
    lines = []
    c = result["c"]
    if isinstance(c, list):
        lines.append("chosen c per class: " + ", ".join(f"{lab}: {v:.4g}" for lab, v in zip(result["classes"], c)))
    else:
        lines.append(f"c = {c:.6g}" + (" (chosen on the training set)" if result["candidates"] else " (given)"))
    if result["candidates"] is not None:
        cands = np.asarray(result["candidates"])
        errs = np.asarray(result["validation_errors"])
        best = int(np.argmin(errs))
        lines.append("validation error against c (around the best single c):")
        for i in range(max(0, best - 3), min(cands.size, best + 4)):
            mark = "  <- best" if i == best else ""
            lines.append(f"  c = {cands[i]:>12.6g}   {100 * errs[i]:6.2f} %{mark}")
        lines.append(f"validation error of the chosen c: {100 * result['validation_error']:.2f} %")
    lines.append(f"test error: {100 * result['test_error']:.2f} % "
                 f"({result['test_errors']} of {result['n_test']} test images)")
    lines.append(f"training errors: {result['train_errors']} of {result['n_train']} "
                 f"({100 * result['train_error']:.2f} %)")
    lines.append("confusion matrix on the test set (rows: true label, columns: predicted label):")
    labels = [str(v) for v in result["classes"]]
    lines.append("      " + "".join(f"{lab:>6}" for lab in labels))
    for lab, row in zip(labels, result["confusion_matrix"]):
        lines.append(f"{lab:>6}" + "".join(f"{v:>6}" for v in row))
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result["timings"].items())
    lines.append(f"timings: {timings}")
    for path in result["figures"]:
        lines.append(f"figure: {path}")
    if not result["figures"]:
        lines.append("figures: none written (--figures DIR writes them)")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Entry point of the ``gradedlib`` console script.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 when the computation fails (one-line message on
        stderr). Argument errors exit with status 2.
    """
    from .data import MnistDataError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        from .check import main as check_main

        return check_main(args)
    if args.c is not None and (args.per_class or args.folds is not None):
        parser.exit(2, "gradedlib fit: error: --c gives c directly; it cannot be combined with "
                       "--per-class or --folds, which choose c (see 'gradedlib fit --help')\n")
    if args.figures is not None:
        problem = _unwritable_folder(args.figures)
        if problem:
            parser.exit(2, f"gradedlib fit: error: --figures must be a directory that can be written. "
                           f"Got {str(args.figures)!r}, which {problem}, instead.\n")
    progress = _Progress(sys.stderr, enabled=not args.quiet)
    try:
        with progress:
            result = run_fit(args, progress)
    except (np.linalg.LinAlgError, MnistDataError, OSError) as exc:
        sys.stderr.write(f"gradedlib fit: error: {type(exc).__name__}: {exc}\n")
        return 1
    if args.json and not result["figures"]:
        progress.say("no figures written (--figures DIR writes them)")
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(_format_text(result) + "\n")
    return 0
