"""Constraints in canonical form, Minimize with inequalities, and derive(active=[...])."""
import shutil

import pytest
import sympy as sp

from symimplicit import Minimize, parse
from symimplicit.constraints import bounds, split_constraints
from symimplicit.errors import DerivationError, ParseError, StatementError

x, y, a, b, m, p, q = sp.symbols("x y a b m p q")


def test_canonical_forms():
    eqs, ineqs = split_constraints([sp.Eq(x + y, 1), x - y, x <= 2, x >= a, sp.Le(3, y),
                                    sp.Ge(a, y)])
    assert eqs == (sp.Eq(x + y, 1), x - y)
    assert [c.h for c in ineqs] == [x - 2, a - x, 3 - y, y - a]     # each meaning h <= 0
    assert [c.index for c in ineqs] == [0, 1, 2, 3]
    assert ineqs[0].relation == sp.Le(x - 2, 0, evaluate=False)


def test_and_contains_and_bounds():
    _, ineqs = split_constraints([sp.And(x >= 0, x <= a), sp.Contains(y, sp.Interval(-1, b))])
    assert [c.h for c in ineqs] == [-x, x - a, -1 - y, y - b]
    _, half = split_constraints([sp.Contains(y, sp.Interval(0, sp.oo))])
    assert [c.h for c in half] == [-y]
    assert bounds(x, None, 1) == [x <= 1]


@pytest.mark.parametrize("bad, words", [
    (x < 1, "strict"), (x > 1, "strict"), (sp.Ne(x, 1), "!="), ("x >= 0", "parse"),
    (sp.true, "truth value"), (x <= sp.oo, "infinity"),
    (sp.Contains(x, sp.Interval.open(0, 1)), "open interval"),
])
def test_bad_constraints_are_typed(bad, words):
    with pytest.raises(StatementError, match=words):
        Minimize((x - a)**2, x, [a], constraints=[bad])


def test_minimize_with_inequalities():
    st = Minimize((x - a)**2 + y**2, [x, y], constraints=[x + y - 1, x >= 0, y <= b])
    assert st.params == (a, b)                                        # b occurs in a bound only
    assert st.constraints == (x + y - 1,)
    assert [c.h for c in st.inequalities] == [-x, y - b]
    assert [s.name for s in st.inequality_multipliers] == ["mu_1", "mu_2"]
    assert "x >= 0" in repr(st) and "y <= b" in repr(st)
    assert st != Minimize((x - a)**2 + y**2, [x, y], constraints=[x + y - 1, x >= 0])
    with pytest.raises(StatementError, match="active set"):
        st.residual
    with pytest.raises(StatementError, match="does not involve"):
        Minimize((x - a)**2, x, [a, b], constraints=[b >= 0])


def test_inequalities_do_not_count_against_the_unknowns():
    st = Minimize((x - a)**2, x, [a], constraints=[x >= 0, x <= 1, x <= 2])
    assert len(st.inequalities) == 3


def test_derive_needs_an_active_set():
    st = Minimize((x - a)**2, x, [a], constraints=[x >= 0])
    with pytest.raises(DerivationError, match=r"derive\(active="):
        st.derive()
    for item in (0, "x >= 0", x >= 0, -x, "-x", [0]):
        assert st.derive(active=item).derivative(a) == 0
    assert st.derive(active=[]).derivative(a) == 1
    assert st.derive(active=[0]) is st.derive(active=["x >= 0"])     # one per active set
    with pytest.raises(DerivationError, match="not one of"):
        st.derive(active=["x <= 0"])
    with pytest.raises(DerivationError, match="out of range"):
        st.derive(active=[3])


def test_agrees_with_the_equality_path():
    """Under a named active set the derivative is the equality-constrained argmin's."""
    f = (x - a)**2 + (y - b)**2 + x * y / 2
    st = Minimize(f, [x, y], [a, b], constraints=[x + 2 * y <= a * b, x >= 0])
    eq = Minimize(f, [x, y], [a, b], constraints=[x + 2 * y - a * b])
    d = st.derive(active=[0])
    for param in (a, b):
        assert sp.simplify(d.derivative(param) - eq.derive().derivative(param, explicit=True)) == sp.zeros(2, 1)
    assert sp.simplify(d.derivative(a, b) - eq.derive().derivative(a, b, explicit=True)) == sp.zeros(2, 1)
    assert d.second_order == eq.derive().second_order


