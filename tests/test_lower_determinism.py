"""Issue 9 item 2: the same input gives the same output, bit for bit, whatever was solved before.

Branch rule (docs/lower.md): the root is the one the layer's solver reaches from the layer's
x0 (or the call's x0); nothing else. Random sequences of calls on one layer are compared with
fresh layers, and the values with mpmath.
"""
from __future__ import annotations

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import FixedPoint, Root
from symimplicit.errors import SymimplicitError
from symimplicit.tape import Scalar, backward

x, y, a, b = sp.symbols("x y a b")

CASES = {
    "tanh": (FixedPoint(a * sp.tanh(x), x, (a,)), dict(x0=1.0), st.floats(0.1, 3.0)),
    "sin": (Root(sp.sin(x) - a, x, (a,)), dict(x0=0.0), st.floats(-0.999999, 0.999999)),
    "cubic": (Root(x**3 - x - a, x, (a,)), dict(x0=0.0), st.floats(-3.0, 3.0)),
    "system": (Root([x**2 + y**2 - a, x - y**3 - 0.1], [x, y], (a,)), dict(x0=(1.0, 1.0)),
               st.floats(0.5, 4.0)),
}


def outcome(layer, value):
    """(value bits, gradient bits) or the error type: what a call returns."""
    A = Scalar(value)
    try:
        out = layer(A)
        first = out[0] if isinstance(out, tuple) else out
        backward(first)
        vals = tuple(o.value for o in out) if isinstance(out, tuple) else out.value
        return vals, A.grad
    except SymimplicitError as exc:
        return type(exc).__name__


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_random_call_sequences_match_fresh_layers(name, data):
    statement, options, values = CASES[name]
    seq = data.draw(st.lists(values, min_size=2, max_size=8))
    layer = statement.primitive(**options)
    for v in seq:
        assert outcome(layer, v) == outcome(statement.primitive(**options), v)


def test_reported_tanh_case_against_mpmath():
    statement = FixedPoint(a * sp.tanh(x), x, (a,))
    layer = statement.primitive(x0=1.0)
    with mp.workdps(40):
        want = float(mp.findroot(lambda t: t - mp.mpf(1.5) * mp.tanh(t), 1.3))
    first = layer.solve(1.5)
    layer.solve(0.5)                                                 # its fixed point is 0
    assert first == layer.solve(1.5) == pytest.approx(want, rel=4e-16)
    assert want == pytest.approx(1.28784, rel=1e-5)
