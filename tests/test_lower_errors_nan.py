"""Sweeps with errors="nan" (issue 16): failing points are NaN with a reason per point, every
other point is the float64 truth, and the set of failures is exactly the set of points where
the problem has no (differentiable) solution."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import Root, parse
from symimplicit.errors import StatementError

x, a = sp.symbols("x a", real=True)
SQRT = Root(x**2 - a, x, (a,)).lower(x0=1.0)        # x = √a from x0 = 1; none for a ≤ 0


values = st.one_of(st.floats(1e-6, 1e6), st.floats(-10, -1e-6), st.just(0.0),
                   st.sampled_from([math.inf, -math.inf, math.nan]))


@settings(max_examples=40, deadline=None)
@given(st.lists(values, min_size=1, max_size=20))
def test_nan_sweep_masks_exactly_the_points_without_a_root(A):
    A = np.array(A)
    Z, G = SQRT.solve_and_gradient(A, errors="nan")
    good = np.isfinite(A) & (A > 0)
    assert set(SQRT.failures) == set(np.flatnonzero(~good).tolist())
    assert np.isnan(Z[~good]).all() and np.isnan(G[~good]).all()
    np.testing.assert_allclose(Z[good], np.sqrt(A[good]), rtol=4e-16)
    np.testing.assert_allclose(G[good, 0], 0.5 / np.sqrt(A[good]), rtol=1e-15)


def test_reasons_name_the_error_and_the_point():
    SQRT.solve([4.0, -1.0, math.inf, 0.0], errors="nan")
    reasons = SQRT.failures
    assert reasons[1].startswith("ConvergenceError") and "a=-1.0" in reasons[1]
    assert reasons[2].startswith("NonFiniteError") and "parameter a" in reasons[2]
    assert reasons[3].startswith("SingularJacobianError") and "a=0.0" in reasons[3]
    assert "flat indices" not in " ".join(reasons.values())      # subset indices would mislead


def test_kinks_are_masked_only_for_the_gradient():
    kink = parse("x = abs(a*x)/2 + b").lower()
    A, B = [1.0, 1.0, 1.5], [0.3, 0.0, -0.2]
    assert not np.isnan(kink.solve(A, B, errors="nan")).any()     # the value exists on the kink
    G = kink.gradient(A, B, errors="nan")
    assert list(kink.failures) == [1] and "kink" in kink.failures[1]
    # away from the kink: x = b/(1 - a/2) for b > 0, b/(1 + a/2) for b < 0
    assert G[0, 1] == pytest.approx(1 / (1 - 0.5), rel=1e-15)
    assert G[2, 1] == pytest.approx(1 / (1 + 0.75), rel=1e-15)


def test_raise_stays_the_default_and_bad_modes_are_refused():
    with pytest.raises(Exception) as info:
        SQRT.solve([4.0, -1.0])
    assert "a=-1.0" in str(info.value)
    with pytest.raises(StatementError, match="errors='skip'"):
        SQRT.solve([4.0], errors="skip")
