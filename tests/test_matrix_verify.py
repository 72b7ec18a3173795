"""verify on matrix statements: the float64 numpy path against the entry-wise mpmath truth.

Right float64 results pass; wrong ones (a flipped sign, a perturbed entry, a wrong root) are
flagged.  The references are also checked against closed forms computed here in mpmath.
"""
import json

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import verify
from symimplicit.errors import GradientMismatchError, StatementError
from symimplicit.matrix import MatrixFixedPoint, MatrixMinimize, MatrixRoot, quad
from symimplicit.matrix.lowered import LoweredMatrix
from symimplicit.matrix.lowered_kkt import LoweredKKT

n = sp.Symbol("n")
W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
DEQ = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b))


def _deq_data(k, seed):
    rng = np.random.default_rng(seed)
    return {"W": 0.5 * rng.standard_normal((k, k)) / np.sqrt(k), "b": rng.standard_normal(k)}


def _deq_truth(Wv, bv, dps=40):
    """z and dz/db = (I − D W)⁻¹ D, D = diag(1 − tanh²(Wz + b)), entry-wise in mpmath."""
    k = len(bv)
    with mp.workdps(dps):
        Wm = mp.matrix(Wv.tolist())
        bm = [mp.mpf(float(v)) for v in bv]
        f = lambda *zs: [zs[i] - mp.tanh(sum(Wm[i, j] * zs[j] for j in range(k)) + bm[i])
                         for i in range(k)]
        zt = mp.findroot(f, [0] * k, tol=mp.mpf(10) ** (-2 * dps + 6))
        D = mp.diag([1 - mp.tanh(sum(Wm[i, j] * zt[j] for j in range(k)) + bm[i]) ** 2
                     for i in range(k)])
        return zt, mp.inverse(mp.eye(k) - D * Wm) * D


@pytest.mark.parametrize("k", [2, 3, 5])
def test_deq_passes_and_reference_matches_closed_form(k):
    data = _deq_data(k, 10 + k)
    report = verify(DEQ, at=data, dps=30)                    # top-level verify dispatches
    assert report.ok and report.digits > 14
    assert [r.kind for r in report.rows] == ["solution", "gradient", "vjp", "vjp"]
    zt, J = _deq_truth(data["W"], data["b"])
    sol, jac = report.rows[0], report.rows[1]
    for i in range(k):
        assert abs(sol.references[i][0] - zt[i]) < mp.mpf(10) ** -28
        for j in range(k):
            assert abs(jac.references[i][j] - J[i, j]) < mp.mpf(10) ** -27
    zbar = [(-1) ** i / (i + 1) for i in range(k)]           # the default cotangent
    with mp.workdps(40):
        lam = J.T * mp.matrix(zbar)                          # b̄ = Jᵀ z̄
    vb = report.rows[3]
    assert vb.name.startswith("vjp b")
    for i in range(k):
        assert abs(vb.references[i][0] - lam[i]) < mp.mpf(10) ** -27


def test_method_and_sizes_and_nested_lists():
    data = _deq_data(3, 1)
    at = {W: data["W"].tolist(), "b": [[v] for v in data["b"]]}
    r1 = DEQ.verify(at, sizes={"n": 3}, dps=25)
    r2 = verify(DEQ, at=at, sizes={n: 3}, dps=25)
    assert r1.ok and r2.ok and r1.dps == 25
    assert r1.sizes == {"n": 3}
    assert [r.rel_error for r in r1.rows] == [r.rel_error for r in r2.rows]


def test_flipped_jacobian_sign_is_flagged(monkeypatch):
    data = _deq_data(3, 2)
    orig = LoweredMatrix.jacobian
    monkeypatch.setattr(LoweredMatrix, "jacobian", lambda self, *a, **k: -orig(self, *a, **k))
    report = verify(DEQ, at=data, dps=30)
    assert not report.ok
    assert [r.name.split("[")[0] for r in report.failures] == ["∂z/∂b"]
    assert report.failures[0].rel_error == pytest.approx(2.0, rel=1e-12)   # |−J − J| / |J|
    assert report.failures[0].digits == 0
    assert "MISMATCH" in str(report)
    with pytest.raises(GradientMismatchError, match="∂z/∂b"):
        verify(DEQ, at=data, dps=30, strict=True)


