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

import ast
import decimal
import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import mpmath
import sympy as sp

from symimplicit.errors import ParseError, StatementError
from symimplicit.statements import FixedPoint, Minimize, Root, Statement

__all__ = ["parse", "parse_expression", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH", "MAX_NODES",
           "MAX_RESULT_DIGITS", "MAX_SYMBOLIC_EXPONENT"]

MAX_LENGTH = 10_000          # characters of text
MAX_DEPTH = 100              # nesting of parentheses / sub-expressions
MAX_NODES = 5_000            # AST nodes per equation side
MAX_LITERAL_DIGITS = 1_000   # digits of one numeric literal
MAX_RESULT_DIGITS = 4_000    # digits of any number the arithmetic produces (Python
                             # refuses to print integers of more than 4300 digits)
MAX_SYMBOLIC_EXPONENT = 1_000  # |n| in b**n when b is not a plain number: (x + a)**n
MAX_GAMMA_ARGUMENT = 1_000   # gamma(n), loggamma(n) evaluate (n - 1)! for integers
MAX_EXP_ARGUMENT = 9_000     # exp/sinh/cosh of a number: exp(9000) has 3909 digits

_GROWTH = (sp.exp, sp.sinh, sp.cosh)            # huge values from modest numbers
_FACTORIAL = (sp.gamma, sp.loggamma)            # evaluate factorials of integers

# name -> (SymPy function, allowed numbers of positional arguments)
FUNCTIONS: dict[str, tuple[Callable, tuple[int, ...]]] = {
    **{name: (getattr(sp, name), (1,)) for name in (
        "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot",
        "sinh", "cosh", "tanh", "coth", "asinh", "acosh", "atanh",
        "exp", "sqrt", "cbrt", "erf", "erfc", "gamma", "loggamma", "sign")},
    "atan2": (sp.atan2, (2,)),
    "log": (sp.log, (1, 2)),
    "ln": (sp.log, (1,)),
    "abs": (sp.Abs, (1,)),
    "Abs": (sp.Abs, (1,)),
    "LambertW": (sp.LambertW, (1, 2)),
    "W": (sp.LambertW, (1,)),
    "min": (sp.Min, (2, 3, 4, 5, 6, 7, 8)),
    "max": (sp.Max, (2, 3, 4, 5, 6, 7, 8)),
}
CONSTANTS = {"pi": sp.pi}
KINDS = ("root", "fixed_point", "minimize")

_FORBIDDEN = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "generator expressions",
    ast.IfExp: "conditional expressions", ast.NamedExpr: "assignment expressions (:=)",
    ast.Compare: "comparisons", ast.BoolOp: "boolean operators",
    ast.Tuple: "tuples", ast.List: "lists", ast.Set: "sets", ast.Dict: "dicts",
    ast.JoinedStr: "f-strings", ast.FormattedValue: "f-strings", ast.Starred: "starred arguments",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slices",
}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


# --------------------------------------------------------------------------- #
# text level: '^', positions, splitting into equations and sides              #
# --------------------------------------------------------------------------- #

class _Source:
    """The text with ``^`` rewritten to ``**``, and a map back to original positions."""

    def __init__(self, text: str):
        self.text = text
        out, where = [], []
        for i, ch in enumerate(text):
            if ch in "'\"":
                raise ParseError("strings are not allowed", text, i)
            if ch == "#":
                raise ParseError("comments are not allowed", text, i)
            if ch == "\x00":
                raise ParseError("NUL characters are not allowed", text, i)
            piece = "**" if ch == "^" else ch            # a^b means a**b
            out.append(piece)
            where.extend([i] * len(piece))
        self.src = "".join(out)
        self.where = where + [len(text)]

    def error(self, message: str, src_pos: int | None) -> ParseError:
        pos = None if src_pos is None else self.where[min(max(src_pos, 0), len(self.where) - 1)]
        return ParseError(message, self.text, pos)


class _Equation:
    """Spans (in ``_Source.src``) of one equation: lhs, and rhs after a top-level '='."""

    def __init__(self, lhs: tuple[int, int], rhs: tuple[int, int] | None, eq_pos: int | None):
        self.lhs, self.rhs, self.eq_pos = lhs, rhs, eq_pos


