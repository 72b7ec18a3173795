"""verify(): mutant gradients caught, correct ones passed, two independent routes agree.

The float64 targets here are written by hand (closed-form partials, a float
Newton solve) so that the tests do not depend on the lowering they will judge;
the truths are closed forms evaluated by mpmath.
"""
from __future__ import annotations

import importlib
import math

import mpmath
import pytest
import sympy as sp

from symimplicit.errors import (DerivationError, GradientMismatchError, NonFiniteError,
                               StatementError)
from symimplicit.precision import MpProblem, problem_of, reference, verify
from symimplicit.precision.report import default_tol
from symimplicit.statements import FixedPoint as FixedPointStatement
from symimplicit.statements import Root
from symimplicit.seed import SeedFixedPoint, cosaxb  # the seed notebook's hand-written layer
from symimplicit.tape import Function

x, y, a, b = sp.symbols("x y a b")
COS_FP = FixedPointStatement(sp.cos(a * x + b), x, (a, b))          # x = cos(ax + b)
AT = {a: 1.0, b: 0.0}


# --------------------------------------------------------------------------- #
# a hand-written float64 layer for x = cos(ax + b), with mutant backward passes #
# --------------------------------------------------------------------------- #
def solve_cos(a_, b_):
    """Newton on F = x - cos(ax + b) to full float64 precision."""
    z = 0.7
    for _ in range(60):
        step = (z - math.cos(a_ * z + b_)) / (1 + a_ * math.sin(a_ * z + b_))
        z -= step
        if abs(step) < 1e-17:
            break
    return z


def partials(a_, b_):
    """(f_x, f_a, f_b) of f = cos(ax + b) at the fixed point."""
    z = solve_cos(a_, b_)
    s = math.sin(a_ * z + b_)
    return -a_ * s, -z * s, -s


def correct(a_, b_):
    fx, fa, fb = partials(a_, b_)
    return [fa / (1 - fx), fb / (1 - fx)]                  # x_θ = f_θ / (1 - f_x)


MUTANTS = {
    "sign": lambda a_, b_: [-g for g in correct(a_, b_)],
    "missing IFT factor": lambda a_, b_: list(partials(a_, b_)[1:]),
    "wrong denominator": lambda a_, b_: [f / (1 + partials(a_, b_)[0])
                                         for f in partials(a_, b_)[1:]],
    "swapped partials": lambda a_, b_: correct(a_, b_)[::-1],
    "1e-9 relative": lambda a_, b_: [g * (1 + 1e-9) for g in correct(a_, b_)],
    "zeroed component": lambda a_, b_: [correct(a_, b_)[0], 0.0],
}


def layer(gradient):
    return Function("CosFixedPoint", solve_cos, gradient)


# --------------------------------------------------------------------------- #
# verdicts                                                                      #
# --------------------------------------------------------------------------- #
def test_correct_gradient_passes_with_14_digits():
    report = verify(layer(correct), at=AT, against=COS_FP)
    assert report.ok, str(report)
    assert report.digits >= 14
    assert report.route_digits >= 45
    # κ bounds the rounding of every reported quantity: at least the solve's own
    # amplification 1/|1 - f_x|, within the few operations each formula takes
    solve_kappa = 1 / (1 + math.sin(solve_cos(1, 0)))
    assert max(1.0, solve_kappa) <= report.kappa <= 16 * max(1.0, solve_kappa)
    assert verify(layer(correct), at=AT, against=COS_FP, strict=True) is not None


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_gradients_are_flagged(name):
    report = verify(layer(MUTANTS[name]), at={"a": 0.8, "b": 0.3}, against=COS_FP)
    assert not report.ok, str(report)
    assert not report.suspect                                # the reference itself is fine
    assert any(r.kind == "gradient" for r in report.failures)
    assert all(r.kind == "gradient" for r in report.failures)   # the solution was right
    with pytest.raises(GradientMismatchError, match="outside tol"):
        verify(layer(MUTANTS[name]), at={"a": 0.8, "b": 0.3}, against=COS_FP, strict=True)


def test_seed_fixed_point_is_right_to_about_7_digits():
    report = verify(SeedFixedPoint, at={a: 1, b: 0}, against=COS_FP, fun=cosaxb)
    assert not report.ok
    assert 6.5 <= report.digits <= 8.0, str(report)
    assert report.rows[0].reference == pytest.approx(0.7390851332151607, abs=1e-16)
    grad = {r.name: r for r in report.rows}
    assert float(grad["∂x/∂a"].reference) == pytest.approx(-0.29747434150983226, rel=1e-15)
    # the seed's numbers are its own: -0.29747436345601425 is off in the 8th digit
    assert grad["∂x/∂a"].value == pytest.approx(-0.29747436345601425, rel=1e-14)


