"""A Derivation's steps as LaTeX: an ``align*`` environment, a standalone document,
Markdown with ``$$`` blocks, and the notebook form.

Every step is its plain sentence (``\\intertext``, or a Markdown paragraph) followed
by its equations aligned at the relation sign; long right-hand sides are broken at
top-level ``+`` / ``-`` (:mod:`symimplicit.report.printer`); a matrix equation
too wide for the line is written component by component.  Nothing here computes
a derivative: the equations are the :class:`~symimplicit.derive.Step` records'.

Options shared by every entry point:

* ``wrt``: a tuple of parameters (Symbols or names, repeats allowed): only the
  chain of steps leading to that derivative (``Derivation.steps_for``); default:
  every step computed so far (``Derivation.steps``, first order for every parameter);
* ``width``: the line budget of a right-hand side, in estimated typeset characters
  (default :data:`~symimplicit.report.printer.DEFAULT_WIDTH`);
* ``title`` (documents only): the heading, default "Implicit differentiation: <statement>".

The output is deterministic (no date, no timestamps): the same derivation gives the
same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symimplicit.report.printer import DEFAULT_WIDTH, DerivationPrinter, break_lines, visible_width
from symimplicit.report.prose import escape_latex, intertext, markdown_text, math_text

__all__ = ["align", "standalone", "markdown", "repr_latex", "statement_latex", "step_rows",
           "statement_repr_latex", "PREAMBLE", "latex"]

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage{amsmath}
\usepackage{amssymb}
\usepackage[a4paper,margin=2.5cm]{geometry}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
"""
"""Packages of Debian's texlive-latex-base only (amsmath, amssymb via texlive-base, geometry)."""

_RELATIONS = {"==": "=", "<=": r"\leq", ">=": r"\geq", "<": "<", ">": ">", "!=": r"\neq"}
_REVERSED = {"<=": ">=", ">=": "<=", "<": ">", ">": "<"}
_SPLIT_SLACK = 1.0
"""A matrix equation wider than this many line budgets is written per component."""

_FLIP_WIDTH = 14
"""``lhs = 0`` with a left-hand side wider than this is written ``0 = lhs``."""


@dataclass(frozen=True)
class _Options:
    width: float = DEFAULT_WIDTH
    wrt: tuple | None = None
    title: str | None = None


def _options(**options) -> _Options:
    unknown = set(options) - {"width", "wrt", "title"}
    if unknown:
        raise TypeError(f"unknown report option(s) {sorted(unknown)}; "
                        "expected width, wrt or title")
    wrt = options.get("wrt")
    if wrt is not None and not isinstance(wrt, (tuple, list)):
        wrt = (wrt,)
    return _Options(width=float(options.get("width") or DEFAULT_WIDTH),
                    wrt=None if wrt is None else tuple(wrt), title=options.get("title"))


def _steps(derivation, opts: _Options) -> list:
    return derivation.steps_for(*opts.wrt) if opts.wrt else derivation.steps


def _names(derivation) -> set[str]:
    st = derivation.statement
    mu = getattr(st, "inequality_multipliers", ())                    # μ of an active set
    return {s.name for s in (*st.system_unknowns, *mu, *st.params)}


# --------------------------------------------------------------------------- #
# equations -> aligned rows                                                      #
# --------------------------------------------------------------------------- #
def _is_explicit_matrix(obj) -> bool:
    return isinstance(obj, sp.MatrixBase)


def _components(eq) -> list | None:
    """Eq(M, N) between two explicit matrices of one shape, as per-entry relations."""
    lhs, rhs = eq.lhs, eq.rhs
    if not (_is_explicit_matrix(lhs) and _is_explicit_matrix(rhs)) or lhs.shape != rhs.shape:
        return None
    return [sp.Eq(l, r, evaluate=False) for l, r in zip(lhs, rhs)]


_RESULTS = ("result", "higher_order")
"""Steps whose matrix results are written per component when they hold fractions
(a fraction inside a matrix is typeset small)."""


def _has_fraction(obj) -> bool:
    entries = obj if isinstance(obj, sp.MatrixBase) else [obj]
    return any(isinstance(e, sp.Expr) and sp.fraction(e)[1] != 1 for e in entries)


def _is_zero(obj) -> bool:
    if isinstance(obj, sp.MatrixBase):
        return all(e == 0 for e in obj)
    return obj == 0


@dataclass(frozen=True)
class _Row:
    """One relation to typeset: ``prefix lhs &relation rhs``."""

    prefix: str
    lhs: object
    relation: str
    rhs: object


