"""Equality-constrained matrix minimisation in KKT form against entry-wise truth.

The truth is built from the problem data, not from the derivation: the KKT system of
min ‖Ax − b‖² s.t. Cx = d written entry by entry and solved by mpmath at 30 digits (the closed
form [x; λ] = K⁻¹ [2Aᵀb; d]), and mpmath.diff of that entry-wise solve.
"""
import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings, strategies as hst

from symimplicit.errors import DerivationError, SingularJacobianError, StatementError
from symimplicit.matrix import MatrixMinimize, quad
from symimplicit.tape import Scalar, grad

mp.mp.dps = 30


def _mp(a):
    return mp.matrix(np.asarray(a, float).tolist())


def _np(m):
    return np.array([[float(m[i, j]) for j in range(m.cols)] for i in range(m.rows)])


def _cls_truth(A, b, C, d, t=0):
    """[x; λ] of min ‖Ax − b‖² + t‖x‖² s.t. Cx = d: stationarity 2Aᵀ(Ax − b) + 2t x + Cᵀλ = 0
    and Cx = d, assembled entry by entry and solved by mpmath."""
    m, n = A.rows, A.cols
    p = C.rows
    K = mp.zeros(n + p, n + p)
    rhs = mp.zeros(n + p, 1)
    for i in range(n):
        for j in range(n):
            K[i, j] = 2 * sum(A[k, i] * A[k, j] for k in range(m)) + (2 * t if i == j else 0)
        for j in range(p):
            K[i, n + j] = C[j, i]
            K[n + j, i] = C[j, i]
        rhs[i] = 2 * sum(A[k, i] * b[k] for k in range(m))
    for j in range(p):
        rhs[n + j] = d[j]
    return mp.lu_solve(K, rhs), K


def _statement(m, n, p, scalar=False):
    A, b, x = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("b", m, 1), sp.MatrixSymbol("x", n, 1)
    C, d, t = sp.MatrixSymbol("C", p, n), sp.MatrixSymbol("d", p, 1), sp.Symbol("t")
    f = quad(A * x - b, A * x - b) + (t * quad(x, x) if scalar else 0)
    params = (A, b, C, d) + ((t,) if scalar else ())
    return MatrixMinimize(f, x, params, constraints=[C * x - d])


def _data(rng, m, n, p):
    return (rng.standard_normal((m, n)), rng.standard_normal((m, 1)),
            rng.standard_normal((p, n)), rng.standard_normal((p, 1)))


def _loss_diff(xbar, data, which, i, j, t=0):
    """∂(x̄ᵀx)/∂data[which][i, j] by mpmath.diff of the entry-wise KKT solve."""
    n = data[0].shape[1]

    def loss(s):
        M = [_mp(a) for a in data]
        M[which][i, j] = s
        sol, _ = _cls_truth(*M, t=t)
        return sum(xbar[k, 0] * sol[k] for k in range(n))
    return float(mp.diff(loss, mp.mpf(float(data[which][i, j]))))


