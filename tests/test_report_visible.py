"""Compiled derivations show every display row: pdflatex typesets an over-wide row silently
and, past TeX's dimension limits, can drop a whole ``align*`` (the portfolio's 400-character
second-order condition once blanked three pages).  The text pdftotext extracts must hold one
relation sign per typeset row, and the conditions of a bordered Hessian must be those of the
problem, whatever the order of the unknowns."""
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

from symimplicit import Minimize
from symimplicit.derive import Step
from symimplicit.report.latex import PREAMBLE, step_rows
from symimplicit.report.pdf import compile_pdf
from symimplicit.report.printer import DerivationPrinter, visible_width
from tests.catalog import CATALOG

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
needs_tools = pytest.mark.skipif(not (shutil.which("pdflatex") and shutil.which("pdftotext")),
                                 reason="pdflatex / pdftotext (poppler-utils) not installed")
_SIGN = re.compile(r"[=≤≥<>]")


def _rows(tex: str) -> int:
    """Typeset rows of the align* environments: lines with an alignment point ``&`` that
    carry a relation (continuation lines start with ``&\\qquad``)."""
    rows = 0
    for line in tex.splitlines():
        if "&" in line and not line.startswith(r"&\qquad") and not line.startswith(r"\intertext"):
            rows += 1
    return rows


def _visible_signs(pdf: Path) -> int:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    return len(_SIGN.findall(text))


def _check(tex: str, tmp_path, name: str):
    pdf = compile_pdf(tex, tmp_path / f"{name}.pdf")
    rows = _rows(tex)
    assert rows > 0
    assert _visible_signs(pdf) >= rows, f"{name}: displays missing from the PDF"


@needs_tools
@pytest.mark.parametrize("name, active", [("portfolio", [3]), ("box_projection", [0, 5]),
                                          ("simplex_projection", [1, 3])])
def test_active_set_derivations_show_every_row(name, active, tmp_path):
    statement = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")["statement"]
    _check(statement.derive(active=active).latex(document=True), tmp_path, name)


@needs_tools
@pytest.mark.parametrize("problem", CATALOG[:6], ids=[p.name for p in CATALOG[:6]])
def test_catalog_derivations_show_every_row(problem, tmp_path):
    _check(problem.statement.derive().latex(document=True), tmp_path, problem.name)


def test_a_long_condition_is_broken_over_lines():
    g = sp.Symbol("gamma")
    long = sum(sp.Rational(k + 10, 100) * g**2 * (1 + sp.Rational(3 * k, 1000) * g**2)
               for k in range(12))
    step = Step("condition", "Where it fails.", (sp.Eq(sp.Symbol("d"), 0),
                                                  sp.Le(long, 0, evaluate=False)))
    rows = step_rows(step, DerivationPrinter())
    assert len(rows) > 2                                         # broken, not one 400-wide row
    assert all(visible_width(r) < 120 for r in rows)
    assert rows[1].startswith(r"\text{or}\quad 0 &\geq")         # long ≤ 0 written 0 ≥ long


@needs_tools
def test_a_long_condition_compiles_visibly(tmp_path):
    g = sp.Symbol("gamma")
    long = sum(sp.Rational(k + 10, 100) * g**2 * (1 + sp.Rational(3 * k, 1000) * g**2)
               for k in range(30))
    step = Step("condition", "Where it fails.", (sp.Eq(sp.Symbol("d"), 0), sp.Le(long, 0)))
    body = "\\begin{align*}\n" + " \\\\\n".join(step_rows(step, DerivationPrinter())) + \
           "\n\\end{align*}"
    tex = PREAMBLE + "\\begin{document}\n" + body + "\n\\end{document}\n"
    _check(tex, tmp_path, "long")


def test_bordered_hessian_orders_the_unknowns_so_its_minors_decide():
    # min Σ (wᵢ - rᵢ)² s.t. Σ wᵢ = 1, w4 = 0: a strict minimum for every r (the Hessian
    # 2I is positive definite on every subspace), so no second-order relation may fail;
    # with w4 last the leading bordered minor B₅ is singular (the test's hypothesis fails)
    w = sp.symbols("w1:5")
    r = sp.symbols("r1:5")
    st = Minimize(sum((wi - ri)**2 for wi, ri in zip(w, r)), list(w), list(r),
                  constraints=[sum(w) - 1, w[3]])
    d = st.derive()
    assert all(rel != sp.false for rel in d.second_order)
    assert sp.true not in d.conditions and sp.false not in d.conditions
    # and the failure set is where the Hessian is not PD on the null space (never here)
    assert not any(c.has(sp.Symbol("r1")) for c in d.conditions if c.is_Relational and
                   not isinstance(c, sp.Eq))


def test_bordered_hessian_of_floats_has_no_rounding_terms():
    w, g = sp.symbols("w1:3"), sp.Symbol("gamma", positive=True)
    S = sp.Matrix([[sp.Float("0.1"), sp.Float("0.02")], [sp.Float("0.02"), sp.Float("0.08")]])
    W = sp.Matrix(w)
    st = Minimize(g * (W.T * S * W)[0], list(w), [g], constraints=[w[0] + w[1] - 1])
    (rel,) = st.derive().second_order
    # (-1)¹ det [[0, 1, 1], [1, .2γ, .04γ], [1, .04γ, .16γ]] = 0.28γ > 0, exactly one term
    assert rel == sp.StrictGreaterThan(g, 0) or rel is sp.true
