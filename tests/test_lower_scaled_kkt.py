"""Issue 9: badly scaled KKT systems are solved, not refused.  Cobb-Douglas demand
x = α I/pₓ, y = (1 - α) I/p_y, λ = 1/I over six decades of prices and income: the rows of
F = (∇L, g) differ by up to 10¹⁰, so a line search on ‖F‖∞ crawled (ConvergenceError on a third
of the points) and cond(∂F/∂z) of the unscaled matrix read 1e15 (SingularJacobianError) at
perfectly conditioned solutions.  The natural level test and the equilibrated condition
number fix both; the layer and the NumPy sweep give the closed form to a few ulps."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings, strategies as st

from symimplicit import Minimize
from symimplicit.errors import SingularJacobianError
from symimplicit.lower.checks import equilibrated, singular_jacobian
from symimplicit.tape import Scalar, grad

x, y, al, px, py, inc = sp.symbols("x y alpha p_x p_y I", positive=True)
COBB = Minimize(-(al * sp.log(x) + (1 - al) * sp.log(y)), [x, y], (al, px, py, inc),
                constraints=[px * x + py * y - inc])
LAYER = COBB.primitive()


def demand(a, p, q, m):
    """(x, y) and ∂(x, y)/∂(α, pₓ, p_y, I) in closed form."""
    X, Y = a * m / p, (1 - a) * m / q
    return (X, Y), np.array([[m / p, -X / p, 0.0, a / p],
                             [-m / q, 0.0, -Y / q, (1 - a) / q]])


params = st.tuples(st.floats(0.05, 0.95), st.floats(-3, 3), st.floats(-3, 3), st.floats(-2, 4))


@settings(max_examples=80, deadline=None)
@given(params)
@example((0.875, 1.0, -2.875, 0.0))
def test_layer_solves_every_scale(drawn):
    a, p, q, m = drawn[0], 10.0 ** drawn[1], 10.0 ** drawn[2], 10.0 ** drawn[3]
    start = [m / (2 * p), m / (2 * q)]                              # half the budget on each good
    (X, Y), G = demand(a, p, q, m)
    theta = [Scalar(v) for v in (a, p, q, m)]
    outputs = LAYER(*theta, x0=start)
    assert outputs[0].value == pytest.approx(X, rel=2e-15)
    assert outputs[1].value == pytest.approx(Y, rel=2e-15)
    units = np.abs([a, p, q, m])
    for i, out in enumerate(outputs):       # per row, each ∂/∂θⱼ in the units of θⱼ: θⱼ ∂x/∂θⱼ
        g = np.array([float(v) for v in grad(out, theta)])          # (∂x/∂p_y = 0 came out
        err = np.abs(g - G[i]) * units                              # 1e-14 at p_y = 1e-3:
        assert err.max() <= 1e-13 * np.abs(G[i] * units).max(), (i, g, G[i])  # 1e-17 in x)


def test_sweep_solves_every_scale():
    rng = np.random.default_rng(20261202)
    N = 400
    a = rng.uniform(0.05, 0.95, N)
    p, q, m = (10.0 ** rng.uniform(lo, hi, N) for lo, hi in [(-3, 3), (-3, 3), (-2, 4)])
    Z, G = COBB.lower().solve_and_gradient(a, p, q, m,
                                           x0=np.column_stack([m / (2 * p), m / (2 * q)]))
    np.testing.assert_allclose(Z[:, 0], a * m / p, rtol=2e-15)
    np.testing.assert_allclose(Z[:, 1], (1 - a) * m / q, rtol=2e-15)
    for k in range(0, N, 37):
        truth = demand(a[k], p[k], q[k], m[k])[1]
        assert np.abs(G[k] - truth).max() <= 1e-13 * np.abs(truth).max(axis=1, keepdims=True).max()


def test_equilibration_is_exact_and_keeps_true_singularity():
    rng = np.random.default_rng(7)
    J = rng.normal(size=(5, 4, 4)) * 10.0 ** rng.integers(-8, 8, size=(5, 4, 1))
    E = equilibrated(J)
    ratio = E / J                                                  # D_r J D_c: powers of two only
    assert np.all(np.log2(np.abs(ratio)) == np.round(np.log2(np.abs(ratio))))
    assert not singular_jacobian(J).any()                          # scaled rows: not singular
    S = J.copy()
    S[:, 3] = 3.0 * S[:, 1]                                        # dependent rows stay singular
    assert singular_jacobian(S).all()


def test_a_truly_singular_kkt_point_is_still_refused():
    """Two proportional constraints: LICQ fails, J is singular whatever its scaling."""
    z = sp.Symbol("z", positive=True)
    two = Minimize(x**2 + y**2 + z**2, [x, y, z], (inc,),
                   constraints=[x + y - inc, 1e6 * x + 1e6 * y - 1e6 * inc])
    with pytest.raises(SingularJacobianError):
        two.primitive().solve(1.0, x0=[0.3, 0.7, 0.1])


def test_jax_export_takes_the_same_steps():
    """to_jax's traceable Newton uses the same scaled merit: it reaches the same demand."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, (p, q, m) = rng.uniform(0.05, 0.95), 10.0 ** rng.uniform([-3, -3, -2], [3, 3, 4])
        fn = COBB.to_jax(x0=[m / (2 * p), m / (2 * q)])
        X, Y = (float(v) for v in fn(a, p, q, m))
        assert X == pytest.approx(a * m / p, rel=4e-15)
        assert Y == pytest.approx((1 - a) * m / q, rel=4e-15)
