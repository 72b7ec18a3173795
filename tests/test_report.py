"""symimplicit.report: LaTeX content, names, prose escaping, Markdown, notebook forms,
and real pdflatex compilation of every catalog problem (rendered page checked non-blank)."""
import shutil
import subprocess

import pytest
import sympy as sp

from symimplicit import FixedPoint, Minimize, Root, parse
from symimplicit.errors import MissingDependencyError
from symimplicit.report import (LatexError, compile_pdf, derivation_text, latex_name,
                                unicode_name)
from symimplicit.report.printer import DerivationPrinter, break_lines, visible_width
from symimplicit.report.prose import latex_text, segments
from tests.catalog import CATALOG

HAVE_PDFLATEX = shutil.which("pdflatex") is not None
needs_pdflatex = pytest.mark.skipif(not HAVE_PDFLATEX, reason="pdflatex not installed")

x, a, b = sp.symbols("x a b")
SEED = FixedPoint(sp.cos(a * x + b), x, (a, b))


# -- names ------------------------------------------------------------------------------ #
@pytest.mark.parametrize("name, tex, uni", [
    ("theta_1", r"\theta_{1}", "θ₁"), ("alpha", r"\alpha", "α"), ("x_0", "x_{0}", "x₀"),
    ("lambda_1", r"\lambda_{1}", "λ₁"), ("lambda_1_", r"\lambda_{1}'", "λ₁′"),
    ("Re", r"\mathit{Re}", "Re"), ("alpha_max", r"\alpha_{\mathrm{max}}", "α_max"),
    ("θ_2", r"\theta_{2}", "θ₂"), ("Omega", r"\Omega", "Ω"), ("rho0", r"\rho_{0}", "ρ₀"),
])
def test_symbol_names(name, tex, uni):
    assert latex_name(name) == tex
    assert unicode_name(name) == uni


def test_greek_parameter_renders_in_the_derivation():
    st = parse("x = cos(theta_1*x + alpha)", unknown="x")
    tex = st.derive().latex()
    assert r"\frac{\partial x}{\partial \theta_{1}}" in tex
    assert r"\alpha" in tex and "theta_1" not in tex


# -- prose -------------------------------------------------------------------------------- #
def test_sentences_split_into_words_and_formulas():
    parts = segments("Solve where ∂F/∂x ≠ 0, treating x as a function of a, b.", {"a", "b"})
    assert ("math", r"\partial F/\partial x \neq 0") in parts
    assert ("math", "a, b") in parts
    assert any(k == "text" and "as a function" in s for k, s in parts)   # the article stays


def test_user_text_is_escaped():
    tex = latex_text("weird $&%_{}#~^ text", ())
    for raw in ("$&", "%_", "{}#"):
        assert raw not in tex
    assert r"\$" in tex and r"\&" in tex and r"\%" in tex and r"\#" in tex


# -- printer -------------------------------------------------------------------------------- #
def test_derivatives_print_as_a_person_writes_them():
    p = DerivationPrinter()
    X = sp.Function("x")(a, b)
    assert p.doprint(sp.Derivative(X, a)) == r"\frac{\partial x}{\partial a}"
    assert p.doprint(sp.Derivative(X, a, a, b)) == \
        r"\frac{\partial^{3} x}{\partial a^{2} \partial b}"
    assert p.doprint(1 - sp.Symbol("e") * sp.cos(x)).startswith("1 - e")


def test_long_right_hand_sides_break_at_top_level_signs():
    d = SEED.derive()
    expr = d.derivative(a, a)
    lines = break_lines(expr, DerivationPrinter(), 40)
    assert len(lines) >= 3
    assert sum(line.lstrip().startswith(("+", "-")) for line in lines[1:]) >= 2
    assert lines[0].count(r"\Bigl[") == lines[-1].count(r"\Bigr]") == 1
    assert all(visible_width(line) <= 40 for line in lines)
    assert break_lines(d.derivative(a), DerivationPrinter(), 40) == \
        [DerivationPrinter().doprint(d.derivative(a))]                 # short: untouched


