"""The rule that scales a time limit from the reference solution's time (cells of the notebook, probe calls).

Used by :meth:`grading.run.executor.NotebookExecutor.cell_limit` and
:meth:`grading.run.probe.Probe` alike; the times come from
:func:`grading.batch.cell_times.reference_times`.
"""

from __future__ import annotations

__all__ = ["scaled_limit"]


def scaled_limit(times: dict, key, factor: float, floor: int, cap: int) -> tuple[int, float | None, bool]:
    """Seconds allowed for ``key``: ``floor + factor * times[key]``, at most ``cap``.

    Parameters
    ----------
    times : dict
        The reference's seconds, {cell grade id or probe call id: seconds}.
        Empty: no reference was timed.
    key : str or None
        What is limited; a key ``times`` has not got (a cell the student
        added) gets the allowance of the reference's slowest entry.
    factor : float
        How many times the reference's time; 0 or less turns scaling off.
    floor : int
        Seconds allowed whatever the reference took.
    cap : int
        The most seconds ever allowed (also the limit without scaling).

    Returns
    -------
    seconds : int
        The limit.
    base : float or None
        The reference's time the limit was made from (None: ``cap`` applies
        because nothing was timed or scaling is off).
    matched : bool
        Whether ``times`` had ``key`` itself.
    """
    if not times or factor <= 0:
        return cap, None, False
    matched = key in times
    base = float(times[key]) if matched else max(float(v) for v in times.values())
    return int(min(cap, floor + factor * base)), base, matched
