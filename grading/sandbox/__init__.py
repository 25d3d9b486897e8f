"""The sandbox: the walls around one student process.

Owns the layers (bubblewrap, else Landlock + seccomp: :mod:`grading.sandbox.layers`,
:mod:`grading.sandbox.confine`), the per-sandbox limits (:mod:`grading.sandbox.cgroups`) and what a
sandboxed copy of the grader's Python needs to see (:mod:`grading.sandbox.pythonenv`).

It never reads a notebook, never judges and never touches the gradebook: it starts processes that can
reach nothing they should not, and stops them.
"""

from grading.sandbox.layers import LAYERS, STUDENT_ROOT, Sandbox, SandboxProcess, SandboxUnavailable

__all__ = ["LAYERS", "STUDENT_ROOT", "Sandbox", "SandboxProcess", "SandboxUnavailable"]
