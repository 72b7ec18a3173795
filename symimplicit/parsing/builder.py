"""AST level of the parser: a whitelist of node types (:data:`NODE_HANDLERS`) and of
functions (:data:`FUNCTIONS`), and the node-by-node construction of the SymPy expression
with its size checks (:mod:`symimplicit.parsing.limits`)."""
from __future__ import annotations

import ast
import decimal
import math
from collections.abc import Callable
from fractions import Fraction

import mpmath
import sympy as sp

from symimplicit.errors import ParseError
from symimplicit.parsing.limits import (MAX_DEPTH, MAX_EXP_ARGUMENT, MAX_GAMMA_ARGUMENT,
                                        MAX_LITERAL_DIGITS, MAX_NODES, MAX_RESULT_DIGITS,
                                        MAX_SYMBOLIC_EXPONENT)
from symimplicit.parsing.source import Source

__all__ = ["Builder", "NODE_HANDLERS", "FUNCTIONS", "CONSTANTS", "parse_side"]

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



class Builder:
    """Builds a SymPy expression from a whitelisted AST of one equation side."""

    def __init__(self, source: Source, start: int, piece: str, symbols: dict[str, sp.Symbol]):
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
        handler = NODE_HANDLERS.get(type(node))                 # the whitelist: nothing else
        if handler is None:
            what = _FORBIDDEN.get(type(node), f"{type(node).__name__} syntax")
            raise self.fail(f"{what} not allowed in a mathematical expression", node)
        try:
            return handler(self, node, depth)
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

    def binop_chain(self, node, depth):
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

    def unary(self, node, depth):
        operand = self.build(node.operand, depth + 1)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.fail(f"operator {type(node.op).__name__} is not allowed", node)

    def call(self, node, depth):
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail("only named mathematical functions can be called", node)
        name = func.id
        if name not in FUNCTIONS and f"{name}()" in self.symbols:   # a declared unknown y(x)
            return self._applied(node, self.symbols[f"{name}()"], depth)
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

    def _applied(self, node, fn, depth):
        """y(x) for an unknown declared as y(x) (the statement checks its arguments)."""
        if node.keywords:
            raise self.fail(f"keyword arguments are not allowed in {fn.__name__}()",
                            node.keywords[0].value)
        args = [self.build(a, depth + 1) for a in node.args]
        return self._record(fn(*args), *map(max, zip(*[self._size(a) for a in args])), node) \
            if args else fn()

    def name(self, node, depth):
        name = node.id
        if name.startswith("_"):
            raise self.fail(f"names starting with '_' are not allowed ({name!r})", node)
        self.names.setdefault(name, self.source.where[self.src_pos(node)])
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name not in self.symbols:
            self.symbols[name] = sp.Symbol(name, real=True)     # symbols from text are real
        return self.symbols[name]

    def constant(self, node, depth):
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


# The whitelist of AST node types, each with the one method that builds it.  Every
# other node type (attribute access, subscripts, lambdas, comparisons, ...) is refused
# with the reason in _FORBIDDEN.  Beside it: FUNCTIONS, the callable names.
NODE_HANDLERS: dict[type, Callable] = {
    ast.BinOp: Builder.binop_chain,          # a + b, a - b, a * b, a / b, a ** b (a ^ b)
    ast.UnaryOp: Builder.unary,              # -a, +a
    ast.Call: Builder.call,                  # f(args) for f in FUNCTIONS
    ast.Name: Builder.name,                  # a symbol, or a constant in CONSTANTS
    ast.Constant: Builder.constant,          # an integer or decimal literal (exact)
}

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


def parse_side(source: Source, span: tuple[int, int], symbols) -> tuple[sp.Expr, Builder]:
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
    builder = Builder(source, start, piece, symbols)
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


