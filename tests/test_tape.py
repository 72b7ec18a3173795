"""The tape engine: semantics, edge cases, scale, and gradients against SymPy's diff."""
from __future__ import annotations

import math
import subprocess
import sys

import pytest

from symimplicit.errors import DomainError
from symimplicit.tape import (
    ELEMENTARY, Abs, Cos, Exp, Function, Log, Mod, Plus, Pow, Saved, Scalar, Sin, Sqrt,
    Times, backward, reset_grad, trace,
)


# -- the seed's semantics ------------------------------------------------------------
def test_floats_in_float_out_scalars_in_scalar_out():
    assert Cos(0.5) == math.cos(0.5) and isinstance(Cos(0.5), float)
    assert isinstance(Plus(1.0, 2.0), float)
    out = Plus(Scalar(1.0), 2.0)  # a plain number mixed with Scalars is a constant
    assert isinstance(out, Scalar) and out.value == 3.0


def test_keyword_arguments_are_not_differentiated():
    x = Scalar(3.0)
    y = Pow(x, p=2)
    backward(y)
    assert x.grad == 6.0
    assert [n.value for n in trace(y)] == [9.0, 3.0]  # p is not a node


def test_printed_form_is_the_seeds():
    a, b = Scalar(1), Scalar(0)
    x = Cos(Plus(b, Times(a, Scalar(0.5))))
    assert repr(x) == f"{math.cos(0.5)!r} = Cos(0.5)"
    assert repr(a) == "1"
    backward(x)
    assert repr(x).endswith(" <grad=1>")
    assert repr(b) == f"0 <grad={-math.sin(0.5)!r}>"
    assert str(Pow(Scalar(2.0), p=3)) == "8.0 = Pow(2.0,p=3)"


def test_trace_is_topological_with_parents_to_the_right():
    a, b = Scalar(1.0), Scalar(2.0)
    c = a * b
    d = c + a
    order = trace(d)
    assert order[0] is d
    position = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for p in n.parents:
            assert position[id(p)] > position[id(n)]
    assert len(order) == 4  # shared node a appears once


def test_trace_order_matches_the_seed_for_a_two_argument_call():
    # the seed prints [x = F(1,0), 0, 1]: reversed post-order, parents in argument order
    a, b = Scalar(1), Scalar(0)
    x = Plus(a, b)
    assert [n.value for n in trace(x)] == [1, 0, 1]


def test_node_used_twice_and_shared_subexpressions():
    x = Scalar(0.7)
    s = Sin(x)
    y = s * s + s  # sin²x + sin x, s shared
    backward(y)
    assert x.grad == pytest.approx((2 * math.sin(0.7) + 1) * math.cos(0.7), rel=1e-15)
    z = Scalar(1.5)
    w = z * z  # the same node twice in one call
    backward(w)
    assert z.grad == 3.0


def test_repeated_backward_accumulates_and_reset_clears():
    x = Scalar(2.0)
    y = x * x * x
    backward(y)
    backward(y)
    assert x.grad == 2 * 12.0
    assert y.grad == 2
    reset_grad(y)
    assert x.grad is None and y.grad is None
    backward(y)
    assert x.grad == 12.0


def test_grad_is_none_where_nothing_reached():
    x, unused = Scalar(1.0), Scalar(2.0)
    y = Exp(x)
    backward(y)
    assert unused.grad is None
    assert x.grad == pytest.approx(math.e, rel=1e-15)


def test_constants_get_no_special_treatment_but_do_not_leak():
    x = Scalar(2.0)
    y = 3 * x + 1 - x / 4 + 2 ** x
    backward(y)
    assert x.grad == pytest.approx(3 - 0.25 + 4 * math.log(2), rel=1e-15)


