"""A matrix derivation as plain text: one step a line, SymPy's str with blocks as [A, B; C, D]."""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol
from sympy.printing.str import StrPrinter

__all__ = ["matrix_text", "derivation_text"]


class _TextPrinter(StrPrinter):
    """Blocks as [A, B; C, D], f(X) entrywise as f(X), X ∘ Y, diag(x), a 1x1 trace bare."""

    def _print_BlockMatrix(self, expr):                             # [A, B; C, D] on one line
        rows = expr.blocks.tolist()
        return "[" + "; ".join(", ".join(self._print(b) for b in r) for r in rows) + "]"

    def _print_ElementwiseApplyFunction(self, expr):               # f∘(X) printed f(X)
        marker = sp.Symbol("MATRIXARGUMENT")
        value = expr.function(marker)
        arg = "(" + self._print(expr.expr) + ")"
        body = self._print(value).replace("(MATRIXARGUMENT)", arg).replace("MATRIXARGUMENT", arg)
        return "(" + body + ")" if isinstance(value, sp.Add) else body

    def _print_HadamardProduct(self, expr):
        return " ∘ ".join(self.parenthesize(a, 50) for a in expr.args)

    def _print_DiagMatrix(self, expr):
        return "diag(" + self._print(expr.args[0]) + ")"

    def _print_Trace(self, expr):
        if expr.arg.shape == (1, 1):                                # tr of a 1x1 = its entry
            return self._print(expr.arg)
        return "tr(" + self._print(expr.arg) + ")"


def matrix_text(expr) -> str:
    """One expression on one line.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix.text import matrix_text
    >>> H, C = sp.MatrixSymbol("H", 3, 3), sp.MatrixSymbol("C", 2, 3)
    >>> matrix_text(sp.BlockMatrix([[H, C.T], [C, sp.ZeroMatrix(2, 2)]]))
    '[H, C.T; C, 0]'
    """
    return _TextPrinter().doprint(expr)


def derivation_text(derivation) -> str:
    """The steps of a matrix derivation (unconstrained or KKT) as text lines.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.matrix import MatrixFixedPoint
    >>> M, x, b = sp.MatrixSymbol("M", 3, 3), sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("b", 3, 1)
    >>> print(derivation_text(MatrixFixedPoint(M*x + b, x, (M, b)).derive()))
    statement:    x = M*x + b
    differential: dF = -M*dx - dM*x - db + dx = 0
    collect dx:   F_x = I - M
    solve:        dx = -(I - M)**(-1)*(-dM*x - db)
    Jacobian:     dx/db = (I - M)**(-1)
    vjp:          lambda_ = (I - M.T)**(-1)*x_bar
                  M_bar = lambda_*x.T
                  b_bar = lambda_
    """
    from .kkt import KKTDerivation
    from .derivation import _simp
    d, st, s = derivation, derivation.statement, matrix_text
    z = st.unknown
    rows = []
    if isinstance(d, KKTDerivation):
        lams = d.multipliers
        rows.append(("statement", f"{s(z)} = argmin {s(st.expression)} s.t. "
                     + ", ".join(f"{s(g)} = 0" for g in st.constraints)))
        rows.append(("Lagrangian", f"L = {s(st.expression)} + "
                     + " + ".join(f"{s(l)}.T*({s(g)})" for l, g in zip(lams, st.constraints))))
        rows.append(("stationarity", f"F = grad_{s(z)} L = {s(st.residual)} = 0"))
        dth = [_simp(t) for t, _ in d.partials.values() if t is not None]
        rows.append(("differential", f"dF = {s(d.H)}*d{s(z)} + "
                     + " + ".join(f"{s(sp.Transpose(B).doit())}*d{s(l)}" for B, l in zip(d.g_z, lams))
                     + "".join(f" + ({s(t)})" for t in dth) + " = 0"))
        for k, B in enumerate(d.g_z):
            gth = [_simp(G[k]) for _, G in d.partials.values() if G[k] is not None]
            rows.append(("", f"dg{k + 1 if len(lams) > 1 else ''} = {s(B)}*d{s(z)}"
                         + "".join(f" + ({s(t)})" for t in gth) + " = 0"))
        rows.append(("collect", f"H = {s(d.H)},  K = {s(d.KKT)}"))
        unk = "[" + "; ".join(["d" + z.name] + ["d" + l.name for l in lams]) + "]"
        rows.append(("solve", f"{unk} = {s(d.differential())}"))
        of = ", ".join([z.name] + [l.name for l in lams])
        for q in st.params:
            if not isinstance(q, MatrixSymbol) or q.shape[1] == 1:
                rows.append(("Jacobian", f"d({of})/d{q} = {s(d.derivative(q))}"))
        adj, grads = d.vjp()
        u, vs = d.adjoints
        rows.append(("vjp", "[" + "; ".join([u.name] + [v.name for v in vs]) + f"] = {s(adj)}"))
    else:
        if st.kind == "fixed point":
            rows.append(("statement", f"{s(z)} = {s(st.expression)}"))
        elif st.kind == "minimisation":
            rows.append(("statement", f"{s(z)} = argmin {s(st.expression)}"))
            rows.append(("stationarity", f"F = grad f = {s(st.residual)} = 0"))
        else:
            rows.append(("statement", f"{s(st.residual)} = 0"))
        terms = [d.F_z_dz] + [t for t in d.partials.values() if t is not None]
        rows.append(("differential", "dF = " + s(sp.MatAdd(*terms).doit()) + " = 0"))
        rows.append((f"collect d{z.name}", f"F_{z.name} = {s(d.F_z)}"))
        rows.append(("solve", f"d{z.name} = {s(d.differential())}"))
        for q in st.params:
            if not isinstance(q, MatrixSymbol) or q.shape[1] == 1:
                rows.append(("Jacobian", f"d{z.name}/d{q} = {s(d.derivative(q))}"))
        adj, grads = d.vjp()
        rows.append(("vjp", f"{d.multiplier.name} = {s(adj)}"))
    for q, g in grads.items():
        rows.append(("", f"{q}_bar = {s(g)}"))
    width = max(len(a) for a, _ in rows) + 1
    return "\n".join((a + ":" if a else "").ljust(width) + " " + b for a, b in rows)
