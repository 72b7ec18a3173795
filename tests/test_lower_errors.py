"""Issue 9: typed errors on the layer side, each naming what and where."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from symimplicit import FixedPoint, Minimize
from symimplicit.errors import (ArgumentError, NonFiniteError, SingularJacobianError,
                                StatementError)
from symimplicit.tape import Scalar, backward

x, y, a, b = sp.symbols("x y a b")
SEED = FixedPoint(sp.cos(a * x + b), x, (a, b))


def test_zero_parameters_give_a_constant_node():
    layer = FixedPoint(sp.cos(x), x, ()).primitive()
    X = layer()
    assert isinstance(X, Scalar)
    with mp.workdps(40):
        assert X.value == pytest.approx(float(mp.findroot(lambda t: t - mp.cos(t), 0.7)), rel=4e-16)
    backward(X)                                                      # nothing to differentiate
    assert X.grad == 1.0


@pytest.mark.parametrize("bad", [True, False, 0, -3, 2.5, "3"])
def test_max_iter_must_be_a_positive_integer(bad):
    with pytest.raises(StatementError, match="max_iter"):
        SEED.primitive(max_iter=bad)


def test_tol_refuses_bools():
    with pytest.raises(StatementError, match="tol"):
        SEED.primitive(tol=True)


def test_keyword_parameters_are_refused_by_name():
    with pytest.raises(ArgumentError, match=r"not parameters.*\(a, b\)"):
        SEED.primitive()(a=1.0, b=0.0)


@pytest.mark.parametrize("value", [2**1100, -(2**1100)])
def test_huge_int_parameter_is_nonfinite_error(value):
    with pytest.raises(NonFiniteError, match="float64"):
        SEED.primitive()(value, 0.0)
    with pytest.raises(NonFiniteError, match="float64"):
        SEED.primitive()(Scalar(1.0), value)
    with pytest.raises(NonFiniteError, match="float64"):
        SEED.lower().solve(value, 0.0)


def test_int_parameters_give_the_float_answer():
    assert SEED.primitive().solve(1, 0) == SEED.primitive().solve(1.0, 0.0)


def test_singular_kkt_names_the_parameters_not_a_fake_solution():
    """min x² - y² s.t. x + y = b: ∇L = 0 forces x + y = 0, so no KKT point when b ≠ 0."""
    m = Minimize(x**2 + a * y**2, [x, y], (a, b), constraints=[x + y - b])
    with pytest.raises(SingularJacobianError) as info:
        m.primitive(x0=(1.0, 1.0)).solve(-1.0, 1.0)
    assert "at the solution" not in str(info.value) and info.value.point == {"a": -1.0, "b": 1.0}
