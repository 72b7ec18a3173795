"""Implicit layers: warm starts, the backward pass, chains of layers, and every failure mode."""
from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import symimplicit.lower.lu as lu_module

from catalog import BY_NAME
from symimplicit import FixedPoint, Minimize, Root
from symimplicit.errors import (ConvergenceError, DomainError, NonFiniteError, NotAMinimumError,
                                SingularJacobianError, StatementError)
from symimplicit.lower.layers import ImplicitLayer
from symimplicit.tape import Scalar, backward, trace

x, y, a, b, c = sp.symbols("x y a b c")
SEED_FP = FixedPoint(sp.cos(a * x + b), x, (a, b))


# -- the layer object ------------------------------------------------------------------
def test_layer_is_a_tape_function_with_cached_solution():
    layer = SEED_FP.primitive()
    assert isinstance(layer, ImplicitLayer) and layer.statement is SEED_FP
    assert isinstance(layer(1.0, 0.0), float)                    # floats in, float out
    A, B = Scalar(1.0), Scalar(0.0)
    X = layer(A, B)
    assert len(trace(X)) == 3                                    # one node, not 126
    assert X.state is not None and layer.solve(1.0, 0.0) == X.value


def test_backward_never_solves_again(monkeypatch):
    layer = SEED_FP.primitive()
    A, B = Scalar(1.0), Scalar(0.0)
    X = layer(A, B)
    calls = []
    monkeypatch.setattr(layer._solver, "solve", lambda *args: calls.append(args))
    backward(X)
    assert calls == [] and A.grad is not None


def test_vector_backward_is_one_adjoint_solve(monkeypatch):
    problem = BY_NAME["ellipse_projection"]                      # 3 parameters, KKT system of 3
    layer = problem.statement.primitive(**problem.options)
    params = [Scalar(v) for v in problem.values]
    X, Y = layer(*params)
    solves = []
    real_solve = np.linalg.solve
    monkeypatch.setattr(np.linalg, "solve", lambda A, rhs: solves.append(A.shape) or real_solve(A, rhs))
    if lu_module.HAVE_LAPACK:                                    # the forward's LU: getrs only
        real_getrs = lu_module._getrs
        monkeypatch.setattr(lu_module, "_getrs", lambda lu, piv, rhs, **kw:
                            solves.append(lu.shape) or real_getrs(lu, piv, rhs, **kw))
    backward(X + Y)                                              # both outputs: still one vjp call
    assert solves == [(3, 3)]
    assert all(P.grad is not None for P in params)


# -- no warm start: the result is a function of (θ, options) ----------------------------
def test_warm_start_is_refused():
    with pytest.raises(StatementError, match="warm"):
        SEED_FP.primitive(warm_start=True)
    assert SEED_FP.primitive(warm_start=False).solve(1.0, 0.0) == SEED_FP.primitive().solve(1.0, 0.0)


def test_tanh_fixed_point_does_not_depend_on_the_previous_call():
    """Reported: a = 1.5 gave 1.28784 fresh but 0.0 after solving a = 0.5 (a warm start at 0)."""
    statement = FixedPoint(a * sp.tanh(x), x, (a,))
    layer = statement.primitive(x0=1.0)
    fresh = statement.primitive(x0=1.0).solve(1.5)
    mp.mp.dps = 40
    truth = mp.findroot(lambda t: t - mp.mpf(1.5) * mp.tanh(t), 1.3)
    assert fresh == pytest.approx(float(truth), rel=4e-16)
    layer.solve(0.5)                                             # x = 0 there
    assert layer.solve(1.5) == fresh


def test_per_call_x0_overrides_the_start():
    layer = Root(x**2 - a, x, (a,)).primitive(x0=1.0)            # two roots ±√a
    assert layer.solve(4.0) == 2.0
    assert layer.solve(4.0, x0=-1.0) == -2.0                     # this call only
    assert layer(Scalar(4.0), x0=-3.0).value == -2.0
    assert layer.solve(4.0) == 2.0


def test_sin_branch_is_the_principal_one_from_zero():
    """Reported: a warm start from near the fold of sin x = a jumped to x = -175.4 (branch -56)."""
    statement = Root(sp.sin(x) - a, x, (a,))
    layer = statement.primitive(x0=0)
    for value in (0.5, 0.99, 0.999999, 0.5):
        truth = float(mp.asin(value))                            # the principal branch
        kappa = value / (truth * math.sqrt(1 - value**2))        # |a / (x F_x)|: 1 near a = 1/2, 560 at the fold
        assert layer.solve(value) == pytest.approx(truth, rel=4 * kappa * 2.0**-53)


