"""certify(): interval enclosures that contain independently computed truths, digits that
are proved (never claimed without a proof), and failures that say why.

The truths here never touch the derivation or the float64 path: the catalog's
hand-written mpmath residuals solved by ``mpmath.findroot`` at 120 digits, their
derivatives by central differences of those solves (h = 1e-35: error ~1e-70),
and closed forms (Kepler, x = cos(ax + b)) evaluated by mpmath.
"""
from __future__ import annotations

import math

import mpmath as mp
import pytest
import sympy as sp

from catalog import BY_NAME
from symimplicit import FixedPoint, Minimize, Root, certify, verify
from symimplicit.errors import GradientMismatchError, StatementError
from symimplicit.precision.certify import certify_values
from symimplicit.precision.krawczyk import NotProved
from symimplicit.seed import SeedFixedPoint, cosaxb
from symimplicit.tape import Function

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

x, y, a, b, e, M = sp.symbols("x y a b e M")
COS_FP = FixedPoint(sp.cos(a * x + b), x, (a, b))               # x = cos(ax + b)
KEPLER = Root(x - e * sp.sin(x) - M, x, (e, M))
TANH = FixedPoint(a * sp.tanh(x), x, (a,))


# --------------------------------------------------------------------------- #
# independent truths                                                           #
# --------------------------------------------------------------------------- #
def _solve(problem, theta, start):
    fn = problem.mp_residual
    if len(start) == 1:
        u0 = start[0]
        return [mp.findroot(lambda u: fn([u], theta)[0], (u0 * mp.mpf("0.999"), u0 * mp.mpf("1.001")))]
    root = mp.findroot(lambda *u: fn(list(u), theta), tuple(start))
    return [root[i] for i in range(len(start))]


def catalog_truth(name: str, dps: int = 120, step: str = "1e-35"):
    """(solution, gradient rows) of a catalog problem at ``dps`` digits, independent of symimplicit."""
    problem = BY_NAME[name]
    n_user = len(problem.statement.unknowns)
    with mp.workdps(dps):
        theta = [mp.mpf(v) for v in problem.values]
        base = _solve(problem, theta, [mp.mpf(s) for s in problem.mp_start])
        cols = []
        for j, t in enumerate(theta):
            h = mp.mpf(step) * max(abs(t), 1)
            up = _solve(problem, theta[:j] + [t + h] + theta[j + 1:], base)
            down = _solve(problem, theta[:j] + [t - h] + theta[j + 1:], base)
            cols.append([(u - d) / (2 * h) for u, d in zip(up, down)])   # (z(θ+h) − z(θ−h))/2h
        return base[:n_user], [[cols[j][i] for j in range(len(theta))] for i in range(n_user)]


def _names(statement):
    xs, ps = statement.unknowns, statement.params
    return [str(u) for u in xs], [[f"∂{u}/∂{p}" for p in ps] for u in xs]


# --------------------------------------------------------------------------- #
# the targets of the issue: tight enclosures containing the truth               #
# --------------------------------------------------------------------------- #
TARGETS = ["seed_fixed_point", "kepler", "lambert_w", "circle_exp", "fixed_point_2d",
           "ellipse_projection", "constrained_qp3", "logsumexp_argmin", "seed_argmin_truea"]


@pytest.mark.parametrize("name", TARGETS)
def test_enclosures_are_tight_and_contain_the_truth(name):
    problem = BY_NAME[name]
    at = dict(zip(problem.statement.params, problem.values))
    report = certify(problem.statement, at=at, dps=50, **problem.options)
    assert report.certified and report.ok, str(report)
    solution, gradient = catalog_truth(name)
    sol_names, grad_names = _names(problem.statement)
    for i, n in enumerate(sol_names):
        row = report.row(n)
        assert row.contains(solution[i]), (n, row.enclosure, solution[i])
        assert row.relative_width <= 1e-40
    for i, names in enumerate(grad_names):
        for j, n in enumerate(names):
            row = report.row(n)
            assert row.contains(gradient[i][j]), (n, row.enclosure, gradient[i][j])
            assert row.width <= 1e-40 * max(abs(float(gradient[i][j])), 1e-8)
    # the derived layer: proved to at least 15 digits (14.5 for the 3-unknown QP, whose small
    # y = 0.048 next to x = 1.6 carries x's rounding: 1.1e-15 relative)
    assert report.proved_digits >= (14.5 if name == "constrained_qp3" else 15), str(report)


