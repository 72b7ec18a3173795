"""Systems: the linear-solve form z_S = -J⁻¹ R_S against independent truths (mpmath
derivatives of high-precision solves, closed forms), its printing by lambdify (numpy,
mpmath), and its expansion (explicit=True / doit())."""
import random

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from symimplicit import FixedPoint, Root
from symimplicit.derive import LinearSolve

DPS = 50


def tanh_cell(n, seed=1):
    rng = random.Random(seed)
    z = sp.symbols(f"z1:{n + 1}")
    u = sp.symbols(f"u1:{n + 1}")
    W = [[sp.Rational(rng.randint(-9, 9), 10 * n) for _ in range(n)] for _ in range(n)]
    f = [sp.tanh(sum(W[i][k] * z[k] for k in range(n)) + u[i]) for i in range(n)]
    return FixedPoint(f, list(z), list(u)), z, u, W


def mp_solve(W, u0):
    """z = tanh(W z + u) at DPS digits (fixed point iteration polished by findroot)."""
    n = len(u0)
    F = [lambda *zs, i=i: zs[i] - mp.tanh(sum(mp.mpf(W[i][k].p) / W[i][k].q * zs[k]
                                              for k in range(n)) + u0[i]) for i in range(n)]
    return mp.findroot(F, [mp.mpf(0)] * n)


def evaluate(expr, z, u, zval, uval, module):
    fn = sp.lambdify(list(z) + list(u), expr, module)
    return fn(*zval, *uval)


@pytest.mark.parametrize("n", [2])
def test_tanh_cell_first_and_second_derivatives_against_mpmath(n):
    st, z, u, W = tanh_cell(n)
    d = st.derive()
    with mp.workdps(DPS):
        u0 = [mp.mpf(k + 1) / 7 for k in range(n)]
        z0 = mp_solve(W, u0)
        for wrt, orders in [((u[0],), 1), ((u[n - 1],), 1), ((u[0], u[1]), (1, 1)),
                            ((u[0], u[0]), 2)]:
            j = [u.index(w) for w in wrt]

            def component(i, *uj):
                point = list(u0)
                for k, v in zip(sorted(set(j)), uj):
                    point[k] = v
                return mp_solve(W, point)[i]
            at = [u0[k] for k in sorted(set(j))]
            order = orders if isinstance(orders, tuple) else (orders,)
            if len(at) == 1:
                truth = [mp.diff(lambda t, i=i: component(i, t), at[0], order[0])
                         for i in range(n)]
            else:
                truth = [mp.diff(lambda *uj, i=i: component(i, *uj), at, order)
                         for i in range(n)]
            solve = d.derivative(*wrt)
            assert isinstance(solve, LinearSolve)
            got_mp = evaluate(solve, z, u, list(z0), u0, "mpmath")
            got_explicit = evaluate(d.derivative(*wrt, explicit=True), z, u, list(z0), u0,
                                    "mpmath")
            got_np = evaluate(solve, z, u, [float(v) for v in z0], [float(v) for v in u0],
                              "numpy")
            for i in range(n):
                scale = max(abs(t) for t in truth)
                assert abs(got_mp[i] - truth[i]) <= mp.mpf(10) ** -30 * scale, (wrt, i)
                assert abs(got_explicit[i] - truth[i]) <= mp.mpf(10) ** -30 * scale, (wrt, i)
                assert abs(float(got_np[i, 0]) - float(truth[i])) <= 1e-14 * float(scale)


def test_lambdify_prints_numpy_solve_and_mpmath_lu_solve():
    st, z, u, _ = tanh_cell(3)
    solve = st.derive().derivative(u[0])
    from sympy.printing.numpy import NumPyPrinter
    from sympy.printing.pycode import MpmathPrinter
    assert "numpy.linalg.solve" in NumPyPrinter().doprint(solve)
    assert "mpmath.lu_solve" in MpmathPrinter().doprint(solve)
    assert not solve.has(sp.Inverse) and "adjugate" not in str(solve)


def test_higher_orders_use_the_same_jacobian_and_a_program():
    st, z, u, _ = tanh_cell(3)
    d = st.derive()
    program = d.linear_solves(u[0], u[1], u[1])
    J = sp.ImmutableMatrix(d.jacobian)
    assert all(solve.matrix == J for _, solve in program)
    assert len(program) == len({tuple(p) for p, _ in program})          # each solve once
    assert len(program[-1][0]) == 3


