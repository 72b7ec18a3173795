"""The numpy lowering of a matrix statement: :class:`LoweredMatrix` (Newton with the derived
F_z, the vjp by one adjoint solve, Jacobians), on a compiled :class:`~.plan.Plan`.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ..errors import StatementError, ConvergenceError
from . import linsolve
from .evaluate import _size, evaluate
from .plan import Frame, Plan

__all__ = ["evaluate", "Plan", "Frame", "LoweredMatrix"]


def _diverged(statement, what, k):
    return ConvergenceError(f"Newton on {statement} did not converge: {what} is not finite "
                            f"after {k} steps", iterations=k)


class LoweredMatrix:
    """``solve(**arrays)`` (Newton on F with the derived F_z), ``jacobian(param, **arrays)``,
    ``vjp(cotangent, **arrays)`` for a matrix statement at concrete sizes.

    ``sizes`` maps dimension symbols (or their names) to integers; a dimension left out is read
    off the parameters' arrays at call time.  The derived expressions are compiled once per
    sizes into a :class:`Plan`; a solve keeps its point (copies of the arrays, z and the LU of
    F_z), so ``vjp``/``jacobian`` at the same arrays and z reuse it.

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
        self.statement = st = statement
        self.derivation = statement.derive()
        self.dims = {sp.Symbol(k) if isinstance(k, str) else k: v for k, v in (sizes or {}).items()}
        self._grads = self.derivation.vjp()[1]                     # θ̄ formulas, derived once
        self._exprs = {}                                           # (kind, θ) -> derived formula
        self._plans = {}                                           # bound sizes -> plan
        self._last = None                                          # the point of the last solve
        # dimensions without a value: where each can be read off a parameter's array
        mats = [m for m in (st.unknown, *st.params) if isinstance(m, MatrixSymbol)]
        free = sorted(set().union(*(sp.sympify(d).free_symbols for m in mats for d in m.shape))
                      - set(self.dims), key=str)
        self._free = [(s, [(p.name, ax) for p in st.params if isinstance(p, MatrixSymbol)
                           for ax, d in enumerate(p.shape) if sp.sympify(d) == s]) for s in free]

    # -- sizes, arrays and the point --------------------------------------------------------
    def _bind(self, arrays):
        """The dimensions at this call: ``sizes``, then the shapes of the given arrays."""
        if not self._free:
            return self.dims, ()
        dims, key = dict(self.dims), []
        for s, sources in self._free:
            src = next(((name, ax) for name, ax in sources if name in arrays), None)
            if src is None:
                raise StatementError(f"the dimension {s} has no value: pass sizes={{...}} or a "
                                     "parameter whose shape has it")
            shape = np.shape(arrays[src[0]])
            dims[s] = int(shape[src[1]]) if src[1] < len(shape) else 1
            key.append(dims[s])
        return dims, tuple(key)

    def _compiled(self, dims, key):
        """(plan, its F and F_z nodes, parameter shapes, the unknown's shape) at these sizes."""
        got = self._plans.get(key)
        if got is None:
            st, d = self.statement, self.derivation
            plan = Plan(dims)
            env = {"_dims": dims}
            shapes = {p.name: tuple(_size(s, env) for s in p.shape) if isinstance(p, MatrixSymbol)
                      else None for p in st.params}
            zshape = tuple(_size(s, env) for s in st.unknown.shape)
            got = self._plans[key] = (plan, plan.add(st.residual), plan.add(d.F_z), shapes, zshape)
        return got

    def _convert(self, arrays, shapes):
        """Copies of the parameters' arrays at their shapes (scalars as floats)."""
        out = {}
        for p in self.statement.params:
            v, shape = arrays[p.name], shapes[p.name]
            if shape is None:
                out[p.name] = float(v)
                continue
            a = np.array(v, dtype=float)
            if a.size != int(np.prod(shape)):
                raise StatementError(f"parameter {p.name} has shape {a.shape}, expected {shape}")
            out[p.name] = a.reshape(shape)
        return out

    def _check(self, arrays):
        for p in self.statement.params:
            if p.name not in arrays:
                raise StatementError(f"no value given for the parameter {p.name}")

    def _frame(self, arrays, z=None):
        """(frame at the parameters and z, plan record, the converted arrays)."""
        self._check(arrays)
        dims, key = self._bind(arrays)
        rec = self._compiled(dims, key)
        vals = self._convert(arrays, rec[3])
        frame = rec[0].frame()
        for p in self.statement.params:
            frame.set(p, vals[p.name])
        if z is not None:
            frame.set(self.statement.unknown, self._z(z, rec[4]))
        return frame, rec, vals

    @staticmethod
    def _z(z, shape):
        a = np.array(z, dtype=float)
        if a.size != int(np.prod(shape)):
            raise StatementError(f"z has shape {a.shape}, expected {shape}")
        return a.reshape(shape)

    def _reuse(self, arrays, z):
        """The kept frame when the arrays and z equal those of the last solve, else None."""
        last = self._last
        if last is None or z is None:
            return None
        vals, zs, frame, rec = last
        try:
            if not np.array_equal(np.ravel(np.asarray(z, dtype=float)), zs.ravel()):
                return None
            for name, v in vals.items():
                if name not in arrays or not np.array_equal(
                        np.ravel(np.asarray(arrays[name], dtype=float)), np.ravel(v)):
                    return None
        except (TypeError, ValueError):
            return None
        return frame, rec

    def _at(self, arrays, z):
        """(frame, plan record) at the solution: kept, given, or solved."""
        kept = self._reuse(arrays, z)
        if kept is not None:
            return kept
        if z is None:
            self.solve(**arrays)
            return self._last[2], self._last[3]
        frame, rec, _ = self._frame(arrays, z)
        return frame, rec

    def _env(self, arrays, z=None):
        """The dict env of :func:`evaluate` (used by :class:`LoweredKKT`)."""
        self._check(arrays)
        dims, key = self._bind(arrays)
        st = self.statement
        env = {"_dims": dims}
        for p in st.params:
            v = arrays[p.name]
            env[p] = (np.asarray(v, dtype=float).reshape(tuple(_size(d, env) for d in p.shape))
                      if isinstance(p, MatrixSymbol) else float(v))
        if z is not None:
            env[st.unknown] = z
        return env

    def _output(self, frame, expr_key, expr_of):
        """The value of a derived formula at the frame's point (compiled on first use)."""
        plan = frame.plan
        i = plan.index.get(expr_key)
        if i is None:
            expr = self._exprs.get(expr_key)
            if expr is None:
                expr = self._exprs[expr_key] = expr_of()
            i = plan.add(expr)
            plan.index[expr_key] = i
        v = frame.value(i)
        return np.array(v) if isinstance(v, np.ndarray) else v    # the caller may write to it

    def _param(self, param):
        p = next((q for q in self.statement.params if q.name == getattr(param, "name", param)), None)
        if p is None:
            raise StatementError(f"{param} is not a parameter of {self.statement}")
        return p

    # -- the numbers --------------------------------------------------------------------------
    def solve(self, z0=None, tol=1e-14, maxiter=100, **arrays):
        """The root z (simplified Newton z ← z − J⁻¹ F, J = F_z at a recent iterate), an
        array of the unknown's shape.

        A step reuses the LU of the last J while the steps contract fast enough: J is formed
        and factorised afresh when the observed contraction θ = ‖stepₖ‖/‖stepₖ₋₁‖ exceeds ½
        (a chord step with θ ≥ 1 is undone first),
        or when the chord would need more steps to reach ``tol`` than a factorisation costs
        in steps (about n/16, at least 1).  Stop when ‖step‖∞ ≤ tol (1 + ‖z‖∞) on a fresh
        Newton step, or on a chord step whose contraction is known below ½ (its error is
        then below θ/(1 − θ) ‖step‖ ≤ ‖step‖).  A zero pivot or a non-finite F_z is a
        ``SingularJacobianError``; a non-finite residual or ``maxiter`` steps a
        ``ConvergenceError``."""
        st = self.statement
        frame, rec, vals = self._frame(arrays)
        _, iF, iJ, _, zshape = rec
        z = np.zeros(zshape) if z0 is None else self._z(z0, zshape)
        what = lambda: f"F_z of {st}"
        budget = linsolve.sweeps_per_lu(z.size)        # chord steps worth one fresh J and LU
        lu = J = None
        prev = theta = None                    # the last step's size and contraction (same LU)
        zsym = frame.plan.leaf_objects.get(st.unknown, st.unknown)   # hits by identity
        for k in range(maxiter):
            frame.set(zsym, z)
            F = frame.value(iF)
            if lu is None:                                  # J = F_z(zₖ), factorised once
                if not np.isfinite(F).all():                # (a bad residual named first)
                    raise _diverged(st, "the residual", k)
                J = frame.value(iJ)
                lu, prev, theta = linsolve.factor(J, what), None, None
            step = linsolve.getrs(lu, F, 0)
            z = z - step
            size = abs(step).max() / (1 + abs(z).max())
            if not size < math.inf:                         # one test for NaN and inf
                if not np.isfinite(F).all():
                    raise _diverged(st, "the residual", k)
                linsolve.lu_solve(lu, F, 0, what, J)       # raises: numerically singular
                raise _diverged(st, "the iterate", k)
            if prev is not None:
                theta = size / prev if prev > 0 else 0.0
                if theta >= 1:                              # the chord step does not contract:
                    z, lu = z + step, None                  # undo it, Newton from where it was
                    continue
            if size <= tol and (prev is None or theta <= 0.5):
                if not np.isfinite(z).all():                # |z| overflowed: size reads 0
                    raise _diverged(st, "the iterate", k + 1)
                frame.set(zsym, z.copy())                   # the kept point holds its own copy
                frame.hints[iJ] = lu                        # vjp/jacobian refine from this LU
                frame.sweeps[iJ] = budget if z.size >= 32 else 0
                self._last = (vals, frame.given[zsym], frame, rec)
                return z
            if theta is not None and (theta > 0.5 or (    # chord too slow: J afresh next step
                    theta > 0 and math.log(tol / size) / math.log(theta) > budget)):
                lu = None
            elif prev is None and budget == 1:
                lu = None                                   # small n: plain Newton is cheapest
            prev = size
        raise ConvergenceError(f"Newton on {st} did not converge in {maxiter} steps",
                               iterations=maxiter)

    def jacobian(self, param, z=None, **arrays):
        """∂z/∂θ as an array, at the solution (solved unless ``z`` is given)."""
        p = self._param(param)
        frame, _ = self._at(arrays, z)
        return self._output(frame, ("jacobian", p), lambda: self.derivation.derivative(p))

    def second_derivative(self, param, z=None, **arrays):
        """∂²z/∂θ² for a scalar parameter, as an array, at the solution."""
        p = self._param(param)
        frame, _ = self._at(arrays, z)
        return self._output(frame, ("second", p), lambda: self.derivation.second_derivative(p))

    def vjp(self, cotangent, z=None, **arrays):
        """{parameter name: θ̄} for the cotangent z̄ (λ = F_z⁻ᵀ z̄ by one solve with the LU
        kept from the solve)."""
        frame, rec = self._at(arrays, z)
        d = self.derivation
        zbar = np.asarray(cotangent, float).reshape(rec[4])
        lam = frame.solve(rec[2], zbar, trans=1, what=lambda: f"F_z of {self.statement}")
        frame.set(d.multiplier, lam)
        return {p.name: self._output(frame, ("vjp", p), lambda g=g: g)
                for p, g in self._grads.items()}

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
