"""Derivation: closed forms, idiff agreement, vectors, conditions, steps, and every
order against an independent truth (mpmath's numerical derivative of the
high-precision solution map)."""
import time

import mpmath as mp
import pytest
import sympy as sp

from symimplicit.derive import zero as zero_module
from symimplicit.derive import Derivation, Step, implicit_numerator, is_identically_zero
from symimplicit.errors import DerivationError
from symimplicit.statements import FixedPoint, Minimize, Root

x, y, a, b, c, d, p, q, r, e, E, M, w, z = sp.symbols("x y a b c d p q r e E M w z")


def same(expr1, expr2):
    return sp.simplify(expr1 - expr2) == 0


def close(expr1, expr2, point, digits=30):
    """Equal at a point to `digits` significant digits (high-precision evalf)."""
    v1, v2 = (sp.N(sp.sympify(ex).subs(point), 50) for ex in (expr1, expr2))
    return abs(v1 - v2) <= 10 ** (-digits) * max(1, abs(v2))


# --------------------------------------------------------------------------- #
# the contract of DESIGN.md                                                    #
# --------------------------------------------------------------------------- #

def test_fixed_point_contract():
    d_ = FixedPoint(sp.cos(a * x + b), unknown=x, params=(a, b)).derive()
    assert isinstance(d_, Derivation)
    s = sp.sin(a * x + b)
    assert same(d_.derivative(a), -x * s / (1 + a * s))
    assert d_.derivative(a) == -x * s / (a * s + 1)          # compact as written
    assert d_.conditions == [sp.Eq(a * s + 1, 0)]
    assert same(d_.derivative(b), -s / (1 + a * s))
    assert d_.jacobian == sp.Matrix([[1 + a * s]])
    assert d_.param_jacobian == sp.Matrix([[x * s, s]])


# --------------------------------------------------------------------------- #
# closed forms                                                                 #
# --------------------------------------------------------------------------- #

def test_circle_first_second_order_and_singular_point():
    d_ = Root(x**2 + y**2 - r**2, y, (x, r)).derive()
    assert same(d_.derivative(x), -x / y)
    # y'' = -(x² + y²)/y³ = -r²/y³ on the circle
    assert same(d_.derivative(x, x), -(x**2 + y**2) / y**3)
    assert d_.conditions == [sp.Eq(y, 0)]
    assert d_.conditions[0].subs(y, 0) is sp.true             # (±r, 0): vertical tangent


def test_folium_of_descartes():
    d_ = Root(x**3 + y**3 - 3 * a * x * y, y, (x, a)).derive()
    assert same(d_.derivative(x), (a * y - x**2) / (y**2 - a * x))
    (cond,) = d_.conditions
    assert sp.simplify(cond.lhs / (y**2 - a * x)).is_number   # singular where y² = a x
    # the origin is a singular point of the folium: the condition holds there
    assert cond.subs({x: 0, y: 0}) is sp.true


def test_kepler_closed_form():
    d_ = Root(E - e * sp.sin(E) - M, E, (e, M)).derive()
    assert same(d_.derivative(M), 1 / (1 - e * sp.cos(E)))
    assert same(d_.derivative(e), sp.sin(E) / (1 - e * sp.cos(E)))
    assert same(d_.derivative(M, M), -e * sp.sin(E) / (1 - e * sp.cos(E)) ** 3)


def test_lambert_w():
    d_ = Root(w * sp.exp(w) - z, w, (z,)).derive()
    # on w e^w = z, dw/dz = w / (z (1 + w))
    assert same(d_.derivative(z).subs(sp.exp(w), z / w), w / (z * (1 + w)))
    W = sp.LambertW(z)
    assert close(d_.derivative(z).subs(w, W), sp.diff(W, z), {z: sp.Rational(7, 3)})


def test_argmin_quadratic():
    d_ = Minimize(a * x**2 + b * x, x, (a, b)).derive()
    at = {x: -b / (2 * a)}                                     # x* = -b/(2a)
    assert same(d_.derivative(a).subs(at), b / (2 * a**2))
    assert same(d_.derivative(b), -1 / (2 * a))
    assert same(d_.derivative(a, a).subs(at), sp.diff(-b / (2 * a), a, 2))
    assert d_.conditions == [sp.Eq(a, 0), a <= 0]
    assert d_.second_order == [a > 0]


