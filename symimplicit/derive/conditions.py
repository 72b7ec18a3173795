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
    leading k × k block of the bordered Hessian [[0, Jg], [Jgᵀ, ∇²L]].
    """
    if statement.kind != "minimize":
        return []
    n, m = len(statement.unknowns), len(statement.multipliers)
    hess = jacobian[:n, :n]                              # ∇²ₓL (∇²f without constraints)
    if not m:
        return [positive(hess[:k, :k].det(method="berkowitz")) for k in range(1, n + 1)]
    jac_g = jacobian[n:, :n]
    bordered = sp.Matrix.vstack(sp.Matrix.hstack(sp.zeros(m, m), jac_g),
                                sp.Matrix.hstack(jac_g.T, hess))
    return [positive((-1) ** m * bordered[:k, :k].det(method="berkowitz"))
            for k in range(2 * m + 1, m + n + 1)]
