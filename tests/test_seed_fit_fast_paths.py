"""The seed's fit step (issue 12) after its per-step overhead was removed: the affine sweep, the
batched node and the compiled replay of a multi-output call.

Each fast path is checked against an independent truth: the closed form x = -b/(2a) of
argmin a x² + b x and its derivatives by hand, the plain tape (bit for bit, through ``repr``),
np.linalg.solve / eigvalsh, and the full checks of symimplicit.lower.checks, which the
bounds that skip them must never contradict."""
from __future__ import annotations

import math
import re

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings, strategies as st

from symimplicit import Minimize, Root
from symimplicit.errors import NotAMinimumError, SingularJacobianError
from symimplicit.lower import vectorized as V
from symimplicit.lower.batched import _lowered
from symimplicit.lower.checks import oversensitive, singular_jacobian
from symimplicit.tape import Function, Saved, Scalar, backward, value_and_grad

x, y, a, b = sp.symbols("x y a b")
ARGMIN = Minimize(a * x**2 + b * x, x, (a, b)).primitive()       # x = -b/(2a): method "linear"
LIN2 = Root([a * x + y - b, x - b * y + a], [x, y], (a, b)).primitive()   # affine, 2 unknowns

A_POS = st.floats(0.05, 20.0)
BS = st.lists(st.floats(-5.0, 5.0), min_size=1, max_size=30)


def truth(A, B):
    """x = -b/(2a), ∂x/∂a = b/(2a²), ∂x/∂b = -1/(2a), at 40 digits, rounded once."""
    with mp.workdps(40):
        A, B = mp.mpf(A), mp.mpf(B)
        return float(-B / (2 * A)), float(B / (2 * A**2)), float(-1 / (2 * A))


@settings(max_examples=60, deadline=None)
@given(st.lists(A_POS, min_size=1, max_size=30), st.data())
def test_affine_sweep_is_the_closed_form(As, data):
    Bs = data.draw(st.lists(st.floats(-5.0, 5.0), min_size=len(As), max_size=len(As)))
    Z, G = _lowered(ARGMIN).solve_and_gradient_affine(np.array(As), np.array(Bs))
    for i, (A, B) in enumerate(zip(As, Bs)):
        X, dA, dB = truth(A, B)
        assert Z[i] == pytest.approx(X, rel=4.5e-16, abs=1e-300)        # one rounding of -b/(2a)
        assert G[i, 0] == pytest.approx(dA, rel=9e-16, abs=1e-300)
        assert G[i, 1] == pytest.approx(dB, rel=4.5e-16)


@settings(max_examples=60, deadline=None)
@given(A_POS, BS, st.lists(st.floats(-2.0, 2.0), min_size=30, max_size=30))
def test_seed_loss_compiled_is_the_tape_and_the_hand_gradient(A, Bs, targets):
    """L(a) = Σ (x̂ᵢ - tᵢ)², dL/da = Σ 2 (x̂ᵢ - tᵢ) bᵢ/(2a²): replay = tape bit for bit, both = hand."""
    ts = targets[:len(Bs)]

    def loss(s):
        return sum((u - t) ** 2 for u, t in zip(ARGMIN.map(s, Bs), ts))

    compiled, plain = value_and_grad(loss, compile=True), value_and_grad(loss)
    compiled(A + 0.5)                                                     # records at another a
    got = compiled(A)
    assert repr(got) == repr(plain(A))
    assert compiled.recordings == 1
    assert ("_joint_call(" in compiled.source) == (len(Bs) > 1)          # one instance: one output
    with mp.workdps(40):
        xs = [-mp.mpf(B) / (2 * mp.mpf(A)) for B in Bs]
        L = sum((u - t) ** 2 for u, t in zip(xs, ts))
        dL = sum(2 * (u - t) * mp.mpf(B) / (2 * mp.mpf(A) ** 2) for u, t, B in zip(xs, ts, Bs))
    scale = sum(float(abs(2 * (u - t) * mp.mpf(B) / (2 * mp.mpf(A) ** 2)))
                for u, t, B in zip(xs, ts, Bs))                            # no cancellation bound
    assert got[0] == pytest.approx(float(L), rel=1e-14, abs=1e-300)
    assert abs(got[1][0] - float(dL)) <= 1e-14 * scale + 1e-300


