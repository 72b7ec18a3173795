"""The scalar kernel (lower/scalar_kernel.py) and the scalar fast path of layer.map.

The kernel is the general path (ScalarNewton, the checks of _check_scalar, the gradient
formula) written out as one function: where it answers, the layer's numbers must be the
general path's, bit for bit; where the general path raises or takes the bracketed fallback,
the kernel must hand over (return None) so the layer gives the same result.  Truth for the
numbers themselves: mpmath at 50 digits."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings, strategies as st

from symimplicit import FixedPoint, Minimize, Root
from symimplicit.errors import (DomainError, NotAMinimumError, SingularJacobianError,
                                SymimplicitError)
from symimplicit.tape import Scalar, grad

x, a, b, c = sp.symbols("x a b c")

# smooth scalar statements solved by 'newton' (catalog style), each with F, F_x, F_a, F_b
# written by hand for mpmath (the truth never touches the SymPy derivation)
STATEMENTS = {
    "cos fixed point": (FixedPoint(sp.cos(a * x + b), x, (a, b)), (
        lambda t, A, B: t - mp.cos(A * t + B), lambda t, A, B: 1 + A * mp.sin(A * t + B),
        lambda t, A, B: t * mp.sin(A * t + B), lambda t, A, B: mp.sin(A * t + B))),
    "kepler": (Root(x - a * sp.sin(x) - b, x, (a, b)), (
        lambda t, A, B: t - A * mp.sin(t) - B, lambda t, A, B: 1 - A * mp.cos(t),
        lambda t, A, B: -mp.sin(t), lambda t, A, B: -1)),
    "tanh cell": (Root(x - sp.tanh(a * x + b), x, (a, b)), (
        lambda t, A, B: t - mp.tanh(A * t + B), lambda t, A, B: 1 - A * mp.sech(A * t + B)**2,
        lambda t, A, B: -t * mp.sech(A * t + B)**2, lambda t, A, B: -mp.sech(A * t + B)**2)),
    "cubic": (Root(x**3 + a * x - b, x, (a, b)), (
        lambda t, A, B: t**3 + A * t - B, lambda t, A, B: 3 * t**2 + A,
        lambda t, A, B: t, lambda t, A, B: -1)),
    "sqrt": (Root(sp.sqrt(x) - a * x - b, x, (a, b)), (
        lambda t, A, B: mp.sqrt(t) - A * t - B, lambda t, A, B: 1 / (2 * mp.sqrt(t)) - A,
        lambda t, A, B: -t, lambda t, A, B: -1)),
    "log argmin": (Minimize(a * x**2 - sp.log(x) + b * x, x, (a, b)), (   # F = ∂f/∂x
        lambda t, A, B: 2 * A * t - 1 / t + B, lambda t, A, B: 2 * A + 1 / t**2,
        lambda t, A, B: 2 * t, lambda t, A, B: 1)),
}


def _layers(statement, **options):
    """(the layer, the same layer with the kernel switched off: the general path)."""
    fast = statement.primitive(**options)
    slow = statement.primitive(**options)
    slow._kernel = None
    return fast, slow


def _outcome(layer, *theta):
    """(x, ∂x/∂θ) as reprs (bits), or the error's type and message."""
    leaves = [Scalar(t) for t in theta]
    try:
        X = layer(*leaves)
        grads = grad(X, leaves)
    except SymimplicitError as exc:
        return type(exc).__name__, str(exc)
    return repr(X.value), repr(grads)


CACHE = {name: _layers(s, x0=0.5) for name, (s, _) in STATEMENTS.items()}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(STATEMENTS)), st.floats(-3, 3), st.floats(-3, 3))
def test_kernel_gives_the_general_paths_numbers_and_errors(name, A, B):
    fast, slow = CACHE[name]
    assert _outcome(fast, A, B) == _outcome(slow, A, B)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(STATEMENTS)), st.floats(-3, 3), st.floats(-3, 3))
