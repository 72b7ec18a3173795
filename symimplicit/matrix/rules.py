"""The differential rule table of matrix expressions (no use of SymPy's MatrixSymbol ``diff``).

:func:`differential` maps an expression E and one variable V (a ``MatrixSymbol`` or a scalar
``Symbol``) to the linear expression d_V E in the differential dV, or ``None`` when E does not
depend on V.  :func:`collect` writes a linear expression in a column (or scalar) differential
dv as J dv, with J a matrix expression; :func:`adjoint` applies the transpose of a linear map
to a cotangent (the reverse-mode rule).  Anything outside the table is a ``StatementError``
naming the piece.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import (MatrixExpr, MatrixSymbol, MatMul, MatAdd, Transpose,
                                        Inverse, Trace, Identity, ZeroMatrix, HadamardProduct
)
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from ..errors import StatementError

__all__ = ["differential", "collect", "adjoint", "check_supported", "contains"]

_CONSTANT_MATRICES = (Identity, ZeroMatrix)


def contains(expr, var) -> bool:
    """True when ``var`` (a MatrixSymbol or Symbol) occurs in ``expr``."""
    return expr.has(var)


def _piece(expr) -> str:
    return f"{type(expr).__name__} in {expr}"


def check_supported(expr) -> None:
    """Raise ``StatementError`` naming the first node outside the rule table."""
    if isinstance(expr, (MatrixSymbol, sp.Symbol, sp.Number, sp.NumberSymbol) + _CONSTANT_MATRICES):
        return
    if isinstance(expr, MatrixElement):
        if not (expr.parent.shape == (1, 1) and expr.i == 0 and expr.j == 0):
            raise StatementError(f"only [0, 0] of a 1x1 matrix (a quadratic form) is supported, "
                                 f"not {expr}")
        return check_supported(expr.parent)
    if isinstance(expr, ElementwiseApplyFunction):
        _fprime(expr)
        return check_supported(expr.expr)
    if isinstance(expr, (MatMul, MatAdd, Transpose, Inverse, Trace, HadamardProduct,
                         sp.Add, sp.Mul)):
        for a in expr.args:
            check_supported(a)
        return
    if isinstance(expr, sp.Pow) and not isinstance(expr, MatrixExpr):
        if expr.exp.free_symbols or any(isinstance(a, MatrixExpr) for a in expr.exp.atoms()):
            raise StatementError(f"a power with a symbolic exponent is not supported: {expr}")
        return check_supported(expr.base)
    if isinstance(expr, sp.Function) and len(expr.args) == 1 and not isinstance(expr, MatrixExpr):
        return check_supported(expr.args[0])
    if isinstance(expr, sp.Sum):
        raise StatementError(f"SymPy expanded a [0, 0] entry into the Sum {expr}; write the "
                             "quadratic form as symimplicit.matrix.quad(a, b) (aᵀb) instead")
    raise StatementError(f"unsupported piece of a matrix statement: {_piece(expr)}; supported are "
                         "MatMul, MatAdd, Transpose, scalar multiples, Identity, Inverse, Trace, "
                         "applyfunc, HadamardProduct and [0, 0] of a 1x1 product")


def _fprime(ef: ElementwiseApplyFunction):
    """f' as a Lambda, for d f∘(X) = f'∘(X) ∘ dX."""
    fn = ef.function
    x = sp.Dummy("x")
    try:
        body = fn(x)
    except Exception as exc:  # pragma: no cover - SymPy refuses odd functions
        raise StatementError(f"unsupported elementwise function {fn} in {ef}") from exc
    if isinstance(body, MatrixExpr) or not isinstance(body, sp.Expr):
        raise StatementError(f"unsupported elementwise function {fn} in {ef}")
    return sp.Lambda(x, sp.diff(body, x))


def _add(terms):
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    if isinstance(terms[0], MatrixExpr):
        return terms[0] if len(terms) == 1 else MatAdd(*terms)
    return sp.Add(*terms)


def _mul(args):
    if any(isinstance(a, MatrixExpr) for a in args):
        return MatMul(*args)
    return sp.Mul(*args)


def as_traces(expr):
    """M[0, 0] of a 1x1 M written tr M: SymPy's doit expands an entry of a product into sums."""
    return expr.replace(lambda e: isinstance(e, MatrixElement) and e.parent.shape == (1, 1),
                        lambda e: Trace(e.parent))


