"""The tape's fast paths for large graphs: nodes the operators build directly.

The binary operators (+, -, *, / and their reflected forms) build their node without
Scalar.__init__ (one Python frame per node instead of three; benchmarks/tape.py).  These
tests check that such a node is the node the Primitive would record, slot by slot, that its
derivatives are the closed forms, and that the error paths still name the call.
"""
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symimplicit.errors import DomainError
from symimplicit.tape import Divide, Minus, Plus, Scalar, Times, backward, grad

SLOTS = ("value", "grad", "_parents", "_fn", "_kw", "_mark")

# operator, its Primitive, (∂/∂a, ∂/∂b) of a op b in closed form
CASES = [
    (operator.add, Plus, lambda a, b: (1.0, 1.0)),
    (operator.sub, Minus, lambda a, b: (1.0, -1.0)),
    (operator.mul, Times, lambda a, b: (b, a)),
    (operator.truediv, Divide, lambda a, b: (1 / b, -a / (b * b))),
]

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


def _state(node):
    return tuple(getattr(node, s) for s in SLOTS), hasattr(node, "_g")


@pytest.mark.parametrize("op, prim, partials", CASES, ids=[c[1].name for c in CASES])
@given(a=finite, b=finite)
@settings(max_examples=40, deadline=None)
def test_operator_nodes_are_the_primitive_nodes(op, prim, partials, a, b):
    x, y = Scalar(a), Scalar(b)
    made, recorded = op(x, y), prim(x, y)
    assert made.__class__ is Scalar and not hasattr(made, "__dict__")
    assert _state(made)[0][1:] == _state(recorded)[0][1:]        # parents, fn, kw, mark, grad
    assert made.value == recorded.value == op(a, b)
    assert not _state(made)[1]                                   # no cotangent before a walk
    assert made._parents == (x, y)
    da, db = partials(a, b)
    assert grad(made, [x, y]) == pytest.approx((da, db), rel=1e-14, abs=0)


@pytest.mark.parametrize("op, prim, partials", CASES, ids=[c[1].name for c in CASES])
@given(a=finite, b=finite)
@settings(max_examples=40, deadline=None)
def test_a_number_operand_becomes_a_constant_leaf_on_its_side(op, prim, partials, a, b):
    x = Scalar(a)
    right, left = op(x, b), op(b, x)                             # x op 2.0 and 2.0 op x
    assert right._parents[0] is x and right._parents[1].value == b
    assert left._parents[1] is x and left._parents[0].value == b
    assert not right._parents[1]._parents and not left._parents[0]._parents
    assert (right._fn, left._fn) == (prim, prim)
    assert (right.value, left.value) == (op(a, b), op(b, a))
    backward(right)
    backward(left)
    assert x.grad == pytest.approx(partials(a, b)[0] + partials(b, a)[1], rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("op, name", [(operator.add, "Plus"), (operator.sub, "Minus"),
                                      (operator.mul, "Times"), (operator.truediv, "Divide")])
def test_operator_overflow_is_a_domain_error_naming_the_call(op, name):
    big = 10 ** 400                                              # an int that no float holds
    with pytest.raises(DomainError, match=name):
        op(Scalar(big), Scalar(1.5))
    with pytest.raises(DomainError, match=name):
        op(Scalar(1.5), big)
    with pytest.raises(DomainError, match=name):
        op(big, Scalar(1.5))


def test_division_by_zero_names_both_sides():
    with pytest.raises(DomainError, match=r"Divide\(1\.0, 0\.0\)"):
        Scalar(1.0) / 0.0
    with pytest.raises(DomainError, match=r"Divide\(2\.0, 0\.0\)"):
        2.0 / Scalar(0.0)


def test_a_non_number_operand_is_not_implemented():
    for op in (operator.add, operator.sub, operator.mul, operator.truediv):
        with pytest.raises(TypeError):
            op(Scalar(1.0), "a")
        with pytest.raises(TypeError):
            op("a", Scalar(1.0))


def test_a_wide_deep_graph_walks_with_a_tiny_recursion_limit():
    import sys

    # a sum tree over 2¹⁴ leaves under a chain of 10⁴ steps y ← 1.0001 y - 10⁻⁴: no walk may
    # recurse; ∂y/∂(any leaf) = 1 · 1.0001^10000
    leaves = [Scalar(1.0 + k * 1e-6) for k in range(2 ** 14)]
    level = leaves
    while len(level) > 1:
        level = [level[i] + level[i + 1] for i in range(0, len(level), 2)]
    y = level[0]
    for _ in range(10 ** 4):
        y = y * 1.0001 - 1e-4
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100)
    try:
        (dy,) = grad(y, [leaves[-1]])
        backward(y)
    finally:
        sys.setrecursionlimit(old)
    assert dy == leaves[-1].grad == leaves[0].grad
    assert dy == pytest.approx(1.0001 ** 10000, rel=1e-11)
