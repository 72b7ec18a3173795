"""Issue 9: layers and lowered statements pickle with the standard pickle (the code is
generated again on load), so process pools work without cloudpickle."""
from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from symimplicit import FixedPoint, Root
from symimplicit.tape import Scalar, backward

x, y, a, b = sp.symbols("x y a b")
SEED = FixedPoint(sp.cos(a * x + b), x, (a, b))
SYSTEM = Root([x**2 + y**2 - a, x - y - b], [x, y], (a, b))


def _solve_in_worker(layer, values):
    return layer.solve(*values)


def _sweep_in_worker(lowered, A, B):
    return lowered.gradient(A, B)


def test_layer_round_trip_gives_identical_numbers():
    for statement, options, values in ((SEED, {}, (1.0, 0.0)),
                                       (SYSTEM, {"x0": (1.0, 0.5)}, (2.0, 0.3))):
        layer = statement.primitive(**options)
        clone = pickle.loads(pickle.dumps(layer))
        assert clone.solve(*values) == layer.solve(*values)
        P, Q = [Scalar(v) for v in values], [Scalar(v) for v in values]
        out, out2 = layer(*P), clone(*Q)
        first = out[0] if isinstance(out, tuple) else out
        first2 = out2[0] if isinstance(out2, tuple) else out2
        backward(first)
        backward(first2)
        assert [p.grad for p in P] == [q.grad for q in Q]


def test_seed_value_after_round_trip_matches_mpmath():
    clone = pickle.loads(pickle.dumps(SEED.primitive()))
    with mp.workdps(40):
        want = mp.findroot(lambda t: t - mp.cos(t), 0.7)
    assert clone.solve(1.0, 0.0) == pytest.approx(float(want), rel=4e-16)


def test_lowered_round_trip_and_process_pool():
    lowered = SEED.lower()
    A, B = np.linspace(0.2, 1.2, 7), np.linspace(-1, 1, 7)
    clone = pickle.loads(pickle.dumps(lowered))
    assert np.array_equal(clone.gradient(A, B), lowered.gradient(A, B))
    layer = SYSTEM.primitive(x0=(1.0, 0.5))
    with ProcessPoolExecutor(max_workers=2) as pool:
        remote = pool.submit(_solve_in_worker, layer, (2.0, 0.3)).result(timeout=120)
        sweep = pool.submit(_sweep_in_worker, lowered, A, B).result(timeout=120)
    assert remote == layer.solve(2.0, 0.3)
    assert np.array_equal(sweep, lowered.gradient(A, B))