def differential(expr, var, dvar):
    """d_var expr: linear in ``dvar``, or ``None`` when ``expr`` does not depend on ``var``.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix.rules import differential
    >>> A, X = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("X", 2, 2)
    >>> dX = sp.MatrixSymbol("dX", 2, 2)
    >>> differential(A*X, X, dX)
    A*dX
    """
    if not expr.has(var):
        return None
    if expr == var:                                      # dV = dV
        return dvar
    if isinstance(expr, (MatAdd, sp.Add)):               # d(A + B) = dA + dB
        return _add([differential(a, var, dvar) for a in expr.args])
    if isinstance(expr, (MatMul, sp.Mul)):               # d(AB) = dA B + A dB
        args = list(expr.args)
        terms = []
        for k, a in enumerate(args):
            da = differential(a, var, dvar)
            if da is not None:
                terms.append(_mul(args[:k] + [da] + args[k + 1:]))
        return _add(terms)
    if isinstance(expr, Transpose):                      # d(Aᵀ) = (dA)ᵀ
        return Transpose(differential(expr.arg, var, dvar))
    if isinstance(expr, Inverse):                        # d(A⁻¹) = -A⁻¹ dA A⁻¹
        return MatMul(-1, expr, differential(expr.arg, var, dvar), expr)
    if isinstance(expr, Trace):                          # d tr A = tr dA
        return Trace(differential(expr.arg, var, dvar))
    if isinstance(expr, MatrixElement):                  # d (A)₀₀ = (dA)₀₀
        check_supported(expr)
        return Trace(differential(expr.parent, var, dvar))        # (dA)₀₀ = tr dA for 1x1 A
    if isinstance(expr, HadamardProduct):                # d(A∘B) = dA∘B + A∘dB
        args = list(expr.args)
        terms = []
        for k, a in enumerate(args):
            da = differential(a, var, dvar)
            if da is not None:
                terms.append(HadamardProduct(*(args[:k] + [da] + args[k + 1:])))
        return _add(terms)
    if isinstance(expr, ElementwiseApplyFunction):       # d f∘(X) = f'∘(X) ∘ dX
        inner = differential(expr.expr, var, dvar)
        return HadamardProduct(ElementwiseApplyFunction(_fprime(expr), expr.expr), inner)
    if isinstance(expr, sp.Pow) and not isinstance(expr, MatrixExpr):
        check_supported(expr)                            # d uᵖ = p uᵖ⁻¹ du
        return expr.exp * expr.base ** (expr.exp - 1) * differential(expr.base, var, dvar)
    if isinstance(expr, sp.Function) and len(expr.args) == 1 and not isinstance(expr, MatrixExpr):
        u = expr.args[0]                                 # d f(u) = f'(u) du
        x = sp.Dummy("x")
        fp = sp.diff(expr.func(x), x).subs(x, u)
        return fp * differential(u, var, dvar)
    check_supported(expr)
    raise StatementError(f"no differential rule for {_piece(expr)}")


# --------------------------------------------------------------------------- #
# collecting dv: L(dv) = J dv for a column dv                                  #
# --------------------------------------------------------------------------- #

def _is_col(e) -> bool:
    return e.shape[1] == 1


def _is_row(e) -> bool:
    return e.shape[0] == 1


def _scalar_of(e):
    """A 1x1 matrix expression as a scalar."""
    return Trace(e) if isinstance(e, MatrixExpr) else e          # a 1x1 M as tr M (doit keeps it)


def collect(L, dv):
    """J with L = J dv, for L linear in the column ``dv`` and L a column or a scalar.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix.rules import collect
    >>> A, dz = sp.MatrixSymbol("A", 3, 3), sp.MatrixSymbol("dz", 3, 1)
    >>> collect(A*dz + 2*dz, dz).doit()
    2*I + A
    """
    n = dv.shape[0]
    if L is None or not L.has(dv):
        return None
    if L == dv:                                                      # dv = I dv
        return Identity(n)
    if isinstance(L, (MatAdd, sp.Add)):
        return _add([collect(a, dv) for a in L.args])
    if isinstance(L, MatrixElement):                                 # (M)₀₀ for 1x1 M
        return collect(L.parent, dv)
    if isinstance(L, Trace):                                         # tr M by rotation
        M = L.arg
        if M.shape == (1, 1):
            return collect(M, dv)
        if isinstance(M, MatAdd):
            return _add([collect(Trace(a), dv) for a in M.args])
        if isinstance(M, MatMul):
            coeff, facs = M.as_coeff_matrices()
            k = next(i for i, f in enumerate(facs) if f.has(dv))
            rot = MatMul(*(facs[k + 1:] + facs[:k]))                 # tr(A M B) = tr(M B A)
            return collect(MatMul(coeff, facs[k], rot) if facs[k].shape[0] == 1
                           else MatMul(coeff, rot, facs[k]), dv)
        if isinstance(M, Transpose):
            return collect(Trace(M.arg), dv)
        raise StatementError(f"cannot collect d{dv} in the trace {L}")
    if isinstance(L, sp.Mul) and not isinstance(L, MatrixExpr):                                      # c · s(dv)
        c = [a for a in L.args if not a.has(dv)]
        m = [a for a in L.args if a.has(dv)]
        if len(m) != 1:
            raise StatementError(f"{L} is not linear in {dv}")
        return MatMul(sp.Mul(*c), collect(m[0], dv))
    if isinstance(L, Transpose):                                     # (M)ᵀ with M 1x1
        if L.shape == (1, 1):
            return collect(L.arg, dv)
        raise StatementError(f"cannot collect {dv} in the row {L}")
    if isinstance(L, HadamardProduct):                               # X∘M = diag(X) M
        others = [a for a in L.args if not a.has(dv)]
        m = [a for a in L.args if a.has(dv)]
        if len(m) != 1 or not _is_col(L):
            raise StatementError(f"cannot collect {dv} in {L}")
        X = others[0] if len(others) == 1 else HadamardProduct(*others)
        return MatMul(DiagMatrix(X), collect(m[0], dv))
    if isinstance(L, MatMul):
        coeff, facs = L.as_coeff_matrices()
        idx = [i for i, f in enumerate(facs) if f.has(dv)]
        if coeff.has(dv) and not idx and _is_col(L):                 # s(dv) P = P (J_s dv)
            return MatMul(MatMul(*facs), collect(coeff, dv))
        if len(idx) != 1 or coeff.has(dv):
            raise StatementError(f"{L} is not linear in {dv}")
        k = idx[0]
        A, M, B = facs[:k], facs[k], facs[k + 1:]
        if _is_col(M):                                               # A M b, b 1x1
            s = _scalar_of(MatMul(*B)) if B else sp.S.One
            return MatMul(coeff * s, *A, collect(M, dv))
        if _is_row(M):                                               # a (M B) = a Bᵀ Mᵀ
            Bt = [Transpose(MatMul(*B))] if B else []
            return MatMul(coeff, *A, *Bt, collect(Transpose(M).doit(), dv))
        raise StatementError(f"cannot collect d{dv} in the matrix-valued {M} inside {L}")
    raise StatementError(f"cannot collect d{dv} in {_piece(L)}")


