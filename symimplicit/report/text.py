"""A Derivation for a terminal: each step's sentence, then its equations pretty-printed
(Unicode, ``sympy.pretty``), the unknown's derivatives written ∂x/∂a."""
from __future__ import annotations

import re
import textwrap

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm

from symimplicit.report.names import unicode_name
from symimplicit.report.prose import plain_text

__all__ = ["derivation_text", "derivative_name", "TerminalPrinter"]

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def derivative_name(expr: sp.Derivative) -> str:
    """``Derivative(x(a, b), a, a, b)`` → ``∂³x/∂a²∂b``."""
    name = expr.expr.func.__name__ if isinstance(expr.expr, AppliedUndef) else expr.expr.name
    order = sum(count for _, count in expr.variable_count)
    top = "∂" + (str(order).translate(_SUPERSCRIPTS) if order > 1 else "") + unicode_name(name)
    bottom = "".join("∂" + unicode_name(v.name) + (str(c).translate(_SUPERSCRIPTS) if c > 1
                                                    else "") for v, c in expr.variable_count)
    return f"{top}/{bottom}"


def applied_derivative_name(expr: sp.Derivative) -> str:
    """``Derivative(f(x), x, 2)`` → ``f''(x)`` (one argument), else ``∂²f/∂x∂y(x, y)``."""
    u = expr.expr
    args = ", ".join(unicode_name(a.name) for a in u.args)
    order = sum(count for _, count in expr.variable_count)
    if len(u.args) == 1:
        marks = "′" * order if order <= 3 else f"⁽{str(order).translate(_SUPERSCRIPTS)}⁾"
        return f"{unicode_name(u.func.__name__)}{marks}({args})"
    return f"{derivative_name(expr)}({args})"


class TerminalPrinter(PrettyPrinter):
    """sympy.pretty with ∂x/∂a for derivatives of the unknowns, x for x(a, b), and
    matrix products printed without evaluating them (see DerivationPrinter._print_MatMul)."""

    def __init__(self, width: int, applied=frozenset()):
        super().__init__({"use_unicode": True, "num_columns": width, "wrap_line": False})
        self.applied = applied               # the user's applied unknowns: f(x), f'(x) in full

    def _print_Derivative(self, expr):
        if expr.expr.func in self.applied:
            return prettyForm(applied_derivative_name(expr))
        if isinstance(expr.expr, (AppliedUndef, sp.Symbol)):
            return prettyForm(derivative_name(expr))
        return super()._print_Derivative(expr)

    def _print_Function(self, e, sort=False, func_name=None, left="(", right=")"):
        if isinstance(e, AppliedUndef) and e.func not in self.applied:
            return prettyForm(unicode_name(e.func.__name__))
        return super()._print_Function(e, sort=sort, func_name=func_name, left=left, right=right)

    def _print_MatMul(self, expr):
        args = list(expr.args)
        sign = None
        if args and isinstance(args[0], sp.Number) and args[0] == -1:
            args, sign = args[1:], prettyForm("-")
        forms = [prettyForm(*self._print(a).parens()) if isinstance(a, (sp.Add, sp.MatAdd))
                 else self._print(a) for a in args]
        out = prettyForm.__mul__(*forms)
        return prettyForm(*sign.right(out)) if sign is not None else out

    def _print_Inverse(self, expr):
        return self._print(expr.arg) ** prettyForm("-1")


def _has_matrix(expr) -> bool:
    sides = (expr.lhs, expr.rhs) if isinstance(expr, sp.core.relational.Relational) else (expr,)
    return any(isinstance(side, (sp.MatrixBase, sp.MatrixExpr)) for side in sides)


def _one_line(expr, applied=frozenset()) -> str:
    """A one-line form (``lhs = rhs``) of an equation too wide to draw."""
    if isinstance(expr, sp.core.relational.Relational):
        op = {"==": "="}.get(expr.rel_op, expr.rel_op)
        return f"{_one_line(expr.lhs, applied)} {op} {_one_line(expr.rhs, applied)}"
    if isinstance(expr, sp.Derivative) and expr.expr.func in applied:
        return applied_derivative_name(expr)
    if applied:
        return str(expr)                                   # f(x) kept in full
    if isinstance(expr, sp.Derivative) and isinstance(expr.expr, (AppliedUndef, sp.Symbol)):
        return derivative_name(expr)
    return re.sub(r"\b(\w+)\((?:\w+, )*\w+\)", lambda m: m.group(1)
                  if m.group(1) not in _KNOWN_FUNCTIONS else m.group(0), str(expr))


_KNOWN_FUNCTIONS = {"sin", "cos", "tan", "exp", "log", "sqrt", "sinh", "cosh", "tanh", "Abs",
                    "atan", "asin", "acos", "LambertW", "erf", "gamma", "sign"}


def _art(expr, width: int, applied=frozenset()) -> list[str]:
    """The pretty form when it fits in ``width`` columns, else one line wrapped at spaces."""
    art = TerminalPrinter(10 * width, applied).doprint(expr).splitlines()
    if max(map(len, art), default=0) <= width or _has_matrix(expr):
        return art                 # (str() of a product with an Inverse would evaluate it)
    return textwrap.wrap(_one_line(expr, applied), width, subsequent_indent="    ",
                         break_long_words=False)


def derivation_text(derivation, *, wrt=None, width: int = 100) -> str:
    """The steps as plain text: numbered sentences, each equation indented below.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> d = Root(x**2 - a, x, a).derive()
    >>> from symimplicit.report import derivation_text
    >>> text = derivation_text(d)
    >>> print(text.splitlines()[0])
    1. The unknown x is defined implicitly by F = 0 with parameters a.
    >>> "∂x/∂a = ───" in text, text.count("\\n\\n") + 1          # seven numbered steps
    (True, 7)
    """
    steps = derivation.steps_for(*wrt) if wrt else derivation.steps
    st = derivation.statement
    names = {s.name for s in (*st.system_unknowns, *st.params)}
    blocks = []
    for k, step in enumerate(steps, 1):
        lines = [f"{k}. {plain_text(step.text, names)}"]
        for eq in step.equations:
            lines += ["    " + ln for ln in _art(eq, width - 4, st.applied.functions)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
