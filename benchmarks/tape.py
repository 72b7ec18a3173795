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

Every (engine, size) is timed in a fresh interpreter, so no engine inherits the
heap another one left behind (run in one process, the 10^6 case came after
micrograd's and autograd's 10^5 garbage and ran 30% slower); ``--same-process``
restores the old single-process run.  The cyclic garbage collector stays on, as a
user has it, for every engine alike; the second table gives the share of each
time spent in its collections (``gc.callbacks``), which is what grows with the
graph: CPython runs a full collection, a walk over every live object, each time
the long-lived objects grow by a quarter, so building an n-node graph walks about
5n objects in cache-missing order.  ``--no-gc`` disables the collector around
every timed run (all engines) to show the scaling without it.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
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


class _GcClock:
    """Seconds spent in the cyclic collector's collections (gc.callbacks; the --clock)."""

    def __init__(self):
        self.total = 0.0
        self._t0 = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._t0 = _clock[0]()
        else:
            self.total += _clock[0]() - self._t0


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = [time.perf_counter]  # what best_time reads (--clock)


def best_time(fn, values, repeats: int, use_gc: bool = True) -> tuple[float, float]:
    """(best time, the seconds of gc collections in that run) over ``repeats`` runs."""
    best, best_gc = float("inf"), 0.0
    now = _clock[0]
    clock = _GcClock()
    gc.callbacks.append(clock)
    try:
        for _ in range(repeats):
            gc.collect()
            clock.total = 0.0
            if not use_gc:
                gc.disable()
            t0 = now()
            fn(values)
            elapsed = now() - t0
            gc.enable()
            if elapsed < best:
                best, best_gc = elapsed, clock.total
    finally:
        gc.callbacks.remove(clock)
        gc.enable()
    return best, best_gc


def repeats_for(size: int) -> int:
    return 50 if size <= 10 ** 3 else (10 if size <= 10 ** 4 else 3)


def measure(name: str, size: int, use_gc: bool, fresh: bool) -> tuple[float, float]:
    """(µs per node, share of it in gc) for one engine at one size."""
    if fresh:  # a new interpreter: the same clean heap for every engine
        cmd = [sys.executable, __file__, "--one", name, str(size), "--clock", _clock_name()]
        cmd += [] if use_gc else ["--no-gc"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return tuple(json.loads(out.strip().splitlines()[-1]))
    values = leaves_for(size)
    n_nodes = 2 * len(values) - 1
    t, t_gc = best_time(ENGINES[name], values, repeats_for(size), use_gc)
    return t / n_nodes * 1e6, t_gc / t


def _clock_name() -> str:
    return next(k for k, v in CLOCKS.items() if v is _clock[0])


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
    parser.add_argument("--no-gc", action="store_true",
                        help="disable the cyclic gc around every timed run (all engines)")
    parser.add_argument("--same-process", action="store_true",
                        help="time every engine and size in this one interpreter")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fresh-interpreter rounds per size, engines interleaved; best kept")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated subset of: " + ", ".join(ENGINES))
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier on a shared machine)")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    use_gc = not args.no_gc
    _clock[0] = CLOCKS[args.clock]
    if args.one:  # the child of a fresh-interpreter measurement: one JSON line
        print(json.dumps(measure(args.one[0], int(args.one[1]), use_gc, fresh=False)))
        return 0
    sizes = [10 ** 3, 10 ** 4, 10 ** 5] + ([] if args.quick else [10 ** 6])
    wanted = [n.strip() for n in args.engines.split(",")]
    unknown = sorted(set(wanted) - set(ENGINES))
    if unknown or "symimplicit" not in wanted:
        parser.error(f"--engines: unknown {unknown} or symimplicit missing")
    names = [n for n in ENGINES if n in wanted and available(n)]
    missing = sorted(set(wanted) - set(names))
    if missing:
        print(f"(not installed, skipped: {', '.join(missing)}; pip install -e '.[bench]')")
    where = ("one interpreter" if args.same_process else
             f"best of {args.rounds} rounds, each cell in a fresh interpreter")
    print(f"python {sys.version.split()[0]}; balanced +/* tree; best of repeats; {where}; "
          f"gc {'on' if use_gc else 'off'}; {args.clock} clock; µs per node (fwd+bwd)")
    header = f"{'nodes':>9} " + " ".join(f"{n:>12}" for n in names) + "   ratios (peer / symimplicit)"
    print(header)
    shares = {}
    for size in sizes:
        n_nodes = 2 * len(leaves_for(size)) - 1
        times = {}
        for _ in range(1 if args.same_process else max(1, args.rounds)):
            for name in names:  # interleaved: a burst of load on the shared machine hits all
                if size > LIMITS.get(name, float("inf")):
                    continue
                t, share = measure(name, size, use_gc, not args.same_process)
                if t < times.get(name, float("inf")):
                    times[name], shares[size, name] = t, share
        cells = " ".join(f"{times[n]:12.3f}" if n in times else f"{'-':>12}" for n in names)
        ours = times["symimplicit"]
        ratios = ", ".join(f"{n} {times[n] / ours:.1f}x" for n in names
                           if n in times and n != "symimplicit")
        print(f"{n_nodes:>9} {cells}   {ratios}", flush=True)
    if use_gc:
        print("\nshare of that time in the cyclic gc's collections:")
        print(header.split("   ratios")[0])
        for size in sizes:
            n_nodes = 2 * len(leaves_for(size)) - 1
            cells = " ".join(f"{shares[size, n]:12.0%}" if (size, n) in shares else f"{'-':>12}"
                             for n in names)
            print(f"{n_nodes:>9} {cells}")
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