# --------------------------------------------------------------------------- #
# the adjoint: <G, L(dv)> = <adjoint(L, G), dv>                                #
# --------------------------------------------------------------------------- #

def adjoint(L, dv, G):
    """The cotangent of dv given the cotangent ``G`` of the linear expression ``L(dv)``.

    ``G`` has L's shape (a scalar for a scalar L); the result has dv's shape.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix.rules import adjoint
    >>> A, dX = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("dX", 2, 2)
    >>> g, z = sp.MatrixSymbol("g", 2, 1), sp.MatrixSymbol("z", 2, 1)
    >>> adjoint(A*dX*z, dX, g).doit()
    A.T*g*z.T
    """
    if L is None or not L.has(dv):
        return None
    if L == dv:
        return G
    if isinstance(L, (MatAdd, sp.Add)):
        return _add([adjoint(a, dv, G) for a in L.args])
    if isinstance(L, MatrixElement):                      # s = M₀₀: Ḡ = s̄ (1x1)
        return adjoint(L.parent, dv, MatMul(G, Identity(1)) if not isinstance(G, MatrixExpr) else G)
    if isinstance(L, Trace):                              # tr M: M̄ = s̄ I
        return adjoint(L.arg, dv, MatMul(_scalar_of(G), Identity(L.arg.shape[0])))
    if isinstance(L, Transpose):                          # Mᵀ: M̄ = Ḡᵀ
        return adjoint(L.arg, dv, Transpose(G))
    if isinstance(L, sp.Mul) and not isinstance(L, MatrixExpr):                           # c s: s̄ = c Ḡ
        c = sp.Mul(*[a for a in L.args if not a.has(dv)])
        m = [a for a in L.args if a.has(dv)]
        return adjoint(m[0], dv, c * _scalar_of(G))
    if isinstance(L, HadamardProduct):                    # X∘M: M̄ = X∘Ḡ
        others = [a for a in L.args if not a.has(dv)]
        m = [a for a in L.args if a.has(dv)][0]
        return adjoint(m, dv, HadamardProduct(*others, G))
    if isinstance(L, MatMul):                             # c A M B: M̄ = c Aᵀ Ḡ Bᵀ
        coeff, facs = L.as_coeff_matrices()
        if coeff.has(dv):                                 # s(dv) P: s̄ = tr(Ḡᵀ P)
            return adjoint(coeff, dv, Trace(MatMul(Transpose(G), *facs)))
        k = next(i for i, f in enumerate(facs) if f.has(dv))
        A, M, B = facs[:k], facs[k], facs[k + 1:]
        parts = ([Transpose(MatMul(*A))] if A else []) + [G] + ([Transpose(MatMul(*B))] if B else [])
        g = MatMul(coeff, *parts) if (coeff != 1 or len(parts) > 1) else G
        if M.shape == (1, 1) and not isinstance(g, MatrixExpr):
            g = MatMul(g, Identity(1))
        return adjoint(M, dv, g)
    if isinstance(L, MatrixExpr) and not L.has(dv):
        return None
    raise StatementError(f"no adjoint rule for {_piece(L)}")