def test_ordering_is_by_value_equality_and_hash_by_identity():
    x = Scalar(0.5)
    assert x < 1 and x > 0.25 and x <= Scalar(0.5) and x >= 0.5 and not x < 0.5
    # a node is not its value: equality and hashing are by identity, consistently
    y = Scalar(0.5)
    assert x == x and x != y and not (x == 0.5) and x.value == 0.5
    assert x not in [y] and len({x, y}) == 2 and {x: 1, y: 2}[x] == 1
    assert hash(x) == hash(x) and hash(x) != hash(y)
    assert float(x) == 0.5
    assert Abs(Scalar(-3.0)) > 2.9


def test_operators_cover_the_arithmetic():
    x, y = Scalar(3.0), Scalar(2.0)
    for expr, value, dx, dy in [
        (x + y, 5.0, 1.0, 1.0), (x - y, 1.0, 1.0, -1.0), (x * y, 6.0, 2.0, 3.0),
        (x / y, 1.5, 0.5, -0.75), (x ** y, 9.0, 6.0, 9 * math.log(3)), (-x, -3.0, -1.0, None),
        (x % y, 1.0, 1.0, -1.0), (abs(-x), 3.0, 1.0, None), (1 - x, -2.0, -1.0, None),
        (6 / x, 2.0, -2 / 3, None),
    ]:
        reset_grad(expr)
        backward(expr)
        assert expr.value == pytest.approx(value, rel=1e-15)
        assert x.grad == pytest.approx(dx, rel=1e-15)
        if dy is not None:
            assert y.grad == pytest.approx(dy, rel=1e-15)


def test_mod_keyword_form():
    x = Scalar(7.5)
    y = Mod(x, m=2)
    backward(y)
    assert (y.value, x.grad) == (1.5, 1)


def test_domain_errors_are_typed_and_name_the_call():
    with pytest.raises(DomainError, match=r"Log\(-1\.0\)"):
        Log(Scalar(-1.0))
    with pytest.raises(DomainError, match="Sqrt"):
        Sqrt(-4.0)
    with pytest.raises(DomainError, match="Divide"):
        Scalar(1.0) / 0.0
    with pytest.raises(DomainError, match="complex"):
        Pow(Scalar(-2.0), p=0.5)


def test_seed_style_function_with_partials():
    square = Function("Square", lambda x: x * x, lambda x: [2 * x])
    x = Scalar(3.0)
    y = square(x)
    backward(y)
    assert (y.value, x.grad) == (9.0, 6.0)
    assert square(4.0) == 16.0
    assert repr(y).startswith("9.0 = Square(3.0)")


def test_saved_state_reaches_the_vjp_and_forward_runs_once():
    calls = []

    def forward(a):
        calls.append(a)
        root = math.sqrt(a)
        return Saved(root, {"root": root})

    def vjp(g, node):
        return [g / (2 * node.state["root"])]  # d√a = da / (2√a)

    sqrt = Function("SavedSqrt", forward, vjp=vjp)
    a = Scalar(4.0)
    y = sqrt(a)
    backward(y)
    assert (y.value, a.grad, calls) == (2.0, 0.25, [4.0])


def test_multiple_outputs_one_vjp_call_with_all_cotangents():
    seen = []

    def forward(r, t):
        return (r * math.cos(t), r * math.sin(t))

    def vjp(g, node):
        seen.append(g)
        r, t = node.inputs
        gx, gy = g
        return [gx * math.cos(t) + gy * math.sin(t), -gx * r * math.sin(t) + gy * r * math.cos(t)]

    polar = Function("Polar", forward, vjp=vjp, n_outputs=2)
    r, t = Scalar(2.0), Scalar(0.3)
    x, y = polar(r, t)
    loss = x * x + 3 * y
    backward(loss)
    assert len(seen) == 1
    # loss = r² cos² t + 3 r sin t
    assert r.grad == pytest.approx(2 * 2 * math.cos(0.3) ** 2 + 3 * math.sin(0.3), rel=1e-14)
    assert t.grad == pytest.approx(-4 * 2 * math.cos(0.3) * math.sin(0.3) + 6 * math.cos(0.3), rel=1e-14)
    assert polar(2.0, 0.0) == (2.0, 0.0)
    # only one output used: the other cotangent is zero
    reset_grad(x)
    backward(x)
    assert seen[-1] == (1, 0.0)
    assert "Polar(2.0,0.3)[0]" in repr(x)


