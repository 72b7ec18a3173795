"""Issue 10: large expression sets lower in time linear in their size (hash-consed CSE and a
memoised renaming); the generated code still evaluates every expression to float64 accuracy
(against SymPy's own evalf at 30 digits) and user names still cannot reach it."""
from __future__ import annotations

import random

import numpy as np
import pytest
import sympy as sp

from symimplicit.lower.codegen import FAST_CSE_FROM, cse_for, lambdify_many, shared_subtrees


def tanh_cell(n: int, seed: int = 5, names: str = "z"):
    rng = random.Random(seed)
    z = sp.symbols(f"{names}1:{n + 1}", real=True)
    u = sp.symbols(f"u1:{n + 1}", real=True)
    F = [z[i] - sp.tanh(sum(sp.Rational(rng.randint(-5, 5), 10) * z[j] for j in range(n)) + u[i])
         for i in range(n)]
    J = [sp.diff(f, zj) for f in F for zj in z]
    return F + J, list(z) + list(u)


def test_large_sets_take_the_linear_cse_and_evaluate_right():
    exprs, args = tanh_cell(13)
    assert len(exprs) >= FAST_CSE_FROM and cse_for(exprs) is shared_subtrees
    for backend in ("math", "numpy"):
        fn = lambdify_many(exprs, args, backend)
        rng = np.random.default_rng(1)
        for _ in range(3):
            point = rng.uniform(-1, 1, len(args))
            got = fn(*point)
            subs = dict(zip(args, map(sp.Float, point)))
            for k in rng.choice(len(exprs), 25, replace=False):
                want = float(exprs[k].evalf(30, subs=subs))
                assert float(got[k]) == pytest.approx(want, rel=4e-15, abs=4e-16), (backend, k)


def test_shared_subtrees_is_a_cse():
    x, y = sp.symbols("x y")
    e1, e2 = sp.sin(x + y) * sp.exp(x + y), sp.sin(x + y) + 1
    reps, reduced = shared_subtrees([e1, e2])
    temps = dict(reps)
    assert any(v == x + y for v in temps.values())                 # x + y shared, named once
    assert any(v.has(sp.sin) for v in temps.values())
    back = [r.subs(list(reversed(reps))) for r in reduced]
    assert [sp.simplify(b - e) for b, e in zip(back, [e1, e2])] == [0, 0]


def test_user_names_like_the_temporaries_are_harmless():
    """Unknowns named _c0, _c1, ... (the CSE's temporaries) and _s0 cannot shadow anything."""
    exprs, args = tanh_cell(13, names="_c")
    fn = lambdify_many(exprs, args, "math")
    ref, _ = tanh_cell(13)
    ref_fn = lambdify_many(ref, tanh_cell(13)[1], "math")
    point = np.linspace(-0.5, 0.5, len(args))
    assert fn(*point) == ref_fn(*point)