# -- latex / markdown / notebook --------------------------------------------------------------- #
def test_latex_has_every_step_of_the_seed_derivation():
    d = SEED.derive()
    tex = d.latex()
    assert tex.startswith(r"\begin{align*}") and tex.rstrip().endswith(r"\end{align*}")
    assert tex.count(r"\intertext{") == len(d.steps)
    assert r"\frac{\partial x}{\partial a}" in tex
    assert r"- \frac{\partial F / \partial a}{\partial F / \partial x}" in tex
    assert r"a \sin{\left(a x + b \right)} + 1 &= 0" in tex            # the condition
    assert r"\documentclass" not in tex


def test_document_is_deterministic_and_standalone():
    doc = SEED.derive().latex(document=True)
    assert doc.startswith(r"\documentclass") and doc.rstrip().endswith(r"\end{document}")
    assert r"\usepackage{amsmath}" in doc and r"\date" not in doc and r"\today" not in doc
    assert doc == SEED.derive().latex(document=True)
    assert "Implicit differentiation: $x = \\cos" in doc


def test_wrt_gives_the_chain_of_one_derivative():
    d = SEED.derive()
    tex = d.latex(wrt=(a, a))
    assert r"\frac{\partial^{2} x}{\partial a^{2}}" in tex
    assert r"\partial b}" not in tex


def test_markdown_and_notebook_forms():
    d = SEED.derive()
    md = d.markdown()
    assert md.count("$$") == 2 * sum(1 for s in d.steps if s.equations)
    assert r"\begin{aligned}" in md and r"\intertext" not in md
    assert d._repr_latex_().startswith("$$") and r"\text{" in d._repr_latex_()
    assert SEED._repr_latex_() == r"$$x = \cos{\left(a x + b \right)}$$"


def test_vector_and_kkt_forms():
    y, p, q, c = sp.symbols("y p q c")
    kkt = Minimize((x - p)**2 + (y - q)**2, (x, y), (p, q, c), constraints=[x**2 + 4*y**2 - c])
    tex = kkt.derive().latex()
    assert r"\begin{bmatrix}" in tex and r"^{-1}" in tex and r"\lambda_{1}" in tex
    assert r"\frac{\partial \lambda_{1}}{\partial p}" in tex
    assert r"\leq 0" in tex and r"\text{or}" in tex       # second-order condition


def test_terminal_text_uses_unicode_derivatives():
    text = derivation_text(SEED.derive())
    assert "∂x/∂a = " in text and "13." not in text.split("\n")[0]
    assert "x(a, b)" not in text


def test_unknown_option_is_refused():
    with pytest.raises(TypeError, match="unknown report option"):
        SEED.derive().latex(colour="red")


# -- pdflatex ------------------------------------------------------------------------------------- #
def _dark_fraction(pgm: bytes) -> float:
    """Fraction of dark pixels of a binary PGM (P5) image."""
    magic, dims, maxval, pixels = pgm.split(b"\n", 3)
    assert magic == b"P5"
    w, h = map(int, dims.split())
    return sum(1 for v in pixels[:w * h] if v < 128) / (w * h)


@needs_pdflatex
@pytest.mark.parametrize("problem", CATALOG, ids=[p.name for p in CATALOG])
def test_every_catalog_derivation_compiles(problem, tmp_path):
    path = problem.statement.derive().pdf(tmp_path / "d.pdf")
    assert path.read_bytes().startswith(b"%PDF")


@needs_pdflatex
def test_rendered_page_is_not_blank(tmp_path):
    d = SEED.derive()
    d.derivative(a, a)
    pdf = d.pdf(tmp_path / "seed.pdf")
    subprocess.run(["pdftoppm", "-r", "60", "-gray", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    page = next(tmp_path.glob("page*.pgm")).read_bytes()
    assert 0.002 < _dark_fraction(page) < 0.3


@needs_pdflatex
def test_latex_errors_are_typed_and_quote_the_log(tmp_path):
    with pytest.raises(LatexError, match="Undefined control sequence") as info:
        compile_pdf(r"\documentclass{article}\begin{document}\nosuchmacro\end{document}",
                    tmp_path / "bad.pdf")
    assert info.value.log and not (tmp_path / "bad.pdf").exists()


def test_missing_pdflatex_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError, match="texlive-latex-base"):
        SEED.derive().pdf(tmp_path / "x.pdf")


def test_root_statement_title():
    E, e, M = sp.symbols("E e M")
    doc = Root(E - e * sp.sin(E) - M, E, (e, M)).derive().latex(document=True)
    assert r"E - M - e \sin{\left(E \right)} = 0" in doc
