"""Inexact Float constants in a statement: one :class:`LowPrecisionFloatWarning` when it is made.

``Root(x - 0.1*a, x, (a,))`` states x = 0.1000000000000000055511...·a: Python's ``0.1`` is a
53-bit binary number (a SymPy ``Float`` of 15 digits), not 1/10, and the derivatives SymPy
forms from it carry Floats of the same 15 digits.  The statement is valid, so this is a
warning (not an error) naming the Floats and the exact rationals to write instead.  Floats
of more than 15 digits (``sp.Float("0.1", 30)``) were asked for on purpose: no warning;
nor for integer-valued Floats below 2⁵³ (exact).  ``parse`` reads decimals exactly and
never makes Floats.

A statement that the library makes from one the user already made (the reduced KKT
``Root`` of an active set, a lowered KKT system, a judge's restatement) does not warn
again: the warning is for the user's own construction, and points at the user's line.

Examples
========
>>> import sympy as sp
>>> from symimplicit.statements.floats import low_precision_floats, rational_text
>>> x, a = sp.symbols("x a")
>>> low_precision_floats([x - 0.1*a + 2.0, x - sp.Float("0.3", 30)])
[0.100000000000000]
>>> rational_text(sp.Float(0.1)), rational_text(sp.Float(-2.5e-7))
("sp.Rational('0.1')", "sp.Rational('2.5e-07')")
"""
from __future__ import annotations

import sys
import warnings

import mpmath
import sympy as sp
from mpmath.libmp import prec_to_dps

from symimplicit.errors import LowPrecisionFloatWarning

__all__ = ["FLOAT_DIGITS", "low_precision_floats", "rational_text", "warn_low_precision_floats"]

FLOAT_DIGITS = 15            # a Float of at most this many decimal digits (53 bits: float64) warns
_SHOWN = 6                   # Floats named in one message at most

# modules that restate a statement the user already made (and was warned about)
_RESTATING = ("symimplicit.active_set", "symimplicit.lower", "symimplicit.derive",
              "symimplicit.precision", "symimplicit.matrix")


def _digits(f: sp.Float) -> int:
    return prec_to_dps(f._prec)                  # decimal digits held by the binary mantissa


def _exact_integer(f: sp.Float) -> bool:
    """An integer-valued Float below 2⁵³ (exact in any precision; SymPy's == says
    Float(2.0) != 2, so compare the float)."""
    value = float(f)
    return value.is_integer() and abs(value) < 2 ** 53


def low_precision_floats(exprs) -> list[sp.Float]:
    """The distinct magnitudes |f| of the Floats of at most 15 digits in ``exprs`` (ascending);
    zero and integer-valued Floats below 2⁵³ (exact) are left out."""
    found: set[sp.Float] = set()
    for e in exprs:
        if isinstance(e, sp.Basic):
            found |= {abs(f) for f in e.atoms(sp.Float)
                      if _digits(f) <= FLOAT_DIGITS
                      and not (f.is_zero or _exact_integer(f))}
    return sorted(found, key=float)


def rational_text(f: sp.Float) -> str:
    """The exact rational to write for ``|f|``: ``sp.Rational('0.1')`` from its shortest
    decimal (the one Python prints for a 53-bit Float)."""
    f = abs(f)
    text = repr(float(f)) if f._prec == 53 else mpmath.nstr(mpmath.mpf(f._mpf_), _digits(f))
    return f"sp.Rational({text!r})"


def _user_stacklevel() -> int | None:
    """The ``stacklevel`` of the first frame outside symimplicit (None: a restatement)."""
    frame, level = sys._getframe(2), 2           # 1: warn_low_precision_floats's caller
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("symimplicit.statements"):
            if module.startswith(_RESTATING):
                return None
            if not module.startswith("symimplicit."):
                return level
        frame, level = frame.f_back, level + 1
    return level


def warn_low_precision_floats(statement) -> None:
    """One :class:`LowPrecisionFloatWarning` naming the low-precision Floats of ``statement``
    (its expressions, constraints and inequalities), if it has any."""
    floats = low_precision_floats(statement._all_exprs())
    if not floats:
        return
    level = _user_stacklevel()
    if level is None:
        return
    shown = floats[:_SHOWN]
    more = f" and {len(floats) - _SHOWN} more" if len(floats) > _SHOWN else ""
    where = repr(statement)
    where = where if len(where) <= 80 else where[:77] + "..."
    names = ", ".join(f"{f} (write {rational_text(f)})" for f in shown)
    warnings.warn(LowPrecisionFloatWarning(
        f"{where}: inexact Float constant(s) of at most {FLOAT_DIGITS} digits: {names}{more}; "
        "a Float such as 0.1 is the nearest binary number, not the decimal, and limits every "
        "reference to its digits: write exact rationals, or give the text to "
        "symimplicit.parse, which reads decimals exactly", floats), stacklevel=level)
