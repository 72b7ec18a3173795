"""layer.map (issue 12): N calls of one layer as one tape node.  Values and gradients agree with
the one-by-one calls and with closed forms; shared arguments sum their cotangents; the
compiled replay gives the plain tape's numbers; bad arguments are typed errors."""
from __future__ import annotations

import math
import random

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import FixedPoint, Minimize, Root
from symimplicit.errors import ArgumentError, StatementError
from symimplicit.tape import Scalar, backward, grad, value_and_grad

x, y, a, b = sp.symbols("x y a b")
ARGMIN = Minimize(a * x**2 + b * x, x, (a, b)).primitive()      # x = -b/(2a): method "linear"
COS = FixedPoint(sp.cos(a * x + b), x, (a, b)).primitive()       # damped Newton
PAIR = Root([x**2 + y**2 - a, x - b * y], [x, y], (a, b)).primitive(x0=[1.0, 1.0])


def cos_truth(A, B):
    """x = cos(Ax + B) and ∂x/∂(A, B) = (-x sin u, -sin u)/(1 + A sin u), u = Ax + B, at 40 digits."""
    with mp.workdps(40):
        X = mp.findroot(lambda t: t - mp.cos(A * t + B), 0.5)
        s = mp.sin(A * X + B)
        return float(X), float(-X * s / (1 + A * s)), float(-s / (1 + A * s))


@settings(max_examples=30, deadline=None)
@given(st.floats(0.2, 0.9), st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=12))
def test_map_agrees_with_one_by_one_and_the_truth(A, Bs):
    sa = Scalar(A)
    mapped = COS.map(sa, Bs)
    backward(sum(mapped[1:], mapped[0]))
    shared = sa.grad
    total = 0.0
    for B, m in zip(Bs, mapped):
        sb = Scalar(A)
        one = COS(sb, B)
        assert m.value == one.value                                # the same solver, bit for bit
        X, dA, _ = cos_truth(A, B)
        assert m.value == pytest.approx(X, rel=4e-16, abs=4e-16)
        total += dA
    assert shared == pytest.approx(total, rel=1e-14, abs=1e-15)   # Σᵢ ∂xᵢ/∂a: shared a summed


def test_per_call_scalars_get_their_own_cotangents():
    As = [Scalar(v) for v in (0.3, 0.5, 0.7)]
    Bs = [Scalar(v) for v in (0.1, -0.4, 0.9)]
    out = COS.map(As, Bs)
    g = grad(out[0] * 2.0 + out[2], As + Bs)
    truths = [cos_truth(s.value, t.value) for s, t in zip(As, Bs)]
    want = [2 * truths[0][1], 0.0, truths[2][1], 2 * truths[0][2], 0.0, truths[2][2]]
    for got, w in zip(g, want):
        assert got == pytest.approx(w, rel=1e-14, abs=1e-16)


def test_argmin_map_closed_form_and_seed_fit():
    """The seed's fit with layer.map recovers the same a as with 100 layer calls."""
    random.seed(314)
    truea = 1 + random.random()
    bs = [2 * random.random() - 1 for _ in range(100)]
    xs = ARGMIN.map(truea, bs)
    assert xs == [-bi / (2 * truea) for bi in bs] or \
        max(abs(u + bi / (2 * truea)) for u, bi in zip(xs, bs)) < 1e-16
    A = Scalar(1.3)
    out = ARGMIN.map(A, bs)
    backward(sum(out[1:], out[0]))
    assert A.grad == pytest.approx(sum(bi / (2 * 1.3**2) for bi in bs), rel=1e-14)

    def loss(s):
        return sum((u - v) ** 2 for u, v in zip(ARGMIN.map(s, bs), xs))

    def loop(s):
        return sum((ARGMIN(s, bi) - v) ** 2 for bi, v in zip(bs, xs))

    fits = []
    for fn in (value_and_grad(loss, compile=True), value_and_grad(loop)):
        ahat = 1.5
        for _ in range(300):
            ahat -= 0.05 * fn(ahat)[1][0]
        fits.append(ahat)
    assert fits[0] == fits[1]
    assert abs(fits[0] - truea) < 1e-15


def test_compiled_replay_matches_the_tape():
    f_plain = value_and_grad(lambda s, t: sum(COS.map(s, [t, 0.5 * t, -t])))
    f_comp = value_and_grad(lambda s, t: sum(COS.map(s, [t, 0.5 * t, -t])), compile=True)
    for A, B in [(0.3, 0.2), (0.8, -0.7), (0.5, 0.9), (0.3, 0.2)]:
        assert f_comp(A, B) == f_plain(A, B)


def test_vector_unknowns_map_to_tuples():
    """x² + y² = a, x = b y: y = √(a/(1 + b²)), x = b y (the positive branch from (1, 1))."""
    As, B = [1.0, 2.0, 4.0], Scalar(0.5)
    out = PAIR.map(As, B)
    assert all(isinstance(o, tuple) and len(o) == 2 for o in out)
    for A, (X, Y) in zip(As, out):
        yv = math.sqrt(A / 1.25)
        assert X.value == pytest.approx(0.5 * yv, rel=1e-15)
        assert Y.value == pytest.approx(yv, rel=1e-15)
    (g,) = grad(sum(o[1] for o in out), [B])
    # ∂y/∂b = -b y/(1 + b²)
    assert g == pytest.approx(sum(-0.5 * math.sqrt(A / 1.25) / 1.25 for A in As), rel=1e-14)


def test_floats_only_give_floats():
    assert COS.map(0.5, [0.1, 0.2]) == [COS(0.5, 0.1), COS(0.5, 0.2)]


@pytest.mark.parametrize("args, message", [
    ((0.5, [0.1, 0.2], 1.0), "takes the 2 parameter"),
    ((0.5, 0.1), "no parameter is a sequence"),
    (([0.5, 0.6], [0.1, 0.2, 0.3]), "different lengths"),
    ((0.5, []), "empty"),
    ((0.5, [0.1, "x"]), "b[1]"),
])
def test_bad_arguments_are_typed(args, message):
    with pytest.raises(ArgumentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        COS.map(*args)


def test_methods_without_a_batched_form_and_inequalities_refuse():
    iterate = FixedPoint(sp.cos(a * x + b), x, (a, b)).primitive(method="iterate")
    with pytest.raises(StatementError, match="no batched form"):
        iterate.map(0.5, [0.1, 0.2])
    box = Minimize((x - a)**2, x, (a,), constraints=[x <= 1]).primitive()
    with pytest.raises(StatementError, match="active set"):
        box.map([0.5, 2.0])
