"""The fast paths of the numpy matrix lowering (compiled plan, kept LU, refinement, sizes read
off the arrays, ``lower("numpy")``) against closed forms computed in mpmath."""
import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st, HealthCheck

from symimplicit.errors import (ArgumentError, ConvergenceError, SingularJacobianError,
                                StatementError)
from symimplicit.matrix import MatrixFixedPoint, MatrixMinimize, MatrixRoot, quad

N = sp.Symbol("n")
W_, Z_, B_ = sp.MatrixSymbol("W", N, N), sp.MatrixSymbol("z", N, 1), sp.MatrixSymbol("b", N, 1)
DEQ = MatrixFixedPoint((W_ * Z_ + B_).applyfunc(sp.tanh), Z_, (W_, B_))


def _deq_truth(W, b, zbar, dps=40):
    """z = tanh(Wz + b) by mpmath Newton, J_b = (I − D W)⁻¹ D with D = diag(1 − z²), and the
    vjp b̄ = J_bᵀ z̄, W̄ = b̄ zᵀ, all at ``dps`` digits."""
    with mp.workdps(dps):
        n = len(b)
        Wm, bm, zb = mp.matrix(W.tolist()), mp.matrix(b.ravel().tolist()), mp.matrix(zbar.ravel().tolist())
        z = mp.matrix(n, 1)
        for _ in range(200):
            u = Wm * z + bm
            t = mp.matrix([mp.tanh(u[i]) for i in range(n)])
            D = mp.diag([1 - t[i] ** 2 for i in range(n)])
            step = mp.lu_solve(mp.eye(n) - D * Wm, z - t)
            z = z - step
            if mp.norm(step, mp.inf) < mp.mpf(10) ** (-dps + 5):
                break
        D = mp.diag([1 - z[i] ** 2 for i in range(n)])
        A = mp.eye(n) - D * Wm
        J = mp.inverse(A) * D                                       # (I − D W)⁻¹ D
        bbar = J.T * zb
        Wbar = bbar * z.T
        f = lambda M: np.array(M.tolist(), dtype=float)
        return f(z), f(J), f(bbar), f(Wbar)


def _close(got, want, rel):
    scale = max(np.max(np.abs(want)), 1e-300)
    assert np.max(np.abs(np.asarray(got) - want)) <= rel * scale


def _instance(n, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    W = scale * rng.standard_normal((n, n)) / np.sqrt(n)
    return W, rng.standard_normal((n, 1)), rng.standard_normal((n, 1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 6), seed=st.integers(0, 10 ** 6), scale=st.floats(0.05, 0.9))
def test_deq_every_way_of_lowering_matches_the_closed_form(n, seed, scale):
    W, b, zbar = _instance(n, seed, scale)
    z_t, J_t, bbar_t, Wbar_t = _deq_truth(W, b, zbar)
    lows = [DEQ.lower("numpy"), DEQ.lower(), DEQ.lower({"n": n}), DEQ.lower(sizes={"n": n}),
            DEQ.lower("numpy", sizes={N: n})]
    for low in lows:
        z = low.solve(W=W, b=b)
        _close(z, z_t, 1e-14)
        _close(low.jacobian("b", W=W, b=b), J_t, 1e-13)            # solved inside
        _close(low.jacobian("b", z=z, W=W, b=b), J_t, 1e-13)       # the kept point
        g = low.vjp(zbar, z=z, W=W, b=b)
        _close(g["b"], bbar_t, 1e-13)
        _close(g["W"], Wbar_t, 1e-13)
    flat = DEQ.lower("numpy").vjp(zbar.ravel(), W=W, b=b.ravel())   # flat column arrays
    _close(flat["b"], bbar_t, 1e-13)


@pytest.mark.parametrize("n", [40, 150])
def test_refined_steps_and_kept_lu_match_a_fresh_solve(n):
    """At sizes where Newton's late steps and the vjp are solved by refinement from an earlier
    LU, the numbers equal the closed form and a lowering that keeps nothing."""
    W, b, zbar = _instance(n, n)
    low = DEQ.lower("numpy")
    z = low.solve(W=W, b=b)
    g = low.vjp(zbar, z=z, W=W, b=b)
    if n <= 40:                                                      # mpmath at n³ cost
        _, _, bbar_t, Wbar_t = _deq_truth(W, b, zbar, dps=30)
        _close(g["b"], bbar_t, 1e-13)
        _close(g["W"], Wbar_t, 1e-13)
    D = 1 - z ** 2                                                   # float64 closed form
    lam = np.linalg.solve((np.eye(n) - D * W).T, zbar)
    _close(g["b"], D * lam, 1e-13)                                   # b̄ = D (I − WᵀD)⁻¹ z̄
    _close(g["W"], (D * lam) @ z.T, 1e-13)
    _close(z, np.tanh(W @ z + b), 1e-15)
    # a second lowering called with a z it did not solve for: no kept LU
    g2 = DEQ.lower({"n": n}).vjp(zbar, z=z.copy(), W=W, b=b)
    _close(g2["W"], g["W"], 1e-14)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.sampled_from([32, 48, 80]), seed=st.integers(0, 10 ** 6),
       scale=st.floats(0.1, 1.2), shift=st.floats(-2.0, 2.0))
