"""Benchmark: symimplicit's implicit derivatives against sympy.idiff.

    python benchmarks/derive.py                 # idiff up to order 5
    python benchmarks/derive.py --idiff-max 7   # idiff up to 7 (slow: tens of seconds)

For y(x) defined by x² + y³ + sin(xy) = 1, orders 1-7: time of
``Root(...).derive().derivative(x, ..., x)`` (a fresh Derivation each order, cold
per-equation caches) against ``sympy.idiff(eq, y, x, n)``, their ratio and the
size (``count_ops``) of both results.  Then Kepler's equation E - e sin E = M,
orders 1-8 in M (ours, and idiff up to --idiff-max).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from symimplicit.derive import implicit_numerator  # noqa: E402
from symimplicit.statements import Root  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def ours(eq, unknown, params, param, order):
    implicit_numerator.cache_clear()          # cold: no numerators from earlier rows
    return Root(eq, unknown, params).derive().derivative(*[param] * order)


def table(title, eq, unknown, params, param, orders, idiff_max):
    print(title)
    print(f"{'order':>5} {'ours [s]':>10} {'idiff [s]':>10} {'speed-up':>9} "
          f"{'ops ours':>9} {'ops idiff':>10}")
    for n in orders:
        mine, t_mine = timed(lambda: ours(eq, unknown, params, param, n))
        row = f"{n:>5} {t_mine:>10.3f}"
        if n <= idiff_max:
            theirs, t_theirs = timed(lambda: sp.idiff(eq, unknown, param, n))
            row += (f" {t_theirs:>10.3f} {t_theirs / t_mine:>8.1f}x"
                    f" {sp.count_ops(mine):>9} {sp.count_ops(theirs):>10}")
        else:
            row += f" {'-':>10} {'-':>9} {sp.count_ops(mine):>9} {'-':>10}"
        print(row, flush=True)
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idiff-max", type=int, default=5,
                        help="highest order to time sympy.idiff at (default 5)")
    args = parser.parse_args(argv)
    x, y, E, e, M = sp.symbols("x y E e M")
    table("x^2 + y^3 + sin(x y) = 1, d^n y / dx^n", x**2 + y**3 + sp.sin(x * y) - 1,
          y, (x,), x, range(1, 8), args.idiff_max)
    table("Kepler E - e sin E = M, d^n E / dM^n", E - e * sp.sin(E) - M,
          E, (e, M), M, range(1, 9), args.idiff_max)


if __name__ == "__main__":
    main()