def test_a_minimum_is_proved_not_only_a_stationary_point():
    for name in ("ellipse_projection", "constrained_qp3", "logsumexp_argmin"):
        problem = BY_NAME[name]
        report = certify(problem.statement, at=dict(zip(problem.statement.params, problem.values)),
                         **problem.options)
        assert report.second_order and "positive definite" in report.second_order
        assert len(report.box) == len(problem.statement.system_unknowns)   # x and λ enclosed


def test_the_seeds_hand_written_fixed_point_is_proved_to_its_7_digits():
    report = certify(SeedFixedPoint, at={a: 1, b: 0}, against=COS_FP, fun=cosaxb)
    assert report.certified and not report.ok                     # enclosed, but only ~7 digits
    assert 6.5 <= report.proved_digits <= 8.0
    assert all(6.5 <= r.digits <= 8.5 for r in report.rows)
    with pytest.raises(GradientMismatchError):
        certify(SeedFixedPoint, at={a: 1, b: 0}, against=COS_FP, fun=cosaxb, strict=True)


# --------------------------------------------------------------------------- #
# many random points: closed-form truths                                        #
# --------------------------------------------------------------------------- #
def _kepler_truth(e_, M_):
    with mp.workdps(80):
        E = mp.findroot(lambda t: t - e_ * mp.sin(t) - M_, M_ + e_ * mp.sin(M_))
        den = 1 - e_ * mp.cos(E)                                      # ∂F/∂E
        return E, [mp.sin(E) / den, 1 / den]                          # ∂E/∂e, ∂E/∂M


def _cos_truth(a_, b_):
    with mp.workdps(80):
        z = mp.findroot(lambda t: t - mp.cos(a_ * t + b_), mp.mpf("0.7"))
        s = mp.sin(a_ * z + b_)
        den = 1 + a_ * s                                              # 1 − f_x
        return z, [-z * s / den, -s / den]


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 0.95), st.floats(-3.0, 3.0))
def test_kepler_enclosures_contain_the_closed_form(e_, M_):
    report = certify(KEPLER, at={e: e_, M: M_}, dps=30, x0=M_)
    E, grad = _kepler_truth(e_, M_)
    assert report.certified, str(report)
    assert report.row("x").contains(E)
    assert report.row("∂x/∂e").contains(grad[0]) and report.row("∂x/∂M").contains(grad[1])
    for r in report.rows:                                          # proved digits are true digits
        true = {"x": E, "∂x/∂e": grad[0], "∂x/∂M": grad[1]}[r.name]
        scale = max(abs(true), mp.mpf(2) ** -26 * max(abs(v) for v in grad)) if r.kind == "gradient" \
            else abs(true)
        if scale:
            assert float(abs(mp.mpf(r.value) - true) / scale) <= r.bound * (1 + 1e-10) + 1e-300


@settings(max_examples=25, deadline=None)
@given(st.floats(-0.9, 0.9), st.floats(-2.0, 2.0))
def test_cos_fixed_point_enclosures_contain_the_closed_form(a_, b_):
    report = certify(COS_FP, at={a: a_, b: b_}, dps=30)
    z, grad = _cos_truth(a_, b_)
    assert report.certified, str(report)
    assert report.row("x").contains(z)
    assert report.row("∂x/∂a").contains(grad[0]) and report.row("∂x/∂b").contains(grad[1])