def test_multiplier_derivatives_cobb_douglas():
    """max α log x + (1-α) log y s.t. p x + q y = m: λ = 1/m, the marginal utility of income."""
    al = sp.Rational(1, 3)
    st = Minimize(-(al * sp.log(x) + (1 - al) * sp.log(y)), [x, y], [p, q, m],
                  constraints=[p * x + q * y - m])
    d = st.derive(active=[])
    at = {x: al * m / p, y: (1 - al) * m / q, st.multipliers[0]: 1 / m}   # the closed form
    assert sp.simplify(st.gradient.subs(at) + sp.Matrix([p, q]) / m) == sp.zeros(2, 1)  # KKT
    assert sp.simplify(d.derivative(m).subs(at) - sp.Matrix([al / p, (1 - al) / q])) \
        == sp.zeros(2, 1)
    assert sp.simplify(d.multiplier_derivative(m)[0].subs(at) + 1 / m**2) == 0   # d(1/m)/dm
    assert sp.simplify(d.multiplier_derivative(p)[0].subs(at)) == 0


def test_inactive_multiplier_derivatives_vanish():
    st = Minimize((x - a)**2 + (y - b)**2, [x, y], [a, b], constraints=[x <= 1, y <= 1])
    d = st.derive(active=[1])
    assert d.multiplier_derivative(b) == sp.Matrix([0, 2])            # μ₂ = 2(b - 1)
    assert d.derivative(b) == sp.Matrix([0, 0])


def test_conditions_name_complementarity_and_licq():
    st = Minimize((x - a)**2 + y**2, [x, y], [a], constraints=[x <= 1, y >= -1])
    d = st.derive(active=[0])
    mu1 = st.inequality_multipliers[0]
    assert sp.Le(mu1, 0) in d.conditions                              # weakly active where μ₁ = 0
    assert sp.Ge(-1 - y, 0) in d.complementarity                      # y reaches its bound
    twice = Minimize((x - a)**2, x, [a], constraints=[x <= 1, x <= 1])
    assert twice.derive(active=[0, 1]).licq == [sp.true]              # dependent gradients


def test_steps_and_latex():
    st = Minimize((x - a)**2 + y**2, [x, y], [a], constraints=[x + y <= 1])
    d = st.derive(active=[0])
    kinds = [s.kind for s in d.steps]
    assert kinds[:3] == ["statement", "statement", "statement"] and kinds[-1] == "condition"
    tex = d.latex()
    assert r"\mu_{1}" in tex and r"\leq 0" in tex and "active set" in tex
    assert d.latex(document=True).startswith(r"\documentclass")
    assert "$$" in d.markdown()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_compiles(tmp_path):
    st = Minimize((x - a)**2 + (y - b)**2, [x, y], [a, b],
                  constraints=[sp.Eq(x + y, 1), x >= 0, y <= b / 2])
    pdf = st.derive(active=[1]).pdf(tmp_path / "kkt.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_parse_inequalities():
    st = parse("(x - a)^2 + y^2", unknown=["x", "y"], kind="minimize",
               constraints=["x + y = 1", "x >= 0", "0 <= y <= a", "y ≤ 2"])
    X, Y, A = (st._by_name[n] for n in "xya")
    assert st.constraints == (X + Y - 1,)
    assert [c.h for c in st.inequalities] == [-X, -Y, Y - A, Y - 2]
    with pytest.raises(ParseError, match="strict"):
        parse("x^2", unknown="x", kind="minimize", constraints=["x > 0"])
    with pytest.raises(ParseError, match="mixes"):
        parse("x^2", unknown="x", kind="minimize", constraints=["0 <= x >= 1"])


def test_cli_derive_with_active(capsys):
    from symimplicit.cli import main
    assert main(["derive", "--minimize", "(x-a)^2", "--unknown", "x", "--constraint", "x >= 0",
                 "--active", "x >= 0"]) == 0
    assert "active set" in capsys.readouterr().out


def test_cli_derive_without_active_names_the_option(capsys):
    from symimplicit.cli import main
    code = main(["derive", "--minimize", "(x-a)^2", "--unknown", "x", "--constraint", "x >= 0"])
    err = capsys.readouterr().err
    assert code != 0 and "--active" in err and "[0] x >= 0" in err and "Traceback" not in err


def test_lower_refuses_inequalities():
    with pytest.raises(StatementError, match="lower"):
        Minimize((x - a)**2, x, [a], constraints=[x >= 0]).lower()
