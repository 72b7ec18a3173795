"""Intervals of ``mpmath.iv``: the working precision and the endpoint helpers.

:func:`ivprec` (``mpmath.iv`` has no ``workdps``), :func:`point`, :func:`lo`,
:func:`hi`, :func:`mid`, :func:`rad`, :func:`mag` (max |t|), :func:`mig` (min |t|),
:func:`hull`, :func:`intersect`, :func:`interior`, :func:`is_finite`.
The interval rules of SymPy's functions are in :mod:`.interval_rules`, the
compiled programs in :mod:`.interval_program`.

Examples
========
>>> from symimplicit.precision.interval import iv, ivprec, lo, hi, mig
>>> with ivprec(30):
...     x = iv.mpf(["-0.5", "2"])
...     product, square = x * x, x ** 2
>>> float(lo(product)), float(lo(square)), float(hi(square)), float(mig(x))
(-1.0, 0.0, 4.0, 0.0)

``x * x`` treats its factors as independent (an enclosure, not the tightest);
``x ** 2`` knows they are one.
"""
from __future__ import annotations

from contextlib import contextmanager

import mpmath

__all__ = ["iv", "ivprec", "point", "lo", "hi", "mid", "rad", "mag", "mig", "hull",
           "intersect", "interior", "is_finite", "interval_text"]

iv = mpmath.iv
mp = mpmath.mp


# --------------------------------------------------------------------------- #
# precision and endpoints                                                       #
# --------------------------------------------------------------------------- #
@contextmanager
def ivprec(dps: int):
    """Run ``mpmath.iv`` and ``mpmath.mp`` at ``dps`` digits inside the block."""
    old_iv, old_mp = iv.prec, mp.prec
    try:
        iv.dps = dps
        mp.dps = dps
        yield
    finally:
        iv.prec, mp.prec = old_iv, old_mp


def point(value) -> "iv.mpf":
    """The thin interval of a float or mpf (exact: its endpoints are the value)."""
    return iv.mpf(value)


def lo(x) -> mpmath.mpf:
    """The lower endpoint (an mpf, exact)."""
    return mp.make_mpf(x._mpi_[0])


def hi(x) -> mpmath.mpf:
    """The upper endpoint (an mpf, exact)."""
    return mp.make_mpf(x._mpi_[1])


def mid(x) -> mpmath.mpf:
    """A point of x near its centre (rounded at the working precision)."""
    return (lo(x) + hi(x)) / 2


def rad(x) -> mpmath.mpf:
    """An upper bound of the radius, (hi - lo)/2 rounded up."""
    return hi(iv.mpf(hi(x)) - lo(x)) / 2


def mag(x) -> mpmath.mpf:
    """max |t| over x."""
    return max(abs(lo(x)), abs(hi(x)))


def mig(x) -> mpmath.mpf:
    """min |t| over x (0 when x contains 0)."""
    a, b = lo(x), hi(x)
    return mp.zero if a <= 0 <= b else min(abs(a), abs(b))


def hull(x, y) -> "iv.mpf":
    return iv.mpf([min(lo(x), lo(y)), max(hi(x), hi(y))])


def intersect(x, y):
    """x ∩ y, or None when they are disjoint."""
    a, b = max(lo(x), lo(y)), min(hi(x), hi(y))
    return iv.mpf([a, b]) if a <= b else None


def interior(inner, outer) -> bool:
    """inner ⊂ interior(outer)."""
    return lo(outer) < lo(inner) and hi(inner) < hi(outer)


def is_finite(x) -> bool:
    return bool(mpmath.isfinite(lo(x)) and mpmath.isfinite(hi(x)))


def interval_text(x, digits: int = 8) -> str:
    return f"[{mpmath.nstr(lo(x), digits)}, {mpmath.nstr(hi(x), digits)}]"
