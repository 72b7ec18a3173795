"""Lowering time and layer speed of a DEQ cell z = tanh(W z + u), next to optimistix.

    python benchmarks/systems_layers.py [--timeout SECONDS]

Prints (1) the time of ``FixedPoint(...).primitive()`` (derive + lower) at n = 6, 50, 200,
each in a subprocess bounded by --timeout (default 120 s; "> T s" when it did not finish),
and (2) the layer's forward + backward in µs at n = 10, 100 next to optimistix's
``fixed_point`` + ``ImplicitAdjoint`` under ``jax.jit`` measured in this run, and the ratio.
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


def deq(n: int, seed: int = 0):
    from symimplicit import FixedPoint

    rng = np.random.default_rng(seed)
    W = 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)
    z = sp.symbols(f"z1:{n + 1}", real=True)
    u = sp.symbols(f"u1:{n + 1}", real=True)
    f = [sp.tanh(sp.Add(*[sp.Float(W[i, j], 17) * z[j] for j in range(n)], u[i]))   # W exactly
         for i in range(n)]                                     # (17 digits, no warning)
    return FixedPoint(f, list(z), list(u)), W


def lowering_seconds(n: int) -> float:
    statement, _ = deq(n)
    t = time.perf_counter()
    statement.primitive()
    return time.perf_counter() - t


def layer_microseconds(n: int, repeat: int = 50) -> float:
    from symimplicit.tape import Scalar, backward

    layer = deq(n)[0].primitive()

    def once():
        U = [Scalar(0.1 * i / n) for i in range(n)]
        out = layer(*U)
        total = out[0]
        for o in out[1:]:
            total = total + o
        backward(total)

    once()
    t = time.perf_counter()
    for _ in range(repeat):
        once()
    return (time.perf_counter() - t) / repeat * 1e6


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
    t = time.perf_counter()
    for _ in range(repeat):
        jax.block_until_ready(step(u))
    return (time.perf_counter() - t) / repeat * 1e6


ONE_THREAD = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--layer-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(lowering_seconds(args.worker))
        return
    if args.layer_worker:
        n = args.layer_worker
        print(layer_microseconds(n, repeat=50 if n <= 10 else 5))
        return
    print("lowering (derive + lower) of z = tanh(Wz + u):")
    for n in (6, 50, 200):
        try:
            out = subprocess.run([sys.executable, __file__, "--worker", str(n)], capture_output=True,
                                 text=True, timeout=args.timeout, check=True)
            print(f"  n = {n:3d}: {float(out.stdout.strip()):8.2f} s")
        except subprocess.TimeoutExpired:
            print(f"  n = {n:3d}: > {args.timeout:.0f} s (stopped)")
    print("layer forward + backward (µs), symimplicit vs optimistix fixed_point + ImplicitAdjoint (jit);")
    print("  our worker runs with OPENBLAS_NUM_THREADS=1 (a threaded BLAS on a shared 2-core machine")
    print("  made one 100 x 100 solve take 4 ms instead of 0.1 ms):")
    for n in (10, 100):
        peer = optimistix_microseconds(n)
        try:                                                         # includes lowering: bounded
            out = subprocess.run([sys.executable, __file__, "--layer-worker", str(n)], env=ONE_THREAD,
                                 capture_output=True, text=True, timeout=args.timeout, check=True)
            ours = float(out.stdout.strip())
        except subprocess.TimeoutExpired:
            print(f"  n = {n:3d}: symimplicit not measured (lowering > {args.timeout:.0f} s)   "
                  f"optimistix {peer:10.1f}" if peer else "")
            continue
        ratio = f"{ours / peer:8.1f}x" if peer else "   (optimistix not installed)"
        peer_text = f"{peer:10.1f}" if peer else "       n/a"
        print(f"  n = {n:3d}: symimplicit {ours:10.1f}   optimistix {peer_text}   ratio {ratio}")


if __name__ == "__main__":
    main()
