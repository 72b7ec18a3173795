"""Higher-order derivatives: accuracy against mpmath and speed against JAX peers, in one run.

    pip install -e '.[bench]'          # jax, optimistix, jaxopt
    python benchmarks/higher_order.py  # about a minute
    python benchmarks/higher_order.py --quick

(1) Accuracy (relative error against mpmath's solution map, differentiated by mpmath.diff at
    40 digits; no derived formula in the truth):
    * the Hessian and third derivatives of x(a, b), x = cos(ax + b) at (1, 0),
    * the second and third derivative in a of the seed's fit loss Σᵢ (x̂ᵢ(a) - xᵢ)², 100
      argmin layers x̂ᵢ = argmin a x² + bᵢ x (the seed's data, random.seed(314)), at a = 1.5,
    each on the tape (grad with create_graph=True) and in JAX (jax.hessian of to_jax()).
(2) Speed per call of the jitted Hessian of x(a, b): jax.jit(jax.hessian(to_jax())) vs
    optimistix (fixed_point, Newton, its implicit adjoint) vs jaxopt (FixedPointIteration
    with implicit_diff: a custom_vjp, so jax.hessian fails: the failure is reported).
(3) The tape: Hessian of a 10⁴-node graph of two inputs with create_graph=True (one
    recorded backward pass, then one backward pass per input) vs its first-order pass
    (build + backward), best of several runs.
"""
from __future__ import annotations

import argparse
import gc
import math
import random
import time

import mpmath as mp
import sympy as sp

from symimplicit import FixedPoint, Minimize
from symimplicit.precision.mpsolve import problem_of
from symimplicit.tape import Cos, Scalar, Sin, backward, grad

x, a, b = sp.symbols("x a b")
FIXED = FixedPoint(sp.cos(a * x + b), unknown=x, params=(a, b))
ARGMIN = Minimize(a * x ** 2 + b * x, unknown=x, params=(a, b))


def best_of(fn, repeat: int, number: int) -> float:
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def rel(got, want) -> float:
    return abs(float(got) - float(want)) / max(abs(float(want)), 1e-300)


# -- (1) accuracy --------------------------------------------------------------------------
def mp_solution(statement, start):
    problem = problem_of(statement)

    def z(*theta):
        with mp.workdps(mp.mp.dps + 30):
            return problem.solve(theta, problem.start(start), mp.mp.dps + 30, check=False)[0]

    return z


def fixed_point_truth():
    z = mp_solution(FIXED, (0.7,))
    with mp.workdps(40):
        at = (mp.mpf(1), mp.mpf(0))
        H = [[mp.diff(z, at, (2, 0)), mp.diff(z, at, (1, 1))], [mp.diff(z, at, (1, 1)),
                                                                mp.diff(z, at, (0, 2))]]
        T = {o: mp.diff(z, at, o) for o in [(3, 0), (2, 1), (1, 2), (0, 3)]}
    return H, T


def fixed_point_tape():
    layer = FIXED.primitive()
    A, B = Scalar(1.0), Scalar(0.0)
    X = layer(A, B)
    g = grad(X, [A, B], create_graph=True)
    H = [grad(gi, [A, B], create_graph=True) for gi in g]
    T = {(3, 0): grad(H[0][0], [A])[0], (2, 1): grad(H[0][0], [B])[0],
         (1, 2): grad(H[1][1], [A])[0], (0, 3): grad(H[1][1], [B])[0]}
    return [[float(v) for v in row] for row in H], T


def fixed_point_jax(jax):
    f = FIXED.to_jax()
    H = jax.hessian(f, argnums=(0, 1))(1.0, 0.0)
    T3 = jax.jacfwd(jax.hessian(f, argnums=(0, 1)), argnums=(0, 1))(1.0, 0.0)
    T = {(3, 0): T3[0][0][0], (2, 1): T3[0][0][1], (1, 2): T3[0][1][1], (0, 3): T3[1][1][1]}
    return [[float(H[i][j]) for j in range(2)] for i in range(2)], T