def test_chord_newton_and_refined_vjp_reach_machine_precision(n, seed, scale, shift):
    """Chord steps (kept LU), refactoring when they contract slowly (large W, a far start),
    and the vjp refined from the solve's LU: the fixed point at 1e-15 and b̄, W̄ at 1e-13
    against float64 closed forms with a fresh LAPACK solve (numpy's, not ours)."""
    W, b, zbar = _instance(n, seed, scale)
    b = b + shift
    low = DEQ.lower("numpy")
    z = low.solve(W=W, b=b)
    _close(z, np.tanh(W @ z + b), 2e-15)
    D = 1 - np.tanh(W @ z + b) ** 2
    lam = np.linalg.solve((np.eye(n) - D * W).T, zbar)              # λ = (I − D W)⁻ᵀ z̄
    g = low.vjp(zbar, z=z, W=W, b=b)
    _close(g["b"], D * lam, 1e-13)
    _close(g["W"], (D * lam) @ z.T, 1e-13)


def test_the_kept_point_is_not_fooled_by_arrays_changed_in_place():
    n = 4
    W, b, zbar = _instance(n, 3)
    low = DEQ.lower("numpy")
    z = low.solve(W=W, b=b)
    W[0, 0] += 0.25                                                 # same object, new values
    z[1, 0] += 0.0                                                  # z unchanged
    got = low.vjp(zbar, z=low.solve(W=W, b=b), W=W, b=b)
    _, _, bbar_t, Wbar_t = _deq_truth(W, b, zbar)
    _close(got["b"], bbar_t, 1e-13)
    z2 = low.solve(W=W, b=b)
    z2[0, 0] = 7.0                                                  # the caller writes to z
    _, _, bbar_t, _ = _deq_truth(W, b, zbar)
    _close(low.vjp(zbar, z=low.solve(W=W, b=b), W=W, b=b)["b"], bbar_t, 1e-13)
    out = low.vjp(zbar, z=low.solve(W=W, b=b), W=W, b=b)
    out["b"][:] = 0.0                                               # outputs are copies
    _close(low.vjp(zbar, z=low.solve(W=W, b=b), W=W, b=b)["b"], bbar_t, 1e-13)


def test_sizes_read_off_arrays_for_a_constrained_minimisation():
    m, n, p = sp.symbols("m n p")
    A, b, x = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("b", m, 1), sp.MatrixSymbol("x", n, 1)
    C, d = sp.MatrixSymbol("C", p, n), sp.MatrixSymbol("d", p, 1)
    stt = MatrixMinimize(quad(A * x - b, A * x - b), x, (A, b, C, d), constraints=[C * x - d])
    rng = np.random.default_rng(5)
    Av, bv, Cv, dv = (rng.standard_normal(s) for s in [(5, 3), (5, 1), (2, 3), (2, 1)])
    xs = stt.lower("numpy").solve(A=Av, b=bv, C=Cv, d=dv)
    K = mp.matrix(np.block([[2 * Av.T @ Av, Cv.T], [Cv, np.zeros((2, 2))]]).tolist())
    rhs = mp.matrix(np.vstack([2 * Av.T @ bv, dv]).tolist())
    truth = np.array(mp.lu_solve(K, rhs).tolist(), dtype=float)[:3]   # K [x; λ] = [2Aᵀb; d]
    _close(xs, truth, 1e-12)


def test_affine_root_jacobian_is_the_inverse():
    """x = (I − M)⁻¹ b: ∂x/∂b = (I − M)⁻¹ through the compiled A⁻¹ B node."""
    k = 3
    M, x, b = sp.MatrixSymbol("M", k, k), sp.MatrixSymbol("x", k, 1), sp.MatrixSymbol("b", k, 1)
    low = MatrixRoot(M * x + b - x, x, (M, b)).lower("numpy")
    Mv = np.array([[0.1, 0.2, 0.0], [0.0, 0.3, -0.1], [0.2, 0.0, 0.1]])
    bv = np.array([[1.0], [2.0], [3.0]])
    inv = np.array(mp.inverse(mp.eye(k) - mp.matrix(Mv.tolist())).tolist(), dtype=float)
    _close(low.jacobian("b", M=Mv, b=bv), inv, 1e-15)
    _close(low.solve(M=Mv, b=bv), inv @ bv, 1e-15)


