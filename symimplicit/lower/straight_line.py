"""A CSE'd list of SymPy expressions printed as one straight-line Python function.

``sympy.lambdify`` prints through SymPy's general printers, which order every sum
(``as_ordered_terms``), rebuild products to print them and walk the whole tree for
implemented functions: 12 of the 14 s of lowering a 50-unknown system.  This printer
handles the nodes lowering produces (sums, products, powers, numbers, the elementary
functions) by a direct walk, each temporary once, and hands any other node to SymPy's
own printer for that module, so what it prints means what lambdify's code means.

Only internal names reach the code, whatever the Symbols are called: the i-th argument is
printed ``_s{i}``, temporaries ``_t0, _t1, ...`` (Dummies, so they equal no user Symbol),
functions come from a fixed table and numbers are printed by ``repr``.  A Symbol that is
neither an argument nor a temporary raises :class:`StraySymbol`.

Examples
========

>>> import sympy as sp
>>> from symimplicit.lower.straight_line import straight_line
>>> e, pi = sp.symbols("e pi")                # names that would shadow constants
>>> f = straight_line([e*pi, sp.sin(e*pi) + e**2/3], [e, pi])
>>> [round(v, 12) for v in f(2.0, 3.0)]
[6.0, 1.053917835134]
>>> print(f.source)
def _generated(_s0, _s1):
    _t0 = (_s0*_s1)
    return [_t0, (sin(_t0) + ((1/3)*(_s0**2)))]
"""
from __future__ import annotations

import math
import sys
from contextlib import contextmanager
from typing import Callable, Sequence

import sympy as sp

__all__ = ["StraySymbol", "straight_line"]

_ELEMENTARY = {
    sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.asin: "asin", sp.acos: "acos",
    sp.atan: "atan", sp.sinh: "sinh", sp.cosh: "cosh", sp.tanh: "tanh", sp.asinh: "asinh",
    sp.acosh: "acosh", sp.atanh: "atanh", sp.exp: "exp", sp.erf: "erf", sp.erfc: "erfc",
    sp.atan2: "atan2",
}
"""SymPy function -> the name of the same function in the math module (and numpy's, prefixed)."""

_NUMPY_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
                "acosh": "arccosh", "atanh": "arctanh", "atan2": "arctan2"}

MAX_DEPTH = 40
"""Nested parentheses deeper than this go into a temporary (CPython's parser stops near 200)."""

CHUNK = 200
"""Sums and products of more terms are split into partial temporaries (the compiler recurses
along a chain of binary operators)."""


@contextmanager
def deep_recursion(limit: int = 20000):
    """Room for the recursive walks over deep expression trees (sums of a 200-unknown system)."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


class StraySymbol(ValueError):
    """A free Symbol of the expressions that is not among the arguments."""

    def __init__(self, symbol):
        super().__init__(f"{symbol} is not among the arguments")
        self.symbol = symbol


def temporaries():
    """Fresh Dummies for ``sympy.cse``'s ``symbols=``: no user Symbol equals them."""
    while True:
        yield sp.Dummy("t")


def straight_line(exprs: Sequence, args: Sequence[sp.Symbol], module: str = "math", *,
                  cse: Callable | None = None) -> Callable:
    """One function ``f(*args) -> list`` evaluating ``exprs`` with the ``math`` (or ``numpy``)
    module, common subexpressions once.

    ``cse`` maps the expressions to ``(replacements, reduced)`` like ``sympy.cse`` (default:
    ``sympy.cse`` with Dummy temporaries); its temporaries must be Symbols no argument equals.  The source is ``f.source``.  A node
    neither this printer nor SymPy's printer for ``module`` can print raises SymPy's
    ``PrintMethodNotImplementedError`` (a ``NotImplementedError``) or ``ValueError``.
    """
    args = list(args)
    printer = _Printer(module, args)
    with deep_recursion():
        if cse is None:                     # unevaluated rebuilding: |exp(t)| stays, not exp(re t)
            with sp.evaluate(False):
                replacements, reduced = sp.cse(list(exprs), symbols=temporaries())
        else:
            replacements, reduced = cse(list(exprs))
        for temp, value in replacements:
            printer.assign(temp, value)
        results = [printer.expression(e) for e in reduced]
    source = printer.source([printer.names[a] for a in args], results)
    namespace = printer.namespace()
    exec(compile(source, "<symimplicit.lower.straight_line>", "exec"), namespace)  # noqa: S102
    fn = namespace["_generated"]
    fn.source = source
    return fn