def _relations(step, p: DerivationPrinter, width: float) -> list[_Row]:
    """The step's equations as rows: a matrix equation too wide for a line becomes one row
    per component; ``long = 0`` becomes ``0 = long`` (the left column stays narrow), except
    in conditions, whose alternatives read "or" and keep their orientation."""
    out: list[_Row] = []
    for k, eq in enumerate(step.equations):
        prefix = r"\text{or}\quad " if step.kind == "condition" and k else ""
        if not isinstance(eq, sp.core.relational.Relational):
            out.append(_Row(prefix, None, "", eq))
            continue
        parts = [eq]
        if visible_width(p.doprint(eq.lhs)) + visible_width(p.doprint(eq.rhs)) \
                > _SPLIT_SLACK * width or step.kind in _RESULTS and _has_fraction(eq.rhs):
            parts = _components(eq) or parts
        for part in parts:
            lhs, rhs, op = part.lhs, part.rhs, part.rel_op
            if _is_zero(rhs) and not isinstance(lhs, (sp.MatrixBase, sp.MatrixExpr)) and \
                    (op == "==" and step.kind != "condition" and
                     visible_width(p.doprint(lhs)) > _FLIP_WIDTH or
                     visible_width(p.doprint(lhs)) > width / 2):
                lhs, rhs, op = rhs, lhs, _REVERSED.get(op, op)     # long ≤ 0 as 0 ≥ long: breakable
            out.append(_Row(prefix, lhs, _RELATIONS.get(op, op), rhs))
    return out


def _typeset(rows: list[_Row], p: DerivationPrinter, width: float) -> list[list[str]]:
    """The lines of LaTeX of each row; right-hand sides broken to fit beside the widest left-hand side
    (an align* aligns every row at one column)."""
    lhs_tex = [p.doprint(r.lhs) if r.lhs is not None else "" for r in rows]
    widest = max((visible_width(r.prefix + t) for r, t in zip(rows, lhs_tex)), default=0)
    budget = max(width - widest - 2, width / 2)
    out = []
    for row, lhs in zip(rows, lhs_tex):
        rhs = row.rhs
        if isinstance(rhs, (sp.MatrixBase, sp.MatrixExpr)) or not isinstance(rhs, sp.Basic):
            lines = [p.doprint(rhs)]
        else:
            lines = break_lines(rhs, p, budget)
        lead = f"{row.prefix}{lhs} &{row.relation} " if row.lhs is not None else f"{row.prefix}&"
        out.append([lead + lines[0]] + [rf"&\qquad {line}" for line in lines[1:]])
    return out


def step_rows(step, p: DerivationPrinter, width: float = DEFAULT_WIDTH) -> list[str]:
    """The rows of one step's equations, typeset on their own."""
    return [line for row in _typeset(_relations(step, p, width), p, width) for line in row]


# --------------------------------------------------------------------------- #
# the renderings                                                                  #
# --------------------------------------------------------------------------- #
def _join(items: list[tuple[str, str]]) -> str:
    """align* content: rows end with ``\\\\`` when anything follows; intertexts stand alone."""
    out = []
    for i, (kind, tex) in enumerate(items):
        more = i + 1 < len(items)
        if kind == "row" and more:
            out.append(tex + r" \\")
        else:
            out.append(tex)
    return "\n".join(out)


def align(derivation, **options) -> str:
    """``\\begin{align*} ... \\end{align*}``: every step's sentence as ``\\intertext``, then
    its equations aligned at the relation.  Needs amsmath (and ``\\allowdisplaybreaks``
    to break across pages).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> d = Root(x**2 - a, x, a).derive()
    >>> from symimplicit.report import align
    >>> lines = align(d).splitlines()
    >>> lines[0], lines[-1], sum(r"\\intertext" in line for line in lines)
    ('\\\\begin{align*}', '\\\\end{align*}', 7)
    """
    opts = _options(**options)
    p, names = DerivationPrinter({"applied": derivation.statement.applied.functions}), _names(derivation)
    steps = _steps(derivation, opts)
    relations = [_relations(step, p, opts.width) for step in steps]
    rows = _typeset([r for group in relations for r in group], p, opts.width)
    items: list[tuple[str, str]] = []
    for step, group in zip(steps, relations):
        items.append(("text", r"\intertext{" + intertext(step.text, names) + "}"))
        items += [("row", line) for row in rows[:len(group)] for line in row]
        rows = rows[len(group):]
    return "\\begin{align*}\n" + _join(items) + "\n\\end{align*}"


def statement_latex(statement) -> str:
    """The statement as one formula: ``x = \\cos(a x + b)``, ``E - e\\sin E - M = 0``,
    ``x^{*} = \\operatorname{argmin}_{x} f \\ \\text{s.t.}\\ g = 0``.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint, Root
    >>> from symimplicit.report import statement_latex
    >>> x, a = sp.symbols("x a")
    >>> print(statement_latex(FixedPoint(sp.cos(a*x), x, a)))
    x = \\cos{\\left(a x \\right)}
    >>> print(statement_latex(Root(x**2 - a, x, a)))
    x^{2} - a = 0
    """
    p = DerivationPrinter({"applied": statement.applied.functions})
    st = statement
    shown = st.to_user                                   # f(x) for an applied unknown
    if st.kind == "fixed_point":
        parts = [f"{p.doprint(shown(x))} = {p.doprint(shown(f))}"
                 for x, f in zip(st.unknowns, st.expressions)]
    elif st.kind == "root":
        parts = [f"{p.doprint(shown(e))} = 0" for e in st.expressions]
    else:
        who = ", ".join(p.doprint(x) for x in st.unknowns)
        star = f"({who})^{{*}}" if len(st.unknowns) > 1 else f"{who}^{{*}}"
        parts = [rf"{star} = \operatorname{{argmin}}_{{{who}}}\ {p.doprint(st.objective)}"]
        if st.constraints:
            parts[0] += r"\ \text{subject to}\ " + r",\ ".join(
                f"{p.doprint(g)} = 0" for g in st.constraints)
    return r",\quad ".join(parts)


