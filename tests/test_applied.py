"""Functions as unknowns: Root(Eq(x**2 + f(x)**2, 1), f(x), (x,)) and parse(..., unknown="y(x)"),
judged against SymPy's own diff of the explicit branch and sympy.idiff."""
import pickle
import shutil
import subprocess

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import FixedPoint, Root, parse
from symimplicit.errors import StatementError
from symimplicit.tape import Scalar, backward

x, c = sp.symbols("x c")
f = sp.Function("f")
CIRCLE = Root(sp.Eq(x**2 + f(x)**2, 1), f(x), (x,))
BRANCH = sp.sqrt(1 - x**2)                                   # the upper branch f = √(1 - x²)


def _on_branch(expr, at):
    """expr with f(x) → √(1 - x²) at x = at, 40 digits (SymPy's evaluation, independent)."""
    return sp.N(expr.subs(f(x), BRANCH).subs(x, at), 40)


@settings(max_examples=40, deadline=None)
@given(st.integers(-950, 950), st.integers(1, 4))
def test_derivative_matches_sympy_diff_of_the_explicit_branch(k, n):
    at = sp.Rational(k, 1000)
    ours = CIRCLE.derive().derivative(x, n)
    truth = sp.N(sp.diff(BRANCH, x, n).subs(x, at), 40)
    assert abs(_on_branch(ours, at) - truth) <= sp.Float(1e-30) * (1 + abs(truth))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_derivative_equals_idiff_with_an_applied_function(n):
    ours = CIRCLE.derive().derivative(x, n)
    theirs = sp.idiff(x**2 + f(x)**2 - 1, f(x), x, n)
    assert sp.simplify(ours - theirs) == 0
    assert ours.has(f(x)) and not ours.has(sp.Symbol("f"))


def test_printed_forms_show_f_of_x_and_its_primes():
    d = CIRCLE.derive()
    assert d.derivative(x) == -x / f(x)
    assert repr(CIRCLE) == "Root(x**2 + f(x)**2 - 1, unknown=f(x), params=(x,))"
    d.derivative(x, 2)
    tex = d.latex()
    assert r"f'\left(x\right) &= - \frac{x}{f\left(x\right)}" in tex
    assert r"f''\left(x\right)" in tex
    assert r"x^{2} + f^{2}\left(x\right) - 1 &= 0" in tex
    from symimplicit.report.text import derivation_text
    plain = derivation_text(d)
    assert "∂F/∂f" in plain and "f′′(x)" in plain
    steps = d.steps
    results = [s for s in steps if s.kind == "result"]
    assert results[0].equations[0] == sp.Eq(sp.Derivative(f(x), x), -x / f(x))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_document_compiles(tmp_path):
    d = CIRCLE.derive()
    d.derivative(x, 3)
    (tmp_path / "d.tex").write_text(d.latex(document=True))
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "d.pdf").stat().st_size > 1000


def test_parse_with_an_applied_unknown():
    st_ = parse("x^2 + y(x)^2 = 1", unknown="y(x)")
    y, xr = sp.Function("y", real=True), sp.Symbol("x", real=True)
    assert st_.params == (xr,) and st_.to_user(st_.unknowns[0]) == y(xr)
    assert st_.derive().derivative("x") == -xr / y(xr)
    fp = parse("y(a) = cos(a*y(a))", unknown="y(a)")
    assert isinstance(fp, FixedPoint) and "unknown=y(a)" in repr(fp)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.1, 2.0))
def test_layer_of_an_applied_fixed_point(a):
    # y(a) = cos(a y(a)): the layer's value and gradient against mpmath (findroot, then the
    # IFT by mpmath.diff of the residual, independent of the derivation)
    layer = parse("y(a) = cos(a*y(a))", unknown="y(a)").primitive()
    A = Scalar(a)
    Y = layer(A)
    backward(Y)
    with mpmath.workdps(40):
        ys = mpmath.findroot(lambda v: v - mpmath.cos(a * v), 0.7)
        F = lambda v, s: v - mpmath.cos(s * v)
        dy = -mpmath.diff(lambda s: F(ys, s), a) / mpmath.diff(lambda v: F(v, a), ys)
    assert abs(Y.value - float(ys)) <= 4e-16 * abs(float(ys))
    assert abs(A.grad - float(dy)) <= 1e-13 * (1 + abs(float(dy)))


def test_pickled_layer_keeps_the_applied_unknown():
    layer = CIRCLE.primitive(x0=0.5)
    again = pickle.loads(pickle.dumps(layer))
    assert repr(again.statement) == repr(CIRCLE)
    assert again.solve(0.6) == pytest.approx(0.8, rel=1e-15)


def test_two_applied_unknowns_and_a_constant():
    g = sp.Function("g")
    st_ = Root([f(x) + g(x) - c, f(x) - x * g(x)], [f(x), g(x)], (x, c))
    d = st_.derive()
    # closed form: g = c/(1 + x), f = c x/(1 + x)
    dg = d.derivative(x, explicit=True)
    exact = sp.Matrix([sp.diff(c * x / (1 + x), x), sp.diff(c / (1 + x), x)])
    on = {f(x): c * x / (1 + x), g(x): c / (1 + x)}
    assert sp.simplify(dg.subs(on) - exact) == sp.zeros(2, 1)


@pytest.mark.parametrize("build, piece", [
    (lambda: Root(x**2 + f(x, c)**2 - 1, f(x, c), (x,)), "argument c is not a parameter"),
    (lambda: Root(x**2 + f(x)**2 - 1, f(x), (c,)), "argument x is not a parameter"),
    (lambda: Root(x**2 + f(f(x))**2 - 1, f(f(x)), (x,)), "f(x) is not a symbol"),
    (lambda: Root(x**2 + f(f(x))**2 - 1, f(x), (x,)), "f(f(x))"),
    (lambda: Root(x**2 + f(2 * x)**2 - 1, f(x), (x,)), "f(2*x)"),
    (lambda: Root(f(x).diff(x) + f(x) - 1, f(x), (x,)), "differential equation"),
    (lambda: parse("x^2 + y(x)^2 = c", unknown="y(x)", params="c"), "argument x"),
    (lambda: parse("x^2 + y(x)^2 = 1", unknown="y(y(x))"), "y(y(x))"),
])
def test_bad_applied_unknowns_are_statement_errors_naming_the_piece(build, piece):
    with pytest.raises(StatementError) as info:
        build()
    assert piece in str(info.value)


def test_system_steps_show_the_applied_unknowns():
    g = sp.Function("g")
    d = Root([f(x) + g(x) - c, f(x) - x * g(x)**2], [f(x), g(x)], (x, c)).derive()
    d.derivative(x, 2)
    tex = d.latex()
    assert r"f\left(x\right) - x g^{2}\left(x\right) &= 0" in tex
    assert r"- \frac{g^{2}\left(x\right)}{2 x g\left(x\right) + 1}" in tex   # ∂g/∂x
    # ∂g/∂x against the explicit branch g(x, c) = (-1 + √(1 + 4xc))/(2x) of x g² + g - c = 0
    branch = (-1 + sp.sqrt(1 + 4 * x * c)) / (2 * x)
    dg = d.derivative(x, explicit=True)[1].subs({g(x): branch, f(x): x * branch**2})
    at = {x: sp.Rational(3, 7), c: sp.Rational(5, 3)}
    assert abs(sp.N((dg - sp.diff(branch, x)).subs(at), 40)) < 1e-30