def _split(source: _Source) -> list[_Equation]:
    """Split at top-level ';' / new lines, then at a single top-level '='."""
    src, depth, opened = source.src, 0, []
    equations, start, eq_pos = [], 0, None
    for i, ch in enumerate(src):
        if ch in "([{":
            depth += 1
            opened.append(i)
            if depth > MAX_DEPTH:
                raise source.error(f"nesting deeper than {MAX_DEPTH} levels", i)
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise source.error(f"unbalanced {ch!r}", i)
            opened.pop()
        elif depth == 0 and ch in ";\n":
            equations.append(_make_equation(source, start, i, eq_pos))
            start, eq_pos = i + 1, None
        elif depth == 0 and ch == "=" and _is_assignment(src, i):
            if eq_pos is not None:
                raise source.error("more than one '=' in an equation", i)
            eq_pos = i
    if depth:
        raise source.error("unclosed parenthesis", opened[-1])
    equations.append(_make_equation(source, start, len(src), eq_pos))
    equations = [e for e in equations if e is not None]
    if not equations:
        raise source.error("empty text: no equation to parse", None)
    return equations


def _is_assignment(src: str, i: int) -> bool:
    """A lone '=' (not part of '==', '<=', '>=', '!=')."""
    before = src[i - 1] if i else ""
    after = src[i + 1] if i + 1 < len(src) else ""
    return before not in "=<>!" and after != "="


def _make_equation(source: _Source, start: int, end: int, eq_pos: int | None):
    if eq_pos is None:
        return None if not source.src[start:end].strip() else _Equation((start, end), None, None)
    return _Equation((start, eq_pos), (eq_pos + 1, end), eq_pos)


# --------------------------------------------------------------------------- #
# AST level: whitelist + construction                                          #
# --------------------------------------------------------------------------- #