def test_projection_onto_a_line_under_a_constraint():
    # closest point to (p, q) on y = c x + d
    m = Minimize((x - p) ** 2 + (y - q) ** 2, [x, y], (p, q, c, d), constraints=[y - c * x - d])
    d_ = m.derive()
    xs = (p + c * (q - d)) / (1 + c**2)
    closed = {x: xs, y: c * xs + d}
    explicit = d_.derivative(p, explicit=True)          # the solve expanded
    assert (explicit - sp.Matrix([1 / (c**2 + 1), c / (c**2 + 1)])).applyfunc(sp.simplify) \
        == sp.zeros(2, 1)
    for wrt in [(q,), (c,), (d,), (p, c), (c, c), (c, d, q)]:
        got = d_.derivative(*wrt, explicit=True)
        assert got.shape == (2, 1) and d_.derivative(*wrt).shape == (2, 1)                             # x's rows only, no multiplier
        lam = m.multipliers[0]
        lam_closed = 2 * (q - closed[y])                       # from ∂L/∂y = 0
        want = [sp.diff(closed[v], *wrt) for v in (x, y)]
        for g, w_ in zip(got, want):
            assert same(g.subs({lam: lam_closed}).subs(closed), w_), wrt
    assert d_.conditions == [sp.Eq(c**2 + 1, 0), c**2 + 1 <= 0]
    assert d_.second_order == [c**2 + 1 > 0]


# --------------------------------------------------------------------------- #
# against sympy.idiff and in size                                              #
# --------------------------------------------------------------------------- #

CURVES = [x**2 + y**3 + sp.sin(x * y) - 1, x**3 + y**3 - 3 * x * y, y * sp.exp(y) - x,
          sp.cos(x + y) - x * y**2]


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_agrees_with_idiff(curve, order):
    ours = Root(curve, y, (x,)).derive().derivative(*[x] * order)
    theirs = sp.idiff(curve, y, x, order)
    for point in ({x: sp.Rational(3, 7), y: sp.Rational(-5, 4)}, {x: 2, y: sp.Rational(1, 3)}):
        assert close(ours, theirs, point, digits=35)


def test_no_larger_than_idiff_and_memoised():
    curve = CURVES[0]
    d_ = Root(curve, y, (x,)).derive()
    for n in (1, 2, 3, 4):
        ours = d_.derivative(*[x] * n)
        assert sp.count_ops(ours) <= sp.count_ops(sp.idiff(curve, y, x, n)), n
    assert d_.derivative(x, 4) is d_.derivative(x, x, x, x)


def test_comtet_numerator_term_counts():
    # number of terms of the n-th implicit derivative (OEIS A162326 row sums: 1, 3, 9, 24, 61, 145)
    assert [len(implicit_numerator((0,) * n)[0]) for n in range(1, 7)] == [1, 3, 9, 24, 61, 145]
    assert [implicit_numerator((0,) * n)[1] for n in range(1, 5)] == [1, 3, 5, 7]


# --------------------------------------------------------------------------- #
# every order against mpmath (independent truth)                               #
# --------------------------------------------------------------------------- #

def _kepler_solution(e0, M0):
    return mp.findroot(lambda E_: E_ - e0 * mp.sin(E_) - M0, M0 + e0 * mp.sin(M0))


def _agree_digits(formula, values, truth):
    got = sp.N(formula.subs(values), 60)
    return -mp.log10(abs((mp.mpf(str(got)) - truth) / truth))


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_kepler_any_order_against_mpmath(order):
    d_ = Root(E - e * sp.sin(E) - M, E, (e, M)).derive()
    with mp.workdps(70):
        e0, M0 = mp.mpf(3) / 10, mp.mpf(11) / 10
        truth = mp.diff(lambda m_: _kepler_solution(e0, m_), M0, order)
        E0 = _kepler_solution(e0, M0)
        digits = _agree_digits(d_.derivative(*[M] * order),
                               {E: sp.Float(str(E0), 70), e: sp.Rational(3, 10),
                                M: sp.Rational(11, 10)}, truth)
    assert digits > 20


