"""Rolled systems (symimplicit.lower.rolled): repeated row patterns evaluated as arrays.

Every number is compared with SymPy's own evaluation of the rows and of ``sympy.diff`` of
them, or with an mpmath solve at 40 digits, never with the entry-wise lowering."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import FixedPoint, Root
from symimplicit.errors import DerivationError, DomainError, SingularJacobianError
from symimplicit.lower.compiled import CompiledStatement
from symimplicit.lower.rolled import ROLL_FROM, roll
from symimplicit.lower.rounding import rounding_scale
from symimplicit.tape import Scalar, backward

N = ROLL_FROM + 4


def symbols(n):
    return list(sp.symbols(f"z1:{n + 1}", real=True)), list(sp.symbols(f"u1:{n + 1}", real=True))


def family(kind: str, n: int, seed: int):
    """Rows of one of several structures, with exact rational coefficients."""
    rng = np.random.default_rng(seed)
    z, u = symbols(n)
    a = sp.Symbol("a", real=True)

    def coeff():
        return sp.Rational(int(rng.integers(-40, 41)), int(rng.integers(40, 120)))

    W = [[coeff() for _ in range(n)] for _ in range(n)]
    if kind == "tanh cell":                                          # z - tanh(Wz + u)
        rows = [z[i] - sp.tanh(sp.Add(*[W[i][j] * z[j] for j in range(n)], u[i])) for i in range(n)]
        return rows, z, u
    if kind == "affine":                                             # z - (Mz + u)
        rows = [z[i] - sp.Add(*[W[i][j] * z[j] for j in range(n)], u[i]) for i in range(n)]
        return rows, z, u
    if kind == "heat":                                               # tridiagonal, sin source
        rows = [2 * z[i] - (z[i - 1] if i else 0) - (z[i + 1] if i < n - 1 else 0)
                - sp.Rational(1, 10) * sp.sin(z[i] + u[i]) for i in range(n)]
        return rows, z, u
    if kind == "shared parameter":                                   # a·tanh, a in every row
        rows = [z[i] - a * sp.tanh(sp.Add(*[W[i][j] * z[j] for j in range(n)], u[i]))
                for i in range(n)]
        return rows, z, u + [a]
    if kind == "floats per row":                                     # a rounded constant per row
        c = [sp.Float(float(rng.uniform(0.5, 2.0)), 17) for _ in range(n)]
        rows = [z[i] - sp.exp(-c[i] * z[i] ** 2) * sp.Rational(1, 4)
                - sp.atan(sp.Add(*[W[i][j] * z[j] for j in range(n)]) + u[i]) / 3
                for i in range(n)]
        return rows, z, u
    raise ValueError(kind)


KINDS = ["tanh cell", "affine", "heat", "shared parameter", "floats per row"]


def exact(rows, z, theta, v):
    """F, ∂F/∂z, ∂F/∂θ: SymPy's own diff of the rows, evaluated by mpmath at 30 digits."""
    symbols_ = list(z) + list(theta)
    J = sp.Matrix(rows).jacobian(symbols_)
    f = sp.lambdify(symbols_, [sp.Matrix(rows), J], modules="mpmath")
    with mp.workdps(30):
        Fm, Jm = f(*[mp.mpf(float(x)) for x in v])
        F = np.array([float(x) for x in Fm])
        JJ = np.array([[float(Jm[i, j]) for j in range(Jm.cols)] for i in range(Jm.rows)])
    return F, JJ[:, :len(z)], JJ[:, len(z):]


def noise_reference(rows, inputs, v):
    """N(F) of the rows as written: ``rounding_scale`` is a SymPy expression, evaluated by mpmath."""
    f = sp.lambdify(inputs, [rounding_scale(r).doit() for r in rows], modules="mpmath")
    with mp.workdps(30):
        return np.array([float(x) for x in f(*[mp.mpf(float(x)) for x in v])])


@settings(max_examples=6, deadline=None)
@given(kind=st.sampled_from(KINDS), seed=st.integers(0, 10_000), n=st.integers(ROLL_FROM, ROLL_FROM + 1))
def test_rolled_values_equal_sympys(kind, seed, n):
    rows, z, theta = family(kind, n, seed)
    plan = roll(rows, z, theta)
    assert plan is not None and plan.groups <= 3
    rng = np.random.default_rng(seed + 1)
    v = rng.uniform(-0.6, 0.6, n + len(theta))
    F0, J0, P0 = exact(rows, z, theta, v)
    F, J, NF = plan.with_noise(v)
    scale = 1.0 + np.abs(J0).max()
    assert np.abs(F - F0).max() <= 4e-16 * scale * n
    assert np.abs(J - J0).max() <= 4e-16 * scale
    assert np.abs(plan.param_jacobian(v) - P0).max() <= 4e-16 * scale
    lam = rng.standard_normal(n)
    assert np.abs(plan.param_vjp(v, lam) - P0.T @ lam).max() <= 1e-14 * scale * n
    F1, J1 = plan.residual_jacobian(v)
    assert np.array_equal(F1, F) and np.array_equal(J1, J) and np.array_equal(plan.residual(v), F)
    N0 = noise_reference(rows, list(z) + list(theta), v)   # the running error bound, within 2x
    assert np.all(NF >= 0.5 * N0) and np.all(NF <= 2.0 * N0 + 1e-300)


