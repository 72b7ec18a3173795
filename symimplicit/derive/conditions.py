"""Where a derivation's results fail, as relations: det ∂F/∂z = 0, every kink g = 0, and
for Minimize where the point is not a strict minimum.

The relations depend on the statement only (never on which derivatives were asked for):
the kinks come from :func:`symimplicit.kinks.kinks` over the residual.
"""
from __future__ import annotations

import sympy as sp

__all__ = ["zero", "positive", "failure", "dedupe", "second_order_relations"]


def zero(expr: sp.Expr):
    """``Eq(e, 0)`` with e's numeric factor dropped (2(c² + 1) = 0 → c² + 1 = 0)."""
    if isinstance(expr, sp.MatrixExpr) or isinstance(expr, sp.Determinant):
        return sp.Eq(expr, 0, evaluate=False)
    _, rest = sp.factor_terms(expr).as_coeff_Mul()
    return sp.Eq(rest, 0)


def positive(expr: sp.Expr):
    """``e > 0`` with e's numeric factor dropped (flipping the sign when negative)."""
    coeff, rest = sp.factor_terms(expr).as_coeff_Mul()
    if coeff == 0:
        return sp.false
    return sp.StrictGreaterThan(rest, 0) if coeff > 0 else sp.StrictLessThan(rest, 0)


def failure(rel):
    """The failure set of a required relation ``e > 0``: ``e <= 0``."""
    if isinstance(rel, sp.StrictGreaterThan):
        return sp.LessThan(rel.lhs, rel.rhs)
    if isinstance(rel, sp.StrictLessThan):
        return sp.GreaterThan(rel.lhs, rel.rhs)
    return sp.Not(rel)


def _independent_first(jac_g: sp.Matrix, budget: int = 200) -> list:
    """Column order of Jg (m × n) with m columns whose minor is not identically 0 first
    (the first such choice in lexicographic order; the given order if none is found
    within ``budget`` choices)."""
    import itertools
    m, n = jac_g.shape
    for k, cols in enumerate(itertools.combinations(range(n), m)):
        if k >= budget:
            break
        if sp.expand(jac_g[:, list(cols)].det(method="berkowitz")) != 0:
            return list(cols) + [j for j in range(n) if j not in cols]
    return list(range(n))


def dedupe(items: list) -> list:
    """The items in order, each once (relations that can never hold left out)."""
    out = []
    for r in items:
        if r is not sp.false and r not in out:
            out.append(r)
    return out


def second_order_relations(statement, jacobian: sp.Matrix) -> list:
    """Minimize only: relations that must hold for a strict local minimum.

    Unconstrained: the leading principal minors of the Hessian are > 0 (H ≻ 0).
    With m constraints on n unknowns: (-1)ᵐ det Bₖ > 0 for k = 2m+1 … m+n, Bₖ the
    leading k × k block of the bordered Hessian [[0, Jg], [Jgᵀ, ∇²L]], the unknowns
    ordered so that the first m columns of Jg are independent (the test's hypothesis:
    with x₄ = 0 as a constraint and x₄ last, B₂ₘ₊₁ is singular and says nothing).
    """
    if statement.kind != "minimize":
        return []
    n, m = len(statement.unknowns), len(statement.multipliers)
    hess = jacobian[:n, :n]                              # ∇²ₓL (∇²f without constraints)
    if not m:
        return [positive(_det(hess[:k, :k])) for k in range(1, n + 1)]
    jac_g = jacobian[n:, :n]
    order = _independent_first(jac_g)
    jac_g, hess = jac_g[:, order], hess.extract(order, order)
    bordered = sp.Matrix.vstack(sp.Matrix.hstack(sp.zeros(m, m), jac_g),
                                sp.Matrix.hstack(jac_g.T, hess))
    return [positive((-1) ** m * _det(bordered[:k, :k])) for k in range(2 * m + 1, m + n + 1)]


def _det(M: sp.Matrix) -> sp.Expr:
    """det M; with Float entries computed on their exact decimal values and expanded, so
    that rounding in the elimination leaves no spurious terms (a -6.9e-18 γ⁴ in a det that is
    0.0684 γ²), then written with Floats again."""
    if not M.has(sp.Float):
        return M.det(method="berkowitz")
    exact = M.applyfunc(lambda e: sp.nsimplify(e, rational=True))
    d = sp.expand(exact.det(method="berkowitz"))
    return d.xreplace({r: sp.Float(r, 15) for r in d.atoms(sp.Rational) if r.q != 1})
