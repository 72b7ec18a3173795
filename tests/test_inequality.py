"""The inequality layer against closed forms: box and simplex projections, 1-D bound-constrained
quadratics, non-negative least squares (mpmath), multipliers; degenerate, infeasible, unbounded
and LICQ-failing problems raise typed errors."""
import itertools
import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symimplicit import Minimize
from symimplicit.errors import (ArgumentError, ConstraintQualificationError, InfeasibleError,
                                NonDifferentiableError, NonFiniteError, NotAMinimumError,
                                SingularJacobianError, StatementError, UnboundedError)
from symimplicit.tape import Scalar, backward

x, a, b, c, lo, hi = sp.symbols("x a b c lo hi")
N = 3
X = sp.symbols(f"x1:{N + 1}")
Y = sp.symbols(f"y1:{N + 1}")
finite = st.floats(-3, 3, allow_nan=False)


def gradients(layer, values, output=0):
    """Values of every output and the gradient of one output with respect to every parameter."""
    params = [Scalar(v) for v in values]
    out = layer(*params)
    out = out if isinstance(out, tuple) else (out,)
    backward(out[output])
    return [o.value for o in out], [0.0 if s.grad is None else s.grad for s in params]


# --------------------------------------------------------------------------- #
# box projection: x = clip(y, lo, hi)                                          #
# --------------------------------------------------------------------------- #
BOX = Minimize(sum((xi - yi)**2 for xi, yi in zip(X, Y)) / 2, list(X), list(Y) + [lo, hi],
               constraints=[r for xi in X for r in (xi >= lo, xi <= hi)])
BOX_LAYER = BOX.primitive(multipliers=True)


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=N, max_size=N), finite, st.floats(0.1, 3))
def test_box_projection_is_clip(y, low, width):
    high = low + width
    assume(all(min(abs(v - low), abs(v - high)) > 1e-6 for v in y))   # no weakly active bound
    for i in range(N):
        values, grad = gradients(BOX_LAYER, y + [low, high], output=i)
        assert values[i] == pytest.approx(min(max(y[i], low), high), abs=1e-15)
        inside = low < y[i] < high
        want = [float(inside and j == i) for j in range(N)] + [float(y[i] < low), float(y[i] > high)]
        assert grad == pytest.approx(want, abs=1e-14)
    mu = values[N:]                                                   # μ of x ≥ lo, μ of x ≤ hi
    for i in range(N):
        assert mu[2 * i] == pytest.approx(max(low - y[i], 0.0), abs=1e-14)
        assert mu[2 * i + 1] == pytest.approx(max(y[i] - high, 0.0), abs=1e-14)


def test_box_multiplier_is_differentiable():
    values, grad = gradients(BOX_LAYER, [2.0, 0.5, -1.0, 0.0, 1.0], output=N + 1)   # μ of x₁ ≤ 1
    assert values[N + 1] == pytest.approx(1.0, abs=1e-15)             # μ = y₁ - hi
    assert grad == pytest.approx([1, 0, 0, 0, -1], abs=1e-14)


# --------------------------------------------------------------------------- #
# simplex projection: sort and threshold                                        #
# --------------------------------------------------------------------------- #
SIMPLEX = Minimize(sum((xi - yi)**2 for xi, yi in zip(X, Y)) / 2, list(X), list(Y),
                   constraints=[sum(X) - 1] + [xi >= 0 for xi in X])
SIMPLEX_LAYER = SIMPLEX.primitive()


def simplex_projection(y):
    """Held & al.'s sort-and-threshold: x = max(y - τ, 0) with Σx = 1."""
    u = sorted(y, reverse=True)
    k = max(j for j in range(1, len(y) + 1) if u[j - 1] - (sum(u[:j]) - 1) / j > 0)
    tau = (sum(u[:k]) - 1) / k
    return [max(v - tau, 0.0) for v in y], tau


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=N, max_size=N))
def test_simplex_projection_and_jacobian(y):
    want, tau = simplex_projection(y)
    assume(all(abs(v - tau) > 1e-6 for v in y))                      # no weakly active x ≥ 0
    support = [i for i in range(N) if y[i] > tau]
    for i in range(N):
        values, grad = gradients(SIMPLEX_LAYER, y, output=i)
        assert values == pytest.approx(want, abs=1e-14)
        # on the support S: ∂xᵢ/∂yⱼ = δᵢⱼ - 1/|S|; off it, 0
        jac = [(float(i == j) - 1 / len(support)) if i in support and j in support else 0.0
               for j in range(N)]
        assert grad == pytest.approx(jac, abs=1e-14)