class _Printer:
    """Python source for one module, line by line: ``name = expression``."""

    def __init__(self, module: str, args):
        if module not in ("math", "numpy"):
            raise ValueError(f"straight_line prints for 'math' or 'numpy', not {module!r}")
        self.module = module
        self.lines: list[str] = []
        self.names = {a: f"_s{i}" for i, a in enumerate(args)}    # Symbol -> printed name
        self.temps = 0
        self.count = 0
        self._fallback = None

    # -- lines ----------------------------------------------------------------- #
    def assign(self, temp: sp.Symbol, value) -> None:
        text = self.expression(value)
        self.names[temp] = name = f"_t{self.temps}"
        self.temps += 1
        self.lines.append(f"{name} = {text}")

    def _hoist(self, text: str) -> str:
        name = f"_h{self.count}"
        self.count += 1
        self.lines.append(f"{name} = {text}")
        return name

    def source(self, arg_names, results) -> str:
        body = [f"    {line}" for line in self.lines]
        body.append(f"    return [{', '.join(results)}]")
        return f"def _generated({', '.join(arg_names)}):\n" + "\n".join(body)

    def namespace(self) -> dict:
        if self.module == "math":
            ns = {k: getattr(math, k) for k in dir(math) if not k.startswith("_")}
        else:
            import numpy
            ns = {"numpy": numpy}
        import functools                                     # SymPy's printers' Max, Min
        ns.update(math=math, functools=functools, _inf=math.inf, _nan=math.nan)
        return ns

    # -- expressions -------------------------------------------------------------- #
    def expression(self, e, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            return self._hoist(self.expression(e, 0))
        if e.is_Symbol:
            name = self.names.get(e)
            if name is None:
                raise StraySymbol(e)
            return name
        if e.is_Number or e.is_NumberSymbol:
            return self._number(e)
        if e.is_Add:                                 # the constant last, as SymPy prints it
            terms = e.args[1:] + e.args[:1] if e.args[0].is_Number else e.args
            return self._chain(terms, " + ", depth)
        if e.is_Mul:
            return self._product(e, depth)
        if e.is_Pow:
            return self._power(e, depth)
        name = _ELEMENTARY.get(e.func)
        if name is None and e.func is sp.log and len(e.args) == 1:
            name = "log"
        if e.func is sp.Abs:                                           # abs(float) is exact
            return f"{'abs' if self.module == 'math' else 'numpy.abs'}({self.expression(e.args[0], depth + 1)})"
        if name is not None:
            inner = ", ".join(self.expression(a, depth + 1) for a in e.args)
            return f"{self._function(name)}({inner})"
        return self._sympy_printed(e)

    def _function(self, name: str) -> str:
        if self.module == "math":
            return name
        return "numpy." + _NUMPY_NAMES.get(name, name)

    def _number(self, e) -> str:
        if e.is_Integer:
            return str(int(e)) if e >= 0 else f"({int(e)})"
        if e.is_Rational:
            return f"({int(e.p)}/{int(e.q)})"                            # float division
        if e is sp.S.Infinity:
            return "_inf"
        if e is sp.S.NegativeInfinity:
            return "(-_inf)"
        if e is sp.S.NaN:
            return "_nan"
        if e.is_Float or e.is_NumberSymbol:
            value = float(e)
            if math.isnan(value):
                return "_nan"
            if math.isinf(value):
                return "_inf" if value > 0 else "(-_inf)"
            return repr(value) if value >= 0 else f"({value!r})"
        return self._sympy_printed(e)                                       # zoo, I, ...

    def _chain(self, terms, op: str, depth: int) -> str:
        return f"({self._chain_text([self.expression(t, depth + 1) for t in terms], op)})"

    def _product(self, e, depth: int) -> str:
        coeff, factors = e.as_coeff_mul()
        num, den = [], []
        for f in factors:                                                   # b**-k goes below
            if f.is_Pow and f.exp.is_Number and f.exp.is_negative:
                den.append(f.base if f.exp == -1 else sp.Pow(f.base, -f.exp, evaluate=False))
            else:
                num.append(f)
        parts = [self.expression(f, depth + 1) for f in num]
        if coeff != 1 and coeff != -1:
            parts.insert(0, self._number(coeff))
        text = self._chain_text(parts, "*") if parts else "1"
        if den:
            below = [self.expression(f, depth + 1) for f in den]
            text = f"{text}/{below[0]}" if len(below) == 1 else \
                f"{text}/({self._chain_text(below, '*')})"
        if coeff == -1:
            return f"(-{text})"                                             # -(a*b/c)
        return text if len(parts) == 1 and not den else f"({text})"

    def _chain_text(self, parts: list, op: str) -> str:
        while len(parts) > CHUNK:                                           # partial products
            parts = [self._hoist(op.join(parts[k:k + CHUNK]))
                     for k in range(0, len(parts), CHUNK)]
        return op.join(parts)

    def _power(self, e, depth: int) -> str:
        base, exp = e.args
        b = self.expression(base, depth + 1)
        if exp == sp.S.Half:
            return f"{self._function('sqrt')}({b})"
        if exp == -sp.S.Half:
            return f"(1/{self._function('sqrt')}({b}))"
        if exp == -1:
            return f"(1/{b})"
        if exp.is_Integer and self.module == "math" and exp < 0:
            return f"({b}**({int(exp)}))"
        return f"({b}**{self.expression(exp, depth + 1)})"

    def _sympy_printed(self, e) -> str:
        """A node outside the table, printed by SymPy's own printer for the module (its Symbols
        renamed to their printed names first)."""
        if self._fallback is None:
            if self.module == "math":
                from sympy.printing.pycode import PythonCodePrinter
                self._fallback = PythonCodePrinter({"fully_qualified_modules": False,
                                                    "strict": True})
            else:
                from sympy.printing.numpy import NumPyPrinter
                self._fallback = NumPyPrinter({"strict": True})
        for symbol in e.free_symbols:
            if symbol not in self.names:
                raise StraySymbol(symbol)
        inner = {s: sp.Symbol(self.names[s], **s.assumptions0) for s in e.free_symbols}
        return f"({self._fallback.doprint(e.xreplace(inner))})"
