"""Tape speed and memory: µs per node (forward + backward) against peers, in one run.

    pip install -e '.[bench]'
    python benchmarks/tape.py            # 10^3 .. 10^6 nodes
    python benchmarks/tape.py --quick    # 10^3 .. 10^5 nodes

The graph is a balanced binary tree over random leaves, levels alternating
``a + b`` and ``a * b`` (2L - 1 nodes for L leaves), built and differentiated
identically by every engine:

* symimplicit.tape (this project),
* micrograd (Karpathy's engine.py, the peer named in the issue),
* HIPS autograd (``autograd.grad`` of the same function, boxes on floats;
  leaves enter as v_i * t so that all of them are on its tape),
* "seed": the seed notebook's algorithm (a Scalar with a Function of
  forward/partials and a trace that looks nodes up in a list), re-implemented
  here from its observable behaviour for comparison only; its trace is quadratic
  so it runs up to 10^4 nodes.

Also: a floor (a hand-written float reverse pass over arrays: no graph objects),
memory per node (tracemalloc), and a 10^6-node chain on our tape (micrograd's
recursive topological sort cannot do it).
"""
from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc

from symimplicit.tape import Scalar, backward


# -- the workload -------------------------------------------------------------------
def leaves_for(n_nodes: int, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(0.9, 1.1) for _ in range((n_nodes + 1) // 2)]


def balanced(xs: list):
    """Reduce pairwise, levels alternating + and *; works on any number type."""
    level, multiply = list(xs), False
    while len(level) > 1:
        nxt = [level[i] * level[i + 1] if multiply else level[i] + level[i + 1]
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level, multiply = nxt, not multiply
    return level[0]


def run_symimplicit(values):
    xs = [Scalar(v) for v in values]
    y = balanced(xs)
    backward(y)
    return y.value, xs[0].grad


def run_micrograd(values):
    from micrograd.engine import Value
    xs = [Value(v) for v in values]
    y = balanced(xs)
    y.backward()
    return y.data, xs[0].grad


def run_autograd(values):
    import autograd.numpy as anp  # noqa: F401  (autograd needs its numpy wrapper loaded)
    from autograd import grad

    # Every leaf must be on autograd's tape as in the other engines; indexing a
    # boxed list is O(n) per element in its backward pass, so the leaves are
    # v_i * t with t the differentiated input (one extra node per leaf: the
    # µs-per-node figure is, if anything, flattering to autograd).
    def f(t):
        return balanced([v * t for v in values])

    return None, grad(f)(1.0)


def run_floor(values):
    """Reverse pass over flat arrays: what the same arithmetic costs with no node objects."""
    n = len(values)
    val = list(values)
    left, right, mul = [-1] * n, [-1] * n, [False] * n
    level, multiply = list(range(n)), False
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            a, b = level[i], level[i + 1]
            val.append(val[a] * val[b] if multiply else val[a] + val[b])
            left.append(a), right.append(b), mul.append(multiply)
            nxt.append(len(val) - 1)
        if len(level) % 2:
            nxt.append(level[-1])
        level, multiply = nxt, not multiply
    g = [0.0] * len(val)
    g[-1] = 1.0
    for k in range(len(val) - 1, n - 1, -1):
        a, b, gk = left[k], right[k], g[k]
        if mul[k]:
            g[a] += gk * val[b]
            g[b] += gk * val[a]
        else:
            g[a] += gk
            g[b] += gk
    return val[-1], g[0]


# -- the seed's algorithm (for comparison only) ------------------------------------
class SeedScalar:
    def __init__(self, value, parents=(), fn=None):
        self.value, self.grad, self.parents, self.fn = value, None, parents, fn

    def __add__(self, o):
        return SeedScalar(self.value + o.value, (self, o), "add")

    def __mul__(self, o):
        return SeedScalar(self.value * o.value, (self, o), "mul")


def seed_trace(x):
    order = []

    def visit(node):  # recursive, with a linear search of a list: quadratic
        if node in order:
            return
        for p in node.parents:
            visit(p)
        order.append(node)

    visit(x)
    return order[::-1]


def run_seed(values):
    xs = [SeedScalar(v) for v in values]
    y = balanced(xs)
    order = seed_trace(y)
    for n in order:
        n.grad = None
    y.grad = 1
    for n in order:
        if n.fn is None:
            continue
        a, b = n.parents
        da, db = (1, 1) if n.fn == "add" else (b.value, a.value)
        a.grad = n.grad * da + (a.grad or 0)
        b.grad = n.grad * db + (b.grad or 0)
    return y.value, xs[0].grad


# -- measurement -------------------------------------------------------------------
ENGINES = {
    "symimplicit": run_symimplicit,
    "micrograd": run_micrograd,
    "autograd": run_autograd,
    "seed": run_seed,
    "floor": run_floor,
}
LIMITS = {"seed": 10_000, "autograd": 300_000}


def best_time(fn, values, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn(values)
        best = min(best, time.perf_counter() - t0)
    return best


def bytes_per_node(fn, values, n_nodes: int) -> float:
    """Peak traced allocation while building + differentiating, per node."""
    gc.collect()
    tracemalloc.start()
    fn(values)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / n_nodes


def available(name: str) -> bool:
    module = {"micrograd": "micrograd", "autograd": "autograd"}.get(name)
    if module is None:
        return True
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def chain(n: int) -> float:
    """Time forward+backward of x_{k+1} = x_k * c + c on our tape (depth n)."""
    t0 = time.perf_counter()
    x0 = Scalar(1.0)
    x = x0
    for _ in range(n):
        x = x * 0.999999 + 1e-6
    backward(x)
    assert abs(x0.grad - 0.999999 ** n) < 1e-9
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10^5 nodes")
    args = parser.parse_args(argv)
    sizes = [10 ** 3, 10 ** 4, 10 ** 5] + ([] if args.quick else [10 ** 6])
    names = [n for n in ENGINES if available(n)]
    missing = sorted(set(ENGINES) - set(names))
    if missing:
        print(f"(not installed, skipped: {', '.join(missing)}; pip install -e '.[bench]')")
    print(f"python {sys.version.split()[0]}; balanced +/* tree; best of repeats; µs per node (fwd+bwd)")
    header = f"{'nodes':>9} " + " ".join(f"{n:>12}" for n in names) + "   ratios (peer / symimplicit)"
    print(header)
    for size in sizes:
        values = leaves_for(size)
        n_nodes = 2 * len(values) - 1
        repeats = 5 if size <= 10 ** 4 else (3 if size <= 10 ** 5 else 1)
        times = {}
        for name in names:
            if size > LIMITS.get(name, float("inf")):
                continue
            times[name] = best_time(ENGINES[name], values, repeats) / n_nodes * 1e6
        cells = " ".join(f"{times[n]:12.3f}" if n in times else f"{'-':>12}" for n in names)
        ours = times["symimplicit"]
        ratios = ", ".join(f"{n} {times[n] / ours:.1f}x" for n in names
                           if n in times and n != "symimplicit")
        print(f"{n_nodes:>9} {cells}   {ratios}")
    values = leaves_for(10 ** 5)
    n_nodes = 2 * len(values) - 1
    print("\nmemory, bytes per node (peak traced, build + backward, 10^5 nodes):")
    for name in names:
        if name in ("autograd", "floor"):
            continue
        print(f"  {name:>12}: {bytes_per_node(ENGINES[name], values, n_nodes):8.0f}")
    depth = 10 ** 6
    print(f"\nchain of {depth:,} nodes (x = 0.999999 x + 1e-6), forward + backward on our tape: "
          f"{chain(depth):.2f} s (no recursion)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
