"""The derivation of a matrix statement by differentials.

dF = F_z dz + Σ_θ F_θ[dθ] = 0  ⇒  dz = -F_z⁻¹ Σ_θ F_θ[dθ];
vjp: λ = F_z⁻ᵀ z̄, θ̄ = -F_θ*[λ] (the adjoint of dθ ↦ F_θ[dθ], shaped like θ).
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import (MatrixSymbol, MatMul, MatAdd, Inverse, Transpose,
                                        HadamardProduct)

from ..errors import DerivationError
from .rules import differential, collect, adjoint

__all__ = ["MatrixDerivation"]


def _d(sym):
    """The differential symbol dθ of θ (a MatrixSymbol or a scalar Symbol)."""
    if isinstance(sym, MatrixSymbol):
        return MatrixSymbol("d" + sym.name, *sym.shape)
    return sp.Symbol("d" + sym.name)


def _pull_signs(e):
    """(-X) ∘ Y = -(X ∘ Y): signs out of entrywise products, so doit can cancel them."""
    def fix(h):
        sign, args = 1, []
        for a in h.args:
            if isinstance(a, MatMul) and a.args[0] == -1:
                sign, a = -sign, MatMul(*a.args[1:]) if len(a.args) > 2 else a.args[1]
            args.append(a)
        return MatMul(-1, HadamardProduct(*args)) if sign < 0 else HadamardProduct(*args)
    return e.replace(lambda x: isinstance(x, HadamardProduct), fix)


def _simp(e):
    return _pull_signs(e.doit()).doit() if e is not None else None


class MatrixDerivation:
    """dF, F_z, the differential dz, Jacobians and vjp formulas of a matrix statement.

    Attributes: ``dz`` (the unknown's differential symbol), ``partials`` (dict θ -> F_θ[dθ],
    linear in dθ), ``F_z`` (matrix expression), ``cotangent`` (the symbol z̄).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import MatrixRoot
    >>> M, x, b = sp.MatrixSymbol("M", 3, 3), sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("b", 3, 1)
    >>> d = MatrixRoot(M*x + b - x, x, (M, b)).derive()
    >>> d.derivative(b)
    -(-I + M)**(-1)
    """

    def __init__(self, statement):
        self.statement = st = statement
        F, z = st.residual, st.unknown
        self.dz = _d(z)
        self.dtheta = {p: _d(p) for p in st.params}
        Lz = differential(F, z, self.dz)
        if Lz is None:
            raise DerivationError(f"the residual {F} does not depend on {z}")
        self.F_z_dz = Lz
        self.F_z = _simp(collect(Lz, self.dz))                    # F_z with dF = F_z dz + ...
        self.partials = {p: differential(F, p, self.dtheta[p]) for p in st.params}
        self.cotangent = MatrixSymbol(z.name + "_bar", *z.shape)
        self.multiplier = MatrixSymbol("lambda_", *z.shape)

    def differential(self):
        """dz = -F_z⁻¹ Σ_θ F_θ[dθ] as a matrix expression in the dθ."""
        terms = [t for t in self.partials.values() if t is not None]
        if not terms:
            return sp.ZeroMatrix(*self.dz.shape)
        rhs = terms[0] if len(terms) == 1 else MatAdd(*terms)
        return MatMul(-1, Inverse(self.F_z), rhs)

    def derivative(self, param):
        """∂z/∂θ for a scalar θ (a column) or a column θ (a matrix); a matrix θ has no
        matrix-shaped Jacobian: use :meth:`differential` or :meth:`vjp`."""
        if param not in self.statement.params:
            raise DerivationError(f"{param} is not a parameter of {self.statement}")
        L = self.partials[param]
        if L is None:
            return sp.ZeroMatrix(self.dz.shape[0], 1 if not isinstance(param, MatrixSymbol)
                                 else param.shape[0])
        dp = self.dtheta[param]
        if isinstance(param, MatrixSymbol):
            if param.shape[1] != 1:
                raise DerivationError(f"∂z/∂{param} of the {param.shape} matrix {param} is a "
                                      "tensor; use differential() or vjp()")
            F_p = _simp(collect(L, dp))
        else:
            F_p = _simp(L.xreplace({dp: sp.S.One}))               # linear in the scalar dθ
        return _simp(MatMul(-1, Inverse(self.F_z), F_p))          # ∂z/∂θ = -F_z⁻¹ F_θ

    def second_derivative(self, param):
        """∂²z/∂θ² for a scalar parameter θ: the total differential of J = ∂z/∂θ,
        d J = ∂_θ J dθ + ∂_z J [J dθ] (dz = J dθ), by the same rule table.

        Examples
        ========
        >>> import sympy as sp
        >>> from symimplicit.matrix import MatrixRoot
        >>> A, x, b = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("b", 2, 1)
        >>> t = sp.Symbol("t")
        >>> MatrixRoot(A*x - t*b, x, (A, b, t)).derive().second_derivative(t)
        0
        """
        if isinstance(param, MatrixSymbol) or param not in self.statement.params:
            raise DerivationError(f"second_derivative needs a scalar parameter of "
                                  f"{self.statement}, got {param}")
        J = self.derivative(param)
        dp = self.dtheta[param]
        parts = [differential(J, param, dp), differential(J, self.statement.unknown, self.dz)]
        parts = [t for t in parts if t is not None]
        if not parts:
            return sp.ZeroMatrix(*self.dz.shape)
        total = (parts[0] if len(parts) == 1 else MatAdd(*parts)).xreplace(
            {self.dz: MatMul(J, dp)})                             # dz = J dθ
        return _simp(total.xreplace({dp: sp.S.One}))

    def latex(self) -> str:
        """The step-by-step derivation as a LaTeX document in matrix notation."""
        from .latex import document
        return document(self)

    def text(self) -> str:
        """The step-by-step derivation as plain text, one step a line
        (:func:`~symimplicit.matrix.text.derivation_text`)."""
        from .text import derivation_text
        return derivation_text(self)

    def pdf(self, path):
        """Compile :meth:`latex` with pdflatex to ``path`` (``LatexError`` on failure)."""
        from ..report.pdf import compile_pdf
        return compile_pdf(self.latex(), path)

    def vjp(self):
        """(λ formula, {θ: θ̄}) with λ = F_z⁻ᵀ z̄ and θ̄ = -F_θ*[λ], in terms of ``multiplier``."""
        lam_eq = MatMul(Inverse(Transpose(self.F_z)), self.cotangent)
        grads = {}
        for p, L in self.partials.items():
            if L is None:
                grads[p] = sp.ZeroMatrix(*p.shape) if isinstance(p, MatrixSymbol) else sp.S.Zero
                continue
            if not isinstance(p, MatrixSymbol):                   # θ̄ = -λᵀ F_θ
                g = _simp(L.xreplace({self.dtheta[p]: sp.S.One}))
                g = sp.Mul(-1, sp.Trace(MatMul(Transpose(self.multiplier), g)))
                grads[p] = g
                continue
            g = adjoint(L, self.dtheta[p], self.multiplier)
            grads[p] = _simp(MatMul(-1, g))
        return lam_eq.doit(), grads
