"""The interval machinery under certify: every rule encloses the function's values on random
boxes (points sampled in the box, evaluated by mpmath at 60 digits), domains are refused
with typed errors, and the Krawczyk / linear-system / positive-definiteness proofs hold
on problems with exact answers."""
from __future__ import annotations

from fractions import Fraction

import mpmath as mp
import pytest
import sympy as sp

from symimplicit.errors import DomainError
from symimplicit.precision.interval import hi, iv, ivprec, lo
from symimplicit.precision.interval_program import IntervalProgram, UnsupportedFunctionError
from symimplicit.precision.krawczyk import (NotProved, cholesky_proves_pd, enclose_linear,
                                            enclose_root, prove_minimum)

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

x, y = sp.symbols("x y")

# (expression, the box it is sampled on: lo, hi range of the left end)
EXPRESSIONS = [
    (x ** 2 - 3 * x * y + y ** 3, (-3, 3)),
    (sp.exp(x) * sp.sin(y) + sp.cos(x * y), (-3, 3)),
    (sp.tan(x / 4), (-3, 3)),
    (sp.tanh(x) - sp.sinh(y) / 7 + sp.cosh(x) / 9, (-3, 3)),
    (sp.atan(x) + sp.asinh(y), (-3, 3)),
    (sp.asin(x / 4) + sp.acos(y / 4), (-3, 3)),
    (sp.atanh(x / 4), (-3, 3)),
    (sp.Abs(x - y) + sp.Max(x, y) - sp.Min(x, 2 * y), (-3, 3)),
    (sp.sqrt(x) + x ** sp.Rational(1, 3) + sp.log(x) + 1 / x ** 2, (0.1, 3)),
    (x ** y + sp.acosh(1 + x), (0.1, 3)),
    (sp.Float("0.1", 30) * x + sp.pi * y - sp.E + sp.Rational(1, 3), (-3, 3)),
    (sp.sec(x / 3) + sp.cot(x + 4) + sp.csc(x + 4), (-1, 1)),
]


@pytest.mark.parametrize("expr, box", EXPRESSIONS, ids=[str(e)[:30] for e, _ in EXPRESSIONS])
def test_rules_enclose_sampled_values(expr, box):
    prog = IntervalProgram([expr], [x, y])
    f = sp.lambdify([x, y], expr, "mpmath")

    @settings(max_examples=40, deadline=None)
    @given(st.floats(*box), st.floats(*box), st.floats(0, 0.5), st.floats(0, 0.5),
           st.floats(0, 1), st.floats(0, 1))
    def check(x0, y0, wx, wy, tx, ty):
        with mp.workdps(60):                                   # exact ends: x0 + wx unrounded
            xe, ye = mp.mpf(x0) + mp.mpf(wx), mp.mpf(y0) + mp.mpf(wy)
        with ivprec(30):
            X, Y = iv.mpf([x0, xe]), iv.mpf([y0, ye])
            try:
                (out,) = prog([X, Y])
            except DomainError:
                return                                         # refused: claims nothing
        with mp.workdps(60):
            px, py = mp.mpf(x0) + mp.mpf(tx) * wx, mp.mpf(y0) + mp.mpf(ty) * wy
            value = f(px, py)
            assert lo(out) <= value <= hi(out), (x0, y0, wx, wy, out, value)

    check()


@pytest.mark.parametrize("expr, where", [
    (sp.log(x), "log"), (1 / x, "division by an interval containing 0"), (sp.sqrt(x), "sqrt"),
    (sp.asin(2 * x + 1), "asin"), (sp.tan(10 * x), "tan"), (x ** sp.Rational(1, 3), "power"),
    (sp.acosh(x), "acosh"), (sp.atanh(x + 0.95), "atanh")])
def test_a_box_outside_the_domain_is_refused(expr, where):
    with ivprec(20), pytest.raises(DomainError, match=where):
        IntervalProgram([expr], [x])([iv.mpf([-0.1, 0.2])])


def test_functions_without_a_rule_are_named():
    with pytest.raises(UnsupportedFunctionError, match="gamma"):
        IntervalProgram([sp.gamma(x) + 1], [x])
    with pytest.raises(UnsupportedFunctionError, match="Piecewise"):
        IntervalProgram([sp.Piecewise((x, x > 0), (0, True))], [x])
    with pytest.raises(DomainError, match="not one of the variables"):
        IntervalProgram([x + y], [x])


def test_common_subexpressions_are_evaluated_once():
    e = sp.sin(x + y)
    prog = IntervalProgram([e ** 2 + e, sp.cos(e)], [x, y])
    assert sum(1 for _, node, _, _ in prog._code if node == e) == 1


# --------------------------------------------------------------------------- #
# Krawczyk                                                                      #
# --------------------------------------------------------------------------- #
def _poly_program(coeffs):
    expr = sum(c * x ** k for k, c in enumerate(coeffs))
    F = IntervalProgram([expr], [x])
    J = IntervalProgram([sp.diff(expr, x)], [x])
    return (lambda Z: F(Z)), (lambda Z: [J(Z)])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-9, 9).filter(lambda v: v != 0), min_size=1, max_size=4, unique=True),
       st.floats(-1e-6, 1e-6))