# --------------------------------------------------------------------------- #
# higher derivatives                                                            #
# --------------------------------------------------------------------------- #
def _second_difference(solve, t, h):
    """f''(t) by the 5-point stencil (−f(2h) + 16f(h) − 30f(0) + 16f(−h) − f(−2h))/12h²: error ~h⁴."""
    f = [solve(t + k * h) for k in (-2, -1, 0, 1, 2)]
    return [(-f[0][i] + 16 * f[1][i] - 30 * f[2][i] + 16 * f[3][i] - f[4][i]) / (12 * h * h)
            for i in range(len(f[0]))]


def test_second_derivatives_are_enclosed():
    report = certify(KEPLER, at={e: 0.3, M: 1.1}, wrt=[(e, e), (M, M)], x0=1.1)
    with mp.workdps(140):
        solve_e = lambda t: [mp.findroot(lambda u: u - t * mp.sin(u) - mp.mpf(1.1), mp.mpf("1.5"))]
        solve_M = lambda t: [mp.findroot(lambda u: u - mp.mpf(0.3) * mp.sin(u) - t, mp.mpf("1.5"))]
        Eee = _second_difference(solve_e, mp.mpf(0.3), mp.mpf("1e-16"))[0]
        EMM = _second_difference(solve_M, mp.mpf(1.1), mp.mpf("1e-16"))[0]
    assert report.certified, str(report)
    ee, mm = report.row("∂^2x/∂e^2"), report.row("∂^2x/∂M^2")
    for row, truth in ((ee, Eee), (mm, EMM)):
        assert row.value is None and row.relative_width < 1e-40
        assert abs(mp.mpf(truth) - (mp.mpf(row.enclosure.a) + mp.mpf(row.enclosure.b)) / 2) \
            <= row.width + 1e-55


def test_second_derivative_of_a_system_is_enclosed():
    problem = BY_NAME["circle_exp"]
    r_, k_ = problem.values
    report = certify(problem.statement, at=dict(zip(problem.statement.params, problem.values)),
                     wrt=[("r", "r")], x0=problem.options["x0"])
    with mp.workdps(140):
        solve = lambda t: _solve(problem, [t, mp.mpf(k_)], [mp.mpf(1), mp.mpf("1.5")])
        truth = _second_difference(solve, mp.mpf(r_), mp.mpf("1e-16"))
    assert report.certified, str(report)
    for name, t in zip(("∂^2x/∂r^2", "∂^2y/∂r^2"), truth):
        row = report.row(name)
        centre = (mp.mpf(row.enclosure.a) + mp.mpf(row.enclosure.b)) / 2
        assert abs(mp.mpf(t) - centre) <= row.width + 1e-50


# --------------------------------------------------------------------------- #
# wrong layers are never certified                                              #
# --------------------------------------------------------------------------- #
def _solve_cos(a_, b_):
    z = 0.7
    for _ in range(60):
        step = (z - math.cos(a_ * z + b_)) / (1 + a_ * math.sin(a_ * z + b_))
        z -= step
        if abs(step) < 1e-17:
            break
    return z


def _cos_gradient(a_, b_):
    z = _solve_cos(a_, b_)
    s = math.sin(a_ * z + b_)
    return [-z * s / (1 + a_ * s), -s / (1 + a_ * s)]


@pytest.mark.parametrize("offset", [1e-10, 1e-12, -3e-13])
def test_a_gradient_off_by_a_little_is_never_certified(offset):
    bad = Function("OffCos", _solve_cos, lambda a_, b_: [g * (1 + offset) for g in _cos_gradient(a_, b_)])
    report = certify(bad, at={a: 0.8, b: 0.3}, against=COS_FP)
    assert report.certified and not report.ok                  # the truth is enclosed ...
    assert not report.row("∂x/∂a").ok(report.tol)              # ... and the value is not in tol
    assert report.row("∂x/∂a").digits <= -math.log10(abs(offset)) + 0.5
    assert report.row("x").ok(report.tol)                       # the solution itself is right
    with pytest.raises(GradientMismatchError):
        certify(bad, at={a: 0.8, b: 0.3}, against=COS_FP, strict=True)