TITLE_EQUATIONS = 3
"""Statements with more equations are titled by their shape; step 1 shows every equation."""


def _title_of(statement) -> str:
    r"""``$x = \cos(a x + b)$``, or for a large system ``a fixed point of 50 equations in
    $z_{1}, z_{2}, z_{3}, \ldots, z_{50}$`` (a heading of 50 equations runs off the page)."""
    if len(statement.expressions) <= TITLE_EQUATIONS and len(statement.unknowns) <= TITLE_EQUATIONS:
        return "$" + statement_latex(statement) + "$"
    from symimplicit.derive.steps import listed
    p = DerivationPrinter()
    names = [p.doprint(x) for x in statement.unknowns]
    shown = listed(names).replace("…", r"\ldots")
    kind = {"fixed_point": "a fixed point", "root": "a root",
            "minimize": "a minimum"}.get(statement.kind, "a solution")
    count = (f"{len(statement.expressions)} equations" if statement.kind != "minimize" else
             f"{len(statement.unknowns)} unknowns")
    return f"{kind} of {count} in ${shown}$"


def standalone(derivation, **options) -> str:
    """A standalone LaTeX document (article, amsmath) that pdflatex compiles.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> d = Root(x**2 - a, x, a).derive()
    >>> from symimplicit.report import standalone
    >>> doc = standalone(d)
    >>> doc.splitlines()[0], doc.rstrip().endswith(r"\\end{document}")
    ('\\\\documentclass[11pt]{article}', True)
    """
    opts = _options(**options)
    title = (escape_latex(opts.title) if opts.title is not None else
             "Implicit differentiation: " + _title_of(derivation.statement))
    body = align(derivation, width=opts.width, wrt=opts.wrt)
    return (PREAMBLE + "\n\\begin{document}\n\n\\section*{" + title + "}\n\n"
            + body + "\n\n\\end{document}\n")


def latex(derivation, document: bool = False, **options) -> str:
    """``Derivation.latex``: the ``align*`` environment, or with ``document=True`` a
    standalone document.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> d = Root(x**2 - a, x, a).derive()
    >>> from symimplicit.report import latex
    >>> latex(d).splitlines()[0]
    '\\\\begin{align*}'
    >>> latex(d, document=True).splitlines()[0]
    '\\\\documentclass[11pt]{article}'
    """
    return standalone(derivation, **options) if document else align(derivation, **options)


def _aligned(rows: list[str]) -> str:
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def markdown(derivation, **options) -> str:
    """Markdown: each step's sentence as a paragraph (``$...$`` inline), its equations in a
    ``$$ \\begin{aligned} ... \\end{aligned} $$`` block (GitHub, Jupyter, MathJax).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> d = Root(x**2 - a, x, a).derive()
    >>> from symimplicit.report import markdown
    >>> markdown(d).splitlines()[:3]
    ['The unknown $x$ is defined implicitly by $F = 0$ with parameters $a$.', '', '$$']
    """
    opts = _options(**options)
    p, names = DerivationPrinter({"applied": derivation.statement.applied.functions}), _names(derivation)
    blocks = []
    for step in _steps(derivation, opts):
        block = markdown_text(step.text, names)
        rows = step_rows(step, p, opts.width)
        if rows:
            block += "\n\n$$\n" + _aligned(rows) + "\n$$"
        blocks.append(block)
    return "\n\n".join(blocks) + "\n"


def repr_latex(derivation, **options) -> str:
    """The notebook form (``_repr_latex_``): one ``$$ \\begin{aligned} ... $$`` block with
    each sentence as a ``\\text`` row (MathJax has no ``\\intertext``).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> d = Root(x**2 - a, x, a).derive()
    >>> from symimplicit.report import repr_latex
    >>> text = repr_latex(d)
    >>> text.startswith("$$"), text.endswith("$$"), r"\\intertext" in text
    (True, True, False)
    """
    opts = _options(**options)
    p, names = DerivationPrinter({"applied": derivation.statement.applied.functions}), _names(derivation)
    rows = []
    for step in _steps(derivation, opts):
        rows.append("&" + math_text(step.text, names))
        rows += step_rows(step, p, opts.width)
    return "$$\n" + _aligned(rows) + "\n$$"


def statement_repr_latex(statement) -> str:
    """``Statement._repr_latex_``: the statement as display math.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> from symimplicit.report import statement_repr_latex
    >>> x, a = sp.symbols("x a")
    >>> print(statement_repr_latex(Root(x**2 - a, x, a)))
    $$x^{2} - a = 0$$
    """
    return "$$" + statement_latex(statement) + "$$"
