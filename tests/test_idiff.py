"""symimplicit.idiff against sympy.idiff: SymPy's own test_idiff ported, a corpus compared
with sympy.idiff (value and size), and independent truths (explicit solutions, an mpmath
differentiation of a numerical root)."""
from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.core.function import AppliedUndef

from symimplicit import DerivationError, StatementError, idiff
from symimplicit.derive import MAX_ORDER


def _opaque(*exprs):
    """Derivatives and applied functions replaced by fresh symbols (the same in every expr),
    so that expressions in f(x), Derivative(t, x)... can be evaluated at numbers."""
    atoms = set()
    for e in exprs:
        atoms |= e.atoms(sp.Derivative) | e.atoms(AppliedUndef)
    # xreplace replaces whole nodes first: Derivative(f(x), x) is one opaque symbol
    names = {a: sp.Dummy(f"q{i}")
             for i, a in enumerate(sorted(atoms, key=sp.default_sort_key))}
    return [e.xreplace(names) for e in exprs]


def same_value(a, b, points=4, dps=40) -> bool:
    """a == b at random rational points, to 30 digits (mpmath at 40)."""
    a, b = _opaque(sp.sympify(a), sp.sympify(b))
    symbols = sorted(a.free_symbols | b.free_symbols, key=sp.default_sort_key)
    rng = random.Random(7)
    for _ in range(points):
        point = {s: sp.Rational(rng.randint(11, 97), rng.randint(13, 59)) for s in symbols}
        va, vb = (complex(e.evalf(dps, subs=point)) for e in (a, b))
        if abs(va - vb) > 1e-30 * max(1.0, abs(vb)):
            return False
    return True


# --------------------------------------------------------------------------- #
# SymPy's test_idiff (sympy/geometry/tests/test_util.py, SymPy 1.14), ported   #
# --------------------------------------------------------------------------- #

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
t = sp.Symbol("t", real=True)
f = sp.Function("f")
g = sp.Function("g")


def test_circle_third_derivative_as_sympy_states_it():
    circ = x**2 + y**2 - 4
    ans = -3 * x * (x**2 / y**2 + 1) / y**3                      # SymPy's asserted result
    ours = idiff(circ, y, x, 3)
    assert sp.simplify(ours - ans) == 0
    assert sp.simplify(idiff(circ, [y], x, 3) - ans) == 0
    assert sp.count_ops(ours) <= sp.count_ops(ans)
    explicit = 12 * x / sp.sqrt(-x**2 + 4) ** 5
    assert ours.subs(y, sp.solve(circ, y)[0]).equals(explicit)
    # and on both branches against SymPy's diff of the explicit solution
    for branch in sp.solve(circ, y):
        assert sp.simplify(ours.subs(y, branch) - branch.diff(x, 3)) == 0


def test_other_dependent_symbol_gives_its_derivative():
    assert idiff(x + t + y, [y, t], x) == -sp.Derivative(t, x) - 1    # exactly SymPy's


def test_applied_function_as_the_dependent_variable():
    ours = idiff(f(x) * sp.exp(f(x)) - x * sp.exp(x), f(x), x)
    truth = (x + 1) * sp.exp(x) * sp.exp(-f(x)) / (f(x) + 1)
    assert sp.simplify(ours - truth) == 0
    assert ours.has(f(x)) and not ours.free_symbols - {x}


def test_function_and_symbol_dependents_both_ways():
    assert sp.simplify(idiff(f(x) - y * sp.exp(x), [f(x), y], x)
                       - (y + sp.Derivative(y, x)) * sp.exp(x)) == 0
    ours = idiff(f(x) - y * sp.exp(x), [y, f(x)], x)
    assert sp.expand(ours - (-y + sp.Derivative(f(x), x) * sp.exp(-x))) == 0
    assert idiff(f(x) - g(x), [f(x), g(x)], x) == sp.Derivative(g(x), x)


def test_explicit_equation_is_fast_and_exact():
    fxy = y - (-10 * (-sp.sin(x) + 1 / x) ** 2 + sp.tan(x) ** 2 + 2 * sp.cosh(x / 10))
    truth = (-20 * sp.sin(x) * sp.cos(x) + 2 * sp.tan(x) ** 3 + 2 * sp.tan(x)
             + sp.sinh(x / 10) / 5 + 20 * sp.cos(x) / x - 20 * sp.sin(x) / x**2 + 20 / x**3)
    ours = idiff(fxy, y, x)
    assert same_value(ours, truth)
    assert sp.simplify(ours - truth) == 0


# --------------------------------------------------------------------------- #
# against sympy.idiff: same value, never larger                                #
# --------------------------------------------------------------------------- #

X, Y, A, B = sp.symbols("x y a b")
CORPUS = [
    X**2 + Y**2 - 4,
    X**2 + Y**3 + sp.sin(X * Y) - 1,
    sp.exp(X * Y) - X - Y,
    Y**5 + X * Y - 1,
    A * X**2 + B * Y**2 - 1,
    sp.log(X + Y) - X * Y,
    sp.cos(X) + sp.sin(Y) - A,
    Y * sp.exp(Y) - X,
    X**3 + Y**3 - 3 * A * X * Y,
    sp.tan(X + Y) - X,
    Y - X * sp.cos(Y),
]


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("eq", CORPUS, ids=str)
def test_same_as_sympy_idiff_and_never_larger(eq, order):
    ours, theirs = idiff(eq, Y, X, order), sp.idiff(eq, Y, X, order)
    assert same_value(ours, theirs)
    assert sp.count_ops(ours) <= sp.count_ops(theirs)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_list_of_dependents_matches_sympy_at_higher_orders(order):
    T = sp.Symbol("t")
    eq = X**2 * T + Y**3 + Y * T**2 - X
    ours, theirs = idiff(eq, [Y, T], X, order), sp.idiff(eq, [Y, T], X, order)
    assert ours.has(sp.Derivative(T, X)) and (order < 2 or ours.has(sp.Derivative(T, (X, 2))))
    assert same_value(ours, theirs)
    assert sp.count_ops(ours) <= sp.count_ops(theirs)


