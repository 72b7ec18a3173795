"""Matrix statements against entry-wise truth: mpmath solves and hand-written closed forms."""
import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as hst

from symimplicit.errors import StatementError, ArgumentError
from symimplicit.matrix import MatrixFixedPoint, MatrixMinimize, MatrixRoot, quad
from symimplicit.matrix.lowered import evaluate

mp.mp.dps = 30


def _mp(a):
    return mp.matrix(np.asarray(a, float).tolist())


def _np(m):
    return np.array([[float(m[i, j]) for j in range(m.cols)] for i in range(m.rows)])


def _deq_truth(Wv, bv):
    """z = tanh(Wz + b) by mpmath findroot entry by entry; dz/db = (I - D W)⁻¹ D."""
    n = len(bv)
    W, b = _mp(Wv), _mp(bv)
    f = lambda *zs: [zs[i] - mp.tanh(sum(W[i, j] * zs[j] for j in range(n)) + b[i]) for i in range(n)]
    z = mp.matrix(mp.findroot(f, [0] * n, tol=mp.mpf(10) ** -28))
    u = W * z + b
    D = mp.diag([1 - mp.tanh(u[i]) ** 2 for i in range(n)])
    K = mp.inverse(mp.eye(n) - D * W) * D
    return z, D, K


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("symbolic_n", [False, True])
def test_deq_jacobian_and_vjp(n, symbolic_n):
    rng = np.random.default_rng(n)
    N = sp.Symbol("n") if symbolic_n else n
    W, z, b = sp.MatrixSymbol("W", N, N), sp.MatrixSymbol("z", N, 1), sp.MatrixSymbol("b", N, 1)
    st = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b))
    Wv = 0.6 * rng.standard_normal((n, n)) / np.sqrt(n)
    bv = rng.standard_normal((n, 1))
    zt, D, K = _deq_truth(Wv, bv.ravel())
    low = st.lower({"n": n} if symbolic_n else None)
    zs = low.solve(W=Wv, b=bv)
    np.testing.assert_allclose(zs, _np(zt), rtol=0, atol=1e-14)
    np.testing.assert_allclose(low.jacobian("b", W=Wv, b=bv), _np(K), rtol=1e-13, atol=1e-14)
    zbar = rng.standard_normal((n, 1))
    g = low.vjp(zbar, W=Wv, b=bv)
    # truth: b̄ = Kᵀ z̄; W̄ = b̄ zᵀ (dz = K dW z)
    bbar = K.T * _mp(zbar)
    np.testing.assert_allclose(g["b"], _np(bbar), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(g["W"], _np(bbar * zt.T), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_ridge(n):
    rng = np.random.default_rng(10 + n)
    m = n + 3
    X, y, w = sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("y", m, 1), sp.MatrixSymbol("w", n, 1)
    lam = sp.Symbol("lam")
    st = MatrixMinimize(quad(X * w - y, X * w - y) + lam * quad(w, w), w, (X, y, lam))
    Xv, yv, lv = rng.standard_normal((m, n)), rng.standard_normal((m, 1)), 0.7
    A = _mp(Xv).T * _mp(Xv) + lv * mp.eye(n)
    wt = mp.inverse(A) * _mp(Xv).T * _mp(yv)               # w* = (XᵀX + λI)⁻¹ Xᵀy
    dwdl = -mp.inverse(A) * wt                               # dw/dλ = -(XᵀX + λI)⁻¹ w
    low = st.lower()
    np.testing.assert_allclose(low.solve(X=Xv, y=yv, lam=lv), _np(wt), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(low.jacobian("lam", X=Xv, y=yv, lam=lv), _np(dwdl), rtol=1e-12)
    np.testing.assert_allclose(low.jacobian("y", X=Xv, y=yv, lam=lv),
                               _np(mp.inverse(A) * _mp(Xv).T), rtol=1e-12, atol=1e-14)
    wbar = rng.standard_normal((n, 1))
    g = low.vjp(wbar, X=Xv, y=yv, lam=lv)
    assert g["lam"] == pytest.approx(float((_mp(wbar).T * dwdl)[0]), rel=1e-12)
    # X̄ entry by entry from the closed form w(X) = (XᵀX+λI)⁻¹Xᵀy, differentiated by mpmath.diff
    for (i, j) in [(0, 0), (m - 1, n - 1)]:
        def w_of(t, i=i, j=j):
            Xm = _mp(Xv); Xm[i, j] = t
            return (_mp(wbar).T * mp.inverse(Xm.T * Xm + lv * mp.eye(n)) * Xm.T * _mp(yv))[0]
        assert g["X"][i, j] == pytest.approx(float(mp.diff(w_of, Xv[i, j])), rel=1e-11)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_affine_fixed_point(n):
    rng = np.random.default_rng(20 + n)
    M, x, b = sp.MatrixSymbol("M", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
    st = MatrixRoot(M * x + b - x, x, (M, b))
    Mv, bv = 0.4 * rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal((n, 1))
    Ainv = mp.inverse(mp.eye(n) - _mp(Mv))                   # x = (I - M)⁻¹ b
    xt = Ainv * _mp(bv)
    low = st.lower()
    np.testing.assert_allclose(low.solve(M=Mv, b=bv), _np(xt), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(low.jacobian("b", M=Mv, b=bv), _np(Ainv), rtol=1e-13, atol=1e-14)
    xbar = rng.standard_normal((n, 1))
    g = low.vjp(xbar, M=Mv, b=bv)
    np.testing.assert_allclose(g["M"], _np(Ainv.T * _mp(xbar) * xt.T), rtol=1e-12, atol=1e-14)


def test_deq_formula_is_the_matrix_form():
    n = sp.Symbol("n")
    W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
    d = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b)).derive()
    # F_z = I - diag(1 - tanh²(Wz + b)) W, evaluated at n = 3 against the explicit SymPy Jacobian
    Wv = sp.Matrix(3, 3, lambda i, j: sp.Rational(i + 2 * j - 3, 7))
    zv = sp.Matrix([sp.Rational(1, 3), -sp.Rational(1, 5), sp.Rational(1, 2)])
    bv = sp.Matrix([sp.Rational(1, 10), 0, -sp.Rational(2, 9)])
    zs = sp.symbols("z0:3")
    Fe = sp.Matrix(zs) - (Wv * sp.Matrix(zs) + bv).applyfunc(sp.tanh)
    Je = Fe.jacobian(zs).subs(dict(zip(zs, zv)))
    env = {W: np.array(Wv, float), z: np.array(zv, float), b: np.array(bv, float),
           "_dims": {n: 3}}
    np.testing.assert_allclose(evaluate(d.F_z, env), np.array(Je.evalf(20), float), rtol=1e-14)


def test_unsupported_pieces_are_named():
    n = 3
    A, z = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("z", n, 1)
    with pytest.raises(StatementError, match="MatPow"):
        MatrixRoot(A ** 2 * z - z, z, (A,))
    with pytest.raises(StatementError, match="quad"):
        MatrixMinimize((z.T * z)[0, 0], z, ())
    with pytest.raises(ArgumentError, match="column MatrixSymbol"):
        MatrixRoot(A * z, A, ())
    with pytest.raises(StatementError, match="neither"):
        MatrixRoot(A * z - z, z, ())


@pytest.mark.parametrize("n", [2, 3, 5])
def test_inverse_trace_hadamard_rules(n):
    rng = np.random.default_rng(30 + n)
    A, x, b = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
    Av = np.eye(n) * 2 + 0.3 * rng.standard_normal((n, n))
    bv = rng.standard_normal((n, 1))
    # A⁻¹ x = b ⇒ x = A b, so Ā = x̄ bᵀ and b̄ = Aᵀ x̄ (d(A⁻¹) = -A⁻¹ dA A⁻¹ inside)
    low = MatrixRoot(sp.Inverse(A) * x - b, x, (A, b)).lower()
    xbar = rng.standard_normal((n, 1))
    g = low.vjp(xbar, A=Av, b=bv)
    np.testing.assert_allclose(low.solve(A=Av, b=bv), Av @ bv, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(g["A"], xbar @ bv.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g["b"], Av.T @ xbar, rtol=1e-12, atol=1e-14)
    # argmin tr(S w wᵀ)/2 - cᵀw with S SPD ⇒ w = S⁻¹ c, dw/dc = S⁻¹
    S, c, w = sp.MatrixSymbol("S", n, n), sp.MatrixSymbol("c", n, 1), sp.MatrixSymbol("w", n, 1)
    R = rng.standard_normal((n, n))
    Sv = R @ R.T + n * np.eye(n)
    cv = rng.standard_normal((n, 1))
    low = MatrixMinimize(sp.Trace(S * w * w.T) / 2 - quad(c, w), w, (S, c)).lower()
    Sinv = _np(mp.inverse(_mp(Sv)))
    np.testing.assert_allclose(low.solve(S=Sv, c=cv), Sinv @ cv, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(low.jacobian("c", S=Sv, c=cv), Sinv, rtol=1e-12, atol=1e-14)
    # a ∘ x = b ⇒ x = b / a, ∂x/∂a = -diag(b / a²)
    a = sp.MatrixSymbol("a", n, 1)
    av = 1 + rng.random((n, 1))
    low = MatrixRoot(sp.HadamardProduct(a, x) - b, x, (a, b)).lower()
    np.testing.assert_allclose(low.jacobian("a", a=av, b=bv), np.diag((-bv / av ** 2).ravel()),
                               rtol=1e-13, atol=1e-15)


def test_unknown_inside_a_transpose_and_a_scalar_function():
    # x = exp(-tr(x xᵀ)/10) u + b, scalar-function chain rule and transposes around dx
    n = 3
    rng = np.random.default_rng(3)
    x, u, b = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("u", n, 1), sp.MatrixSymbol("b", n, 1)
    st = MatrixFixedPoint(sp.exp(-quad(x, x) / 10) * u + b, x, (u, b))
    uv, bv = rng.standard_normal((n, 1)), rng.standard_normal((n, 1))
    U, B = _mp(uv), _mp(bv)
    f = lambda *xs: [xs[i] - mp.exp(-sum(t ** 2 for t in xs) / 10) * U[i] - B[i] for i in range(n)]
    xt = mp.matrix(mp.findroot(f, [0] * n))
    J = mp.jacobian(lambda *bs: mp.matrix(mp.findroot(
        lambda *xs: [xs[i] - mp.exp(-sum(t ** 2 for t in xs) / 10) * U[i] - bs[i] for i in range(n)],
        list(xt))), list(B))
    low = st.lower()
    np.testing.assert_allclose(low.solve(u=uv, b=bv), _np(xt), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(low.jacobian("b", u=uv, b=bv), _np(J), rtol=1e-9, atol=1e-10)
    xbar = rng.standard_normal((n, 1))
    Ju = mp.jacobian(lambda *us: mp.matrix(mp.findroot(
        lambda *xs: [xs[i] - mp.exp(-sum(t ** 2 for t in xs) / 10) * us[i] - B[i] for i in range(n)],
        list(xt))), list(U))
    g = low.vjp(xbar, u=uv, b=bv)
    np.testing.assert_allclose(g["u"], _np(Ju.T * _mp(xbar)), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(g["b"], _np(J.T * _mp(xbar)), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_ridge_second_derivative(n):
    rng = np.random.default_rng(50 + n)
    m = n + 2
    X, y, w = sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("y", m, 1), sp.MatrixSymbol("w", n, 1)
    lam = sp.Symbol("lam")
    st = MatrixMinimize(quad(X * w - y, X * w - y) + lam * quad(w, w), w, (X, y, lam))
    Xv, yv, lv = rng.standard_normal((m, n)), rng.standard_normal((m, 1)), 0.4
    # d²w/dλ² of w(λ) = (XᵀX + λI)⁻¹ Xᵀy by mpmath.diff at 30 digits, entry by entry
    def w_entry(i):
        return lambda t: (mp.inverse(_mp(Xv).T * _mp(Xv) + t * mp.eye(n)) * _mp(Xv).T * _mp(yv))[i]
    truth = np.array([[float(mp.diff(w_entry(i), mp.mpf(lv), 2))] for i in range(n)])
    got = st.lower().second_derivative("lam", X=Xv, y=yv, lam=lv)
    np.testing.assert_allclose(got, truth, rtol=1e-11)
    # a scalar that enters linearly has no curvature: A x = t b ⇒ x'' = 0
    A, x, b, t = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1), sp.Symbol("t")
    assert isinstance(MatrixRoot(A * x - t * b, x, (A, b, t)).derive().second_derivative(t), sp.ZeroMatrix)


@settings(max_examples=25, deadline=None)
@given(n=hst.integers(1, 6), seed=hst.integers(0, 2 ** 32 - 1), scale=hst.floats(0.05, 0.9))
def test_affine_and_quadratic_any_size(n, seed, scale):
    """x = Mx + b and argmin ½xᵀ(SᵀS + I)x - cᵀx for every small n, 1x1 included."""
    rng = np.random.default_rng(seed)
    M, x, b = sp.MatrixSymbol("M", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
    Mv = rng.standard_normal((n, n))
    Mv = scale * Mv / np.linalg.norm(Mv, 2)                         # ‖M‖ < 1: I - M invertible
    bv, xbar = rng.standard_normal((n, 1)), rng.standard_normal((n, 1))
    low = MatrixFixedPoint(M * x + b, x, (M, b)).lower()
    K = _np(mp.inverse(mp.eye(n) - _mp(Mv)))
    xv = low.solve(M=Mv, b=bv)
    np.testing.assert_allclose(xv, K @ bv, rtol=1e-12, atol=1e-13)
    g = low.vjp(xbar, M=Mv, b=bv)
    np.testing.assert_allclose(g["b"], K.T @ xbar, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(g["M"], (K.T @ xbar) @ xv.T, rtol=1e-11, atol=1e-12)
    S, c = sp.MatrixSymbol("S", n, n), sp.MatrixSymbol("c", n, 1)
    f = (quad(S * x, S * x) + quad(x, x)) / 2 - quad(c, x)
    low = MatrixMinimize(f, x, (S, c)).lower()
    Sv = rng.standard_normal((n, n))
    H = _np(mp.inverse(_mp(Sv).T * _mp(Sv) + mp.eye(n)))
    np.testing.assert_allclose(low.solve(S=Sv, c=bv), H @ bv, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(low.jacobian("c", S=Sv, c=bv), H, rtol=1e-11, atol=1e-12)


def test_shape_and_parameter_errors():
    from symimplicit.errors import DerivationError
    n = 3
    W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
    d = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b)).derive()
    with pytest.raises(DerivationError, match="tensor; use differential"):
        d.derivative(W)
    with pytest.raises(DerivationError, match="scalar parameter"):
        d.second_derivative(b)
    with pytest.raises(StatementError, match="must be a scalar"):
        MatrixMinimize(W * z, z, (W,))
    with pytest.raises(StatementError, match="no value given for the parameter b"):
        MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b)).lower().solve(W=np.eye(n))
    with pytest.raises(StatementError, match="W2 is not a parameter"):
        MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b)).lower().jacobian("W2", W=1, b=1)
