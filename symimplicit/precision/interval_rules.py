"""Interval rules of SymPy's functions: node type → enclosure of its values over boxes.

Each rule takes the SymPy node and its argument intervals and returns an interval
holding every value of the function there (``mpmath.iv`` rounds outward).  A box
leaving the function's domain raises :class:`~symimplicit.errors.DomainError`
naming the function and the interval; functions ``mpmath.iv`` lacks (tanh, atan,
asin, ...) are built from monotone pieces evaluated at the endpoints.
"""
from __future__ import annotations

from typing import Callable

import mpmath
import sympy as sp

from mpmath.libmp.libmpi import mpi_atan

from symimplicit.errors import DomainError
from symimplicit.precision.interval import hi, interval_text, iv, lo

__all__ = ["RULES", "CONSTANTS", "rational", "ULP_BITS"]


ULP_BITS = 3
"""Transcendental results are widened by 2³ = 8 units of 2⁻ᵖʳᵉᶜ, relative, at each end."""


def _widen(x):
    """x widened outward by a relative 2^(ULP_BITS − prec) at each end.

    mpmath 1.3's directed rounding of its elementary functions is occasionally off by
    a fraction of an ulp (exp: about 1 case in 4000, measured against 800-bit values;
    atan2 much more often), so every transcendental primitive is widened by a few
    ulps; +, −, ×, ÷ and √ are exactly rounded by libmpf and are not widened.
    """
    a, b, p = lo(x), hi(x), iv.prec
    a = mpmath.fsub(a, mpmath.ldexp(abs(a), ULP_BITS - p), prec=p, rounding="f")
    b = mpmath.fadd(b, mpmath.ldexp(abs(b), ULP_BITS - p), prec=p, rounding="c")
    return iv.mpf([a, b])


def _widened(f):
    return lambda x: _widen(f(x))


_exp_, _log_, _sin, _cos = _widened(iv.exp), _widened(iv.log), _widened(iv.sin), _widened(iv.cos)
_tan, _cot, _sec, _csc = _widened(iv.tan), _widened(iv.cot), _widened(iv.sec), _widened(iv.csc)

# --------------------------------------------------------------------------- #
# the rules: each takes the node and its argument intervals                     #
# --------------------------------------------------------------------------- #
def _refuse(name: str, x, why: str):
    raise DomainError(f"{name} of the interval {interval_text(x)}: {why}")


def _positive(name: str, x, strict: bool = True):
    if (lo(x) <= 0) if strict else (lo(x) < 0):
        _refuse(name, x, "it reaches 0 or below, outside the domain" if strict
                else "it has a negative part, outside the domain")


def _monotone(f: Callable, x, increasing: bool = True):
    """An increasing (or decreasing) f over x: hull of f at the endpoints, each an
    enclosure computed on a thin interval."""
    left, right = f(iv.mpf(lo(x))), f(iv.mpf(hi(x)))
    if not increasing:
        left, right = right, left
    return iv.mpf([lo(left), hi(right)])


def _inverse(x):
    if lo(x) <= 0 <= hi(x):
        _refuse("1/x", x, "a division by an interval containing 0")
    return 1 / x


def _integer_power(x, n: int):
    if n < 0:
        return _inverse(x) ** (-n)                           # x⁻ⁿ = (1/x)ⁿ: tight for even n
    return x ** n                                            # iv: x² ⊂ [0, ∞) even across 0


def rational(node):
    """An enclosure of a SymPy Rational p/q (exact when q is a power of 2)."""
    return iv.mpf(int(node.p)) / iv.mpf(int(node.q))


def _pow(node, base, expo):
    e = node.exp
    if e.is_Integer:
        return _integer_power(base, int(e))
    if e.is_Rational and e.q == 2:                         # x^(p/2) = (√x)^p
        _positive("sqrt", base, strict=False)
        root = iv.sqrt(base)
        return _integer_power(root, int(e.p))
    if e.is_number:                                          # x^r = exp(r log x), x ≥ 0 (> 0 if r < 0)
        _positive("a power with exponent " + str(e), base, strict=bool(e.is_negative))
        if hi(base) == 0:
            return iv.mpf(0)                                 # 0^r = 0 (r > 0 here)
        upper = _exp_(expo * _log_(iv.mpf(hi(base))))        # x^r monotone in x ≥ 0
        lower = _exp_(expo * _log_(iv.mpf(lo(base)))) if lo(base) > 0 else iv.mpf(0)
        return iv.mpf([min(lo(lower), lo(upper)), max(hi(lower), hi(upper))])
    _positive("a power with a variable exponent (x^y = exp(y log x))", base)
    return _exp_(expo * _log_(base))


def _log(node, x):
    _positive("log", x)
    return _log_(x)


def _tanh(t):                                               # tanh t = 1 - 2/(e^{2t} + 1)
    return 1 - 2 / (_exp_(2 * t) + 1)