def test_exact_zero_gradient_at_the_seeds_second_point():
    """x = cos(-x/2 + 1/2) has x = 1 and ∂x/∂a = ∂x/∂b = 0 exactly."""
    report = verify(layer(correct), at={a: -0.5, b: 0.5}, against=COS_FP)
    assert report.ok and not report.suspect
    assert [float(r.reference) for r in report.rows] == [1.0, 0.0, 0.0]


def test_a_python_function_of_scalars_and_explicit_kwargs():
    def seed_as_function(A, B, **kw):
        return SeedFixedPoint(A, B, **kw)

    report = verify(seed_as_function, at={"a": 1, "b": 0}, against=COS_FP,
                    kwargs={"fun": cosaxb, "x0": 0.5})
    assert 6.5 <= report.digits <= 8.5


# --------------------------------------------------------------------------- #
# the reference: two routes, against closed forms                              #
# --------------------------------------------------------------------------- #
def test_reference_matches_closed_form_by_both_routes():
    """x² = a: x = √a, ∂x/∂a = 1/(2√a), to 60 digits by the IFT and by Richardson."""
    stmt = Root(x**2 - a, x, (a,))
    ref = reference(problem_of(stmt), [2.0], [1.4], 60)
    with mpmath.workdps(80):
        truth = 1 / (2 * mpmath.sqrt(2))
        assert abs(ref.solution[0] - mpmath.sqrt(2)) < mpmath.mpf(10) ** -60
        assert abs(ref.gradient[0][0] - truth) < mpmath.mpf(10) ** -60
        assert abs(ref.richardson[0][0] - truth) < mpmath.mpf(10) ** -60
    assert ref.route_digits >= 58


def test_reference_at_1000_digits():
    ref = reference(problem_of(COS_FP), [1.0, 0.0], [0.739], 1000)
    assert ref.route_digits >= 995
    with mpmath.workdps(1010):
        xs = ref.solution[0]
        assert abs(xs - mpmath.cos(xs)) < mpmath.mpf(10) ** -1000


def test_wrong_derivation_is_suspect(monkeypatch):
    """A Derivation with a sign error in ∂F/∂θ: the IFT and Richardson routes disagree."""
    good = problem_of(COS_FP)
    broken = MpProblem(good.kind, good.unknowns, good.n_user, good.params, good.residual,
                       good.jacobian, -good.param_jacobian)
    ref = reference(broken, [1.0, 0.0], [0.739], 30)
    assert ref.route_digits < 1

    # the module (the package attribute `verify` is the function of the same name)
    verify_module = importlib.import_module("symimplicit.precision.verify")
    monkeypatch.setattr(verify_module, "problem_of", lambda statement: broken)
    report = verify(layer(correct), at=AT, against=COS_FP, dps=30)
    assert report.suspect and not report.ok
    assert "DERIVATION SUSPECT" in str(report)
    with pytest.raises(DerivationError, match="suspect"):
        report.raise_if_wrong()


def test_kappa_of_a_scalar_root_follows_skeels_number():
    """Root x - a tanh x: κ ≥ the solve's Skeel number (1 + a sech²x)/|1 - a sech²x|, and
    within the few roundings of the formula of it (the rounding of x counts too)."""
    stmt = Root(x - a * sp.tanh(x), x, (a,))
    ref = reference(problem_of(stmt), [1.5], [1.4], 30, richardson=False)
    with mpmath.workdps(40):
        xs = ref.solution[0]
        s = 1.5 / mpmath.cosh(xs) ** 2
        skeel = float((1 + s) / abs(1 - s))
    assert skeel <= ref.kappa <= 16 * skeel


# --------------------------------------------------------------------------- #
# a vector problem                                                              #
# --------------------------------------------------------------------------- #
CIRCLE = Root([x**2 + y**2 - a, y - b * x], [x, y], (a, b))   # circle ∩ line through 0


def circle_closed_form(a_, b_):
    """x = √(a/(1+b²)), y = b x and their derivatives (the hand-written truth)."""
    xs = math.sqrt(a_ / (1 + b_ * b_))
    dxa, dxb = xs / (2 * a_), -b_ * xs / (1 + b_ * b_)
    return (xs, b_ * xs), ((dxa, dxb), (b_ * dxa, xs + b_ * dxb))


def circle_vjp(g, node):
    _, J = circle_closed_form(*node.inputs)
    return [g[0] * J[0][0] + g[1] * J[1][0], g[0] * J[0][1] + g[1] * J[1][1]]


