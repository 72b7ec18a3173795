"""Issue 10: the LaTeX of a system prints matrix notation: J named once with its entries,
∂z/∂θ = -J⁻¹ ∂F/∂θ, higher orders as J z_S = -R_S; never an expanded inverse.  The tanh DEQ
cell z = tanh(Wz + u) at n = 6 and n = 50 compiles with pdflatex and stays a few pages
(counted by poppler's pdfinfo, which .ci/run installs with pdftoppm)."""
from __future__ import annotations

import random
import re
import shutil
import subprocess

import pytest
import sympy as sp

from symimplicit import FixedPoint

needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None or
                                    shutil.which("pdfinfo") is None,
                                    reason="pdflatex or pdfinfo (poppler-utils) not installed")


def deq_cell(n: int, seed: int = 0) -> FixedPoint:
    """z = tanh(W z + u) with a sparse numeric W (about 3 nonzeros per row), |W| small."""
    rng = random.Random(seed)
    z = sp.symbols(f"z1:{n + 1}")
    u = sp.symbols(f"u1:{n + 1}")
    rows = []
    for i in range(n):
        cols = sorted({i, (i + 1) % n, rng.randrange(n)})
        rows.append(sp.tanh(sum(sp.Rational(rng.randint(-4, 4), 10) * z[j] for j in cols) + u[i]))
    return FixedPoint(rows, list(z), tuple(u))


def pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


@pytest.mark.parametrize("n", [6, 50])
def test_system_latex_uses_the_solve_notation(n):
    d = deq_cell(n).derive()
    d.derivative(sp.Symbol("u1"))
    tex = d.latex()
    assert r"^{-1}" in tex                                       # -J⁻¹ ∂F/∂θ, unevaluated
    assert "adj" not in tex
    entries = len(re.findall(r"J_{\d+,\s*\d+}|J_{\d+ \d+}", tex))
    assert entries <= 3 * n + 5 if n > 3 else True                # J's nonzeros listed once
    assert len(tex) < 400 * n + 20000                            # grows with the entries only


def test_second_order_is_a_solve_with_the_same_j():
    d = deq_cell(6).derive()
    u1, u2 = sp.symbols("u1 u2")
    d.derivative(u1, u2)
    tex = d.latex()
    assert "R_{" in tex and r"^{-1}" in tex


@needs_pdflatex
@pytest.mark.parametrize("n, most_pages", [(6, 4), (50, 12)])
def test_system_derivation_compiles_and_stays_short(n, most_pages, tmp_path):
    d = deq_cell(n).derive()
    d.derivative(sp.Symbol("u1"))
    path = d.pdf(tmp_path / f"deq{n}.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    assert 1 <= pages(path) <= most_pages


@needs_pdflatex
def test_second_order_of_a_dense_cell_stays_a_few_pages(tmp_path):
    """The dense 6-unknown cell of benchmarks/systems.py: the R_S entries (hundreds of operations
    each as derived: 23 pages) are shown factored, tanh(wᵢᵀz + uᵢ) named ωᵢ once."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = 6
    W = 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)
    z, u = sp.symbols(f"z1:{n + 1}"), sp.symbols(f"u1:{n + 1}")
    W = [[sp.Rational(round(W[i, j] * 1000), 1000) for j in range(n)] for i in range(n)]
    d = FixedPoint([sp.tanh(sum(W[i][j] * z[j] for j in range(n)) + u[i]) for i in range(n)],
                   list(z), list(u)).derive()
    d.derivative(u[0], u[1])
    step = next(s for s in d.steps if s.kind == "higher_order")
    named = {e.lhs: e.rhs for e in step.equations if str(e.lhs).startswith("ω")}
    assert len(named) == n and all(isinstance(v, sp.tanh) for v in named.values())
    entries = [e.rhs for e in step.equations if str(e.lhs).startswith("R_")]
    assert len(entries) == n and max(sp.count_ops(e) for e in entries) < 80
    from symimplicit.derive.steps import StepWriter
    R = StepWriter(d)._display(d.residual_of((0, 1)))    # the shown entries are R_S, rewritten
    for shown, full in zip(entries, R):
        assert sp.expand(shown.xreplace(named) - full) == 0
    path = d.pdf(tmp_path / "second.pdf")
    assert 1 <= pages(path) <= 4