def seed_data(n: int = 100):
    random.seed(314)
    truea = 1 + random.random()
    bs = [2 * random.random() - 1 for _ in range(n)]
    return truea, bs


def fit_truth(bs, xs, at):
    z = mp_solution(ARGMIN, (0.0,))

    def loss(s):
        return mp.fsum((z(s, bi) - xi) ** 2 for bi, xi in zip(bs, xs))

    with mp.workdps(40):
        return mp.diff(loss, mp.mpf(at), 2), mp.diff(loss, mp.mpf(at), 3)


def fit_tape(bs, xs, at):
    layer = ARGMIN.primitive()
    A = Scalar(at)
    loss = sum((layer(A, bi) - xi) ** 2 for bi, xi in zip(bs, xs))
    (g,) = grad(loss, [A], create_graph=True)
    (h,) = grad(g, [A], create_graph=True)
    return h.value, grad(h, [A])[0]


def fit_jax(jax, jnp, bs, xs, at):
    f = jax.vmap(ARGMIN.to_jax(), in_axes=(None, 0))
    B, X = jnp.array(bs), jnp.array(xs)

    def loss(s):
        return jnp.sum((f(s, B) - X) ** 2)

    h = jax.hessian(loss)(at)
    t = jax.grad(jax.grad(jax.grad(loss)))(at)
    return float(h), float(t)


def accuracy(jax, jnp) -> None:
    print("(1) accuracy: relative error against mpmath (solution map, mpmath.diff, 40 digits)")
    H, T = fixed_point_truth()
    rows = [("tape", *fixed_point_tape())]
    if jax is not None:
        rows.append(("jax", *fixed_point_jax(jax)))
    for name, h, t in rows:
        eh = max(rel(h[i][j], H[i][j]) for i in range(2) for j in range(2))
        et = max(rel(t[o], T[o]) for o in T)
        print(f"    x = cos(ax+b), {name:5s} Hessian max rel err {eh:.2e} (issue ≤ 1e-13), "
              f"third derivatives {et:.2e} (issue ≤ 1e-11)")
    truea, bs = seed_data()
    xs = [-bi / (2 * truea) for bi in bs]
    h2, h3 = fit_truth(bs, xs, 1.5)
    rows = [("tape", *fit_tape(bs, xs, 1.5))]
    if jax is not None:
        rows.append(("jax", *fit_jax(jax, jnp, bs, xs, 1.5)))
    for name, g2, g3 in rows:
        print(f"    seed fit loss (100 layers), {name:5s} d²L/da² rel err {rel(g2, h2):.2e}, "
              f"d³L/da³ {rel(g3, h3):.2e}")


# -- (2) speed against JAX peers ----------------------------------------------------------------
def speed(jax, jnp, quick: bool) -> None:
    print("(2) jitted Hessian of x(a, b), x = cos(ax + b), per call at (1, 0)")
    repeat, number = (3, 200) if quick else (5, 1000)
    ours = jax.jit(jax.hessian(FIXED.to_jax(), argnums=(0, 1)))
    jax.block_until_ready(ours(1.0, 0.0))
    t_ours = best_of(lambda: jax.block_until_ready(ours(1.0, 0.0)), repeat, number)
    print(f"    symimplicit to_jax      {t_ours * 1e6:8.1f} µs")
    try:
        import optimistix as optx

        def fixed_point(s, t):
            sol = optx.fixed_point(lambda z, args: jnp.cos(args[0] * z + args[1]),
                                   optx.Newton(rtol=1e-13, atol=1e-13), jnp.asarray(0.0),
                                   args=(s, t), throw=False)
            return sol.value

        theirs = jax.jit(jax.hessian(fixed_point, argnums=(0, 1)))
        H = jax.block_until_ready(theirs(1.0, 0.0))
        t_opt = best_of(lambda: jax.block_until_ready(theirs(1.0, 0.0)), repeat, number)
        print(f"    optimistix fixed_point  {t_opt * 1e6:8.1f} µs   (ours / optimistix = "
              f"{t_ours / t_opt:.2f}x; issue ≤ 1x; its ∂²x/∂a² = {float(H[0][0])!r})")
    except ImportError:
        print("    optimistix not installed: pip install -e '.[bench]'")
    try:
        import jaxopt

        def jaxopt_fixed_point(s, t):
            solver = jaxopt.FixedPointIteration(fixed_point_fun=lambda z, s, t: jnp.cos(s * z + t),
                                                tol=1e-13, maxiter=500, implicit_diff=True)
            return solver.run(jnp.asarray(0.0), s, t).params

        try:
            jax.jit(jax.hessian(jaxopt_fixed_point, argnums=(0, 1)))(1.0, 0.0)
            print("    jaxopt                  Hessian ran (unexpected)")
        except Exception as exc:                        # what jaxopt raises is the measurement
            first = str(exc).strip().splitlines()[0][:110]
            print(f"    jaxopt                  FAILS: {type(exc).__name__}: {first}")
    except ImportError:
        print("    jaxopt not installed: pip install -e '.[bench]'")