def test_per_call_x0_and_rejected_solutions_change_nothing_later():
    """Reported: solve(4, x0=3) made the next solve(4) return +2 although the layer's x0 is -1."""
    layer = Root(x**2 - a, x, (a,)).primitive(x0=-1.0)
    assert layer.solve(4.0, x0=3.0) == 2.0                       # this call only
    assert layer.solve(4.0) == -2.0 == -math.sqrt(4.0)           # the layer's branch
    assert layer(Scalar(9.0), x0=5.0).value == 3.0
    assert layer.solve(9.0) == -3.0
    layer = Minimize(sp.cos(x) + a * x, x, (a,)).primitive(x0=3.0)   # minima of cos at odd π
    assert layer.solve(0.0) == pytest.approx(math.pi, rel=1e-15)
    with pytest.raises(NotAMinimumError):
        layer.solve(0.0, x0=0.01)                                # x = 0 is a maximum
    assert layer.solve(0.0) == pytest.approx(math.pi, rel=1e-15)


def test_backward_uses_the_forward_parameters():
    """Reported: changing A.value between forward and backward changed the gradient."""
    layer = SEED_FP.primitive()
    A, B = Scalar(1.0), Scalar(0.0)
    X = layer(A, B)
    A.value = 2.0
    backward(X)
    with mp.workdps(40):
        xa = lambda u: mp.findroot(lambda v: v - mp.cos(u * v), 0.7)
        truth = mp.diff(xa, mp.mpf(1))
    assert A.grad == pytest.approx(float(truth), rel=1e-14)


def test_vector_backward_uses_the_forward_parameters():
    problem = BY_NAME["circle_exp"]
    layer = problem.statement.primitive(x0=(1.0, 1.5))
    r, k = Scalar(2.0), Scalar(0.5)
    X, Y = layer(r, k)
    r.value, k.value = 3.0, 0.1
    backward(X)
    with mp.workdps(40):
        def xr(rv):
            return mp.findroot(lambda u, v: (u**2 + v**2 - rv**2, v - mp.exp(mp.mpf(0.5) * u)),
                               (1.0, 1.5))[0]
        truth = mp.diff(xr, mp.mpf(2))
    assert r.grad == pytest.approx(float(truth), rel=1e-13)


@pytest.mark.parametrize("bad, match", [("1", "must be a real number"),
                                        (None, "must be a real number"),
                                        (np.array([1.0, 2.0]), "is an array.*statement.lower"),
                                        ([1.0], "is an array.*statement.lower")])
def test_bad_parameter_values_are_statement_errors(bad, match):
    """Reported: L("1", 0.), L(None, 0.) raised TypeError from t - t; an array, numpy's ValueError."""
    layer = SEED_FP.primitive()
    with pytest.raises(StatementError, match="parameter a " + match):
        layer(bad, 0.0)
    with pytest.raises(StatementError, match="parameter a " + match):
        layer.solve(bad, 0.0)
    with pytest.raises(StatementError, match="parameter b " + match):
        layer(Scalar(0.0), bad)                                  # on the tape, second parameter


def test_numpy_scalars_are_numbers():
    layer = SEED_FP.primitive()
    assert layer(np.float64(1.0), np.int64(0)) == layer(1.0, 0.0)


@pytest.mark.parametrize("options, match", [
    ({"method": "foo"}, r"unknown method 'foo'.*'newton'"),
    ({"method": 3}, "unknown method"),
    ({"x0": "abc"}, "x0 must be a number"),
    ({"tol": "abc"}, "tol must be a number"),
    ({"tol": 1.0}, "0 < tol"), ({"tol": 0.0}, "0 < tol"), ({"tol": -1e-8}, "0 < tol"),
    ({"tol": math.nan}, "0 < tol"),
    ({"max_iter": 0}, "max_iter"), ({"max_iter": "x"}, "max_iter"), ({"max_iter": 2.5}, "max_iter"),
    ({"bracket": "ab"}, "bracket must be two numbers"), ({"bracket": (1, 0)}, "lo < hi"),
    ({"bracket": (0, math.inf)}, "finite"),
])
def test_bad_layer_options_are_statement_errors(options, match):
    with pytest.raises(StatementError, match=match):
        SEED_FP.primitive(**options)


def test_per_call_bad_x0_is_a_statement_error():
    with pytest.raises(StatementError, match="x0 must be a number"):
        SEED_FP.primitive().solve(1.0, 0.0, x0="abc")


