"""DEQ z = tanh(Wz + b): symimplicit.matrix solve + vjp vs optimistix fixed_point + jax.grad (jit).

Prints times and their ratio; no assertion.  ``python benchmarks/matrix.py [n ...]``
(``--help`` for the options).
"""
import argparse
import timeit

import numpy as np
import sympy as sp

from symimplicit.matrix import MatrixFixedPoint


def ours(n, Wv, bv, zbar):
    N = sp.Symbol("n")
    W, z, b = sp.MatrixSymbol("W", N, N), sp.MatrixSymbol("z", N, 1), sp.MatrixSymbol("b", N, 1)
    low = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b)).lower("numpy", sizes={"n": n})

    def run():
        zs = low.solve(W=Wv, b=bv)
        return low.vjp(zbar, z=zs, W=Wv, b=bv)
    return run


def theirs(Wv, bv, zbar):
    try:
        import jax
        import jax.numpy as jnp
        import optimistix as optx
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    solver = optx.Newton(rtol=1e-12, atol=1e-12)

    def loss(W, b):
        sol = optx.fixed_point(lambda z, a: jnp.tanh(a[0] @ z + a[1]), solver,
                               jnp.zeros_like(b), args=(W, b))
        return jnp.vdot(sol.value, zbar[:, 0])
    g = jax.jit(jax.grad(loss, argnums=(0, 1)))
    Wj, bj = jnp.asarray(Wv), jnp.asarray(bv[:, 0])
    jax.block_until_ready(g(Wj, bj))
    return lambda: jax.block_until_ready(g(Wj, bj))


def main(sizes, repeat=7):
    for n in sizes:
        rng = np.random.default_rng(n)
        Wv = 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)
        bv, zbar = rng.standard_normal((n, 1)), rng.standard_normal((n, 1))
        f = ours(n, Wv, bv, zbar)
        f()
        g = theirs(Wv, bv, zbar)
        reps = max(3, 2000 // n)
        t_ours = t_j = float("inf")
        for _ in range(repeat):           # interleaved: a slow spell on the machine hits both
            t_ours = min(t_ours, timeit.timeit(f, number=reps) / reps)
            if g is not None:
                t_j = min(t_j, timeit.timeit(g, number=reps) / reps)
        line = f"n={n:5d}  symimplicit.matrix solve+vjp {t_ours * 1e6:10.1f} µs"
        if g is not None:
            line += f"   optimistix+jax.grad (jit) {t_j * 1e6:10.1f} µs   ratio {t_ours / t_j:6.2f}x"
        else:
            line += "   (jax/optimistix not installed)"
        print(line, flush=True)


def parse(argv=None):
    ap = argparse.ArgumentParser(
        description="DEQ z = tanh(Wz + b): symimplicit.matrix solve + vjp against optimistix "
                    "fixed_point + jax.grad under jit (skipped when jax/optimistix are missing); "
                    "prints µs per call and the ratio, asserts nothing.")
    ap.add_argument("sizes", nargs="*", type=int, metavar="n",
                    help="unknown sizes n to time (default: 10 100 1000)")
    ap.add_argument("--repeat", type=int, default=7,
                    help="timing repeats, ours and theirs interleaved; the best of each is "
                         "printed (default: 7)")
    args = ap.parse_args(argv)
    if any(n < 1 for n in args.sizes):
        ap.error(f"sizes must be positive integers, got {args.sizes}")
    if args.repeat < 1:
        ap.error(f"--repeat must be a positive integer, got {args.repeat}")
    return args.sizes or [10, 100, 1000], args.repeat


if __name__ == "__main__":
    main(*parse())
