"""The float64 solvers, on small systems built from lambdified SymPy residuals."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from symimplicit.errors import ConvergenceError
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
    with pytest.raises(ValueError, match="unknown method"):
        solver_class("brent", vector=False)
