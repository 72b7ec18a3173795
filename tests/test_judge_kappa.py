"""Issue 9, item 5: κ and the tolerance come from the numbers at the solution.

The same problem in two forms gets comparable κ and both pass; a float64 gradient
that is the exact formula at the correctly rounded solution passes however much the
rounding of the solution is amplified (Kepler at M = 1e8); and a gradient wrong by
more than that propagation is still flagged.  Truth: mpmath solves written here.
"""
from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import Minimize, Root
from symimplicit.precision import verify
from symimplicit.tape import Function

r = sp.Symbol("r", positive=True)
eps_, sigma = sp.symbols("epsilon sigma", positive=True)
E, e, M = sp.symbols("E e M")
LJ = 4 * eps_ * ((sigma / r) ** 12 - (sigma / r) ** 6)          # Lennard-Jones pair potential
LJ_MIN = Minimize(LJ, r, (eps_, sigma))
LJ_ROOT = Root(sp.expand(sp.diff(LJ, r)), r, (eps_, sigma))
KEPLER = Root(E - e * sp.sin(E) - M, E, (e, M))
SETTINGS = settings(max_examples=12, deadline=None, derandomize=True)


def lj_truth(sigma_value):
    """r* = 2^(1/6) σ, ∂r/∂ε = 0, ∂r/∂σ = 2^(1/6): the closed form."""
    with mpmath.workdps(40):
        c = mpmath.mpf(2) ** (mpmath.mpf(1) / 6)
        return c * mpmath.mpf(sigma_value), mpmath.mpf(0), c


@SETTINGS
@given(st.floats(0.1, 10.0), st.floats(0.5, 3.0))
def test_lennard_jones_as_minimum_and_as_root_agree(eps_value, sigma_value):
    at = {eps_: eps_value, sigma: sigma_value}
    start = 1.1 * sigma_value
    reports = [verify(s, at=at, x0=start, richardson=False) for s in (LJ_MIN, LJ_ROOT)]
    truth = lj_truth(sigma_value)
    for rep in reports:
        assert rep.ok, str(rep)
        got = [row.reference for row in rep.rows]                 # the reference is the truth
        assert abs(got[0] - truth[0]) < 1e-40 and abs(got[1]) < 1e-40
        assert abs(got[2] - truth[2]) < 1e-40
    k1, k2 = (rep.kappa for rep in reports)
    assert max(k1, k2) / min(k1, k2) < 1.5, (k1, k2)              # same problem, same κ


def kepler_truth(e_value, M_value):
    with mpmath.workdps(60):
        ee, mm = mpmath.mpf(e_value), mpmath.mpf(M_value)
        root = mpmath.findroot(lambda t: t - ee * mpmath.sin(t) - mm, mm)
        den = 1 - ee * mpmath.cos(root)
        return root, mpmath.sin(root) / den, 1 / den              # E, ∂E/∂e, ∂E/∂M


def exact_formula_at_rounded_root(e_value, M_value):
    """What a perfect float64 code returns: the formula at fl(E*), evaluated exactly."""
    root = float(kepler_truth(e_value, M_value)[0])
    with mpmath.workdps(60):
        den = 1 - mpmath.mpf(e_value) * mpmath.cos(root)
        return root, float(mpmath.sin(root) / den), float(1 / den)


def kepler_layer(values):
    root, de, dM = values
    return Function("KeplerExact", lambda e_, M_: root, lambda e_, M_: [de, dM])


@SETTINGS
@given(st.floats(0.0, 0.95), st.floats(0.0, 9.0))
def test_kepler_exact_formula_at_the_rounded_root_passes(e_value, log_m):
    M_value = 10.0 ** log_m
    values = exact_formula_at_rounded_root(e_value, M_value)
    rep = verify(kepler_layer(values), at={e: e_value, M: M_value}, against=KEPLER,
                 richardson=False)
    assert rep.ok, str(rep)
    truth = kepler_truth(e_value, M_value)
    with mpmath.workdps(60):
        for row, t in zip(rep.rows, truth):
            assert abs(row.reference - t) <= mpmath.mpf(10) ** -40 * max(1, abs(t))


def test_kepler_at_1e8_is_not_a_mismatch_through_the_layer():
    rep = verify(KEPLER, at={e: 0.5, M: 1e8}, x0=1e8)
    assert rep.ok and not rep.suspect, str(rep)
    assert rep.kappa > 1e7                                       # the propagation is in κ


@SETTINGS
@given(st.floats(0.05, 0.95), st.floats(0.0, 8.0), st.sampled_from([1e-3, -1e-2, 0.5]))
def test_a_gradient_wrong_beyond_the_propagation_is_flagged(e_value, log_m, factor):
    M_value = 10.0 ** log_m
    root, de, dM = exact_formula_at_rounded_root(e_value, M_value)
    rep = verify(kepler_layer((root, de * (1 + factor), dM)), at={e: e_value, M: M_value},
                 against=KEPLER, richardson=False)
    assert not rep.ok and [f.name for f in rep.failures] == ["∂E/∂e"], str(rep)


def test_kappa_bounds_the_observed_error_of_a_cancelling_root():
    """x² - 2ax + b near a double root: κ is large and so is the error it allows."""
    x, a, b = sp.symbols("x a b")
    stmt = Root(x**2 - 2 * a * x + b, x, (a, b))
    rep = verify(stmt, at={a: 1.0, b: 1 - 1e-10}, x0=1.1, richardson=False)
    assert rep.ok, str(rep)
    with mpmath.workdps(50):
        s = mpmath.sqrt(1 - mpmath.mpf(1 - 1e-10))
        truth = 1 + s                                           # larger root
    assert abs(rep.rows[0].reference - truth) < 1e-40
    assert rep.kappa > 1e4


@SETTINGS
@given(st.integers(10**3, 10**7), st.floats(-0.01, 0.01), st.floats(0.01, 0.95))
def test_kepler_near_a_multiple_of_pi_is_not_a_false_alarm(k, delta, e_value):
    """sin E ≈ 0 at E ≈ kπ: the rounding of E (|E| u) is large relative to sin E, so
    ∂E/∂e = sin E/(1 - e cos E) loses digits; the bound carries |cos E|·|E| through sin
    (found by benchmarks/reliability.py: e = 0.057, M = 3.6e6 was a false alarm)."""
    with mpmath.workdps(40):
        root = k * mpmath.pi + delta
        M_value = float(root - e_value * mpmath.sin(root))
    values = exact_formula_at_rounded_root(e_value, M_value)
    rep = verify(kepler_layer(values), at={e: e_value, M: M_value}, against=KEPLER,
                 richardson=False)
    assert rep.ok, str(rep)
