"""The two-precision probe of symimplicit/derive/zero.py: an identically zero expression is
never called nonzero (its rounding noise changes with the precision), a nonzero one is, against
exact SymPy arithmetic computed here."""
from __future__ import annotations

import random

import mpmath as mp
import sympy as sp
from hypothesis import example, given, settings, strategies as st

from symimplicit.derive import is_identically_zero
from symimplicit.derive.zero import _certainly_nonzero, _nonzero_at, sample_point

x, y, a = sp.symbols("x y a", positive=True)
PIECES = [x, y, a, x * y + 1, sp.exp(x), sp.tanh(y + a), sp.sqrt(x + 2), sp.log(a + 1),
          sp.Rational(3, 7), sp.pi]                  # exact: Float arithmetic is not exact


def zero_forms(u, v):
    """Expressions equal to 0 for every value, written so SymPy does not see it."""
    return [sp.expand((u + v) ** 3) - sp.factor((u + v) ** 3, deep=False).expand(),
            sp.exp(sp.log(u * u + 1)) - u * u - 1,
            (u - v) * (u + v) - (u ** 2 - v ** 2),
            sp.tanh(u) - (sp.exp(2 * u) - 1) / (sp.exp(2 * u) + 1),
            sp.sqrt((u + 1) ** 2) - u - 1]


@settings(max_examples=60, deadline=None)
@example(sp.Symbol("a", positive=True), sp.exp(sp.Symbol("x", positive=True)), 10079, 3)
@given(st.sampled_from(PIECES), st.sampled_from(PIECES), st.integers(0, 10 ** 6),
       st.integers(1, 10 ** 6))
def test_zero_is_never_certified_nonzero_and_a_shift_always_is(u, v, seed, q):
    rng = random.Random(seed)
    c = sp.Rational(1, q)                            # a nonzero shift, down to 1e-6
    for e in zero_forms(u, v):
        point = sample_point(e.free_symbols | {x}, rng)
        assert not _certainly_nonzero(e, point), e
        exact = (e + c).xreplace(point)
        assert sp.N(exact, 50) != 0
        # the probe may decline (exp(2x) at x = 233/6 cancels 67 digits, more than it carries);
        # with SymPy's error-tracked evalf behind it the value is always proved nonzero
        assert _nonzero_at(e + c, point), (e, c)


def test_a_hundred_term_row_of_a_tanh_cell_is_decided():
    rng = random.Random(1)
    z = sp.symbols("z1:101", real=True)
    row = sp.tanh(sp.Add(*[sp.Rational(rng.randint(-50, 50), 97) * zj for zj in z]))
    assert not is_identically_zero(z[0] - row)
    assert is_identically_zero(row - row.func(*row.args))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PIECES), st.sampled_from(PIECES), st.sampled_from(PIECES),
       st.integers(0, 10 ** 6))
def test_the_mpmath_walk_equals_sympys_evaluation(u, v, w, seed):
    """The direct mpmath walk of the probe gives SymPy's own 50-digit value (or declines)."""
    from symimplicit.derive.zero import _Undecided, _mpmath_value
    expr = u * v - w / (v + 2) + sp.exp(u - w) * sp.tanh(v) ** 2
    point = sample_point(expr.free_symbols, random.Random(seed))
    try:
        got = _mpmath_value(expr, point, 60)
    except _Undecided:
        return
    want = sp.N(expr.subs(point), 50)
    assert got is not None
    got = sp.Float(mp.nstr(got, 55), 60)                   # all of its 60 digits, not str's 15
    assert abs(got - want) <= abs(want) * sp.Float(10) ** -45


def test_a_large_deq_row_is_decided_by_the_walk():
    """x − tanh(Σ 120 terms): nonzero without SymPy's evaluation; the same sum against a
    shuffled copy of itself: zero (the probes see 0, the expansion confirms)."""
    import symimplicit.derive.zero as zero
    z = sp.symbols("z0:120")
    rng = random.Random(4)
    terms = [sp.Rational(rng.randint(-50, 50), rng.randint(1, 40)) * s for s in z]
    row = sp.tanh(sp.Add(*terms) + a)
    calls = []
    real_probe = zero._probe
    zero._probe = lambda *args: calls.append(1) or real_probe(*args)
    try:
        assert not is_identically_zero(z[0] - row)
        assert calls == []                                  # the walk decided alone
        shuffled = terms[:]
        rng.shuffle(shuffled)
        assert is_identically_zero(sp.Add(*terms) - sp.Add(*shuffled, evaluate=False))
    finally:
        zero._probe = real_probe
