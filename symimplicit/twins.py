"""SymPy twins of the tape's elementary primitives, and the bridges between the two.

Every primitive in :data:`symimplicit.tape.ELEMENTARY` has a twin here: a
function that builds the same operation as a SymPy expression.  With them a
tape computation can be *lifted* into SymPy (:func:`to_sympy`, to fuse a
sub-graph into one primitive) and a SymPy expression *lowered* onto the tape
(:func:`from_sympy`, one tape node per SymPy operation).

This module is outside the engine so that ``symimplicit.tape`` imports
without SymPy.
"""
from __future__ import annotations

from typing import Callable, Mapping

import sympy as sp

from symimplicit.errors import DerivationError
from symimplicit.tape import ops
from symimplicit.tape.engine import Scalar
from symimplicit.tape.walks import _postorder

__all__ = ["TWINS", "twin", "to_sympy", "from_sympy"]


def _pow_twin(x, y=None, *, p=None):
    return x ** (p if y is None else y)


def _mod_twin(x, y=None, *, m=None):
    return sp.Mod(x, m if y is None else y)


TWINS: dict[str, Callable] = {
    "Plus": lambda a, b: a + b,
    "Sum": lambda *xs: sp.Add(*xs),
    "Minus": lambda a, b: a - b,
    "Neg": lambda a: -a,
    "Times": lambda a, b: a * b,
    "Divide": lambda a, b: a / b,
    "Pow": _pow_twin,
    "Mod": _mod_twin,
    "Abs": sp.Abs,
    "Cos": sp.cos,
    "Sin": sp.sin,
    "Tan": sp.tan,
    "Exp": sp.exp,
    "Log": sp.log,
    "Sqrt": sp.sqrt,
    "Tanh": sp.tanh,
    "Atan": sp.atan,
    "Sinh": sp.sinh,
    "Cosh": sp.cosh,
    "Log1p": lambda x: sp.log(1 + x),
    "Expm1": lambda x: sp.exp(x) - 1,
    "Asin": sp.asin,
    "Acos": sp.acos,
    "Asinh": sp.asinh,
    "Acosh": sp.acosh,
    "Atanh": sp.atanh,
    "Erf": sp.erf,
}
"""Primitive name -> SymPy builder taking the same positional and keyword arguments."""

_missing = set(ops.ELEMENTARY) - set(TWINS)
assert not _missing, f"elementary primitives without a SymPy twin: {_missing}"
_missing = set(ops.ELEMENTARY) ^ set(ops.PARTIALS)
assert not _missing, f"elementary primitives without (or extra) tape partials: {_missing}"


def twin(name: str) -> Callable:
    """The SymPy twin of the elementary primitive called ``name``."""
    try:
        return TWINS[name]
    except KeyError:
        raise DerivationError(f"the tape primitive {name!r} has no SymPy twin; "
                              f"known: {', '.join(sorted(TWINS))}") from None


def _constant(value):
    """A number as SymPy sees it: ints stay exact, floats stay floats."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DerivationError(f"cannot lift the constant {value!r} into SymPy")
    return sp.Integer(value) if isinstance(value, int) else sp.Float(value)


def to_sympy(output: Scalar, variables: Mapping[Scalar, sp.Symbol]) -> sp.Expr:
    """Lift the tape graph of ``output`` into one SymPy expression.

    ``variables`` maps the leaf Scalars that stand for inputs to Symbols; any
    other leaf is a constant.  Iterative (no recursion), one pass.
    """
    built: dict[int, sp.Expr] = {id(leaf): sym for leaf, sym in variables.items()}
    for node in _postorder(output):
        key = id(node)
        if key in built:
            continue
        fn = node.function
        if fn is None:
            built[key] = _constant(node.value)
            continue
        if fn.name not in TWINS or ops.ELEMENTARY.get(fn.name) is not fn:
            raise DerivationError(f"cannot lift {fn.name!r} into SymPy: only elementary tape "
                                  f"primitives have twins (node {node!r})")
        args = [built[id(p)] for p in node.parents]
        built[key] = TWINS[fn.name](*args, **node.kwargs)
    return built[id(output)]


# SymPy head -> how to rebuild it on the tape from already-lowered arguments
_FROM_SYMPY: dict[type, Callable] = {
    sp.cos: ops.Cos, sp.sin: ops.Sin, sp.tan: ops.Tan, sp.exp: ops.Exp, sp.log: ops.Log,
    sp.tanh: ops.Tanh, sp.atan: ops.Atan, sp.sinh: ops.Sinh, sp.cosh: ops.Cosh,
    sp.asin: ops.Asin, sp.acos: ops.Acos, sp.asinh: ops.Asinh, sp.acosh: ops.Acosh,
    sp.atanh: ops.Atanh, sp.erf: ops.Erf, sp.Abs: ops.Abs,
}


def _lower_number(expr):
    if expr.is_Integer:
        return int(expr)
    if expr.is_Rational or expr.is_Float or expr.is_NumberSymbol:
        return float(expr)
    raise DerivationError(f"cannot put the number {expr} on the tape (not real)")


def _lower_node(expr, args):
    """One SymPy operation on already-lowered arguments (Scalars or numbers)."""
    if isinstance(expr, sp.Add):
        return ops.Sum(*args) if len(args) > 2 else ops.Plus(*args)
    if isinstance(expr, sp.Mul):
        out = args[0]
        for a in args[1:]:
            out = ops.Times(out, a)
        return out
    if isinstance(expr, sp.Pow):
        base, exponent = args
        if not isinstance(exponent, Scalar):
            if exponent == 0.5:
                return ops.Sqrt(base)
            return ops.Pow(base, p=exponent)  # x^p, constant p
        return ops.Pow(base, exponent)
    if isinstance(expr, sp.Mod):
        x, m = args
        return ops.Mod(x, m) if isinstance(m, Scalar) else ops.Mod(x, m=m)
    head = _FROM_SYMPY.get(expr.func)
    if head is None:
        raise DerivationError(f"no tape primitive for the SymPy function {expr.func.__name__} "
                              f"(in {expr})")
    return head(*args)


def from_sympy(expr: sp.Expr, values: Mapping[sp.Symbol, object]):
    """Build ``expr`` on the tape, one node per SymPy operation.

    ``values`` maps each free Symbol to a Scalar (differentiated) or a number.
    Shared sub-expressions become shared nodes.  Returns a Scalar, or a plain
    number when no Scalar is involved.
    """
    if not isinstance(expr, sp.Basic):
        if isinstance(expr, (int, float)) and not isinstance(expr, bool):
            return expr
        raise TypeError(f"from_sympy needs a SymPy expression, got {type(expr).__name__}")
    missing = expr.free_symbols - set(values)
    if missing:
        raise DerivationError(f"from_sympy: no value for {', '.join(sorted(map(str, missing)))}")
    built: dict[sp.Basic, object] = {}
    for sub in sp.postorder_traversal(expr):
        if sub in built:
            continue
        if sub.is_Symbol:
            built[sub] = values[sub]
        elif sub.is_Number or sub.is_NumberSymbol:
            built[sub] = _lower_number(sub)
        else:
            built[sub] = _lower_node(sub, [built[a] for a in sub.args])
    return built[expr]
