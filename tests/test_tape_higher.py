"""create_graph on the tape: second and third derivatives against SymPy's diff of the twins.

Every elementary primitive is differentiated twice (and three times) on the tape with
``grad(..., create_graph=True)``; the truth is ``sympy.diff`` of its SymPy twin
(:mod:`symimplicit.twins`) evaluated at 30 digits, an independent route.  Random programs
(the generator of test_tape_properties) get their full Hessian the same way.
"""
from __future__ import annotations

import math

import pytest
import sympy as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import reject, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from symimplicit.errors import DomainError, SymimplicitError  # noqa: E402
from symimplicit.tape import (ELEMENTARY, PARTIALS, Function, Scalar, backward, grad,  # noqa: E402
                              reset_grad)
from symimplicit.twins import TWINS  # noqa: E402
from test_tape_properties import VARIABLES, programs, points, run_program  # noqa: E402

U, V, W = sp.symbols("u v w", real=True)

# (name, kwargs, domain of each positional argument)
CASES = [
    ("Plus", {}, [(-3, 3), (-3, 3)]), ("Minus", {}, [(-3, 3), (-3, 3)]),
    ("Times", {}, [(-3, 3), (-3, 3)]), ("Divide", {}, [(-3, 3), (0.2, 3)]),
    ("Sum", {}, [(-3, 3)] * 3), ("Neg", {}, [(-3, 3)]),
    ("Pow", {}, [(0.2, 3), (-2, 2)]), ("Pow", {"p": 2}, [(-3, 3)]), ("Pow", {"p": 3}, [(-3, 3)]),
    ("Pow", {"p": 0.5}, [(0.2, 3)]), ("Pow", {"p": -1.5}, [(0.2, 3)]), ("Pow", {"p": 1}, [(-3, 3)]),
    ("Mod", {"m": 3}, [(0.1, 2.9)]), ("Mod", {}, [(0.1, 0.9), (1.1, 3)]),
    ("Abs", {}, [(0.1, 3)]), ("Abs", {}, [(-3, -0.1)]),
    ("Cos", {}, [(-3, 3)]), ("Sin", {}, [(-3, 3)]), ("Tan", {}, [(-1.2, 1.2)]),
    ("Exp", {}, [(-3, 3)]), ("Log", {}, [(0.1, 3)]), ("Sqrt", {}, [(0.1, 3)]),
    ("Tanh", {}, [(-3, 3)]), ("Atan", {}, [(-3, 3)]), ("Sinh", {}, [(-3, 3)]),
    ("Cosh", {}, [(-3, 3)]), ("Log1p", {}, [(-0.8, 3)]), ("Expm1", {}, [(-3, 3)]),
    ("Asin", {}, [(-0.9, 0.9)]), ("Acos", {}, [(-0.9, 0.9)]), ("Asinh", {}, [(-3, 3)]),
    ("Acosh", {}, [(1.1, 3)]), ("Atanh", {}, [(-0.9, 0.9)]), ("Erf", {}, [(-2.5, 2.5)]),
]


def test_every_primitive_is_covered_here_and_has_tape_partials():
    assert {name for name, _, _ in CASES} == set(ELEMENTARY) == set(PARTIALS)


def _truth(expr, symbols, point, order):
    """All partial derivatives of ``order`` (nested lists) by SymPy at 30 digits."""
    subs = {s: sp.Float(repr(v), 40) for s, v in zip(symbols, point)}

    def d(e, k):
        if k == 0:
            value = e.evalf(30, subs=subs)
            if not value.is_number or value.has(sp.DiracDelta):
                reject()                    # on a kink (DiracDelta(0)): no derivative to judge
            return float(value) if value.is_real or value.is_zero else complex(value)
        return [d(sp.diff(e, s), k - 1) for s in symbols]

    return d(expr, order)


def _close(got, want, scale):
    assert abs(got - want) <= 1e-12 * scale, (got, want)


@pytest.mark.parametrize("name,kwargs,domain", CASES, ids=[f"{c[0]}{c[1] or ''}" for c in CASES])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_double_and_triple_backward_of_each_primitive_equal_sympy(name, kwargs, domain, data):
    point = [data.draw(st.floats(lo, hi)) for lo, hi in domain]
    symbols = (U, V, W)[:len(point)]
    twin_kwargs = {k: sp.nsimplify(v) for k, v in kwargs.items()}
    expr = TWINS[name](*symbols, **twin_kwargs)
    if name == "Mod":  # SymPy leaves d Mod unevaluated: x mod m = x - m⌊x/m⌋, ⌊x/m⌋ locally constant
        m = symbols[1] if len(symbols) > 1 else twin_kwargs["m"]
        m_value = point[1] if len(point) > 1 else kwargs["m"]
        expr = symbols[0] - m * math.floor(point[0] / m_value)
    xs = [Scalar(v) for v in point]
    y = ELEMENTARY[name](*xs, **kwargs)
    first = grad(y, xs, create_graph=True)
    second = [grad(g, xs, create_graph=True) for g in first]
    third = [[grad(h, xs) for h in row] for row in second]
    want2 = _truth(expr, symbols, point, 2)
    want3 = _truth(expr, symbols, point, 3)
    scale2 = max(1.0, max(abs(w) for row in want2 for w in row))
    scale3 = max(1.0, max(abs(w) for m in want3 for row in m for w in row))
    for i in range(len(xs)):
        for j in range(len(xs)):
            _close(float(second[i][j]), want2[i][j], scale2)
            for k in range(len(xs)):
                _close(float(third[i][j][k]), want3[i][j][k], scale3)