def test_seed_fit_compiled_equals_the_one_by_one_fit():
    """The benchmark's workload: 100 argmin layers, 300 steps; map + replay = 100 tape calls."""
    import random
    random.seed(314)
    truea = 1 + random.random()
    bs = [2 * random.random() - 1 for _ in range(100)]
    xs = [ARGMIN(truea, bi) for bi in bs]

    def mapped(s):
        return sum((u - v) ** 2 for u, v in zip(ARGMIN.map(s, bs), xs))

    def one_by_one(s):
        return sum((ARGMIN(s, bi) - v) ** 2 for bi, v in zip(bs, xs))

    fits = []
    for fn in (value_and_grad(mapped, compile=True), value_and_grad(mapped),
               value_and_grad(one_by_one)):
        ahat = 1.5
        for _ in range(300):
            ahat -= 0.05 * fn(ahat)[1][0]
        fits.append(ahat)
    assert fits[0] == fits[1] == fits[2]
    assert abs(fits[0] - truea) < 1e-15


def test_affine_sweep_still_refuses_the_points_without_a_derivative():
    low = _lowered(ARGMIN)
    with pytest.raises(SingularJacobianError, match=r"flat indices \[1\]"):
        low.solve_and_gradient_affine(np.array([1.0, 0.0, 2.0]), np.array([1.0, 1.0, 1.0]))
    with pytest.raises(NotAMinimumError, match=r"flat indices \[0, 2\]"):
        low.solve_and_gradient_affine(np.array([-1.0, 1.0, -3.0]), np.array([1.0, 1.0, 1.0]))
    with pytest.raises(SingularJacobianError):                           # map: the same checks
        ARGMIN.map(Scalar(0.0), [0.5, 1.0])


# -- the bounds that skip a full check never contradict it ------------------------------------ #
wild = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0), st.just(-0.0),
                 st.floats(-1e-300, 1e-300), st.floats(1e13, 1e15), st.floats(1e-15, 1e-13))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(wild, wild), min_size=1, max_size=8))
def test_regular_scalar_bound_implies_no_singular_point(pairs):
    J = np.array([p[0] for p in pairs]).reshape(-1, 1, 1)
    noise = np.abs(np.array([p[1] for p in pairs])).reshape(-1, 1, 1)
    full = singular_jacobian(J, noise)
    if V._regular_scalar(J, noise):
        assert not full.any()
    if not full.any() and np.isfinite(noise).all():
        # where the full test passes with a noise at most 10¹⁴× smaller, the bound agrees
        if np.abs(J).min() * 1e14 > noise.max():
            assert V._regular_scalar(J, noise)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6), st.integers(1, 3), st.integers(1, 3), st.data())
def test_bounded_sensitivity_implies_not_oversensitive(M, n, p, data):
    vals = st.lists(wild, min_size=M * n * p, max_size=M * n * p)
    dz = np.array(data.draw(vals)).reshape(M, n, p)
    assume(np.isfinite(dz).all())                                       # _derivative checks first
    theta = [np.array(data.draw(st.lists(wild, min_size=M, max_size=M))) for _ in range(p)]
    z = np.array(data.draw(st.lists(wild, min_size=M * n, max_size=M * n))).reshape(M, n)
    if V._bounded_sensitivity(dz, theta):
        assert not oversensitive(dz, np.stack(theta, axis=-1), z).any()


