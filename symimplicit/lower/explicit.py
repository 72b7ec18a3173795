"""Explicit primitives: a SymPy expression becomes one tape Function.

* :func:`primitive` ``(expr, args)``: forward and every partial derivative are
  lambdified from ``expr`` (one generated function, shared CSE).
* :func:`fuse` ``(fn, n_args)``: a Python function built from tape primitives is
  lifted into SymPy through the twins and becomes one such primitive: one node
  instead of a chain, a formula instead of a sub-graph.

No derivative is written by hand: SymPy differentiates, lambdify lowers.
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import sympy as sp

from symimplicit.errors import DerivationError
from symimplicit.lower.codegen import MATH_ERRORS, as_real, domain_error, lambdify_many
from symimplicit.tape.engine import Function, Saved, Scalar, trace

__all__ = ["ExplicitPrimitive", "primitive", "fuse"]


class ExplicitPrimitive(Function):
    """A tape Function whose forward and vjp are generated from a SymPy expression.

    ``expr`` is the formula, ``args`` its positional Symbols, ``partials`` the
    SymPy list [∂expr/∂argᵢ].  On the tape the forward evaluates the value and
    all partials in one CSE'd call and keeps the partials on the node, so the
    backward pass is a multiplication; with plain floats only the value is computed.
    """

    def __init__(self, expr: sp.Expr, args: Sequence[sp.Symbol], name: str | None = None):
        args = tuple(args)
        _check_args(expr, args)
        self.expr = expr
        self.args = args
        self.partials = [sp.diff(expr, a) for a in args]               # ∂f/∂aᵢ, by SymPy
        self._value = lambdify_many([expr], args, "math")
        self._joint = lambdify_many([expr, *self.partials], args, "math")
        super().__init__(name or f"Explicit[{expr}]", self._forward, vjp=_explicit_vjp)

    def __call__(self, *values, **kwargs):
        if len(values) != len(self.args):
            raise TypeError(f"{self.name} takes {len(self.args)} positional argument(s) "
                            f"{self.args}, got {len(values)}")
        for v in values:
            if isinstance(v, Scalar):
                return Function.__call__(self, *values, **kwargs)
        return self._evaluate(self._value, values)[0]                  # floats in: float out

    def _forward(self, *values):
        out = self._evaluate(self._joint, values)
        return Saved(out[0], out[1:])                                  # keep [∂f/∂aᵢ] for the vjp

    def _evaluate(self, fn, values) -> list:
        try:
            out = fn(*values)
        except MATH_ERRORS as exc:
            raise domain_error(self.name, self._point(values), exc) from exc
        point = None
        for i, v in enumerate(out):
            if v.__class__ is not float:
                point = point or self._point(values)
                out[i] = as_real(v, self.name, point)
        return out

    def _point(self, values) -> dict:
        return {str(a): v for a, v in zip(self.args, values)}


def _explicit_vjp(g, node):
    return [g * d for d in node.state]                                 # ∂L/∂aᵢ = ∂L/∂f · ∂f/∂aᵢ


def _check_args(expr, args) -> None:
    if not isinstance(expr, sp.Expr):
        raise DerivationError(f"primitive() needs a SymPy expression, got {expr!r}")
    for a in args:
        if not isinstance(a, sp.Symbol):
            raise DerivationError(f"primitive() arguments must be Symbols, got {a!r}")
    stray = expr.free_symbols - set(args)
    if stray:
        names = ", ".join(sorted(map(str, stray)))
        raise DerivationError(f"the expression {expr} has free symbol(s) {names} that are not "
                              f"among the arguments {args}")


def primitive(expr: sp.Expr, args: Sequence[sp.Symbol], name: str | None = None) -> ExplicitPrimitive:
    """One tape Function computing ``expr`` with its gradient lambdified from SymPy.

    ``args`` are the Symbols in the order of the positional arguments.
    """
    return ExplicitPrimitive(expr, args, name)


def fuse(fn: Callable, n_args: int, *, name: str | None = None,
         at: Sequence[float] | None = None) -> ExplicitPrimitive:
    """Lift ``fn`` (a function of ``n_args`` Scalars built from tape primitives) into one primitive.

    ``fn`` is traced once on sample values ``at`` (default 0.5, 0.6, ...), its
    graph lifted into SymPy through the twins of its primitives, and the
    expression lowered by :func:`primitive`.  ``fn`` must be straight-line code:
    a branch on a value is frozen at the sample point.  The result has
    ``.expr`` and ``.fused_nodes`` (the size of the traced graph it replaces).
    """
    from symimplicit.twins import to_sympy

    if int(n_args) != n_args or n_args < 0:
        raise ValueError(f"fuse: n_args must be a non-negative integer, got {n_args!r}")
    symbols = _argument_symbols(fn, int(n_args))
    samples = list(at) if at is not None else [0.5 + 0.1 * i for i in range(n_args)]
    if len(samples) != n_args:
        raise ValueError(f"fuse: {len(samples)} sample value(s) for {n_args} argument(s)")
    leaves = [Scalar(float(v)) for v in samples]
    out = fn(*leaves)
    if not isinstance(out, Scalar):
        raise DerivationError(f"fuse: {getattr(fn, '__name__', fn)!r} returned {out!r}, "
                              "not a Scalar built from its arguments")
    expr = to_sympy(out, dict(zip(leaves, symbols)))
    fused = ExplicitPrimitive(expr, symbols, name or f"Fused[{getattr(fn, '__name__', 'fn')}]")
    fused.fused_nodes = len(trace(out))
    return fused


def _argument_symbols(fn: Callable, n_args: int) -> tuple[sp.Symbol, ...]:
    """Symbols named after ``fn``'s positional parameters when it has exactly ``n_args``."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) == n_args:
        return tuple(sp.Symbol(p.name) for p in params)
    return tuple(sp.Symbol(f"u{i}") for i in range(n_args))
