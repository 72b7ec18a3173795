"""Implicit layers against the seed's approaches, ratios in one run.

    python benchmarks/layers.py           # about 10 s
    python benchmarks/layers.py --quick   # fewer repetitions

(1) The seed's fixed point x = cos(ax + b) at (a, b) = (1, 0): forward + backward
    through our FixedPoint primitive vs differentiating through the iterations on
    our tape (the seed's ``iterativefixedpoint``: a 126-node trace).
(2) The seed's parameter fit (``random.seed(314)``, 100 argmin layers per gradient
    step): our derived Minimize primitive vs the seed's own ``Minimize`` Function
    (``symimplicit.seed``: its code, running on ``symimplicit.tape``): time per gradient
    step, and the recovered a.
(3) Microseconds per call of a scalar implicit layer, forward + backward.
"""
from __future__ import annotations

import argparse
import random
import time

import sympy as sp

from symimplicit import FixedPoint, Minimize, Root
from symimplicit.seed import SeedMinimize, cosaxb, dquadraticdx, iterativefixedpoint, quadratic
from symimplicit.tape import Plus, Pow, Scalar, Sum, Times, backward, trace

TRUE_A = 1.1964312751315314


def best_of(fn, repeat: int, number: int) -> float:
    """Seconds per call of ``fn``: the best of ``repeat`` runs of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


# -- (1) fixed point -----------------------------------------------------------------------
def bench_fixed_point(repeat: int, number: int) -> float:
    x, a, b = sp.symbols("x a b")
    layer = FixedPoint(sp.cos(a * x + b), x, (a, b)).primitive(warm_start=False)

    def unrolled():
        A, B = Scalar(1), Scalar(0)
        X = iterativefixedpoint(A, B, fun=cosaxb)
        backward(X)
        return X, A, B

    def ours():
        A, B = Scalar(1.0), Scalar(0.0)
        X = layer(A, B)
        backward(X)
        return X, A, B

    X, A, B = unrolled()
    Xo, Ao, Bo = ours()
    t_unrolled, t_ours = best_of(unrolled, repeat, number), best_of(ours, repeat, number * 10)
    print("(1) fixed point x = cos(ax + b) at (1, 0), forward + backward")
    print(f"    unrolled on the tape : {len(trace(X)):4d} nodes  {t_unrolled * 1e6:9.1f} µs  "
          f"da = {A.grad!r}")
    print(f"    FixedPoint primitive : {len(trace(Xo)):4d} nodes  {t_ours * 1e6:9.1f} µs  "
          f"da = {Ao.grad!r}  (cold start, {layer.last_iterations} Newton iterations)")
    ratio = t_unrolled / t_ours
    print(f"    ratio {ratio:.1f}x  (issue: >= 10x)")
    return ratio


# -- (2) the seed's fit ----------------------------------------------------------------------
def seed_data(n: int = 100):
    """The seed's data: ``random.seed(314)``, truea = 1 + random(), b uniform in [-1, 1)."""
    random.seed(314)
    truea = 1 + random.random()
    bs = [2 * random.random() - 1 for _ in range(n)]
    return truea, bs


def loss_of(xhats, xs):
    return Sum(*[Pow(Plus(xhat, Times(Scalar(-1), Scalar(x))), p=2) for xhat, x in zip(xhats, xs)])


def seed_step(ahat, bs, xs):
    """One gradient step of the seed's fit with the seed's Minimize Function."""
    sa = Scalar(ahat)
    xhats = [SeedMinimize(sa, Scalar(b), fun=quadratic, dfundx=dquadraticdx, x0=0, lr=0.1,
                          max_iter=1000) for b in bs]
    backward(loss_of(xhats, xs))
    return sa.grad


def make_our_step(layer):
    def step(ahat, bs, xs):
        """One gradient step with the derived Minimize primitive."""
        sa = Scalar(ahat)
        xhats = [layer(sa, b) for b in bs]
        backward(loss_of(xhats, xs))
        return sa.grad
    return step


def fit(step, bs, xs, lr=0.05, ahat=1.5, gtol=1e-14, max_steps=1000):
    """The seed's loop: ahat ← ahat - lr ∂loss/∂a until |∂loss/∂a| < gtol."""
    for k in range(1, max_steps + 1):
        grad = step(ahat, bs, xs)
        ahat -= lr * grad
        if abs(grad) < gtol:
            return ahat, k
    return ahat, max_steps


def bench_fit(repeat: int) -> float:
    x, a, b = sp.symbols("x a b")
    layer = Minimize(a * x**2 + b * x, x, (a, b)).primitive()
    our_step = make_our_step(layer)
    truea, bs = seed_data()
    assert truea == TRUE_A
    xs = [layer.solve(truea, bi) for bi in bs]                   # exact data (the seed's were loose)
    t_seed = best_of(lambda: seed_step(1.5, bs, xs), max(1, repeat // 2), 1)
    t_ours = best_of(lambda: our_step(1.5, bs, xs), repeat, 10)
    ahat, steps = fit(our_step, bs, xs)
    print("(2) the seed's fit: 100 argmin layers + loss + backward per gradient step")
    print(f"    seed's Minimize on our tape : {t_seed * 1e3:9.2f} ms / step")
    print(f"    derived Minimize primitive  : {t_ours * 1e3:9.3f} ms / step")
    ratio = t_seed / t_ours
    print(f"    ratio {ratio:.0f}x  (issue: >= 30x)")
    print(f"    fitted a = {ahat!r} after {steps} steps; true a = {truea!r}; "
          f"|error| = {abs(ahat - truea):.2e}  (issue: <= 1e-10)")
    return ratio


# -- (3) µs per call -----------------------------------------------------------------------------
def bench_per_call(repeat: int, number: int) -> None:
    E, e, M, x, a, b = sp.symbols("E e M x a b")
    cases = [
        ("Kepler E - e sin E = M", Root(E - e * sp.sin(E) - M, E, (e, M)), (0.3, 1.1), {"x0": 1.1}),
        ("fixed point x = cos(ax+b)", FixedPoint(sp.cos(a * x + b), x, (a, b)), (1.0, 0.0), {}),
        ("argmin a x² + b x", Minimize(a * x**2 + b * x, x, (a, b)), (2.0, -1.0), {}),
    ]
    print("(3) scalar implicit layer, forward + backward per call")
    for label, statement, values, options in cases:       # (no warm starts: they could change
        layer = statement.primitive(**options)             # the root, and were removed)

        def call():
            params = [Scalar(v) for v in values]
            backward(layer(*params))

        call()
        t = best_of(call, repeat, number)
        print(f"    {label:28s} {t * 1e6:6.1f} µs ({layer.last_iterations} iterations)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    repeat, number = (3, 20) if args.quick else (5, 100)
    r1 = bench_fixed_point(repeat, number)
    r2 = bench_fit(repeat)
    bench_per_call(repeat, number * 10)
    print(f"ratios: fixed point {r1:.1f}x (>= 10x), seed fit {r2:.0f}x (>= 30x)")


if __name__ == "__main__":
    main()
