"""One float64 value against its mpmath reference: the error, its scale, its tolerance.

A value v with reference r and rounding bound ē (units of u = 2⁻⁵³, from
:func:`~symimplicit.precision.reference.error_bounds`) is judged

* **relatively** when |r| > u·ē:  error = |v - r| / |r|,  tol = TOL_FACTOR·u·ē / |r|;
* **absolutely** when |r| ≤ u·ē (an exact zero, or a value below the rounding floor
  float64 can reach):  error = |v - r| / ē,  tol = TOL_FACTOR·u;

so in both cases the value passes when |v - r| ≤ TOL_FACTOR·u·ē: the allowed absolute
error is continuous across the switch, and a zero component's rounding residue is
measured against the scale of the quantities it is computed from, not against itself.
ulps are counted in the last place of the same scale (never of a zero).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath

__all__ = ["Judged", "judge", "TOL_FACTOR", "EPS"]

EPS = 2.0 ** -53
"""Unit roundoff u of float64."""

TOL_FACTOR = 64
"""A value passes when |v - r| ≤ TOL_FACTOR·u·ē (ē: its first-order rounding bound)."""


@dataclass(frozen=True)
class Judged:
    rel_error: float
    tol: float
    ulps: float
    absolute: bool


SUBNORMAL_BOUND = 2.0 ** -1022
"""The least ē of any float64 result: u·ē = 2⁻¹⁰⁷⁵, half the spacing of subnormal numbers
(below 2⁻¹⁰²² rounding is absolute: 1.25e-311 holds only 12 significant digits)."""


def judge(value: float, reference, bound: float, work_dps: int) -> Judged:
    """The error of float64 ``value`` against ``reference`` (mpf) with rounding bound ``bound``."""
    value = float(value)
    bound = max(float(bound), SUBNORMAL_BOUND) if math.isfinite(float(bound)) else math.inf
    with mpmath.workdps(work_dps):
        r = mpmath.mpf(reference)
        diff = abs(mpmath.mpf(value) - r) if math.isfinite(value) else mpmath.inf
        size = float(abs(r))
        absolute = size <= EPS * bound or size == 0.0
        scale = bound if absolute else size                   # |r|, or ē for a zero
        if not math.isfinite(value):
            return Judged(math.inf, 0.0, math.inf, absolute)
        if scale == 0.0:                                      # r = 0 exactly and ē = 0
            err = 0.0 if diff == 0 else math.inf
            return Judged(err, TOL_FACTOR * EPS, 0.0 if diff == 0 else math.inf, True)
        err = float(diff / scale)
    tol = TOL_FACTOR * EPS if absolute else TOL_FACTOR * EPS * bound / size
    ulps = float(diff) / math.ulp(scale) if math.isfinite(scale) else 0.0
    return Judged(err, tol, ulps, absolute)