def test_loose_tolerance_is_still_accepted_for_studies():
    root = SEED_FP.primitive(tol=1e-3, method="iterate").solve(1.0, 0.0)
    assert root == pytest.approx(0.7390851332151607, rel=1e-2)


def test_bracket_is_honoured_by_the_linear_method():
    """Reported: method 'linear' ignored the bracket and returned x = 2 outside (5, 6)."""
    statement = Root(a * x - b, x, (a, b))
    with pytest.raises(ConvergenceError, match=r"no root in the bracket \[5.0, 6.0\].*x = 2.0"):
        statement.primitive(bracket=(5, 6)).solve(1.0, 2.0)
    assert statement.primitive(bracket=(1, 3)).solve(1.0, 2.0) == 2.0    # b/a inside: returned


# -- chains of layers -------------------------------------------------------------------------
def _composed_mp(e, M):
    """Kepler E(e, M) -> Lambert w(E) -> fixed point x = cos(w x + E): at 50 digits."""
    E = mp.findroot(lambda u: u - e * mp.sin(u) - M, M)
    w = mp.findroot(lambda u: u * mp.exp(u) - E, 1)
    return mp.findroot(lambda u: u - mp.cos(w * u + E), 0.5)


def test_chain_of_layers_matches_finite_differences_of_the_composed_map():
    kepler = BY_NAME["kepler"].statement.primitive(x0=1.1)
    lambert = BY_NAME["lambert_w"].statement.primitive(x0=1.0)
    fixed = SEED_FP.primitive()
    e, M = Scalar(0.3), Scalar(1.1)
    E = kepler(e, M)
    out = fixed(lambert(E), E)                                   # a layer's output feeds two layers
    backward(out)
    with mp.workdps(50):
        h = mp.mpf("1e-15")
        e0, M0 = mp.mpf("0.3"), mp.mpf("1.1")
        truth = _composed_mp(e0, M0)
        d_e = (_composed_mp(e0 + h, M0) - _composed_mp(e0 - h, M0)) / (2 * h)
        d_M = (_composed_mp(e0, M0 + h) - _composed_mp(e0, M0 - h)) / (2 * h)
    assert out.value == pytest.approx(float(truth), rel=1e-14)
    assert e.grad == pytest.approx(float(d_e), rel=1e-12)
    assert M.grad == pytest.approx(float(d_M), rel=1e-12)


def test_chain_through_vector_layer():
    circle = BY_NAME["circle_exp"].statement.primitive(x0=(1.0, 1.5))
    argmin = BY_NAME["seed_argmin"].statement.primitive()
    r, k = Scalar(2.0), Scalar(0.5)
    X, Y = circle(r, k)
    out = argmin(Y, X)                                           # argmin of Y x² + X x = -X/(2Y)

    def composed(rv, kv):
        with mp.workdps(40):
            s = mp.findroot(lambda u, v: (u**2 + v**2 - rv**2, v - mp.exp(kv * u)), (1.0, 1.5))
            return -s[0] / (2 * s[1])

    backward(out)
    with mp.workdps(40):
        h = mp.mpf("1e-12")
        d_r = (composed(2 + h, mp.mpf(0.5)) - composed(2 - h, mp.mpf(0.5))) / (2 * h)
    assert out.value == pytest.approx(float(composed(mp.mpf(2), mp.mpf(0.5))), rel=1e-14)
    assert r.grad == pytest.approx(float(d_r), rel=1e-12)


# -- failure modes -------------------------------------------------------------------------------
def test_convergence_error_carries_iterations_residual_point():
    layer = Root(x**2 + a, x, (a,)).primitive(x0=0.5)            # no real root
    with pytest.raises(ConvergenceError) as info:
        layer.solve(1.0)
    err = info.value
    assert err.iterations >= 1 and err.residual >= 1.0 and err.point["a"] == 1.0 and "x" in err.point


def test_convergence_error_at_max_iter():
    layer = SEED_FP.primitive(method="iterate", max_iter=5)
    with pytest.raises(ConvergenceError, match="5 iteration") as info:
        layer.solve(1.0, 0.0)
    assert info.value.iterations == 5


def test_bracket_without_sign_change():
    layer = BY_NAME["colebrook"].statement.primitive(bracket=(0.05, 0.1))
    with pytest.raises(ConvergenceError, match="same sign"):
        layer.solve(1e-4, 1e5)


