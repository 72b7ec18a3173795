"""The derivation of an equality-constrained matrix minimisation in KKT form.

argmin_z f(z, θ) s.t. g(z, θ) = 0 (g: m × 1).  Lagrangian L = f + λᵀ g; unknown (z, λ);
residual  F = ∇_z L = ∇f + g_zᵀ λ = 0,  G = g = 0.
Differential of the block system (H = ∂F/∂z, the Hessian of L):
    dF = H dz + g_zᵀ dλ + F_θ[dθ] = 0
    dG = g_z dz          + G_θ[dθ] = 0
    ⇒ [dz; dλ] = −K⁻¹ [F_θ[dθ]; G_θ[dθ]],   K = [[H, g_zᵀ], [g_z, 0]].
vjp: [u; v] = K⁻ᵀ [z̄; λ̄],  θ̄ = −(F_θ*[u] + G_θ*[v]).
Several constraints stack: g = [g₁; g₂; ...], λ = [λ₁; λ₂; ...].
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import (MatrixSymbol, MatMul, MatAdd, Inverse, Transpose,
                                        BlockMatrix, ZeroMatrix)

from ..errors import DerivationError
from .rules import differential, collect, adjoint
from .derivation import _d, _simp
from .constraints import adjoint_symbols

__all__ = ["KKTDerivation"]


def _sum(terms, shape):
    terms = [t for t in terms if t is not None]
    if not terms:
        return ZeroMatrix(*shape)
    return terms[0] if len(terms) == 1 else MatAdd(*terms)


class KKTDerivation:
    """H, g_z, the block KKT matrix K, the differential, Jacobians and the vjp of
    argmin f s.t. g = 0.

    Attributes: ``H`` (∂F/∂z, the Hessian of the Lagrangian), ``g_z`` (one m × n Jacobian per
    constraint), ``KKT`` (the BlockMatrix K), ``multipliers`` (the λ), ``dz``, ``dmultipliers``,
    ``partials`` (θ -> (F_θ[dθ], [G_θ[dθ], ...]), linear in dθ; ``None`` where absent),
    ``cotangent`` (z̄), ``multiplier_cotangents`` (λ̄), ``adjoints`` (u, [v, ...]).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import MatrixMinimize, quad
    >>> A, b, x = sp.MatrixSymbol("A", 4, 3), sp.MatrixSymbol("b", 4, 1), sp.MatrixSymbol("x", 3, 1)
    >>> C, d = sp.MatrixSymbol("C", 2, 3), sp.MatrixSymbol("d", 2, 1)
    >>> k = MatrixMinimize(quad(A*x - b, A*x - b), x, (A, b, C, d), constraints=[C*x - d]).derive()
    >>> k.H, k.g_z
    (2*A.T*A, (C,))
    >>> k.derivative(d)
    -Matrix([
    [2*A.T*A, C.T],
    [      C,   0]])**(-1)*Matrix([
    [ 0],
    [-I]])
    """

    def __init__(self, statement):
        self.statement = st = statement
        z = st.unknown
        self.dz = _d(z)
        self.multipliers = st.multipliers
        self.dmultipliers = tuple(_d(lam) for lam in st.multipliers)
        self.dtheta = {p: _d(p) for p in st.params}
        F = st.residual                                           # ∇_z L = ∇f + Σ g_zᵀ λ
        self.F_z_dz = differential(F, z, self.dz)
        if self.F_z_dz is None:
            raise DerivationError(f"the stationarity {F} does not depend on {z}: "
                                  "the objective is linear in it")
        self.H = _simp(collect(self.F_z_dz, self.dz))              # H = ∂(∇_z L)/∂z
        self.g_z = tuple(_simp(collect(differential(g, z, self.dz), self.dz))
                         for g in st.constraints)                 # dg = g_z dz
        n, ms = z.shape[0], [lam.shape[0] for lam in st.multipliers]
        top = [self.H] + [_simp(Transpose(B)) for B in self.g_z]
        rows = [top] + [[B] + [ZeroMatrix(mi, mj) for mj in ms] for B, mi in zip(self.g_z, ms)]
        self.KKT = BlockMatrix(rows)                              # K = [[H, g_zᵀ], [g_z, 0]]
        self.partials = {p: (differential(F, p, self.dtheta[p]),
                             [differential(g, p, self.dtheta[p]) for g in st.constraints])
                         for p in st.params}
        self.cotangent = MatrixSymbol(z.name + "_bar", *z.shape)
        self.multiplier_cotangents = tuple(MatrixSymbol(lam.name + "_bar", *lam.shape)
                                           for lam in st.multipliers)
        self.adjoints = adjoint_symbols(st)
        self._shapes = [(n, 1)] + [(mi, 1) for mi in ms]

    def differential(self):
        """[dz; dλ] = −K⁻¹ [Σ_θ F_θ[dθ]; Σ_θ G_θ[dθ]] as a block column.

        Examples
        ========
        >>> import sympy as sp
        >>> from symimplicit.matrix import MatrixMinimize, quad
        >>> C, z, d = sp.MatrixSymbol("C", 1, 2), sp.MatrixSymbol("z", 2, 1), sp.MatrixSymbol("d", 1, 1)
        >>> MatrixMinimize(quad(z, z), z, (C, d), constraints=[C*z - d]).derive().differential().shape
        (3, 1)
        """
        parts = list(self.partials.values())
        blocks = [_sum([p[0] for p in parts], self._shapes[0])]
        for k, shape in enumerate(self._shapes[1:]):
            blocks.append(_sum([p[1][k] for p in parts], shape))
        blocks = [_simp(b) for b in blocks]
        return MatMul(-1, Inverse(self.KKT), BlockMatrix([[b] for b in blocks]))

    def _collected(self, L, param, rows):
        """F_θ with L = F_θ dθ for a column or scalar θ (ZeroMatrix when L is None)."""
        dp = self.dtheta[param]
        cols = param.shape[0] if isinstance(param, MatrixSymbol) else 1
        if L is None:
            return ZeroMatrix(rows, cols)
        if isinstance(param, MatrixSymbol):
            return _simp(collect(L, dp))
        return _simp(L.xreplace({dp: sp.S.One}))                  # linear in the scalar dθ

    def derivative(self, param):
        """∂(z, λ)/∂θ = −K⁻¹ [F_θ; G_θ] for a scalar or column θ: a block expression whose
        first n rows are ∂z/∂θ and the rest ∂λ/∂θ; a matrix θ has a tensor Jacobian: use
        :meth:`differential` or :meth:`vjp`.

        Examples
        ========
        >>> import sympy as sp
        >>> from symimplicit.matrix import MatrixMinimize, quad
        >>> C, z, d = sp.MatrixSymbol("C", 1, 2), sp.MatrixSymbol("z", 2, 1), sp.MatrixSymbol("d", 1, 1)
        >>> MatrixMinimize(quad(z, z), z, (C, d), constraints=[C*z - d]).derive().derivative(d).shape
        (3, 1)
        """
        if param not in self.statement.params:
            raise DerivationError(f"{param} is not a parameter of {self.statement}")
        if isinstance(param, MatrixSymbol) and param.shape[1] != 1:
            raise DerivationError(f"∂(z, λ)/∂{param} of the {param.shape} matrix {param} is a "
                                  "tensor; use differential() or vjp()")
        F_p, G_p = self.partials[param]
        blocks = [self._collected(F_p, param, self._shapes[0][0])]
        blocks += [self._collected(L, param, s[0]) for L, s in zip(G_p, self._shapes[1:])]
        return MatMul(-1, Inverse(self.KKT), BlockMatrix([[b] for b in blocks]))

    def second_derivative(self, param):
        """Not derived for constrained problems yet: a ``DerivationError``.

        Examples
        ========
        >>> import sympy as sp
        >>> from symimplicit.matrix import MatrixMinimize, quad
        >>> C, z, t = sp.MatrixSymbol("C", 1, 2), sp.MatrixSymbol("z", 2, 1), sp.Symbol("t")
        >>> MatrixMinimize(t*quad(z, z), z, (C, t), constraints=[C*z]).derive().second_derivative(t)
        Traceback (most recent call last):
        ...
        symimplicit.errors.DerivationError: second derivatives of a constrained matrix minimisation are not derived yet
        """
        raise DerivationError("second derivatives of a constrained matrix minimisation are "
                              "not derived yet")

    def vjp(self):
        """([u; v] formula, {θ: θ̄}) with [u; v] = K⁻ᵀ [z̄; λ̄] and θ̄ = −(F_θ*[u] + G_θ*[v]),
        θ̄ in terms of ``adjoints`` (u, [v, ...]), shaped like θ.

        Examples
        ========
        >>> import sympy as sp
        >>> from symimplicit.matrix import MatrixMinimize, quad
        >>> C, z, d = sp.MatrixSymbol("C", 1, 2), sp.MatrixSymbol("z", 2, 1), sp.MatrixSymbol("d", 1, 1)
        >>> _, grads = MatrixMinimize(quad(z, z), z, (C, d), constraints=[C*z - d]).derive().vjp()
        >>> grads[C], grads[d]
        (-lambda*u_.T - v_*z.T, v_)
        """
        u, vs = self.adjoints
        rhs = BlockMatrix([[self.cotangent]] + [[lb] for lb in self.multiplier_cotangents])
        adj = MatMul(Inverse(Transpose(self.KKT).doit()), rhs)
        grads = {}
        for p, (F_p, G_p) in self.partials.items():
            pairs = [(F_p, u)] + list(zip(G_p, vs))
            if not isinstance(p, MatrixSymbol):                    # θ̄ = −(uᵀ F_θ + Σ vᵀ G_θ)
                terms = [sp.Trace(MatMul(Transpose(a), _simp(L.xreplace({self.dtheta[p]: sp.S.One}))))
                         for L, a in pairs if L is not None]
                grads[p] = sp.Mul(-1, sp.Add(*terms)) if terms else sp.S.Zero
                continue
            terms = [adjoint(L, self.dtheta[p], a) for L, a in pairs if L is not None]
            grads[p] = (_simp(MatMul(-1, _sum(terms, p.shape))) if terms
                        else ZeroMatrix(*p.shape))
        return adj, grads

    def latex(self) -> str:
        """The step-by-step KKT derivation as a LaTeX document in matrix notation."""
        from .latex import document
        return document(self)

    def text(self) -> str:
        """The step-by-step KKT derivation as plain text, one step a line."""
        from .text import derivation_text
        return derivation_text(self)

    def pdf(self, path):
        """Compile :meth:`latex` with pdflatex to ``path`` (``LatexError`` on failure)."""
        from ..report.pdf import compile_pdf
        return compile_pdf(self.latex(), path)