@pytest.mark.parametrize("rel", [1e-9, 1e-6])
def test_perturbed_vjp_entry_is_flagged(monkeypatch, rel):
    data = _deq_data(2, 3)
    orig = LoweredMatrix.vjp

    def wrong(self, *a, **k):
        out = orig(self, *a, **k)
        out["W"] = out["W"].copy()
        out["W"][1, 0] += rel * np.max(np.abs(out["W"]))      # one entry off by rel·max
        return out
    monkeypatch.setattr(LoweredMatrix, "vjp", wrong)
    report = verify(DEQ, at=data, dps=30)
    (bad,) = report.failures
    assert bad.name == "vjp W[1,0]" and bad.worst == (1, 0)
    assert bad.rel_error == pytest.approx(rel, rel=1e-3)


def test_wrong_root_is_flagged(monkeypatch):
    data = _deq_data(2, 4)
    orig = LoweredMatrix.solve
    monkeypatch.setattr(LoweredMatrix, "solve",
                        lambda self, *a, **k: orig(self, *a, **k) * (1 + 1e-7))
    report = verify(DEQ, at=data, dps=30)
    assert not report.rows[0].ok() and report.rows[0].rel_error == pytest.approx(1e-7, rel=1e-3)


def test_ridge_scalar_parameter_against_closed_form():
    X, y, w = sp.MatrixSymbol("X", 4, 2), sp.MatrixSymbol("y", 4, 1), sp.MatrixSymbol("w", 2, 1)
    lam = sp.Symbol("lam")
    ridge = MatrixMinimize(quad(X * w - y, X * w - y) + lam * quad(w, w), w, (X, y, lam))
    Xv, yv = np.arange(8.0).reshape(4, 2), np.ones((4, 1))
    report = verify(ridge, at={X: Xv, y: yv, lam: 0.5}, dps=30)
    assert report.ok and report.at == {"lam": 0.5}
    with mp.workdps(40):                                      # w = A⁻¹ Xᵀy, dw/dλ = −A⁻¹ w
        Xm = mp.matrix(Xv.tolist())
        A = Xm.T * Xm + mp.mpf(0.5) * mp.eye(2)
        wt = mp.lu_solve(A, Xm.T * mp.matrix(yv.tolist()))
        dl = -mp.lu_solve(A, wt)
    row = next(r for r in report.rows if r.name.startswith("∂w/∂lam"))
    assert all(abs(row.references[i][0] - dl[i]) < mp.mpf(10) ** -26 for i in range(2))


def test_constrained_least_squares_and_a_wrong_kkt_vjp(monkeypatch):
    A, bb, x = sp.MatrixSymbol("A", 5, 3), sp.MatrixSymbol("b", 5, 1), sp.MatrixSymbol("x", 3, 1)
    C, d = sp.MatrixSymbol("C", 1, 3), sp.MatrixSymbol("d", 1, 1)
    cls = MatrixMinimize(quad(A * x - bb, A * x - bb), x, (A, bb, C, d), constraints=[C * x - d])
    rng = np.random.default_rng(5)
    data = {"A": rng.standard_normal((5, 3)), "b": rng.standard_normal(5),
            "C": rng.standard_normal((1, 3)), "d": [[0.7]]}
    report = verify(cls, at=data, dps=30)
    assert report.ok
    assert [r.name.split("[")[0] for r in report.rows][:2] == ["x", "lambda"]
    with mp.workdps(40):                                      # [x; λ] = K⁻¹ [2Aᵀb; d]
        Am, Cm = mp.matrix(data["A"].tolist()), mp.matrix(data["C"].tolist())
        K = mp.matrix(4, 4)
        H = 2 * Am.T * Am
        for i in range(3):
            for j in range(3):
                K[i, j] = H[i, j]
            K[i, 3] = K[3, i] = Cm[0, i]
        rhs = 2 * Am.T * mp.matrix(data["b"].tolist())
        sol = mp.lu_solve(K, mp.matrix([rhs[0], rhs[1], rhs[2], mp.mpf(0.7)]))
    assert all(abs(report.rows[0].references[i][0] - sol[i]) < mp.mpf(10) ** -26 for i in range(3))
    assert abs(report.rows[1].references[0][0] - sol[3]) < mp.mpf(10) ** -26
    orig = LoweredKKT.vjp

    def wrong(self, *a, **k):
        out = dict(orig(self, *a, **k))
        out["C"] = -out["C"]
        return out
    monkeypatch.setattr(LoweredKKT, "vjp", wrong)
    bad = verify(cls, at=data, dps=30)
    assert [r.name.split("[")[0] for r in bad.failures] == ["vjp C"]