class _Builder:
    """Builds a SymPy expression from a whitelisted AST of one equation side."""

    def __init__(self, source: _Source, start: int, piece: str, symbols: dict[str, sp.Symbol]):
        self.source, self.start, self.piece = source, start, piece
        self.symbols = symbols
        self.names: dict[str, int] = {}          # name -> original position of first use
        self.nodes = 0
        self.sizes: dict[sp.Basic, tuple[float, float]] = {}   # see _size
        self.line_starts = [0]
        for line in piece.split("\n")[:-1]:
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)

    # positions ---------------------------------------------------------------- #
    def src_pos(self, node) -> int:
        """Offset in ``source.src`` of an AST node (col_offset counts UTF-8 bytes)."""
        line = getattr(node, "lineno", 1) - 1
        line_text = self.piece[self.line_starts[line]:].split("\n", 1)[0]
        col = len(line_text.encode("utf-8")[: getattr(node, "col_offset", 0)]
                  .decode("utf-8", "ignore"))
        return self.start + self.line_starts[line] + col

    def fail(self, message: str, node) -> ParseError:
        return self.source.error(message, self.src_pos(node))

    # dispatch ----------------------------------------------------------------- #
    def build(self, node, depth: int = 0) -> sp.Expr:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(f"expression larger than {MAX_NODES} nodes", node)
        if depth > MAX_DEPTH:
            raise self.fail(f"expression nested deeper than {MAX_DEPTH} levels", node)
        handler = getattr(self, "_" + type(node).__name__, None)
        if handler is None:
            what = _FORBIDDEN.get(type(node), f"{type(node).__name__} syntax")
            raise self.fail(f"{what} not allowed in a mathematical expression", node)
        try:
            return handler(node, depth)
        except ParseError:
            raise
        except (ArithmeticError, ValueError, TypeError, MemoryError) as exc:
            # SymPy / gmpy / Python limits (OverflowError from a factorial, ValueError
            # from the 4300-digit int->str limit, ...): never a bare exception
            detail = str(exc)[:120]
            raise self.fail(f"cannot build this expression ({type(exc).__name__}: {detail})",
                            node) from None

    # sizes: digits of the numbers, exponents of symbolic powers ----------------- #
    def _size(self, expr) -> tuple[float, float]:
        """(D, B): upper bounds on the digits of any number in ``expr`` and on the
        |exponent| of any power of a non-number in it (1 for a bare symbol)."""
        if expr not in self.sizes:
            self.sizes[expr] = _exact_size(expr)
        return self.sizes[expr]

    def _record(self, value, digits: float, exponent: float, node) -> sp.Expr:
        """Remember the bounds of a new value; when a cheap bound (D, B computed from
        the operands) exceeds a limit, measure the value itself and fail if it does."""
        if digits > MAX_RESULT_DIGITS or exponent > MAX_SYMBOLIC_EXPONENT:
            digits, exponent = _exact_size(value)
            if digits > MAX_RESULT_DIGITS:
                raise self.fail(f"number too large: the result would have more than "
                                f"{MAX_RESULT_DIGITS} digits", node)
            if exponent > MAX_SYMBOLIC_EXPONENT:
                raise self.fail(f"power too large: an exponent above "
                                f"{MAX_SYMBOLIC_EXPONENT} on a non-numeric base", node)
        self.sizes[value] = (digits, exponent)
        return value

    def _BinOp(self, node, depth):
        # a left-leaning chain a + b + c + ... is walked iteratively, not recursively
        chain = []
        while isinstance(node, ast.BinOp):
            chain.append(node)
            node = node.left
        value = self.build(node, depth + 1)
        for op_node in reversed(chain):
            right = self.build(op_node.right, depth + 1)
            value = self._binop(op_node, value, right)
        return value

    def _binop(self, node, left, right):
        op = type(node.op)
        if op not in _BINOPS:
            raise self.fail(f"operator {type(node.op).__name__} is not allowed "
                            "(use + - * / ** or ^)", node)
        (dl, bl), (dr, br) = self._size(left), self._size(right)
        if op is ast.Pow:
            return self._power(node, left, right)
        if op is ast.Add or op is ast.Sub:
            value = left + right if op is ast.Add else left - right
            return self._record(value, max(dl, dr) + _LOG10_2, max(bl, br), node)
        if op is ast.Div and right == 0:
            raise self.fail("division by zero", node)
        value = left * right if op is ast.Mult else left / right
        return self._record(value, dl + dr, bl + br, node)

    def _power(self, node, base, exponent):
        if base == 0 and exponent.is_Number and exponent.is_negative:
            raise self.fail("division by zero (0 to a negative power)", node)
        (db, bb), (de, be) = self._size(base), self._size(exponent)
        if not exponent.is_Number:
            return self._record(base ** exponent, db + de, bb + be, node)
        log_n = _abs_log10(exponent)                        # log10 |n|
        if not base.is_Number:
            # (x + a)**n is cheap to write and ruinous to expand or differentiate
            if log_n > math.log10(MAX_SYMBOLIC_EXPONENT):
                raise self.fail(f"power too large: exponent {_short(exponent)} on the "
                                f"non-numeric base {_short(base)}; at most "
                                f"{MAX_SYMBOLIC_EXPONENT} in absolute value", node)
        elif db > 0 and log_n + math.log10(db) > math.log10(MAX_RESULT_DIGITS):
            # digits of the result ≈ |n| · log10(largest number in the base)
            raise self.fail(f"power too large: the result would have more than "
                            f"{MAX_RESULT_DIGITS} digits", node)
        n = 10 ** min(log_n, 300.0)
        return self._record(base ** exponent, max(n, 1.0) * db + de, max(n, 1.0) * bb, node)

    def _UnaryOp(self, node, depth):
        operand = self.build(node.operand, depth + 1)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.fail(f"operator {type(node.op).__name__} is not allowed", node)

    def _Call(self, node, depth):
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail("only named mathematical functions can be called", node)
        name = func.id
        if name not in FUNCTIONS:
            raise self.fail(f"{name!r} is not an allowed function; allowed: "
                            f"{', '.join(sorted(FUNCTIONS))}", node)
        if node.keywords:
            raise self.fail(f"keyword arguments are not allowed in {name}()",
                            node.keywords[0].value)
        fn, arities = FUNCTIONS[name]
        if len(node.args) not in arities:
            raise self.fail(f"{name}() takes {' or '.join(map(str, arities))} argument(s), "
                            f"got {len(node.args)}", node)
        args = [self.build(a, depth + 1) for a in node.args]
        for fns, bound in ((_FACTORIAL, MAX_GAMMA_ARGUMENT), (_GROWTH, MAX_EXP_ARGUMENT)):
            if fn in fns and args[0].is_number and \
                    _magnitude(args[0]) > math.log10(bound):
                raise self.fail(f"{name} of a number above {bound} is too large", node)
        value = fn(*args)
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise self.fail(f"{name}() is infinite or undefined here", node)
        sizes = [self._size(a) for a in args]
        if any(a.is_number for a in args):
            return self._record(value, *_exact_size(value), node)   # it may have evaluated
        return self._record(value, max(d for d, _ in sizes), max(b for _, b in sizes), node)

    def _Name(self, node, depth):
        name = node.id
        if name.startswith("_"):
            raise self.fail(f"names starting with '_' are not allowed ({name!r})", node)
        self.names.setdefault(name, self.source.where[self.src_pos(node)])
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name not in self.symbols:
            self.symbols[name] = sp.Symbol(name, real=True)     # symbols from text are real
        return self.symbols[name]

    def _Constant(self, node, depth):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = "strings" if isinstance(value, (str, bytes)) else f"the constant {value!r}"
            raise self.fail(f"{what} not allowed: only real numbers", node)
        if isinstance(value, int):
            if value.bit_length() > MAX_LITERAL_DIGITS * 3.33:
                raise self.fail(f"integer literal longer than {MAX_LITERAL_DIGITS} digits", node)
            return sp.Integer(value)
        return self._decimal(node)

    def _decimal(self, node) -> sp.Rational:
        """A decimal literal as an exact rational, read from its own digits."""
        literal = ast.get_source_segment(self.piece, node) or repr(node.value)
        try:
            number = decimal.Decimal(literal)
        except decimal.InvalidOperation:
            raise self.fail(f"malformed number {literal!r}", node) from None
        if not number.is_finite() or abs(number.adjusted()) > MAX_LITERAL_DIGITS:
            raise self.fail(f"number {literal!r} out of range", node)
        frac = Fraction(number)
        return sp.Rational(frac.numerator, frac.denominator)


