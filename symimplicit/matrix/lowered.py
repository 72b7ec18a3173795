"""Numeric evaluation of the derived matrix expressions with numpy, for concrete sizes.

:func:`evaluate` walks the same node set as the rule table; ``A⁻¹ B`` is ``np.linalg.solve``.
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

from ..errors import StatementError, ConvergenceError

__all__ = ["evaluate", "LoweredMatrix"]


def _size(d, env):
    d = sp.sympify(sp.sympify(d).xreplace({k: sp.Integer(v) for k, v in env.get("_dims", {}).items()}))
    if not d.is_Integer:
        raise StatementError(f"the dimension {d} has no value: pass sizes={{...}}")
    return int(d)


@functools.lru_cache(maxsize=256)
def _entrywise(function, module="numpy"):
    """f as a numpy (or jax) ufunc-like callable (cached: lambdify costs milliseconds)."""
    x = sp.Dummy("x")
    return sp.lambdify(x, function(x), module)


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
        out, out_diag = None, False
        for v, is_d in zip(vals, diag):                     # diag(d) A = d[:, None] A: O(n²)
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


class LoweredMatrix:
    """``solve(**arrays)`` (Newton on F with the derived F_z), ``jacobian(param, **arrays)``,
    ``vjp(cotangent, **arrays)`` for a matrix statement at concrete sizes.

    Examples
    ========
    >>> import numpy as np, sympy as sp
    >>> from symimplicit.matrix import MatrixRoot
    >>> M, x, b = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("b", 2, 1)
    >>> low = MatrixRoot(M*x + b - x, x, (M, b)).lower()
    >>> low.solve(M=np.zeros((2, 2)), b=np.ones((2, 1))).ravel().tolist()
    [1.0, 1.0]
    """

    def __init__(self, statement, sizes):
        self.statement = statement
        self.derivation = statement.derive()
        self.dims = {sp.Symbol(k) if isinstance(k, str) else k: v for k, v in sizes.items()}
        self._grads = self.derivation.vjp()[1]                     # θ̄ formulas, derived once

    def _env(self, arrays, z=None):
        st = self.statement
        env = {"_dims": self.dims}
        for p in st.params:
            if p.name not in arrays:
                raise StatementError(f"no value given for the parameter {p.name}")
            v = arrays[p.name]
            env[p] = (np.asarray(v, dtype=float).reshape(tuple(_size(d, env) for d in p.shape))
                      if isinstance(p, MatrixSymbol) else float(v))
        if z is not None:
            env[st.unknown] = z
        return env

    def solve(self, z0=None, tol=1e-14, maxiter=100, **arrays):
        """The root z (Newton z ← z - F_z⁻¹ F), an array of the unknown's shape."""
        st = self.statement
        env = self._env(arrays)
        shape = tuple(_size(d, env) for d in st.unknown.shape)
        z = np.zeros(shape) if z0 is None else np.asarray(z0, float).reshape(shape)
        for _ in range(maxiter):
            env[st.unknown] = z
            F = evaluate(st.residual, env)
            step = np.linalg.solve(evaluate(self.derivation.F_z, env), F)
            z = z - step
            if np.max(np.abs(step)) <= tol * (1 + np.max(np.abs(z))):
                return z
        raise ConvergenceError(f"Newton on {st} did not converge in {maxiter} steps")

    def jacobian(self, param, z=None, **arrays):
        """∂z/∂θ as an array, at the solution (solved unless ``z`` is given)."""
        p = next((q for q in self.statement.params if q.name == getattr(param, "name", param)), None)
        if p is None:
            raise StatementError(f"{param} is not a parameter of {self.statement}")
        z = self.solve(**arrays) if z is None else z
        return evaluate(self.derivation.derivative(p), self._env(arrays, z))

    def second_derivative(self, param, z=None, **arrays):
        """∂²z/∂θ² for a scalar parameter, as an array, at the solution."""
        p = next((q for q in self.statement.params if q.name == getattr(param, "name", param)), None)
        if p is None:
            raise StatementError(f"{param} is not a parameter of {self.statement}")
        z = self.solve(**arrays) if z is None else z
        return evaluate(self.derivation.second_derivative(p), self._env(arrays, z))

    def vjp(self, cotangent, z=None, **arrays):
        """{parameter name: θ̄} for the cotangent z̄ (λ = F_z⁻ᵀ z̄ by one solve)."""
        z = self.solve(**arrays) if z is None else z
        env = self._env(arrays, z)
        d = self.derivation
        lam = np.linalg.solve(evaluate(d.F_z, env).T, np.asarray(cotangent, float).reshape(z.shape))
        env[d.multiplier] = lam
        return {p.name: evaluate(g, env) for p, g in self._grads.items()}

    def to_jax(self, **options):
        """A jittable JAX function params -> z with a custom_vjp of the derived formulas
        (:func:`~symimplicit.matrix.jax.to_jax`)."""
        from .jax import to_jax
        return to_jax(self, **options)

    def _forward(self, arrays):
        """(z, what the backward pass keeps) for the tape primitive."""
        return self.solve(**arrays), None

    def _backward(self, zbar, z, kept, arrays):
        return self.vjp(zbar, z=z, **arrays)

    def primitive(self):
        """A tape Function: the parameters' entries as Scalars (row-major, parameters in
        order) in, the unknown's entries out; its vjp is one solve with F_zᵀ.

        Examples
        ========
        >>> import sympy as sp
        >>> from symimplicit.matrix import MatrixRoot
        >>> from symimplicit.tape import Scalar, grad
        >>> M, x, b = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("b", 2, 1)
        >>> layer = MatrixRoot(M*x + b - x, x, (M, b)).lower().primitive()
        >>> bs = [Scalar(1.0), Scalar(2.0)]
        >>> x0, x1 = layer(0.5, 0.0, 0.0, 0.5, *bs)
        >>> round(x0.value, 12), [round(g, 12) for g in grad(x0, bs)]
        (2.0, [2.0, 0.0])
        """
        from ..tape.engine import Function, Saved
        st = self.statement
        env0 = {"_dims": self.dims}
        shapes = [tuple(_size(d, env0) for d in p.shape) if isinstance(p, MatrixSymbol) else ()
                  for p in st.params]
        sizes = [int(np.prod(s)) if s else 1 for s in shapes]
        n_out = _size(st.unknown.shape[0], env0)

        def unpack(values):
            if len(values) != sum(sizes):
                raise StatementError(f"the layer of {st} takes {sum(sizes)} entries "
                                     f"({', '.join(p.name for p in st.params)} row-major), "
                                     f"got {len(values)}")
            arrays, k = {}, 0
            for p, s, m in zip(st.params, shapes, sizes):
                chunk = np.asarray(values[k:k + m], float)
                arrays[p.name] = chunk.reshape(s) if s else float(chunk[0])
                k += m
            return arrays

        def forward(*values):
            arrays = unpack(values)
            z, kept = self._forward(arrays)
            out = tuple(float(v) for v in z.ravel())
            return Saved(out if n_out > 1 else out[0], (arrays, z, kept))

        def vjp(g, node):
            arrays, z, kept = node.state
            zbar = np.asarray(g if n_out > 1 else (g,), float).reshape(z.shape)
            grads = self._backward(zbar, z, kept, arrays)
            flat = []
            for p in st.params:
                flat.extend(np.ravel(grads[p.name]).tolist())
            return tuple(flat)

        return Function(f"matrix_{st.kind.replace(' ', '_')}", forward, vjp=vjp, n_outputs=n_out)
