"""The course: its folder and its ``nbgrader_config.py`` (with ``--Class.trait=value`` overrides), read once.

Every command and plugin takes the course's places from one :class:`Course`, so
that none can disagree with nbgrader about them:

- :attr:`Course.db_url`: ``c.CourseDirectory.db_url``, defaulting exactly as
  nbgrader does (``sqlite:///<course>/gradebook.db``, the folder made absolute);
- :attr:`Course.cache_dir`: ``c.SandboxedExecute.cache_dir``, defaulting to
  ``<course>/.grading-cache`` (the references, the graded copies, the markers);
- :meth:`Course.graded_dir` and :meth:`Course.not_gradable_dir`: where
  ``python -m grading autograde`` leaves the graded notebooks and the markers
  of submissions it could not grade, for the class report.

It never opens the gradebook and never starts a sandbox.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE_FOLDER", "CONFIG_FILE", "Course", "default_cache_dir", "load_config"]

#: The course's configuration file, in the course folder.
CONFIG_FILE = "nbgrader_config.py"
#: The cache folder's name in the course folder, unless ``c.SandboxedExecute.cache_dir`` says otherwise.
CACHE_FOLDER = ".grading-cache"


def default_cache_dir(folder) -> Path:
    """``<folder>/.grading-cache``: the cache folder when ``c.SandboxedExecute.cache_dir`` is not set."""
    return Path(folder) / CACHE_FOLDER


def _parse_overrides(overrides) -> list[tuple[str, str, object]]:
    parsed = []
    for item in overrides:
        if not (isinstance(item, str) and item.startswith("--") and "=" in item and "." in item.split("=", 1)[0]):
            raise ValueError(f"unrecognized argument {item!r}: expected --Class.trait=value")
        key, value = item[2:].split("=", 1)
        section, trait = key.rsplit(".", 1)
        try:
            parsed.append((section, trait, ast.literal_eval(value)))
        except (ValueError, SyntaxError):
            parsed.append((section, trait, value))
    return parsed


@dataclass(frozen=True)
class Course:
    """A course folder and its configuration, read once.

    Parameters
    ----------
    folder : Path
        The course folder (the one with ``nbgrader_config.py``, ``submitted/``, ``autograded/``).
    config : traitlets.config.Config
        Its ``nbgrader_config.py`` with the overrides merged, ``c.Sandbox.course_folder`` set.
    """

    folder: Path
    config: object

    @classmethod
    def load(cls, folder=".", overrides=(), require_config: bool = False) -> "Course":
        """Read ``folder/nbgrader_config.py`` and merge ``overrides`` (``--Class.trait=value`` strings).

        Parameters
        ----------
        folder : str or Path, default="."
            The course folder.
        overrides : sequence of str
            Command-line settings, each ``--Class.trait=value`` (the value read as a Python literal when it is one).
        require_config : bool, default=False
            Raise :class:`FileNotFoundError` when the folder has no ``nbgrader_config.py`` (else nbgrader's
            defaults apply).

        Raises
        ------
        ValueError
            An override is not of the form ``--Class.trait=value``.
        FileNotFoundError
            ``require_config`` and no ``nbgrader_config.py`` in ``folder``.
        """
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        folder = Path(folder)
        parsed = _parse_overrides(overrides)
        if (folder / CONFIG_FILE).is_file():
            config = PyFileConfigLoader(CONFIG_FILE, path=str(folder)).load_config()
        elif require_config:
            raise FileNotFoundError(f"no {CONFIG_FILE} in {folder}")
        else:
            config = Config()
        for section, trait, value in parsed:
            config.merge(Config({section: {trait: value}}))
        if not config.Sandbox.get("course_folder"):
            config.Sandbox.course_folder = str(folder)
        return cls(folder, config)

    @property
    def db_url(self) -> str:
        """The gradebook's URL: ``c.CourseDirectory.db_url``, else nbgrader's default, the course's gradebook.db."""
        return self.config.CourseDirectory.get("db_url") or f"sqlite:///{os.path.abspath(self.folder / 'gradebook.db')}"

    @property
    def cache_dir(self) -> Path:
        """``c.SandboxedExecute.cache_dir``, else ``<course>/.grading-cache``."""
        configured = self.config.SandboxedExecute.get("cache_dir")
        return Path(configured) if configured else default_cache_dir(self.folder)

    def graded_dir(self, assignment: str) -> Path:
        """Where autograde's workers leave each student's graded notebook of ``assignment``."""
        return self.cache_dir / "graded" / assignment

    def not_gradable_dir(self, assignment: str) -> Path:
        """Where autograde leaves a marker for each submission of ``assignment`` it could not grade."""
        return self.cache_dir / "not-gradable" / assignment


def load_config(course, overrides):
    """The course's ``nbgrader_config.py`` with ``--Class.trait=value`` overrides: ``Course.load(...).config``."""
    return Course.load(course, overrides).config