def test_typed_errors_stay():
    k = 2
    M, x, b = sp.MatrixSymbol("M", k, k), sp.MatrixSymbol("x", k, 1), sp.MatrixSymbol("b", k, 1)
    low = MatrixRoot(M * x - b, x, (M, b)).lower("numpy")
    with pytest.raises(SingularJacobianError, match="F_z of .* singular"):
        low.solve(M=np.zeros((2, 2)), b=np.ones((2, 1)))
    with pytest.raises(ConvergenceError, match="residual is not finite"):
        low.solve(M=np.array([[np.nan, 0.0], [0.0, 1.0]]), b=np.ones((2, 1)))
    with pytest.raises(SingularJacobianError, match="not finite"):   # F finite, F_z not
        low.vjp(np.ones((2, 1)), z=np.ones((2, 1)), M=np.array([[np.inf, 0.0], [0.0, 1.0]]),
                b=np.ones((2, 1)))
    ex = MatrixRoot(x.applyfunc(sp.exp) + b, x, (b,)).lower()       # eˣ + 1 = 0: no real root
    with pytest.raises(ConvergenceError, match="did not converge in 2 steps"):
        ex.solve(maxiter=2, b=np.ones((2, 1)))
    with pytest.raises(SingularJacobianError):                      # vjp at a singular point
        low.vjp(np.ones((2, 1)), z=np.ones((2, 1)), M=np.ones((2, 2)), b=np.ones((2, 1)))
    with pytest.raises(StatementError, match=r"parameter W has shape \(3, 3\), expected \(2, 2\)"):
        DEQ.lower({"n": 2}).solve(W=np.eye(3), b=np.ones((2, 1)))
    with pytest.raises(StatementError, match="no value given for the parameter b"):
        DEQ.lower("numpy").solve(W=np.eye(2))
    with pytest.raises(ArgumentError, match="backend 'jax' is not available"):
        DEQ.lower("jax")
    with pytest.raises(ArgumentError, match="sizes given twice"):
        DEQ.lower({"n": 2}, sizes={"n": 2})
    with pytest.raises(ArgumentError, match="sizes must be a dict"):
        DEQ.lower("numpy", sizes=3)
    k_ = sp.Symbol("k")
    y, c = sp.MatrixSymbol("y", k_, 1), sp.Symbol("c")
    with pytest.raises(StatementError, match="dimension k has no value"):
        MatrixRoot(c * y + y, y, (c,)).lower("numpy").solve(c=0.5)


def test_without_scipy_the_numpy_factorisation_gives_the_closed_form(monkeypatch):
    """scipy is optional: with getrf/getrs replaced by the NumPy fallback the DEQ's Jacobian
    is still (I - D W)⁻¹ D, and a singular F_z is still a typed error."""
    import numpy as np
    import sympy as sp
    import pytest as _pytest
    from symimplicit.errors import SingularJacobianError
    from symimplicit.matrix import MatrixFixedPoint
    from symimplicit.matrix import linsolve as L

    monkeypatch.setattr(L, "_getrf", L._numpy_getrf)
    monkeypatch.setattr(L, "_getrs_raw", L._numpy_getrs)
    n = 5
    W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
    low = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b)).lower()
    rng = np.random.default_rng(3)
    Wv, bv = 0.3 * rng.standard_normal((n, n)), rng.standard_normal((n, 1))
    zv = low.solve(W=Wv, b=bv)
    D = np.diag((1 - np.tanh(Wv @ zv + bv) ** 2).ravel())
    truth = np.linalg.solve(np.eye(n) - D @ Wv, D)
    assert np.abs(low.jacobian("b", W=Wv, b=bv) - truth).max() <= 1e-14
    with _pytest.raises(SingularJacobianError):
        L.factor(np.zeros((3, 3)), "F_z")


@settings(max_examples=60, deadline=None)
@given(n=st.sampled_from([32, 50]), seed=st.integers(0, 10 ** 6),
       size=st.floats(1e-12, 3.0), trans=st.integers(0, 1))
def test_refinement_is_accurate_or_declines(n, seed, size, trans):
    """Refinement from the LU of A + E, for perturbations from 1e-12 to 3 (where it
    diverges): either x with A x = B (Aᵀ x = B) to 1e-13 against numpy's fresh solve, or
    None (the caller factorises afresh), never an inaccurate x."""
    from symimplicit.matrix import linsolve
    rng = np.random.default_rng(seed)
    A = np.eye(n) + 0.3 * rng.standard_normal((n, n)) / np.sqrt(n)
    E = size * rng.standard_normal((n, n)) / np.sqrt(n)
    B = rng.standard_normal((n, 1))
    try:
        lu = linsolve.factor(A + E, "A + E")
    except SingularJacobianError:
        return
    x = linsolve.refine(lu, A, B, trans, 4 * np.finfo(float).eps, sweeps=20)
    if x is not None:
        want = np.linalg.solve(A.T if trans else A, B)
        _close(x, want, 1e-13)