def test_singular_jacobian_at_a_double_root():
    with pytest.raises(SingularJacobianError, match="singular") as info:
        Root((x - a)**2, x, (a,)).primitive().solve(1.0)
    assert info.value.point["a"] == 1.0


def test_singular_jacobian_at_a_fold_of_the_fixed_point():
    u = 2.0                                                      # 1 + a sin(ax + b) = 0 at the fixed point
    A, X = -1 / math.sin(u), math.cos(u)
    layer = SEED_FP.primitive(x0=X + 1e-3)
    with pytest.raises(SingularJacobianError):
        layer(Scalar(A), Scalar(u - A * X))


def test_singular_jacobian_vector():
    layer = Root([x * y - a, x - y], (x, y), (a,)).primitive()
    with pytest.raises(SingularJacobianError, match="cond"):
        layer.solve(0.0, x0=(0.0, 0.0))


def test_domain_error_names_the_point():
    layer = BY_NAME["colebrook"].statement.primitive(x0=0.02)
    with pytest.raises(DomainError, match="Re=-100000.0") as info:
        layer.solve(1e-4, -1e5)                                  # log10 of a negative number
    assert info.value.point["Re"] == -1e5


def test_complex_value_is_a_domain_error():
    with pytest.raises(DomainError, match="complex"):
        Root(x**sp.Rational(1, 3) - a, x, (a,)).primitive(x0=-1.0).solve(1.0)


def test_domain_is_respected_by_the_line_search():
    layer = Root(sp.log(x) - a, x, (a,)).primitive(x0=100.0)     # a full Newton step goes negative
    assert layer.solve(0.0) == 1.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_parameters(bad):
    layer = SEED_FP.primitive()
    with pytest.raises(NonFiniteError, match="parameter a"):
        layer(Scalar(bad), Scalar(0.0))


def test_maximum_is_not_a_minimum():
    with pytest.raises(NotAMinimumError, match="maximum"):
        Minimize(-a * x**2 + b * x, x, (a, b)).primitive().solve(1.0, 1.0)


def test_saddle_is_not_a_minimum():
    with pytest.raises(NotAMinimumError, match="saddle"):
        Minimize(x**2 - y**2 + a * x + b * y, (x, y), (a, b)).primitive().solve(1.0, 1.0)


def test_constrained_maximum_is_not_a_minimum():
    problem = BY_NAME["ellipse_projection"]                      # the farthest point of the ellipse
    layer = problem.statement.primitive(x0=(-0.9, -0.2))
    with pytest.raises(NotAMinimumError, match="reduced Hessian"):
        layer.solve(*problem.values)


def test_bad_options():
    with pytest.raises(StatementError, match="fixed-point map"):
        Root(x - a, x, (a,)).primitive(method="anderson")
    with pytest.raises(StatementError, match="unknown method"):
        Root(x - a, x, (a,)).primitive(method="secant")
    with pytest.raises(StatementError, match="scalar unknown"):
        BY_NAME["circle_exp"].statement.primitive(bracket=(0, 1))
    with pytest.raises(TypeError, match="parameter"):
        SEED_FP.primitive()(1.0)


# -- the vectorised backend ---------------------------------------------------------------------
def test_sweep_agrees_with_the_layer():
    problem = BY_NAME["kepler"]
    lowered = problem.statement.lower(backend="numpy", x0=1.0)
    layer = problem.statement.primitive(x0=1.0)
    e, M = np.meshgrid(np.linspace(0, 0.9, 7), np.linspace(0.1, 3.0, 5))
    X, G = lowered.solve(e=e, M=M), lowered.gradient(e, M)
    assert X.shape == e.shape and G.shape == e.shape + (2,)
    for idx in np.ndindex(e.shape):
        assert X[idx] == pytest.approx(layer.solve(e[idx], M[idx]), rel=1e-15, abs=1e-300)
        Pe, PM = Scalar(e[idx]), Scalar(M[idx])
        backward(layer(Pe, PM))
        assert G[idx] == pytest.approx([Pe.grad, PM.grad], rel=1e-13)


def test_sweep_names_the_failing_indices():
    lowered = Root(x**2 - a, x, (a,)).lower(x0=1.0)
    with pytest.raises(ConvergenceError, match=r"flat indices \[1, 3\]"):
        lowered.solve(np.array([4.0, -1.0, 9.0, -2.0]))


