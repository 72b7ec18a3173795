"""Issue 9 item 1: no user symbol name can change what the generated code means.

Statements whose unknown and parameters are named after SymPy's and Python's constants,
functions and modules (e, E, pi, I, cos, math, numpy, the CSE temporaries x0, x1, our own
internal names _s0 ...) are solved by the layer and by the NumPy sweep and compared with an
mpmath solve written here, on the same mathematics with numbers in place of the symbols.
"""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import FixedPoint, parse
from symimplicit.lower.codegen import lambdify_many

NAMES = ["e", "E", "pi", "I", "N", "S", "Q", "O", "cos", "sin", "exp", "abs", "sum", "max", "min",
         "math", "numpy", "np", "mpmath", "mpf", "builtins", "x0", "x1", "x2", "_s0", "_s1", "_s2",
         "lambda_", "list", "float", "range", "sqrt", "Abs", "tanh", "nan", "inf", "oo", "zoo",
         "beta", "gamma", "Float", "Symbol", "select", "where", "_lambdifygenerated", "Dummy",
         "print", "len", "Integer", "Rational", "array", "real", "imag", "ln", "log", "re",
         "_t0", "_t1", "_c0", "_h0", "_generated"]

mp.mp.dps = 40


def truth(A, B):
    """x = A cos(x + B)/2 + e/10 + π/20 and dx/dA, dx/dB by mpmath (|A|/2 < 1: a contraction)."""
    A, B = mp.mpf(A), mp.mpf(B)
    c = mp.e / 10 + mp.pi / 20
    xs = mp.findroot(lambda t: t - A * mp.cos(t + B) / 2 - c, 0)
    Fx = 1 + A * mp.sin(xs + B) / 2                                  # ∂F/∂x of F = x - f
    return xs, (mp.cos(xs + B) / 2) / Fx, (-A * mp.sin(xs + B) / 2) / Fx


def statement(unknown, pa, pb):
    x, A, B = (sp.Symbol(n) for n in (unknown, pa, pb))
    f = A * sp.cos(x + B) / 2 + sp.exp(1) / 10 + sp.pi / 20
    return FixedPoint(f, x, (A, B))


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.sampled_from(NAMES), min_size=3, max_size=3, unique=True),
       A=st.floats(-1.5, 1.5), B=st.floats(-3.0, 3.0))
def test_layer_and_sweep_are_immune_to_names(names, A, B):
    s = statement(*names)
    xs, dA, dB = truth(A, B)
    kappa = 1 + abs(A) / abs(1 + A * mp.sin(xs + B) / 2)
    tol = 16 * float(kappa) * 2.0 ** -52
    got = s.primitive().solve(A, B)
    assert got == pytest.approx(float(xs), rel=tol, abs=tol)
    xv, grad = s.lower().solve_and_gradient(np.array([A]), np.array([B]))
    assert xv[0] == pytest.approx(float(xs), rel=tol, abs=tol)
    assert grad[0, 0] == pytest.approx(float(dA), rel=64 * tol, abs=64 * tol)
    assert grad[0, 1] == pytest.approx(float(dB), rel=64 * tol, abs=64 * tol)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(NAMES), v=st.floats(-5, 5))
def test_every_backend_evaluates_constants_not_the_user_symbol(name, v):
    """E, π, I and exp(1) printed next to a symbol called e/pi/E/I: each backend gives the maths."""
    s = sp.Symbol(name)
    expr = s + sp.E + sp.pi + sp.exp(1) * s
    want = mp.mpf(v) + mp.e + mp.pi + mp.e * mp.mpf(v)
    terms = abs(v) * (1 + math.e) + math.e + math.pi     # the sum cancels: rounding of its terms
    for backend in ("math", "numpy", "mpmath"):
        got = lambdify_many([expr], [s], backend)(v)[0]
        assert abs(float(got) - float(want)) <= 4 * 2.0 ** -52 * terms, backend


def test_reported_examples():
    assert parse("x = e*cos(x) + exp(1)/10").primitive().solve(0.5) == \
        pytest.approx(float(mp.findroot(lambda t: t - mp.mpf(0.5) * mp.cos(t) - mp.e / 10, 0.6)),
                      rel=1e-15)
    pi_sym, x = sp.Symbol("pi"), sp.Symbol("x")
    layer = FixedPoint(pi_sym * sp.cos(x) / 10 + sp.pi / 10, x, (pi_sym,)).primitive()
    want = mp.findroot(lambda t: t - mp.mpf(2) * mp.cos(t) / 10 - mp.pi / 10, 0.5)
    assert layer.solve(2.0) == pytest.approx(float(want), rel=1e-15)
    layer = parse("x = cos(cos*x)/2").primitive()                    # a parameter called cos
    want = mp.findroot(lambda t: t - mp.cos(mp.mpf(1.5) * t) / 2, 0.4)
    assert layer.solve(1.5) == pytest.approx(float(want), rel=1e-15)


def test_mpmath_backend_keeps_full_precision_with_shadowing_names():
    e = sp.Symbol("e")
    with mp.workdps(50):
        got = lambdify_many([e * sp.E], [e], "mpmath")(mp.mpf(1) / 3)[0]
        assert abs(got - mp.e / 3) < mp.mpf(10) ** -48


def test_a_stray_free_symbol_is_refused_at_construction():
    from symimplicit.errors import DerivationError
    a, b = sp.symbols("a b")
    with pytest.raises(DerivationError, match="b"):
        lambdify_many([a + b], [a])