def test_krawczyk_encloses_integer_roots(roots, offset):
    """Centres off the root by up to 1e-6 (the contraction must keep its centre in the box)."""
    poly = sp.Poly(sp.prod([x - r for r in roots]), x)
    F, J = _poly_program(poly.all_coeffs()[::-1])
    for r in roots:
        with ivprec(40):
            enc = enclose_root(F, J, [mp.mpf(r) + mp.mpf(offset)])
            assert lo(enc.box[0]) <= r <= hi(enc.box[0])
            assert hi(enc.box[0]) - lo(enc.box[0]) < mp.mpf(10) ** -35
            others = [s for s in roots if s != r]
            assert not any(lo(enc.uniqueness[0]) <= s <= hi(enc.uniqueness[0]) for s in others)


def test_krawczyk_refuses_a_double_root_and_a_point_far_from_any_root():
    F, J = _poly_program([1, -2, 1])                             # (x − 1)²
    with ivprec(30), pytest.raises(NotProved) as info:
        enclose_root(F, J, [mp.mpf("1.0000001")])
    assert info.value.kind in ("not_unique", "singular")
    F, J = _poly_program([1, 0, 1])                              # x² + 1: no real root
    with ivprec(30), pytest.raises(NotProved) as info:
        enclose_root(F, J, [mp.mpf(3)])
    assert info.value.kind in ("no_root", "not_unique")


# --------------------------------------------------------------------------- #
# interval linear systems and positive definiteness                             #
# --------------------------------------------------------------------------- #
@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=9, max_size=9), st.lists(st.integers(-5, 5),
                                                                       min_size=3, max_size=3))
def test_linear_enclosure_contains_the_exact_rational_solution(entries, rhs):
    A = sp.Matrix(3, 3, entries) + 12 * sp.eye(3)                # diagonally dominant: regular
    exact = A.LUsolve(sp.Matrix(rhs))
    with ivprec(30):
        Ai = [[iv.mpf(int(A[i, j])) for j in range(3)] for i in range(3)]
        Bi = [[iv.mpf(v)] for v in rhs]
        Z = enclose_linear(Ai, Bi)
        for i in range(3):
            q = Fraction(int(exact[i].p), int(exact[i].q))
            assert lo(Z[i][0]) <= mp.mpf(q.numerator) / q.denominator <= hi(Z[i][0]) or \
                abs(lo(Z[i][0]) * q.denominator - q.numerator) < 1e-25
            assert hi(Z[i][0]) - lo(Z[i][0]) < 1e-25


def test_a_singular_interval_matrix_is_not_proved_regular():
    with ivprec(30), pytest.raises(NotProved) as info:
        enclose_linear([[iv.mpf([-1, 1]), iv.mpf(1)], [iv.mpf(0), iv.mpf(1)]],
                       [[iv.mpf(1)], [iv.mpf(1)]])
    assert info.value.kind in ("linear", "singular")


def test_cholesky_and_the_reduced_hessian():
    with ivprec(30):
        pd = [[iv.mpf(2), iv.mpf(1)], [iv.mpf(1), iv.mpf(2)]]
        indefinite = [[iv.mpf(1), iv.mpf(2)], [iv.mpf(2), iv.mpf(1)]]
        assert cholesky_proves_pd(pd) and not cholesky_proves_pd(indefinite)
        assert not cholesky_proves_pd([[iv.mpf([-0.1, 1])]])
        # f = x² − y² on the line y = 0: the reduced Hessian (2) is positive definite
        kkt = [[iv.mpf(2), iv.mpf(0), iv.mpf(0)], [iv.mpf(0), iv.mpf(-2), iv.mpf(1)],
               [iv.mpf(0), iv.mpf(1), iv.mpf(0)]]
        assert prove_minimum(kkt, 2) is not None
        # ... but on the line x = 0 it is −2: a maximum along the constraint
        kkt = [[iv.mpf(2), iv.mpf(0), iv.mpf(1)], [iv.mpf(0), iv.mpf(-2), iv.mpf(0)],
               [iv.mpf(1), iv.mpf(0), iv.mpf(0)]]
        assert prove_minimum(kkt, 2) is None


@pytest.mark.parametrize("fn, ref", [(sp.atan, mp.atan), (sp.asin, mp.asin), (sp.acos, mp.acos)])
def test_inverse_trig_on_thin_intervals_near_the_ends(fn, ref):
    """Regression: mpmath 1.3's iv.atan2 rounds its ends the wrong way (atan(0.4375) at
    30 digits missed the truth by an ulp); the rules use mpi_atan and half-angle forms."""
    prog = IntervalProgram([fn(x)], [x])
    values = [0.4375, 1.0, -1.0, 1 - 2 ** -52, -1 + 2 ** -53, 0.5, -0.5, 0.0, 0.7071067811865476]
    for v in values + [k / 97 for k in range(-97, 98)]:
        for dps in (16, 30, 50):
            with ivprec(dps):
                (out,) = prog([iv.mpf(v)])
            with mp.workprec(600):
                assert lo(out) <= ref(mp.mpf(v)) <= hi(out), (fn, v, dps)


def test_exp_is_enclosed_where_mpmaths_own_rounding_misses():
    """Regression: mpmath 1.3's mpi_exp misses exp(v) by a fraction of an ulp at these
    (value, bits); the rules widen every transcendental result by a few ulps."""
    prog = IntervalProgram([sp.exp(x), sp.exp(-x)], [x])
    cases = [(0.1948810634993885, 53), (-1.8374882533961845, 166), (1.7310690776924638, 266),
             (-1.1217261640346279, 266), (2.437905493001339, 266)]
    for v, bits in cases:
        with ivprec(16):
            iv.prec = bits
            up, down = prog([iv.mpf(v)])
        with mp.workprec(800):
            assert lo(up) <= mp.exp(mp.mpf(v)) <= hi(up)
            assert lo(down) <= mp.exp(-mp.mpf(v)) <= hi(down)
