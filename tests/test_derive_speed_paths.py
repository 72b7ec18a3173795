"""Values of the fast scalar derivative path (issue #12): partials by the chain-rule
gradient, the numerator substituted by :func:`symimplicit.derive.numerators.horner` with
the partials' common factors pulled out, no global ``factor_terms``.

The truth is independent of the Comtet numerators: SymPy's own repeated implicit
differentiation (d^T/dθ_T of F(u(θ), θ) = 0 with u an undefined function, solved for the
highest derivative one multi-index at a time, numerically at 50 digits), and ``sympy.idiff``
itself at low orders.  Values are compared at random rational points (x, y), which need not
lie on the curve: the formulas in the partials of F are identities off it too.
"""
from __future__ import annotations

import itertools
from functools import lru_cache

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symimplicit.derive import implicit_numerator
from symimplicit.derive.numerators import horner
from symimplicit.statements import Root

x, y, E, e, M, a, b = sp.symbols("x y E e M a b")
DPS = 50
TOL = mp.mpf(10) ** -25

# name: (residual, unknown, params, the multi-indices tested)
CURVES = {
    "issue12": (x**2 + y**3 + sp.sin(x * y) - 1, y, (x,)),
    "circle": (x**2 + y**2 - 1, y, (x,)),
    "exp": (sp.exp(x * y) + y - x, y, (x,)),
    "quintic": (y**5 + x * y + x**3 - 1, y, (x,)),
    "lambert": (y * sp.exp(y) - x, y, (x,)),
    "cos": (sp.cos(x + y) - x * y, y, (x,)),
    "negative powers": (x / y + y**2 - sp.Rational(3, 7) * x**2, y, (x,)),
    "roots and floats": (sp.sqrt(x) * y**3 + sp.Float(0.5) * y - sp.exp(2 * x * y), y, (x,)),
    "kepler": (E - e * sp.sin(E) - M, E, (e, M)),
    "cubic": (a * x**3 + b * x - 1, x, (a, b)),
}
SINGLE = [name for name, (_, _, p) in CURVES.items() if len(p) == 1]


@lru_cache(maxsize=None)
def derivation(name):
    F, u, params = CURVES[name]
    return Root(F, u, params).derive()


@lru_cache(maxsize=None)
def ours(name, S):
    """Our derivative, lambdified for mpmath."""
    F, u, params = CURVES[name]
    value = derivation(name).derivative(*[params[j] for j in S])
    return sp.lambdify((u,) + params, value, "mpmath")


@lru_cache(maxsize=None)
def implicit_equations(name, S):
    """For every sub-multiset T of S (by size): (d_T, G_T) with d^T F(u(θ), θ)/dθ_T =
    G_T(u, θ, {d_T'}) linear in d_T, its coefficient F_u; G_T lambdified at d_T = 0."""
    F, u, params = CURVES[name]
    U = sp.Function("U")(*params)
    G = F.subs(u, U)
    subs = sorted({tuple(sorted(c)) for k in range(1, len(S) + 1)
                   for c in itertools.combinations(S, k)}, key=lambda T: (len(T), T))
    names = {T: sp.Symbol("d_" + "_".join(map(str, T))) for T in subs}
    steps = []
    for T in subs:
        GT = sp.diff(G, *[params[j] for j in T])
        # every Derivative of U is some lower d_T' (or d_T itself, set to 0 here)
        table = {}
        for d in GT.atoms(sp.Derivative):
            index = tuple(sorted(params.index(v) for v, n in d.variable_count
                                 for _ in range(n)))
            table[d] = sp.S.Zero if index == T else names[index]
        GT = GT.xreplace(table).xreplace({U: u})
        args = (u,) + params + tuple(names[T2] for T2 in subs)
        steps.append((T, sp.lambdify(args, GT, "mpmath")))
    Fu = sp.lambdify((u,) + params, sp.diff(F, u), "mpmath")
    return subs, steps, Fu


def reference(name, S, point):
    """∂^S u at the point by repeated implicit differentiation, at DPS digits."""
    subs, steps, Fu = implicit_equations(name, S)
    values = {T: mp.mpf(0) for T in subs}
    fu = Fu(*point)
    for T, GT in steps:
        values[T] = -GT(*point, *[values[T2] for T2 in subs]) / fu     # F_u d_T + G_T = 0
    return values[S]


def close(mine, truth) -> bool:
    return abs(mine - truth) <= TOL * max(1, abs(truth))


def rational():
    return st.fractions(min_value=sp.Rational(1, 5), max_value=3, max_denominator=60)


def mpf(q):
    return mp.mpf(q.numerator) / q.denominator


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SINGLE), order=st.integers(1, 7), u=rational(), t=rational())
def test_single_parameter_orders_1_to_7_match_repeated_implicit_differentiation(
        name, order, u, t):
    S = (0,) * order
    with mp.workdps(DPS):
        point = (mpf(u), mpf(t))
        fu = implicit_equations(name, S)[2](*point)
        if abs(fu) < mp.mpf(10) ** -3:
            return                                    # too near F_u = 0 to compare
        assert close(ours(name, S)(*point), reference(name, S, point))


