"""A Derivation as a plain dict (``symimplicit derive --format json``)."""
from __future__ import annotations

import sympy as sp

from symimplicit.derive import EXPLICIT_DET
from symimplicit.report.printer import DerivationPrinter

__all__ = ["derivation_summary"]


def _entry(expr, printer: DerivationPrinter) -> dict:
    return {"expr": sp.sstr(expr), "latex": printer.doprint(expr)}


def derivation_summary(derivation, requests) -> dict:
    """{statement, kind, unknowns, params, derivatives: [{wrt, expr | components, latex}],
    conditions: [{expr, latex}]}: SymPy ``str`` forms and LaTeX, JSON-ready."""
    st = derivation.statement
    p = DerivationPrinter()
    derivatives = []
    for wrt in requests:
        value = derivation.derivative(*wrt)
        item = {"wrt": [str(w) for w in wrt], "order": len(wrt)}
        if isinstance(value, sp.MatrixExpr):           # a system's unevaluated linear solve
            item["form"] = "linear solve J z = -R (entries expanded for small systems)"
            value = derivation.derivative(*wrt, explicit=True, multipliers=True) \
                if len(st.system_unknowns) <= EXPLICIT_DET else \
                sp.Matrix([value[i, 0] for i in range(value.shape[0])])
        if isinstance(value, sp.MatrixBase):
            item["components"] = {str(x): _entry(v, p)      # unknowns, then any λ
                                  for x, v in zip(st.system_unknowns, value)}
        else:
            item.update(_entry(value, p))
        derivatives.append(item)
    return {
        "statement": repr(st),
        "kind": st.kind,
        "unknowns": [s.name for s in st.unknowns],
        "params": [s.name for s in st.params],
        "multipliers": [s.name for s in st.multipliers],
        "derivatives": derivatives,
        "conditions": [_entry(c, p) for c in derivation.conditions],
    }
