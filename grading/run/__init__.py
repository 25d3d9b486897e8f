"""Running student code: a notebook in a sandboxed kernel, and the probe that calls its functions again.

Owns the notebook executor (:mod:`grading.run.executor`), the probe (:mod:`grading.run.probe`, and
:mod:`grading.run.probe_runner`, the script that runs inside the probe's sandbox), the time-limit rule
(:mod:`grading.run.time_limits`) and the intake (:mod:`grading.run.intake`): everything that comes out of a
sandbox is parsed there, with its limits checked first.

It never decides a grade: it hands plain arrays and records to :mod:`grading.judge`.
"""

from grading.run.executor import NotebookExecutor, load_claims
from grading.run.intake import IntakeError
from grading.run.probe import Probe, ProbeCall, ProbeResult, standard_calls

__all__ = ["IntakeError", "NotebookExecutor", "Probe", "ProbeCall", "ProbeResult", "load_claims", "standard_calls"]
