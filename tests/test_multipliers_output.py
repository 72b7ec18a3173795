"""Multipliers in the output (issues 14 and 16) and the conditions step read as a person
writes it: the derivatives of λ against SymPy's own solve of the KKT system, in
derivative(), in JSON and in the text of small systems."""
import json

import pytest
import sympy as sp
from hypothesis import example, given, settings, strategies as st

from symimplicit import Minimize, Root
from symimplicit.cli import main
from symimplicit.report.text import derivation_text

x, y, m, c = sp.symbols("x y m c", real=True)


def kkt_truth(f, g, unknowns, params):
    """x(θ), λ(θ) from SymPy's solve of ∇f + λ∇g = 0, g = 0, differentiated by sp.diff."""
    lam = sp.Symbol("lam")
    L = f + lam * g
    sol = sp.solve([L.diff(u) for u in unknowns] + [g], [*unknowns, lam], dict=True)
    assert len(sol) == 1
    return [sol[0][u] for u in (*unknowns, lam)]


quadratic = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(-3, 3),
                      st.integers(1, 4), st.integers(1, 4))


@settings(max_examples=10, deadline=None)
@given(quadratic)
@example((4, 1, 2, 1, 4))            # values over 19**3: CI once failed on it through nsimplify
def test_multiplier_derivatives_against_sympy_solve(coeffs):
    """min p x² + q y² + r x y c subject to s x + t y = m: every derivative of (x, y, λ)."""
    p, q, r, s, t = coeffs
    if 4 * p * q <= r * r:               # keep the objective strictly convex (c = 1 below)
        r = 0
    f = p * x**2 + q * y**2 + r * x * y * c
    g = s * x + t * y - m
    d = Minimize(f, [x, y], (m, c), constraints=[g]).derive()
    truth = kkt_truth(f, g, [x, y], (m, c))
    at = {m: sp.Rational(3, 2), c: 1}
    solution = {u: t.subs(at) for u, t in zip((x, y, d.unknowns[-1]), truth)}
    for wrt in [(m,), (c,), (m, c), (c, c)]:
        got = d.derivative(*wrt, explicit=True, multipliers=True)
        assert got.shape == (3, 1)
        for k in range(3):           # exact rationals at a point: no simplify needed
            value = got[k].subs(at).subs(solution)   # nsimplify would turn -224/6859 into powers
            assert sp.simplify(value - sp.diff(truth[k], *wrt).subs(at)) == 0, (wrt, k)
    # without multipliers=True the column stays the user's unknowns
    assert d.derivative(m, explicit=True).shape == (2, 1)


def test_json_components_include_the_multipliers(capsys):
    assert main(["derive", "--minimize", "x^2 + 2*y^2", "-c", "x + y = m", "-u", "x,y",
                 "-p", "m", "-f", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    truth = kkt_truth(x**2 + 2 * y**2, x + y - m, [x, y], (m,))
    comps = out["derivatives"][0]["components"]
    assert list(comps) == ["x", "y", "lambda_1"]
    for name, t in zip(comps, truth):
        assert sp.sympify(comps[name]["expr"]) == sp.diff(t, m)


def test_text_of_a_small_system_expands_its_entries_with_the_multipliers():
    d = Minimize(x**2 + 2 * y**2, [x, y], (m,), constraints=[x + y - m]).derive()
    text = derivation_text(d)
    truth = kkt_truth(x**2 + 2 * y**2, x + y - m, [x, y], (m,))
    assert "expands entry by entry" in text
    for name, t in zip(["∂x/∂m", "∂y/∂m", "∂λ₁/∂m"], truth):
        assert f"{name} = {sp.diff(t, m)}" in text


def test_conditions_that_always_hold_are_said_to_hold():
    d = Minimize(x**2 + 2 * y**2, [x, y], (m,), constraints=[x + y - m]).derive()
    assert d.conditions == []
    step = d.steps[-1]
    assert step.kind == "condition" and step.equations == ()
    assert "hold for every value of the parameters" in step.text
    assert "following relation" not in step.text


def test_a_maximum_is_never_called_a_minimum():
    """x y on x + y = m is a maximum: the second-order condition fails identically."""
    d = Minimize(x * y, [x, y], (m,), constraints=[x + y - m]).derive()
    assert sp.true in d.conditions
    step = d.steps[-1]
    assert "never a strict minimum" in step.text
    assert sp.true not in step.equations            # no bare "True" printed as a relation


@pytest.mark.parametrize("residual, count", [
    (x - sp.cos(m * x + c), 1),                              # 1 + m sin(mx + c) = 0
    (x - sp.Abs(m * x) / 2 - c, 2),                         # det and the kink m x = 0
])
def test_the_relation_count_decides_the_grammar(residual, count):
    d = Root(residual, x, (m, c)).derive()
    step = d.steps[-1]
    assert len(step.equations) == count == len(d.conditions)
    wanted = "the following relation holds" if count == 1 else "any of the following relations"
    assert wanted in step.text