# --------------------------------------------------------------------------- #
# 1-D: min a x² + b x s.t. x ≥ c                                                #
# --------------------------------------------------------------------------- #
ONE_D = Minimize(a * x**2 + b * x, x, [a, b, c], constraints=[x >= c]).primitive()


@settings(max_examples=60, deadline=None)
@given(st.floats(0.1, 5), finite, finite)
def test_bound_constrained_quadratic(av, bv, cv):
    free = -bv / (2 * av)
    assume(abs(free - cv) > 1e-6)
    _, grad = gradients(ONE_D, [av, bv, cv])
    value = ONE_D.solve(av, bv, cv)
    if free > cv:
        assert value == pytest.approx(free, rel=1e-15, abs=1e-300)
        assert grad == pytest.approx([bv / (2 * av**2), -1 / (2 * av), 0.0], rel=1e-14)
    else:
        assert value == pytest.approx(cv, rel=1e-15, abs=1e-300)
        assert grad == [0.0, 0.0, 1.0]


# --------------------------------------------------------------------------- #
# non-negative least squares against mpmath                                      #
# --------------------------------------------------------------------------- #
A_MAT = [[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]]
B = sp.symbols("b1:4")
X2 = sp.symbols("u v")
NNLS = Minimize(sum((sum(A_MAT[i][j] * X2[j] for j in range(2)) - B[i])**2 for i in range(3)),
                list(X2), list(B), constraints=[X2[0] >= 0, X2[1] >= 0])


def nnls_mpmath(bv, dps=50):
    """The NNLS solution and ∂x/∂b by brute force over the active sets, at dps digits."""
    with mpmath.workdps(dps):
        A = mpmath.matrix(A_MAT)
        bb = mpmath.matrix([mpmath.mpf(v) for v in bv])
        for free in ([0, 1], [0], [1], []):
            x = mpmath.matrix(2, 1)
            jac = mpmath.matrix(2, 3)
            if free:
                Af = mpmath.matrix([[A_MAT[i][j] for j in free] for i in range(3)])
                G = (Af.T * Af) ** -1 * Af.T                          # x_F = (A_FᵀA_F)⁻¹A_Fᵀ b
                xf = G * bb
                for k, j in enumerate(free):
                    x[j] = xf[k]
                    for i in range(3):
                        jac[j, i] = G[k, i]
            grad = 2 * A.T * (A * x - bb)                             # ∇f = μ ≥ 0 on the bound
            if all(x[j] >= 0 for j in range(2)) and \
                    all(grad[j] >= 0 for j in range(2) if j not in free):
                return [float(v) for v in x], [[float(jac[j, i]) for i in range(3)] for j in range(2)]
    raise AssertionError("no active set")


@pytest.mark.parametrize("bv", [[1.0, 2.0, 0.3], [-1.0, 2.0, 0.3], [1.0, -4.0, 0.0],
                                [-1.0, -1.0, -1.0], [0.7, 0.1, 2.0]])
def test_nnls_against_mpmath(bv):
    layer = NNLS.primitive()
    want, jac = nnls_mpmath(bv)
    for j in range(2):
        values, grad = gradients(layer, bv, output=j)
        assert values == pytest.approx(want, rel=1e-14, abs=1e-15)
        assert grad == pytest.approx(jac[j], rel=1e-13, abs=1e-15)


