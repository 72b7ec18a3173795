"""Equality constraints of a matrix minimisation: checks and the multiplier symbols.

A constraint is a column expression g(z, θ) = 0 (m × 1), or ``Eq(lhs, rhs)`` read as
lhs − rhs = 0.  Each gets one multiplier λ (m × 1): ``lambda`` for a single constraint,
``lambda1``, ``lambda2``, ... for several.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.relational import Relational
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..errors import StatementError
from .rules import check_supported, as_traces

__all__ = ["check_constraints", "multiplier_symbols", "adjoint_symbols"]


def _names(unknown, params):
    names = {unknown.name} | {p.name for p in params}
    for m in (unknown, *params):
        if isinstance(m, MatrixSymbol):
            names |= {str(s) for d in m.shape for s in sp.sympify(d).free_symbols}
    return names


def check_constraints(constraints, unknown, params):
    """The constraints as column expressions; ``StatementError`` naming the first bad one.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix.constraints import check_constraints
    >>> C, z, d = sp.MatrixSymbol("C", 2, 3), sp.MatrixSymbol("z", 3, 1), sp.MatrixSymbol("d", 2, 1)
    >>> check_constraints([sp.Eq(C*z, d)], z, (C, d))
    (C*z - d,)
    >>> check_constraints([z*z.T], z, ())
    Traceback (most recent call last):
    ...
    symimplicit.errors.StatementError: constraint 1, z*z.T, has shape (3, 3): a constraint must be a column (m × 1); stack the columns of a matrix constraint into one
    """
    out = []
    known = {unknown, *params}
    dims = set().union(*(sp.sympify(d).free_symbols for m in known
                         if isinstance(m, MatrixSymbol) for d in m.shape))
    for k, g in enumerate(constraints, 1):
        where = f"constraint {k}, {g},"
        if isinstance(g, sp.Equality):                         # lhs = rhs  ⇔  lhs − rhs = 0
            g = g.lhs - g.rhs
        elif isinstance(g, Relational):
            raise StatementError(f"{where} is an inequality ({type(g).__name__}): only "
                                 "equality constraints g(z, θ) = 0 are supported in KKT form")
        if not isinstance(g, sp.Basic):
            raise StatementError(f"{where} is a {type(g).__name__}, not a SymPy matrix expression")
        if not isinstance(g, MatrixExpr):
            raise StatementError(f"{where} is a scalar: write it as an m × 1 column, e.g. "
                                 "a.T*z - c with c a 1 × 1 MatrixSymbol")
        if g.shape[1] != 1:
            raise StatementError(f"{where} has shape {g.shape}: a constraint must be a column "
                                 "(m × 1); stack the columns of a matrix constraint into one")
        check_supported(g)
        g = as_traces(g)
        stray = g.free_symbols - known - dims
        if stray:
            raise StatementError(f"{where} uses {', '.join(sorted(map(str, stray)))}: neither "
                                 "the unknown nor parameters")
        if not g.has(unknown):
            raise StatementError(f"{where} does not depend on the unknown {unknown}")
        out.append(g)
    return tuple(out)


def _reserve(names, taken, what):
    for n in names:
        if n in taken:
            raise StatementError(f"the name {n} is reserved for {what} of the KKT system; "
                                 "rename that symbol")


def multiplier_symbols(constraints, unknown, params):
    """One column multiplier λ per constraint, shaped like it.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix.constraints import multiplier_symbols
    >>> z, C, c = sp.MatrixSymbol("z", 3, 1), sp.MatrixSymbol("C", 2, 3), sp.MatrixSymbol("c", 2, 1)
    >>> multiplier_symbols([C*z - c, z], z, (C, c))
    (lambda1, lambda2)
    """
    names = ["lambda"] if len(constraints) == 1 else [f"lambda{k}" for k in range(1, len(constraints) + 1)]
    _reserve(names, _names(unknown, params), "a multiplier")
    return tuple(MatrixSymbol(n, g.shape[0], 1) for n, g in zip(names, constraints))


def adjoint_symbols(statement):
    """The adjoint columns (u for z, v for each λ) of the KKT vjp: [u; v] = K⁻ᵀ [z̄; λ̄].

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import MatrixMinimize, quad
    >>> C, z, d = sp.MatrixSymbol("C", 2, 3), sp.MatrixSymbol("z", 3, 1), sp.MatrixSymbol("d", 2, 1)
    >>> from symimplicit.matrix.constraints import adjoint_symbols
    >>> adjoint_symbols(MatrixMinimize(quad(z, z), z, (C, d), constraints=[C*z - d]))
    (u_, (v_,))
    """
    st = statement
    k = len(st.multipliers)
    vs = ["v_"] if k == 1 else [f"v{j}_" for j in range(1, k + 1)]
    _reserve(["u_", *vs], _names(st.unknown, st.params), "an adjoint")
    return (MatrixSymbol("u_", *st.unknown.shape),
            tuple(MatrixSymbol(n, lam.shape[0], 1) for n, lam in zip(vs, st.multipliers)))
