"""The float64 solvers, on small systems built from lambdified SymPy residuals."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from symimplicit.errors import ConvergenceError, StatementError
from symimplicit.lower.compiled import compile_statement
from symimplicit.lower.solvers import (SOLVERS, Anderson, FixedPointIteration, ScalarNewton,
                                       VectorNewton, solver_class)
from symimplicit.statements import FixedPoint, Root

x, y, a = sp.symbols("x y a")


def system(statement):
    return compile_statement(statement)


def test_newton_converges_to_the_last_ulps():
    sol = ScalarNewton(system(Root(x**2 - a, x, (a,)))).solve(1.0, (2.0,))
    assert abs(sol.z - math.sqrt(2.0)) <= 2 * math.ulp(math.sqrt(2.0))
    assert sol.iterations <= 7


def test_damping_rescues_newton_on_arctan():
    """Plain Newton diverges on atan(x) = 0 from |x0| > 1.39; the line search does not."""
    sol = ScalarNewton(system(Root(sp.atan(x) - a, x, (a,)))).solve(3.0, (0.0,))
    assert sol.z == 0.0 or abs(sol.z) < 1e-300


def test_bracketed_newton_falls_back_to_bisection():
    s = system(Root(sp.atan(x) - a, x, (a,)))
    sol = ScalarNewton(s).solve(None, (0.5,), bracket=(-10.0, 40.0))
    assert sol.z == pytest.approx(math.tan(0.5), rel=4e-16)


def test_vector_newton_and_tolerance_option():
    s = system(Root([x**2 + y**2 - 4, y - sp.exp(a * x)], (x, y), (a,)))
    tight = VectorNewton(s).solve([1.0, 1.5], (0.5,))
    loose = VectorNewton(s, tol=1e-4).solve([1.0, 1.5], (0.5,))
    assert np.abs(tight.z - loose.z).max() < 1e-6 and loose.iterations < tight.iterations


def test_anderson_beats_plain_iteration():
    s = system(FixedPoint([sp.cos(y) / 2 + a, sp.sin(x) / 2], (x, y), (a,)))
    plain = FixedPointIteration(s).solve([0.0, 0.0], (0.3,))
    fast = Anderson(s).solve([0.0, 0.0], (0.3,))
    assert np.abs(plain.z - fast.z).max() < 1e-15
    assert fast.iterations < plain.iterations


def test_failures_are_convergence_errors():
    s = system(Root(x**2 + a, x, (a,)))
    with pytest.raises(ConvergenceError) as info:
        ScalarNewton(s, max_iter=3).solve(0.3, (1.0,))
    assert info.value.point["a"] == 1.0
    with pytest.raises(ConvergenceError, match="same sign"):
        ScalarNewton(s).solve(None, (1.0,), bracket=(-1.0, 1.0))


def test_affine_residual_is_one_exact_step():
    s = system(Root([2 * x + y - a, x - 3 * y - 1], (x, y), (a,)))
    assert s.affine
    sol = solver_class("linear", vector=True)(s).solve(None, (5.0,))
    assert sol.iterations == 1 and np.allclose(sol.z, [16 / 7, 3 / 7], rtol=1e-15)


def test_table():
    assert set(SOLVERS) == {"newton", "iterate", "anderson", "linear"}
    assert solver_class("newton", vector=True) is VectorNewton
    with pytest.raises(StatementError, match=r"unknown method 'brent'.*'newton'"):
        solver_class("brent", vector=False)


# -- the stopping rule at the rounding floor (x = a tanh x near its fold a = 1) ---------------
TANH_FP = FixedPoint(a * sp.tanh(x), x, (a,))


def tanh_root(a_value: float):
    """The positive fixed point of x = a tanh x at 40 digits, and its relative condition number
    κ = (|x| + |a tanh x|) / (|x| |F_x|), F = x - a tanh x (the same float a as the solver)."""
    import mpmath as mp

    with mp.workdps(40):
        A = mp.mpf(a_value)
        r = mp.findroot(lambda u: u - A * mp.tanh(u), mp.sqrt(3 * (A - 1)))
        kappa = (abs(r) + abs(A * mp.tanh(r))) / (abs(r) * abs(1 - A * mp.sech(r) ** 2))
        return float(r), float(kappa)


def assert_kappa_accurate(value: float, a_value: float, multiple: float = 4.0):
    root, kappa = tanh_root(a_value)
    assert abs(value - root) <= multiple * kappa * 2.0 ** -53 * root, (value, root, kappa)


@pytest.mark.parametrize("a_value, x0", [(1.1000066609998977, 1.0), (1.009993883991003, 1.0),
                                         (1.010006, 1.0), (1.010006, None)])
def test_newton_accepts_a_residual_at_its_rounding_floor(a_value, x0):
    """Reported: |F| = 2.8e-17 (one ulp) forever, |Δx| = |F/F_x| ≈ 50 ulps > tol: never stopped."""
    start = tanh_root(a_value)[0] if x0 is None else x0          # None: from the solution itself
    sol = ScalarNewton(system(TANH_FP)).solve(start, (a_value,))
    assert_kappa_accurate(sol.z, a_value)
    assert sol.iterations <= 12 and not sol.multiple


@pytest.mark.parametrize("cls", [FixedPointIteration, Anderson])
@pytest.mark.parametrize("a_value", [1.1000066609998977, 1.009993883991003, 1.010006])
def test_fixed_point_solvers_stop_at_the_floor_with_kappa_accuracy(cls, a_value):
    """Plain iteration used to stop when |f(x) - x| stalled (error ~κ² ulps); now at |F| ≤ 2ε·N(F),
    N(F) ≈ 2(|x| + |a tanh x|): error ≤ 2ε·N/|F_x| ≈ 8κ·2⁻⁵³ (no Newton correction to sharpen it)."""
    for start in (1.0, tanh_root(a_value)[0]):
        sol = cls(system(TANH_FP)).solve([start], (a_value,))
        assert_kappa_accurate(float(sol.z[0]), a_value, multiple=16.0)


def test_rounding_scale_of_a_residual():
    from symimplicit.lower.rounding import rounding_scale

    N = rounding_scale(x - a * sp.tanh(x))                       # the terms, and tanh's own rounding
    assert N.subs({x: 0.5, a: 2.0}).evalf() == pytest.approx(0.5 + 3 * 2 * math.tanh(0.5))
    N = rounding_scale(x - sp.sqrt(a))                           # inputs are exact: no 1/(2√a) term
    assert not N.has(sp.Pow(a, -sp.Rational(1, 2))) and float(N.subs({x: 1.0, a: 4.0})) == 7.0
    assert float(rounding_scale(x**2 - a).subs({x: 3.0, a: 9.0})) == 36.0   # 2|x²| + 2|a|


def test_stopping_rule_is_shared_and_vectorised():
    from symimplicit.lower.solvers import EPS, at_floor, small_step, stagnated

    assert small_step(4 * EPS, 1.0, 4 * EPS) and not small_step(5 * EPS, 1.0, 4 * EPS)
    assert small_step(0.0, 0.0, 4 * EPS)                         # z = 0: only an exact zero step
    assert at_floor(2 * EPS, 1.0) and not at_floor(3 * EPS, 1.0)
    assert not at_floor(0.0, math.nan) and not at_floor(1.0, math.inf)   # no noise information
    assert stagnated(30 * EPS, 1.0) and not stagnated(33 * EPS, 1.0)
    r = np.array([EPS, 3 * EPS])
    assert at_floor(r, np.ones(2)).tolist() == [True, False]


def test_genuine_non_convergence_is_still_an_error():
    """x² + a = 0 has no real root: the residual stays ≥ a, far above its floor."""
    with pytest.raises(ConvergenceError, match="stopped decreasing|no convergence"):
        ScalarNewton(system(Root(x**2 + a, x, (a,)))).solve(0.5, (1.0,))


def test_bracket_checked_in_one_place():
    """The solvers use the layer's bracket check (one implementation): typed errors."""
    s = compile_statement(Root(x**3 - a, x, (a,)))
    with pytest.raises(StatementError, match="lo < hi"):
        ScalarNewton(s).solve(None, (1.0,), bracket=(2.0, -1.0))
    with pytest.raises(StatementError, match="scalar unknown"):
        VectorNewton(compile_statement(Root([x - a, y - a], (x, y), (a,)))).solve(
            [0.0, 0.0], (1.0,), bracket=(0.0, 1.0))
    sol = ScalarNewton(s).solve(None, (8.0,), bracket=(0.0, 3.0))
    assert sol.z == 2.0                                          # ∛8
