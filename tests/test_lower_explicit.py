"""Explicit primitives: primitive(expr, args), fuse(fn, n_args), and the codegen helper."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from symimplicit.errors import DerivationError, DomainError
from symimplicit.lower import fuse, lambdify_many, primitive
from symimplicit.tape import Cos, Exp, Log, Plus, Scalar, Times, backward, trace

x, a, b = sp.symbols("x a b")


def test_primitive_value_and_gradient_match_mpmath():
    expr = sp.exp(-a * x) * sp.sin(b * x) / (1 + x**2)
    f = primitive(expr, (x, a, b))
    point = (0.7, 1.3, -2.1)
    X, A, B = (Scalar(v) for v in point)
    out = f(X, A, B)
    backward(out)
    with mp.workdps(40):
        g = lambda u, v, w: mp.exp(-v * u) * mp.sin(w * u) / (1 + u**2)
        truth = g(*point)
        partials = [mp.diff(g, point, tuple(int(i == j) for i in range(3))) for j in range(3)]
    assert out.value == pytest.approx(float(truth), rel=1e-15)
    for got, want in zip((X.grad, A.grad, B.grad), partials):
        assert got == pytest.approx(float(want), rel=1e-14)
    assert f(*point) == out.value                                # floats in: the same float out
    assert len(trace(out)) == 4                                  # one node over three leaves


def test_primitive_rejects_free_symbols_and_reports_domain():
    with pytest.raises(DerivationError, match="free symbol"):
        primitive(a * x, (x,))
    f = primitive(sp.log(x - a), (x, a))
    with pytest.raises(DomainError, match="x=0.5") as info:
        f(Scalar(0.5), 1.0)
    assert info.value.point == {"x": 0.5, "a": 1.0}


def test_fuse_replaces_a_chain_by_one_node():
    def chain(x, a, b):                                          # exp(cos(ax + b)) · log(x) + x
        return Plus(Times(Exp(Cos(Plus(b, Times(a, x)))), Log(x)), x)

    fused = fuse(chain, 3)
    assert str(fused.args) == "(x, a, b)" and fused.fused_nodes == 10
    vals = (1.7, 0.4, -0.3)
    ref = [Scalar(v) for v in vals]
    backward(chain(*ref))
    ours = [Scalar(v) for v in vals]
    out = fused(*ours)
    backward(out)
    assert len(trace(out)) == 4
    assert out.value == pytest.approx(chain(*vals), rel=1e-15)
    for r, o in zip(ref, ours):
        assert o.grad == pytest.approx(r.grad, rel=1e-14)


def test_fuse_refuses_non_tape_results():
    with pytest.raises(DerivationError, match="not a Scalar"):
        fuse(lambda u: 3.0, 1)


def test_lambdify_many_backends_share_one_call():
    exprs = sp.Matrix([[sp.cos(a * x), sp.sin(a * x)], [1, x]])
    f = lambdify_many(exprs, (x, a))
    assert f(0.5, 2.0) == [math.cos(1.0), math.sin(1.0), 1, 0.5]
    g = lambdify_many(exprs, (x, a), "numpy")
    out = g(np.array([0.5, 1.0]), 2.0)
    assert all(o.shape == (2,) for o in out) and out[2].tolist() == [1.0, 1.0]
    with mp.workdps(30):
        h = lambdify_many([sp.cos(a * x)], (x, a), "mpmath")
        assert abs(h(mp.mpf("0.5"), 2)[0] - mp.cos(1)) < mp.mpf(10) ** -29
    with pytest.raises(DerivationError, match="math backend"):
        lambdify_many([sp.LambertW(x)], (x,))


def test_undefined_partial_fails_in_the_backward_pass_not_the_forward():
    """Reported: primitive(sqrt(x))(Scalar(0.)) raised DomainError in the forward call."""
    f = primitive(sp.sqrt(x), (x,))
    X = Scalar(0.0)
    out = f(X)
    assert out.value == 0.0 == math.sqrt(0.0)                    # the value exists at 0
    with pytest.raises(DomainError, match=r"derivative of Explicit\[sqrt\(x\)\].*x=0.0") as info:
        backward(out)
    assert info.value.point == {"x": 0.0}
    Y = Scalar(4.0)
    backward(f(Y))
    assert Y.grad == 0.25                                        # 1/(2√4), exact


def test_undefined_partial_uses_the_forward_inputs():
    f = primitive(sp.sqrt(x), (x,))
    X = Scalar(0.0)
    out = f(X)
    X.value = 4.0                                                # changed after the forward
    with pytest.raises(DomainError, match="x=0.0"):
        backward(out)


def test_fuse_with_abs_differentiates_as_real():
    """Reported: fuse(lambda x: abs(x)*2, 1) failed (complex Symbols: re/im in the derivative)."""
    fused = fuse(lambda x: abs(x) * 2, 1)
    for v, slope in ((-1.5, -2.0), (0.7, 2.0)):
        X = Scalar(v)
        out = fused(X)
        backward(out)
        assert out.value == 2 * abs(v) and X.grad == slope      # d(2|x|)/dx = 2 sign(x)
    g = primitive(sp.Abs(x) * a, (x, a))                         # user Symbols without real=True
    X, A = Scalar(-3.0), Scalar(0.5)
    backward(g(X, A))
    assert (X.grad, A.grad) == (-0.5, 3.0)


def test_unsupported_functions_are_derivation_errors_naming_the_caller():
    """Reported: fuse(lambda x: x % 3, 1) leaked SymPy's printer ValueError."""
    with pytest.raises(DerivationError, match=r"Fused\[<lambda>\].*math module") as info:
        fuse(lambda x: x % 3, 1)
    assert "numpy or mpmath backend" not in str(info.value)     # primitive() has no backend option
    with pytest.raises(DerivationError, match=r"Explicit\[LambertW\(x\)\].*only backend"):
        primitive(sp.LambertW(x), (x,))


def test_fuse_bad_arguments_are_typed():
    from symimplicit.errors import StatementError

    with pytest.raises(StatementError, match="n_args"):
        fuse(lambda x: x, "one")
    with pytest.raises(StatementError, match="at must be a number"):
        fuse(lambda x: x, 1, at=["abc"])
    with pytest.raises(TypeError, match="takes 1 positional"):
        primitive(sp.sin(x), (x,))(1.0, 2.0)
