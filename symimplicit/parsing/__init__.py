"""Safe text -> SymPy: an AST whitelist, never ``eval``.

``parse("x = cos(a*x + b)", unknown="x")`` builds the statement x = cos(ax + b).
The text is parsed by Python's :mod:`ast` module (which only *parses*), every node
is checked against a whitelist, and the SymPy expression is built node by node
from that tree: no user text ever reaches ``eval``, ``exec``, ``sympify`` or
``parse_expr``.

The accepted language
---------------------
* numbers: integer and decimal literals (decimals are exact: ``0.1`` is 1/10);
* names: identifiers become Symbols; ``pi`` is π.  ``e``, ``E`` and ``I`` are plain
  symbols (Kepler's equation uses ``e`` and ``E``); write ``exp(1)`` for Euler's number;
* operators: ``+ - * / **`` and ``^`` (a synonym of ``**``), unary ``+ -``, parentheses;
* calls of the mathematical functions in :data:`FUNCTIONS`, positional arguments only;
* one ``=`` per equation; equations separated by ``;`` or new lines.

Anything else (attribute access, subscripts, names starting with ``_``, lambdas,
comprehensions, comparisons, strings, keyword arguments, other calls, statements)
and absurd sizes (long texts, deep nesting, ``9**9**9**9``, ``gamma(10**10)``,
``exp(10**10)``, ``(x + a)**10**6``) raise :class:`~symimplicit.errors.ParseError`
with the 0-based position in the text; so does any arithmetic failure while the
expression is built (never a bare ``OverflowError`` / ``ValueError``).

Names become ``Symbol(name, real=True)``: symbols from text are real, so that
``abs`` and ``sign`` differentiate to ``sign`` and ``DiracDelta`` rather than to
``re``/``im`` of a complex variable.  Symbols passed in ``unknown=`` / ``params=``
are used as given.
"""
from __future__ import annotations

from collections.abc import Sequence

import re

import sympy as sp
from sympy.core.function import AppliedUndef

from symimplicit.errors import ParseError, StatementError
from symimplicit.parsing.builder import CONSTANTS, FUNCTIONS, NODE_HANDLERS, parse_side
from symimplicit.parsing.limits import (MAX_DEPTH, MAX_LENGTH, MAX_NAME_LENGTH, MAX_NODES,
                                        MAX_RESULT_DIGITS, MAX_SYMBOLIC_EXPONENT)
from symimplicit.parsing.source import Equation, Source, split
from symimplicit.statements import FixedPoint, Minimize, Root, Statement

__all__ = ["parse", "parse_expression", "FUNCTIONS", "NODE_HANDLERS", "MAX_LENGTH", "MAX_DEPTH",
           "MAX_NODES", "MAX_RESULT_DIGITS", "MAX_SYMBOLIC_EXPONENT"]

KINDS = ("root", "fixed_point", "minimize")


def parse_expression(text: str, symbols: dict[str, sp.Symbol] | None = None) -> sp.Expr:
    """One expression (no '=') from text, safely; ``symbols`` maps names to Symbols.

    Examples
    ========
    >>> from symimplicit import parse_expression
    >>> parse_expression("x**2 + sin(a*x)")
    x**2 + sin(a*x)
    >>> parse_expression("x +* 2")
    Traceback (most recent call last):
    ...
    symimplicit.errors.ParseError: invalid syntax: invalid syntax at position 3:
        x +* 2
           ^
    """
    source = _check_text(text)
    equations = split(source)
    if len(equations) > 1 or equations[0].rhs is not None:
        at = equations[0].eq_pos if equations[0].rhs is not None else equations[1].lhs[0]
        raise source.error("expected a single expression", at)
    expr, _ = parse_side(source, equations[0].lhs, dict(symbols or {}))
    return expr


def _check_text(text) -> Source:
    if not isinstance(text, str):
        raise ParseError(f"expected text (str), got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"text of {len(text)} characters is longer than {MAX_LENGTH}",
                         text, MAX_LENGTH)
    return Source(text)


class _Parsed:
    """One parsed equation: its sides, and where its names first occur."""

    def __init__(self, source: Source, eq: Equation, symbols):
        self.source, self.eq = source, eq
        self.lhs, b1 = parse_side(source, eq.lhs, symbols)
        self.names = dict(b1.names)
        self.rhs = None
        if eq.rhs is not None:
            self.rhs, b2 = parse_side(source, eq.rhs, symbols)
            for k, v in b2.names.items():
                self.names.setdefault(k, v)

    def residual(self) -> sp.Expr:
        return self.lhs if self.rhs is None else self.lhs - self.rhs     # lhs = rhs ⇔ lhs - rhs = 0

    def lone(self, x: sp.Symbol):
        """The other side when x stands alone on one side of '=', else None."""
        if self.rhs is None:
            return None
        if self.lhs == x and self.rhs != x:
            return self.rhs
        if self.rhs == x and self.lhs != x:
            return self.lhs
        return None

    def error(self, message: str) -> ParseError:
        return self.source.error(message, self.eq.eq_pos if self.eq.eq_pos is not None
                                 else self.eq.lhs[0])


