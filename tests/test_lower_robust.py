"""Issue 9: simple roots that Newton misses from the default start are found (the sign
change of F nearest x0, then Newton-bisection), by the layer and the sweep alike."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings, strategies as st

from symimplicit import FixedPoint, Root

x, a, b, c = sp.symbols("x a b c")
CUBIC = Root(x**3 - a * x - c, x, (a, c))
COS = FixedPoint(sp.cos(a * x + b), x, (a, b))


def test_reported_cubic():
    with mp.workdps(40):
        want = mp.findroot(lambda t: t**3 - mp.mpf(4.8e-7) * t - mp.mpf(3.5e7), 327)
    assert CUBIC.primitive().solve(4.8e-7, 3.5e7) == pytest.approx(float(want), rel=4e-16)
    assert CUBIC.lower().solve(4.8e-7, 3.5e7) == pytest.approx(float(want), rel=4e-16)


@settings(max_examples=60, deadline=None)
@given(e=st.integers(-7, 12), A=st.floats(1e-8, 1e-3))
def test_cubics_with_large_constant(e, A):
    C = 3.5 * 10.0 ** e
    assume(4 * A**3 < 27 * C**2)                                     # one real root, near C^(1/3)
    with mp.workdps(40):
        want = mp.findroot(lambda t: t**3 - mp.mpf(A) * t - mp.mpf(C), mp.cbrt(C))
    assert CUBIC.primitive().solve(A, C) == pytest.approx(float(want), rel=1e-15)


def cos_truth(A, B):
    """The unique fixed point of x = cos(ax + b) for a < 1; for a ≥ 1 the one the layer names
    is checked by its residual at 40 digits instead."""
    with mp.workdps(40):
        return mp.findroot(lambda t: t - mp.cos(mp.mpf(A) * t + mp.mpf(B)), 0.5)


def test_random_cos_fixed_points():
    rng = np.random.default_rng(20261201)
    A, B = rng.uniform(0.2, 1.5, 2000), rng.uniform(-1e4, 1e4, 2000)
    layer = COS.primitive()
    xs = COS.lower().solve(A, B)
    for Ai, Bi, xi in zip(A, B, xs):
        assert layer.solve(Ai, Bi) == xi
        with mp.workdps(40):
            F = mp.mpf(xi) - mp.cos(mp.mpf(Ai) * mp.mpf(xi) + mp.mpf(Bi))
            Fx = 1 + mp.mpf(Ai) * mp.sin(mp.mpf(Ai) * mp.mpf(xi) + mp.mpf(Bi))
        # a root: the Newton correction |F/F_x| is within a few ulps of x (plus x's phase ulps)
        assert abs(F / Fx) <= 8 * 2.0**-52 * (1 + abs(Ai * xi) + abs(Bi)) / abs(Fx)
    for Ai, Bi in zip(A[A < 1][:100], B[A < 1][:100]):                # unique: compare values
        assert layer.solve(Ai, Bi) == pytest.approx(float(cos_truth(Ai, Bi)),
                                                    rel=1e-12 * (1 + abs(Bi)), abs=1e-12 * (1 + abs(Bi)))
