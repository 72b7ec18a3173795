"""Validation of the options and arguments of the lowered objects, in one place.

Every check raises a typed error (:class:`~symimplicit.errors.StatementError`,
or :class:`~symimplicit.errors.ArgumentError` for a wrong number of arguments) naming the option or
parameter and the offending value, so no bare ``TypeError`` / ``ValueError``
from ``float()`` or NumPy escapes a public API.

``tol`` is the relative step at which a solver stops (default 4 ulps).  It must
lie in (0, :data:`MAX_TOL`]: a solve stopped at a relative step t has an error of
about t (linearly convergent iterations) to t² (Newton), and the implicit-function
gradient evaluated there is the gradient at that inexact point, not at a
solution: anything looser than about 1e-8 is for tolerance studies
(:func:`symimplicit.precision.study.tolerance_study`), not for training.
"""
from __future__ import annotations

import math

import numpy as np

from symimplicit.errors import StatementError

__all__ = ["MAX_TOL", "check_tol", "check_max_iter", "check_bracket",
           "check_method", "as_floats", "parameter_value"]

MAX_TOL = 0.1      # a relative step above 10 %: not a solve


def check_tol(tol, who: str):
    """``tol`` as a float in (0, MAX_TOL], or None (the solver's default)."""
    if tol is None:
        return None
    if isinstance(tol, bool):
        raise StatementError(f"{who}: tol must be a number, got {tol!r}")
    try:
        value = float(tol)
    except (TypeError, ValueError):
        raise StatementError(f"{who}: tol must be a number, got {tol!r}") from None
    if not 0.0 < value <= MAX_TOL:                                   # also rejects NaN
        raise StatementError(f"{who}: tol must satisfy 0 < tol <= {MAX_TOL} (a relative step; "
                             f"the default is 4 ulps), got {tol!r}")
    return value


def check_max_iter(max_iter, who: str):
    """``max_iter`` as a positive int, or None (the solver's default)."""
    if max_iter is None:
        return None
    if isinstance(max_iter, (bool, np.bool_)):                       # True is not "1 iteration"
        raise StatementError(f"{who}: max_iter must be a positive integer, got {max_iter!r}")
    try:
        value = int(max_iter)
        ok = value == max_iter and value >= 1
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise StatementError(f"{who}: max_iter must be a positive integer, got {max_iter!r}")
    return value


def check_bracket(bracket, vector: bool, who: str):
    """``bracket`` as finite floats (lo, hi) with lo < hi, or None.  The one bracket check."""
    if bracket is None:
        return None
    if vector:
        raise StatementError(f"{who}: a bracket applies to a scalar unknown only")
    try:
        lo, hi = (float(v) for v in bracket)
    except (TypeError, ValueError):
        raise StatementError(f"{who}: bracket must be two numbers (lo, hi), got {bracket!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise StatementError(f"{who}: bracket must be finite (lo, hi) with lo < hi, got {bracket!r}")
    return lo, hi


def check_method(method, methods, who: str) -> str:
    """``method`` as one of ``methods`` (a StatementError listing them otherwise)."""
    if not isinstance(method, str) or method not in methods:
        raise StatementError(f"{who}: unknown method {method!r}; expected one of "
                             f"{sorted(methods)}")
    return method


def as_floats(values, what: str, who: str) -> list:
    """A number or a sequence of numbers as a list of floats (StatementError otherwise)."""
    try:
        return [float(v) for v in np.atleast_1d(np.asarray(values, dtype=float)).ravel()]
    except (TypeError, ValueError):
        raise StatementError(f"{who}: {what} must be a number or a sequence of numbers, "
                             f"got {values!r}") from None


def parameter_value(name, value, who: str) -> float:
    """One parameter of a scalar (tape) call as a float: arrays and text are refused by name."""
    value = getattr(value, "value", value)                           # a Scalar passed by mistake
    if isinstance(value, np.ndarray) and value.size != 1 or isinstance(value, (list, tuple)):
        raise StatementError(f"{who}: the parameter {name} is an array ({value!r}); a layer takes "
                             "one number per parameter: use statement.lower() for arrays")
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, complex):
        raise StatementError(f"{who}: the parameter {name} must be a real number, got {value!r}")
    if isinstance(value, bool):
        raise StatementError(f"{who}: the parameter {name} must be a real number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        from symimplicit.errors import NonFiniteError
        raise NonFiniteError(f"{who}: the parameter {name} = {_short(value)} does not fit "
                             "float64 (|value| > 1.8e308)") from None
    except (TypeError, ValueError):
        raise StatementError(f"{who}: the parameter {name} must be a real number, "
                             f"got {value!r}") from None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"
