"""Equations as a person writes them: SymPy's LaTeX printer with the report's conventions,
and long right-hand sides broken into lines.

Conventions (:class:`DerivationPrinter`):

* the unknown as a function of the parameters, ``x(a, b)``, prints as ``x``
  (the step's sentence says it depends on the parameters), so its derivative is
  ``\\frac{\\partial x}{\\partial a}`` and the partials of F are ``\\frac{\\partial F}{\\partial x}``;
* symbol names through :func:`~symimplicit.report.names.latex_name` (``theta_1`` → ``\\theta_{1}``);
* a sum does not start with a minus sign when one of its terms is positive
  (``1 - e \\cos E``, not ``- e \\cos E + 1``);
* matrices are ``bmatrix``, an inverse is ``J^{-1}``.

:func:`break_lines` splits an expression whose typeset width exceeds a budget at
top-level ``+`` / ``-`` (descending into a long numerator or a long factor, which
is then put in ``\\Bigl( ... \\Bigr)`` so that it can span lines of an ``align*``).
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

__all__ = ["DerivationPrinter", "break_lines", "visible_width", "DEFAULT_WIDTH"]

DEFAULT_WIDTH = 76
"""Budget of one displayed line (left and right-hand sides), in the estimated
characters of :func:`visible_width`.  Measured on rendered pages: one unit is
5.5 pt at 11 pt, so an A4 page with 2.5 cm margins (453 pt) holds 82; 76 leaves a margin."""

CONTINUATION_INDENT = 4
"""Width of the ``\\qquad`` that starts a continuation line."""

_BRACKETS = ((r"\Bigl[", r"\Bigr]"), (r"\bigl(", r"\bigr)"), ("(", ")"))
"""Delimiters that may span lines of an align* (no \\left/\\right), outermost first."""

_FUNCTION_WORDS = {"sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth",
                   "log", "ln", "exp", "det", "arcsin", "arccos", "arctan", "operatorname",
                   "asin", "acos", "atan", "min", "max", "sign", "erf", "Gamma"}
_ZERO_WIDTH = {"left", "right", "Bigl", "Bigr", "bigl", "bigr", "biggl", "biggr", "mathit",
               "mathrm", "mathbf", "displaystyle", "limits", "nolimits", "text"}
_MATRIX = re.compile(r"\\begin\{(\w*matrix)\}(.*?)\\end\{\1\}", re.S)


class DerivationPrinter(LatexPrinter):
    """``sympy.latex`` for derivation steps (see the module docstring).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.report import DerivationPrinter
    >>> print(DerivationPrinter().doprint(sp.Symbol("theta_1")**2))
    \\theta_{1}^{2}
    """

    printmethod = "_latex"
    _default_settings = {**LatexPrinter._default_settings,
                         "mat_str": "bmatrix", "mat_delim": "", "applied": frozenset()}

    def _print_Symbol(self, expr, style="plain"):
        from symimplicit.report.names import latex_name
        return self._settings["symbol_names"].get(expr) or latex_name(expr.name)

    _print_Dummy = _print_Symbol

    def _print_Function(self, expr, exp=None):
        if expr.func in self._settings["applied"]:  # the user's applied unknown: f(x) in full
            args = ", ".join(self._print(a) for a in expr.args)
            tex = self._print(sp.Symbol(expr.func.__name__))
            return (tex if exp is None else f"{tex}^{{{exp}}}") + rf"\left({args}\right)"
        if isinstance(expr, AppliedUndef):          # x(a, b) -> x: the dependence is said in words
            tex = self._print(sp.Symbol(expr.func.__name__))
            return tex if exp is None else f"{tex}^{{{exp}}}"
        return super()._print_Function(expr, exp)

    def _print_Derivative(self, expr):
        inner = expr.expr
        if inner.func in self._settings["applied"] and len(inner.args) == 1:
            order = sum(c for _, c in expr.variable_count)   # Lagrange's f'(x), f''(x), f^{(4)}(x)
            marks = "'" * order if order <= 3 else f"^{{({order})}}"
            name = self._print(sp.Symbol(inner.func.__name__))
            return rf"{name}{marks}\left({self._print(inner.args[0])}\right)"
        if not isinstance(inner, (AppliedUndef, sp.Symbol)):
            return super()._print_Derivative(expr)
        denominator, order = [], 0
        for var, count in expr.variable_count:
            order += count
            name = self._print(var)
            denominator.append(rf"\partial {name}" if count == 1
                               else rf"\partial {self.parenthesize_super(name)}^{{{count}}}")
        power = "" if order == 1 else f"^{{{order}}}"
        return rf"\frac{{\partial{power} {self._print(inner)}}}{{{' '.join(denominator)}}}"

    def _print_Mul(self, expr):
        # -(∂F/∂a)/(∂F/∂x): one level of fraction, not a fraction of fractions
        numerator, denominator = sp.fraction(expr)
        sign = ""
        if numerator.could_extract_minus_sign():
            sign, numerator = "- ", -numerator
        if _is_derivative(numerator) and _is_derivative(denominator):
            return (rf"{sign}\frac{{{self._slashed(numerator)}}}"
                    rf"{{{self._slashed(denominator)}}}")
        return super()._print_Mul(expr)

    def _slashed(self, expr) -> str:
        """∂F/∂a written inline."""
        tex = self._print_Derivative(expr)
        top, bottom = re.fullmatch(r"\\frac\{(.*)\}\{(.*)\}", tex).groups()
        return f"{top} / {bottom}"

    def _print_MatMul(self, expr):
        # SymPy's own printer asks could_extract_minus_sign(), which evaluates -M and with it
        # the symbolic inverse of an Inverse(J) factor: minutes for a 2×2 with logarithms
        args = list(expr.args)
        sign = ""
        if args and isinstance(args[0], sp.Number):
            coeff = args.pop(0)
            sign = "- " if coeff == -1 else "" if coeff == 1 else self._print(coeff) + " "
        return sign + " ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=True)
                               for a in args)

    def _print_Inverse(self, expr):
        return rf"{self._print(expr.arg)}^{{-1}}"

    def _as_ordered_terms(self, expr, order=None):
        terms = list(super()._as_ordered_terms(expr, order=order))
        if terms and terms[0].could_extract_minus_sign():
            for i, t in enumerate(terms):
                if not t.could_extract_minus_sign():
                    terms.insert(0, terms.pop(i))    # 1 - e cos E rather than -e cos E + 1
                    break
        return terms


def _is_derivative(expr) -> bool:
    """∂ⁿu/∂θ… of an unknown u(θ) or a Symbol (what _print_Derivative writes as one fraction)."""
    return isinstance(expr, sp.Derivative) and isinstance(expr.expr, (AppliedUndef, sp.Symbol))


# --------------------------------------------------------------------------- #
# width of typeset math (a rough estimate, in characters)                        #
# --------------------------------------------------------------------------- #
def _group(tex: str, i: int) -> tuple[str, int]:
    """The brace group (or single token) starting at ``tex[i]``, and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] != "{":
        if tex[i] == "\\":
            m = re.match(r"\\[A-Za-z]+|\\.", tex[i:])
            return m.group(0), i + len(m.group(0))
        return tex[i], i + 1
    depth = 0
    for j in range(i, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1:j], j + 1
    return tex[i + 1:], len(tex)


