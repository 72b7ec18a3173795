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

import mpmath as mp
import sympy as sp

__all__ = ["is_identically_zero", "sample_point"]

_EXPAND_NODES = 300        # expand only expressions this small (tree nodes) ...
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


class _Undecided(Exception):
    """A node the mpmath walk does not evaluate: SymPy's own evaluation decides."""


_MPMATH_FUNCTIONS = {
    sp.sin: mp.sin, sp.cos: mp.cos, sp.tan: mp.tan, sp.exp: mp.exp, sp.log: mp.log,
    sp.sinh: mp.sinh, sp.cosh: mp.cosh, sp.tanh: mp.tanh, sp.asin: mp.asin, sp.acos: mp.acos,
    sp.atan: mp.atan, sp.asinh: mp.asinh, sp.acosh: mp.acosh, sp.atanh: mp.atanh,
    sp.erf: mp.erf, sp.erfc: mp.erfc, sp.Abs: mp.fabs, sp.gamma: mp.gamma,
}


def _mpmath_value(expr: sp.Expr, point: dict, dps: int):
    """expr at point by a direct walk in mpmath at ``dps`` digits (each shared subexpression
    once); None when it is not a finite real number; :class:`_Undecided` for a node outside
    the walk's table.  The same arithmetic as SymPy's Float evaluation in :func:`_probe`
    without rebuilding SymPy objects (which costs 40 ms on a 100-term tanh at 60 digits)."""
    memo: dict = {}

    def ev(e):
        if e.is_Atom:                             # (no memo: hashing a Float costs µs)
            if e.is_Float:
                return mp.mpf(e._mpf_)
            if e.is_Symbol:
                q = point[e]
                return mp.mpf(q.p) / q.q
            if e.is_Rational:
                return mp.mpf(e.p) / e.q
            if e is sp.pi:
                return +mp.pi
            if e is sp.E:
                return +mp.e
            raise _Undecided(e)
        v = memo.get(e)
        if v is not None:
            return v
        if e.is_Add:
            v = mp.fsum([ev(a) for a in e.args])
        elif e.is_Mul:
            v = mp.fprod([ev(a) for a in e.args])
        elif e.is_Pow:
            base = ev(e.base)
            v = base ** int(e.exp) if e.exp.is_Integer else mp.power(base, ev(e.exp))
        elif e.func in _MPMATH_FUNCTIONS and len(e.args) == 1:
            v = _MPMATH_FUNCTIONS[e.func](ev(e.args[0]))
        else:
            raise _Undecided(e.func)
        if not isinstance(v, mp.mpf):             # complex (log of a negative, ...): not here
            raise _Undecided(e.func)
        memo[e] = v
        return v

    with mp.workdps(dps):
        value = ev(expr)
    return value if mp.isfinite(value) else None


def _agree(low, high) -> bool:
    """Two evaluations of one value at 60 and 80 digits agree to AGREE_DIGITS digits."""
    return abs(low - high) <= abs(high) * mp.mpf(10) ** -AGREE_DIGITS


def _certainly_nonzero(expr: sp.Expr, point: dict) -> bool:
    """The same nonzero value to AGREE_DIGITS digits at 60 and at 80 digits of working
    precision: rounding noise of an identically zero expression cannot agree with itself
    across precisions (its size follows the precision), a true value does.  A cheap first
    test (an mpmath walk, else SymPy's Float evaluation): SymPy's error-tracked evalf with
    subs= costs a second on a 100-term tanh."""
    try:
        low, high = (_mpmath_value(expr, point, dps) for dps in PROBE_DPS)
    except (_Undecided, RecursionError, ZeroDivisionError, ValueError, OverflowError):
        pass                                  # decided by SymPy's evaluation below
    else:                                     # the walk is that evaluation's arithmetic:
        if low is None or high is None or high == 0:      # its verdict stands
            return False
        with mp.workdps(max(PROBE_DPS) + 10):
            return _agree(low, high)
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
    # a size heuristic only (a large expression is probed first, expanded last): its nodes,
    # counted with an early stop (count_ops takes 50 ms on a 100-term tanh)
    for k, _ in enumerate(sp.preorder_traversal(expr)):
        if k >= _EXPAND_NODES:
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
