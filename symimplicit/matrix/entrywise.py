"""The entry-wise truth of a matrix statement at concrete sizes, in mpmath.

Every MatrixSymbol is replaced by an explicit matrix of scalar symbols (one per entry), the
statement expanded with SymPy (``doit``), and the residual written entry by entry from the
statement itself, not from the matrix rule table:

* root: F;  fixed point: z − f;  minimisation: ∂L/∂zᵢ by ``sympy.diff`` of the scalar
  L = f + Σ λᵀ g, stacked with the entries of every constraint g.

:func:`entrywise_reference` then solves F = 0 with ``mpmath.findroot`` at ``dps`` digits and
gets dU/dθ = −J_U⁻¹ J_θ (the IFT, ``mpmath.lu_solve``) from the entry-wise Jacobians.
"""
from __future__ import annotations

from dataclasses import dataclass

import mpmath
import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol

from ..errors import ConvergenceError, SingularJacobianError

__all__ = ["EntrywiseSystem", "expand", "entrywise_reference"]


def _entries(M: MatrixSymbol, rows: int, cols: int) -> sp.ImmutableMatrix:
    # one Dummy per entry, row-major (no clash with the user's names)
    return sp.ImmutableMatrix(rows, cols, [sp.Dummy(f"{M.name}_{i}{j}")
                                           for i in range(rows) for j in range(cols)])


def _explicit(expr, table):
    """``expr`` with each MatrixSymbol replaced by its explicit matrix, expanded."""
    out = expr.xreplace(table).doit()
    return sp.ImmutableMatrix(out) if isinstance(out, (MatrixExpr, sp.MatrixBase)) else out


@dataclass
class EntrywiseSystem:
    """F(U, θ) = 0 entry by entry: ``unknowns`` U (z's entries, then every multiplier's),
    ``params`` θ (each parameter's entries row-major, in order), ``residual`` (a column),
    ``blocks`` {name: (start, shape)} locating each unknown and parameter in U and θ."""

    unknowns: list
    params: list
    residual: sp.ImmutableMatrix
    unknown_blocks: dict
    param_blocks: dict


def expand(statement, dims: dict) -> EntrywiseSystem:
    """The entry-wise system of a matrix statement at the sizes ``dims`` ({Symbol: int}).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import MatrixFixedPoint
    >>> from symimplicit.matrix.entrywise import expand
    >>> n = sp.Symbol("n")
    >>> W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
    >>> sys = expand(MatrixFixedPoint((W*z + b).applyfunc(sp.tanh), z, (W, b)), {n: 2})
    >>> len(sys.unknowns), len(sys.params), sys.residual.shape
    (2, 6, (2, 1))
    """
    st = statement
    sub = {k: sp.Integer(v) for k, v in dims.items()}
    concrete = lambda M: M.xreplace(sub)
    table, unknowns, params = {}, [], []
    ublocks, pblocks = {}, {}
    for M in (st.unknown, *getattr(st, "multipliers", ())):
        Mc = concrete(M)
        E = _entries(M, *map(int, Mc.shape))
        table[Mc] = E
        ublocks[M.name] = (len(unknowns), tuple(map(int, Mc.shape)))
        unknowns.extend(E)
    for p in st.params:
        if isinstance(p, MatrixSymbol):
            pc = concrete(p)
            E = _entries(p, *map(int, pc.shape))
            table[pc] = E
            pblocks[p.name] = (len(params), tuple(map(int, pc.shape)))
            params.extend(E)
        else:                                                  # a scalar stays itself
            pblocks[p.name] = (len(params), ())
            params.append(p)
    expr = _explicit(concrete(st.expression), table)
    kind = type(st).__name__
    if kind == "MatrixRoot":
        F = expr                                               # F = 0
    elif kind == "MatrixFixedPoint":
        F = table[concrete(st.unknown)] - expr                 # z − f = 0
    else:                                                      # ∂L/∂zᵢ = 0 and g = 0
        L = expr
        gs = [_explicit(concrete(g), table) for g in getattr(st, "constraints", ())]
        for lam, g in zip(getattr(st, "multipliers", ()), gs):
            L = L + sum(a * b for a, b in zip(table[concrete(lam)], g))   # + λᵀ g
        zs = list(table[concrete(st.unknown)])
        F = sp.ImmutableMatrix([sp.diff(L, zi) for zi in zs] + [e for g in gs for e in g])
    return EntrywiseSystem(unknowns, params, sp.ImmutableMatrix(F).reshape(len(unknowns), 1),
                           ublocks, pblocks)


@dataclass
class EntrywiseReference:
    """``solution`` U* (mpf list), ``jacobian`` dU/dθ (mpmath matrix, len(U) × len(θ)),
    ``kappa`` = ‖J_U‖∞ ‖J_U⁻¹‖∞ at U*, ``residual`` ‖F(U*)‖∞, ``dps``."""

    solution: list
    jacobian: object
    kappa: float
    residual: float
    dps: int


def entrywise_reference(system: EntrywiseSystem, theta: list, start: list,
                        dps: int) -> EntrywiseReference:
    """Solve the entry-wise system at θ (floats, taken exactly) from ``start`` with
    ``mpmath.findroot`` at ``dps`` (+10 guard) digits; dU/dθ by the IFT with ``lu_solve``."""
    U, P = system.unknowns, system.params
    F = system.residual
    JU, JP = F.jacobian(U), F.jacobian(P)
    mods = ["mpmath"]
    f_num = sp.lambdify([U, P], list(F), mods)
    jU_num = sp.lambdify([U, P], JU, mods)
    jP_num = sp.lambdify([U, P], JP, mods)
    with mpmath.workdps(dps + 10):
        th = [mpmath.mpf(float(t)) for t in theta]              # exactly the float64 inputs
        x0 = [mpmath.mpf(float(s)) for s in start]
        f = lambda *u: f_num(list(u), th)
        J = lambda *u: mpmath.matrix(jU_num(list(u), th))
        try:
            sol = mpmath.findroot(f, x0, J=J, tol=mpmath.mpf(10) ** (-2 * (dps + 5)), maxsteps=100)
        except (ValueError, ZeroDivisionError) as exc:
            raise ConvergenceError(f"verify: the entry-wise mpmath solve did not converge from "
                                   f"the float64 solution ({exc})") from None
        sol = [sol] if not isinstance(sol, mpmath.matrix) else list(sol)
        res = max((abs(v) for v in f_num(sol, th)), default=mpmath.mpf(0))
        A = mpmath.matrix(jU_num(sol, th))
        B = mpmath.matrix(jP_num(sol, th)) if P else mpmath.matrix(len(U), 0)
        try:
            Ainv = mpmath.inverse(A)
        except ZeroDivisionError:
            raise SingularJacobianError("verify: the entry-wise Jacobian ∂F/∂z is singular at "
                                        "the solution", value=A) from None
        kappa = float(mpmath.mnorm(A, "inf") * mpmath.mnorm(Ainv, "inf"))
        D = mpmath.matrix(len(U), len(P))
        for j in range(len(P)):                                # dU/dθⱼ = −J_U⁻¹ ∂F/∂θⱼ
            col = mpmath.lu_solve(A, -B[:, j])
            for i in range(len(U)):
                D[i, j] = col[i]
    return EntrywiseReference(sol, D, kappa, float(res), dps)