def test_structure_is_the_kkt_block_matrix():
    n, m, p = sp.symbols("n m p")
    d = _statement(m, n, p).derive()
    A, C = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("C", p, n)
    x, lam = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("lambda", p, 1)
    assert d.H == 2 * A.T * A and d.g_z == (C,)
    assert d.KKT.blocks.tolist() == [[2 * A.T * A, C.T], [C, sp.ZeroMatrix(p, p)]]
    assert d.statement.residual == 2 * A.T * (A * x - sp.MatrixSymbol("b", m, 1)) + C.T * lam
    adj, grads = d.vjp()
    u, (v,) = d.adjoints
    assert grads[sp.MatrixSymbol("d", p, 1)] == v                 # d̄ = v
    assert grads[C] == -lam * u.T - v * x.T                        # C̄ = −(λuᵀ + v xᵀ)
    assert d.derivative(sp.MatrixSymbol("d", p, 1)).shape == (n + p, p)
    text = d.text()
    for step in ("Lagrangian", "stationarity", "differential", "collect", "solve", "Jacobian", "vjp"):
        assert step + ":" in text
    assert "K = [2*A.T*A, C.T; C, 0]" in text
    # lowered at symbolic sizes: the same numbers as the statement written at numeric sizes
    rng = np.random.default_rng(3)
    data = dict(zip("AbCd", _data(rng, 5, 3, 2)))
    low = d.statement.lower({"m": 5, "n": 3, "p": 2})
    xbar = rng.standard_normal((3, 1))
    ref = _statement(5, 3, 2).lower()
    np.testing.assert_allclose(low.solve(**data), ref.solve(**data), rtol=1e-14, atol=1e-15)
    got, want = low.vjp(xbar, **data), ref.vjp(xbar, **data)
    for k in "AbCd":
        np.testing.assert_allclose(got[k], want[k], rtol=1e-13, atol=1e-15)
    sol, _ = _cls_truth(*(_mp(data[k]) for k in "AbCd"))
    np.testing.assert_allclose(low.solve(**data), _np(sol)[:3], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("m,n,p", [(4, 3, 1), (5, 4, 2), (3, 3, 2)])
def test_cls_against_closed_form_and_mpmath_diff(m, n, p):
    rng = np.random.default_rng(100 * m + 10 * n + p)
    data = _data(rng, m, n, p)
    sol, K = _cls_truth(*map(_mp, data))
    low = _statement(m, n, p).lower()
    kw = dict(zip("AbCd", data))
    x, (lam,) = low.solve_kkt(**kw)
    np.testing.assert_allclose(np.vstack([x, lam]), _np(sol), rtol=1e-12, atol=1e-13)
    Kinv = mp.inverse(K)
    # ∂[x; λ]/∂d = K⁻¹ [0; I], ∂[x; λ]/∂b = K⁻¹ [2A; 0]ᵀ-shaped: K⁻¹ [2Aᵀ; 0]
    Jd = Kinv * mp.matrix([[0] * p] * n + [[1 if i == j else 0 for j in range(p)] for i in range(p)])
    rhs_b = mp.zeros(n + p, m)
    for i in range(n):
        for k in range(m):
            rhs_b[i, k] = 2 * data[0][k, i]
    Jb = Kinv * rhs_b
    np.testing.assert_allclose(low.jacobian("d", **kw, full=True), _np(Jd), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(low.jacobian("b", **kw), _np(Jb)[:n], rtol=1e-11, atol=1e-13)
    xbar = rng.standard_normal((n, 1))
    g = low.vjp(xbar, **kw)
    np.testing.assert_allclose(g["d"], _np(Jd)[:n].T @ xbar, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(g["b"], _np(Jb)[:n].T @ xbar, rtol=1e-11, atol=1e-13)
    for which, name in ((0, "A"), (2, "C")):                        # every entry of Ā and C̄
        rows, cols = data[which].shape
        truth = np.array([[_loss_diff(xbar, data, which, i, j) for j in range(cols)]
                          for i in range(rows)])
        np.testing.assert_allclose(g[name], truth, rtol=1e-10, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(np_=hst.integers(1, 5).flatmap(lambda n: hst.tuples(hst.just(n), hst.integers(1, n))),
       extra=hst.integers(0, 2), seed=hst.integers(0, 2 ** 32 - 1), t=hst.floats(0.0, 2.0))
def test_cls_random_well_posed(np_, extra, seed, t):
    """Random instances, 1x1 included: C of full row rank p ≤ n, AᵀA + tI definite on ker C."""
    n, p = np_
    m = max(1, n - p) + extra
    rng = np.random.default_rng(seed)
    data = _data(rng, m, n, p)
    sol, K = _cls_truth(*map(_mp, data), t=mp.mpf(t))
    assume(mp.norm(K, 1) * mp.norm(mp.inverse(K), 1) < 1e6)      # well-posed: κ₁(K) < 10⁶
    low = _statement(m, n, p, scalar=True).lower()
    kw = dict(zip("AbCd", data), t=t)
    x = low.solve(**kw)
    np.testing.assert_allclose(x, _np(sol)[:n], rtol=1e-9, atol=1e-10)
    xbar = rng.standard_normal((n, 1))
    g = low.vjp(xbar, **kw)
    Kinv = mp.inverse(K)
    w = Kinv * mp.matrix([[float(v)] for v in xbar.ravel()] + [[0]] * p)   # K symmetric
    np.testing.assert_allclose(g["d"], _np(w)[n:], rtol=1e-9, atol=1e-10)  # d̄ = [K⁻¹ x̄]_λ
    # t̄ = x̄ᵀ dx/dt, dx/dt by mpmath.diff of the entry-wise solve
    M = [_mp(a) for a in data]
    dxdt = lambda s: sum(xbar[k, 0] * _cls_truth(*M, t=s)[0][k] for k in range(n))
    assert g["t"] == pytest.approx(float(mp.diff(dxdt, mp.mpf(t))), rel=1e-8, abs=1e-10)
    i, j = rng.integers(m), rng.integers(n)
    assert g["A"][i, j] == pytest.approx(_loss_diff(xbar, data, 0, i, j, t=mp.mpf(t)), rel=1e-8, abs=1e-10)
    i = rng.integers(p)
    assert g["C"][i, j] == pytest.approx(_loss_diff(xbar, data, 2, i, j, t=mp.mpf(t)), rel=1e-8, abs=1e-10)


def test_two_constraints_equal_the_stacked_one():
    n, m = 4, 5
    rng = np.random.default_rng(5)
    A, b, x = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("b", m, 1), sp.MatrixSymbol("x", n, 1)
    C1, d1 = sp.MatrixSymbol("C1", 1, n), sp.MatrixSymbol("d1", 1, 1)
    C2, d2 = sp.MatrixSymbol("C2", 2, n), sp.MatrixSymbol("d2", 2, 1)
    st = MatrixMinimize(quad(A * x - b, A * x - b), x, (A, b, C1, d1, C2, d2),
                        constraints=[C1 * x - d1, sp.Eq(C2 * x, d2)])
    assert [l.name for l in st.multipliers] == ["lambda1", "lambda2"]
    Av, bv, Cv, dv = _data(rng, m, n, 3)
    kw = dict(A=Av, b=bv, C1=Cv[:1], d1=dv[:1], C2=Cv[1:], d2=dv[1:])
    sol, K = _cls_truth(*map(_mp, (Av, bv, Cv, dv)))
    low = st.lower()
    x, (l1, l2) = low.solve_kkt(**kw)
    np.testing.assert_allclose(np.vstack([x, l1, l2]), _np(sol), rtol=1e-12, atol=1e-13)
    xbar = rng.standard_normal((n, 1))
    g = low.vjp(xbar, **kw)
    w = _np(mp.inverse(K) * _mp(np.vstack([xbar, np.zeros((3, 1))])))
    np.testing.assert_allclose(np.vstack([g["d1"], g["d2"]]), w[n:], rtol=1e-11, atol=1e-13)
    assert r"\boldsymbol{\lambda}_{2}" in st.derive().latex()


@pytest.mark.parametrize("n", [2, 3])
def test_nonlinear_sphere_constraint(n):
    """argmin ‖z − a‖² s.t. zᵀz = r: z = √r a/‖a‖, dz/da = √r (I − a aᵀ/‖a‖²)/‖a‖."""
    rng = np.random.default_rng(60 + n)
    z, a, r = sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("r", 1, 1)
    low = MatrixMinimize(quad(z - a, z - a), z, (a, r), constraints=[z.T * z - r]).lower()
    av, rv = rng.standard_normal((n, 1)), 2.5
    A, R = _mp(av), mp.mpf(rv)
    na = mp.norm(A)
    zt = mp.sqrt(R) * A / na
    J = mp.sqrt(R) * (mp.eye(n) - A * A.T / na ** 2) / na
    zs, lams = low.solve_kkt(z0=av, a=av, r=[[rv]])
    np.testing.assert_allclose(zs, _np(zt), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(low.jacobian("a", z=zs, multipliers=lams, a=av, r=[[rv]]), _np(J),
                               rtol=1e-12, atol=1e-13)
    zbar = rng.standard_normal((n, 1))
    g = low.vjp(zbar, z=zs, a=av, r=[[rv]])                         # λ recovered from z
    rbar = mp.diff(lambda s: sum(zbar[k, 0] * mp.sqrt(s) * A[k] / na for k in range(n)), R)
    assert g["r"][0, 0] == pytest.approx(float(rbar), rel=1e-12)
    np.testing.assert_allclose(g["a"], _np(J.T * _mp(zbar)), rtol=1e-12, atol=1e-13)


def test_kkt_layer_on_the_tape():
    m, n, p = 4, 3, 1
    rng = np.random.default_rng(9)
    data = _data(rng, m, n, p)
    layer = _statement(m, n, p).lower().primitive()
    ins = [Scalar(float(v)) for v in np.concatenate([a.ravel() for a in data])]
    xs = layer(*ins)
    loss = xs[0] * xs[1] + xs[2] * xs[2]
    got = grad(loss, ins)
    sizes = [a.size for a in data]

    def loss_of(*entries):
        k, parts = 0, []
        for a, s in zip(data, sizes):
            parts.append(mp.matrix([list(entries[k + i * a.shape[1]:k + (i + 1) * a.shape[1]])
                                    for i in range(a.shape[0])]))
            k += s
        sol, _ = _cls_truth(*parts)
        return sol[0] * sol[1] + sol[2] ** 2
    x0 = [mp.mpf(v.value) for v in ins]
    for k in range(len(ins)):
        e = [0] * len(ins); e[k] = 1
        assert got[k] == pytest.approx(float(mp.diff(loss_of, x0, tuple(e))), rel=1e-10, abs=1e-12)


def test_unsupported_constraints_are_named():
    n = 3
    A, x, c = sp.MatrixSymbol("A", 2, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("c", 2, 1)
    f = quad(x, x)
    with pytest.raises(StatementError, match=r"constraint 1, .* inequality \(LessThan\)"):
        MatrixMinimize(f, x, (A, c), constraints=[sp.Le(quad(x, x), 1)])
    with pytest.raises(StatementError, match=r"constraint 2, x\*x.T, has shape \(3, 3\).*column"):
        MatrixMinimize(f, x, (A, c), constraints=[A * x - c, x * x.T])
    with pytest.raises(StatementError, match="is a scalar: write it as an m × 1 column"):
        MatrixMinimize(f, x, (A, c), constraints=[quad(x, x) - 1])
    with pytest.raises(StatementError, match="MatPow"):
        MatrixMinimize(f, x, (A, c), constraints=[A * (x * x.T) ** 2 * x - c])
    with pytest.raises(StatementError, match="does not depend on the unknown x"):
        MatrixMinimize(f, x, (A, c), constraints=[c])
    with pytest.raises(StatementError, match="uses B: neither"):
        MatrixMinimize(f, x, (A, c), constraints=[sp.MatrixSymbol("B", 2, n) * x - c])
    with pytest.raises(StatementError, match="is a str"):
        MatrixMinimize(f, x, (A, c), constraints=["A*x - c"])
    lam = sp.MatrixSymbol("lambda", 2, 1)
    with pytest.raises(StatementError, match="lambda is reserved"):
        MatrixMinimize(f, x, (A, lam), constraints=[A * x - lam])


def test_kkt_errors():
    m, n, p = 4, 3, 2
    st = _statement(m, n, p)
    d = st.derive()
    with pytest.raises(DerivationError, match="tensor"):
        d.derivative(sp.MatrixSymbol("A", m, n))
    with pytest.raises(DerivationError, match="second derivatives"):
        d.second_derivative(sp.MatrixSymbol("d", p, 1))
    rng = np.random.default_rng(2)
    Av, bv, Cv, dv = _data(rng, m, n, p)
    Cv[1] = 0.0                                                     # rank-deficient g_z
    with pytest.raises(SingularJacobianError, match=r"KKT matrix .* singular .* forward solve"):
        st.lower().solve(A=Av, b=bv, C=Cv, d=dv)
    with pytest.raises(StatementError, match="no value given for the parameter d"):
        st.lower().solve(A=Av, b=bv, C=Cv)
