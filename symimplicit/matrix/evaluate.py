"""Numeric evaluation of a derived matrix expression by a direct walk (numpy or jax.numpy).

:func:`evaluate` walks the same node set as the rule table; ``A⁻¹ B`` is ``solve(A, B)``.
The fast numpy path compiles the same node set once into a :class:`~symimplicit.matrix.plan.Plan`.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp
from sympy.matrices.expressions import (MatrixExpr, MatrixSymbol, MatMul, MatAdd, Transpose,
                                        Inverse, Trace, Identity, ZeroMatrix, HadamardProduct,
                                        MatPow, BlockMatrix)
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from ..errors import StatementError

__all__ = ["evaluate"]


def _size(d, env):
    d = sp.sympify(sp.sympify(d).xreplace({k: sp.Integer(v) for k, v in env.get("_dims", {}).items()}))
    if not d.is_Integer:
        raise StatementError(f"the dimension {d} has no value: pass sizes={{...}}")
    return int(d)


@functools.lru_cache(maxsize=256)
def _entrywise(function, module="numpy"):
    """f as a numpy (or jax) ufunc-like callable (cached: lambdify costs milliseconds), in a
    form that keeps float64's digits (:func:`_float_stable`)."""
    x = sp.Dummy("x")
    return sp.lambdify(x, _float_stable(function(x), x), module)


def _float_stable(expr, x):
    """``expr`` with the derivatives of saturating functions in a form without cancellation:
    1 − tanh(x)² loses digits where |tanh x| → 1 (a relative error ε/(1 − tanh² x)), while
    1 − tanh(x)² = 4 e^{−2|x|} / (1 + e^{−2|x|})² keeps them and cannot overflow.

    >>> x = sp.Symbol("x")
    >>> _float_stable(1 - sp.tanh(x)**2, x)
    4*exp(-2*Abs(x))/(1 + exp(-2*Abs(x)))**2
    """
    s = sp.exp(-2 * sp.Abs(x))
    return expr.subs(1 - sp.tanh(x) ** 2, 4 * s / (1 + s) ** 2)


def _module(xp):
    return "jax" if xp.__name__.startswith("jax") else "numpy"


def _scalar(value, xp):
    return float(value) if xp is np else value               # a traced value stays traced


def evaluate(expr, env, xp=np):
    """The float64 value of a matrix or scalar expression; ``env`` maps symbols to arrays/floats.

    ``xp``: the array module (numpy, or ``jax.numpy`` for :mod:`symimplicit.matrix.jax`)."""
    ev = lambda e: evaluate(e, env, xp)
    if isinstance(expr, (MatrixSymbol, sp.Symbol)):
        if expr not in env:
            raise StatementError(f"no value given for {expr}")
        return env[expr]
    if isinstance(expr, Identity):
        return xp.eye(_size(expr.shape[0], env))
    if isinstance(expr, ZeroMatrix):
        return xp.zeros((_size(expr.shape[0], env), _size(expr.shape[1], env)))
    if isinstance(expr, MatAdd) or (isinstance(expr, sp.Add) and not isinstance(expr, MatrixExpr)):
        return sum(ev(a) for a in expr.args)
    if isinstance(expr, MatMul):
        out = None
        args = list(expr.args)
        vals, diag = [], []
        i = 0
        while i < len(args):                                # A⁻¹ B = solve(A, B)
            a = args[i]
            if isinstance(a, Inverse) and i + 1 < len(args) and isinstance(args[i + 1], MatrixExpr):
                rest = ev(MatMul(*args[i + 1:]) if len(args) > i + 2 else args[i + 1])
                vals.append(xp.linalg.solve(ev(a.arg), rest))
                break
            vals.append(ev(args[i].args[0]).ravel() if isinstance(a, DiagMatrix) else ev(a))
            diag.append(isinstance(a, DiagMatrix))
            i += 1
        diag += [False] * (len(vals) - len(diag))
        return _matmul_product(vals, diag, xp)
    if isinstance(expr, sp.Mul):
        out = 1.0
        for a in expr.args:
            out = out * ev(a)
        return out
    if isinstance(expr, Transpose):
        return ev(expr.arg).T
    if isinstance(expr, Inverse):
        return xp.linalg.inv(ev(expr.arg))
    if isinstance(expr, MatPow) and sp.sympify(expr.exp).is_Integer:   # Aᵏ, A⁻ᵏ = (A⁻¹)ᵏ
        base, k = ev(expr.base), int(expr.exp)
        return xp.linalg.matrix_power(xp.linalg.inv(base) if k < 0 else base, abs(k))
    if isinstance(expr, Trace):
        return _scalar(xp.trace(ev(expr.arg)), xp)
    if isinstance(expr, MatrixElement):
        return _scalar(ev(expr.parent)[int(expr.i), int(expr.j)], xp)
    if isinstance(expr, HadamardProduct):
        out = ev(expr.args[0])
        for a in expr.args[1:]:
            out = out * ev(a)
        return out
    if isinstance(expr, BlockMatrix):                       # [[A, B], [C, D]] assembled
        return xp.block([[xp.atleast_2d(ev(b)) for b in row] for row in expr.blocks.tolist()])
    if isinstance(expr, DiagMatrix):
        return xp.diag(ev(expr.args[0]).ravel())
    if isinstance(expr, ElementwiseApplyFunction):
        return _entrywise(expr.function, _module(xp))(ev(expr.expr))
    if isinstance(expr, sp.Number):
        return float(expr)
    if isinstance(expr, (sp.Pow, sp.Function)):
        syms = [sp.Dummy() for _ in expr.args]
        f = sp.lambdify(syms, expr.func(*syms), _module(xp))
        return f(*[ev(a) for a in expr.args])
    raise StatementError(f"cannot evaluate {type(expr).__name__} in {expr}")


def _matmul_product(vals, flags, xp=np):
    """The product of a MatMul's factor values; ``flags`` say which are diag(d), held as the
    column d (diag(d) A = d[:, None] A: O(n²), never the n × n diagonal matrix)."""
    out, out_diag = None, False
    for v, is_d in zip(vals, flags):
        if out is None:
            out, out_diag = v, is_d
        elif xp.ndim(out) == 0:
            out, out_diag = out * v, is_d
        elif xp.ndim(v) == 0:
            out = out * v
        elif out_diag and is_d:
            out = out * v
        elif out_diag:
            out, out_diag = out[:, None] * v, False
        elif is_d:
            out = out * v[None, :]
        else:
            out = out @ v
    return xp.diag(out) if out_diag else out