def _parse_texts(text, symbols) -> list[_Parsed]:
    texts = [text] if isinstance(text, str) else list(text)
    if not texts:
        raise ParseError("no equation given")
    parsed = []
    for t in texts:
        source = _check_text(t)
        parsed += [_Parsed(source, eq, symbols) for eq in split(source)]
    return parsed


def _names(group, what: str):
    """``unknown=`` / ``params=`` as given: a name, a comma-separated list of names (as on
    the command line: "h,a"), a Symbol, or a sequence of names and Symbols."""
    if group is None:
        return None
    if isinstance(group, str) and "(" in group:
        items = [_applied_unknown(t, what) for t in _top_level(group, what)]
        return items[0] if len(items) == 1 else items
    if isinstance(group, str):
        return _checked_name(group, what) if "," not in group else \
            [_checked_name(n, what) for n in group.split(",")]
    if isinstance(group, (sp.Symbol, AppliedUndef)):
        return group
    try:
        items = list(group)
    except TypeError:
        raise StatementError(f"{what}: expected a name, a Symbol or a sequence of them, "
                             f"got {group!r}") from None
    return [_checked_name(i, what) if isinstance(i, str) else i for i in items]


def _top_level(text: str, what: str) -> list[str]:
    """"y(x), z(x)" → ["y(x)", "z(x)"]: commas outside parentheses separate unknowns."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            raise StatementError(f"{what}: unbalanced ')' in {text!r}")
        if ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth:
        raise StatementError(f"{what}: unbalanced '(' in {text!r}")
    return items + [text[start:]]


_APPLIED = re.compile(r"\s*([A-Za-z]\w*)\s*\(([^()]*)\)\s*")


def _applied_unknown(text: str, what: str):
    """"y(x)" → the real function y applied to the real symbol x; a plain name stays a name."""
    if "(" not in text:
        return _checked_name(text, what)
    m = _APPLIED.fullmatch(text)
    if m is None:
        raise StatementError(f"{what}: {text.strip()!r} is not a name or a function of names "
                             "such as y(x) (nested calls like y(y(x)) are not unknowns)")
    name = _checked_name(m.group(1), what)
    args = [_checked_name(a, f"{what} {text.strip()!r}") for a in m.group(2).split(",")]
    return sp.Function(name, real=True)(*[sp.Symbol(a, real=True) for a in args])


def _checked_name(name: str, what: str) -> str:
    """A symbol name from ``unknown=`` / ``params=``: an identifier the text could use."""
    name = name.strip()
    if not name:
        raise StatementError(f"{what}: an empty name")
    if len(name) > MAX_NAME_LENGTH:
        raise StatementError(f"{what}: the name {name[:20]!r}... is longer than "
                             f"{MAX_NAME_LENGTH} characters")
    if not name.isidentifier() or name.startswith("_"):
        raise StatementError(f"{what}: {name!r} is not a valid symbol name (letters, digits "
                             "and '_', not starting with a digit or '_')")
    return name


def _symbol_table(unknown, params) -> dict[str, sp.Symbol]:
    table: dict[str, sp.Symbol] = {}
    for group in (unknown, params):
        if group is None:
            continue
        items = [group] if isinstance(group, (str, sp.Symbol, AppliedUndef)) else list(group)
        for item in items:
            if isinstance(item, AppliedUndef):                  # y(x): calls of y, and x
                table[f"{item.func.__name__}()"] = item.func
                table.update({a.name: a for a in item.args if isinstance(a, sp.Symbol)})
                continue
            sym = sp.Symbol(item, real=True) if isinstance(item, str) else item
            if not isinstance(sym, sp.Symbol):
                raise StatementError(f"expected a Symbol or a name, got {item!r}")
            table[sym.name] = sym
    return table


def _infer_unknown(parsed: list[_Parsed]) -> sp.Symbol:
    """``x = ...`` (or ``... = x``) with x occurring on the other side names the unknown."""
    if len(parsed) == 1 and parsed[0].rhs is not None:
        for side, other in ((parsed[0].lhs, parsed[0].rhs), (parsed[0].rhs, parsed[0].lhs)):
            if isinstance(side, sp.Symbol) and side in other.free_symbols:
                return side
    raise StatementError("cannot tell which symbol is the unknown; "
                         "pass it, e.g. parse(text, unknown='x')")


def _check_names(parsed: list[_Parsed], allowed: set[str]) -> None:
    for p in parsed:
        for name, pos in p.names.items():
            if name not in allowed and name not in CONSTANTS:
                raise ParseError(f"{name!r} is neither an unknown nor a parameter "
                                 f"(parameters: {', '.join(sorted(allowed)) or 'none'})",
                                 p.source.text, pos)


def parse(text: str | Sequence[str], unknown=None, params=None, kind: str | None = None,
          constraints=()) -> Statement:
    """A :class:`Root`, :class:`FixedPoint` or :class:`Minimize` from text, safely.

    * ``"x = cos(a*x + b)"``: a fixed point (the unknown alone on one side);
    * ``"E - e*sin(E) - M"``: a root (``= 0`` implied); ``"lhs = rhs"``: a root of lhs - rhs;
    * ``kind="minimize"``: the text is the objective; ``constraints`` are texts
      (``"g"`` or ``"lhs = rhs"``) or SymPy expressions;
    * vector unknowns: equations separated by ``;`` / new lines, or a list of texts.

    ``unknown``: a name or Symbol, a sequence of them, or names separated by commas
    (``"h,a"``, as on the command line; inferred from ``x = ...`` when omitted); ``params``: names or Symbols, by default the other free symbols
    sorted by name; ``kind``: ``"root"``, ``"fixed_point"`` or ``"minimize"`` to override.

    Examples
    ========
    >>> from symimplicit import parse
    >>> parse("x = cos(a*x)")
    FixedPoint(cos(a*x), unknown=x, params=(a,))
    >>> parse("x**2 - a = 0", unknown="x")
    Root(-a + x**2, unknown=x, params=(a,))
    >>> parse("x**2 - a = 0")
    Traceback (most recent call last):
    ...
    symimplicit.errors.StatementError: cannot tell which symbol is the unknown; pass it, e.g. parse(text, unknown='x')
    """
    if kind is not None and kind not in KINDS:
        raise StatementError(f"kind must be one of {KINDS}, got {kind!r}")
    unknown, params = _names(unknown, "parse: unknown"), _names(params, "parse: params")
    symbols = _symbol_table(unknown, params)
    parsed = _parse_texts(text, symbols)
    if unknown is None:
        unknown = _infer_unknown(parsed)
    single = isinstance(unknown, (str, sp.Symbol, AppliedUndef))
    unknowns = [symbols.get(u, sp.Symbol(u, real=True)) if isinstance(u, str) else u
                for u in ([unknown] if single else unknown)]
    as_given = unknowns[0] if single else unknowns
    param_syms = None if params is None else [
        symbols[p] if isinstance(p, str) else p
        for p in ([params] if isinstance(params, (str, sp.Symbol)) else params)]
    g = _constraint_exprs(constraints, symbols)
    if param_syms is not None:
        _check_names(parsed, {s.name for s in param_syms} | {   # y(x): x is judged by Root
            s.name for u in unknowns for s in ((u,) if isinstance(u, sp.Symbol) else u.args)})
    if kind == "minimize":
        return _minimize(parsed, as_given, param_syms, g)
    if g:
        raise StatementError("constraints are only meaningful with kind='minimize'")
    fixed = _fixed_point_maps(parsed, unknowns)
    if kind == "fixed_point" and all(p.rhs is None for p in parsed):
        fixed = [p.lhs for p in parsed]                     # the text is f in x = f(x)
    if kind == "fixed_point" or (kind is None and fixed is not None):
        if fixed is None:
            raise parsed[0].error("a fixed point needs each unknown alone on one side of '='")
        return FixedPoint(fixed if isinstance(as_given, list) else fixed[0], as_given, param_syms)
    residuals = [p.residual() for p in parsed]
    return Root(residuals if isinstance(as_given, list) else _single(parsed, residuals),
                as_given, param_syms)


def _single(parsed: list[_Parsed], items: list):
    if len(items) != 1:
        raise parsed[1].source.error(f"{len(items)} equations for one unknown",
                                     parsed[1].eq.lhs[0])
    return items[0]


def _fixed_point_maps(parsed: list[_Parsed], unknowns: list[sp.Symbol]):
    """f in x = f(x) for each unknown, in the unknowns' order; None if not of that form."""
    if len(parsed) != len(unknowns) or any(p.rhs is None for p in parsed):
        return None
    maps: dict[sp.Symbol, sp.Expr] = {}
    for p in parsed:
        hits = [x for x in unknowns if p.lone(x) is not None and x not in maps]
        if not hits:
            return None
        maps[hits[0]] = p.lone(hits[0])
    return [maps[x] for x in unknowns]


def _constraint_exprs(constraints, symbols) -> list[sp.Expr]:
    items = [constraints] if isinstance(constraints, (str, sp.Basic)) else list(constraints)
    out = []
    for c in items:
        if isinstance(c, str) and any(op in c for op in "<>≤≥"):
            from symimplicit.constraints import parse_inequality   # "0 <= x <= 1": h ≤ 0
            out += parse_inequality(c, lambda t: parse_expression(t, symbols))
        elif isinstance(c, str):
            out += [p.residual() for p in _parse_texts(c, symbols)]
        else:
            out.append(c)
    return out


def _minimize(parsed: list[_Parsed], unknown, params, constraints) -> Minimize:
    if len(parsed) != 1:
        raise parsed[1].source.error("an objective is one expression; pass equality "
                                     "constraints with constraints=", parsed[1].eq.lhs[0])
    if parsed[0].rhs is not None:
        raise parsed[0].error("an objective has no '='; pass equality constraints "
                              "with constraints=")
    return Minimize(parsed[0].lhs, unknown, params, constraints=constraints)
