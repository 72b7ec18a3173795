"""Derivatives of an expression of the implicit solution: d^S/dθ_S g(x(θ), θ).

Mathematica's ``ImplicitD[g, eqn, y, x]``, e.g. the sensitivity of a loss g(x(θ), θ).
The total derivative is taken by repeated differentiation with the unknowns as functions
X(θ) (SymPy's chain rule, Faà di Bruno's formula in effect), then every
``Derivative(X_i(θ), θ_T)`` is replaced by the derivation's ∂^T x_i:

    d/dθⱼ g(x(θ), θ) = ∂g/∂θⱼ + Σᵢ ∂g/∂xᵢ · ∂xᵢ/∂θⱼ                (and so on, order by order)
"""
from __future__ import annotations

import sympy as sp

from symimplicit.errors import DerivationError

__all__ = ["derivative_of"]


def derivative_of(derivation, expr, *params):
    """d^S/dθ_S of ``expr`` = g(x(θ), θ) along the implicit solution x(θ), S = ``params``.

    ``params`` as for :meth:`~symimplicit.derive.Derivation.derivative` (Symbols or names,
    repeat counts: ``(a, 2, b)``); ``expr`` a SymPy expression in the unknowns (Symbols, or
    the applied f(x) of a statement in f(x)) and the parameters.  Systems use the explicit
    entries of their derivatives (small systems).

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> d = Root(x**2 - a, x, (a,)).derive()            # x = √a
    >>> d.derivative_of(x**3 + a, a)                    # d/da (a^{3/2} + a) = 3x/2 + 1
    3*x/2 + 1
    >>> sp.simplify(d.derivative_of(x**3 + a, a, 2) - 3/(4*x))
    0
    """
    from symimplicit.statements import _as_expr
    st = derivation.statement
    g = st.applied.to_internal(_as_expr(expr, "derivative_of: the expression"))
    S = derivation._multi_index(params)
    theta = derivation.params
    user = tuple(st.unknowns)
    stray = g.free_symbols - set(user) - set(theta)
    if stray:
        names = ", ".join(sorted(map(str, stray)))
        raise DerivationError(f"derivative_of: {names} in {expr} is neither an unknown "
                              f"{st.to_user(user)} nor a parameter {derivation._params_text()} "
                              f"of {st!r}")
    X = {x: sp.Function(f"_X{i}")(*theta) for i, x in enumerate(user)}   # x as X(θ)
    total = g.xreplace(X)
    for j in S:
        total = sp.diff(total, theta[j])                                   # chain rule
    index = {X[x].func: i for i, x in enumerate(user)}
    values = {}
    for D in sorted(total.atoms(sp.Derivative), key=lambda D: -D.derivative_count):
        if not (isinstance(D.expr, sp.core.function.AppliedUndef) and D.expr.func in index):
            continue
        wrt = [v for v, count in D.variable_count for _ in range(count)]
        value = derivation._raw_derivative(*wrt, explicit=not derivation.is_scalar)
        values[D] = value[index[D.expr.func]] if isinstance(value, sp.MatrixBase) else value
    back = {X[x]: x for x in user}
    result = total.xreplace(values).xreplace(back)
    return st.to_user(sp.factor_terms(result))
