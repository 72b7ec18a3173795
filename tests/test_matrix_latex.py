"""The matrix derivation in LaTeX: matrix notation, every step, and a real pdflatex run."""
import shutil

import pytest
import sympy as sp

from symimplicit.matrix import MatrixFixedPoint, MatrixMinimize, quad
from symimplicit.matrix.latex import matrix_latex

needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")


def _deq():
    n = sp.Symbol("n")
    W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
    return MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b)).derive()


def test_deq_steps_in_matrix_notation():
    text = _deq().latex()
    for step in ("statement", "differential", "collect", "solve", "Jacobian", "vjp"):
        assert r"\text{" + step in text
    assert r"\operatorname{diag}" in text and r"\circ" in text and "^{-1}" in text
    assert r"\bar{\mathbf{W}}" in text and r"\mathrm{d}\mathbf{W}" in text
    assert "_x" not in text and "Lambda" not in text and "MATRIXARGUMENT" not in text
    # the statement row is z = tanh(Wz + b), the argument parenthesised once
    assert r"\mathbf{z} = \tanh{\left(\mathbf{W} \mathbf{z} + \mathbf{b} \right)}" in text


def _kkt():
    n, m, p = sp.symbols("n m p")
    A, b, x = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("b", m, 1), sp.MatrixSymbol("x", n, 1)
    C, d = sp.MatrixSymbol("C", p, n), sp.MatrixSymbol("d", p, 1)
    return MatrixMinimize(quad(A * x - b, A * x - b), x, (A, b, C, d), constraints=[C * x - d]).derive()


def test_kkt_steps_in_matrix_notation():
    text = _kkt().latex()
    for step in ("statement", "Lagrangian", "stationarity", "differential", "collect", "solve",
                 "Jacobian", "vjp"):
        assert r"\text{" + step in text
    assert r"\text{ s.t. } \mathbf{C} \mathbf{x} - \mathbf{d} = \mathbf{0}" in text
    # K = [[2AᵀA, Cᵀ], [C, 0]] as a block matrix, λ and the adjoints u, v printed as symbols
    assert (r"\mathbf{K} = \left[\begin{matrix}2 \mathbf{A}^{T} \mathbf{A} & \mathbf{C}^{T}"
            r"\\\mathbf{C} & 0\end{matrix}\right]") in text
    assert r"\bar{\mathbf{d}} = \mathbf{v}" in text
    assert r"\mathbf{C}^{T} \boldsymbol{\lambda}" in text and "lambda}" not in text.replace(r"\lambda}", "")


def test_quadratic_forms_print_without_trace():
    w = sp.MatrixSymbol("w", 3, 1)
    assert matrix_latex(quad(w, w)) == r"\mathbf{w}^{T} \mathbf{w}"
    A = sp.MatrixSymbol("A", 3, 3)
    assert matrix_latex(sp.Trace(A)) == r"\operatorname{tr}\left(\mathbf{A}\right)"


@needs_pdflatex
@pytest.mark.parametrize("which", ["deq", "ridge", "kkt"])
def test_derivation_compiles(which, tmp_path):
    if which == "deq":
        d = _deq()
    elif which == "kkt":
        d = _kkt()
    else:
        X, y, w = sp.MatrixSymbol("X", 6, 3), sp.MatrixSymbol("y", 6, 1), sp.MatrixSymbol("w", 3, 1)
        lam = sp.Symbol("lambda")
        d = MatrixMinimize(quad(X * w - y, X * w - y) + lam * quad(w, w), w, (X, y, lam)).derive()
    pdf = d.pdf(tmp_path / "m.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_docs_page_examples_run():
    import doctest
    from pathlib import Path
    result = doctest.testfile(str(Path(__file__).parents[1] / "docs" / "matrix.md"),
                              module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
