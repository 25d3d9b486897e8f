"""Kept for existing course configurations: ``grading.nbgrader_plugins`` is now :mod:`grading.plugins.execute`.

An ``nbgrader_config.py`` written before the move imports from here; new ones import from :mod:`grading.plugins.execute`.
"""

from grading.plugins.execute import HideHiddenTests, SandboxedExecute

__all__ = ["HideHiddenTests", "SandboxedExecute"]
