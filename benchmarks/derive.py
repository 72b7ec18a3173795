"""Benchmark: symimplicit's implicit derivatives against sympy.idiff.

    python benchmarks/derive.py                        # idiff up to order 6 (~1 min)
    python benchmarks/derive.py --idiff-max 7          # idiff at 7 too, cut at --timeout
    python benchmarks/derive.py --idiff-max 0          # ours only

For y(x) defined by x² + y³ + sin(xy) = 1, orders 1-7: time of
``Root(...).derive().derivative(x, ..., x)`` against ``sympy.idiff(eq, y, x, n)``, their
ratio and the size (``count_ops``) of both results.  Then Kepler's equation
E - e sin E = M, orders 1-8 in M.

Every measurement runs in a fresh interpreter (``multiprocessing`` spawn: SymPy imported,
the statement built, then the clock started), so caches are cold, as on a user's first
call.  ``sympy.idiff`` is stopped after ``--timeout`` seconds; the row then shows the
bound (``>60.0``) and the speed-up as a lower bound.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])

CURVES = {
    "issue12": ("x**2 + y**3 + sin(x*y) - 1", "y", ("x",), "x"),
    "kepler": ("E - e*sin(E) - M", "E", ("e", "M"), "M"),
}


def _measure(which, curve, order, queue):
    """In a fresh interpreter: (seconds, count_ops) of one derivative, cold caches."""
    sys.path.insert(0, ROOT)
    import time

    import sympy as sp
    from symimplicit.statements import Root

    text, unknown, params, param = CURVES[curve]
    names = {n: sp.Symbol(n) for n in (unknown, *params)}
    eq = sp.parse_expr(text, local_dict={**names, "sin": sp.sin})
    u, ps, p = names[unknown], tuple(names[n] for n in params), names[param]
    start = time.perf_counter()
    if which == "ours":
        value = Root(eq, u, ps).derive().derivative(*[p] * order)
    else:
        value = sp.idiff(eq, u, p, order)
    seconds = time.perf_counter() - start
    queue.put((seconds, sp.count_ops(value)))


def measure(which, curve, order, timeout=None):
    """(seconds, ops) from a fresh interpreter, or (None, None) after ``timeout`` s."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(which, curve, order, queue), daemon=True)
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, None
    return queue.get()


def table(title, curve, orders, idiff_max, timeout):
    print(title)
    print(f"{'order':>5} {'ours [s]':>10} {'idiff [s]':>10} {'speed-up':>9} "
          f"{'ops ours':>9} {'ops idiff':>10}")
    for n in orders:
        t_mine, ops_mine = measure("ours", curve, n)
        row = f"{n:>5} {t_mine:>10.3f}"
        if n <= idiff_max:
            t_theirs, ops_theirs = measure("idiff", curve, n, timeout)
            if t_theirs is None:                      # cut: a lower bound on the speed-up
                row += (f" {'>' + format(timeout, '.1f'):>10} "
                        f"{'>' + format(timeout / t_mine, '.0f'):>8}x {ops_mine:>9} {'-':>10}")
            else:
                row += (f" {t_theirs:>10.3f} {t_theirs / t_mine:>8.1f}x"
                        f" {ops_mine:>9} {ops_theirs:>10}")
        else:
            row += f" {'-':>10} {'-':>9} {ops_mine:>9} {'-':>10}"
        print(row, flush=True)
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idiff-max", type=int, default=6,
                        help="highest order to time sympy.idiff at (default 6)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds after which one sympy.idiff call is stopped")
    args = parser.parse_args(argv)
    table("x^2 + y^3 + sin(x y) = 1, d^n y / dx^n", "issue12", range(1, 8),
          args.idiff_max, args.timeout)
    table("Kepler E - e sin E = M, d^n E / dM^n", "kepler", range(1, 9),
          args.idiff_max, args.timeout)


if __name__ == "__main__":
    main()