@pytest.mark.parametrize("wrt, orders",
                         [((e, M), (1, 1)), ((e, e, M), (2, 1)), ((e, e, e), (3, 0))])
def test_kepler_mixed_against_mpmath(wrt, orders):
    d_ = Root(E - e * sp.sin(E) - M, E, (e, M)).derive()
    with mp.workdps(70):
        e0, M0 = mp.mpf(3) / 10, mp.mpf(11) / 10
        truth = mp.diff(_kepler_solution, (e0, M0), orders)
        E0 = _kepler_solution(e0, M0)
        digits = _agree_digits(d_.derivative(*wrt), {E: sp.Float(str(E0), 70),
                                                     e: sp.Rational(3, 10), M: sp.Rational(11, 10)},
                               truth)
    assert digits > 20


def test_fixed_point_second_and_third_order_against_mpmath():
    d_ = FixedPoint(sp.cos(a * x + b), x, (a, b)).derive()

    def solution(a_, b_):
        return mp.findroot(lambda x_: x_ - mp.cos(a_ * x_ + b_), 0.7)

    with mp.workdps(70):
        a0, b0 = mp.mpf(1), mp.mpf("0.25")
        x0 = solution(a0, b0)
        for wrt, orders in [((a, a), (2, 0)), ((a, b, b), (1, 2)), ((a, a, a, b), (3, 1))]:
            truth = mp.diff(solution, (a0, b0), orders)
            digits = _agree_digits(d_.derivative(*wrt), {x: sp.Float(str(x0), 70), a: 1,
                                                         b: sp.Rational(1, 4)}, truth)
            assert digits > 20, wrt


# --------------------------------------------------------------------------- #
# vector unknowns                                                              #
# --------------------------------------------------------------------------- #

def test_vector_jacobians_by_hand():
    d_ = Root([x + y - a, x * y - b], [x, y], (a, b)).derive()
    assert d_.jacobian == sp.Matrix([[1, 1], [y, x]])
    assert d_.param_jacobian == sp.Matrix([[-1, 0], [0, -1]])
    # -J⁻¹ F_θ = [[1, 1], [y, x]]⁻¹
    want = sp.Matrix([[1, 1], [y, x]]).inv()
    assert (d_.gradient() - want).applyfunc(sp.simplify) == sp.zeros(2, 2)
    assert d_.conditions == [sp.Eq(x - y, 0)]


@pytest.mark.parametrize("wrt", [(a,), (b,), (a, b), (a, a), (b, b), (a, a, b)])
def test_vector_higher_orders_against_closed_form(wrt):
    # x, y = (a ± √(a² - 4b))/2 solve x + y = a, x y = b
    s = sp.sqrt(a**2 - 4 * b)
    closed = {x: (a + s) / 2, y: (a - s) / 2}
    got = Root([x + y - a, x * y - b], [x, y], (a, b)).derive().derivative(*wrt, explicit=True)
    point = {a: 5, b: sp.Rational(3, 2)}
    for g, v in zip(got, (x, y)):
        assert close(g.subs(closed), sp.diff(closed[v], *wrt), point)


@pytest.mark.parametrize("wrt", [(a,), (a, b), (a, a, b)])
def test_vector_route_matches_scalar_route(wrt):
    F = x - sp.cos(a * x + b)
    scalar = Root(F, x, (a, b)).derive().derivative(*wrt)
    vector = Root([F, y - a * b], [x, y], (a, b)).derive().derivative(*wrt, explicit=True)
    point = {x: sp.Rational(3, 5), a: sp.Rational(7, 5), b: sp.Rational(1, 3)}
    assert close(vector[0], scalar, point)


def test_vector_minimize_conditions_are_leading_minors():
    d_ = Minimize(a * x**2 + x * y + b * y**2, [x, y], (a, b)).derive()
    assert d_.second_order == [a > 0, 4 * a * b - 1 > 0]
    assert sp.Eq(4 * a * b - 1, 0) in d_.conditions


def test_identically_singular_jacobian_raises():
    d_ = Root([x + y - a, 2 * x + 2 * y - b], [x, y], (a, b)).derive()
    with pytest.raises(DerivationError, match="singular"):
        d_.derivative(a)


