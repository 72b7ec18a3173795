"""Statements: construction, validation, residuals, identity."""
import time

import pytest
import sympy as sp

from symimplicit.errors import StatementError
from symimplicit.statements import FixedPoint, Minimize, Root

x, y, a, b, c, lam = sp.symbols("x y a b c lambda_1")


def test_fixed_point_residual_and_attributes():
    p = FixedPoint(sp.cos(a * x + b), unknown=x, params=(a, b))
    assert p.kind == "fixed_point"
    assert p.unknowns == (x,) and not p.is_vector and p.params == (a, b)
    assert p.residual == sp.Matrix([x - sp.cos(a * x + b)])
    assert p.expression == sp.cos(a * x + b)
    assert p.multipliers == () and p.system_unknowns == (x,)
    assert repr(p) == "FixedPoint(cos(a*x + b), unknown=x, params=(a, b))"


def test_root_accepts_eq_and_sequences():
    r = Root(sp.Eq(x**2 + y**2, 1), y, (x,))
    assert r.residual == sp.Matrix([x**2 + y**2 - 1])
    v = Root([sp.Eq(x + y, a), x * y - b], [x, y], (a, b))
    assert v.is_vector and v.residual == sp.Matrix([x + y - a, x * y - b])


def test_params_default_to_other_free_symbols_sorted_by_name():
    r = Root(x * c + b - sp.sin(a * x), x)
    assert r.params == (a, b, c)


def test_names_are_accepted_for_symbols():
    r = Root(x - a, "x", ["a"])
    assert r.unknowns == (x,) and r.params == (a,)


@pytest.mark.parametrize("build, message", [
    (lambda: Root([x - a, x - b], [x], (a, b)), "shapes must match"),
    (lambda: FixedPoint([sp.cos(x), sp.sin(x)], x, ()), "shapes must match"),
    (lambda: Root(a + b, x, (a, b)), "does not occur"),
    (lambda: Root(x - a, x, (a, x)), "both an unknown and a parameter"),
    (lambda: Root(x - a * c, x, (a,)), "neither unknowns"),
    (lambda: Root(x - a, [x, x], (a,)), "listed twice"),
    (lambda: Root("x - a", x, (a,)), "use symimplicit.parse"),
    (lambda: Root(sp.Eq(x, x), x, ()), "truth value"),
    (lambda: Root(x - 1 / sp.Integer(0), x, ()), "infinity"),
    (lambda: FixedPoint(x, x, ()), "identity"),
    (lambda: FixedPoint((x + a)**2 - a**2 - 2 * a * x - x**2 + x, x, (a,)), "identity"),
    (lambda: FixedPoint(sp.Eq(x, a), x, (a,)), "not an equation"),
    (lambda: Minimize(x**2 + y**2, [x, y], (), constraints=[x - 1, y - 2]), "fewer constraints"),
    (lambda: Minimize(x**2 + a * y**2, [x, y], (a,), constraints=[a - 1]), "does not involve"),
    (lambda: Minimize([x**2], x, ()), "one scalar objective"),
    (lambda: Root(x - a, 3, (a,)), "Symbol"),
])
def test_malformed_statements_raise_statement_error(build, message):
    with pytest.raises(StatementError, match=message):
        build()


def test_minimize_unconstrained_residual_is_gradient():
    m = Minimize(a * x**2 + b * x, x, (a, b))
    assert m.residual == sp.Matrix([2 * a * x + b])
    assert m.objective == a * x**2 + b * x and m.constraints == ()


def test_minimize_constrained_kkt_residual_and_multiplier_names():
    m = Minimize(x**2 + y**2, [x, y], (a,), constraints=[x + y - a])
    (l1,) = m.multipliers
    assert l1.name == "lambda_1"
    assert m.system_unknowns == (x, y, l1)
    # [∇f + Jgᵀλ ; g]
    assert m.residual == sp.Matrix([2 * x + l1, 2 * y + l1, x + y - a])
    assert "constraints=(-a + x + y,)" in repr(m)


def test_multiplier_name_avoids_user_symbols():
    m = Minimize(x**2 + y**2 + lam, [x, y], (lam,), constraints=[x - y])
    assert m.multipliers[0].name == "lambda_1_"
    assert m.multipliers[0] != lam


def test_unknown_only_in_constraint_is_allowed():
    m = Minimize(x**2, [x, y], (a,), constraints=[x + y - a])
    assert m.unknowns == (x, y)


def test_equality_and_hash():
    p1 = FixedPoint(sp.cos(a * x + b), x, (a, b))
    p2 = FixedPoint(sp.cos(a * x + b), x, (a, b))
    assert p1 == p2 and hash(p1) == hash(p2)
    assert p1 != FixedPoint(sp.cos(a * x + b), x, (b, a))
    assert p1 != Root(x - sp.cos(a * x + b), x, (a, b))


def test_derive_is_memoised():
    p = Root(x**2 - a, x, (a,))
    assert p.derive() is p.derive()


def test_fixed_point_identity_check_never_expands():
    start = time.perf_counter()
    f = (x + a + b + c) ** 1000 + x                      # expand() would never finish
    assert FixedPoint(f, x, (a, b, c)).residual == sp.Matrix([-(x + a + b + c) ** 1000])
    assert time.perf_counter() - start < 20              # loose guard, not a speed target


def test_names_find_the_symbols_of_the_expression_whatever_their_assumptions():
    xr, ar = sp.symbols("x a", real=True)                # what parse() makes
    r = Root(xr - sp.cos(ar * xr), "x", ["a"])
    assert r.unknowns == (xr,) and r.params == (ar,)
    m = Minimize((xr - ar) ** 2, "x", constraints=())
    assert m.unknowns == (xr,) and m.params == (ar,)
    # a name that occurs with two different assumptions cannot choose: a plain Symbol
    with pytest.raises(StatementError, match="neither unknowns"):
        Root(x + xr - a, "x", ["a"])


@pytest.mark.parametrize("make", [
    lambda: Root(x**2 - a, "z", (a,)),
    lambda: Root(x**2 - a, sp.Symbol("z"), [a]),
    lambda: Minimize(a * x**2 - b * x, "z", (a, b)),
])
def test_an_absent_unknown_is_named_instead_of_asking_for_params(make):
    with pytest.raises(StatementError, match="the unknown z does not appear") as info:
        make()
    assert "add them to params" not in str(info.value) and "is x the unknown" in str(info.value)