CircleLayer = Function("Circle", lambda a_, b_: circle_closed_form(a_, b_)[0],
                       vjp=circle_vjp, n_outputs=2)


def test_vector_problem_report():
    report = verify(CircleLayer, at={a: 2.0, b: 0.5}, against=CIRCLE, dps=40)
    assert [r.name for r in report.rows] == ["x", "y", "∂x/∂a", "∂x/∂b", "∂y/∂a", "∂y/∂b"]
    assert report.ok and report.digits >= 14, str(report)
    assert report.route_digits >= 35
    md = report.markdown().splitlines()
    assert sum(line.startswith("| ∂") for line in md) == 4


def test_vector_mutant_is_flagged():
    def swapped_vjp(g, node):
        return circle_vjp(g, node)[::-1]

    bad = Function("CircleSwapped", CircleLayer.forward, vjp=swapped_vjp, n_outputs=2)
    report = verify(bad, at={a: 2.0, b: 0.5}, against=CIRCLE, dps=30)
    assert not report.ok
    assert {r.name for r in report.failures} == {"∂x/∂a", "∂x/∂b", "∂y/∂a", "∂y/∂b"}


# --------------------------------------------------------------------------- #
# tolerances, rendering, errors                                                 #
# --------------------------------------------------------------------------- #
def test_default_tolerance_scales_with_kappa_and_is_capped():
    assert default_tol(1.0) == 64 * 2.0 ** -53
    assert default_tol(1e3) == pytest.approx(64e3 * 2.0 ** -53)
    assert default_tol(1e12) == 1e-8
    report = verify(layer(MUTANTS["1e-9 relative"]), at=AT, against=COS_FP, tol=1e-8)
    assert report.ok                                          # a looser explicit tol passes it


def test_rendering():
    report = verify(layer(correct), at=AT, against=COS_FP, dps=30)
    text = str(report)
    assert "κ = " in text and "OK" in text and "∂x/∂a" in text
    assert report._repr_markdown_().count("\n| ") == 4    # header + 3 rows
    latex = report._repr_latex_()
    assert latex.startswith("$$") and r"\frac{\partial x}{\partial a}" in latex
    assert "ok=True" in repr(report)


def test_bad_input_is_a_typed_error():
    with pytest.raises(StatementError, match="missing"):
        verify(layer(correct), at={a: 1.0}, against=COS_FP)
    with pytest.raises(StatementError, match="against"):
        verify(layer(correct), at=AT)
    with pytest.raises(StatementError, match="not finite"):
        verify(layer(correct), at={a: float("nan"), b: 0}, against=COS_FP)


# --------------------------------------------------------------------------- #
# the statement's own implicit layer (symimplicit.lower)                        #
# --------------------------------------------------------------------------- #
def test_statement_and_its_layer():
    report = verify(COS_FP, at=AT)
    assert report.ok and report.digits >= 14, str(report)
    assert verify(COS_FP.primitive(), at=AT).ok
    vector = verify(CIRCLE, at={a: 2.0, b: 0.5}, dps=30, x0=[1.0, 0.5])
    assert vector.ok, str(vector)


# --------------------------------------------------------------------------- #
# non-finite float64 outputs, and which root is judged                          #
# --------------------------------------------------------------------------- #
def test_digits_of_a_non_finite_error_are_zero():
    from symimplicit.precision.reference import Reference, digits_from_error
    assert digits_from_error(math.nan, 30) == 0.0
    assert digits_from_error(math.inf, 30) == 0.0
    assert digits_from_error(0.0, 30) == 30.0 and digits_from_error(1e-5, 30) == 5.0
    # a Richardson route that produced NaN is a disagreement, not agreement to the cap
    ref = Reference(solution=(mpmath.mpf(1),), gradient=[[mpmath.mpf(1), mpmath.mpf(2)]],
                    kappa=1.0, dps=30, work_dps=45, route_error=[[1e-40, math.nan]])
    assert ref.route_digits == 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_gradient_is_a_failing_row_named_not_finite(bad):
    target = layer(lambda a_, b_: [bad, correct(a_, b_)[1]])
    report = verify(target, at=AT, against=COS_FP, dps=30)
    rows = {r.name: r for r in report.rows}
    bad_row = rows["∂x/∂a"]
    assert not report.ok and not bad_row.finite and not bad_row.ok(report.tol)
    assert bad_row.digits == 0.0 and report.digits == 0.0
    assert report.worst is bad_row                           # not the NaN-comparing max
    assert [r.name for r in report.failures] == ["∂x/∂a"]   # x and ∂x/∂b are right
    assert rows["∂x/∂b"].digits >= 14 and rows["x"].digits >= 14
    line = next(ln for ln in str(report).splitlines() if ln.strip().startswith("∂x/∂a"))
    assert "not finite" in line and line.split()[-2:] == ["0.0", "inf"]
    assert "∂x/∂a (not finite)" in str(report)
    assert "| not finite | 0.0 |" in report.markdown()
    assert r"\text{not finite}" in report.latex()
    with pytest.raises(GradientMismatchError, match=r"∂x/∂a \(not finite"):
        report.raise_if_wrong()