# --------------------------------------------------------------------------- #
# arguments                                                                    #
# --------------------------------------------------------------------------- #

def test_derivative_arguments():
    d_ = FixedPoint(sp.cos(a * x + b), x, (a, b)).derive()
    assert d_.derivative(a, 2) == d_.derivative(a, a)
    assert d_.derivative(b, a) == d_.derivative(a, b)            # mixed partials commute
    assert d_.derivative("a") == d_.derivative(a)
    assert d_.derivative((a, b)) == d_.derivative(a, b)
    with pytest.raises(DerivationError, match="not a parameter"):
        d_.derivative(c)
    with pytest.raises(DerivationError, match="at least one"):
        d_.derivative()
    with pytest.raises(DerivationError, match="repeat count"):
        d_.derivative(2)
    assert d_.gradient().shape == (1, 2)
    assert d_.derivative(a, sp.Integer(2)) == d_.derivative(a, a)   # SymPy integers count


@pytest.mark.parametrize("args, fragment", [
    ((z,), r"z is not a parameter of FixedPoint\(cos\(a\*x \+ b\).*the parameters are \(a, b\)"),
    (("z",), r"z is not a parameter .*\(a, b\)"),
    ((x,), r"x is an unknown, not a parameter .*\(a, b\)"),
    ((a, 0), r"repeat count 0 \(after a\) .*at least 1.*\(a, b\)"),
    ((a, -2), r"repeat count -2 \(after a\)"),
    ((0,), r"repeat count 0 must follow a parameter"),
    ((1.5,), r"got 1\.5 \(float\); the parameters of .* are \(a, b\)"),
    ((a**2,), r"got a\*\*2 \(Pow\)"),
    ((None,), r"got None \(NoneType\)"),
    ((a, 2.0), r"got 2\.0 \(float\)"),
    ((a, True), r"got True \(bool\)"),
    ((a, 10**9), r"total order above 20"),           # refused before any allocation
    (tuple([a] * 21), r"total order above 20"),
])
def test_bad_derivative_arguments_name_the_parameter_and_the_params(args, fragment):
    d_ = FixedPoint(sp.cos(a * x + b), x, (a, b)).derive()
    with pytest.raises(DerivationError, match=fragment):
        d_.derivative(*args)


def test_no_parameters_is_said():
    d_ = Root(x**3 - 2, x).derive()
    with pytest.raises(DerivationError, match="it has no parameters"):
        d_.derivative(a)


# --------------------------------------------------------------------------- #
# the invertibility test is cheap, decided once, and still right              #
# --------------------------------------------------------------------------- #

def test_is_identically_zero():
    assert is_identically_zero(sp.S.Zero) and not is_identically_zero(sp.Integer(3))
    assert is_identically_zero((x + a) ** 2 - x**2 - 2 * a * x - a**2)         # small: expand
    assert not is_identically_zero(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1 + x)
    hidden = (x + a) ** 12 - sp.expand((x + a) ** 12)                        # large, yet 0
    assert is_identically_zero(hidden) and is_identically_zero(hidden * sp.exp(x) + 0)
    start = time.perf_counter()
    assert not is_identically_zero((x + a) ** 1000000 - x)                   # never expanded
    assert not is_identically_zero((x + a + b + c) ** 1000 - (x + b) ** 999)
    assert not is_identically_zero(sp.exp(-1000 * x) * (x + a) ** 50)        # tiny, not 0
    assert time.perf_counter() - start < 20     # loose guard: expand would never finish


def test_big_powers_from_sympy_do_not_hang_derive(monkeypatch):
    calls = []
    real = zero_module.is_identically_zero
    monkeypatch.setattr(zero_module, "is_identically_zero",
                        lambda e: calls.append(e) or real(e))
    start = time.perf_counter()
    d_ = Root(x**2 - (x + a) ** 1000000, x).derive()       # hung in sp.expand(det)
    first = d_.derivative(a)
    assert first.has((x + a) ** 999999)
    d_.derivative(a, 2)
    d_.derivative(a, 3)
    d2 = Root(x**2 - (x + a + b + c) ** 1000, x, (a, b, c)).derive()
    d2.derivative(a, b)
    assert time.perf_counter() - start < 30             # loose guard against unbounded work
    assert len(calls) == 2                              # once per derivation, not per order


