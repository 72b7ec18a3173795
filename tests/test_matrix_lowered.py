"""The matrix layer on the tape: gradients of a loss through the DEQ against mpmath."""
import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from symimplicit.errors import StatementError
from symimplicit.matrix import MatrixFixedPoint, MatrixMinimize, quad
from symimplicit.tape import Scalar, grad

mp.mp.dps = 30


def _deq(W, b, n):
    f = lambda *zs: [zs[i] - mp.tanh(sum(W[i][j] * zs[j] for j in range(n)) + b[i]) for i in range(n)]
    return mp.findroot(f, [0] * n, tol=mp.mpf(10) ** -28)


@pytest.mark.parametrize("n", [2, 3])
def test_deq_layer_gradient(n):
    rng = np.random.default_rng(40 + n)
    W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
    layer = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b)).lower().primitive()
    Wv = 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)
    bv = rng.standard_normal(n)
    ins = [Scalar(float(v)) for v in list(Wv.ravel()) + list(bv)]
    zs = layer(*ins)
    loss = sum((zi * zi for zi in zs[1:]), zs[0] * zs[0])          # ‖z‖²
    got = grad(loss, ins)

    def loss_of(*entries):                                          # the entry-wise truth
        Wm = [[entries[i * n + j] for j in range(n)] for i in range(n)]
        zt = _deq(Wm, entries[n * n:], n)
        return sum(zt[i] ** 2 for i in range(n))
    x0 = [mp.mpf(float(v.value)) for v in ins]
    for k in range(len(ins)):
        e = [0] * len(ins); e[k] = 1
        dk = mp.diff(loss_of, x0, tuple(e))
        assert got[k] == pytest.approx(float(dk), rel=1e-10, abs=1e-13)
    assert zs[0].value == pytest.approx(float(_deq(Wv.tolist(), bv.tolist(), n)[0]), rel=1e-14)


def test_ridge_layer_scalar_parameter():
    n, m = 3, 6
    rng = np.random.default_rng(7)
    X, y, w = sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("y", m, 1), sp.MatrixSymbol("w", n, 1)
    lam = sp.Symbol("lam")
    layer = MatrixMinimize(quad(X * w - y, X * w - y) + lam * quad(w, w), w, (X, y, lam)).lower().primitive()
    Xv, yv = rng.standard_normal((m, n)), rng.standard_normal(m)
    lam_s = Scalar(0.3)
    ws = layer(*Xv.ravel().tolist(), *yv.tolist(), lam_s)
    (g,) = grad(ws[1], [lam_s])
    A = mp.matrix(Xv.tolist()).T * mp.matrix(Xv.tolist()) + mp.mpf(0.3) * mp.eye(n)
    wt = mp.inverse(A) * mp.matrix(Xv.tolist()).T * mp.matrix(yv.tolist())
    assert g == pytest.approx(float((-mp.inverse(A) * wt)[1]), rel=1e-12)   # dw/dλ = -A⁻¹ w
    with pytest.raises(StatementError, match="takes 25 entries"):
        layer(*Xv.ravel().tolist(), lam_s)


def test_diagonal_products_match_dense():
    from sympy.matrices.expressions.diagonal import DiagMatrix
    from symimplicit.matrix.lowered import evaluate
    n = 4
    rng = np.random.default_rng(1)
    d, e = sp.MatrixSymbol("d", n, 1), sp.MatrixSymbol("e", n, 1)
    W, v = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("v", n, 1)
    env = {d: rng.standard_normal((n, 1)), e: rng.standard_normal((n, 1)),
           W: rng.standard_normal((n, n)), v: rng.standard_normal((n, 1))}
    D, E = np.diag(env[d].ravel()), np.diag(env[e].ravel())
    cases = [(sp.MatMul(-3, DiagMatrix(d), W), -3 * D @ env[W]),
             (sp.MatMul(W, DiagMatrix(d), v), env[W] @ D @ env[v]),
             (sp.MatMul(DiagMatrix(d), DiagMatrix(e)), D @ E),
             (sp.MatMul(v.T, DiagMatrix(d)), env[v].T @ D),
             (sp.MatMul(2, DiagMatrix(d)), 2 * D),
             (sp.MatMul(sp.Inverse(W), DiagMatrix(d), v), np.linalg.solve(env[W], D @ env[v]))]
    for expr, dense in cases:
        np.testing.assert_allclose(evaluate(expr, env), dense, rtol=1e-13, atol=1e-14)


def test_compiled_plan_matches_dense_and_counts_factorisations(monkeypatch):
    """The Plan computes the same products as dense numpy; a DEQ solve + vjp factorises F_z
    fewer times than it takes Newton steps (later steps and the vjp refine the kept LU)."""
    from sympy.matrices.expressions.diagonal import DiagMatrix
    from symimplicit.matrix import linsolve, lowered
    n = 4
    rng = np.random.default_rng(2)
    d, W, v = sp.MatrixSymbol("d", n, 1), sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("v", n, 1)
    vals = {d: rng.standard_normal((n, 1)), W: rng.standard_normal((n, n)),
            v: rng.standard_normal((n, 1))}
    D = np.diag(vals[d].ravel())
    plan = lowered.Plan({})
    cases = [(sp.MatMul(-3, DiagMatrix(d), W), -3 * D @ vals[W]),
             (sp.MatMul(W, DiagMatrix(d), v), vals[W] @ D @ vals[v]),
             (sp.MatMul(sp.Inverse(W), DiagMatrix(d), v), np.linalg.solve(vals[W], D @ vals[v])),
             (sp.Trace(sp.MatMul(v.T, W, v)), (vals[v].T @ vals[W] @ vals[v]).item())]
    nodes = [plan.add(e) for e, _ in cases]
    fr = plan.frame()
    for s, x in vals.items():
        fr.set(s, x)
    for i, (_, dense) in zip(nodes, cases):
        np.testing.assert_allclose(fr.value(i), dense, rtol=1e-13, atol=1e-14)
    counts = {"lu": 0}
    real = linsolve.factor

    def counted(A, what):
        counts["lu"] += 1
        return real(A, what)
    monkeypatch.setattr(linsolve, "factor", counted)
    m = 64                                                          # refinement from n = 32
    Wm, z_, b_ = sp.MatrixSymbol("W", m, m), sp.MatrixSymbol("z", m, 1), sp.MatrixSymbol("b", m, 1)
    low = MatrixFixedPoint((Wm * z_ + b_).applyfunc(sp.tanh), z_, (Wm, b_)).lower()
    Wv, bv = 0.5 * rng.standard_normal((m, m)) / np.sqrt(m), rng.standard_normal((m, 1))
    steps = {"n": 0}
    real_set = lowered.Frame.set

    def set_counted(self, sym, value):
        steps["n"] += sym == z_
        return real_set(self, sym, value)
    monkeypatch.setattr(lowered.Frame, "set", set_counted)
    zs = low.solve(W=Wv, b=bv)
    g = low.vjp(np.ones((m, 1)), z=zs, W=Wv, b=bv)
    assert counts["lu"] < steps["n"] - 1                            # steps + the final set
    Dm = 1 - zs ** 2
    lam = np.linalg.solve((np.eye(m) - Dm * Wv).T, np.ones((m, 1)))
    np.testing.assert_allclose(g["b"], Dm * lam, rtol=1e-13, atol=1e-15)