def test_root_with_inverse_scalar_of_z_and_given_cotangent():
    M, xx, c = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("c", 2, 1)
    F = sp.Inverse(M) * xx + sp.exp(-quad(xx, xx)) * xx.applyfunc(sp.sin) - c
    st = MatrixRoot(F, xx, (M, c))
    at = {"M": [[2.0, 0.3], [-0.1, 1.5]], "c": [0.4, -0.2]}
    report = st.verify(at, cotangent=[0.0, 1.0])
    assert report.ok and report.digits > 13
    assert "[0.0, 1.0]" in report.notes[0]
    with mp.workdps(40):                                      # the root, entry-wise by hand
        Mi = mp.inverse(mp.matrix(at["M"]))

        def G(x0, x1):
            e = mp.exp(-(x0 ** 2 + x1 ** 2))
            return [Mi[0, 0] * x0 + Mi[0, 1] * x1 + e * mp.sin(x0) - mp.mpf(0.4),
                    Mi[1, 0] * x0 + Mi[1, 1] * x1 + e * mp.sin(x1) + mp.mpf(0.2)]
        root = mp.findroot(G, [float(v) for v in report.rows[0].values.ravel()])
    assert all(abs(report.rows[0].references[i][0] - root[i]) < mp.mpf(10) ** -28
               for i in range(2))


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 10 ** 6))
def test_random_constrained_least_squares_pass(seed):
    A, bb, x = sp.MatrixSymbol("A", 4, 3), sp.MatrixSymbol("b", 4, 1), sp.MatrixSymbol("x", 3, 1)
    C, d = sp.MatrixSymbol("C", 2, 3), sp.MatrixSymbol("d", 2, 1)
    cls = MatrixMinimize(quad(A * x - bb, A * x - bb), x, (A, bb, C, d), constraints=[C * x - d])
    rng = np.random.default_rng(seed)
    data = {"A": rng.standard_normal((4, 3)), "b": rng.standard_normal(4),
            "C": rng.standard_normal((2, 3)), "d": rng.standard_normal(2)}
    report = verify(cls, at=data, dps=30)
    assert report.ok, str(report)


def test_report_renderings():
    report = verify(DEQ, at=_deq_data(2, 6), dps=30)
    text = str(report)
    assert "W: 2×2 array" in text and "OK" in text and "lu_solve" in text
    assert "MatrixVerifyReport" not in repr(report) and "ok=True" in repr(report)
    html = report._repr_html_()
    assert "<table" in html and "vjp W" in html
    data = json.loads(report.to_json())
    assert data["ok"] and data["sizes"] == {"n": 2} and data["rows"][2]["shape"] == [2, 2]
    assert len(data["arrays"]["W"]) == 2
    assert "| vjp b[" in report.markdown()


