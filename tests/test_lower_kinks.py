"""Issue 9 item 3: a solution on a kink of F has no derivative; the layer and the sweep say so.

abs, Max and Piecewise statements are drawn at solutions on the kink (NonDifferentiableError,
naming the kink) and off it (the derivative agrees with mpmath's numerical derivative of an
mpmath solve done here).
"""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import FixedPoint, Root, parse
from symimplicit.errors import NonDifferentiableError
from symimplicit.tape import Scalar, backward

x, a, b = sp.symbols("x a b")
mp.mp.dps = 40

ABS = parse("x = abs(a*x)/2 + b")
MAX = Root(sp.Max(x, a) + x - b, x, (a, b))
PIECE = Root(sp.Piecewise((x - a, x < b), (2 * x - a - b, True)), x, (a, b))

def abs_solve(A, B):
    """x = |a x|/2 + b: x has b's sign, so x = b/(1 - |a|/2) for b > 0, b/(1 + |a|/2) for b < 0."""
    A, B = mp.mpf(A), mp.mpf(B)
    return B / (1 - abs(A) / 2) if B > 0 else B / (1 + abs(A) / 2)

def max_solve(A, B):
    return mp.findroot(lambda t: max(t, A) + t - B, (mp.mpf(-1e3), mp.mpf(1e3)), solver="anderson")

def piece_solve(A, B):
    f = lambda t: (t - A) if t < B else (2 * t - A - B)
    return mp.findroot(f, (mp.mpf(-1e3), mp.mpf(1e3)), solver="anderson")


def mp_gradient(solve, A, B):
    """∂x/∂a, ∂x/∂b by central differences of high-precision solves (h = 1e-15)."""
    A, B = mp.mpf(A), mp.mpf(B)
    h = mp.mpf(10) ** -15
    return [(solve(A + h, B) - solve(A - h, B)) / (2 * h), (solve(A, B + h) - solve(A, B - h)) / (2 * h)]


def layer_gradient(layer, A, B):
    PA, PB = Scalar(A), Scalar(B)
    X = layer(PA, PB)
    backward(X)
    return X.value, [PA.grad, PB.grad]


def assert_kink(statement, A, B, kink):
    with pytest.raises(NonDifferentiableError) as info:
        statement.primitive()(Scalar(A), Scalar(B))
    assert info.value.kink in (kink, -kink) and "kink" in str(info.value)
    with pytest.raises(NonDifferentiableError):
        statement.lower().gradient(np.array([A, 0.3]), np.array([B, 5.0]))


@settings(max_examples=40, deadline=None)
@given(A=st.floats(-1.9, 1.9).filter(lambda v: abs(v) > 1e-3))
def test_abs_on_the_kink(A):
    assert_kink(ABS, A, 0.0, sp.Symbol("a", real=True) * sp.Symbol("x", real=True))
    assert ABS.primitive().solve(A, 0.0) == 0.0                       # the value exists


@settings(max_examples=40, deadline=None)
@given(A=st.floats(-1.9, 1.9).filter(lambda v: abs(v) > 1e-3),
       B=st.floats(-10, 10).filter(lambda v: abs(v) > 1e-6))
def test_abs_off_the_kink_matches_mpmath(A, B):
    value, grad = layer_gradient(ABS.primitive(), A, B)
    assert value == pytest.approx(float(abs_solve(A, B)), rel=1e-14)
    for got, want in zip(grad, mp_gradient(abs_solve, A, B)):
        assert got == pytest.approx(float(want), rel=1e-12, abs=1e-13)


@settings(max_examples=40, deadline=None)
@given(A=st.floats(-100, 100).filter(lambda v: abs(v) > 1e-300), ulps=st.integers(-2, 2))
def test_max_at_the_tie(A, ulps):
    B = float(np.float64(2 * A) + ulps * np.spacing(2 * A))         # b = 2a within rounding
    assert_kink(MAX, A, B, a - x)


@settings(max_examples=40, deadline=None)
@given(A=st.floats(-100, 100), d=st.floats(1e-6, 10), side=st.sampled_from([-1, 1]))
def test_max_off_the_tie_matches_mpmath(A, d, side):
    B = 2 * A + side * d * max(1.0, abs(A))
    value, grad = layer_gradient(MAX.primitive(), A, B)
    assert value == pytest.approx(float(max_solve(A, B)), rel=1e-13, abs=1e-13)
    for got, want in zip(grad, mp_gradient(max_solve, A, B)):
        assert got == pytest.approx(float(want), rel=1e-10, abs=1e-10)
    _, sweep = MAX.lower().solve_and_gradient(np.array([A]), np.array([B]))
    assert sweep[0].tolist() == pytest.approx(grad, rel=1e-14)


@settings(max_examples=30, deadline=None)
@given(A=st.floats(-50, 50))
def test_piecewise_at_the_boundary(A):
    assert_kink(PIECE, A, A, b - x)


@settings(max_examples=30, deadline=None)
@given(A=st.floats(-50, 50), d=st.floats(1e-4, 10), side=st.sampled_from([-1, 1]))
def test_piecewise_off_the_boundary_matches_mpmath(A, d, side):
    B = A + side * d
    value, grad = layer_gradient(PIECE.primitive(), A, B)
    assert value == pytest.approx(float(piece_solve(A, B)), rel=1e-13, abs=1e-13)
    for got, want in zip(grad, mp_gradient(piece_solve, A, B)):
        assert got == pytest.approx(float(want), rel=1e-10, abs=1e-10)


def test_a_kinked_vector_system():
    """|x - a| + y = 1, x - 2y = b: on the branch x > a, x = (b + 2 + 2a)/3; the kink x = a at b = a - 2."""
    x, y, a, b = sp.symbols("x y a b", real=True)
    s = Root([sp.Abs(x - a) + y - 1, x - 2 * y - b], [x, y], (a, b))
    with pytest.raises(NonDifferentiableError):
        s.primitive(x0=(0.0, 0.0))(Scalar(0.5), Scalar(-1.5))       # x = a = 0.5, y = 1
    with pytest.raises(NonDifferentiableError):
        s.lower(x0=(0.0, 0.0)).gradient(0.5, -1.5)
    A, B = Scalar(0.5), Scalar(0.0)
    X, Y = s.primitive(x0=(2.0, 0.0))(A, B)                         # the branch x > a
    assert (X.value, Y.value) == pytest.approx((1.0, 0.5), rel=1e-15)
    backward(X)
    assert (A.grad, B.grad) == pytest.approx((2 / 3, 1 / 3), rel=1e-15)   # ∂x/∂a, ∂x/∂b
