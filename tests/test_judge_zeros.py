"""Issue 9, items 6 and 7: true zeros are judged absolutely; zero roots converge.

A gradient component that is exactly 0 (Cobb-Douglas demand ∂y/∂pₓ, the Lennard-Jones
∂r/∂ε) comes out of float64 as a rounding residue: it is measured against the scale of
the quantities it is computed from (ε times that scale is what float64 can reach), the
report marks it "abs", and its ulps stay finite.  A root at 0 reached from x0 ≠ 0 is
accepted by the mpmath reference (an absolute floor on Newton's step test).
Truth: closed forms and mpmath solves written here.
"""
from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import Minimize, Root
from symimplicit.precision import problem_of, reference, verify
from symimplicit.tape import Function

x, y, a, b = sp.symbols("x y a b")
alpha, px, py, income = sp.symbols("alpha p_x p_y I", positive=True)
COBB_DOUGLAS = Minimize(-(alpha * sp.log(x) + (1 - alpha) * sp.log(y)), [x, y],
                        (alpha, px, py, income), constraints=[px * x + py * y - income])
SETTINGS = settings(max_examples=12, deadline=None, derandomize=True)


def demand(al, p1, p2, m):
    """x = αI/pₓ, y = (1-α)I/p_y and the 8 partial derivatives (rows x, y)."""
    with mpmath.workdps(40):
        al, p1, p2, m = map(mpmath.mpf, (al, p1, p2, m))
        xs, ys = al * m / p1, (1 - al) * m / p2
        return (xs, ys), [[m / p1, -xs / p1, 0, al / p1],
                          [-m / p2, 0, -ys / p2, (1 - al) / p2]]


@SETTINGS
@given(st.floats(0.1, 0.9), st.floats(0.5, 20.0), st.floats(0.5, 20.0), st.floats(1.0, 1e3))
def test_cobb_douglas_true_zeros_pass_absolutely(al, p1, p2, m):
    at = {alpha: al, px: p1, py: p2, income: m}
    sol, grad = demand(al, p1, p2, m)
    rep = verify(COBB_DOUGLAS, at=at, x0=[float(sol[0]) * 1.1, float(sol[1]) * 0.9],
                 richardson=False)
    assert rep.ok, str(rep)
    rows = {row.name: row for row in rep.rows}
    for (i, u) in enumerate("xy"):
        for j, p in enumerate(("alpha", "p_x", "p_y", "I")):
            row = rows[f"∂{u}/∂{p}"]
            assert abs(row.reference - grad[i][j]) < 1e-35 * max(1, abs(grad[i][j]))
            if grad[i][j] == 0:
                assert row.absolute and math.isfinite(row.ulps) and row.ulps < 1e3
                assert " abs" in row.error_text()
            else:
                assert not row.absolute
    assert "e+30" not in str(rep)                                 # no 1e307 ulps nonsense


@SETTINGS
@given(st.floats(-1e-12, 1e-12))
def test_a_zero_component_is_judged_against_the_scale_it_is_computed_from(residue):
    """A float64 residue at ε·scale passes; a wrong zero (1e-6 of the scale) fails."""
    sol, grad = demand(0.3, 2.0, 5.0, 100.0)
    good = [[float(v) for v in row] for row in grad]
    good[1][1] = residue * 1e-4                                   # ~1e-16 of the row's scale

    def layer(values):
        return Function("Demand", lambda *t: (float(sol[0]), float(sol[1])),
                        vjp=lambda g, node: [g[0] * values[0][j] + g[1] * values[1][j]
                                             for j in range(4)], n_outputs=2)

    at = {alpha: 0.3, px: 2.0, py: 5.0, income: 100.0}
    assert verify(layer(good), at=at, against=COBB_DOUGLAS, richardson=False).ok
    bad = [row[:] for row in good]
    bad[1][1] = 1e-6 * 20.0
    rep = verify(layer(bad), at=at, against=COBB_DOUGLAS, richardson=False)
    assert not rep.ok and [f.name for f in rep.failures] == ["∂y/∂p_x"]


@SETTINGS
@given(st.floats(0.1, 10.0), st.floats(0.05, 3.0).map(lambda v: v), st.booleans())
def test_zero_root_from_a_nonzero_start(a_value, start, negative):
    """x³ + a x = 0 has the single real root 0 for a > 0; Newton from x0 ≠ 0 reaches it."""
    stmt = Root(x**3 + a * x, x, (a,))
    x0 = -start if negative else start
    ref = reference(problem_of(stmt), [a_value], [x0], 30)
    assert abs(ref.solution[0]) < mpmath.mpf(10) ** -60
    with mpmath.workdps(40):
        assert abs(ref.gradient[0][0]) < mpmath.mpf(10) ** -30   # ∂x/∂a = -x/(3x² + a) = 0
    rep = verify(stmt, at={a: a_value}, x0=x0)
    assert rep.ok and rep.rows[0].absolute and rep.rows[1].absolute, str(rep)


def test_zero_root_of_a_shifted_problem():
    """x = a - b at a = b: the root is 0 for every start."""
    stmt = Root(sp.sinh(x) - a + b, x, (a, b))
    for x0 in (0.5, -3.0, 1e-3):
        ref = reference(problem_of(stmt), [1.25, 1.25], [x0], 40)
        assert ref.solution[0] == 0 or abs(ref.solution[0]) < mpmath.mpf(10) ** -80
        with mpmath.workdps(50):
            assert abs(ref.gradient[0][0] - 1) < mpmath.mpf(10) ** -40  # ∂x/∂a = 1/cosh 0
