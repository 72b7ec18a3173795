"""Kinks: the places where a statement built from abs, Max, Min, sign, Heaviside or
Piecewise stops being differentiable.

A kink is an expression g whose zero set is where the derivative jumps:

* ``Abs(g)``, ``sign(g)``, ``Heaviside(g)``, ``DiracDelta(g)``: the kink is g;
* ``Max(a, b, ...)`` and ``Min(a, b, ...)``: each pairwise difference a - b (a tie);
* ``Piecewise((e1, c1), (e2, c2), ...)``: each condition's boundary (lhs - rhs of a
  relation; the atoms of And/Or).

The implicit function theorem needs F differentiable at the solution, so a solution
that sits on a kink (``|g| <= noise``) has no derivative: the derivation lists every
kink relation in ``conditions`` and the numeric paths raise
:class:`~symimplicit.errors.NonDifferentiableError` naming it.

Examples
========

>>> import sympy as sp
>>> from symimplicit.kinks import kinks
>>> x, a, b = sp.symbols("x a b", real=True)
>>> kinks(sp.Abs(a*x)/2 + b)
[a*x]
>>> kinks(sp.Max(x, a) + x - b)
[a - x]
"""
from __future__ import annotations

from itertools import combinations

import sympy as sp

__all__ = ["kinks", "kink_of"]

_ONE_ARGUMENT = (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta)


def _boundaries(condition) -> list:
    """Where a Piecewise condition flips: lhs - rhs of each relation inside it."""
    if condition in (sp.true, sp.false) or isinstance(condition, bool):
        return []
    if isinstance(condition, sp.core.relational.Relational):
        return [condition.lhs - condition.rhs]
    out = []
    for arg in getattr(condition, "args", ()):       # And, Or, Not
        out += _boundaries(arg)
    return out


def kink_of(node) -> list:
    """The kink expressions that one node contributes (not its sub-expressions)."""
    if isinstance(node, _ONE_ARGUMENT):
        return [node.args[0]]
    if isinstance(node, (sp.Max, sp.Min)):
        return [p - q for p, q in combinations(node.args, 2)]   # a tie a = b
    if isinstance(node, sp.Piecewise):
        out = []
        for _, condition in node.args:
            out += _boundaries(condition)
        return out
    return []


def kinks(exprs) -> list:
    """Every kink expression g (F is not differentiable where g = 0) in ``exprs``.

    ``exprs`` is an expression, a Matrix, or a sequence of either. The list has no
    duplicates (up to sign) and keeps the order of first appearance, so it does not
    depend on anything computed before.
    """
    if isinstance(exprs, (sp.Basic, sp.MatrixBase)):
        exprs = [exprs]
    out: list = []
    seen: set = set()
    for expr in exprs:
        items = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
        for item in items:
            for node in sp.preorder_traversal(item):
                for g in kink_of(node):
                    if g.is_number or g in seen or -g in seen:
                        continue
                    seen.add(g)
                    out.append(g)
    return out