# -- (3) the tape at 10⁴ nodes --------------------------------------------------------------
def graph(A, B, cs):
    """Σᵢ cᵢ·sin(a cᵢ + b)·cos(a - cᵢ b): 12 nodes per term (constants are leaves)."""
    total = 0.0
    for c in cs:
        total = total + c * Sin(A * c + B) * Cos(A - B * c)
    return total


def tape_speed(quick: bool) -> None:
    rng = random.Random(1)
    cs = [rng.uniform(-1, 1) for _ in range(833)]         # 833 terms × 12 nodes = 10⁴ nodes

    def first_order():
        A, B = Scalar(0.3), Scalar(0.7)
        backward(graph(A, B, cs))
        return A.grad, B.grad

    def hessian():
        A, B = Scalar(0.3), Scalar(0.7)
        ga, gb = grad(graph(A, B, cs), [A, B], create_graph=True)
        return grad(ga, [A, B]), grad(gb, [A, B])

    def hvp():
        A, B = Scalar(0.3), Scalar(0.7)
        ga, gb = grad(graph(A, B, cs), [A, B], create_graph=True)
        return grad(ga * 1.0 + gb * 2.0, [A, B])

    A, B = Scalar(0.3), Scalar(0.7)
    nodes = _count(graph(A, B, cs))
    repeat = 3 if quick else 7
    t1 = best_of(first_order, repeat, 1)
    t2 = best_of(hessian, repeat, 1)
    t3 = best_of(hvp, repeat, 1)
    (haa, hab), (hba, hbb) = hessian()
    with mp.workdps(30):
        s, t = mp.mpf(0.3), mp.mpf(0.7)
        f = lambda u, v: mp.fsum(c * mp.sin(u * c + v) * mp.cos(u - v * c) for c in cs)  # noqa: E731
        err = max(rel(haa, mp.diff(f, (s, t), (2, 0))), rel(hab, mp.diff(f, (s, t), (1, 1))),
                  rel(hbb, mp.diff(f, (s, t), (0, 2))))
    print(f"(3) tape, {nodes} nodes, two inputs (best of {repeat})")
    print(f"    first order (build + backward)          {t1 * 1e3:8.2f} ms")
    print(f"    Hessian (build + create_graph + 2 grads) {t2 * 1e3:8.2f} ms   {t2 / t1:.2f}x "
          f"(issue ≤ 5x); max rel err vs mpmath {err:.1e}")
    print(f"    Hessian-vector product (1 grad after)    {t3 * 1e3:8.2f} ms   {t3 / t1:.2f}x")


def _count(y) -> int:
    from symimplicit.tape import trace
    return len(trace(y))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
    except ImportError:
        jax = jnp = None
        print("jax not installed (pip install -e '.[bench]'): JAX rows skipped")
    accuracy(jax, jnp)
    if jax is not None:
        speed(jax, jnp, args.quick)
    tape_speed(args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
