"""SymPy-compatible entry points: a drop-in for ``sympy.idiff`` (dⁿy/dxⁿ where eq = 0) by the
project's scalar derivation.

``sympy.idiff`` differentiates the identity eq(x, y(x)) = 0, solves for y', substitutes and
differentiates the explicit result again, n times over: the expression swells and each step
cancels a larger rational function.  Here the n-th derivative is Comtet's universal numerator
over a power of F_y (``Root(F, y, (x,)).derive().derivative(x, n)``, see
:mod:`symimplicit.derive`), in which only the partials of F are substituted.  What ``idiff``
adds on top (applied functions as the dependent variable, several dependents, ``Eq``) is a
substitution before and after the derivation.
"""
from __future__ import annotations

import numbers

import sympy as sp
from sympy.core.function import AppliedUndef

from symimplicit.errors import DerivationError, StatementError
from symimplicit.statements import Root, _as_expr

__all__ = ["idiff"]

_NORMALISE_OPS = 400
"""Try idiff's own normal form of the result (cancel, expand_mul, factor_terms) only on
results this small (count_ops): above it the Horner-form numerator is the smaller one, and
``cancel`` of a large rational function costs what the derivation saved."""


def idiff(eq, y, x, n=1):
    """dⁿy/dxⁿ assuming ``eq = 0``: ``sympy.idiff``'s signature, semantics and results.

    Returns the same expression as ``sympy.idiff`` mathematically (in x, y and the other
    dependents), never larger in ``count_ops``, and much faster at high orders.  Bad input
    raises :class:`~symimplicit.errors.StatementError` or
    :class:`~symimplicit.errors.DerivationError` (both ``ValueError`` s, as ``idiff``
    raises) where ``sympy.idiff`` raises, returns ``zoo``/``None`` or fails with a
    ``NameError``.

    Parameters
    ==========

    eq : Expr or Eq
        The equation (an expression meaning ``eq = 0``, or ``Eq(lhs, rhs)``).
    y : Symbol, applied function or sequence of them
        The dependent variable: a Symbol ``y``, an applied function ``f(x)``, or a sequence
        whose first item is the dependent variable and whose others also depend on ``x``
        (their derivatives appear as ``Derivative(t, x)``, as ``sympy.idiff`` returns them).
        Every other free symbol of ``eq`` is a constant.
    x : Symbol
        The variable the derivative is taken with respect to.
    n : int
        The order of the derivative (1 to :data:`symimplicit.derive.MAX_ORDER`).

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit import idiff
    >>> x, y, a = sp.symbols("x y a")
    >>> circ = x**2 + y**2 - 4
    >>> idiff(circ, y, x)
    -x/y
    >>> idiff(circ, y, x, 2)
    -(x**2 + y**2)/y**3
    >>> idiff(sp.Eq(x**2 + y**2, 4), y, x, 3)
    -3*x*(x**2 + y**2)/y**5

    ``a`` is a constant unless listed after ``y``:

    >>> idiff(x + a + y, y, x)
    -1
    >>> idiff(x + a + y, [y, a], x)
    -Derivative(a, x) - 1

    An applied function as the dependent variable:

    >>> f = sp.Function("f")
    >>> idiff(f(x)**2 + x**2 - a, f(x), x)
    -x/f(x)

    See Also
    ========

    sympy.geometry.util.idiff : the original (same signature)
    symimplicit.Root : the statement behind it; ``Root(eq, y, (x,)).derive()`` also gives the
        steps, the conditions (here F_y = 0) and lowered code
    """
    x = _variable(x)
    order = _order(n)
    dependents = _dependents(y, x)
    F = _as_expr(eq, "eq")
    for dep in dependents:
        if isinstance(dep, AppliedUndef) and F.has(sp.Derivative(dep, x)):
            raise StatementError(f"eq contains a derivative of {dep}: {F} = 0 is a differential "
                                 "equation, not an implicit equation for it")
    first, others = dependents[0], dependents[1:]

    # the other dependent Symbols t become functions t(x): their derivatives stay symbolic
    taken = {g.func.__name__ for g in F.atoms(AppliedUndef)}
    as_function = {s: sp.Function(_fresh(s.name, taken))(x)
                   for s in others if isinstance(s, sp.Symbol) and F.has(s)}
    # an applied function f(x) as the dependent variable becomes a symbol for the derivation
    unknown = sp.Dummy(first.func.__name__) if isinstance(first, AppliedUndef) else first
    F = F.xreplace({**as_function, first: unknown})

    constants = sorted((s for s in F.free_symbols - {x, unknown} if isinstance(s, sp.Symbol)),
                       key=sp.default_sort_key)
    derivation = Root(F, unknown, (x, *constants)).derive()
    value = derivation.derivative(x, order) if order > 1 else derivation.derivative(x)
    value = _no_larger(value)
    value = value.xreplace({t_of_x: t for t, t_of_x in as_function.items()})   # t(x) -> t
    return value.xreplace({unknown: first})


def _variable(x) -> sp.Symbol:
    if not isinstance(x, sp.Symbol):
        raise DerivationError(f"idiff differentiates with respect to a Symbol, got {x!r} "
                              f"({type(x).__name__})")
    return x


def _order(n) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise DerivationError(f"the order n must be a positive integer, got {n!r}")
    return int(n)


def _dependents(y, x: sp.Symbol) -> tuple:
    """The dependent variables, the first one being differentiated: Symbols or f(..., x, ...)."""
    items = tuple(y) if isinstance(y, (list, tuple, sp.Tuple)) else (y,)
    if not items:
        raise StatementError("idiff needs a dependent variable: y is an empty sequence")
    for item in items:
        if isinstance(item, AppliedUndef):
            if x not in item.args:
                raise StatementError(f"the dependent function {item} is not applied to {x}")
        elif not isinstance(item, sp.Symbol):
            raise StatementError(f"expecting x-dependent symbol(s) or applied function(s) "
                                 f"such as f({x}), got {item!r} ({type(item).__name__})")
        if item == x:
            raise StatementError(f"{x} is the variable of differentiation, not a dependent")
    return items


def _fresh(name: str, taken: set[str]) -> str:
    """``name``, or name_ etc. when eq already applies a function of that name."""
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _no_larger(expr: sp.Expr) -> sp.Expr:
    """The smaller (count_ops) of the derivation's result and idiff's normal form of it.

    ``sympy.idiff`` returns factor_terms(expand_mul(cancel(e), deep=False)) of its e, and
    cancel is canonical for a rational function of given generators: on a small result the
    same normal form is idiff's answer, so ours is never the larger one.
    """
    size = sp.count_ops(expr)
    if size > _NORMALISE_OPS:
        return expr
    normal = sp.factor_terms(sp.expand_mul(sp.cancel(expr), deep=False))
    return normal if sp.count_ops(normal) < size else expr
