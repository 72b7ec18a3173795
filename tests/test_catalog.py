"""Every catalog problem: solution and every gradient component against an independent mpmath truth.

The truth (tests/catalog.py) solves a hand-written mpmath residual at 50 digits and
takes central differences; it never sees the SymPy derivation.  Our float64
solution and every tape gradient component must agree to 1e-12 relative.
"""
from __future__ import annotations

import pytest

from catalog import BY_NAME, CATALOG, reference
from symimplicit.tape import Scalar, backward, reset_grad

REL = 1e-12
ABS = 1e-20        # for components that are exactly 0 (the reference has ~1e-31 there)
NAMES = [p.name for p in CATALOG]


def close(ours: float, truth: float) -> bool:
    return abs(ours - truth) <= REL * abs(truth) + ABS


def tape_gradients(layer, values):
    """(solution, gradient rows) through the tape: one backward pass per output."""
    params = [Scalar(v) for v in values]
    out = layer(*params)
    outs = out if isinstance(out, tuple) else (out,)
    rows = []
    for o in outs:
        for P in params:
            P.grad = None
        backward(o)
        rows.append([0.0 if P.grad is None else P.grad for P in params])
        reset_grad(o)
    return [o.value for o in outs], rows


def assert_matches(name, solution, rows):
    truth_x, truth_grad = reference(name)
    for i, (xs, xt) in enumerate(zip(solution, truth_x)):
        assert close(xs, xt), f"{name}: x[{i}] = {xs!r}, reference {xt!r}"
    for i, (row, trow) in enumerate(zip(rows, truth_grad)):
        for j, (g, t) in enumerate(zip(row, trow)):
            assert close(g, t), f"{name}: ∂x[{i}]/∂θ[{j}] = {g!r}, reference {t!r} " \
                                f"(rel {abs(g - t) / abs(t) if t else abs(g):.2e})"


@pytest.mark.parametrize("name", NAMES)
def test_layer_matches_mpmath(name):
    problem = BY_NAME[name]
    layer = problem.statement.primitive(**problem.options)
    solution, rows = tape_gradients(layer, problem.values)
    assert len(solution) == len(problem.statement.unknowns)
    assert_matches(name, solution, rows)


@pytest.mark.parametrize("name", [p.name for p in CATALOG if p.statement.kind == "fixed_point"])
@pytest.mark.parametrize("method", ["iterate", "anderson"])
def test_fixed_point_methods_match_mpmath(name, method):
    problem = BY_NAME[name]
    layer = problem.statement.primitive(method=method, **problem.options)
    solution, rows = tape_gradients(layer, problem.values)
    assert_matches(name, solution, rows)


@pytest.mark.parametrize("name", NAMES)
def test_vectorized_matches_mpmath(name):
    problem = BY_NAME[name]
    lowered = problem.statement.lower(backend="numpy", x0=problem.options.get("x0"))
    x = lowered.solve(*problem.values)
    grad = lowered.gradient(*problem.values)
    if problem.statement.is_vector:
        solution, rows = list(x), [list(r) for r in grad]
    else:
        solution, rows = [float(x)], [list(grad)]
    assert_matches(name, solution, rows)


def test_seed_fixed_point_beats_the_seed():
    """The seed's 'implicit' gradient was right to 7e-8, its unrolled one to 7e-6."""
    seed_implicit = (-0.29747436345601425, -0.402489964016367)
    truth = reference("seed_fixed_point")[1][0]
    layer = BY_NAME["seed_fixed_point"].statement.primitive()
    _, rows = tape_gradients(layer, (1.0, 0.0))
    for ours, seed, t in zip(rows[0], seed_implicit, truth):
        assert abs(ours - t) <= 1e-15 * abs(t) * 10
        assert abs(seed - t) > 1e-8 * abs(t)
