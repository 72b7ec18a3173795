"""Issue 9 item 4: overflowing or singular results are typed errors on every numeric path.

One check (symimplicit/lower/checks.py) serves the scalar layer, the vector layer and the
NumPy sweep: an overflowing derivative is a NonFiniteError, a tangency (Newton converging
linearly, cond(∂F/∂z) huge) a SingularJacobianError.  Off those points the numbers agree with
closed forms evaluated by mpmath here.
"""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import Root
from symimplicit.errors import ConvergenceError, NonFiniteError, SingularJacobianError
from symimplicit.tape import Scalar, backward

x, y, z, a, b, d1, d2, d3 = sp.symbols("x y z a b d1 d2 d3")
LINEAR = Root(a * x - b, x, (a, b))
# anchors (0,0,0), (1,0,0), (0,1,0); distances d1, d2, d3
TRI = Root([x**2 + y**2 + z**2 - d1**2, (x - 1)**2 + y**2 + z**2 - d2**2,
            x**2 + (y - 1)**2 + z**2 - d3**2], [x, y, z], (d1, d2, d3))


@settings(max_examples=40, deadline=None)
@given(e=st.integers(-320, -290), B=st.floats(0.5, 2.0))
def test_overflowing_gradient_is_nonfinite_error(e, B):
    A = 10.0 ** e if e > -308 else 1e-308
    PA, PB = Scalar(A), Scalar(B)
    try:
        X = LINEAR.primitive()(PA, PB)
    except NonFiniteError:
        return                                                       # x = b/a itself overflowed
    with pytest.raises(NonFiniteError):
        backward(X)
    with pytest.raises(NonFiniteError):
        LINEAR.lower().gradient(np.array([A]), np.array([B]))


@settings(max_examples=40, deadline=None)
@given(e=st.integers(-100, 100), B=st.floats(0.5, 2.0))
def test_representable_gradients_are_exact(e, B):
    A = 10.0 ** e
    PA, PB = Scalar(A), Scalar(B)
    X = LINEAR.primitive()(PA, PB)
    backward(X)
    mA, mB = mp.mpf(A), mp.mpf(B)
    assert PA.grad == pytest.approx(float(-mB / mA**2), rel=4e-16)   # ∂x/∂a = -b/a²
    assert PB.grad == pytest.approx(float(1 / mA), rel=4e-16)        # ∂x/∂b = 1/a


def distances(px, py, pz):
    return (math.sqrt(px**2 + py**2 + pz**2), math.sqrt((px - 1)**2 + py**2 + pz**2),
            math.sqrt(px**2 + (py - 1)**2 + pz**2))


@settings(max_examples=30, deadline=None)
@given(px=st.floats(0.1, 0.9), py=st.floats(0.1, 0.9))
def test_trilateration_tangent_point_is_never_a_number(px, py):
    """z = 0: the three spheres touch; in float64 z² is ±rounding, no real solution may exist."""
    d = distances(px, py, 0.0)
    P = [Scalar(v) for v in d]
    with pytest.raises((SingularJacobianError, ConvergenceError)):
        TRI.primitive(x0=(0.5, 0.5, 1.0))(*P)
    with pytest.raises((SingularJacobianError, ConvergenceError)):
        TRI.lower(x0=(0.5, 0.5, 1.0)).gradient(*d)


@settings(max_examples=30, deadline=None)
@given(px=st.floats(0.1, 0.9), py=st.floats(0.1, 0.9), pz=st.floats(0.05, 1.0))
def test_trilateration_above_the_plane_matches_mpmath(px, py, pz):
    d = distances(px, py, pz)

    def zc(D1, D2, D3):                                              # closed form, mpmath
        X = (D1**2 - D2**2 + 1) / 2
        Y = (D1**2 - D3**2 + 1) / 2
        return mp.sqrt(D1**2 - X**2 - Y**2)

    with mp.workdps(40):
        md = [mp.mpf(v) for v in d]
        want = [mp.diff(lambda t: zc(*(md[:k] + [t] + md[k + 1:])), md[k]) for k in range(3)]
        kappa = max(abs(w) * md[k] for k, w in enumerate(want)) / zc(*md)
    P = [Scalar(v) for v in d]
    X, Y, Z = TRI.primitive(x0=(0.5, 0.5, 1.0))(*P)
    backward(Z)
    tol = 64 * float(kappa) * 2.0**-52 + 1e-14
    for p, w in zip(P, want):
        assert p.grad == pytest.approx(float(w), rel=tol)
    sweep = TRI.lower(x0=(0.5, 0.5, 1.0)).gradient(*d)
    for k, w in enumerate(want):
        assert sweep[2, k] == pytest.approx(float(w), rel=tol)
