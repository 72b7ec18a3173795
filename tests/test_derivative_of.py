"""Derivation.derivative_of: d^S/dθ_S g(x(θ), θ) against SymPy's diff of g(explicit x(θ), θ)
for problems with closed-form solutions, orders 1-3, every mix of parameters."""
import itertools

import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import Root
from symimplicit.errors import DerivationError, StatementError

a, b, x, y = sp.symbols("a b x y")
MIXES = [S for n in (1, 2, 3) for S in itertools.combinations_with_replacement((a, b), n)]

SCALAR = Root(sp.log(x) - a * b, x, (a, b))                   # x = exp(ab)
SCALAR_G = x**2 * a + sp.sin(x) + b
SCALAR_X = {x: sp.exp(a * b)}
SYSTEM = Root([x * y - a, x - b], [x, y], (a, b))              # x = b, y = a/b
SYSTEM_G = x**2 * y + sp.sin(y) * a
SYSTEM_X = {x: b, y: a / b}
CASES = [(SCALAR, SCALAR_G, SCALAR_X), (SYSTEM, SYSTEM_G, SYSTEM_X)]


def _value(expr, at):
    return sp.N(expr.subs(at), 40)


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from(MIXES), st.sampled_from([0, 1]))
def test_matches_sympy_diff_of_the_explicit_composition(p, q, S, case):
    statement, g, explicit = CASES[case]
    at = {a: sp.Rational(p, 20), b: sp.Rational(q, 20)}
    ours = statement.derive().derivative_of(g, *S)
    truth = _value(sp.diff(g.xreplace(explicit), *S), at)
    got = _value(ours.xreplace(explicit), at)
    assert abs(got - truth) <= sp.Float(1e-30) * (1 + abs(truth))


def test_first_order_is_the_chain_rule_and_orders_agree_with_counts():
    d = SCALAR.derive()
    chain = sp.diff(SCALAR_G, a) + sp.diff(SCALAR_G, x) * d.derivative(a)
    assert sp.simplify(d.derivative_of(SCALAR_G, a) - chain) == 0
    assert d.derivative_of(SCALAR_G, a, 2, b) == d.derivative_of(SCALAR_G, a, b, a)


def test_an_expression_without_the_unknown_is_its_partial():
    assert SYSTEM.derive().derivative_of(a**2 * b, a, b) == 2 * a


def test_applied_unknown():
    f, t = sp.Function("f"), sp.Symbol("t")
    d = Root(sp.Eq(t**2 + f(t)**2, 1), f(t), (t,)).derive()
    g = f(t)**3 + t * f(t)
    branch = sp.sqrt(1 - t**2)
    for n in (1, 2, 3):
        ours = d.derivative_of(g, t, n)
        assert ours.has(f(t))
        diff = (ours.subs(f(t), branch) - sp.diff(g.subs(f(t), branch), t, n)).subs(t, sp.Rational(1, 3))
        assert abs(sp.N(diff, 40)) < 1e-30


def test_bad_input_is_typed():
    d = SCALAR.derive()
    with pytest.raises(DerivationError, match="y in"):
        d.derivative_of(x + y, a)
    with pytest.raises(DerivationError, match="not a parameter"):
        d.derivative_of(x, x)
    with pytest.raises(StatementError, match="string"):
        d.derivative_of("x**2", a)
