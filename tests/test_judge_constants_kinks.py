"""Issue 9, items 8 and 3/5: Float constants and kinks in the judge.

* A statement with 15-digit SymPy Floats is not "DERIVATION SUSPECT": its constants
  limit the reference to ~15 digits (a note says so and suggests Rational) and a
  LowPrecisionConstantWarning names them; the same statement with Rationals gets the
  full-precision route check.
* At a solution on a kink (abs, Max) verify raises NonDifferentiableError naming the
  kink instead of judging; off the kink it judges against mpmath truth.
"""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import FixedPoint, Root
from symimplicit.errors import NonDifferentiableError
from symimplicit.parsing import parse
from symimplicit.precision import verify
from symimplicit.precision.constants import LowPrecisionConstantWarning, constant_digits

x, a, b = sp.symbols("x a b", real=True)
SETTINGS = settings(max_examples=10, deadline=None, derandomize=True)


@SETTINGS
@given(st.floats(0.05, 0.45), st.floats(1.1, 2.9), st.floats(0.01, 0.5), st.floats(0.5, 1.5))
def test_float_constants_limit_the_reference_instead_of_blaming_the_derivation(c, p, d, a_value):
    stmt = FixedPoint(sp.Float(c) * sp.cos(a * x) ** sp.Float(p) + sp.Float(d), x, (a,))
    with pytest.warns(LowPrecisionConstantWarning, match="Rational"):
        rep = verify(stmt, at={a: a_value})
    assert not rep.suspect and "DERIVATION SUSPECT" not in str(rep), str(rep)
    assert rep.ok, str(rep)
    assert rep.constant_digits == constant_digits(stmt) == 15
    assert any("limit the reference to ~15 digits" in n and "Rational" in n for n in rep.notes)
    # the truth, with the Floats' exact binary values
    with mpmath.workdps(50):
        cc, pp, dd = (mpmath.mpf(sp.Float(v)) for v in (c, p, d))
        root = mpmath.findroot(lambda t: t - cc * mpmath.cos(a_value * t) ** pp - dd, 0.5)
    assert abs(rep.rows[0].reference - root) < 1e-14 * abs(root)


def test_rational_constants_keep_the_full_route_check():
    stmt = parse("x = 0.3*cos(a*x)^1.7 + 0.1")                     # parse reads decimals exactly
    rep = verify(stmt, at={"a": 1.3})
    assert rep.constant_digits is None and rep.route_digits >= 45 and rep.ok, str(rep)


@SETTINGS
@given(st.floats(0.2, 1.8).filter(lambda v: abs(v) > 0.1), st.floats(-1.0, 1.0))
def test_abs_kink_is_named_at_the_kink_and_judged_off_it(a_value, b_value):
    stmt = parse("x = abs(a*x)/2 + b")
    with pytest.raises(NonDifferentiableError, match=r"kink a\*x = 0") as info:
        verify(stmt, at={"a": a_value, "b": 0.0}, x0=0.3)        # b = 0: x = 0, a·x = 0
    assert info.value.kink is not None
    if abs(b_value) > 1e-3:
        rep = verify(stmt, at={"a": a_value, "b": b_value}, x0=b_value)
        # truth: x has the sign of b, so |a x| = ±|a| x and x = b / (1 ∓ |a|/2)
        truth = b_value / (1 - abs(a_value) / 2 if b_value > 0 else 1 + abs(a_value) / 2)
        assert abs(rep.rows[0].reference - truth) < 1e-14 * abs(truth)
        assert rep.ok, str(rep)


@SETTINGS
@given(st.floats(-2.0, 2.0))
def test_max_tie_is_named(a_value):
    stmt = Root(sp.Max(x, a) + x - b, x, (a, b))
    with pytest.raises(NonDifferentiableError, match="kink"):
        verify(stmt, at={a: a_value, b: 2 * a_value}, x0=a_value + 0.25)   # x = a: a tie


def test_a_parameter_named_e_is_judged_correctly():
    stmt = parse("x = e*cos(x) + exp(1)/10")
    with mpmath.workdps(40):
        truth = mpmath.findroot(lambda t: t - mpmath.cos(t) - mpmath.e / 10, 0.5)   # e = 1
    rep = verify(stmt, at={"e": 1.0}, x0=0.5)
    assert abs(rep.rows[0].reference - truth) < 1e-30
    assert rep.ok and not rep.suspect, str(rep)