def test_affine_fixed_point_n200_against_its_closed_form():
    # jaxopt's affine fixed point x = M x + b: ∂x/∂bⱼ = (I - M)⁻¹ eⱼ
    n = 200
    rng = np.random.default_rng(0)
    M = rng.uniform(-1, 1, (n, n)) / (2 * n)
    x = sp.symbols(f"x1:{n + 1}")
    b = sp.symbols(f"b1:{n + 1}")
    Mq = [[sp.Rational(round(M[i, k] * 2**30), 2**30) for k in range(n)] for i in range(n)]
    f = [sp.Add(*[Mq[i][k] * x[k] for k in range(n)], b[i]) for i in range(n)]
    d = FixedPoint(f, list(x), list(b)).derive()
    got = sp.lambdify([], d.derivative(b[7]), "numpy")()
    A = np.eye(n) - np.array([[float(v) for v in row] for row in Mq])
    want = np.linalg.solve(A, np.eye(n)[:, 7])
    assert np.max(np.abs(got[:, 0] - want)) <= 1e-13 * np.max(np.abs(want))
    with mp.workdps(30):                        # and against mpmath at a smaller size
        m = 12
        Am = mp.matrix([[(1 if i == k else 0) - mp.mpf(Mq[i][k].p) / Mq[i][k].q
                         for k in range(m)] for i in range(m)])
        small = FixedPoint([sp.Add(*[Mq[i][k] * x[k] for k in range(m)], b[i])
                            for i in range(m)], list(x[:m]), list(b[:m])).derive()
        value = sp.lambdify([], small.derivative(b[3]), "mpmath")()
        truth = mp.lu_solve(Am, mp.matrix([1 if i == 3 else 0 for i in range(m)]))
        assert max(abs(value[i] - truth[i]) for i in range(m)) < mp.mpf(10) ** -25


def test_trilateration_against_mpmath():
    x, y, w = sp.symbols("x y w")
    d1, d2, d3 = sp.symbols("d1 d2 d3")
    anchors = [(0, 0, 0), (4, 0, 0), (0, 4, 0)]
    F = [(x - ax) ** 2 + (y - ay) ** 2 + (w - az) ** 2 - dd ** 2
         for (ax, ay, az), dd in zip(anchors, (d1, d2, d3))]
    d = Root(F, [x, y, w], (d1, d2, d3)).derive()

    def solve(a, b, c):
        fs = [lambda X, Y, Z, A=A, dd=dd: (X - A[0]) ** 2 + (Y - A[1]) ** 2 + (Z - A[2]) ** 2
              - dd ** 2 for A, dd in zip(anchors, (a, b, c))]
        return mp.findroot(fs, [mp.mpf(1), mp.mpf(1), mp.mpf(2)])

    with mp.workdps(DPS):
        d0 = [mp.mpf(3), mp.mpf("3.5"), mp.mpf("3.2")]
        z0 = solve(*d0)
        for k, p in enumerate((d1, d2, d3)):
            truth = [mp.diff(lambda t: solve(*[t if m == k else d0[m] for m in range(3)])[i],
                             d0[k]) for i in range(3)]
            got = sp.lambdify([x, y, w, d1, d2, d3], d.derivative(p), "mpmath")(*z0, *d0)
            for i in range(3):
                assert abs(got[i] - truth[i]) <= mp.mpf(10) ** -30 * max(map(abs, truth))


def test_conditions_do_not_depend_on_history_and_list_every_kink():
    x, a, b = sp.symbols("x a b", real=True)
    for F, kink in [(x - sp.Abs(a * x) / 2 - b, a * x), (sp.Max(x, a) + x - b, x - a)]:
        fresh = Root(F, x, (a, b)).derive().conditions
        used = Root(F, x, (a, b)).derive()
        used.derivative(b, 2)
        used.derivative(a)
        assert used.conditions == fresh
        assert any(c.lhs in (kink, -kink) for c in fresh)
    st, z, u, _ = tanh_cell(5)
    (det,) = st.derive().conditions
    assert isinstance(det.lhs, sp.Determinant)            # lazy: unevaluated for n > 3
