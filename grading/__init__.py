"""Grading the generative-mnist assignment with nbgrader: a sandbox, a judge outside it, class-wide commands.

The packages, from the ground up (each imports only those above it in this list):

- :mod:`grading.config`, :mod:`grading.failures`, :mod:`grading.untrusted_text`: the course's configuration
  (one :class:`grading.config.Course`), the grader's own failures, and text a student controls;
- :mod:`grading.sandbox`: the walls around one student process (layers, limits, the Python it may see);
- :mod:`grading.run`: running a notebook and probing its functions inside a sandbox, and reading what comes out;
- :mod:`grading.judge`: the checks, the references they compare with, and grading one notebook;
- :mod:`grading.batch`: a whole class (``autograde``) and the preflight (``doctor``);
- :mod:`grading.plugins`: the nbgrader plugins that ``nbgrader_config.py`` names;
- :mod:`grading.report`: after grading: the class report, the LMS export, similarity, hand-entered scores;
- :mod:`grading.cli`: ``python -m grading COMMAND``.

The modules left at this package's top level whose names match an old module (``grading.late``,
``grading.nbgrader_plugins``, ...) only re-export a plugin class for existing course configurations.
"""

__all__ = ["batch", "cli", "config", "failures", "judge", "plugins", "report", "run", "sandbox", "untrusted_text"]
