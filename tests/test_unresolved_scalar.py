"""The one-unknown rounding-resolution test (checks.unresolved_scalar, the scalar layer's path)
against its closed form at a double root, and against the batch test it specialises."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings, strategies as st

from symimplicit.errors import DomainError
from symimplicit.lower.checks import EPS, unresolved, unresolved_scalar


@settings(max_examples=300, deadline=None)
@given(st.floats(-3, 3), st.floats(-12, -2), st.floats(-3, 8))
def test_double_root_closed_form(r, log_h, log_noise):
    """F = (x - r)², F_x = 2(x - r), at x = r + h: u = 2ε·N/|2h| and |ΔF_x|/|F_x| = u/|h|,
    so the test fires exactly when h² ≤ 2ε·N·... i.e. ε·N/h² ≥ ½."""
    h, noise = 10.0 ** log_h, 10.0 ** log_noise
    x = r + h
    h = x - r                                               # the h the floats hold
    assume(h != 0)
    ratio = EPS * noise / (h * h)                          # = |ΔF_x| / |F_x|
    assume(abs(ratio - 0.5) > 0.01)                         # not at the threshold's rounding
    got = unresolved_scalar(lambda t: 2 * (t - r), x, 2 * h, noise)
    assert got == (ratio >= 0.5)


@settings(max_examples=200, deadline=None)
@given(st.floats(-2, 2), st.floats(0.01, 3), st.floats(-8, 4), st.sampled_from([1, 2, 3, 5]))
def test_agrees_with_the_batch_test(x, scale, log_noise, power):
    """F_x(t) = scale·(t³ + power·t) + tiny curvature: the scalar and the batch test decide alike."""
    noise = 10.0 ** log_noise

    def dF(t):
        return scale * (t ** 3 + power * t) + 1e-3

    J = dF(x)
    assume(J != 0)
    batch = unresolved(lambda Z, TH: np.array([[[dF(float(Z[0, 0]))]]]), np.array([[x]]), None,
                       np.array([[[J]]]), np.array([[noise]]))[0]
    assert unresolved_scalar(dF, x, J, noise) == bool(batch)


def test_no_verdict_from_unknown_noise_or_a_side_outside_the_domain():
    assert not unresolved_scalar(lambda t: 1.0, 0.0, 1.0, math.nan)     # N(F) unknown

    def one_sided(t):
        if t < 1.0:
            raise DomainError("log of a negative")
        return 1e-12 * (t - 1.0) + 1e-30

    # at x = 1 the left side is outside the domain; the right side moves F_x by far more
    # than half: that side alone decides
    assert unresolved_scalar(one_sided, 1.0, 1e-30, 1e10)
