"""Interval evaluation of SymPy expressions with ``mpmath.iv``.

:class:`IntervalProgram` compiles SymPy expressions once into a straight-line
program (common subexpressions evaluated once) by walking the expression tree
against an explicit node-type → interval-function table (:data:`RULES`); no code
is generated from text.  Evaluating it on intervals gives an *enclosure*: every
value the expressions take for arguments in the input intervals lies in the
output intervals (outward rounding by ``mpmath.iv``).

A box that leaves a function's domain (log of an interval reaching 0, a
division by an interval containing 0, sqrt of a negative part, tan across a
pole) raises :class:`~symimplicit.errors.DomainError` naming the function and the
interval; a function without an interval rule raises DomainError naming it
too, so nothing is ever enclosed wrongly.

Helpers: :func:`ivprec` (the working precision of ``mpmath.iv``, which has no
``workdps``), :func:`lo`, :func:`hi`, :func:`mid`, :func:`rad`, :func:`mag`,
:func:`mig`, :func:`hull`, :func:`intersect`, :func:`interior`.

Examples
========
>>> import sympy as sp
>>> from symimplicit.precision.interval import IntervalProgram, ivprec, iv
>>> x = sp.Symbol("x")
>>> prog = IntervalProgram([sp.cos(x) - x], [x])
>>> with ivprec(30):
...     (y,) = prog([iv.mpf(["0.7390851332151606", "0.7390851332151607"])])
>>> bool(y.a <= 0 <= y.b)
True
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Sequence

import mpmath
import sympy as sp

from symimplicit.errors import DomainError

__all__ = ["IntervalProgram", "UnsupportedFunctionError", "RULES", "iv", "ivprec", "point", "lo", "hi", "mid", "rad", "mag",
           "mig", "hull", "intersect", "interior", "is_finite", "interval_text"]

iv = mpmath.iv
mp = mpmath.mp


class UnsupportedFunctionError(DomainError):
    """A function with no interval rule in :data:`RULES` (its enclosure cannot be proved)."""


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


def _rational(node):
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
        return base ** expo
    _positive("a power with a variable exponent (x^y = exp(y log x))", base)
    return iv.exp(expo * iv.log(base))


def _log(node, x):
    _positive("log", x)
    return iv.log(x)


def _tanh(t):                                               # tanh t = 1 - 2/(e^{2t} + 1)
    return 1 - 2 / (iv.exp(2 * t) + 1)


def _sinh(t):
    return (iv.exp(t) - iv.exp(-t)) / 2


def _atan(t):
    return iv.atan2(t, iv.mpf(1))


def _asin_point(t):
    return iv.atan2(t, iv.sqrt(1 - t * t))                   # asin t = atan2(t, √(1 - t²))


def _acos_point(t):
    return iv.atan2(iv.sqrt(1 - t * t), t)


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
    return _monotone(lambda t: (iv.log(1 + t) - iv.log(1 - t)) / 2, x)


def _acosh(node, x):
    if lo(x) < 1:
        _refuse("acosh", x, "it reaches below 1, outside the domain")
    return _monotone(lambda t: iv.log(t + iv.sqrt(t * t - 1)), x)


def _asinh_point(t):                                        # asinh t = sign(t) log(|t| + √(t² + 1))
    s = iv.log(abs(t) + iv.sqrt(t * t + 1))
    return -s if hi(t) < 0 else s


def _cosh(node, x):                                          # even, increasing in |x|
    return _monotone(lambda t: (iv.exp(t) + iv.exp(-t)) / 2, abs(x))


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
    sp.exp: _plain(iv.exp),
    sp.log: _log,
    sp.sin: _plain(iv.sin),
    sp.cos: _plain(iv.cos),
    sp.tan: _plain(iv.tan),                                  # across a pole: infinite → DomainError
    sp.cot: _plain(iv.cot),
    sp.sec: _plain(iv.sec),
    sp.csc: _plain(iv.csc),
    sp.tanh: lambda node, x: _monotone(_tanh, x),
    sp.sinh: lambda node, x: _monotone(_sinh, x),
    sp.cosh: _cosh,
    sp.atan: lambda node, x: _monotone(_atan, x),
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

_CONSTANTS: dict = {
    sp.pi: lambda: +iv.pi,
    sp.E: lambda: +iv.e,
}


# --------------------------------------------------------------------------- #
# the program                                                                   #
# --------------------------------------------------------------------------- #
class IntervalProgram:
    """Expressions compiled for interval evaluation over ``variables``.

    Parameters
    ==========
    exprs : sequence of SymPy expressions (a Matrix is taken entry by entry)
    variables : the Symbols, in the order the interval arguments are passed
    where : what the expressions are, for error messages (``"∂F/∂z"``)

    Calling the program with one interval (``mpmath.iv.mpf``) per variable
    returns the list of enclosures, one per expression.  Raises DomainError
    (naming the function and its argument interval) when the box leaves a
    domain or a value is not finite, and when a function has no interval rule.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.precision.interval import IntervalProgram, iv
    >>> x = sp.Symbol("x")
    >>> IntervalProgram([x**2 - 2*x], [x])([iv.mpf([0, 1])])
    [mpi('-2.0', '1.0')]

    See Also
    ========
    symimplicit.precision.krawczyk : the enclosures built on it.
    """

    def __init__(self, exprs: Sequence, variables: Sequence, where: str = "the expression"):
        self.variables = tuple(variables)
        self.where = where
        self._slot: dict = {v: i for i, v in enumerate(self.variables)}
        self._code: list = []                                # (rule, node, argument slots)
        self._constants: list = []                           # (slot, node) made per precision
        self._n = len(self.variables)
        self.outputs = [self._compile(sp.sympify(e)) for e in exprs]

    def _new_slot(self, node) -> int:
        self._slot[node] = self._n
        self._n += 1
        return self._n - 1

    def _compile(self, expr) -> int:
        self._check_supported(expr)
        for node in sp.postorder_traversal(expr):            # children before parents
            if node in self._slot:
                continue
            if isinstance(node, sp.Symbol):
                raise DomainError(f"{self.where}: the symbol {node} is not one of the "
                                  f"variables {list(map(str, self.variables))}")
            if node.is_Number or node in _CONSTANTS:
                if node.is_Number and not node.is_finite:
                    raise DomainError(f"{self.where} contains the non-finite number {node}")
                self._constants.append((self._new_slot(node), node))
                continue
            rule = RULES[node.func]                          # present: _check_supported
            args = tuple(self._slot[a] for a in node.args)
            self._code.append((rule, node, args, self._new_slot(node)))
        return self._slot[expr]

    def _check_supported(self, expr) -> None:
        """UnsupportedFunctionError naming the outermost function without a rule."""
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.Symbol) or node.is_Number or node in _CONSTANTS:
                continue
            if node.func not in RULES:
                raise UnsupportedFunctionError(
                    f"{self.where}: no interval rule for the function {node.func.__name__} "
                    f"(in {_clip(node)}); certify supports "
                    f"{', '.join(sorted(f.__name__ for f in RULES))}")

    @staticmethod
    def _constant(node):
        if node in _CONSTANTS:
            return _CONSTANTS[node]()
        if node.is_Integer:
            return iv.mpf(int(node))
        if node.is_Rational:
            return _rational(node)
        if node.is_Float:                                    # its exact binary value
            sign, man, exp, _ = node._mpf_
            return iv.ldexp(iv.mpf(-man if sign else man), exp)
        raise DomainError(f"no interval for the number {node}")

    def __call__(self, values: Sequence) -> list:
        if len(values) != len(self.variables):
            raise DomainError(f"{self.where}: {len(values)} intervals for "
                              f"{len(self.variables)} variables")
        regs = list(values) + [None] * (self._n - len(values))
        for slot, node in self._constants:
            regs[slot] = self._constant(node)
        for rule, node, args, out in self._code:
            try:
                value = rule(node, *(regs[a] for a in args))
            except DomainError as exc:
                raise DomainError(f"{self.where}: {exc} (in {_clip(node)})") from None
            except (ZeroDivisionError, ValueError, ArithmeticError) as exc:
                raise DomainError(f"{self.where}: {node.func.__name__} failed on the box "
                                  f"({type(exc).__name__}: {exc}) in {_clip(node)}") from None
            if not is_finite(value):
                raise DomainError(f"{self.where}: {node.func.__name__} is not finite on the "
                                  f"box ({interval_text(value)}) in {_clip(node)}")
            regs[out] = value
        return [regs[o] for o in self.outputs]


def _clip(node, limit: int = 80) -> str:
    text = str(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."
