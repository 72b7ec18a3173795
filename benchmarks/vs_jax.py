"""Compiled replay against micrograd and jitted JAX solvers, ratios in one run.

    pip install -e '.[bench]'          # micrograd, jax, optimistix, jaxopt
    python benchmarks/vs_jax.py        # about a minute (recording 10^5 nodes compiles ~10 s)
    python benchmarks/vs_jax.py --quick

(1) Compiled tape replay, µs per node (forward + backward) of the balanced +/* tree of
    benchmarks/tape.py at 10^5 nodes: ``value_and_grad(f, compile=True)`` (after the
    recording call) vs micrograd building and differentiating the same tree (issue 12:
    ≥ 20x), and vs the plain tape (``compile=False``).
(2) x = cos(ax + b): solve + gradient per call, at the same 100 points (a, b) cycled:
    ``value_and_grad(lambda a, b: layer(a, b), compile=True)`` with the FixedPoint layer,
    vs optimistix ``fixed_point`` (Newton, ImplicitAdjoint) under ``jax.jit``, vs jaxopt
    ``FixedPointIteration`` (implicit differentiation) under ``jax.jit``.  The layer's own
    call speed is lower/'s business; this only measures it.
(3) The seed's fit (examples/seed_fit.py): 100 argmin layers x = argmin a x² + bᵢ x, the loss
    Σ (x̂ᵢ - xᵢ)², its gradient in a, per step: ``layer.map(a, bs)`` (one batched node) under
    ``value_and_grad(compile=True)``, vs the seed's 100 separate layer calls on the plain tape,
    vs optimistix ``minimise`` (Newton... BFGS) ``vmap``-ed over the 100 bᵢ under ``jax.jit``.
    Both fits run 1000 steps of gradient descent from a = 1.5; the recovered a must agree.
    Per step: the best of several loops of 20 steps (the fit's steady state, the cyclic
    collector left on), and beside it one call right after ``gc.collect()`` (the collector's
    walk of every object leaves the caches cold: both sides pay 0.3-0.4 ms for it).
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sympy as sp  # noqa: E402

from symimplicit import FixedPoint, Minimize  # noqa: E402
from symimplicit.tape import Scalar, backward, value_and_grad  # noqa: E402
from tape import balanced, leaves_for, run_micrograd  # noqa: E402  (benchmarks/tape.py)


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def per_step(fn, repeat: int, steps: int = 20) -> float:
    """Seconds per call in a loop of ``steps`` calls, the best of ``repeat`` loops."""
    def loop():
        for _ in range(steps):
            fn()
    return best_of(loop, repeat) / steps


def replay_per_node(n_leaves_target: int, repeat: int) -> None:
    values = leaves_for(n_leaves_target)
    n_nodes = 2 * len(values) - 1
    print(f"(1) balanced +/* tree, {n_nodes:,} nodes, {len(values):,} inputs; µs per node, best of {repeat}")
    compiled = value_and_grad(lambda *xs: balanced(list(xs)), compile=True)
    plain = value_and_grad(lambda *xs: balanced(list(xs)))
    t0 = time.perf_counter()
    first = compiled(*values)
    record = time.perf_counter() - t0
    assert compiled(*values) == first == plain(*values)          # the same numbers, bit for bit
    t_replay = best_of(lambda: compiled(*values), repeat) / n_nodes * 1e6
    t_plain = best_of(lambda: plain(*values), repeat) / n_nodes * 1e6
    t_micro = best_of(lambda: run_micrograd(values), repeat) / n_nodes * 1e6
    print(f"    first call (record + generate + compile): {record:.1f} s")
    print(f"    compiled replay   {t_replay:8.3f}")
    print(f"    plain tape        {t_plain:8.3f}   (plain / replay = {t_plain / t_replay:.1f}x)")
    print(f"    micrograd         {t_micro:8.3f}   (micrograd / replay = {t_micro / t_replay:.1f}x;"
          f" issue 12: ≥ 20x)")


def layer_per_call(number: int, repeat: int) -> None:
    print(f"(2) x = cos(ax + b): solve + gradient per call, {number} calls at 100 points, best of {repeat}")
    rng = random.Random(12)
    points = [(rng.uniform(0.2, 0.9), rng.uniform(0.0, 1.0)) for _ in range(100)]
    a, b, x = sp.symbols("a b x")
    layer = FixedPoint(sp.cos(a * x + b), x, (a, b)).primitive()
    ours = value_and_grad(lambda p, q: layer(p, q), compile=True)
    ours(*points[0])

    def run(f):
        def loop():
            for i in range(number):
                f(*points[i % 100])
        return best_of(loop, repeat) / number * 1e6

    t_ours = run(ours)
    print(f"    {'symimplicit compiled replay':34s} {t_ours:8.2f} µs")
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("    jax not installed: pip install -e '.[bench]'")
        return
    jax.config.update("jax_enable_x64", True)
    rows = []
    try:
        import optimistix as optx

        def fixed_point(s, t):
            sol = optx.fixed_point(lambda z, args: jnp.cos(args[0] * z + args[1]),
                                   optx.Newton(rtol=1e-13, atol=1e-13), jnp.asarray(0.0),
                                   args=(s, t), adjoint=optx.ImplicitAdjoint(), throw=False)
            return sol.value

        rows.append(("optimistix fixed_point (jit)", jax.jit(jax.value_and_grad(fixed_point, argnums=(0, 1)))))
    except ImportError:
        print("    optimistix not installed: pip install -e '.[bench]'")
    try:
        import jaxopt

        def jaxopt_fixed_point(s, t):
            solver = jaxopt.FixedPointIteration(fixed_point_fun=lambda z, s, t: jnp.cos(s * z + t),
                                                tol=1e-13, maxiter=500, implicit_diff=True)
            return solver.run(jnp.asarray(0.0), s, t).params

        rows.append(("jaxopt FixedPointIteration (jit)",
                     jax.jit(jax.value_and_grad(jaxopt_fixed_point, argnums=(0, 1)))))
    except ImportError:
        print("    jaxopt not installed: pip install -e '.[bench]'")
    mine = ours(*points[3])
    for name, f in rows:
        jax.block_until_ready(f(*points[0]))                      # compile outside the timing
        theirs = f(*points[3])
        agree = max(abs(float(theirs[0]) - mine[0]), *(abs(float(u) - v) for u, v in zip(theirs[1], mine[1])))
        t = run(lambda p, q: jax.block_until_ready(f(p, q)))
        print(f"    {name:34s} {t:8.2f} µs   (ours / theirs = {t_ours / t:.2f}x; issue 12: ≤ 1x; "
              f"max |Δ| vs ours {agree:.1e})")


def seed_fit_step(repeat: int) -> None:
    print(f"(3) the seed's fit: 100 argmin layers + loss + gradient, per step, best of {repeat}")
    x, a, b = sp.symbols("x a b")
    layer = Minimize(a * x**2 + b * x, x, (a, b)).primitive()     # x = -b/(2a)
    random.seed(314)                                               # the seed's data
    truea = 1 + random.random()
    bs = [2 * random.random() - 1 for _ in range(100)]
    xs = [layer(truea, bi) for bi in bs]

    def loss_mapped(s):
        return sum((xi_hat - xi) ** 2 for xi_hat, xi in zip(layer.map(s, bs), xs))

    mapped = value_and_grad(loss_mapped, compile=True)

    def one_by_one(ahat):
        sa = Scalar(ahat)
        loss = sum((layer(sa, bi) - xi) ** 2 for bi, xi in zip(bs, xs))
        backward(loss)
        return loss.value, sa.grad

    def fit(step, steps=1000):
        ahat = 1.5
        for _ in range(steps):
            _, g = step(ahat)
            ahat -= 0.05 * (g[0] if isinstance(g, tuple) else g)
        return ahat

    a_mapped, a_loop = fit(mapped), fit(one_by_one)
    t_mapped = per_step(lambda: mapped(1.3), repeat * 10) * 1e3
    cold_mapped = best_of(lambda: mapped(1.3), repeat * 20) * 1e3
    t_loop = best_of(lambda: one_by_one(1.3), repeat) * 1e3
    print(f"    {'layer.map + compile=True':34s} {t_mapped:8.3f} ms   (cold call {cold_mapped:.3f} ms)"
          f"   fitted a = {a_mapped!r}")
    print(f"    {'100 layer calls, plain tape':34s} {t_loop:8.3f} ms   fitted a = {a_loop!r}"
          f"   (loop / map = {t_loop / t_mapped:.1f}x; |Δa| = {abs(a_mapped - a_loop):.1e})")
    try:
        import jax
        import jax.numpy as jnp
        import optimistix as optx
    except ImportError:
        print("    jax/optimistix not installed: pip install -e '.[bench]'")
        return
    jax.config.update("jax_enable_x64", True)
    B, X = jnp.asarray(bs), jnp.asarray(xs)

    def argmin(s, bi):
        sol = optx.minimise(lambda z, args: args[0] * z**2 + args[1] * z,
                            optx.BFGS(rtol=1e-13, atol=1e-13), jnp.asarray(0.0),
                            args=(s, bi), adjoint=optx.ImplicitAdjoint(), throw=False)
        return sol.value

    def loss(s):
        return jnp.sum((jax.vmap(argmin, in_axes=(None, 0))(s, B) - X) ** 2)

    theirs = jax.jit(jax.value_and_grad(loss))
    jax.block_until_ready(theirs(1.3))
    v, g = theirs(1.3)
    mv, mg = mapped(1.3)
    t_theirs = per_step(lambda: jax.block_until_ready(theirs(1.3)), repeat * 10) * 1e3
    cold_theirs = best_of(lambda: jax.block_until_ready(theirs(1.3)), repeat * 20) * 1e3
    print(f"    {'optimistix minimise, vmap + jit':34s} {t_theirs:8.3f} ms   (cold call "
          f"{cold_theirs:.3f} ms)   (ours / theirs = {t_mapped / t_theirs:.2f}x, cold "
          f"{cold_mapped / cold_theirs:.2f}x; issue 12: ≤ 1x; |Δ loss| {abs(float(v) - mv):.1e}, "
          f"|Δ grad| {abs(float(g) - mg[0]):.1e})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", type=int, choices=(1, 2, 3), action="append",
                        help="run only part 1, 2 or 3 (repeatable; default: all)")
    args = parser.parse_args(argv)
    parts = set(args.only or (1, 2, 3))
    print(f"python {sys.version.split()[0]}; all rows measured in this run")
    if 1 in parts:
        replay_per_node(10 ** 5, 2 if args.quick else 3)
    if 2 in parts:
        layer_per_call(1000 if args.quick else 5000, 3 if args.quick else 5)
    if 3 in parts:
        seed_fit_step(3 if args.quick else 5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
