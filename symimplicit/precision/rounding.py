"""How much rounding can a float64 evaluation of an expression carry? (running error bounds)

:func:`rounding_scale` evaluates a SymPy expression e at a point in mpmath and, alongside,
a first-order bound ē on the absolute error of evaluating it in float64, in units of
the unit roundoff u = 2⁻⁵³: |fl(e) - e| ≲ u·ē.  The bound follows the expression tree,
the way the float64 code computes it (one rounding per operation):

* a parameter is exact (the reference is computed at the float64 values): ē = 0;
* an unknown is the float64 solution: ē = |z| when correctly rounded, or the bound
  given for it (the solve's own error, |A⁻¹| F̄ + |z|, see ``error_bounds``);
* a number: ē = 0 for an integer, |c| otherwise (it was rounded once);
* a + b + …:   ē = Σ ēᵢ + |value|                (cancellation keeps Σ ēᵢ, loses |value|)
* a · b · …:   ē = Σ ēᵢ |value / aᵢ| + |value|    (no own rounding for -a)
* bⁿ:          ē = |n bⁿ⁻¹| ē_b + |ln b · bⁿ| ē_n + |value|
* f(g, …):     ē = Σ |∂f/∂gᵢ| ē_gᵢ + |value|     (∂f/∂gᵢ from SymPy's ``fdiff``)

So cancellation *inside* an entry counts wherever it happens (not only among the
top-level terms), and the rounding of the unknowns propagates through the formula
(Kepler's cos E at E ≈ 10⁸ carries 10⁸ u).  Equivalent forms of the same quantity get
bounds of the same order, because the cancellation each form performs is the same
numbers' cancellation.

Examples
========

>>> import sympy as sp, mpmath
>>> from symimplicit.precision.rounding import rounding_scale
>>> x, a = sp.symbols("x a")
>>> value, bound = rounding_scale(x - a, {x: mpmath.mpf(1), a: mpmath.mpf("0.999")}, {x})
>>> float(bound)          # |x| + |x - a|: the cancellation keeps the rounding of x
1.001
"""
from __future__ import annotations

from typing import Iterable, Mapping

import mpmath
import sympy as sp

__all__ = ["rounding_scale", "rounding_scales"]


class _Evaluator:
    """(value, ē) of every node of an expression, memoised, at the current mpmath precision."""

    def __init__(self, values: Mapping, unknowns, values_only: bool = False):
        self.values = {s: mpmath.mpf(v) for s, v in values.items()}
        self.values_only = values_only                   # ē all 0: for ∂f/∂g's values
        self._slopes = None
        # unknown -> its own bound ē (default |z|: correctly rounded)
        self.unknowns = (dict(unknowns) if isinstance(unknowns, Mapping)
                         else {s: abs(self.values[s]) for s in unknowns})
        self.memo: dict = {}

    def __call__(self, node) -> tuple:
        hit = self.memo.get(node)
        if hit is None:
            hit = self.memo[node] = self._node(node)
        return hit

    def slopes(self, expr) -> tuple:
        """(value, 0) of ``expr``: the evaluator of derivatives ∂f/∂g (no bounds, no recursion
        into their own derivatives)."""
        if self._slopes is None:
            self._slopes = _Evaluator(self.values, {}, values_only=True)
        return self._slopes(expr)

    def _node(self, node) -> tuple:
        if node.is_Symbol:
            v = self.values[node]
            return v, mpmath.mpf(0 if self.values_only else self.unknowns.get(node, 0))
        if node.is_Number or node.is_NumberSymbol:
            v = mpmath.mpf(sp.Float(node, mpmath.mp.dps + 5))
            return v, (mpmath.mpf(0) if node.is_Integer or self.values_only else abs(v))
        if node.is_Add:
            parts = [self(arg) for arg in node.args]
            v = mpmath.fsum(p[0] for p in parts)
            if self.values_only:
                return v, mpmath.mpf(0)
            return v, mpmath.fsum(p[1] for p in parts) + abs(v)     # ē = Σ ēᵢ + |Σ aᵢ|
        if node.is_Mul:
            parts = [self(arg) for arg in node.args]
            v = mpmath.fprod(p[0] for p in parts)
            exact = self.values_only or \
                sum(1 for arg in node.args if arg not in (sp.S.One, sp.S.NegativeOne)) <= 1
            err = mpmath.mpf(0) if exact else abs(v)                # -a is exact
            for i, (_, ei) in enumerate(parts):
                if ei:                                              # ēᵢ · Π_{j≠i} |aⱼ|
                    err += ei * mpmath.fprod(abs(p[0]) for j, p in enumerate(parts) if j != i)
            return v, err
        if node.is_Pow:
            (b, eb), (n, en) = self(node.base), self(node.exp)
            v = self._real(mpmath.power(b, n))
            err = mpmath.mpf(0) if self.values_only else abs(v)
            if eb:
                err += abs(n * mpmath.power(b, n - 1)) * eb          # |n bⁿ⁻¹| ē_b
            if en:
                err += abs(mpmath.log(abs(b)) * v) * en              # |ln b · bⁿ| ē_n
            return v, err
        return self._function(node)

    @staticmethod
    def _real(v):
        return v.real if isinstance(v, mpmath.mpc) else v

    def _function(self, node) -> tuple:
        """f(g₁, …): the value from SymPy's own numeric evaluation, ē through ∂f/∂gᵢ."""
        parts = [self(arg) for arg in node.args]
        dps = mpmath.mp.dps
        at = [sp.Float(p[0], dps) for p in parts]
        v = self._real(_numeric(node.func(*at), dps))
        if self.values_only:
            return v, mpmath.mpf(0)
        err = abs(v)
        for i, (_, ei) in enumerate(parts, start=1):
            if not ei:
                continue
            try:                                                    # ∂f/∂gᵢ of the node itself
                deriv = node.fdiff(i) if len(at) > 1 else node.fdiff()   # (f(Float) evaluates)
                slope = self._real(self.slopes(deriv)[0])
            except (sp.core.function.ArgumentIndexError, TypeError, ValueError, AttributeError,
                    KeyError, ZeroDivisionError):
                slope = None
            if slope is None or not mpmath.isfinite(slope):
                err += abs(v) * ei                                  # no derivative: relative
            else:
                err += abs(slope) * ei                              # |∂f/∂gᵢ| ē_gᵢ
        return v, err


def _numeric(expr, dps: int):
    """An mpf (or mpc) of a numeric SymPy expression at ``dps`` digits."""
    value = sp.N(expr, dps)
    try:
        return mpmath.mpmathify(complex(value)) if not value.is_real else mpmath.mpf(value)
    except (TypeError, ValueError):
        return mpmath.nan


def rounding_scale(expr, values: Mapping, unknowns: Iterable = ()) -> tuple:
    """(value, ē) of ``expr`` at ``values`` (Symbol -> number): |fl(expr) - expr| ≲ u·ē.

    ``unknowns`` are the symbols whose values are float64 results (rounded): a
    collection (each then carries ē = |value|) or a mapping Symbol -> its ē; the
    other symbols are exact float64 inputs.  Runs at the current mpmath precision.
    """
    return _Evaluator(values, unknowns)(sp.sympify(expr))


def rounding_scales(exprs, values: Mapping, unknowns: Iterable = ()) -> list:
    """ē of each expression of ``exprs`` (one shared memo: common sub-expressions once)."""
    ev = _Evaluator(values, unknowns)
    return [ev(sp.sympify(e))[1] for e in exprs]
