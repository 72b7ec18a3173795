"""LaTeX of a matrix derivation in matrix notation: bold matrices, ᵀ, ⁻¹, diag, ∘.

Steps: the statement, the differential of both sides, dz collected, solved, the vjp.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol
from sympy.printing.latex import LatexPrinter

__all__ = ["MatrixLatexPrinter", "matrix_latex", "derivation_latex", "kkt_latex"]


class MatrixLatexPrinter(LatexPrinter):
    """Bold matrices (upright d for differentials), tr, diag, ∘; a 1x1 trace prints bare."""

    def _print_MatrixSymbol(self, expr):
        return self._name(expr.name)

    def _name(self, name):
        if name.startswith("d") and len(name) > 1:                  # dX: upright d, bold X
            return r"\mathrm{d}" + self._name(name[1:])
        if name.endswith("_bar"):
            return r"\bar{" + self._name(name[:-4]) + "}"
        if name == "lambda_":
            return r"\boldsymbol{\lambda}"
        if name.startswith("lambda") and (name[6:] == "" or name[6:].isdigit()):       # KKT multipliers λ, λ₁, ...
            return r"\boldsymbol{\lambda}" + (f"_{{{name[6:]}}}" if name[6:] else "")
        if name in ("u_", "v_") or (name[:1] == "v" and name.endswith("_") and name[1:-1].isdigit()):
            sub = name[1:-1]                                        # KKT adjoints u, v, v₁, ...
            return r"\mathbf{" + name[0] + "}" + (f"_{{{sub}}}" if sub else "")
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


def kkt_latex(derivation) -> list:
    """The align* rows of the KKT derivation of a constrained matrix minimisation."""
    from .derivation import _simp
    d, st = derivation, derivation.statement
    p = matrix_latex
    z = st.unknown
    lams = d.multipliers
    lines = [(r"\text{statement: }", p(z) + r" = \operatorname*{arg\,min} " + p(st.expression)
              + r" \;\text{ s.t. } " + r",\; ".join(p(g) + r" = \mathbf{0}" for g in st.constraints))]
    lag = " + ".join(p(l) + "^{T} " + r"\left(" + p(g) + r"\right)" for l, g in zip(lams, st.constraints))
    lines.append((r"\text{Lagrangian: }", "L = " + p(st.expression) + " + " + lag))
    lines.append((r"\text{stationarity: }", r"\mathbf{F} = \nabla_{" + p(z) + "} L = "
                  + p(st.residual) + r" = \mathbf{0}"))
    dl = " + ".join(p(sp.Transpose(B).doit()) + r" \mathrm{d}" + p(l) for B, l in zip(d.g_z, lams))
    dth = [_simp(t) for t, _ in d.partials.values() if t is not None]
    lines.append((r"\text{differential: }", r"\mathrm{d}\mathbf{F} = " + p(d.H) + r" \mathrm{d}"
                  + p(z) + " + " + dl + "".join(r" + \left(" + p(t) + r"\right)" for t in dth)
                  + r" = \mathbf{0}"))
    for k, (g, B) in enumerate(zip(st.constraints, d.g_z)):
        gth = [_simp(G[k]) for _, G in d.partials.values() if G[k] is not None]
        lines.append(("", r"\mathrm{d}\mathbf{g}" + (f"_{{{k + 1}}}" if len(lams) > 1 else "")
                      + " = " + p(B) + r" \mathrm{d}" + p(z)
                      + "".join(r" + \left(" + p(t) + r"\right)" for t in gth) + r" = \mathbf{0}"))
    lines.append((r"\text{collect: }", r"\mathbf{H} = " + p(d.H) + r",\quad \mathbf{K} = " + p(d.KKT)))
    lines.append((r"\text{solve: }", p(sp.BlockMatrix([[sp.MatrixSymbol("d" + z.name, *z.shape)]]
                  + [[sp.MatrixSymbol("d" + l.name, *l.shape)] for l in lams])) + " = " + p(d.differential())))
    for q in st.params:
        if not isinstance(q, sp.MatrixSymbol) or q.shape[1] == 1:
            lines.append((r"\text{Jacobian: }", r"\frac{\partial (" + p(z) + ", "
                          + ", ".join(p(l) for l in lams) + r")}{\partial " + p(q) + "} = "
                          + p(d.derivative(q))))
    adj, grads = d.vjp()
    u, vs = d.adjoints
    lines.append((r"\text{vjp: }", p(sp.BlockMatrix([[u]] + [[v] for v in vs])) + " = " + p(adj)))
    for q, g in grads.items():
        lines.append(("", r"\bar{" + p(q) + "} = " + p(g)))
    return lines


def document(derivation) -> str:
    """A complete LaTeX document of the derivation (``amsmath``, ``breqn``-free)."""
    from .kkt import KKTDerivation
    rows = kkt_latex(derivation) if isinstance(derivation, KKTDerivation) else derivation_latex(derivation)
    body = " \\\\\n".join(f"{a} &\\; {b}" for a, b in rows)
    return ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
            "\\usepackage[margin=1.5cm,landscape]{geometry}\n\\begin{document}\n"
            "\\noindent Functions of matrices act entrywise; $\\circ$ is the entrywise product.\n"
            "\\begin{align*}\n" + body + "\n\\end{align*}\n\\end{document}\n")
