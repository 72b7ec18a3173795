"""Second and third derivatives through an inequality-constrained argmin on the tape.

Truth: the projection of (a, b) onto the unit disk, min (x-a)² + (y-b)² s.t. x² + y² ≤ 1, is
(a, b)/r with r = √(a² + b²) outside the disk (multiplier μ = r - 1) and (a, b) inside
(μ = 0); its derivatives come from SymPy's diff of that closed form, evaluated in mpmath.
"""
from __future__ import annotations

import math

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import Minimize
from symimplicit.errors import NonDifferentiableError
from symimplicit.tape import Scalar, grad

x, y, a, b = sp.symbols("x y a b")
DISK = Minimize((x - a)**2 + (y - b)**2, (x, y), (a, b), constraints=[x**2 + y**2 <= 1])
R = sp.sqrt(a**2 + b**2)
OUTSIDE = {"x": a / R, "y": b / R, "mu": R - 1}          # the closed form where the disk is active


def truth(expr, wrt, av, bv):
    """∂^k expr / ∂wrt… at (av, bv): SymPy's diff, evaluated by mpmath at 50 digits."""
    d = sp.diff(expr, *wrt) if wrt else expr
    with mp.workdps(50):
        return float(sp.lambdify((a, b), d, "mpmath")(mp.mpf(av), mp.mpf(bv)))


def tape_derivatives(layer, av, bv, out_index):
    """The value, gradient, Hessian and one third derivative of output ``out_index``."""
    A, B = Scalar(av), Scalar(bv)
    out = layer(A, B)[out_index]
    ga, gb = grad(out, [A, B], create_graph=True)
    gaa, gab = grad(ga, [A, B], create_graph=True)
    _, gbb = grad(gb, [A, B], create_graph=True)
    gaab = grad(gaa, [B])[0]
    return out.value, (ga, gb), (gaa, gab, gbb), gaab


def value(v):
    return v.value if isinstance(v, Scalar) else float(v)


outside = st.tuples(st.floats(-3, 3), st.floats(-3, 3)).filter(
    lambda p: math.hypot(*p) > 1.2)


@settings(max_examples=25, deadline=None)
@given(outside)
def test_higher_derivatives_of_the_projection_match_the_closed_form(p):
    av, bv = (float(mp.mpf(t)) for t in p)
    layer = DISK.primitive(multipliers=True)
    for k, name in enumerate(["x", "y", "mu"]):
        v, g, h, t = tape_derivatives(layer, av, bv, k)
        expr = OUTSIDE[name]
        assert v == pytest.approx(truth(expr, [], av, bv), rel=1e-14, abs=1e-14)
        for got, wrt in zip(g, [[a], [b]]):
            assert value(got) == pytest.approx(truth(expr, wrt, av, bv), rel=1e-12, abs=1e-13)
        for got, wrt in zip(h, [[a, a], [a, b], [b, b]]):
            assert value(got) == pytest.approx(truth(expr, wrt, av, bv), rel=1e-11, abs=1e-12)
        assert value(t) == pytest.approx(truth(expr, [a, a, b], av, bv), rel=1e-10, abs=1e-11)


def test_inside_the_disk_the_solution_is_the_point_and_higher_derivatives_vanish():
    layer = DISK.primitive()
    v, g, h, t = tape_derivatives(layer, 0.3, -0.2, 0)
    assert v == pytest.approx(0.3, rel=1e-15)
    assert [value(d) for d in g] == [1.0, 0.0]
    assert [value(d) for d in h] == [0.0, 0.0, 0.0] and value(t) == 0.0


def test_weakly_active_constraint_has_no_second_derivative():
    # (a, b) on the circle: μ = 0 at zero slack, the active set changes there
    layer = DISK.primitive(side="right")
    A, B = Scalar(0.6), Scalar(0.8)
    X = layer(A, B)[0]
    with pytest.raises(NonDifferentiableError, match="weakly active"):
        grad(X, [A, B], create_graph=True)
