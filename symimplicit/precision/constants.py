"""Inexact constants: SymPy Floats in a statement limit every reference to their digits.

A statement written with ``0.3`` in Python (a SymPy ``Float`` of 53 bits) is a different
problem from one with ``Rational(3, 10)``, and the derivatives SymPy forms from it
(``1.7 * cos(x)**0.7``) carry Floats computed at the same 15 digits.  The mpmath
reference then agrees with itself to ~15 digits only: that is a limit of the
statement, not a fault of the derivation.  :func:`float_constants` finds them,
:func:`constant_digits` says how many digits they hold, and :func:`warn_low_precision`
emits a :class:`LowPrecisionConstantWarning` that names them and suggests ``Rational``.

Examples
========

>>> import sympy as sp
>>> from symimplicit import Root
>>> from symimplicit.precision.constants import float_constants, constant_digits
>>> x, a = sp.symbols("x a")
>>> st = Root(x**2 - sp.Float(0.3)*a, x, (a,))
>>> float_constants(st)
[0.300000000000000]
>>> constant_digits(st)
15
"""
from __future__ import annotations

import math
import warnings

import sympy as sp

__all__ = ["float_constants", "constant_digits", "warn_low_precision",
           "LowPrecisionConstantWarning"]


class LowPrecisionConstantWarning(UserWarning):
    """A statement holds inexact (Float) constants: references are limited to their digits."""


def _expressions(statement) -> list:
    exprs = [statement.residual]
    for name in ("expression", "constraints"):
        value = getattr(statement, name, None)
        if isinstance(value, (sp.Basic, sp.MatrixBase)):
            exprs.append(value)
        elif isinstance(value, (list, tuple)):
            exprs += [v for v in value if isinstance(v, (sp.Basic, sp.MatrixBase))]
    return exprs


def float_constants(statement) -> list:
    """The distinct magnitudes of the Float constants of ``statement`` (ascending; [] when
    none); integers are exact and left out."""
    found: set = set()
    for expr in _expressions(statement):
        items = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
        for item in items:
            found |= {abs(f) for f in item.atoms(sp.Float)
                      if not (f.is_zero or f == int(f) and abs(f) < 2 ** 53)}
    return sorted(found, key=float)


def constant_digits(statement) -> int | None:
    """The decimal digits held by the least precise Float constant (None: none)."""
    floats = float_constants(statement)
    if not floats:
        return None
    return min(int(math.floor(f._prec * math.log10(2))) for f in floats)


def warn_low_precision(statement, who: str, stacklevel: int = 3) -> int | None:
    """Warn (once per call) when ``statement`` holds Floats; return their digits (or None)."""
    digits = constant_digits(statement)
    if digits is not None:
        names = ", ".join(str(f) for f in float_constants(statement)[:6])
        warnings.warn(f"{who}: the statement holds inexact Float constants ({names}) with "
                      f"~{digits} digits: they limit the reference to ~{digits} digits; write "
                      "them as exact rationals (sympy.Rational('0.3'), or parse('0.3 ...'), "
                      "which reads decimals exactly)", LowPrecisionConstantWarning,
                      stacklevel=stacklevel)
    return digits