@pytest.mark.parametrize("at, match", [
    ({"b": [1.0, 2.0]}, r"no array for the parameter W \(expected shape \(2, 2\)\)"),
    ({"W": np.eye(2), "b": [1.0, 2.0, 3.0]}, r"parameter b has shape \(3,\), expected \(2, 1\)"),
    ({"W": np.eye(3)[:2], "b": [1.0, 2.0]}, r"parameter W has shape \(2, 3\), expected \(2, 2\)"),
    ({"W": np.eye(2), "b": [1.0, 2.0], "q": 1.0}, r"\['q'\].*not parameters"),
    ({"W": np.eye(2), "b": [1.0, np.nan]}, r"parameter b is not finite"),
    ({"W": [["a", "b"], ["c", "d"]], "b": [1.0, 2.0]}, r"value of W is not an array"),
])
def test_bad_input_is_a_typed_error(at, match):
    with pytest.raises(StatementError, match=match):
        verify(DEQ, at=at, sizes={"n": 2})


def test_options_of_scalar_verify_are_refused():
    with pytest.raises(StatementError, match="x0 not available for matrix statements"):
        verify(DEQ, at=_deq_data(2, 0), x0=[0.0, 0.0])
    with pytest.raises(StatementError, match="certify, fun not available"):
        verify(DEQ, at=_deq_data(2, 0), certify=True, fun=1)


def test_size_errors():
    with pytest.raises(StatementError, match=r"shape \(n, n\) of W has no value"):
        verify(DEQ, at={"b": [1.0]})
    with pytest.raises(StatementError, match="positive integer"):
        verify(DEQ, at=_deq_data(2, 0), sizes={"n": 0})
    lam = sp.Symbol("lam")
    w = sp.MatrixSymbol("w", 2, 1)
    st = MatrixFixedPoint((lam * w).applyfunc(sp.sin), w, (lam,))
    with pytest.raises(StatementError, match="scalar parameter lam must be a number"):
        st.verify({"lam": [1.0, 2.0]})


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 10 ** 6), st.floats(0.1, 0.9))
def test_random_contractive_deqs_pass(seed, scale):
    rng = np.random.default_rng(seed)
    Wv = rng.standard_normal((2, 2))
    Wv *= scale / np.linalg.norm(Wv, 2)                       # ‖W‖₂ < 1: a unique fixed point
    data = {"W": Wv, "b": rng.standard_normal(2)}
    report = verify(DEQ, at=data, dps=30)
    assert report.ok, str(report)
    assert verify(DEQ, at=data, dps=30, cotangent=[1.0, 0.0]).ok


@pytest.mark.parametrize("bias", [3.4, 8.0, 15.0])
def test_saturated_tanh_keeps_its_digits(bias):
    """D = 1 − tanh(u)² where tanh saturates (|u| large): written as 1 − tanh² it would lose
    log10(1/D) digits (5e-10 relative at u = 8); the derivative and the vjp stay within the
    report's tol of mpmath (a 30-digit entry-wise reference)."""
    rng = np.random.default_rng(7325)
    Wv = rng.standard_normal((2, 2))
    Wv *= 0.5 / np.linalg.norm(Wv, 2)
    data = {"W": Wv, "b": np.array([bias, 0.15])}
    report = verify(DEQ, at=data, dps=30, cotangent=[1.0, 0.0])
    assert report.ok, str(report)
    z = DEQ.lower("numpy").solve(W=Wv, b=data["b"].reshape(2, 1))
    with mp.workdps(40):                                     # b̄₀ = ∂z₀/∂b₀ ∝ sech²(u₀), tiny
        u0 = mp.mpf(Wv[0, 0]) * mp.mpf(z[0, 0]) + mp.mpf(Wv[0, 1]) * mp.mpf(z[1, 0]) + bias
        sech2 = 1 / mp.cosh(u0) ** 2
    g = DEQ.lower("numpy").vjp(np.array([[1.0], [0.0]]), z=z, W=Wv, b=data["b"].reshape(2, 1))
    assert 0 < g["b"][0, 0] < 10 * float(sech2)              # the right tiny size, not 0 or noise