_LOG10_2 = math.log10(2)


def _abs_log10(number: sp.Number) -> float:
    """log10 |number| (-inf for 0), without converting a huge number to a float."""
    if number.is_zero:
        return -math.inf
    if number.is_Rational:
        return math.log10(abs(int(number.p))) - math.log10(int(number.q))
    return math.log10(abs(float(number)))


def _magnitude(expr: sp.Expr) -> float:
    """log10 |value| of a numeric expression (-inf when it cannot be told cheaply)."""
    if expr.is_Number:
        return _abs_log10(expr)
    try:
        value = sp.Abs(expr).evalf(15)
        if value.is_Number:
            return -math.inf if value.is_zero else float(mpmath.log10(value._to_mpmath(53)))
    except (ArithmeticError, ValueError, TypeError):
        pass
    return -math.inf


def _exact_size(expr: sp.Basic) -> tuple[float, float]:
    """(digits of the largest number, largest |exponent| on a non-number) in ``expr``."""
    if expr.is_Number:
        return _log10(expr), 0.0
    digits = max([_log10(n) for n in expr.atoms(sp.Number)] + [0.0])
    exponent = 0.0 if expr.is_number else 1.0
    for power in expr.atoms(sp.Pow):
        if power.exp.is_Number and not power.base.is_Number:
            exponent = max(exponent, 10 ** min(_abs_log10(power.exp), 300.0))
    return digits, exponent


def _short(expr, limit: int = 40) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _log10(number: sp.Number) -> float:
    """log10 of the largest integer making up a number (0 for ±1 and 0)."""
    if number.is_Rational:
        biggest = max(abs(int(number.p)), abs(int(number.q)))
        return math.log10(biggest) if biggest > 1 else 0.0
    return 0.0 if number.is_zero else abs(math.log10(abs(float(number))))


