"""Second and third derivatives through implicit layers on the tape, against mpmath truth.

The truth is the solution map itself: mpmath's high-precision Newton solve z(θ)
(:class:`~symimplicit.precision.mpsolve.MpProblem`) differentiated by ``mpmath.diff``
at 30+ digits, a route that uses no derived formula at all.  The tape side is
``grad(..., create_graph=True)`` through the layer: its higher-order vjp is made of
lowered derived formulas (symimplicit.lower.higher).
"""
from __future__ import annotations

import math

import mpmath as mp
import pytest
import sympy as sp

from symimplicit import FixedPoint, Minimize, Root
from symimplicit.lower import primitive
from symimplicit.precision.mpsolve import problem_of
from symimplicit.tape import Scalar, backward, grad

x, y, a, b = sp.symbols("x y a b")

SCALAR = FixedPoint(sp.cos(a * x + b), unknown=x, params=(a, b))
SYSTEM = Root((x + sp.sin(y) / 3 - a, y + b * sp.cos(x) / 2 - 1 + x * y / 5), unknown=(x, y),
              params=(a, b))
KKT = Minimize((x - a) ** 2 + (y - b) ** 4 + x * y, unknown=(x, y), params=(a, b),
               constraints=[x + y ** 2 - a * b])

CASES = [(SCALAR, (1.0, 0.0), None), (SCALAR, (-0.5, 0.5), None),
         (SYSTEM, (0.8, 0.6), (0.5, 0.5)), (KKT, (1.5, 0.7), (1.0, 1.0))]
IDS = ["fixed-point", "fixed-point-2", "system", "constrained-argmin"]


def truth(statement, theta, orders, component, start):
    """∂^orders z_component(θ) by mpmath.diff of the high-precision solution map."""
    problem = problem_of(statement)
    with mp.workdps(60):
        z0 = problem.solve(theta, problem.start(start), 80)

    def z(*t):
        return problem.solve(t, z0, mp.mp.dps + 30, check=False)[component]

    with mp.workdps(40):
        return mp.diff(z, tuple(mp.mpf(t) for t in theta), orders)


def tape_derivatives(statement, theta, x0):
    """(value, gradient, Hessian, third derivatives) of each user unknown on the tape."""
    layer = statement.primitive(**({} if x0 is None else {"x0": x0}))
    params = [Scalar(t) for t in theta]
    outs = layer(*params)
    outs = outs if isinstance(outs, tuple) else (outs,)
    results = []
    for o in outs:
        g = grad(o, params, create_graph=True)
        h = [grad(gi, params, create_graph=True) for gi in g]
        t3 = [[grad(hij, params) for hij in row] for row in h]
        results.append((o.value, [float(v) for v in g], [[float(v) for v in row] for row in h],
                        [[[float(v) for v in c] for c in row] for row in t3]))
    return results


@pytest.mark.parametrize("statement,theta,x0", CASES, ids=IDS)
def test_second_and_third_derivatives_through_a_layer_match_mpmath(statement, theta, x0):
    start = x0 if x0 is not None else (0.0,)
    for i, (value, g, h, t3) in enumerate(tape_derivatives(statement, theta, x0)):
        hscale = max(1.0, max(abs(v) for row in h for v in row))
        tscale = max(1.0, max(abs(v) for m in t3 for row in m for v in row))
        for j in range(2):
            assert g[j] == pytest.approx(float(truth(statement, theta, _orders(j), i, start)),
                                         rel=1e-14, abs=1e-14)
            for k in range(2):
                want = float(truth(statement, theta, _orders(j, k), i, start))
                assert abs(h[j][k] - want) <= 1e-13 * hscale, (i, j, k, h[j][k], want)
        for j, k, m in [(0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1)]:
            want = float(truth(statement, theta, _orders(j, k, m), i, start))
            assert abs(t3[j][k][m] - want) <= 1e-11 * tscale, (i, j, k, m, t3[j][k][m], want)
        # the Hessian is symmetric because it is a formula, not a difference
        assert h[0][1] == pytest.approx(h[1][0], rel=1e-14, abs=1e-15)


def _orders(*idx):
    out = [0, 0]
    for i in idx:
        out[i] += 1
    return tuple(out)


def test_the_seed_fit_loss_hessian_in_a_matches_the_closed_form():
    # x̂ᵢ(a) = argmin a x² + bᵢ x = -bᵢ/(2a); loss(a) = Σ (x̂ᵢ(a) - xᵢ)²
    st = Minimize(a * x ** 2 + b * x, unknown=x, params=(a, b))
    layer = st.primitive()
    bs = [0.3, -0.7, 0.9, -0.2]
    true_a = 1.3
    xs = [-bi / (2 * true_a) for bi in bs]
    A = Scalar(1.6)
    loss = sum((layer(A, bi) - xi) ** 2 for bi, xi in zip(bs, xs))
    (g,) = grad(loss, [A], create_graph=True)
    (h,) = grad(g, [A], create_graph=True)
    (t,) = grad(h, [A])
    s = sp.Symbol("s")
    closed = sum((-sp.Rational(repr(bi)) / (2 * s) - sp.Float(repr(xi), 30)) ** 2
                 for bi, xi in zip(bs, xs))
    for value, k in [(g.value, 1), (h.value, 2), (t, 3)]:
        want = float(sp.diff(closed, s, k).evalf(30, subs={s: sp.Float(1.6, 30)}))
        assert value == pytest.approx(want, rel=1e-13)


def test_backward_with_create_graph_through_a_layer_seed_style():
    layer = SCALAR.primitive()
    A, B = Scalar(1.0), Scalar(0.0)
    X = layer(A, B)
    backward(X, create_graph=True)
    assert isinstance(A.grad, Scalar)
    want = float(truth(SCALAR, (1.0, 0.0), (1, 1), 0, (0.0,)))
    assert grad(A.grad, [B])[0] == pytest.approx(want, rel=1e-14)


def test_explicit_primitives_differentiate_to_third_order():
    u, v = sp.symbols("u v", real=True)
    expr = sp.exp(u * v) / (1 + u ** 2) + sp.sqrt(v) * u ** 3
    f = primitive(expr, (u, v))
    U, V = Scalar(0.4), Scalar(1.7)
    out = f(U, V)
    gu, gv = grad(out, [U, V], create_graph=True)
    huv = grad(gu, [V], create_graph=True)[0]
    (tuvv,) = grad(huv, [V])
    at = {u: sp.Float(0.4, 30), v: sp.Float(1.7, 30)}
    assert huv.value == pytest.approx(float(sp.diff(expr, u, v).evalf(30, subs=at)), rel=1e-14)
    assert tuvv == pytest.approx(float(sp.diff(expr, u, v, v).evalf(30, subs=at)), rel=1e-13)
    assert gv.value == pytest.approx(float(sp.diff(expr, v).evalf(30, subs=at)), rel=1e-15)


def test_first_order_grad_through_a_vector_layer_equals_backward():
    layer = KKT.primitive(x0=(1.0, 1.0))
    A, B = Scalar(1.5), Scalar(0.7)
    X, Y = layer(A, B)
    loss = X * X + 3 * Y
    first = grad(loss, [A, B])
    on_tape = grad(loss, [A, B], create_graph=True)
    backward(loss)
    assert first == (A.grad, B.grad)
    for f, t in zip(first, on_tape):
        assert t.value == pytest.approx(f, rel=1e-14)
    assert all(math.isfinite(v) for v in first)