def _matrix_width(body: str) -> float:
    rows = re.split(r"\\\\", body)
    return max(sum(visible_width(cell) + 2 for cell in row.split("&")) for row in rows) + 1


def visible_width(tex: str) -> float:
    """Estimated width of typeset math, in characters: commands count as their glyph,
    a fraction as the wider of its parts, scripts at 70 %, a matrix as its widest row."""
    tex = _MATRIX.sub(lambda m: "#" * round(_matrix_width(m.group(2))), tex)
    width, i = 0.0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name, i = m.group(1), i + len(m.group(0))
            if name in ("frac", "dfrac", "tfrac"):
                top, i = _group(tex, i)
                bottom, i = _group(tex, i)
                width += max(visible_width(top), visible_width(bottom)) + 1
            elif name in ("quad", "qquad"):
                width += 2 if name == "quad" else 4
            elif name in _ZERO_WIDTH or not name.isalpha():
                width += 0
            else:
                width += len(name) if name in _FUNCTION_WORDS else 1
        elif ch in "^_":
            script, i = _group(tex, i + 1)
            width += 0.7 * visible_width(script)
        elif ch in "{} ":
            i += 1
        else:
            width += 2 if ch in "+-=<>" else 1
            i += 1
    return width


# --------------------------------------------------------------------------- #
# line breaking                                                                  #
# --------------------------------------------------------------------------- #
def _pieces(expr, p: DerivationPrinter, width: float, depth: int = 0) -> list[str]:
    """The LaTeX of ``expr`` as unbreakable pieces; a line may break between two pieces."""
    tex = p.doprint(expr)
    if visible_width(tex) <= width or not isinstance(expr, (sp.Add, sp.Mul, sp.Pow)):
        return [tex]
    if isinstance(expr, sp.Add):
        out: list[str] = []
        for i, term in enumerate(p._as_ordered_terms(expr)):
            sign = ""
            if i:
                sign = "- " if term.could_extract_minus_sign() else "+ "
                term = -term if sign == "- " else term
            sub = _pieces(term, p, width, depth)
            out += [sign + sub[0]] + sub[1:]
        return out
    sign = ""
    if expr.could_extract_minus_sign():
        sign, expr = "- ", -expr
    numerator, denominator = sp.fraction(expr)
    body, rest = numerator, sp.S.One
    if isinstance(body, sp.Mul):
        sums = [f for f in body.args if isinstance(f, sp.Add)]
        if not sums:
            return [tex]
        body = max(sums, key=lambda f: len(p.doprint(f)))
        others = list(numerator.args)
        others.remove(body)
        # unevaluated: 2·(a + 1) must not become 2a + 2 in front of the bracket
        rest = others[0] if len(others) == 1 else sp.Mul(*others, evaluate=False)
    if not isinstance(body, sp.Add):
        return [tex]
    if denominator != 1:                     # N·S/D -> \frac{N}{D} (S), S broken over lines
        head = rf"\frac{{{p.doprint(rest)}}}{{{p.doprint(denominator)}}} "
    else:
        head = "" if rest == 1 else p.parenthesize(rest, PRECEDENCE["Mul"], strict=True) + " "
    left, right = _BRACKETS[min(depth, len(_BRACKETS) - 1)]
    inner = _pieces(body, p, width, depth + 1)
    inner[-1] = inner[-1] + right
    opening = sign + head + left
    if visible_width(opening + inner[0]) <= width:
        return [opening + inner[0]] + inner[1:]
    return [opening] + inner                 # a line may also break after the bracket


def break_lines(expr, printer: DerivationPrinter, width: float = DEFAULT_WIDTH) -> list[str]:
    """``expr`` as one or more lines of LaTeX, each within ``width`` when it can be split;
    continuation lines start with their operator (``+ ...``, ``- ...``)."""
    lines: list[str] = []
    for piece in _pieces(expr, printer, width):
        budget = width - (CONTINUATION_INDENT if len(lines) > 1 else 0)
        if lines and visible_width(lines[-1] + " " + piece) <= budget:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return lines
