"""What to tell an instructor whose assignment name the gradebook does not know.

A mistyped name used to get the advice ``run nbgrader db assignment add
gaussian`` (which would create the typo).  :func:`unknown_assignment_advice`
names the assignments the gradebook has, suggests the closest one
(:mod:`difflib`), and suggests adding the name only when it looks new: when
the course's source folder has it (``solutions/<name>/``) or nothing known is
close to it.
"""

from __future__ import annotations

import difflib
from pathlib import Path

__all__ = ["advice_from_gradebook", "source_assignments", "unknown_assignment_advice"]


def unknown_assignment_advice(name: str, known, sources=(), source_folder: str = "solutions") -> str:
    """The message for an assignment name that is not in the gradebook.

    Parameters
    ----------
    name : str
        The name given.
    known : collection of str
        The assignments of the gradebook.
    sources : collection of str, default=()
        The assignments of the course's source folder (``solutions/*``), which
        ``nbgrader db assignment add`` and ``generate_assignment`` can add.
    source_folder : str, default="solutions"
        That folder's name (``c.CourseDirectory.source_directory``), for the advice.

    Returns
    -------
    str
        One sentence or two, without the command's name; the given name is
        quoted with ``repr`` (pass it through :func:`grading.untrusted_text.for_terminal`
        before printing).

    Examples
    --------
    >>> print(unknown_assignment_advice("gaussian", ["gaussian_generative", "week2"]))
    the gradebook has no assignment 'gaussian'. Did you mean 'gaussian_generative'? The gradebook's assignments: gaussian_generative, week2.
    """
    known, sources = sorted(set(known)), sorted(set(sources))
    text = f"the gradebook has no assignment {name!r}."
    close = difflib.get_close_matches(name, known + [s for s in sources if s not in known], n=1, cutoff=0.6)
    if not close:  # a prefix or a part of a name ("gaussian" for "gaussian_generative") is close too
        close = [k for k in known + sources if name and name.lower() in k.lower()][:1]
    listed = f"The gradebook's assignments: {', '.join(known)}." if known else "The gradebook has no assignment yet."
    if name in sources:
        return (f"{text} {listed} {source_folder}/ has it: add it with `nbgrader db assignment add {name}`, then "
                f"`nbgrader generate_assignment {name}`.")
    if close:
        hint = f" Did you mean {close[0]!r}?"
        if close[0] not in known:
            hint += (f" ({close[0]!r} is in the source folder but not in the gradebook yet: "
                     f"`nbgrader db assignment add {close[0]}`.)")
        return f"{text}{hint} {listed}"
    return (f"{text} {listed} If {name!r} is a new assignment, put its source notebook in "
            f"{source_folder}/{name}/, then run `nbgrader db assignment add {name}` and `nbgrader generate_assignment {name}`.")


def source_assignments(course, source_directory: str = "solutions") -> list:
    """The assignment folders of the course's source folder (``solutions/<name>/``)."""
    folder = Path(course) / source_directory
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []


def advice_from_gradebook(db_url: str, name: str, course, source_directory: str = "solutions") -> str:
    """:func:`unknown_assignment_advice` with the gradebook's assignments read from ``db_url``.

    When the gradebook cannot be read, the message says so and why, instead.
    """
    from nbgrader.api import Gradebook

    try:
        with Gradebook(db_url) as gb:
            known = [a.name for a in gb.assignments]
    except Exception as exc:  # noqa: BLE001 - whatever stops the gradebook from opening is the answer
        return f"the gradebook {db_url!r} could not be read ({type(exc).__name__}: {exc})."
    return unknown_assignment_advice(name, known, source_assignments(course, source_directory), source_directory)
