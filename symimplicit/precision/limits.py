"""The bounds of the judge's work, checked before any work starts (one place, shared by the
Python API and the command line).

* ``dps``: a reference must beat float64's ~16 digits with room to spare (MIN_DPS), and
  its cost grows like dps^1.6 per operation with gmpy (MAX_DPS: verify of the seed's
  fixed point with both routes takes 0.014 s at 50 digits, 0.18 s at 1000 and 2.8 s at
  5000, measured with /tmp scripts on the 2-core machine; larger systems scale with n³);
* a study grid holds at most MAX_STUDY_POINTS points (each is an mpmath solve).
"""
from __future__ import annotations

import numbers

from symimplicit.errors import StatementError

__all__ = ["MIN_DPS", "MAX_DPS", "MAX_STUDY_POINTS", "check_dps", "check_points"]

MIN_DPS = 20
MAX_DPS = 5000
MAX_STUDY_POINTS = 100_000


def check_dps(dps, who: str) -> int:
    """``dps`` as an int in [MIN_DPS, MAX_DPS], or a StatementError naming the bound."""
    if isinstance(dps, bool) or not isinstance(dps, numbers.Integral):
        raise StatementError(f"{who}: dps must be an integer number of digits, got {dps!r}")
    if not MIN_DPS <= dps <= MAX_DPS:
        raise StatementError(f"{who}: dps={dps} is outside [{MIN_DPS}, {MAX_DPS}]: the reference "
                             f"needs more digits than float64's 16, and its cost grows like "
                             f"dps^1.6 (see symimplicit.precision.limits)")
    return int(dps)


def check_points(count: int, who: str) -> int:
    """A sweep's number of points, at most MAX_STUDY_POINTS."""
    if count > MAX_STUDY_POINTS:
        raise StatementError(f"{who}: {count} points exceed the limit of {MAX_STUDY_POINTS} "
                             "(each point is a high-precision solve): sweep a coarser grid")
    return count
