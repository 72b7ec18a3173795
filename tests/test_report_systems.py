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