def test_kernel_roots_and_gradients_against_mpmath(name, A, B):
    fast, _ = CACHE[name]
    kernel = fast._kernel
    out = kernel(0.5, A, B)
    assume(out is not None)                                   # the kernel answered
    assume(out[0] == 0 or abs(out[0]) >= 2.0**-1022)          # a subnormal root has few digits
    root, dF, iterations, gradient = out
    F, Fx, Fa, Fb = STATEMENTS[name][1]
    with mp.workdps(50):
        A_, B_, t = mp.mpf(A), mp.mpf(B), mp.mpf(root)
        for _ in range(8):                                    # Newton at 50 digits from the root
            t -= F(t, A_, B_) / Fx(t, A_, B_)
        fx = Fx(t, A_, B_)
        assert abs(F(t, A_, B_)) <= mp.mpf(10) ** -40 * (1 + abs(fx * t))
        dA, dB = -Fa(t, A_, B_) / fx, -Fb(t, A_, B_) / fx      # ∂x/∂θ = -F_θ/F_x
    # float64 bounds: ε times the size of the terms that enter, through 1/F_x
    spread = float((1 + abs(t)) * (1 + abs(A_) + abs(B_)) / abs(fx))
    assert abs(root - float(t)) <= 8 * 2**-52 * (abs(float(t)) + spread)
    for got, want in zip(gradient, (dA, dB)):
        assert abs(got - float(want)) <= 64 * 2**-52 * (float(abs(want)) + spread)


def test_bracketed_fallback_when_newton_from_x0_fails():
    """x³ - 4.8e-7 x - 3.5e7 from 0 (issue 9): Newton misses, the kernel hands over, the
    bracketed search finds the root."""
    cubic = Root(x**3 - a * x - c, x, (a, c))
    fast, slow = _layers(cubic)
    assert fast._kernel(0.0, 4.8e-7, 3.5e7) is None
    with mp.workdps(40):
        want = mp.findroot(lambda t: t**3 - mp.mpf(4.8e-7) * t - mp.mpf(3.5e7), 327)
    assert fast.solve(4.8e-7, 3.5e7) == pytest.approx(float(want), rel=4e-16)
    assert _outcome(fast, 4.8e-7, 3.5e7) == _outcome(slow, 4.8e-7, 3.5e7)


def test_multiple_root_raises_the_same_singular_error():
    """(x - a)² from x0 = 2: Newton converges linearly (halving steps) to a double root."""
    fast, slow = _layers(Root((x - a) ** 2, x, a), x0=2.0)
    assert fast._kernel(2.0, 1.0) is None
    with pytest.raises(SingularJacobianError) as got:
        fast(Scalar(1.0))
    with pytest.raises(SingularJacobianError) as want:
        slow(Scalar(1.0))
    assert str(got.value) == str(want.value)


def test_unresolved_root_at_the_floor_raises_the_same_singular_error():
    """(x - a)² from 1 + 1e-9: the residual is at its floor at once (no linear steps seen),
    but F_x = 2e-9 changes by far more than half within the root's rounding uncertainty."""
    fast, slow = _layers(Root((x - a) ** 2, x, a), x0=1 + 1e-9)
    assert fast._kernel(1 + 1e-9, 1.0) is None
    assert _outcome(fast, 1.0)[0] == "SingularJacobianError"
    assert _outcome(fast, 1.0) == _outcome(slow, 1.0)


def test_domain_error_at_the_start_is_the_general_paths_domain_error():
    fast, slow = _layers(Root(sp.log(x) - a, x, a), x0=-1.0)
    assert fast._kernel(-1.0, 0.5) is None
    with pytest.raises(DomainError):
        fast(Scalar(0.5))
    assert _outcome(fast, 0.5) == _outcome(slow, 0.5)


def test_a_trial_outside_the_domain_is_rejected_inline():
    """√x - a from x0 = 1 with a = 0.01: the full Newton step lands at x < 0 (math domain
    error), the line search halves it; the kernel still answers, with the general path's bits."""
    fast, slow = _layers(Root(sp.sqrt(x) - a, x, a), x0=1.0)
    out = fast._kernel(1.0, 0.01)
    assert out is not None and out[0] == pytest.approx(1e-4, rel=1e-15)
    assert _outcome(fast, 0.01) == _outcome(slow, 0.01)


def test_a_maximum_is_not_a_minimum():
    fast, slow = _layers(Minimize(-x**2 - x**4 + a * x, x, a))        # F_x = -2 - 12x² < 0
    assert fast._kernel(0.0, 1.0) is None
    with pytest.raises(NotAMinimumError):
        fast(Scalar(1.0))
    assert _outcome(fast, 1.0) == _outcome(slow, 1.0)


