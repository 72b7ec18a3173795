"""The straight-line printer of the math and numpy backends (symimplicit/lower/straight_line.py)
against mpmath at 30 digits on random expressions, hostile Symbol names, long sums and deep
nesting, and SymPy's own printer for the nodes it hands over."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings, strategies as st

from symimplicit.errors import DerivationError
from symimplicit.lower.codegen import lambdify_many
from symimplicit.lower.straight_line import StraySymbol, straight_line

NAMES = ["e", "pi", "E", "I", "x0", "_s0", "_s1", "_t0", "_h0", "_c0", "math", "sin", "numpy",
         "_generated", "abs", "a"]
X = [sp.Symbol(n, real=True) for n in ("e", "_t0", "pi")]       # argument names that collide

LEAVES = st.sampled_from(X + [sp.Integer(3), sp.Rational(2, 7), sp.Float("0.3"), sp.pi, sp.E,
                              sp.Integer(-2)])


def _grow(children):
    unary = st.sampled_from([sp.sin, sp.cos, sp.tanh, sp.atan, sp.exp,
                             lambda u: sp.sqrt(u**2 + 1), lambda u: sp.log(u**2 + 1),
                             lambda u: 1 / (u**2 + 1), sp.Abs, lambda u: -u,
                             lambda u: u**3, lambda u: sp.Max(u, 0)])
    binary = st.sampled_from([sp.Add, sp.Mul, lambda u, v: u - v,
                              lambda u, v: u / (v**2 + 2), lambda u, v: sp.atan2(u, v**2 + 1)])
    return st.one_of(st.builds(lambda f, u: f(u), unary, children),
                     st.builds(lambda f, u, v: f(u, v), binary, children, children))


EXPRS = st.recursive(LEAVES, _grow, max_leaves=12)


def exact(expr, values):
    """SymPy's evalf at 30 digits, on the expression with numbers in place of the Symbols."""
    return complex(expr.xreplace({x: sp.Float(v, 40) for x, v in zip(X, values)}).evalf(30))


def largest_intermediate(expr, values) -> float:
    """max |value| over every subexpression (exact): float rounding is relative to these."""
    point = {x: sp.Float(v, 40) for x, v in zip(X, values)}
    return max(abs(complex(node.xreplace(point).evalf(30)))
               for node in sp.preorder_traversal(expr))


@settings(max_examples=150, deadline=None)
@given(st.lists(EXPRS, min_size=1, max_size=4),
       st.lists(st.floats(-2, 2, allow_nan=False), min_size=3, max_size=3))
def test_random_expressions_match_mpmath(exprs, values):
    sizes = [largest_intermediate(e, values) for e in exprs]
    assume(all(size < 1e6 for size in sizes))        # no overflow or huge cancellation on the way
    for module in ("math", "numpy"):
        f = straight_line(exprs, X, module)
        got = f(*values) if module == "math" else f(*[np.float64(v) for v in values])
        for e, g, size in zip(exprs, got, sizes):
            want = exact(e, values)
            # a few hundred ulps of the largest value met on the way (an error ε·t in t is
            # amplified by at most |f'| along the chain, bounded by the same magnitudes)
            assert abs(complex(g) - want) <= 1e-9 * (1.0 + size), (module, e, values)


def test_hostile_names_cannot_change_the_code():
    syms = [sp.Symbol(n) for n in NAMES]
    expr = sum((k + 1) * s for k, s in enumerate(syms)) + sp.pi + sp.E + sp.sin(syms[0])
    values = [0.1 * (k + 1) for k in range(len(syms))]
    got = straight_line([expr], syms)(*values)[0]
    want = sum((k + 1) * v for k, v in enumerate(values)) + math.pi + math.e + math.sin(0.1)
    assert got == pytest.approx(want, rel=1e-15)


def test_long_sums_and_deep_nesting_are_split():
    s = sp.Symbol("s")
    long_sum = sp.Add(*[sp.cos(k * s) for k in range(1, 2001)])
    deep = s
    for _ in range(150):                # x -> sin(x) + 1/2: 300 parentheses, past CPython's 200
        deep = sp.sin(deep) + sp.Rational(1, 2)
    f = straight_line([long_sum, deep], [s])
    got_sum, got_deep = f(0.3)
    assert got_sum == pytest.approx(math.fsum(math.cos(k * 0.3) for k in range(1, 2001)),
                                    abs=1e-11)
    t = 0.3
    for _ in range(150):
        t = math.sin(t) + 0.5
    assert got_deep == pytest.approx(t, rel=1e-14)


def test_nodes_outside_the_table_go_through_sympys_printer():
    a, b = sp.symbols("pi e")
    pw = sp.Piecewise((a**2, a > b), (b, True))
    f = straight_line([pw, sp.Min(a, b), sp.floor(a)], [a, b])
    assert f(3.0, 1.0) == [9.0, 1.0, 3]
    assert f(1.0, 3.0) == [3.0, 1.0, 1]


def test_stray_symbols_and_unsupported_functions_are_named():
    a, b = sp.symbols("a b")
    with pytest.raises(StraySymbol, match="b"):
        straight_line([a + b], [a])
    with pytest.raises(DerivationError, match=r"a \+ b has free symbol\(s\) b"):
        lambdify_many([a + b], [a])
    with pytest.raises(DerivationError, match="cannot evaluate g"):
        lambdify_many([sp.Function("g")(a) + 1], [a])


def test_math_domain_errors_are_the_math_modules():
    a = sp.Symbol("a")
    f = straight_line([sp.sqrt(a), sp.log(a), 1 / a], [a])
    for bad in (-1.0, 0.0):
        with pytest.raises((ValueError, ZeroDivisionError)):
            f(bad)