def _sinh(t):
    return (_exp_(t) - _exp_(-t)) / 2


def _atan(x):
    """atan over x, directly from libmpi's mpi_atan (directed rounding of each end).
    Not ``iv.atan2``: mpmath 1.3's mpf_atan2 ignores the rounding direction, and its
    enclosures miss the true value by an ulp (found by tests/test_certify_interval.py)."""
    return _widen(iv.make_mpf(mpi_atan(x._mpi_, iv.prec)))


def _asin_point(t):
    """asin of a thin interval t ⊂ [−1, 1]: atan(t/√(1 − t²)) for |t| ≤ 1/2, and
    asin t = π/2 − 2 asin √((1 − t)/2) near ±1 (no cancellation in 1 − t²)."""
    if lo(t) >= -0.5 and hi(t) <= 0.5:
        return _atan(t / iv.sqrt(1 - t * t))
    if lo(t) > 0:
        u = iv.sqrt((1 - t) / 2)                            # u ≤ 1/2
        return _widen(iv.pi) / 2 - 2 * _asin_point(u)
    return -_asin_point(-t)


def _acos_point(t):                                         # acos t = π/2 − asin t
    return _widen(iv.pi) / 2 - _asin_point(t)


def _in_unit(name: str, x, strict: bool = False):
    if (lo(x) <= -1 or hi(x) >= 1) if strict else (lo(x) < -1 or hi(x) > 1):
        _refuse(name, x, "it leaves " + ("(-1, 1)" if strict else "[-1, 1]"))


def _asin(node, x):
    _in_unit("asin", x)
    return _monotone(_asin_point, x)


def _acos(node, x):
    _in_unit("acos", x)
    return _monotone(_acos_point, x, increasing=False)


def _atanh(node, x):
    _in_unit("atanh", x, strict=True)                        # atanh t = (log(1 + t) - log(1 - t))/2
    return _monotone(lambda t: (_log_(1 + t) - _log_(1 - t)) / 2, x)


def _acosh(node, x):
    if lo(x) < 1:
        _refuse("acosh", x, "it reaches below 1, outside the domain")
    return _monotone(lambda t: _log_(t + iv.sqrt(t * t - 1)), x)


def _asinh_point(t):                                        # asinh t = sign(t) log(|t| + √(t² + 1))
    s = _log_(abs(t) + iv.sqrt(t * t + 1))
    return -s if hi(t) < 0 else s


def _cosh(node, x):                                          # even, increasing in |x|
    return _monotone(lambda t: (_exp_(t) + _exp_(-t)) / 2, abs(x))


def _abs(node, x):
    return abs(x)


def _sign(node, x):
    if lo(x) > 0:
        return iv.mpf(1)
    if hi(x) < 0:
        return iv.mpf(-1)
    return iv.mpf([-1 if lo(x) < 0 else 0, 1 if hi(x) > 0 else 0])


def _heaviside(node, x, *rest):
    if lo(x) > 0:
        return iv.mpf(1)
    if hi(x) < 0:
        return iv.mpf(0)
    return iv.mpf([0, 1])                                    # H(0) is in [0, 1] by any convention


def _max(node, *xs):
    return iv.mpf([max(lo(x) for x in xs), max(hi(x) for x in xs)])


def _min(node, *xs):
    return iv.mpf([min(lo(x) for x in xs), min(hi(x) for x in xs)])


def _add(node, *xs):
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


def _mul(node, *xs):
    prod = xs[0]
    for x in xs[1:]:
        prod = prod * x
    return prod


def _plain(f):
    return lambda node, x: f(x)


RULES: dict = {
    sp.Add: _add,
    sp.Mul: _mul,
    sp.Pow: _pow,
    sp.exp: _plain(_exp_),
    sp.log: _log,
    sp.sin: _plain(_sin),
    sp.cos: _plain(_cos),
    sp.tan: _plain(_tan),                                  # across a pole: infinite → DomainError
    sp.cot: _plain(_cot),
    sp.sec: _plain(_sec),
    sp.csc: _plain(_csc),
    sp.tanh: lambda node, x: _monotone(_tanh, x),
    sp.sinh: lambda node, x: _monotone(_sinh, x),
    sp.cosh: _cosh,
    sp.atan: lambda node, x: _atan(x),
    sp.asin: _asin,
    sp.acos: _acos,
    sp.asinh: lambda node, x: _monotone(_asinh_point, x),
    sp.acosh: _acosh,
    sp.atanh: _atanh,
    sp.Abs: _abs,
    sp.sign: _sign,
    sp.Heaviside: _heaviside,
    sp.Max: _max,
    sp.Min: _min,
}
"""SymPy node type → rule(node, *argument intervals) returning the enclosure."""

CONSTANTS: dict = {
    sp.pi: lambda: _widen(+iv.pi),
    sp.E: lambda: _widen(+iv.e),
}