def test_second_derivatives_are_the_general_paths():
    fast, slow = _layers(STATEMENTS["cos fixed point"][0])
    got = []
    for layer in (fast, slow):
        A, B = Scalar(0.7), Scalar(0.3)
        ga, gb = grad(layer(A, B), [A, B], create_graph=True)
        got.append([repr(v) for v in grad(ga, [A, B]) + grad(gb, [A, B])])
    assert got[0] == got[1]


def test_names_that_meet_the_generated_code_are_harmless():
    """Parameters named like the kernel's locals, constants and math functions."""
    q, k, cos_, s0 = sp.symbols("q_x _k_tol cos _s0")
    statement = Root(x - q * sp.sin(x) - k * s0 - cos_, x, (q, k, cos_, s0))
    fast, slow = _layers(statement)
    assert _outcome(fast, 0.3, 0.2, 0.1, 0.5) == _outcome(slow, 0.3, 0.2, 0.1, 0.5)
    assert "q_x" in fast._kernel.source and "cos_" not in fast._kernel.source


def test_who_uses_the_kernel():
    assert STATEMENTS["kepler"][0].primitive()._kernel is not None
    assert STATEMENTS["kepler"][0].primitive(bracket=(-10, 10))._kernel is None
    assert STATEMENTS["cos fixed point"][0].primitive(method="anderson")._kernel is None
    xr = sp.Symbol("x", real=True)
    assert Root(sp.Abs(xr) + xr**3 - a, xr, a).primitive()._kernel is None   # a kink
    assert Root(2 * x - a, x, a).primitive()._kernel is None             # 'linear'


# -- layer.map: the affine scalar fast path ------------------------------------------------
ARGMIN = Minimize(a * x**2 + b * x, x, (a, b))


@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 100), st.lists(st.floats(-10, 10), min_size=2, max_size=30))
def test_map_fast_path_against_the_closed_form_and_the_sweep(A, bs):
    layer = ARGMIN.primitive()
    S = Scalar(A)
    outs = layer.map(S, bs)
    joint = outs[0]._parents[0]
    G = np.asarray(joint.state)[:, 0, :]
    Z, G_sweep = layer._map_lowered.solve_and_gradient_affine(np.full(len(bs), A), np.array(bs))
    assert [o.value for o in outs] == Z.tolist()                      # x: the same bits
    assert np.all(np.abs(G - G_sweep) <= 2**-52 * np.abs(G_sweep))    # within an ulp
    for i, bi in enumerate(bs):
        with mp.workdps(40):
            want = (-mp.mpf(bi) / (2 * mp.mpf(A)), mp.mpf(bi) / (2 * mp.mpf(A) ** 2),
                    -1 / (2 * mp.mpf(A)))
        assert outs[i].value == pytest.approx(float(want[0]), rel=4.5e-16, abs=1e-300)
        assert G[i, 0] == pytest.approx(float(want[1]), rel=9e-16, abs=1e-300)
        assert G[i, 1] == pytest.approx(float(want[2]), rel=4.5e-16)


@pytest.mark.parametrize("A, bs, error", [
    (0.0, [1.0, 2.0], SingularJacobianError),                         # F_x = 0
    (-1.0, [1.0, 2.0], NotAMinimumError),                             # a maximum
    (1e-200, [1e200, 1.0], SymimplicitError),                         # ∂x/∂a overflows
])
def test_map_fast_path_hands_failures_to_the_sweep(A, bs, error):
    layer = ARGMIN.primitive()
    from symimplicit.lower.batched import _affine_scalar
    fast = _affine_scalar(layer, layer.statement.lower(), None, [0, range(1, 1 + len(bs))])
    assert fast([np.full(len(bs), A), np.array(bs)], [A, *bs]) is None
    with pytest.raises(error) as got:
        layer.map(Scalar(A), bs)
    with pytest.raises(error) as want:
        layer.statement.lower().solve_and_gradient_affine(np.full(len(bs), A), np.array(bs))
    assert type(got.value) is type(want.value) and str(got.value) == str(want.value)


def test_map_fast_path_refuses_a_nonfinite_parameter():
    from symimplicit.errors import NonFiniteError
    layer = ARGMIN.primitive()
    with pytest.raises(NonFiniteError):
        layer.map(Scalar(1.0), [1.0, math.inf])
