"""Constraints as users write them, in one canonical form.

:func:`split_constraints` sorts what ``Minimize(..., constraints=[...])`` receives into

* equalities ``g(x, θ) = 0``: an ``Eq(lhs, rhs)`` (lhs - rhs) or a bare expression, as before;
* inequalities ``h(x, θ) ≤ 0``: ``a <= b`` / ``Le(a, b)`` (h = a - b), ``a >= b`` / ``Ge(a, b)``
  (h = b - a), bounds ``lo <= x`` and ``x <= hi`` alike, an ``And`` of them, and
  ``Contains(x, Interval(lo, hi))`` (lo ≤ x ≤ hi).

Strict inequalities (``<``, ``>``) and ``!=`` are refused: the minimum over an open set need
not exist.  Nothing here simplifies h: it is kept as written (``lo - x``), so the derivation
and its LaTeX show the user's own constraint.

Examples
========

>>> import sympy as sp
>>> from symimplicit.constraints import split_constraints
>>> x, y, a = sp.symbols("x y a")
>>> eqs, ineqs = split_constraints([sp.Eq(x + y, 1), x >= 0, y <= a])
>>> eqs
(Eq(x + y, 1),)
>>> [str(c.h) for c in ineqs]
['-x', '-a + y']
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symimplicit.errors import StatementError

__all__ = ["Inequality", "split_constraints", "bounds", "parse_inequality"]


@dataclass(frozen=True)
class Inequality:
    """One inequality constraint in canonical form: ``h ≤ 0``.

    ``h`` is the SymPy expression, ``source`` the relation as the user gave it
    (for messages and LaTeX), ``index`` its position among the inequalities.
    """

    h: sp.Expr
    source: object
    index: int

    @property
    def relation(self):
        """``h ≤ 0`` as a SymPy relation."""
        return sp.Le(self.h, 0, evaluate=False)

    def __str__(self) -> str:
        return str(self.source)


def bounds(x, lo=None, hi=None) -> list:
    """The relations ``lo <= x`` and ``x <= hi`` (either may be None), for ``constraints=``.

    Examples
    ========

    >>> import sympy as sp
    >>> x, u = sp.symbols("x u")
    >>> bounds(x, 0, u)
    [x >= 0, x <= u]
    """
    out = []
    if lo is not None:
        out.append(sp.Ge(x, lo))
    if hi is not None:
        out.append(sp.Le(x, hi))
    return out


def _check_expr(expr, what: str) -> sp.Expr:
    if not isinstance(expr, sp.Expr):
        raise StatementError(f"{what} must compare SymPy expressions, got {expr!r}")
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise StatementError(f"{what} contains an infinity or NaN: {expr}; leave an infinite "
                             "bound out instead")
    return expr


def _flatten(item, what: str) -> list:
    """An And of relations and Contains(x, Interval) as a list of simple relations."""
    if isinstance(item, sp.And):
        return [r for arg in item.args for r in _flatten(arg, what)]
    if isinstance(item, sp.Contains):
        element, interval = item.args
        if not isinstance(interval, sp.Interval):
            raise StatementError(f"{what} {item}: only membership of an Interval is a constraint")
        lo = None if interval.left == -sp.oo else interval.left
        hi = None if interval.right == sp.oo else interval.right
        if interval.left_open and lo is not None or interval.right_open and hi is not None:
            raise StatementError(f"{what} {item}: an open interval is a strict inequality; "
                                 "use a closed Interval")
        return bounds(element, lo, hi)
    return [item]


def split_constraints(constraints) -> tuple[tuple, tuple[Inequality, ...]]:
    """(equalities as given, inequalities as :class:`Inequality`) from ``constraints``.

    The equalities are returned untouched (``Eq``, expressions, numbers: the statement
    checks them as before); each inequality becomes h ≤ 0.  A string, a strict inequality,
    ``!=`` or an already evaluated truth value raises :class:`StatementError` naming it.
    """
    if isinstance(constraints, (sp.Basic, str, bool)):
        constraints = [constraints]
    equalities, inequalities = [], []
    for k, item in enumerate(constraints):
        what = f"constraint[{k}]"
        if isinstance(item, str):
            raise StatementError(f"{what} is the string {item!r}; use symimplicit.parse "
                                 "to turn text into a statement safely")
        if isinstance(item, (bool, sp.logic.boolalg.BooleanAtom)):
            raise StatementError(f"{what} is the constant truth value {item}: the relation was "
                                 "evaluated before it reached the statement (it holds or fails "
                                 "for every x)")
        for rel in _flatten(item, what):
            if isinstance(rel, (bool, sp.logic.boolalg.BooleanAtom)):
                raise StatementError(f"{what} {item} contains the constant truth value {rel}")
            if isinstance(rel, (sp.StrictLessThan, sp.StrictGreaterThan)):
                raise StatementError(f"{what} {rel} is strict: the minimum over an open set need "
                                     f"not exist; write it with <= or >=")
            if isinstance(rel, sp.Unequality):
                raise StatementError(f"{what} {rel}: '!=' is not a constraint a minimiser can use")
            if isinstance(rel, sp.LessThan):                     # a ≤ b  ⇔  a - b ≤ 0
                h = _check_expr(rel.lhs, what) - _check_expr(rel.rhs, what)
            elif isinstance(rel, sp.GreaterThan):                # a ≥ b  ⇔  b - a ≤ 0
                h = _check_expr(rel.rhs, what) - _check_expr(rel.lhs, what)
            elif isinstance(rel, sp.Basic) and not isinstance(rel, (sp.Expr, sp.Equality)):
                raise StatementError(f"{what} {rel!r} is neither an equation, an expression "
                                     f"(= 0) nor an inequality (<=, >=)")
            else:
                equalities.append(rel)
                continue
            inequalities.append(Inequality(h, rel, len(inequalities)))
    return tuple(equalities), tuple(inequalities)


def parse_inequality(text: str, parse_side) -> list:
    """The relations of ``"a <= b"``, ``"a >= b"`` or a chain ``"lo <= x <= hi"`` (``≤``, ``≥``
    too), each side parsed by ``parse_side`` (the safe expression parser; nothing is evaluated).

    Examples
    ========

    >>> from symimplicit.parsing import parse_expression
    >>> parse_inequality("0 <= x <= u", parse_expression)
    [0 <= x, x <= u]
    """
    from symimplicit.errors import ParseError
    text = text.replace("≤", "<=").replace("≥", ">=")
    if "<" in text.replace("<=", "") or ">" in text.replace(">=", ""):
        raise ParseError("strict inequalities (<, >) are not constraints: the minimum over an "
                         "open set need not exist; use <= or >=", text)
    ops = [op for op in ("<=", ">=") if op in text]
    if len(ops) != 1:
        raise ParseError("an inequality chain mixes <= and >=; write two constraints", text)
    sides = [parse_side(part) for part in text.split(ops[0])]
    if len(sides) > 3:
        raise ParseError("at most one chain lo <= x <= hi per constraint", text)
    make = sp.Le if ops[0] == "<=" else sp.Ge
    out = []
    for a, b in zip(sides, sides[1:]):
        rel = make(a, b)
        if isinstance(rel, sp.logic.boolalg.BooleanAtom):
            raise ParseError(f"the constraint {a} {ops[0]} {b} is always {rel}", text)
        out.append(rel)
    return out
