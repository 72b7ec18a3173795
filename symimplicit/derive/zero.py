"""Is an expression identically zero?  Decided cheaply, never by expanding a large one.

Small expressions (no big powers of sums) are expanded; otherwise a value certainly not 0
at one of a few random rational points (SymPy's error-tracked ``evalf``) proves the
expression nonzero, and only one that is 0 at all of them is expanded.

Examples
========

>>> import sympy as sp
>>> from symimplicit.derive import is_identically_zero
>>> x, a = sp.symbols("x a")
>>> is_identically_zero((x + a)**2 - x**2 - 2*a*x - a**2)
True
>>> is_identically_zero((x + a)**1000000 - x)      # decided without expanding
False
"""
from __future__ import annotations

import random

import sympy as sp

__all__ = ["is_identically_zero", "sample_point"]

_EXPAND_OPS = 200          # expand only expressions this small (count_ops) ...
_EXPAND_POWER = 8          # ... whose integer powers of sums are this small
_SEED = 20240607           # deterministic: the same answer every run


def _sample_value(symbol: sp.Symbol, rng: random.Random) -> sp.Rational:
    """A random rational respecting the symbol's sign / integer assumptions."""
    if symbol.is_integer:
        value = sp.Integer(rng.randint(2, 9))
    else:
        value = sp.Rational(rng.randint(1, 97), rng.randint(1, 89)) + sp.Rational(1, 3)
    return -value if (symbol.is_negative or symbol.is_nonpositive) else value


def sample_point(symbols, rng: random.Random) -> dict:
    """{symbol: random rational} respecting each symbol's sign / integer assumptions."""
    return {s: _sample_value(s, rng) for s in sorted(symbols, key=lambda s: s.name)}


PROBE_DPS = (60, 80)
AGREE_DIGITS = 30


def _probe(expr: sp.Expr, point: dict, dps: int):
    """expr at point with every leaf a ``dps``-digit Float (SymPy evaluates as it rebuilds);
    None when it is not a finite real number."""
    with sp.evaluate(True):
        floats = {s: sp.Float(v, dps) for s, v in point.items()}
        value = expr.xreplace(floats)
        if not value.is_Number:                      # exact constants left: exp(6/7), pi
            value = value.evalf(dps)
    if not (value.is_Number and value.is_finite and value.is_real):
        return None
    return value


def _certainly_nonzero(expr: sp.Expr, point: dict) -> bool:
    """The same nonzero value to AGREE_DIGITS digits at 60 and at 80 digits of working
    precision: rounding noise of an identically zero expression cannot agree with itself
    across precisions (its size follows the precision), a true value does.  A cheap first
    test: SymPy's error-tracked evalf with subs= costs a second on a 100-term tanh."""
    try:
        low, high = (_probe(expr, point, dps) for dps in PROBE_DPS)
    except Exception:                         # domain errors, overflow: not decided here
        return False
    if low is None or high is None or high == 0:
        return False
    return abs(low - high) <= abs(high) * sp.Float(10, 90) ** -AGREE_DIGITS


def _nonzero_at(expr: sp.Expr, point: dict) -> bool:
    """True when ``expr`` at ``point`` (exact rationals) evaluates, with SymPy's
    error-tracked evalf, to a number certainly not 0; False when 0 or not told."""
    if _certainly_nonzero(expr, point):
        return True
    try:
        # evalf(subs=) evaluates the exact rationals at the leaves with tracked error,
        # never building (p/q)**10**6 exactly as substituting first would
        value = expr.evalf(20, subs=point, strict=True, maxn=400)
    except Exception:                         # PrecisionExhausted (a zero), domain errors
        return False
    return bool(value.is_number and not value.has(sp.nan, sp.zoo) and value != 0)


def _small_to_expand(expr: sp.Expr) -> bool:
    if sp.count_ops(expr) > _EXPAND_OPS:
        return False
    for power in expr.atoms(sp.Pow):
        if power.base.is_Add and (not power.exp.is_Integer or abs(power.exp) > _EXPAND_POWER):
            return False
    return True


def is_identically_zero(expr: sp.Expr, samples: int = 3) -> bool:
    """Whether ``expr`` vanishes for every value of its symbols, without ever expanding
    a large expression: ``(x + a)**10**6`` is decided in milliseconds.

    Parameters
    ==========

    expr : a SymPy expression (or a Python int)
    samples : how many random rational points may prove it nonzero before it is expanded

    See Also
    ========

    symimplicit.derive.Derivation.jacobian : the invertibility test uses this on det ∂F/∂z
    """
    if isinstance(expr, int):
        expr = sp.Integer(expr)                  # no sympify anywhere in the package
    if expr.is_Number:
        return expr.is_zero
    if _small_to_expand(expr):
        return sp.expand(expr) == 0
    rng = random.Random(_SEED)
    for _ in range(samples):
        if _nonzero_at(expr, sample_point(expr.free_symbols, rng)):
            return False
    return sp.expand(expr) == 0
