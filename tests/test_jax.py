"""statement.to_jax(): JAX derivatives of every order agree with mpmath's solution map.

Truth as in test_higher_order: mpmath.diff of the high-precision solve, no derived formula.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import sympy as sp

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from symimplicit import FixedPoint, Root, verify  # noqa: E402
from symimplicit.errors import ConvergenceError, StatementError  # noqa: E402
from symimplicit.precision.jax_target import jax_function  # noqa: E402
from test_higher_order import CASES, IDS, KKT, SCALAR, _orders, truth  # noqa: E402

x, a, b = sp.symbols("x a b")


def _function(statement, x0):
    return statement.to_jax(**({} if x0 is None else {"x0": x0}))


@pytest.mark.parametrize("statement,theta,x0", CASES, ids=IDS)
def test_jax_hessian_and_third_derivatives_match_mpmath(statement, theta, x0):
    f = _function(statement, x0)
    start = x0 if x0 is not None else (0.0,)
    k = len(statement.unknowns)
    for i in range(k):
        fi = (lambda s, t, i=i: f(s, t)[i]) if k > 1 else f
        value = float(fi(*theta))
        assert value == pytest.approx(float(truth(statement, theta, (0, 0), i, start)), rel=1e-15)
        H = jax.jit(jax.hessian(fi, argnums=(0, 1)))(*theta)
        scale = max(1.0, max(abs(float(H[j][m])) for j in range(2) for m in range(2)))
        for j in range(2):
            for m in range(2):
                want = float(truth(statement, theta, _orders(j, m), i, start))
                assert abs(float(H[j][m]) - want) <= 1e-13 * scale
        T = jax.jacfwd(jax.hessian(fi, argnums=(0, 1)), argnums=(0, 1))(*theta)
        for j, m, n in [(0, 0, 0), (0, 1, 1), (1, 1, 1)]:
            want = float(truth(statement, theta, _orders(j, m, n), i, start))
            assert abs(float(T[j][m][n]) - want) <= 1e-11 * max(1.0, abs(want))


def test_hessian_jacfwd_jacrev_and_jacrev_jacfwd_agree():
    f = SCALAR.to_jax()

    def g(theta):
        return f(theta[0], theta[1])

    theta = jnp.array([1.0, 0.0])
    H = jax.hessian(g)(theta)
    fr = jax.jacfwd(jax.jacrev(g))(theta)
    rf = jax.jacrev(jax.jacfwd(g))(theta)
    assert jnp.allclose(H, fr, rtol=1e-15, atol=0) and jnp.allclose(H, rf, rtol=1e-15, atol=0)
    assert float(H[0, 1]) == pytest.approx(float(H[1, 0]), rel=1e-15)


def test_vmap_and_jit_give_the_one_by_one_values():
    f = KKT.to_jax(x0=(1.0, 1.0))
    As, Bs = jnp.array([1.5, 1.4, 1.6]), jnp.array([0.7, 0.75, 0.65])
    batched = jax.jit(jax.vmap(jax.grad(lambda s, t: f(s, t)[0], argnums=(0, 1))))(As, Bs)
    for n in range(3):
        one = jax.grad(lambda s, t: f(s, t)[0], argnums=(0, 1))(float(As[n]), float(Bs[n]))
        assert float(batched[0][n]) == pytest.approx(float(one[0]), rel=1e-14)
        assert float(batched[1][n]) == pytest.approx(float(one[1]), rel=1e-14)


def test_no_root_is_an_error_on_the_host_and_nan_under_jit():
    f = Root(x ** 2 + a, unknown=x, params=(a,)).to_jax(x0=1.0)   # x² = -a: no real root for a > 0
    with pytest.raises(ConvergenceError, match="no finite root at a=1.0"):
        f(1.0)
    assert bool(jnp.isnan(jax.jit(f)(1.0)))
    assert float(f(-4.0)) == pytest.approx(2.0, rel=1e-15)


def test_arguments_are_checked():
    f = SCALAR.to_jax()
    with pytest.raises(StatementError, match="takes the 2 parameter"):
        f(1.0)
    with pytest.raises(StatementError, match="x0"):
        SCALAR.to_jax(x0=(1.0, 2.0, 3.0))


def test_symbol_names_cannot_change_the_generated_code():
    c, j = sp.Symbol("cos"), sp.Symbol("jnp")
    st = FixedPoint(sp.cos(c * x + j), unknown=x, params=(c, j))
    f = st.to_jax()
    assert float(f(1.0, 0.0)) == pytest.approx(float(truth(SCALAR, (1.0, 0.0), (0, 0), 0, (0.0,))),
                                               rel=1e-15)
    assert float(jax.grad(f)(1.0, 0.0)) == pytest.approx(-0.29747434150983226, rel=1e-14)


def test_verify_judges_a_to_jax_function_and_a_plain_jax_function():
    f = SCALAR.to_jax()
    report = verify(f, at={a: 1, b: 0}, richardson=False)
    assert report.ok and {r.kind for r in report.rows} == {"solution", "gradient", "hessian"}
    assert len([r for r in report.rows if r.kind == "hessian"]) == 3

    @jax_function
    def unrolled(s, t):                  # 12 iterations of x ← cos(sx + t): a few digits only
        z = 0.0
        for _ in range(12):
            z = jnp.cos(s * z + t)
        return z

    bad = verify(unrolled, against=SCALAR, at={a: 1, b: 0}, richardson=False)
    assert not bad.ok and bad.worst.rel_error > 1e-6
    jitted = verify(jax.jit(f), against=SCALAR, at={a: 1, b: 0}, richardson=False)
    assert jitted.ok


def test_the_core_imports_without_jax_and_to_jax_names_the_extra():
    code = ("import sys; sys.modules['jax'] = None\n"
            "import sympy as sp, symimplicit\n"
            "from symimplicit import FixedPoint\n"
            "from symimplicit.errors import MissingDependencyError\n"
            "x, a = sp.symbols('x a')\n"
            "try:\n"
            "    FixedPoint(sp.cos(a*x), unknown=x, params=(a,)).to_jax()\n"
            "except MissingDependencyError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'symimplicit[jax]'" in out.stdout