def _parse_side(source: _Source, span: tuple[int, int], symbols) -> tuple[sp.Expr, _Builder]:
    start, end = span
    piece = source.src[start:end]
    stripped = piece.lstrip()
    start += len(piece) - len(stripped)
    piece = stripped.rstrip()
    if not piece:
        raise source.error("missing expression", start)
    try:
        tree = ast.parse(piece, mode="eval")
    except SyntaxError as exc:
        raise source.error(f"invalid syntax: {exc.msg}",
                           start + _syntax_offset(piece, exc)) from None
    except (RecursionError, MemoryError):
        raise source.error("expression nested too deeply or chained too long for the "
                           "parser", start) from None
    except ValueError as exc:
        raise source.error(f"cannot parse: {exc}", start) from None
    builder = _Builder(source, start, piece, symbols)
    try:
        expr = builder.build(tree.body)
    except RecursionError:
        raise source.error("expression nested too deeply", start) from None
    except MemoryError:
        raise source.error("expression too large to build", start) from None
    return expr, builder


def _syntax_offset(piece: str, exc: SyntaxError) -> int:
    """0-based character offset in ``piece`` of a SyntaxError (lineno/offset are 1-based)."""
    lines = piece.split("\n")
    line = min(max((exc.lineno or 1) - 1, 0), len(lines) - 1)
    return sum(len(s) + 1 for s in lines[:line]) + max((exc.offset or 1) - 1, 0)


# --------------------------------------------------------------------------- #
# public functions                                                             #
# --------------------------------------------------------------------------- #

def parse_expression(text: str, symbols: dict[str, sp.Symbol] | None = None) -> sp.Expr:
    """One expression (no '=') from text, safely; ``symbols`` maps names to Symbols."""
    source = _check_text(text)
    equations = _split(source)
    if len(equations) > 1 or equations[0].rhs is not None:
        at = equations[0].eq_pos if equations[0].rhs is not None else equations[1].lhs[0]
        raise source.error("expected a single expression", at)
    expr, _ = _parse_side(source, equations[0].lhs, dict(symbols or {}))
    return expr


def _check_text(text) -> _Source:
    if not isinstance(text, str):
        raise ParseError(f"expected text (str), got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"text of {len(text)} characters is longer than {MAX_LENGTH}",
                         text, MAX_LENGTH)
    return _Source(text)


class _Parsed:
    """One parsed equation: its sides, and where its names first occur."""

    def __init__(self, source: _Source, eq: _Equation, symbols):
        self.source, self.eq = source, eq
        self.lhs, b1 = _parse_side(source, eq.lhs, symbols)
        self.names = dict(b1.names)
        self.rhs = None
        if eq.rhs is not None:
            self.rhs, b2 = _parse_side(source, eq.rhs, symbols)
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
        parsed += [_Parsed(source, eq, symbols) for eq in _split(source)]
    return parsed


def _symbol_table(unknown, params) -> dict[str, sp.Symbol]:
    table: dict[str, sp.Symbol] = {}
    for group in (unknown, params):
        if group is None:
            continue
        items = [group] if isinstance(group, (str, sp.Symbol)) else list(group)
        for item in items:
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

    ``unknown``: a name or Symbol, or a sequence of them (inferred from ``x = ...``
    when omitted); ``params``: names or Symbols, by default the other free symbols
    sorted by name; ``kind``: ``"root"``, ``"fixed_point"`` or ``"minimize"`` to override.
    """
    if kind is not None and kind not in KINDS:
        raise StatementError(f"kind must be one of {KINDS}, got {kind!r}")
    symbols = _symbol_table(unknown, params)
    parsed = _parse_texts(text, symbols)
    if unknown is None:
        unknown = _infer_unknown(parsed)
    unknowns = [symbols.get(u, sp.Symbol(u, real=True)) if isinstance(u, str) else u
                for u in ([unknown] if isinstance(unknown, (str, sp.Symbol)) else unknown)]
    as_given = unknowns[0] if isinstance(unknown, (str, sp.Symbol)) else unknowns
    param_syms = None if params is None else [
        symbols[p] if isinstance(p, str) else p
        for p in ([params] if isinstance(params, (str, sp.Symbol)) else params)]
    g = _constraint_exprs(constraints, symbols)
    if param_syms is not None:
        _check_names(parsed, {s.name for s in unknowns + param_syms})
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
