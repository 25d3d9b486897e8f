"""The course's grading configuration: ``nbgrader_config.py`` with ``--Class.trait=value`` overrides.

Read by ``python -m grading autograde`` and ``python -m grading doctor`` (and
by tests that need the configuration a command would use).
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["load_config"]


def load_config(course: Path, overrides: list[str]):
    """The course's nbgrader_config.py with ``--Class.trait=value`` overrides (``c.Sandbox.course_folder`` set)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    for item in overrides:
        if not (item.startswith("--") and "=" in item and "." in item.split("=", 1)[0]):
            raise ValueError(f"unrecognized argument {item!r}: expected --Class.trait=value")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    for item in overrides:
        key, value = item[2:].split("=", 1)
        section, trait = key.rsplit(".", 1)
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value
        config.merge(Config({section: {trait: parsed}}))
    if not config.Sandbox.get("course_folder"):
        config.Sandbox.course_folder = str(course)
    return config
