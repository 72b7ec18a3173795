"""Statements over SymPy ``MatrixSymbol``s: :class:`MatrixRoot`, :class:`MatrixFixedPoint`,
:class:`MatrixMinimize`.  The unknown is a column ``MatrixSymbol`` (n x 1, n a number or a
Symbol); parameters are MatrixSymbols of any shape or scalar Symbols.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol, MatMul

from ..errors import StatementError, ArgumentError
from .rules import check_supported, differential, collect, as_traces

__all__ = ["MatrixRoot", "MatrixFixedPoint", "MatrixMinimize", "quad"]


def quad(a, b):
    """The scalar aᵀb of two columns (or aᵀ M b written ``quad(a, M*b)``), kept unevaluated.

    SymPy turns ``(a.T*b)[0, 0]`` into an index ``Sum``; this keeps the matrix form.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import quad
    >>> w = sp.MatrixSymbol("w", 3, 1)
    >>> quad(w, w)
    Trace(w.T*w)
    """
    if a.shape != b.shape or a.shape[1] != 1:
        raise StatementError(f"quad(a, b) needs two columns of one shape, got {a.shape} and {b.shape}")
    return sp.Trace(MatMul(a.T, b))                          # aᵀb = tr(aᵀb), 1x1


def _lower_sizes(backend, sizes):
    """The sizes dict of ``lower(backend, sizes)``; ``lower(sizes)`` (a dict first) still works."""
    if backend is None or isinstance(backend, dict):
        if backend is not None and sizes is not None:
            raise ArgumentError("lower: sizes given twice (a dict first and sizes=)")
        backend, sizes = "numpy", backend if backend is not None else sizes
    if backend != "numpy":
        raise ArgumentError(f"lower: backend {backend!r} is not available; 'numpy' is "
                            "(the JAX layer is statement.to_jax(sizes))")
    if sizes is not None and not isinstance(sizes, dict):
        raise ArgumentError(f"lower: sizes must be a dict of dimension -> int, got {sizes!r}")
    return dict(sizes or {})


class MatrixStatement:
    """Common part of the matrix statements; ``residual`` is the column F(z, θ) = 0."""

    kind = ""

    def __init__(self, expression, unknown, params):
        if not isinstance(unknown, MatrixSymbol) or unknown.shape[1] != 1:
            raise ArgumentError(f"the unknown of a {self.kind} must be a column MatrixSymbol "
                                f"(n x 1), got {unknown!r}")
        params = tuple(params) if isinstance(params, (list, tuple)) else (params,)
        for p in params:
            if not isinstance(p, (MatrixSymbol, sp.Symbol)):
                raise ArgumentError(f"parameter {p!r} of a {self.kind} must be a MatrixSymbol "
                                    "or a Symbol")
            if p == unknown:
                raise StatementError(f"{p} is both the unknown and a parameter")
        self.unknown, self.params = unknown, params
        check_supported(expression)
        self.expression = expression = as_traces(expression)
        known = {unknown, *params}
        dims = set().union(*(sp.sympify(d).free_symbols for m in known
                             if isinstance(m, MatrixSymbol) for d in m.shape))
        stray = expression.free_symbols - known - dims
        if stray:
            raise StatementError(f"symbol(s) {', '.join(sorted(map(str, stray)))} in the {self.kind} "
                                 "are neither the unknown nor parameters")
        if not expression.has(unknown):
            raise StatementError(f"the unknown {unknown} does not occur in the {self.kind}")
        self.residual = self._residual()
        if self.residual.shape != unknown.shape:
            raise StatementError(f"the {self.kind} has shape {self.residual.shape}, the unknown "
                                 f"{unknown} {unknown.shape}: they must match")
        self._derivation = None

    def _residual(self):
        return self.expression

    def derive(self):
        """The :class:`~symimplicit.matrix.derivation.MatrixDerivation` (cached)."""
        if self._derivation is None:
            from .derivation import MatrixDerivation
            self._derivation = MatrixDerivation(self)
        return self._derivation

    def lower(self, backend="numpy", sizes=None):
        """A numpy evaluator: ``solve(**arrays)``, ``vjp(cotangent, **arrays)``, ``jacobian``.

        ``lower("numpy", sizes={"n": 3})``, ``lower(sizes={...})`` or ``lower({...})`` (the
        sizes dict first, as before); a dimension without a size is read off the arrays at
        call time.

        Examples
        ========
        >>> import numpy as np, sympy as sp
        >>> from symimplicit.matrix import MatrixRoot
        >>> n = sp.Symbol("n")
        >>> M, x, b = sp.MatrixSymbol("M", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
        >>> low = MatrixRoot(M*x + b - x, x, (M, b)).lower("numpy")
        >>> low.solve(M=np.zeros((3, 3)), b=np.ones((3, 1))).ravel().tolist()
        [1.0, 1.0, 1.0]
        """
        from .lowered import LoweredMatrix
        return LoweredMatrix(self, _lower_sizes(backend, sizes))

    def to_jax(self, sizes=None, **options):
        """``lower(sizes).to_jax(**options)``: the JAX layer (:func:`~symimplicit.matrix.jax.to_jax`)."""
        return self.lower(sizes).to_jax(**options)

    def verify(self, at, sizes=None, dps=30, tol=None, cotangent=None, strict=False):
        """The float64 ``lower(sizes)`` path against the entry-wise mpmath truth
        (:func:`~symimplicit.matrix.verify.verify_matrix`); ``symimplicit.verify`` calls this."""
        from .verify import verify_matrix
        return verify_matrix(self, at, sizes=sizes, dps=dps, tol=tol, cotangent=cotangent,
                             strict=strict)

    def __repr__(self):
        return f"{type(self).__name__}({self.expression}, {self.unknown}, {self.params})"


class MatrixRoot(MatrixStatement):
    """F(z, θ) = 0 with z a column MatrixSymbol.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import MatrixRoot
    >>> M, x, b = sp.MatrixSymbol("M", 3, 3), sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("b", 3, 1)
    >>> MatrixRoot(M*x + b - x, x, (M, b)).derive().F_z
    -I + M
    """
    kind = "root"


class MatrixFixedPoint(MatrixStatement):
    """z = f(z, θ); the residual is z - f.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import MatrixFixedPoint
    >>> n = sp.Symbol("n")
    >>> W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
    >>> MatrixFixedPoint((W*z + b).applyfunc(sp.tanh), z, (W, b)).derive().F_z
    -DiagMatrix(Lambda(_x, 1 - tanh(_x)**2).(W*z + b))*W + I
    """
    kind = "fixed point"

    def _residual(self):
        return self.unknown - self.expression


class MatrixMinimize(MatrixStatement):
    """argmin_z f(z, θ) for a scalar f; the residual is the gradient ∇_z f (df = ∇fᵀ dz).

    ``constraints``: equality constraints g(z, θ) = 0, each a column expression (m × 1).  With
    them the unknown is (z, λ) with one multiplier λ (m × 1) per constraint, the Lagrangian is
    L = f + Σ λᵀ g and the residual is ``residual`` = ∇_z L = ∇f + Σ g_zᵀ λ together with g.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import MatrixMinimize, quad
    >>> X, y, w = sp.MatrixSymbol("X", 5, 3), sp.MatrixSymbol("y", 5, 1), sp.MatrixSymbol("w", 3, 1)
    >>> lam = sp.Symbol("lam")
    >>> st = MatrixMinimize(quad(X*w - y, X*w - y) + lam*quad(w, w), w, (X, y, lam))
    >>> st.derive().F_z
    (2*lam)*I + 2*X.T*X
    >>> C, d = sp.MatrixSymbol("C", 2, 3), sp.MatrixSymbol("d", 2, 1)
    >>> MatrixMinimize(quad(X*w - y, X*w - y), w, (X, y, C, d), constraints=[C*w - d]).residual
    C.T*lambda + 2*X.T*(X*w - y)
    """
    kind = "minimisation"

    def __init__(self, expression, unknown, params, constraints=()):
        from .constraints import check_constraints, multiplier_symbols
        self.constraints, self.multipliers = (), ()
        if constraints is not None and not isinstance(constraints, (list, tuple)):
            constraints = [constraints]
        pending = tuple(constraints or ())
        if pending:                                          # λ must exist before _residual
            params_t = tuple(params) if isinstance(params, (list, tuple)) else (params,)
            self.constraints = check_constraints(pending, unknown, params_t)
            self.multipliers = multiplier_symbols(self.constraints, unknown, params_t)
        super().__init__(expression, unknown, params)

    def _residual(self):
        if isinstance(self.expression, MatrixExpr):
            raise StatementError(f"the objective of a minimisation must be a scalar, got the "
                                 f"{self.expression.shape} matrix {self.expression}")
        # the Lagrangian L = f + Σ λᵀ g (= f without constraints)
        L = sp.Add(self.expression, *(sp.Trace(MatMul(lam.T, g))
                                      for lam, g in zip(self.multipliers, self.constraints)))
        dz = MatrixSymbol("d" + self.unknown.name, *self.unknown.shape)
        g = collect(differential(L, self.unknown, dz), dz)        # dL = g dz, ∇L = gᵀ
        return sp.Transpose(g).doit()

    def derive(self):
        """The derivation (cached): a :class:`~symimplicit.matrix.kkt.KKTDerivation` when
        there are constraints, else a :class:`~symimplicit.matrix.derivation.MatrixDerivation`."""
        if self.constraints and self._derivation is None:
            from .kkt import KKTDerivation
            self._derivation = KKTDerivation(self)
        return super().derive()

    def lower(self, backend="numpy", sizes=None):
        """A numpy evaluator (:class:`~symimplicit.matrix.lowered_kkt.LoweredKKT` with constraints);
        the arguments as in :meth:`MatrixStatement.lower`."""
        if self.constraints:
            from .lowered_kkt import LoweredKKT
            return LoweredKKT(self, _lower_sizes(backend, sizes))
        return super().lower(backend, sizes)

    def __repr__(self):
        extra = f", constraints={list(self.constraints)}" if self.constraints else ""
        return (f"{type(self).__name__}({self.expression}, {self.unknown}, {self.params}"
                f"{extra})")