def test_function_arguments_are_validated():
    with pytest.raises(TypeError, match="exactly one"):
        Function("Bad", lambda x: x)
    with pytest.raises(TypeError, match="callable"):
        Function("Bad", 3, lambda x: [1])


# -- scale -----------------------------------------------------------------------------
def test_a_million_node_chain_differentiates_without_recursion():
    x0 = Scalar(1.0)
    x = x0
    for _ in range(500_000):  # two nodes per step, plus constants
        x = x * 1.000001 + 0.0
    assert len(trace(x)) > 1_000_000
    backward(x)
    assert x0.grad == pytest.approx(1.000001 ** 500_000, rel=1e-9)


def test_postorder_is_linear_in_graph_size():
    # a wide, deep DAG with heavy sharing: every node feeds two others
    nodes = [Scalar(1.0), Scalar(1.0)]
    for _ in range(20_000):
        nodes.append(nodes[-1] * 0.5 + nodes[-2] * 0.5)
    y = nodes[-1]
    backward(y)
    assert sum(1 for _ in trace(y)) < 5 * 20_000 + 10
    assert nodes[0].grad + nodes[1].grad == pytest.approx(1.0, rel=1e-12)


def test_engine_imports_without_sympy_or_mpmath():
    code = ("import sys, symimplicit.tape as t; "
            "assert not {'sympy', 'mpmath'} & set(sys.modules), sorted(sys.modules); "
            "print(len(t.ELEMENTARY))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(ELEMENTARY)


def test_nodes_are_small():
    assert not hasattr(Scalar(1.0), "__dict__")


def test_item_nodes_have_their_own_class_and_one_meaning_per_slot():
    polar = Function("Polar", lambda r, t: (r * math.cos(t), r * math.sin(t)),
                     vjp=lambda g, n: (0.0, 0.0), n_outputs=2)
    u, v = polar(Scalar(2.0), Scalar(0.0))
    joint = u.parents[0]
    assert type(u) is type(v) and type(u) is not Scalar and not hasattr(u, "__dict__")
    assert (u._index, v._index) == (0, 1) and u.kwargs == {} and u._kw is None
    assert joint._buffer is None and joint.value == (2.0, 0.0)
    assert not hasattr(Function("F", abs, lambda x: [1.0]), "__dict__")
    assert repr(v) == "0.0 = Polar(2.0,0.0)[1]"
    backward(u + v)
    assert joint._buffer is None                     # the buffer is consumed by the joint


def test_undefined_derivatives_are_domain_errors_naming_the_node():
    for make, where in [(lambda: Sqrt(Scalar(0.0)), r"Sqrt\(0\.0\)"),
                        (lambda: Scalar(0.0) ** 0.5, r"Pow\(0\.0,p=0\.5\)"),
                        (lambda: ELEMENTARY["Acos"](Scalar(1.0)), r"Acos\(1\.0\)")]:
        y = make()
        with pytest.raises(DomainError, match=where):
            backward(y)


def test_backward_refuses_a_non_finite_output():
    from symimplicit.errors import NonFiniteError

    s = Scalar(1e308)
    y = s * 10 - s * 10  # inf - inf: IEEE arithmetic forward, no derivative
    with pytest.raises(NonFiniteError, match="non-finite"):
        backward(y)
    assert s.grad is None


def test_a_users_vjp_errors_pass_through_unchanged():
    def vjp(g, node):
        raise DomainError("my layer is undefined here")

    f = Function("Mine", lambda x: x, vjp=vjp)
    with pytest.raises(DomainError, match="my layer"):
        backward(f(Scalar(1.0)))