def test_applied_function_with_constants_where_sympy_idiff_fails():
    # sympy.idiff(f(x) ... a ..., f(x), x) raises NameError (its `dep` is unset for functions)
    h = sp.Function("h")
    ours = idiff(h(X) ** 3 + A * X * h(X) - 1, h(X), X, 2)
    Z = sp.Symbol("z")
    truth = sp.idiff(Z**3 + A * X * Z - 1, Z, X, 2).subs(Z, h(X))
    assert same_value(ours, truth)


def test_eq_is_accepted():
    assert idiff(sp.Eq(X**2 + Y**2, 4), Y, X, 2) == idiff(X**2 + Y**2 - 4, Y, X, 2)


def test_function_name_clash_with_a_dependent_symbol():
    # eq applies a function named t and lists the symbol t as a dependent: kept apart
    T, tf = sp.Symbol("t"), sp.Function("t")
    eq = Y + T * tf(X) - X**2
    ours = idiff(eq, [Y, T], X)
    truth = 2 * X - sp.Derivative(T, X) * tf(X) - T * sp.Derivative(tf(X), X)
    assert sp.expand(ours - truth) == 0


# --------------------------------------------------------------------------- #
# independent truths                                                           #
# --------------------------------------------------------------------------- #

INVERTIBLE = [lambda u: u + u**3, sp.exp, lambda u: u**3 + 2 * u, sp.sinh]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=st.lists(st.integers(-4, 4).filter(bool), min_size=3, max_size=3),
       h=st.sampled_from(range(len(INVERTIBLE))), order=st.integers(1, 3),
       at=st.fractions(min_value=-2, max_value=2, max_denominator=7))
def test_explicit_solutions_hypothesis(c, h, order, at):
    """h(y) = h(g(x)) with h invertible has y = g(x): dⁿy/dxⁿ is SymPy's diff of g."""
    solution = c[0] * X + c[1] * X**2 / 3 + sp.sin(c[2] * X)
    H = INVERTIBLE[h]
    ours = idiff(H(Y) - H(solution), Y, X, order)
    point = sp.Rational(at.numerator, at.denominator)
    with mpmath.workdps(40):
        got = sp.lambdify((X, Y), ours, "mpmath")(point, solution.subs(X, point).evalf(45))
        want = solution.diff(X, order).evalf(40, subs={X: point})
        assert abs(got - want) <= mpmath.mpf("1e-30") * max(1, abs(want))


def test_order_five_against_mpmath_differentiating_a_numerical_root():
    eq = X**2 + Y**3 + sp.sin(X * Y) - 1
    ours = idiff(eq, Y, X, 5)
    residual = sp.lambdify((X, Y), eq, "mpmath")
    with mpmath.workdps(60):
        x0 = mpmath.mpf("0.5")
        root = lambda s: mpmath.findroot(lambda u: residual(s, u), mpmath.mpf("0.7"))  # noqa: E731
        y0 = root(x0)
        truth = mpmath.diff(root, x0, 5)
        got = sp.lambdify((X, Y), ours, "mpmath")(x0, y0)
        assert abs(got - truth) < mpmath.mpf("1e-25") * abs(truth)


# --------------------------------------------------------------------------- #
# bad input: typed errors that are ValueErrors, where sympy.idiff raises too   #
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("bad_y", [2, sp.sin(X), X + Y, [], [Y, 3]], ids=str)
def test_bad_dependent_is_a_statement_error(bad_y):
    with pytest.raises(StatementError) as info:
        idiff(X**2 + Y**2 - 1, bad_y, X)
    assert isinstance(info.value, ValueError)


def test_sympy_raises_value_error_where_we_raise_typed_errors():
    with pytest.raises(ValueError):
        sp.idiff(X**2 + Y**2 - 1, 2, X)
    with pytest.raises(StatementError, match="expecting x-dependent"):
        idiff(X**2 + Y**2 - 1, 2, X)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_bad_order_is_a_derivation_error(n):
    with pytest.raises(DerivationError, match="positive integer"):
        idiff(X**2 + Y**2 - 1, Y, X, n)


def test_order_above_the_maximum_is_a_derivation_error():
    with pytest.raises(DerivationError, match=str(MAX_ORDER)):
        idiff(X**2 + Y**2 - 1, Y, X, MAX_ORDER + 1)


@pytest.mark.parametrize("bad_x", [2, X + 1, "x"], ids=str)
def test_bad_variable_is_a_derivation_error(bad_x):
    with pytest.raises(DerivationError, match="Symbol"):
        idiff(X**2 + Y**2 - 1, Y, bad_x)


def test_other_bad_input():
    with pytest.raises(StatementError, match="does not occur"):
        idiff(X + 1, Y, X)                                   # sympy.idiff returns zoo
    with pytest.raises(StatementError, match="parse"):
        idiff("x**2 + y**2 - 1", Y, X)                       # text is never sympified
    with pytest.raises(StatementError, match="not applied to"):
        idiff(f(t) + X, f(t), X)
    with pytest.raises(StatementError, match="differential equation"):
        idiff(f(X).diff(X) + f(X), f(X), X)
    with pytest.raises(StatementError, match="variable of differentiation"):
        idiff(X**2 + Y**2 - 1, [Y, X], X)
    with pytest.raises(DerivationError, match="singular"):
        idiff(sp.sin(Y)**2 + sp.cos(Y)**2 - X, Y, X)        # F_y = 0 for every y
