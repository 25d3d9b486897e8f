"""``python -m grading COMMAND``: the instructor's commands.

Commands
--------
autograde   grade every submission of an assignment in the sandbox (see grading.autograde)
doctor      will grading work here? sandbox, environment, data, limits, a kernel and a probe (grading.doctor)
report      the class report after grading (see grading.report)
export-lms  Canvas gradebook-import CSV and feedback bundle (see grading.lms)
score       enter a grader's score without the formgrader; list what is still to grade (grading.manual_scores)

Each command lives in its own module with a ``main(argv) -> int`` function;
this dispatcher only imports the one that is asked for.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "autograde": ("grading.autograde", "grade every submission of an assignment, each in its own sandbox"),
    "doctor": ("grading.doctor", "check that grading works here (one sandboxed kernel and one probe)"),
    "report": ("grading.report", "write the class report (HTML, figures, CSV) from the gradebook"),
    "export-lms": ("grading.lms", "write a Canvas gradebook-import CSV and a zip of every student's feedback"),
    "score": ("grading.manual_scores", "enter a grader's score for one answer, or list the answers still to grade"),
}


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


if __name__ == "__main__":
    sys.exit(main())