def test_a_solution_off_by_a_little_is_not_certified():
    bad = Function("OffSolution", lambda a_, b_: _solve_cos(a_, b_) * (1 + 1e-11), _cos_gradient)
    report = certify(bad, at={a: 0.8, b: 0.3}, against=COS_FP)
    assert not report.ok and report.row("x").digits < 11.5


def test_the_correct_hand_written_layer_is_certified():
    good = Function("Cos", _solve_cos, _cos_gradient)
    report = certify(good, at={a: 0.8, b: 0.3}, against=COS_FP)
    assert report.ok and report.proved_digits >= 14


# --------------------------------------------------------------------------- #
# failures report the reason, and claim nothing                                #
# --------------------------------------------------------------------------- #
def _failed(report, kind):
    assert not report.certified and not report.ok and report.failure == kind, str(report)
    assert report.proved_digits == 0 and all(r.digits == 0 for r in report.rows)
    assert report.reason
    with pytest.raises(NotProved):
        report.raise_if_wrong()


def test_double_root():
    report = certify(Root((x - a) ** 2, x, (a,)), at={a: 1.0}, x0=0.9)
    _failed(report, "singular")
    assert "double root" in report.reason


def test_two_roots_closer_than_the_precision():
    report = certify(Root((x - a) ** 2 - b, x, (a, b)), at={a: 1.0, b: 1e-110}, x0=1.1)
    _failed(report, "singular")


def test_two_close_roots_that_the_precision_separates_are_certified():
    report = certify(Root((x - a) ** 2 - b, x, (a, b)), at={a: 1.0, b: 1e-60}, x0=1.1)
    with mp.workdps(80):
        upper, lower = 1 + mp.sqrt(mp.mpf(1e-60)), 1 - mp.sqrt(mp.mpf(1e-60))
    assert report.certified and report.row("x").contains(upper)
    assert not report.row("x").contains(lower)


def test_no_root():
    fake = Function("Fake", lambda a_: 0.5, lambda a_: [0.0])
    report = certify(fake, at={a: 1.0}, against=Root(x ** 2 + a, x, (a,)))
    _failed(report, "no_root")


def test_domain_error_on_the_box():
    # F = (x − a) + (x − a)^(3/2): a simple root at x = a, the edge of sqrt's domain
    report = certify(Root(x - a + (x - a) ** sp.Rational(3, 2), x, (a,)), at={a: 1.0}, x0=1.1)
    _failed(report, "domain")
    assert "sqrt" in report.reason


def test_a_maximum_is_not_certified_as_a_minimum():
    report = certify(Minimize(x ** 3 - a * x, x, (a,)), at={a: 1.0}, x0=-0.6)
    _failed(report, "not_minimum")
    assert certify(Minimize(x ** 3 - a * x, x, (a,)), at={a: 1.0}, x0=0.6).ok


def test_a_function_without_an_interval_rule_is_named():
    report = certify(Root(sp.erf(x) - a, x, (a,)), at={a: 0.5})
    _failed(report, "unsupported")
    assert "erf" in report.reason


def test_a_failing_target_without_x0_is_reported():
    report = certify(TANH, at={a: 1.0})                         # x = tanh x: a triple root at 0
    assert not report.certified and report.failure in ("target", "singular")
    assert any("the target failed" in n for n in report.notes)


# --------------------------------------------------------------------------- #
# near a fold: proved digits fall as κ grows; at the fold, no certificate       #
# --------------------------------------------------------------------------- #
def test_tanh_fold_digits_fall_as_kappa_grows_and_fail_at_the_fold():
    digits, kappas = [], []
    for delta in (1e-1, 1e-3, 1e-5, 1e-7, 1e-9):
        report = certify(TANH, at={a: 1 + delta}, x0=1.0)
        assert report.certified, str(report)
        truth = _tanh_truth(1 + delta)
        assert report.row("x").contains(truth)
        digits.append(report.row("∂x/∂a").digits)
        kappas.append(report.kappa)
    assert kappas == sorted(kappas) and digits == sorted(digits, reverse=True)
    assert digits[0] >= 14 and digits[-1] <= 10
    _failed(certify(TANH, at={a: 1.0}, x0=0.1), "singular")


