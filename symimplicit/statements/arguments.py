"""The arguments of a statement, normalised and checked: Symbols from Symbols or names,
SymPy expressions from expressions, numbers or ``Eq`` (never from strings), the free
symbols, multiplier names.  Every malformed argument is a :class:`StatementError`
naming its role.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sympy as sp

from symimplicit.errors import StatementError

def _as_symbol(obj: Any, role: str, by_name: dict[str, sp.Symbol] | None = None) -> sp.Symbol:
    """A Symbol from a Symbol or a name; anything else is a StatementError.

    A name is the symbol of that name in the expressions (``by_name``), whatever its
    assumptions (``parse`` makes real symbols), else a plain ``Symbol(name)``.
    """
    if isinstance(obj, str):
        if not obj.isidentifier():
            raise StatementError(f"{role} name {obj!r} is not a valid identifier")
        return (by_name or {}).get(obj) or sp.Symbol(obj)
    if isinstance(obj, sp.Symbol):
        return obj
    raise StatementError(f"{role} must be a sympy Symbol or a name, got {obj!r} "
                         f"({type(obj).__name__})")


def _symbols(obj: Any, role: str, by_name: dict[str, sp.Symbol] | None = None
             ) -> tuple[tuple[sp.Symbol, ...], bool]:
    """(symbols, given_as_sequence) from one Symbol/name or a sequence of them."""
    if isinstance(obj, (str, sp.Symbol)):
        return (_as_symbol(obj, role, by_name),), False
    if isinstance(obj, sp.MatrixBase):
        obj = list(obj)
    if not isinstance(obj, Iterable):
        raise StatementError(f"{role} must be a Symbol or a sequence of Symbols, got {obj!r}")
    syms = tuple(_as_symbol(s, role, by_name) for s in obj)
    seen: set[sp.Symbol] = set()
    for s in syms:
        if s in seen:
            raise StatementError(f"{role} {s} is listed twice")
        seen.add(s)
    return syms, True


def _as_expr(obj: Any, what: str) -> sp.Expr:
    """A SymPy expression from an expression, a number or an ``Eq`` (lhs - rhs).

    Strings are refused: text goes through :func:`symimplicit.parse`,
    never through ``sympify`` (which evaluates Python code).
    """
    if isinstance(obj, str):
        raise StatementError(f"{what} is the string {obj!r}; use symimplicit.parse "
                             "to turn text into a statement safely")
    if isinstance(obj, sp.Equality):
        return obj.lhs - obj.rhs                         # lhs = rhs  ⇔  lhs - rhs = 0
    if isinstance(obj, (bool, sp.logic.boolalg.BooleanAtom)):
        raise StatementError(f"{what} is the constant truth value {obj}: "
                             "the equation was evaluated before it reached the statement")
    if isinstance(obj, (int, float)):
        return sp.Integer(obj) if isinstance(obj, int) else sp.Float(obj)
    if not isinstance(obj, sp.Expr):
        raise StatementError(f"{what} must be a SymPy expression or Eq, got {obj!r} "
                             f"({type(obj).__name__})")
    if obj.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise StatementError(f"{what} contains an infinity or NaN: {obj}")
    return obj


def _as_exprs(obj: Any, what: str) -> tuple[tuple[sp.Expr, ...], bool]:
    """(expressions, given_as_sequence) from one expression or a sequence."""
    if isinstance(obj, sp.MatrixBase):
        return tuple(_as_expr(e, f"{what}[{i}]") for i, e in enumerate(obj)), True
    if isinstance(obj, (list, tuple)):
        return tuple(_as_expr(e, f"{what}[{i}]") for i, e in enumerate(obj)), True
    return (_as_expr(obj, what),), False


def _free(exprs: Iterable[sp.Expr]) -> set[sp.Symbol]:
    out: set[sp.Symbol] = set()
    for e in exprs:
        out |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    return out


def _names(exprs: Iterable[sp.Expr]) -> dict[str, sp.Symbol]:
    """name -> Symbol for the free symbols of the expressions (names that occur with two
    different assumptions are left out: a name cannot choose between them)."""
    out: dict[str, sp.Symbol] = {}
    clash: set[str] = set()
    for s in _free(exprs):
        if s.name in out and out[s.name] != s:
            clash.add(s.name)
        out[s.name] = s
    return {k: v for k, v in out.items() if k not in clash}


def _multiplier_symbols(count: int, taken: set[str], stem: str = "lambda") -> tuple[sp.Symbol, ...]:
    """Deterministic Lagrange multiplier names λ₁, λ₂ ... (``lambda_1``; μ: ``mu_1``), avoiding clashes."""
    out = []
    for k in range(1, count + 1):
        name = f"{stem}_{k}"
        while name in taken:
            name += "_"
        out.append(sp.Symbol(name))
    return tuple(out)


def _tuple_text(items) -> str:
    """Python tuple notation: (a, b), (a,), ()."""
    return "(" + ", ".join(map(str, items)) + ("," if len(items) == 1 else "") + ")"
