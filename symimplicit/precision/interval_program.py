"""Interval evaluation of SymPy expressions with ``mpmath.iv``.

:class:`IntervalProgram` compiles SymPy expressions once into a straight-line
program (common subexpressions evaluated once) by walking the expression tree
against an explicit node-type → interval-function table
(:data:`~.interval_rules.RULES`); no code is generated from text.  Evaluating it
on intervals gives an *enclosure*: every value the expressions take for
arguments in the input intervals lies in the output intervals.

A box that leaves a function's domain (log of an interval reaching 0, a
division by an interval containing 0, sqrt of a negative part, tan across a
pole) raises :class:`~symimplicit.errors.DomainError` naming the function and the
interval; a function without an interval rule raises
:class:`UnsupportedFunctionError` naming it, so nothing is ever enclosed wrongly.

Examples
========
>>> import sympy as sp
>>> from symimplicit.precision.interval import iv, ivprec
>>> from symimplicit.precision.interval_program import IntervalProgram
>>> x = sp.Symbol("x")
>>> prog = IntervalProgram([sp.cos(x) - x], [x])
>>> with ivprec(30):
...     (y,) = prog([iv.mpf(["0.7390851332151606", "0.7390851332151607"])])
>>> bool(y.a <= 0 <= y.b)
True
"""
from __future__ import annotations

from typing import Sequence

import sympy as sp

from symimplicit.errors import DomainError
from symimplicit.precision.interval import interval_text, is_finite, iv
from symimplicit.precision.interval_rules import CONSTANTS, RULES, rational

__all__ = ["IntervalProgram", "UnsupportedFunctionError"]


class UnsupportedFunctionError(DomainError):
    """A function with no interval rule in :data:`~.interval_rules.RULES` (its enclosure
    cannot be proved)."""


# --------------------------------------------------------------------------- #
# the program                                                                   #
# --------------------------------------------------------------------------- #
class IntervalProgram:
    """Expressions compiled for interval evaluation over ``variables``.

    Parameters
    ==========
    exprs : sequence of SymPy expressions (a Matrix is taken entry by entry)
    variables : the Symbols, in the order the interval arguments are passed
    where : what the expressions are, for error messages (``"∂F/∂z"``)

    Calling the program with one interval (``mpmath.iv.mpf``) per variable
    returns the list of enclosures, one per expression.  Raises DomainError
    (naming the function and its argument interval) when the box leaves a
    domain or a value is not finite, and when a function has no interval rule.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.precision.interval import iv
    >>> from symimplicit.precision.interval_program import IntervalProgram
    >>> x = sp.Symbol("x")
    >>> IntervalProgram([x**2 - 2*x], [x])([iv.mpf([0, 1])])
    [mpi('-2.0', '1.0')]

    See Also
    ========
    symimplicit.precision.krawczyk : the enclosures built on it.
    """

    def __init__(self, exprs: Sequence, variables: Sequence, where: str = "the expression"):
        self.variables = tuple(variables)
        self.where = where
        self._slot: dict = {v: i for i, v in enumerate(self.variables)}
        self._code: list = []                                # (rule, node, argument slots)
        self._constants: list = []                           # (slot, node) made per precision
        self._n = len(self.variables)
        self.outputs = [self._compile(sp.sympify(e)) for e in exprs]

    def _new_slot(self, node) -> int:
        self._slot[node] = self._n
        self._n += 1
        return self._n - 1

    def _compile(self, expr) -> int:
        self._check_supported(expr)
        for node in sp.postorder_traversal(expr):            # children before parents
            if node in self._slot:
                continue
            if isinstance(node, sp.Symbol):
                raise DomainError(f"{self.where}: the symbol {node} is not one of the "
                                  f"variables {list(map(str, self.variables))}")
            if node.is_Number or node in CONSTANTS:
                if node.is_Number and not node.is_finite:
                    raise DomainError(f"{self.where} contains the non-finite number {node}")
                self._constants.append((self._new_slot(node), node))
                continue
            rule = RULES[node.func]                          # present: _check_supported
            args = tuple(self._slot[a] for a in node.args)
            self._code.append((rule, node, args, self._new_slot(node)))
        return self._slot[expr]

    def _check_supported(self, expr) -> None:
        """UnsupportedFunctionError naming the outermost function without a rule."""
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.Symbol) or node.is_Number or node in CONSTANTS:
                continue
            if node.func not in RULES:
                raise UnsupportedFunctionError(
                    f"{self.where}: no interval rule for the function {node.func.__name__} "
                    f"(in {_clip(node)}); certify supports "
                    f"{', '.join(sorted(f.__name__ for f in RULES))}")

    @staticmethod
    def _constant(node):
        if node in CONSTANTS:
            return CONSTANTS[node]()
        if node.is_Integer:
            return iv.mpf(int(node))
        if node.is_Rational:
            return rational(node)
        if node.is_Float:                                    # its exact binary value
            sign, man, exp, _ = node._mpf_
            return iv.ldexp(iv.mpf(-man if sign else man), exp)
        raise DomainError(f"no interval for the number {node}")

    def __call__(self, values: Sequence) -> list:
        if len(values) != len(self.variables):
            raise DomainError(f"{self.where}: {len(values)} intervals for "
                              f"{len(self.variables)} variables")
        regs = list(values) + [None] * (self._n - len(values))
        for slot, node in self._constants:
            regs[slot] = self._constant(node)
        for rule, node, args, out in self._code:
            try:
                value = rule(node, *(regs[a] for a in args))
            except DomainError as exc:
                raise DomainError(f"{self.where}: {exc} (in {_clip(node)})") from None
            except (ZeroDivisionError, ValueError, ArithmeticError) as exc:
                raise DomainError(f"{self.where}: {node.func.__name__} failed on the box "
                                  f"({type(exc).__name__}: {exc}) in {_clip(node)}") from None
            if not is_finite(value):
                raise DomainError(f"{self.where}: {node.func.__name__} is not finite on the "
                                  f"box ({interval_text(value)}) in {_clip(node)}")
            regs[out] = value
        return [regs[o] for o in self.outputs]


def _clip(node, limit: int = 80) -> str:
    text = str(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."