def test_non_finite_solution_is_reported_against_the_statements_own_root():
    """The target returns NaN: the report fails its rows; the reference is solved from the
    statement's own layer, so its values are still the true ones (x = cos x: 0.739...)."""
    nan_target = Function("NaNSolver", lambda a_, b_: math.nan, lambda a_, b_: [0.0, 0.0])
    report = verify(nan_target, at=AT, against=COS_FP, dps=30)
    assert not report.ok and report.digits == 0.0
    assert [r.name for r in report.failures] == ["x", "∂x/∂a", "∂x/∂b"]
    assert all(not r.finite for r in report.rows)
    with mpmath.workdps(40):
        truth = mpmath.findroot(lambda t: t - mpmath.cos(t), 0.7)
        assert abs(report.rows[0].reference - truth) < mpmath.mpf(10) ** -30
    text = str(report)
    assert "x (not finite)" in text and "statement's own layer" in text
    assert "residual" not in text                            # the target is blamed, not F
    with pytest.raises(GradientMismatchError, match=r"NaNSolver: x \(not finite: nan\)"):
        verify(nan_target, at=AT, against=COS_FP, dps=30, strict=True)


SQRT = Root(x**2 - a, x, (a,))                              # two roots ±√a
NEG_SQRT = Function("NegativeRoot", lambda a_: -math.sqrt(a_), lambda a_: [-0.5 / math.sqrt(a_)])


def test_non_finite_solution_without_any_start_is_a_typed_error():
    """x² = a has no real root at a = -1: the target's NaN cannot be judged without x0."""
    nan_target = Function("NaNRoot", lambda a_: math.nan, lambda a_: [0.0])
    with pytest.raises(NonFiniteError, match=r"NaNRoot returned a non-finite solution.*x0="):
        verify(nan_target, at={a: -1.0}, against=SQRT)
    report = verify(nan_target, at={a: 2.0}, against=SQRT, x0=-1.0)   # x0 gives the branch
    assert not report.ok and report.rows[0].reference == pytest.approx(-math.sqrt(2), rel=1e-15)


def test_reference_judges_the_root_the_target_found_unless_x0_is_given():
    # -√2 is a root of x² = 2 and -1/(2√2) its derivative: right, at the root it found
    report = verify(NEG_SQRT, at={a: 2.0}, against=SQRT)
    assert report.ok and report.digits >= 14
    assert float(report.rows[0].reference) == pytest.approx(-math.sqrt(2), rel=1e-15)
    assert "judges the root the target found" in str(report)
    assert "judges the root the target found" in report.markdown()
    # the intended root is +√2: from x0 = 1 the solution row fails
    wrong = verify(NEG_SQRT, at={a: 2.0}, against=SQRT, x0=1.0)
    assert not wrong.ok
    assert float(wrong.rows[0].reference) == pytest.approx(math.sqrt(2), rel=1e-15)
    assert "x" in [r.name for r in wrong.failures] and "x0 = 1.0" in str(wrong)
    assert any("not the root reached from x0" in n for n in wrong.notes)
    with pytest.raises(GradientMismatchError, match="outside tol"):
        verify(NEG_SQRT, at={a: 2.0}, against=SQRT, x0=1.0, strict=True)
    # from x0 = -1 the target's root is the intended one
    assert verify(NEG_SQRT, at={a: 2.0}, against=SQRT, x0=-1.0).ok
    # a statement target: x0 starts its layer and the reference alike
    own = verify(SQRT, at={a: 2.0}, x0=-1.0, dps=30)
    assert own.ok and own.rows[0].value == pytest.approx(-math.sqrt(2), rel=1e-15)


def test_bad_x0_is_a_typed_error():
    with pytest.raises(StatementError, match="x0"):
        verify(NEG_SQRT, at={a: 2.0}, against=SQRT, x0=[1.0, 2.0])
    with pytest.raises(StatementError, match="not finite"):
        verify(NEG_SQRT, at={a: 2.0}, against=SQRT, x0=math.nan)
