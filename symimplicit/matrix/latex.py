"""LaTeX of a matrix derivation in matrix notation: bold matrices, ᵀ, ⁻¹, diag, ∘.

Steps: the statement, the differential of both sides, dz collected, solved, the vjp.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol, MatAdd, MatMul
from sympy.printing.latex import LatexPrinter

__all__ = ["MatrixLatexPrinter", "matrix_latex", "derivation_latex"]


class MatrixLatexPrinter(LatexPrinter):
    """Bold matrices (upright d for differentials), tr, diag, ∘; a 1x1 trace prints bare."""

    def _print_MatrixSymbol(self, expr):
        name = expr.name
        if name.startswith("d") and len(name) > 1:                  # dX: upright d, bold X
            return r"\mathrm{d}" + self._bold(name[1:])
        if name.endswith("_bar"):
            return r"\bar{" + self._bold(name[:-4]) + "}"
        if name == "lambda_":
            return r"\boldsymbol{\lambda}"
        return self._bold(name)

    def _bold(self, name):
        return r"\mathbf{" + name + "}"

    def _print_Symbol(self, expr, style="plain"):
        if expr.name.startswith("d") and len(expr.name) > 1:
            return r"\mathrm{d}" + super()._print_Symbol(sp.Symbol(expr.name[1:]))
        return super()._print_Symbol(expr)

    def _print_Identity(self, expr):
        return r"\mathbf{I}"

    def _print_Trace(self, expr):
        if expr.arg.shape == (1, 1):                                # tr of a 1x1 = its entry
            return self._print(expr.arg)
        return r"\operatorname{tr}\left(" + self._print(expr.arg) + r"\right)"

    def _print_DiagMatrix(self, expr):
        return r"\operatorname{diag}\left(" + self._print(expr.args[0]) + r"\right)"

    def _print_HadamardProduct(self, expr):
        return r" \circ ".join(self.parenthesize(a, 50) for a in expr.args)

    def _print_ElementwiseApplyFunction(self, expr):               # f(X) entrywise
        x = sp.Dummy("x")
        marker = sp.Symbol("MATRIXARGUMENT")
        value = expr.function(x).xreplace({x: marker})
        body, m, arg = self._print(value), self._print(marker), self._print(expr.expr)
        wrapped = r"\left(" + m + r" \right)"
        body = (body.replace(wrapped, r"\left(" + arg + r" \right)") if wrapped in body
                else body.replace(m, r"\left(" + arg + r"\right)"))
        return r"\left(" + body + r"\right)" if isinstance(value, sp.Add) else body


def matrix_latex(expr) -> str:
    """The LaTeX of one matrix expression.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix.latex import matrix_latex
    >>> W, z = sp.MatrixSymbol("W", 3, 3), sp.MatrixSymbol("z", 3, 1)
    >>> matrix_latex(sp.Inverse(W).T * z)
    '\\\\left(\\\\mathbf{W}^{T}\\\\right)^{-1} \\\\mathbf{z}'
    """
    return MatrixLatexPrinter().doprint(expr)


def derivation_latex(derivation) -> str:
    """The align* body of the step-by-step matrix derivation (a list of LaTeX lines)."""
    d, st = derivation, derivation.statement
    p = matrix_latex
    z = st.unknown
    lines = []
    if st.kind == "fixed point":
        lines.append((r"\text{statement: }", p(z) + " = " + p(st.expression)))
    elif st.kind == "minimisation":
        lines.append((r"\text{statement: }", p(z) + r" = \operatorname*{arg\,min} " + p(st.expression)))
        lines.append((r"\text{stationarity: }", r"\mathbf{F} = \nabla f = " + p(st.residual) + r" = \mathbf{0}"))
    else:
        lines.append((r"\text{statement: }", p(st.residual) + r" = \mathbf{0}"))
    terms = [d.F_z_dz] + [t for t in d.partials.values() if t is not None]
    lines.append((r"\text{differential: }", r"\mathrm{d}\mathbf{F} = " + r" + ".join(
        r"\left(" + p(t) + r"\right)" for t in terms) + r" = \mathbf{0}"))
    lines.append((r"\text{collect } \mathrm{d}" + p(z) + ": ",
                  r"\mathbf{F}_{" + p(z) + "} = " + p(d.F_z)))
    lines.append((r"\text{solve: }", r"\mathrm{d}" + p(z) + " = " + p(d.differential())))
    for q in st.params:
        if not isinstance(q, MatrixSymbol) or q.shape[1] == 1:
            lines.append((r"\text{Jacobian: }", r"\frac{\partial " + p(z) + r"}{\partial " + p(q)
                          + "} = " + p(d.derivative(q))))
    lam, grads = d.vjp()
    lines.append((r"\text{vjp: }", r"\boldsymbol{\lambda} = " + p(lam)))
    for q, g in grads.items():
        lines.append(("", r"\bar{" + p(q) + "} = " + p(g)))
    return lines


def document(derivation) -> str:
    """A complete LaTeX document of the derivation (``amsmath``, ``breqn``-free)."""
    rows = derivation_latex(derivation)
    body = " \\\\\n".join(f"{a} &\\; {b}" for a, b in rows)
    return ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
            "\\usepackage[margin=1.5cm,landscape]{geometry}\n\\begin{document}\n"
            "\\noindent Functions of matrices act entrywise; $\\circ$ is the entrywise product.\n"
            "\\begin{align*}\n" + body + "\n\\end{align*}\n\\end{document}\n")