# --------------------------------------------------------------------------- #
# agreement with the equality path                                                 #
# --------------------------------------------------------------------------- #
def test_agrees_with_equality_constrained_layer():
    y1, y2 = sp.symbols("y1 y2")
    u, v = sp.symbols("u v")
    f = (u - y1)**2 + 2 * (v - y2)**2 + u * v
    ineq = Minimize(f, [u, v], [y1, y2], constraints=[u + v <= 1, u >= -5]).primitive()
    eq = Minimize(f, [u, v], [y1, y2], constraints=[u + v - 1]).primitive()
    at = [2.0, 1.5]
    assert ineq.active_set(*at) == (u + v <= 1,)
    for k in range(2):
        vi, gi = gradients(ineq, at, k)
        ve, ge = gradients(eq, at, k)
        assert vi == pytest.approx(ve, rel=1e-15)
        assert gi == pytest.approx(ge, rel=1e-14)


# --------------------------------------------------------------------------- #
# multipliers: Cobb-Douglas λ = 1/m                                                 #
# --------------------------------------------------------------------------- #
def test_cobb_douglas_marginal_utility_of_income():
    px, py, m = sp.symbols("p q m")
    u, v = sp.symbols("u v")
    st_ = Minimize(-(sp.log(u) / 3 + 2 * sp.log(v) / 3), [u, v], [px, py, m],
                   constraints=[px * u + py * v - m])
    layer = st_.primitive(multipliers=True, x0=(1.0, 1.0))
    values, grad = gradients(layer, [2.0, 0.5, 3.0], output=2)       # λ
    assert values == pytest.approx([0.5, 4.0, 1 / 3], rel=1e-15)      # x = αm/p, y = (1-α)m/q
    assert grad == pytest.approx([0.0, 0.0, -1 / 9], rel=1e-14, abs=1e-15)   # dλ/dm = -1/m²


# --------------------------------------------------------------------------- #
# degenerate points, typed errors                                                   #
# --------------------------------------------------------------------------- #
WEAK = Minimize((x - a)**2, x, [a], constraints=[x >= 0])


def test_weakly_active_is_not_differentiable():
    layer = WEAK.primitive()
    A = Scalar(0.0)
    X_ = layer(A)
    assert X_.value == 0.0
    with pytest.raises(NonDifferentiableError, match=r"\[0\] x >= 0") as info:
        backward(X_)
    assert info.value.kink == -x


@pytest.mark.parametrize("side, want", [("right", 1.0), ("left", 0.0)])
def test_one_sided_derivatives(side, want):
    layer = WEAK.primitive(side=side)
    assert gradients(layer, [0.0])[1] == [want]
    assert layer.directional_derivative(0.0, direction=[1.0], side=side) == (want,)
    assert layer.directional_derivative(0.0, direction=[-2.0], side=side) == (2 * want - 2.0,)
    # away from the kink both sides agree with the derivative
    assert layer.directional_derivative(0.5, direction=[1.0], side=side) == (1.0,)


def test_infeasible():
    with pytest.raises(InfeasibleError, match=r"x >= 1|x <= 0"):
        Minimize((x - a)**2, x, [a], constraints=[x >= 1, x <= 0]).primitive().solve(0.0)


def test_unbounded():
    with pytest.raises(UnboundedError):
        Minimize(-x + a * x**2, x, [a], constraints=[x >= 0]).primitive().solve(0.0)


def test_licq_failure_names_the_constraints():
    layer = Minimize((x - a)**2, x, [a], constraints=[x <= 1, 2 * x <= 2]).primitive()
    with pytest.raises(ConstraintQualificationError, match=r"\[0\] x <= 1.*\[1\] 2\*x <= 2"):
        layer.solve(2.0)
    assert issubclass(ConstraintQualificationError, SingularJacobianError)


def test_nonconvex_reaches_a_minimum_or_says_not():
    layer = Minimize(-(x - a)**2, x, [a], constraints=[x >= -1, x <= 1]).primitive()
    assert layer.solve(0.0, x0=0.5) == 1.0                           # not the maximum x = 0
    u, v = sp.symbols("u v")
    saddle = Minimize(u * v, [u, v], [a], constraints=[u + v - a]).primitive(multipliers=True)
    with pytest.raises(NotAMinimumError):                            # u(a - u) is concave
        saddle.solve(1.0)