@settings(max_examples=150, deadline=None)
@given(program=programs, point=points)
def test_random_programs_hessian_equals_sympy(program, point):
    tape_vals, sym_vals = run_program(program, point)
    out, expr = tape_vals[-1], sym_vals[-1]
    leaves = tape_vals[:3]
    first = grad(out, leaves, create_graph=True)
    hessian = [grad(g, leaves) for g in first]
    want = _truth(expr, VARIABLES, point, 2)
    scale = max(1.0, max(abs(w) for row in want for w in row))
    for i in range(3):
        assert abs(float(first[i]) - _truth(sp.diff(expr, VARIABLES[i]), VARIABLES, point, 0)) \
            <= 1e-12 * scale
        for j in range(3):
            _close(float(hessian[i][j]), want[i][j], scale)


def test_first_order_grad_equals_backward_and_leaves_grad_untouched():
    a, b = Scalar(0.7), Scalar(-1.3)
    y = a * b + (a / b) ** 3 - a
    ga, gb = grad(y, [a, b])
    assert a.grad is None and b.grad is None and y.grad is None
    backward(y)
    assert (ga, gb) == (a.grad, b.grad)
    (gy,) = grad(y, [y])
    assert gy == 1 and grad(y, [Scalar(2.0)]) == (0.0,)


def test_backward_with_create_graph_puts_scalars_in_grad():
    x = Scalar(0.4)
    y = x * x * x
    backward(y, create_graph=True)
    dx = x.grad
    assert isinstance(dx, Scalar) and dx.value == pytest.approx(3 * 0.4 ** 2, rel=1e-15)
    assert grad(dx, [x])[0] == pytest.approx(6 * 0.4, rel=1e-15)
    reset_grad(dx)                                     # x is in dx's graph: its grad is cleared
    backward(dx)                                       # d(3x²)/dx = 6x, seed style
    assert x.grad == pytest.approx(6 * 0.4, rel=1e-15)


def test_hessian_vector_product_of_a_shared_graph():
    a, b = Scalar(0.3), Scalar(1.1)
    y = ELEMENTARY["Exp"](a * b) * ELEMENTARY["Sin"](a + b)
    ga, gb = grad(y, [a, b], create_graph=True)
    hv = grad(ga * 2.0 + gb * -1.0, [a, b])                 # H·(2, -1)
    want = _truth(sp.exp(U * V) * sp.sin(U + V), (U, V), (0.3, 1.1), 2)
    for i in range(2):
        assert hv[i] == pytest.approx(2 * want[i][0] - want[i][1], rel=1e-14)


def test_a_function_without_a_tape_vjp_refuses_higher_orders_by_name():
    square = Function("Square", lambda x: x * x, lambda x: [2 * x])
    x = Scalar(3.0)
    y = square(x)
    assert grad(y, [x]) == (6.0,)
    with pytest.raises(SymimplicitError, match="Square has no vjp in tape operations"):
        grad(y, [x], create_graph=True)


def test_second_derivative_domain_errors_are_typed():
    x = Scalar(0.0)
    y = Scalar(0.0) ** x                                        # 0^x: ∂/∂x needs log 0
    with pytest.raises(DomainError):
        grad(y, [x], create_graph=True)


def test_multi_output_functions_with_tape_vjps_differentiate_twice():
    from symimplicit.lower.higher import solve

    a, b = Scalar(2.0), Scalar(0.5)
    x, y = solve([[a, b], [b, a * a]], [1.0, a])                 # [[a, b], [b, a²]] (x, y) = (1, a)
    t = sp.Symbol("t")
    M = sp.Matrix([[t, 0.5], [0.5, t * t]])
    xs = M.LUsolve(sp.Matrix([1, t]))
    (dx,) = grad(x, [a], create_graph=True)
    (d2x,) = grad(dx, [a])
    assert dx.value == pytest.approx(float(sp.diff(xs[0], t).subs(t, 2)), rel=1e-14)
    assert d2x == pytest.approx(float(sp.diff(xs[0], t, 2).subs(t, 2)), rel=1e-13)
    assert math.isfinite(y.value)
