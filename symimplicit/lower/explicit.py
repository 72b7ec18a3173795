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

from symimplicit.errors import DerivationError, DomainError
from symimplicit.lower.codegen import MATH_ERRORS, as_real, domain_error, lambdify_many
from symimplicit.errors import ArgumentError
from symimplicit.lower.options import as_floats
from symimplicit.tape.engine import Function, Saved, Scalar, trace

__all__ = ["ExplicitPrimitive", "primitive", "fuse"]


class ExplicitPrimitive(Function):
    """A tape Function whose forward and vjp are generated from a SymPy expression.

    ``expr`` is the formula, ``args`` its positional Symbols, ``partials`` the
    SymPy list [∂expr/∂argᵢ] (the arguments taken real: tape values are real, so
    |x| differentiates to sign(x), not through re/im).  On the tape the forward
    evaluates the value and all partials in one CSE'd call and keeps the partials
    on the node, so the backward pass is a multiplication; where only a partial is
    undefined (√x at 0) the forward returns the value and keeps its inputs, and
    the vjp raises the DomainError at that point.  With plain floats only the
    value is computed.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.lower import ExplicitPrimitive
    >>> from symimplicit.tape import Scalar, grad
    >>> x, y = sp.symbols("x y")
    >>> f = ExplicitPrimitive(x**2*y, [x, y], name="f")
    >>> f.partials, f(3.0, 2.0)
    ([2*x*y, x**2], 18.0)
    >>> X, Y = Scalar(3.0), Scalar(2.0)
    >>> grad(f(X, Y), [X, Y])                   # (2xy, x²)
    (12.0, 9.0)
    """

    def __init__(self, expr: sp.Expr, args: Sequence[sp.Symbol], name: str | None = None):
        args = tuple(args)
        _check_args(expr, args)
        self.expr = expr
        self.args = args
        name = name or f"Explicit[{expr}]"
        real = {a: sp.Symbol(a.name, real=True) for a in args if not a.is_real}
        back = {r: a for a, r in real.items()}
        expr_r = expr.xreplace(real)
        self.partials = [sp.diff(expr_r, real.get(a, a)).xreplace(back) for a in args]  # ∂f/∂aᵢ
        hint = f"{name} is evaluated in float64 by the math module (the only backend of a tape primitive)"
        self._value = lambdify_many([expr], args, "math", hint=hint)
        self._joint = lambdify_many([expr, *self.partials], args, "math", hint=hint)
        super().__init__(name, self._forward, vjp=_explicit_vjp, vjp_tape=_explicit_vjp_tape)

    def __call__(self, *values, **kwargs):
        if len(values) != len(self.args):
            raise ArgumentError(f"{self.name} takes {len(self.args)} positional argument(s) "
                                f"{self.args}, got {len(values)}")
        for v in values:
            if isinstance(v, Scalar):
                return Function.__call__(self, *values, **kwargs)
        return self._evaluate(self._value, values, self.name)[0]       # floats in: float out

    def _forward(self, *values):
        try:
            out = self._joint(*values)
        except MATH_ERRORS:
            out = None
        if out is not None:
            for v in out:
                if v.__class__ is not float:
                    try:
                        out = self._evaluate(self._joint, values, self.name)
                    except DomainError:
                        out = None
                    break
        if out is None:                                                # a partial is undefined here:
            return Saved(self._evaluate(self._value, values, self.name)[0], values)  # the vjp says so
        return Saved(out[0], out[1:])                                  # keep [∂f/∂aᵢ] for the vjp

    def _evaluate(self, fn, values, what) -> list:
        try:
            out = fn(*values)
        except MATH_ERRORS as exc:
            raise domain_error(what, self._point(values), exc) from exc
        point = None
        for i, v in enumerate(out):
            if v.__class__ is not float:
                point = point or self._point(values)
                out[i] = as_real(v, what, point)
        return out

    def _point(self, values) -> dict:
        return {str(a): v for a, v in zip(self.args, values)}


def _explicit_vjp(g, node):
    partials = node.state
    if partials.__class__ is tuple:                                    # the forward's inputs: a partial
        fn = node.function                                             # failed there; raise it by name
        what = f"the derivative of {fn.name}"
        partials = fn._evaluate(fn._joint, partials, what)[1:]
    return [g * d for d in partials]                                   # ∂L/∂aᵢ = ∂L/∂f · ∂f/∂aᵢ


def _explicit_vjp_tape(g, node):                                       # create_graph: the partials
    from symimplicit.lower.higher import explicit_vjp_tape               # as explicit primitives
    return explicit_vjp_tape(g, node)


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

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.lower import primitive
    >>> from symimplicit.tape import Scalar, grad
    >>> x, y = sp.symbols("x y")
    >>> p = primitive(x*sp.exp(y), [x, y])
    >>> X, Y = Scalar(2.0), Scalar(0.0)
    >>> z = p(X, Y)
    >>> z.value, grad(z, [X, Y])                 # (eʸ, x eʸ)
    (2.0, (1.0, 2.0))
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

    Examples
    ========
    >>> from symimplicit.lower import fuse
    >>> from symimplicit.tape import Sin, Times
    >>> f = fuse(lambda u, v: Times(u, Sin(v)), 2)
    >>> f.expr, f.fused_nodes
    (u*sin(v), 4)
    >>> f(2.0, 0.0)
    0.0
    """
    from symimplicit.twins import to_sympy

    try:
        ok = int(n_args) == n_args and n_args >= 0
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ArgumentError(f"fuse: n_args must be a non-negative integer, got {n_args!r}")
    symbols = _argument_symbols(fn, int(n_args))
    samples = as_floats(at, "at", "fuse") if at is not None else [0.5 + 0.1 * i for i in range(n_args)]
    if len(samples) != n_args:
        raise ArgumentError(f"fuse: {len(samples)} sample value(s) for {n_args} argument(s)")
    leaves = [Scalar(v) for v in samples]
    out = fn(*leaves)
    if not isinstance(out, Scalar):
        raise DerivationError(f"fuse: {getattr(fn, '__name__', fn)!r} returned {out!r}, "
                              "not a Scalar built from its arguments")
    expr = to_sympy(out, dict(zip(leaves, symbols)))
    fused = ExplicitPrimitive(expr, symbols, name or f"Fused[{getattr(fn, '__name__', 'fn')}]")
    fused.fused_nodes = len(trace(out))
    return fused


def _argument_symbols(fn: Callable, n_args: int) -> tuple[sp.Symbol, ...]:
    """Real Symbols named after ``fn``'s positional parameters when it has exactly ``n_args``
    (real: tape values are real numbers, so abs(x) differentiates to sign(x))."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) == n_args:
        return tuple(sp.Symbol(p.name, real=True) for p in params)
    return tuple(sp.Symbol(f"u{i}", real=True) for i in range(n_args))
