"""Benchmark: deriving a system's derivatives, the linear-solve form against the old adjugate.

    python benchmarks/systems.py            # n = 2, 4, 6, 50, 200 (the n = 200 row takes ~1 min)
    python benchmarks/systems.py --max-n 50

For the tanh DEQ cell z = tanh(W z + u) with numeric W (random rationals), the time of
``derive().derivative(uᵢ)`` for every uᵢ (a fresh statement each row; statement
construction timed apart), and the size of what is derived: ``count_ops`` where it is
feasible, and the DAG size (distinct sub-expressions, what CSE sees) always, beside the
size of ∂F/∂z and ∂F/∂θ.  Then all second derivatives at n = 6, and the old path
(symimplicit.derive at 4502c82: symbolic adjugate / det) at n = 2 and 4; at n = 6 the old
path took more than 300 s and is not run.  Layer and lowering speed: benchmarks/systems_layers.py.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
import types
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from symimplicit import FixedPoint  # noqa: E402


def cell(n, seed=1):
    rng = random.Random(seed)
    z, u = sp.symbols(f"z1:{n + 1}"), sp.symbols(f"u1:{n + 1}")
    W = [[sp.Rational(rng.randint(-9, 9), 10 * n) for _ in range(n)] for _ in range(n)]
    f = [sp.tanh(sp.Add(*[W[i][k] * z[k] for k in range(n)]) + u[i]) for i in range(n)]
    return f, z, u


def dag_size(exprs) -> int:
    """Distinct non-atomic sub-expressions (each counted once, as CSE would)."""
    seen, stack = set(), list(exprs)
    while stack:
        e = stack.pop()
        if not isinstance(e, sp.Basic) or e.is_Atom or e in seen:
            continue
        seen.add(e)
        stack.extend(e.args)
    return len(seen)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def old_module():
    """The pre-split derive.py (symbolic adjugate), loaded from git."""
    source = subprocess.run(["git", "show", "4502c82:symimplicit/derive.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("old_derive")
    sys.modules["old_derive"] = module            # its dataclasses look their module up
    exec(compile(source, "old_derive.py", "exec"), module.__dict__)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=200)
    args = parser.parse_args(argv)
    print("tanh DEQ cell z = tanh(W z + u), first derivatives w.r.t. every u_i")
    print(f"{'n':>4} {'statement [s]':>13} {'derive [s]':>10} {'count_ops':>10} "
          f"{'DAG nodes':>10} {'DAG of J, dF/du':>16}")
    for n in [k for k in (2, 4, 6, 50, 200) if k <= args.max_n]:
        f, z, u = cell(n)
        st, t_st = timed(lambda: FixedPoint(f, list(z), list(u)))
        d = st.derive()
        out, t = timed(lambda: [d.derivative(p) for p in u])
        ops = sp.count_ops(out[-1]) if n <= 6 else "-"
        base = dag_size(list(d.jacobian) + list(d.param_jacobian))
        print(f"{n:>4} {t_st:>13.3f} {t:>10.3f} {ops!s:>10} {dag_size(out):>10} {base:>16}",
              flush=True)
    f, z, u = cell(6)
    d = FixedPoint(f, list(z), list(u)).derive()
    out, t = timed(lambda: [d.derivative(u[i], u[j]) for i in range(6) for j in range(i, 6)])
    print(f"\nn = 6, all 21 second derivatives: {t:.3f} s, DAG nodes {dag_size(out)}")
    x = sp.symbols("x1:4")
    cell3 = [sp.tanh(x[0] / 3 - x[1] / 5 + u[0]), sp.tanh(x[1] / 4 + x[2] / 7 + u[1]),
             sp.tanh(x[0] / 6 + x[2] / 2 + u[2])]
    d3 = FixedPoint(cell3, list(x), list(u[:3])).derive()
    out, t = timed(lambda: [d3.derivative(u[i], u[j]) for i in range(3) for j in range(i, 3)])
    print(f"n = 3, mixed second derivatives: {t:.3f} s, DAG nodes {dag_size(out)}")
    print("\nold path (symbolic adjugate, 4502c82), first derivatives w.r.t. every u_i")
    old = old_module()
    for n in (2, 4):
        f, z, u = cell(n)
        st = FixedPoint(f, list(z), list(u))
        dn = st.derive()
        new, t_new = timed(lambda: [dn.derivative(p) for p in u])
        do = old.Derivation(st)
        prev, t_old = timed(lambda: [do.derivative(p) for p in u])
        print(f"n = {n}: old {t_old:.3f} s, count_ops {sp.count_ops(prev[-1])}; "
              f"new {t_new:.3f} s, count_ops {sp.count_ops(new[-1])} "
              f"({t_old / t_new:.0f}x faster)", flush=True)
    print("n = 6: old path > 300 s (measured on main for issue 10), not run")


if __name__ == "__main__":
    main()