MIXED = [("kepler", S) for S in [(0,), (1,), (0, 1), (1, 1, 1), (0, 0, 1, 1), (0, 1, 1, 1, 1),
                                 (1,) * 6, (1,) * 7, (0,) * 5]] + \
        [("cubic", S) for S in [(0, 1), (0, 0, 1), (0, 1, 1, 1), (0, 0, 1, 1, 1), (0,) * 6]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(MIXED), u=rational(), p=rational(), q=rational())
def test_two_parameters_and_mixed_partials_match(case, u, p, q):
    name, S = case
    with mp.workdps(DPS):
        point = (mpf(u), mpf(p), mpf(q))
        fu = implicit_equations(name, S)[2](*point)
        if abs(fu) < mp.mpf(10) ** -3:
            return
        assert close(ours(name, S)(*point), reference(name, S, point))


@pytest.mark.parametrize("name,order", [("issue12", 1), ("issue12", 2), ("issue12", 3),
                                        ("circle", 4), ("exp", 3), ("quintic", 3),
                                        ("cos", 3)])
def test_equals_sympy_idiff(name, order):
    F, u, params = CURVES[name]
    theirs = sp.lambdify((u,) + params, sp.idiff(F, u, params[0], order), "mpmath")
    with mp.workdps(DPS):
        for point in [(mp.mpf(2) / 3, mp.mpf(5) / 7), (mp.mpf(9) / 4, mp.mpf(1) / 3),
                      (mp.mpf(11) / 13, mp.mpf(17) / 5)]:
            assert close(ours(name, (0,) * order)(*point), theirs(*point))


def test_a_fresh_derivation_gives_the_same_value():
    # derivation(name) above memoises lower orders; a cold one must agree at order 6
    F, u, params = CURVES["issue12"]
    implicit_numerator.cache_clear()
    cold = Root(F, u, params).derive().derivative(x, 6)
    cold_f = sp.lambdify((y, x), cold, "mpmath")
    with mp.workdps(DPS):
        point = (mp.mpf(3) / 4, mp.mpf(2) / 5)
        assert close(cold_f(*point), reference("issue12", (0,) * 6, point))


def test_issue12_sizes_no_larger_than_before():
    # count_ops of derivative(x, n) for x² + y³ + sin(xy) = 1 before issue #12's change
    # (horner over placeholders, then factor_terms of the whole numerator)
    before = {1: 13, 2: 56, 3: 169, 4: 478, 5: 1229, 6: 3038}
    d = derivation("issue12")
    for n, ops in before.items():
        assert sp.count_ops(d.derivative(x, n)) <= ops


# --------------------------------------------------------------------------- #
# horner alone: the nested form equals the plain sum of the substituted terms  #
# --------------------------------------------------------------------------- #
POOL = [x, y, x + 1, 2 * y**2, -3 * x / y, (x + y)**2, sp.Rational(3, 2) * x * (y - 1),
        x**2 * y**-3, -(x - 2 * y), 7 * x * y * (x + 1)**2]
KEYS = [(i, (0,) * j) for i in range(3) for j in range(3)]

polynomials = st.dictionaries(
    st.lists(st.tuples(st.sampled_from(KEYS), st.integers(1, 3)), min_size=1, max_size=4,
             unique_by=lambda t: t[0]).map(lambda m: tuple(sorted(m))),
    st.integers(-40, 40).filter(bool), min_size=1, max_size=25)


@settings(max_examples=80, deadline=None)
@given(poly=polynomials, values=st.lists(st.sampled_from(POOL), min_size=len(KEYS),
                                         max_size=len(KEYS)))
def test_horner_equals_the_plain_sum_exactly(poly, values):
    value = dict(zip(KEYS, values)).__getitem__
    plain = sp.Add(*[c * sp.Mul(*[value(k) ** p for k, p in mono]) for mono, c in poly.items()])
    nested = horner(poly, value)
    point = {x: sp.Rational(5, 7), y: sp.Rational(-11, 3)}
    assert nested.xreplace(point) == plain.xreplace(point)            # exact rationals
    point = {x: sp.Rational(13, 2), y: sp.Rational(2, 9)}
    assert nested.xreplace(point) == plain.xreplace(point)


def test_horner_with_symbolic_and_fractional_powers():
    value = {(0, ()): sp.exp(x) * sp.sqrt(y), (1, ()): x**sp.Rational(1, 3) * (y + 1),
             (0, (0,)): sp.exp(2 * x) / y, (1, (0,)): sp.Float(0.5) * x}.__getitem__
    poly = {(((0, ()), 2), ((1, ()), 1)): 3, (((0, (0,)), 1), ((1, ()), 2)): -2,
            (((0, ()), 1), ((1, (0,)), 3)): 5, (((1, (0,)), 1),): 1}
    plain = sp.Add(*[c * sp.Mul(*[value(k) ** p for k, p in mono]) for mono, c in poly.items()])
    nested = horner(poly, value)
    with mp.workdps(DPS):
        args = (mp.mpf(7) / 3, mp.mpf(5) / 11)
        f, g = (sp.lambdify((x, y), ex, "mpmath") for ex in (nested, plain))
        assert close(f(*args), g(*args))