def test_hidden_identically_singular_jacobian_still_raises():
    hidden = (x + a) ** 12 - sp.expand((x + a) ** 12)    # 0, though not written as 0
    d_ = Root(hidden + a - b, x, (a, b)).derive()
    assert d_.jacobian != sp.zeros(1, 1)
    with pytest.raises(DerivationError, match="singular for every value"):
        d_.derivative(a)


# --------------------------------------------------------------------------- #
# abs, sign: real symbols work, complex ones get a hint                        #
# --------------------------------------------------------------------------- #

def test_abs_of_complex_symbols_asks_for_real_symbols():
    with pytest.raises(DerivationError, match=r"not declared real: a, x.*real=True"):
        Root(x - sp.Abs(a * x) - 1, x).derive().derivative(a)
    with pytest.raises(DerivationError, match=r"with respect to a .*not declared real: a\b"):
        Root(x - sp.sign(a) * x / 3 - 1, x).derive().derivative(a)


def test_abs_and_sign_of_real_symbols_differentiate():
    xr, ar = sp.symbols("x a", real=True)
    d_ = Root(xr - sp.Abs(ar * xr) - 1, xr).derive()
    assert d_.derivative(ar) == xr * sp.sign(ar * xr) / (1 - ar * sp.sign(ar * xr))
    second = d_.derivative(ar, 2)
    assert not second.has(sp.DiracDelta, sp.Derivative, sp.re, sp.im)
    assert d_.conditions == [sp.Eq(1 - ar * sp.sign(ar * xr), 0), sp.Eq(ar * xr, 0)]
    d_ = Root(xr - sp.sign(ar) * xr / 3 - 1, xr).derive()
    assert d_.derivative(ar) == 0 and sp.Eq(ar, 0) in d_.conditions     # flat off a = 0


def test_single_unknown_in_a_list_gives_a_matrix():
    d_ = Root([x**2 - a], [x], (a,)).derive()
    assert d_.derivative(a) == sp.Matrix([1 / (2 * x)])


# --------------------------------------------------------------------------- #
# steps                                                                        #
# --------------------------------------------------------------------------- #

def test_steps_record_the_derivation_in_order():
    d_ = FixedPoint(sp.cos(a * x + b), x, (a, b)).derive()
    kinds = [s.kind for s in d_.steps]
    block = ["differentiate", "partials", "collect", "solve", "result"]
    assert kinds == ["statement"] + block + block + ["condition"]
    assert all(isinstance(s, Step) for s in d_.steps)
    X = sp.Function("x")(a, b)
    differentiate = d_.steps[1]
    assert differentiate.wrt == (a,)
    assert differentiate.equations[0].has(sp.Derivative(X, a))
    result = d_.steps[5]
    assert result.equations == (sp.Eq(sp.Derivative(X, a), d_.derivative(a)),)
    assert d_.steps[-1].equations == tuple(d_.conditions)
    for s in d_.steps:
        for eq in s.equations:
            sp.latex(eq)                                          # printable


def test_higher_order_steps_appear_once_computed():
    d_ = Root(E - e * sp.sin(E) - M, E, (e, M)).derive()
    assert "higher_order" not in [s.kind for s in d_.steps]
    d_.derivative(M, M, e)
    (high,) = [s for s in d_.steps if s.kind == "higher_order"]
    assert high.wrt == (e, M, M)
    chain = [s.wrt for s in d_.steps_for(M, M, e) if s.kind == "higher_order"]
    assert chain == [(e, M), (e, M, M)]


def test_vector_steps_are_matrix_equations():
    m = Minimize((x - p) ** 2 + (y - q) ** 2, [x, y], (p, q), constraints=[x + y - 1])
    steps = m.derive().steps
    assert [s.kind for s in steps][:2] == ["statement", "differentiate"]
    result = [s for s in steps if s.kind == "result"][0]
    assert result.equations[0].rhs.shape == (3, 1)         # (x, y, λ): J is the KKT matrix
    for s in steps:
        for eq in s.equations:
            sp.latex(eq)


def test_step_kind_is_checked():
    with pytest.raises(ValueError):
        Step("nonsense", "text")