def test_bad_calls():
    layer = WEAK.primitive()
    with pytest.raises(ArgumentError):
        layer(1.0, 2.0)
    with pytest.raises(NonFiniteError):
        layer(math.inf)
    with pytest.raises(StatementError):
        WEAK.primitive(side="up")


def test_default_layer_gives_the_same_bits_whatever_it_solved_before():
    points = list(itertools.product([-1.0, 0.5, 2.0], repeat=3))
    fresh = [NNLS.primitive().solve(*bv) for bv in points]       # a new layer per point
    layer = NNLS.primitive()
    for bv, want in zip(points[::-1] + points, fresh[::-1] + fresh):
        assert layer.solve(*bv) == want                          # bit for bit, in any order


def test_opt_in_warm_start_finds_the_cold_minimizer():
    layer = NNLS.primitive(warm_start=True)
    cold = NNLS.primitive()
    for bv in itertools.product([-1.0, 0.5, 2.0], repeat=3):
        assert layer.solve(*bv) == pytest.approx(cold.solve(*bv), rel=1e-15, abs=1e-15)


def test_equality_minimize_keeps_its_layer_without_multipliers():
    from symimplicit.lower.layers import ImplicitLayer
    st_ = Minimize((x - a)**2 + b**2 * x, x, [a, b])
    assert isinstance(st_.primitive(), ImplicitLayer)
    assert not isinstance(st_.primitive(multipliers=True), ImplicitLayer)
    assert np.isclose(st_.primitive(multipliers=True).solve(1.0, 1.0), 0.5)


@settings(max_examples=30, deadline=None)
@given(st.lists(finite, min_size=N, max_size=N), finite, st.floats(0.1, 3),
       st.integers(0, N - 1), st.booleans())
def test_one_sided_box_derivatives_match_one_sided_differences(y, low, width, i, at_high):
    """yᵢ exactly on a bound: the one-sided derivatives of clip are the one-sided slopes."""
    high = low + width
    y = list(y)
    y[i] = high if at_high else low
    assume(all(min(abs(v - low), abs(v - high)) > 1e-3 for j, v in enumerate(y) if j != i))
    layer = BOX.primitive(side="right")
    direction = [float(j == i) for j in range(N + 2)]
    for side, t in (("right", 1e-7), ("left", -1e-7)):
        got = layer.directional_derivative(*y, low, high, direction=direction, side=side)
        moved = list(y)
        moved[i] += t
        slope = [(u - v) / t for u, v in zip(layer.solve(*moved, low, high), layer.solve(*y, low, high))]
        assert got[:N] == pytest.approx(slope, abs=1e-6)
    with pytest.raises(NonDifferentiableError):
        gradients(BOX.primitive(), y + [low, high], output=i)


u_, v_ = sp.symbols("u v")
DISK = Minimize((u_ - a)**2 + (v_ - b)**2, [u_, v_], [a, b, c],
                constraints=[u_**2 + v_**2 <= c**2]).primitive(x0=(0.1, 0.1))


@settings(max_examples=40, deadline=None)
@given(finite, finite, st.floats(0.2, 2))
def test_projection_onto_a_disk(av, bv, cv):
    """A curved constraint: outside the disk x = c·p/|p|, ∂x/∂p = (c/|p|)(I - p̂p̂ᵀ)."""
    r = math.hypot(av, bv)
    assume(abs(r - cv) > 1e-6 and r > 1e-3)
    for i in range(2):
        values, grad = gradients(DISK, [av, bv, cv], output=i)
        p = (av, bv)
        if r < cv:
            assert values == pytest.approx(list(p), rel=1e-15, abs=1e-15)
            assert grad == pytest.approx([float(i == 0), float(i == 1), 0.0], abs=1e-14)
        else:
            assert values == pytest.approx([cv * av / r, cv * bv / r], rel=1e-14, abs=1e-15)
            jac = [cv / r * (float(i == j) - p[i] * p[j] / r**2) for j in range(2)]
            assert grad == pytest.approx(jac + [p[i] / r], rel=1e-12, abs=1e-13)
