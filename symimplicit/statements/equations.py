"""The statements by an equation: :class:`Root` (F(x, θ) = 0) and :class:`FixedPoint`
(x = f(x, θ), residual x - f)."""
from __future__ import annotations

import sympy as sp

from symimplicit.errors import StatementError
from symimplicit.statements.arguments import _as_exprs
from symimplicit.statements.base import Statement

__all__ = ["Root", "FixedPoint"]


class Root(Statement):
    """x(θ) defined by F(x, θ) = 0.

    ``F`` is an expression (``= 0`` implied), an ``Eq`` (lhs - rhs = 0) or a sequence
    of them, one per unknown.  ``unknown`` is a Symbol or a sequence of Symbols;
    ``params`` a sequence of Symbols (default: the other free symbols, by name).

    An unknown may be an applied function f(x) of parameters (:mod:`symimplicit.applied`):
    it is the Symbol ``f`` in ``unknowns`` and is shown as f(x) (``to_user``).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> r = Root(x**2 - a, x, a)
    >>> r.derive().derivative(a)                  # dx/da = -F_a/F_x
    1/(2*x)
    >>> r.primitive()(4.0)
    2.0
    >>> f = sp.Function("f")                       # a function as the unknown
    >>> Root(sp.Eq(x**2 + f(x)**2, 1), f(x), (x,)).derive().derivative(x)
    -x/f(x)
    >>> Root(x**2 - a, sp.Symbol("y"), a)
    Traceback (most recent call last):
    ...
    symimplicit.errors.StatementError: the unknown y does not appear in the root -a + x**2; its symbol(s) x are neither unknowns nor parameters: is x the unknown?
    """

    kind = "root"

    def __init__(self, F, unknown, params=None):
        super().__init__(F, unknown, params)

    def _check_shape(self) -> None:
        self._check_count(len(self._exprs), "equation(s)")

    @property
    def residual(self) -> sp.Matrix:
        return sp.Matrix(self._exprs)                    # F(x, θ)


class FixedPoint(Statement):
    """x(θ) defined by x = f(x, θ); the residual is F = x - f.

    ``f`` is an expression, or a sequence with one entry per unknown.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, a)
    >>> fp.residual
    Matrix([[x - cos(a*x)]])
    >>> fp.derive().derivative(a)
    -x*sin(a*x)/(a*sin(a*x) + 1)
    >>> round(fp.primitive()(1.0), 12)          # the Dottie number, x = cos x
    0.739085133215
    """

    kind = "fixed_point"

    def __init__(self, f, unknown, params=None):
        super().__init__(f, unknown, params)

    def _check_shape(self) -> None:
        self._check_count(len(self._exprs), "map component(s)")

    def _normalise(self, expression):
        if isinstance(expression, sp.Equality):
            raise StatementError(f"FixedPoint takes the map f of x = f(x, θ), not an equation "
                                 f"({expression}); use Root for an equation")
        return _as_exprs(expression, "f")

    def _check_occurs(self, exprs) -> None:
        # x = f(x, θ): the unknown occurs on the left by definition; f must not be x itself
        from symimplicit.derive import is_identically_zero   # cheap: never expands (x+a)**10**6
        for x, f in zip(self.unknowns, exprs):
            if is_identically_zero(x - f):
                raise StatementError(f"the fixed point map for {x} is the identity: "
                                     f"x = {f} holds for every x")

    @property
    def residual(self) -> sp.Matrix:
        return sp.Matrix([x - f for x, f in zip(self.unknowns, self._exprs)])   # x - f(x, θ)