def _tanh_truth(a_):
    with mp.workdps(80):
        return mp.findroot(lambda t: t - mp.mpf(a_) * mp.tanh(t), mp.sqrt(3 * (mp.mpf(a_) - 1)))


def test_cos_fold_digits_fall_and_there_is_no_root_beyond_it():
    # 1 + a sin(ax + b) = 0 at a = −2: sin u = 1/2, x = cos u = √3/2, b* = π/6 + √3
    b_star = math.pi / 6 + math.sqrt(3)
    digits = []
    for delta in (1e-2, 1e-4, 1e-6, 1e-8):
        report = certify(COS_FP, at={a: -2.0, b: b_star - delta}, x0=0.866)
        assert report.certified, str(report)
        digits.append(report.proved_digits)
    assert digits == sorted(digits, reverse=True) and digits[-1] < 10
    beyond = certify(COS_FP, at={a: -2.0, b: b_star + 1e-9}, x0=0.866)
    assert not beyond.certified and beyond.failure == "no_root"


# --------------------------------------------------------------------------- #
# verify(..., certify=True), certify_values, rendering, bad input              #
# --------------------------------------------------------------------------- #
def test_verify_with_certify_attaches_the_certificate():
    report = verify(COS_FP, at={a: 1, b: 0}, certify=True)
    assert report.ok and report.certificate.ok
    assert any("certified by interval arithmetic" in n for n in report.notes)
    assert "certified by interval arithmetic" in str(report)


def test_certify_values_proves_what_it_is_given():
    z, grad = _cos_truth(1.0, 0.0)
    report = certify_values(COS_FP, [1.0, 0.0], [float(z)], [[float(g) for g in grad]], 40)
    assert report.ok and report.proved_digits >= 15
    wrong = certify_values(COS_FP, [1.0, 0.0], [float(z)], [[float(grad[0]) * 1.001, 0.0]], 40)
    assert wrong.certified and not wrong.ok and wrong.row("∂x/∂a").digits < 3.5


def test_rendering():
    report = certify(COS_FP, at={a: 1, b: 0}, wrt=[(a, b)])
    text, md, tex, html = str(report), report.markdown(), report.latex(), report._repr_html_()
    assert "CERTIFIED" in text and "0.73908513321516064166 ±" in text and "∂^2x/∂a∂b" in text
    assert md.count("\n|") >= 5 and "**CERTIFIED" in md
    assert r"\begin{array}" in tex and r"\pm" in tex and r"\frac{\partial x}{\partial a}" in tex
    assert html.startswith("<div>") and "<table>" in html and "<td>∂x/∂a</td>" in html
    data = report.as_dict()
    lo_text, hi_text = data["rows"][0]["enclosure"]
    enc = report.row("x").enclosure
    with mp.workdps(100):                                      # decimal ends rounded outward
        assert mp.mpf(lo_text) <= mp.mpf(enc.a) and mp.mpf(enc.b) <= mp.mpf(hi_text)
        assert abs(mp.mpf(lo_text) - mp.mpf("0.73908513321516064165531208767387340401341")) < 1e-40
    failed = certify(TANH, at={a: 1.0}, x0=0.1)
    assert "NOT CERTIFIED (singular)" in str(failed) and "not proved" in str(failed)
    assert failed.as_dict()["rows"][0]["value"] is None          # NaN is not JSON


def test_bad_input_is_a_typed_error():
    with pytest.raises(StatementError, match="certify: `at` must give exactly"):
        certify(COS_FP, at={a: 1.0})
    with pytest.raises(StatementError, match="dps"):
        certify(COS_FP, at={a: 1.0, b: 0.0}, dps=10)
    with pytest.raises(StatementError, match="wrt"):
        certify(COS_FP, at={a: 1.0, b: 0.0}, wrt=[("q",)])
    with pytest.raises(StatementError, match="against"):
        certify(Function("F", lambda a_: a_, lambda a_: [1.0]), at={a: 1.0})


