"""Lowering time and layer speed of a DEQ cell z = tanh(W z + u), next to optimistix.

    python benchmarks/systems_layers.py [--timeout SECONDS]

Prints (1) the time of ``FixedPoint(...)`` (the statement's checks) and of ``.primitive()``
(derive + lower) at n = 6, 50, 200, each in a subprocess bounded by --timeout (default 300 s;
"> T s" when it did not finish), with SymPy's time to build the expressions beside them,
and (2) the layer's forward + backward in µs at n = 10, 100, on the plain tape and by compiled
replay (``value_and_grad(fn, compile=True)``), next to optimistix's ``fixed_point`` +
``ImplicitAdjoint`` under ``jax.jit`` measured in this run, and the ratios.
W = 0.5·randn(n, n)/√n (a contraction), u = 0.1·i/n.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import sympy as sp


def deq(n: int, seed: int = 0, timings: dict | None = None):
    """(FixedPoint of the cell, W); ``timings`` gets the seconds of building the SymPy
    expressions ("sympy") and of the FixedPoint statement's checks ("statement")."""
    from symimplicit import FixedPoint

    rng = np.random.default_rng(seed)
    W = 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)
    z = sp.symbols(f"z1:{n + 1}", real=True)
    u = sp.symbols(f"u1:{n + 1}", real=True)
    t = time.perf_counter()
    f = [sp.tanh(sp.Add(*[sp.Float(W[i, j], 17) * z[j] for j in range(n)], u[i]))   # W exactly
         for i in range(n)]                                     # (17 digits, no warning)
    t1 = time.perf_counter()
    statement = FixedPoint(f, list(z), list(u))
    if timings is not None:
        timings.update(sympy=t1 - t, statement=time.perf_counter() - t1)
    return statement, W


def lowering_seconds(n: int) -> tuple[float, float, float]:
    """(SymPy building the n expressions, FixedPoint(...), primitive(): derive + lower)."""
    timings: dict = {}
    statement, _ = deq(n, timings=timings)
    t = time.perf_counter()
    statement.primitive()
    return timings["sympy"], timings["statement"], time.perf_counter() - t


def layer_microseconds(n: int, repeat: int = 50) -> tuple[float, float]:
    """(plain tape, compiled replay) µs of one forward + backward of sum(layer(u)): the plain
    tape records Scalars every call; ``value_and_grad(fn, compile=True)`` records once and
    replays generated code (our analogue of jax.jit; the same numbers bit for bit)."""
    from symimplicit.tape import Scalar, backward, value_and_grad

    layer = deq(n)[0].primitive()
    u = [0.1 * i / n for i in range(n)]

    def summed(*U):
        out = layer(*U)
        total = out[0]
        for o in out[1:]:
            total = total + o
        return total

    def once():
        backward(summed(*[Scalar(v) for v in u]))

    replay = value_and_grad(summed, compile=True)
    once()
    replay(*u)
    best_tape = best_replay = float("inf")
    for _ in range(5):                                 # interleaved, best of five
        t = time.perf_counter()
        for _ in range(repeat):
            once()
        best_tape = min(best_tape, (time.perf_counter() - t) / repeat)
        t = time.perf_counter()
        for _ in range(repeat):
            replay(*u)
        best_replay = min(best_replay, (time.perf_counter() - t) / repeat)
    return best_tape * 1e6, best_replay * 1e6


def optimistix_microseconds(n: int, repeat: int = 200) -> float | None:
    try:
        import jax
        import jax.numpy as jnp
        import optimistix as optx
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    W = jnp.asarray(deq(n)[1])

    def fn(z, u):
        return jnp.tanh(W @ z + u)

    solver = optx.FixedPointIteration(rtol=1e-12, atol=1e-12)

    def loss(u):
        sol = optx.fixed_point(fn, solver, jnp.zeros(n), args=u, adjoint=optx.ImplicitAdjoint(),
                               max_steps=1000)
        return jnp.sum(sol.value)

    step = jax.jit(jax.value_and_grad(loss))
    u = jnp.asarray([0.1 * i / n for i in range(n)])
    jax.block_until_ready(step(u))
    best = float("inf")
    for _ in range(5):                                 # best of five
        t = time.perf_counter()
        for _ in range(repeat):
            jax.block_until_ready(step(u))
        best = min(best, (time.perf_counter() - t) / repeat)
    return best * 1e6


ONE_THREAD = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Lowering time and layer speed of the DEQ cell z = tanh(Wz + u) next to "
                    "optimistix (skipped when jax/optimistix are missing); prints, asserts nothing.")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds allowed to each subprocess (default: 300)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--layer-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(*lowering_seconds(args.worker))
        return
    if args.layer_worker:
        n = args.layer_worker
        print(*layer_microseconds(n, repeat=50 if n <= 10 else 10))
        return
    print("lowering of z = tanh(Wz + u): FixedPoint(...) (its checks) and primitive() (derive +")
    print("  lower), seconds; SymPy's own time to build the n expressions in brackets:")
    for n in (6, 50, 200):
        try:
            out = subprocess.run([sys.executable, __file__, "--worker", str(n)], capture_output=True,
                                 text=True, timeout=args.timeout, check=True)
            build, statement, lower = map(float, out.stdout.split())
            print(f"  n = {n:3d}: statement {statement:7.2f} s   derive + lower {lower:7.2f} s   "
                  f"(SymPy {build:.2f} s)")
        except subprocess.TimeoutExpired:
            print(f"  n = {n:3d}: > {args.timeout:.0f} s (stopped)")
    print("layer forward + backward of sum(layer(u)) (µs, best of five), symimplicit's plain tape and")
    print("  compiled replay (value_and_grad(fn, compile=True)) vs optimistix fixed_point + ImplicitAdjoint")
    print("  (jit); our worker runs with OPENBLAS_NUM_THREADS=1 (a threaded BLAS on a shared 2-core")
    print("  machine made one 100 x 100 solve take 4 ms instead of 0.1 ms):")
    for n in (10, 100):
        peer = optimistix_microseconds(n)
        try:                                                         # includes lowering: bounded
            out = subprocess.run([sys.executable, __file__, "--layer-worker", str(n)], env=ONE_THREAD,
                                 capture_output=True, text=True, timeout=args.timeout, check=True)
            tape, replay = map(float, out.stdout.split())
        except subprocess.TimeoutExpired:
            print(f"  n = {n:3d}: symimplicit not measured (lowering > {args.timeout:.0f} s)   "
                  f"optimistix {peer:10.1f}" if peer else "")
            continue
        if peer:
            print(f"  n = {n:3d}: tape {tape:9.1f} ({tape / peer:5.1f}x)   replay {replay:9.1f} "
                  f"({replay / peer:5.1f}x)   optimistix {peer:8.1f}")
        else:
            print(f"  n = {n:3d}: tape {tape:9.1f}   replay {replay:9.1f}   (optimistix not installed)")

if __name__ == "__main__":
    main()