@settings(max_examples=6, deadline=None)
@given(kind=st.sampled_from(KINDS), seed=st.integers(0, 10_000))
def test_change_bound_bounds_the_jacobian_change(kind, seed):
    rows, z, theta = family(kind, N, seed)
    plan = roll(rows, z, theta)
    rng = np.random.default_rng(seed)
    v = rng.uniform(-0.5, 0.5, N + len(theta))
    w = v.copy()
    w[:N] += rng.uniform(-0.1, 0.1, N)
    J0 = exact(rows, z, theta, v)[1]
    J1 = exact(rows, z, theta, w)[1]
    bound = plan.change_bound(plan.partials(v), plan.partials(w))
    assert np.all(bound >= np.abs(J1 - J0).sum(axis=1) * (1 - 1e-12) - 1e-15)


def test_no_rolling_without_repetition_or_below_the_threshold():
    z, u = symbols(N)
    distinct = [z[i] ** (i + 2) - u[i] * z[(i + 1) % N] for i in range(N)]    # a pattern per row
    assert roll(distinct, z, u) is None
    small_rows, small_z, small_u = family("tanh cell", ROLL_FROM - 1, 0)
    assert roll(small_rows, small_z, small_u) is None


def test_one_pattern_for_rows_sympy_wrote_with_either_sign():
    rows, z, u = family("tanh cell", N, 3)       # tanh(-L) comes out as -tanh(L) in some rows
    signs = {r.args[0].could_extract_minus_sign() for r in rows if r.is_Add}
    plan = roll(rows, z, u)
    assert plan.groups == 1 and len(signs) >= 1


def test_domain_errors_are_named_as_entry_by_entry():
    z, u = symbols(N)
    rows = [z[i] - sp.log(sp.Add(*[z[j] for j in range(N)]) + u[i]) for i in range(N)]
    c = CompiledStatement(Root(rows, z, u))
    assert c.rolled is not None
    with pytest.raises(DomainError, match="outside its domain"):
        c.fj(np.full(N, -1.0), tuple([0.5] * N))                  # log of a negative sum


def test_a_function_the_math_module_lacks_is_refused_at_construction():
    z, u = symbols(N)
    g = sp.Function("g")
    rows = [z[i] - g(sp.Add(*z) + u[i]) for i in range(N)]
    with pytest.raises(DerivationError, match="g"):
        CompiledStatement(Root(rows, z, u))


def mp_deq(W, u, digits=40):
    """z = tanh(Wz + u) and dΣz/du by mpmath at ``digits`` (Newton, then the adjoint solve)."""
    with mp.workdps(digits):
        n = len(u)
        Wm, um = mp.matrix(W.tolist()), mp.matrix(list(u))
        zm = mp.matrix([0] * n)
        for _ in range(60):
            pre = Wm * zm + um
            F = zm - mp.matrix([mp.tanh(p) for p in pre])
            Jm = mp.eye(n) - mp.diag([1 - mp.tanh(p) ** 2 for p in pre]) * Wm
            zm = zm - mp.lu_solve(Jm, F)
        pre = Wm * zm + um
        Jm = mp.eye(n) - mp.diag([1 - mp.tanh(p) ** 2 for p in pre]) * Wm
        lam = mp.lu_solve(Jm.T, mp.matrix([1] * n))
        grad = [(1 - mp.tanh(pre[i]) ** 2) * lam[i] for i in range(n)]   # -λᵀ ∂F/∂u
        return [float(v) for v in zm], [float(g) for g in grad]


@pytest.mark.parametrize("n", [ROLL_FROM, 24])
def test_deq_layer_against_mpmath(n):
    rng = np.random.default_rng(n)
    W = np.round(0.5 * rng.standard_normal((n, n)) / math.sqrt(n) * 2 ** 20) / 2 ** 20   # exact
    z, u = symbols(n)
    rows = [sp.tanh(sp.Add(*[sp.Rational(int(W[i, j] * 2 ** 20), 2 ** 20) * z[j]
                             for j in range(n)], u[i])) for i in range(n)]
    layer = FixedPoint(rows, z, u).primitive()
    assert layer.compiled.rolled is not None and layer.method == "newton"
    values = rng.uniform(-0.3, 0.3, n)
    U = [Scalar(float(v)) for v in values]
    out = layer(*U)
    total = out[0]
    for o in out[1:]:
        total = total + o
    backward(total)
    z_ref, g_ref = mp_deq(W, values)
    assert max(abs(a.value - b) for a, b in zip(out, z_ref)) <= 4e-16
    assert max(abs(a.grad - b) for a, b in zip(U, g_ref)) <= 1e-14 * max(map(abs, g_ref))


@pytest.mark.parametrize("n", [ROLL_FROM - 6, N])
def test_double_roots_are_refused_rolled_or_not(n):
    z, u = symbols(n)
    rows = [(z[i] - u[i] - z[(i + 1) % n] / 4) ** 2 for i in range(n)]   # every root double
    layer = Root(rows, z, u).primitive()
    assert (layer.compiled.rolled is not None) == (n >= ROLL_FROM)
    with pytest.raises(SingularJacobianError, match="linearly"):
        layer(*[Scalar(0.1 * i) for i in range(n)], x0=[0.3] * n)