def test_a_higher_derivative_that_cannot_be_enclosed_leaves_the_rest_proved(monkeypatch):
    import importlib
    certify_module = importlib.import_module("symimplicit.precision.certify")

    report = certify(COS_FP, at={a: 1, b: 0})
    progs = certify_module._programs(COS_FP)
    real = progs.higher

    def unsupported(S):
        if len(S) == 2:
            from symimplicit.precision.interval_program import IntervalProgram
            return IntervalProgram([sp.gamma(x)], progs.variables, "∂²x")
        return real(S)

    monkeypatch.setattr(progs, "higher", unsupported)
    partial = certify(COS_FP, at={a: 1, b: 0}, wrt=[(a, a)])
    assert not partial.certified and partial.failure == "unsupported" and "gamma" in partial.reason
    assert partial.row("x").proved and partial.row("∂x/∂a").enclosure == report.row("∂x/∂a").enclosure
    assert not partial.row("∂^2x/∂a^2").proved



def _catalog_truth_at(name, theta, start, dps=60, step="1e-20"):
    """Solution and gradient of a catalog problem at parameters ``theta`` (central
    differences of ``dps``-digit solves of its hand-written residual)."""
    problem = BY_NAME[name]
    n_user = len(problem.statement.unknowns)
    with mp.workdps(dps):
        th = [mp.mpf(t) for t in theta]
        base = _solve(problem, th, [mp.mpf(s) for s in start])
        cols = []
        for j, t in enumerate(th):
            h = mp.mpf(step) * max(abs(t), 1)
            up = _solve(problem, th[:j] + [t + h] + th[j + 1:], base)
            down = _solve(problem, th[:j] + [t - h] + th[j + 1:], base)
            cols.append([(u - d) / (2 * h) for u, d in zip(up, down)])
        return base[:n_user], [[cols[j][i] for j in range(len(th))] for i in range(n_user)]


def _assert_contains_truth(report, statement, solution, gradient):
    sol_names, grad_names = _names(statement)
    assert report.certified, str(report)
    for i, n in enumerate(sol_names):
        assert report.row(n).contains(solution[i]), (n, solution[i])
    for i, names in enumerate(grad_names):
        for j, n in enumerate(names):
            row = report.row(n)                               # truth good to ~1e-38
            with mp.workdps(80):
                centre = (mp.mpf(row.enclosure.a) + mp.mpf(row.enclosure.b)) / 2
                assert abs(centre - gradient[i][j]) <= row.width / 2 + mp.mpf(10) ** -35, n


@settings(max_examples=10, deadline=None)
@given(st.floats(1.5, 3.0), st.floats(0.2, 0.8))
def test_two_unknown_system_at_random_points(r_, k_):
    problem = BY_NAME["circle_exp"]
    report = certify(problem.statement, at={"r": r_, "k": k_}, dps=30, x0=(1.0, 1.5))
    solution, gradient = _catalog_truth_at("circle_exp", (r_, k_), report_start(report, 2))
    _assert_contains_truth(report, problem.statement, solution, gradient)


@settings(max_examples=6, deadline=None)
@given(st.floats(1.5, 3.0), st.floats(0.5, 1.5), st.floats(0.5, 2.0))
def test_constrained_argmin_at_random_points(p_, q_, c_):
    problem = BY_NAME["ellipse_projection"]
    report = certify(problem.statement, at={"p": p_, "q": q_, "c": c_}, dps=30,
                     x0=(0.9, 0.2))
    assert "positive definite" in (report.second_order or ""), str(report)
    solution, gradient = _catalog_truth_at("ellipse_projection", (p_, q_, c_),
                                           report_start(report, 3))
    _assert_contains_truth(report, problem.statement, solution, gradient)


def report_start(report, n):
    """The centre of the proved box (all system unknowns) as the truth solve's start."""
    with mp.workdps(60):
        return [(mp.mpf(b.a) + mp.mpf(b.b)) / 2 for b in report.box[:n]]
