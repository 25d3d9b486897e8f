"""The time-left estimate of ``python -m grading autograde``'s progress line.

The old estimate, elapsed time / submissions done x submissions left, ignored
that several submissions run at once and that the running ones are partly
done: with two workers it said 23 s where about 115 s were left.
:func:`estimate_seconds_left` schedules what is left as the workers would
run it: each running submission needs the mean time of the finished ones
minus what it has run already (at least a twentieth of the mean: it is
not done), and each submission not started yet takes the mean time on the
first worker that is free.  The estimate is when the last one ends.
"""

from __future__ import annotations

import heapq
import math

__all__ = ["estimate_seconds_left", "format_seconds"]


def estimate_seconds_left(finished, running, pending: int, workers: int) -> float | None:
    """Seconds until every submission is graded, from the times of the finished ones.

    Parameters
    ----------
    finished : sequence of float
        Seconds each finished submission took (submissions the grader did not grade,
        which take a fraction of a second, should be left out).
    running : sequence of float
        Seconds each submission being graded now has run so far.
    pending : int
        Submissions not started yet.
    workers : int
        Submissions graded at once (at least 1).

    Returns
    -------
    float or None
        The estimate, 0.0 when nothing is left, ``None`` while no submission
        has finished (nothing to estimate from).

    Raises
    ------
    ValueError
        ``workers`` below 1, ``pending`` negative, or a negative or non-finite time.

    Examples
    --------
    Two workers, one submission of 115 s finished, one running for 115 s, three waiting:

    >>> estimate_seconds_left([115.0], [115.0], 3, 2)
    230.0
    """
    if workers < 1:
        raise ValueError(f"The 'workers' argument must be at least 1; got {workers}.")
    if pending < 0:
        raise ValueError(f"The 'pending' argument must be at least 0; got {pending}.")
    for name, values in (("finished", finished), ("running", running)):
        bad = [v for v in values if not (math.isfinite(v) and v >= 0)]
        if bad:
            raise ValueError(f"The {name!r} argument must hold finite seconds >= 0; got {bad[0]!r}.")
    if not running and not pending:
        return 0.0
    if not finished:
        return None
    mean = sum(finished) / len(finished)
    # When each worker is free next: the running submissions' remaining time, idle workers now.
    free_at = [max(mean - elapsed, mean / 20) for elapsed in running]
    free_at += [0.0] * max(0, workers - len(free_at))
    heapq.heapify(free_at)
    end = max(free_at) if running else 0.0
    for _ in range(pending):
        start = heapq.heappop(free_at)
        heapq.heappush(free_at, start + mean)
        end = max(end, start + mean)
    return end


def format_seconds(seconds: float | None) -> str:
    """``"?"`` for ``None``, else ``"95 s"``, ``"4 min 10 s"`` or ``"1 h 02 min"``."""
    if seconds is None:
        return "?"
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