def test_one_unknown_curvature_is_eigvalsh():
    rng = np.random.default_rng(5)
    J = np.concatenate([rng.standard_normal(500) * 10.0 ** rng.integers(-300, 300, 500),
                        [0.0, -0.0, 1e-310, -1e-310, 1.7e308]]).reshape(-1, 1, 1)
    assert np.array_equal(np.linalg.eigvalsh(J).min(axis=-1), J[:, 0, 0])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_gesv_gufunc_is_np_linalg_solve(n):
    rng = np.random.default_rng(n)
    J = rng.standard_normal((200, n, n)) * 10.0 ** rng.integers(-5, 5, (200, 1, 1))
    B = rng.standard_normal((200, n, 2))
    assert V._solve(J, B).tobytes() == np.linalg.solve(J, B).tobytes()
    J[7] = 0.0                                                          # a singular member: NaN
    with np.errstate(all="ignore"):                                     # (its callers' context)
        out = V._solve(J, B)
    assert np.isnan(out[7]).all() and np.isfinite(np.delete(out, 7, axis=0)).all()


def test_solve_without_the_gufunc_is_np_linalg_solve(monkeypatch):
    monkeypatch.setattr(V, "_GESV", None)
    rng = np.random.default_rng(9)
    J, B = rng.standard_normal((50, 2, 2)), rng.standard_normal((50, 2, 3))
    assert V._solve(J, B).tobytes() == np.linalg.solve(J, B).tobytes()
    J[3] = 0.0                                                          # LinAlgError: all NaN
    out = V._solve(J, B)
    assert out.shape == B.shape and np.isnan(out).all()


@pytest.mark.parametrize("layer", [ARGMIN, LIN2], ids=["argmin", "lin2"])
def test_columns_fill_equals_the_broadcasting_wrapper(layer):
    """_columns writes the generated code's outputs into the arrays; without it the wrapper
    and np.stack give the same bytes (a constant entry such as ∂F/∂b = 1 included)."""
    low = _lowered(layer)
    rng = np.random.default_rng(0)
    z = rng.uniform(-2, 2, (50, low.n))
    theta = [rng.uniform(0.5, 2, 50), rng.uniform(-1, 1, 50)]
    fast = [low._evaluate(z, theta), low._columns(low._ftheta, z, theta, (low.n * low.p,))]
    raw, low._raw = low._raw, {}
    try:
        slow = [low._evaluate(z, theta), low._columns(low._ftheta, z, theta, (low.n * low.p,))]
    finally:
        low._raw = raw
    for f, s in zip([*fast[0], *fast[1]], [*slow[0], *slow[1]]):
        assert f.shape == s.shape and f.flags.c_contiguous and f.tobytes() == s.tobytes()


# -- the replay of a plain k-output Function: its joint only ---------------------------------- #
def _split():
    def forward(u, v, c, scale=1.0):
        return Saved((u * v * scale, u + c, math.sin(v)), ("state", c))

    def vjp(g, node):
        u, v, c = node.inputs
        assert node.state == ("state", c)
        s = node.kwargs.get("scale", 1.0)
        return (g[0] * v * s + g[1], g[0] * u * s + g[2] * math.cos(v), g[1])

    return Function("Split3", forward, vjp=vjp, n_outputs=3)


SPLIT = _split()


class Logged(Function):
    """A subclass with its own __call__: replayed through it (the general path)."""
    __slots__ = ()
    calls = []

    def __call__(self, *args, **kwargs):
        Logged.calls.append(len(args))
        return Function.__call__(self, *args, **kwargs)


LOGGED = Logged("Logged", SPLIT.forward, vjp=SPLIT.vjp, n_outputs=3)


@settings(max_examples=60, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3), st.booleans())
def test_joint_replay_is_the_tape_bit_for_bit(p, q, c, use_kw):
    kw = {"scale": 0.5} if use_kw else {}

    def fn(s, t):
        u, v, w = SPLIT(s, t * s, c, **kw)        # c: a constant parent made once
        _, v2, _ = SPLIT(v, 2.0, w, **kw)         # only one item of this call is used
        return u * w + v2 - v

    compiled, plain = value_and_grad(fn, compile=True), value_and_grad(fn)
    compiled(p + 1.0, q - 1.0)
    assert repr(compiled(p, q)) == repr(plain(p, q))
    source = compiled.source
    assert source.count("_joint_call(") == 2 and "].value" not in source   # no item nodes:
    assert len(re.findall(r"= w\d+\[\d\]", source)) == 4                  # 4 outputs read


