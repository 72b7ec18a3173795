"""to_jax never returns a point that is not a root: where Newton's derivative is infinite or
zero (√x at 0) the step is not taken as "small", the solve fails (ConvergenceError on the
host, NaN under jit); where a root exists it is found and is one (checked in mpmath)."""
import math

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

jax = pytest.importorskip("jax")

from symimplicit import Root  # noqa: E402
from symimplicit.errors import ConvergenceError  # noqa: E402

x, y, a = sp.symbols("x y a")
SQRT = Root(sp.sqrt(x) - a, x, (a,))
F = SQRT.to_jax(x0=1.0)
JF = jax.jit(F)
PAIR = Root([sp.sqrt(x) - a, y - x], [x, y], (a,)).to_jax(x0=[1.0, 1.0])


@settings(max_examples=30, deadline=None)
@given(st.floats(-3, 3).filter(lambda v: abs(v) > 1e-3))
def test_sqrt_root_or_failure(av):
    if av < 0:                                   # √x = a < 0 has no root: never a number
        with pytest.raises(ConvergenceError):
            F(av)
        assert math.isnan(float(JF(av)))
        with pytest.raises(ConvergenceError):
            PAIR(av)
    else:
        got = float(F(av))
        assert got == pytest.approx(float(mp.mpf(av) ** 2), rel=1e-14)
        assert float(PAIR(av)[1]) == pytest.approx(av * av, rel=1e-14)


def test_infinite_derivative_at_the_start_is_a_failure_not_a_root():
    g = SQRT.to_jax()                            # x0 = 0: F_x = ∞ there, Newton's step 0
    with pytest.raises(ConvergenceError):
        g(2.0)
    assert math.isnan(float(jax.jit(g)(2.0)))
