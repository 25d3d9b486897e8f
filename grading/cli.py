"""``python -m grading COMMAND``: the instructor's commands, and what their front ends share.

Commands
--------
autograde   grade every submission of an assignment in the sandbox (see grading.batch.autograde)
doctor      will grading work here? sandbox, environment, data, limits, a kernel and a probe (grading.batch.doctor)
report      the class report after grading (see grading.report.class_report)
export-lms  Canvas gradebook-import CSV and feedback bundle (see grading.report.lms)
score       enter a grader's score without the formgrader; list what is still to grade (grading.report.manual_scores)

Each command is a library function with a thin ``main(argv) -> int`` front end in
its module; this dispatcher only imports the one that is asked for.  Every
front end takes ``--course FOLDER`` (default: the current folder) and
``--Class.trait=value`` settings, read with :func:`parse_course_arguments` into
one :class:`grading.config.Course`.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys

from grading.config import Course

__all__ = ["COMMANDS", "add_course_argument", "main", "parse_course_arguments", "returns_exit_status"]

COMMANDS = {
    "autograde": ("grading.batch.autograde", "grade every submission of an assignment, each in its own sandbox"),
    "doctor": ("grading.batch.doctor", "check that grading works here (one sandboxed kernel and one probe)"),
    "report": ("grading.report.class_report", "write the class report (HTML, figures, CSV) from the gradebook"),
    "export-lms": ("grading.report.lms", "write a Canvas gradebook-import CSV and a zip of every student's feedback"),
    "score": ("grading.report.manual_scores", "enter a grader's score for one answer, or list the answers still to grade"),
}


def add_course_argument(parser: argparse.ArgumentParser, what: str = "the course folder") -> None:
    """Give ``parser`` the ``--course FOLDER`` option every command has (default: the current folder)."""
    parser.add_argument("--course", default=".", help=f"{what}, where nbgrader_config.py is (default: .)")


def parse_course_arguments(parser: argparse.ArgumentParser, argv) -> tuple[argparse.Namespace, Course]:
    """Parse ``argv``; the arguments ``parser`` does not know must be ``--Class.trait=value`` settings.

    Returns the parsed arguments and the course (``--course``, its ``nbgrader_config.py`` and those
    settings).  A bad argument exits through ``parser.error`` (status 2), naming it.
    """
    args, rest = parser.parse_known_args(argv)
    try:
        course = Course.load(args.course, rest)
    except ValueError as exc:
        parser.error(str(exc))
    return args, course


def returns_exit_status(command_main):
    """Make a front end's ``main(argv) -> int`` return argparse's exit status instead of exiting.

    ``parser.error`` (a bad argument, status 2) and ``--help`` (status 0) raise ``SystemExit`` with an
    integer; the wrapped ``main`` returns that integer, so that it can be called as a function (the
    tests, another program).  A ``SystemExit`` with a message is not an exit status: it propagates.
    """

    @functools.wraps(command_main)
    def wrapped(argv=None) -> int:
        try:
            return command_main(argv)
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                return exc.code or 0
            raise

    return wrapped


def _usage() -> str:
    lines = ["usage: python -m grading COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command named by ``argv[0]`` with the remaining arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"python -m grading: unknown command {name!r}; expected one of {sorted(COMMANDS)}.", file=sys.stderr)
        print(_usage(), file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)