def test_sweep_gradient_outside_the_domain_is_a_typed_error():
    """Reported: ∂x/∂a of x = √a at a = 0 came back as inf with only a numpy RuntimeWarning."""
    lowered = Root(x - sp.sqrt(a), x, (a,)).lower()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                           # no RuntimeWarning either
        with pytest.raises(DomainError, match=r"∂F/∂θ is not finite.*flat indices \[0\].*a=0.0"):
            lowered.gradient(np.array([0.0, 1.0]))
        G = lowered.gradient(np.array([4.0, 1.0]))
    assert G[:, 0] == pytest.approx([1 / (2 * math.sqrt(4.0)), 0.5], rel=1e-15)   # 1/(2√a)


def test_sweep_singular_derivative_is_a_typed_error(monkeypatch):
    lowered = Root(x**3 + a * x - b, x, (a, b)).lower(x0=1.0)
    real = lowered._jacobian
    monkeypatch.setattr(lowered, "_jacobian", lambda z, th: real(z, th) * np.array([[[0.0]], [[1.0]]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SingularJacobianError, match=r"flat indices \[0\]"):
            lowered.gradient(np.array([1.0, 1.0]), np.array([2.0, 2.0]))


def test_sweep_solve_and_gradient_from_one_solve():
    lowered = BY_NAME["kepler"].statement.lower(x0=1.0)
    e, M = np.array([0.1, 0.5]), np.array([1.0, 2.0])
    X, G = lowered.solve_and_gradient(e, M)
    assert np.array_equal(X, lowered.solve(e, M)) and np.array_equal(G, lowered.gradient(e, M))
    assert G[:, 1] == pytest.approx(1 / (1 - e * np.cos(X)), rel=1e-15)   # ∂E/∂M = 1/(1 - e cos E)


@pytest.mark.parametrize("call, error, match", [
    (lambda s: s.lower(method="newton"), StatementError, "does not take 'method'"),
    (lambda s: s.lower(backend="mpmath"), StatementError, "unknown backend 'mpmath'"),
    (lambda s: s.lower(tol=2.0), StatementError, "0 < tol"),
    (lambda s: s.lower(x0="abc"), StatementError, "x0 must be a number"),
    (lambda s: s.lower(max_iter=0), StatementError, "max_iter"),
    (lambda s: s.lower().solve("a"), StatementError, "parameter a must be a number"),
    (lambda s: s.lower().solve("a", "b"), TypeError, "1 parameter array"),
    (lambda s: s.lower().solve([1.0, 2.0], x0=[1.0, 2.0, 3.0]), StatementError, "x0 of shape"),
])
def test_sweep_bad_options_are_typed_errors(call, error, match):
    from symimplicit.errors import SymimplicitError

    with pytest.raises(error, match=match) as info:
        call(Root(x**2 - a, x, (a,)))
    assert isinstance(info.value, SymimplicitError)


def test_sweep_reuses_the_compiled_expressions():
    from symimplicit.lower.compiled import compile_statement

    statement = Root(x**2 - a * sp.cos(x), x, (a,))
    lowered = statement.lower()
    assert lowered.compiled is compile_statement(statement)
    assert statement.lower()._fj is lowered._fj                  # lowered to NumPy once


def test_sweep_vector_shapes():
    lowered = BY_NAME["circle_exp"].statement.lower(x0=(1.0, 1.5))
    r = np.array([1.5, 2.0, 2.5])
    assert lowered.solve(r, 0.5).shape == (3, 2)
    assert lowered.gradient(r, 0.5).shape == (3, 2, 2)


def test_seed_fit_recovers_true_a():
    """The seed's fit (random.seed(314), 100 argmin layers) with the derived primitive."""
    import random

    layer = BY_NAME["seed_argmin"].statement.primitive()
    random.seed(314)
    truea = 1 + random.random()
    bs = [2 * random.random() - 1 for _ in range(100)]
    xs = [layer.solve(truea, bi) for bi in bs]
    ahat = 1.5
    for _ in range(200):
        sa = Scalar(ahat)
        backward(sum((layer(sa, bi) - xi) ** 2 for bi, xi in zip(bs, xs)))
        ahat -= 0.05 * sa.grad
        if abs(sa.grad) < 1e-14:
            break
    assert truea == 1.1964312751315314
    assert abs(ahat - truea) <= 1e-10


# -- near the fold of x = a tanh x: ill-conditioned but solvable, then singular ----------------
TANH_FP = FixedPoint(a * sp.tanh(x), x, (a,))


def _tanh_root(a_value):
    """(x*, κ) at 40 digits: the positive root of x - a tanh x and κ = (|x|+|a tanh x|)/(|x| |F_x|)."""
    with mp.workdps(40):
        A = mp.mpf(a_value)
        r = mp.findroot(lambda u: u - A * mp.tanh(u), mp.sqrt(3 * (A - 1)))
        kappa = (abs(r) + abs(A * mp.tanh(r))) / (abs(r) * abs(1 - A * mp.sech(r) ** 2))
        return float(r), float(kappa)


@pytest.mark.parametrize("a_value, x0", [(1.1000066609998977, 1.0), (1.009993883991003, 1.0),
                                         (1.0100066609998977, "root"), (1.010006, "root")])
def test_reported_floor_points_converge(a_value, x0):
    """Reported: the layer and the sweep raised ConvergenceError at already converged points."""
    root, kappa = _tanh_root(a_value)
    start = root if x0 == "root" else x0
    bound = 4 * kappa * 2.0 ** -53 * root
    for method in ("newton", "iterate", "anderson"):                 # iterate: no final Newton step
        value = TANH_FP.primitive(x0=start, method=method).solve(a_value)
        assert abs(value - root) <= (4 if method == "iterate" else 1) * bound, method
    value = float(TANH_FP.lower(backend="numpy").solve(a_value, x0=start))
    assert abs(value - root) <= bound


@pytest.mark.parametrize("k", range(1, 10))
def test_fold_sweep_accurate_to_kappa_eps(k):
    """a = 1 + 10⁻ᵏ: κ ≈ 10ᵏ, the float64 root is right to a small multiple of κ·2⁻⁵³."""
    a_value = 1 + 10.0 ** -k
    root, kappa = _tanh_root(a_value)
    bound = 4 * kappa * 2.0 ** -53 * root
    for start in (1.0, root):
        A = Scalar(a_value)
        X = TANH_FP.primitive(x0=start)(A)
        assert abs(X.value - root) <= bound, start
        backward(X)                                              # the gradient exists (κ < 1e14)
        assert math.isfinite(A.grad) and A.grad > 0
    lowered = TANH_FP.lower(backend="numpy", x0=1.0)
    assert abs(float(lowered.solve(a_value)) - root) <= bound
    swept = lowered.solve(np.array([a_value, a_value]), x0=np.array([1.0, root]))
    assert np.all(np.abs(swept - root) <= bound)


@pytest.mark.parametrize("x0", [0.0, 1.0, -0.5])
def test_fold_itself_is_singular(x0):
    """a = 1: the only root is x = 0 where F_x = 0 (a triple root): singular from any start."""
    with pytest.raises(SingularJacobianError):
        TANH_FP.primitive(x0=x0).solve(1.0)
    with pytest.raises(SingularJacobianError):
        TANH_FP.primitive(x0=x0, method="anderson").solve(1.0)
    with pytest.raises(SingularJacobianError):
        TANH_FP.lower(backend="numpy", x0=x0).solve(1.0)


def test_zero_fixed_point_beyond_the_fold():
    """a > 1: x = 0 is a fixed point too (F_x = 1 - a ≠ 0); the start decides which one."""
    assert TANH_FP.primitive(x0=0.0).solve(2.0) == 0.0
    assert TANH_FP.lower(backend="numpy", x0=0.0).solve(2.0) == 0.0


def test_a_kink_from_text_lowers_and_differentiates():
    # x = 1 + |a x|/2 with real symbols from text: for a, x > 0, x = 1/(1 - a/2),
    # dx/da = (1/2)/(1 - a/2)²  (the noise scale of sign(a x) must not block lowering)
    from symimplicit import parse

    layer = parse("x - abs(a*x)/2 - 1", unknown="x").primitive(x0=1.0)
    A = Scalar(0.5)
    X = layer(A)
    backward(X)
    assert X.value == pytest.approx(1 / (1 - 0.25), rel=1e-15)
    assert A.grad == pytest.approx(0.5 / (1 - 0.25) ** 2, rel=1e-15)


def test_newton_closing_in_linearly_on_a_triple_root_is_singular():
    # x³ = a at a = 0: Newton shrinks by 2/3 a step and never meets the tolerance;
    # the root is triple, ∂F/∂x = 3x² = 0 there, and dx/da = 1/(3x²) does not exist
    from symimplicit.errors import SingularJacobianError

    x, a = sp.symbols("x a")
    layer = Root(x**3 - a, x, (a,)).primitive(x0=1.0)
    with pytest.raises(SingularJacobianError, match="multiple root"):
        layer.solve(0.0)
    assert layer.solve(8.0) == pytest.approx(2.0, rel=1e-15)   # a simple root is fine