def test_a_function_subclass_keeps_its_own_call_on_replay():
    def fn(s):
        u, v, w = LOGGED(s, 2.0, 0.5)
        return u * v + w

    compiled, plain = value_and_grad(fn, compile=True), value_and_grad(fn)
    compiled(0.3)
    Logged.calls.clear()
    assert repr(compiled(0.7)) == repr(plain(0.7))
    assert Logged.calls == [3, 3]                   # the replay and the plain tape both called it
    assert "_joint_call(" not in compiled.source


def test_constant_parents_stay_constant_across_replays():
    """The Scalars made once for constant parents are not changed by a replay (no state leaks)."""
    bs = [0.25, -0.5, 1.0]
    f = value_and_grad(lambda s: sum(ARGMIN.map(s, bs)), compile=True)
    first = [f(A) for A in (1.0, 2.0, 0.5)]
    again = [f(A) for A in (1.0, 2.0, 0.5)]
    assert first == again
    for A, (v, (g,)) in zip((1.0, 2.0, 0.5), first):
        assert v == pytest.approx(sum(-B / (2 * A) for B in bs), rel=1e-15)
        assert g == pytest.approx(sum(B / (2 * A * A) for B in bs), rel=1e-15)


def test_map_names_a_bad_entry_without_scanning_every_slot():
    from symimplicit.errors import ArgumentError
    bs = [0.1] * 5000 + ["x"]
    with pytest.raises(ArgumentError, match=r"b\[5000\]"):
        ARGMIN.map(1.0, bs)
    sa = Scalar(1.0)
    out = ARGMIN.map(sa, [Scalar(0.5), 1.0])
    backward(out[0] + out[1])
    assert sa.grad == pytest.approx(1.5 / 2, rel=1e-15)                # Σ b/(2a²)


# -- the reverse pass passes a lone cotangent on by name (no `g = 0 + (h)` line) --------------- #
from symimplicit.tape import ELEMENTARY  # noqa: E402

PASS_ON = ["Plus", "Minus", "Mod", "Sum", "Times", "Neg", "Pow"]
edge = st.tuples(st.sampled_from(PASS_ON), st.integers(0, 10**6), st.integers(0, 10**6),
                 st.integers(0, 10**6))
zeros = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, -3.0])


def pass_on_program(program, consts):
    """Chains of +, -, mod, Σ (with repeated arguments), ×, negation and squares over the
    inputs and the constants ±0, ±1 ...: cotangents of -0.0 and nodes used once or often."""
    def fn(*xs):
        vals = list(xs) + [Scalar(c) * xs[0] for c in consts]     # c·x: a -0.0 cotangent source
        for kind, i, j, k in program:
            n = len(vals)
            u, v, w = vals[i % n], vals[j % n], vals[k % n]
            if kind == "Sum":
                vals.append(ELEMENTARY["Sum"](u, v, u, w))         # u twice in one node
            elif kind == "Mod":
                vals.append(u % 7.0)
            elif kind == "Neg":
                vals.append(-u)
            elif kind == "Pow":
                vals.append(u ** 2)
            else:
                vals.append(ELEMENTARY[kind](u, v))
        return ELEMENTARY["Plus"](vals[-1], vals[-1] * 0.0)        # the last, and a -0.0 route
    return fn


@settings(max_examples=300, deadline=None)
@given(st.lists(edge, min_size=1, max_size=14), st.lists(zeros, min_size=1, max_size=3),
       st.lists(st.tuples(st.sampled_from([0.0, -0.0, 1.5, -2.0]), st.floats(-3, 3)),
                min_size=1, max_size=4))
def test_passing_cotangents_on_by_name_is_the_tape_bit_for_bit(program, consts, points):
    fn = pass_on_program(program, consts)
    compiled, plain = value_and_grad(fn, compile=True), value_and_grad(fn)
    for point in points + points:
        try:
            want = repr(plain(*point))
        except Exception as exc:                                     # noqa: BLE001
            want = type(exc)
        try:
            got = repr(compiled(*point))
        except Exception as exc:                                     # noqa: BLE001
            got = type(exc)
        assert got == want
