"""Benchmark: symimplicit.idiff against sympy.idiff, same calls, one run.

    python benchmarks/idiff.py                  # orders 1-6 (sympy.idiff at 6 takes ~30 s)
    python benchmarks/idiff.py --max-order 5

For y(x) defined by x² + y³ + sin(xy) = 1: the time of ``symimplicit.idiff(eq, y, x, n)``
and of ``sympy.idiff(eq, y, x, n)``, their ratio, and the size (``count_ops``) of both
results.  Every call is cold: SymPy's cache and the memoised universal numerators are
cleared before each one, so no call profits from an earlier row.  The two results are
checked to agree at a rational point (40 digits) before the row is printed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sympy as sp
from sympy.core.cache import clear_cache

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from symimplicit import idiff  # noqa: E402
from symimplicit.derive import implicit_numerator  # noqa: E402


def cold(fn):
    """(value, seconds) of fn() with every cache cleared first."""
    clear_cache()
    implicit_numerator.cache_clear()
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def agree(a, b, point) -> bool:
    va, vb = a.evalf(40, subs=point), b.evalf(40, subs=point)
    return abs(va - vb) <= sp.Float("1e-30", 40) * max(1, abs(vb))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-order", type=int, default=6)
    args = parser.parse_args(argv)
    x, y = sp.symbols("x y")
    eq = x**2 + y**3 + sp.sin(x * y) - 1
    point = {x: sp.Rational(1, 2), y: sp.Rational(7, 10)}
    print("x^2 + y^3 + sin(x y) = 1: d^n y / dx^n, cold caches")
    print(f"{'order':>5} {'symimplicit [s]':>16} {'sympy [s]':>10} {'speed-up':>9} "
          f"{'ops ours':>9} {'ops sympy':>10}")
    for n in range(1, args.max_order + 1):
        ours, t_ours = cold(lambda: idiff(eq, y, x, n))
        theirs, t_theirs = cold(lambda: sp.idiff(eq, y, x, n))
        if not agree(ours, theirs, point):
            raise SystemExit(f"order {n}: the results differ at {point}")
        print(f"{n:>5} {t_ours:>16.3f} {t_theirs:>10.3f} {t_theirs / t_ours:>8.1f}x "
              f"{sp.count_ops(ours):>9} {sp.count_ops(theirs):>10}", flush=True)


if __name__ == "__main__":
    main()
