"""Numeric evaluation of the KKT derivation with numpy: the block system solved as one matrix.

solve:    Newton on (z, λ):  K [Δz; Δλ] = [F; g],  K = [[H, g_zᵀ], [g_z, 0]] assembled;
jacobian: [∂z/∂θ; ∂λ/∂θ] = −K⁻¹ [F_θ; G_θ]  (one solve);
vjp:      [u; v] = K⁻ᵀ [z̄; λ̄] (one solve),  θ̄ = −(F_θ*[u] + G_θ*[v]).
"""
from __future__ import annotations

import numpy as np

from ..errors import StatementError, ConvergenceError, SingularJacobianError
from .evaluate import _size, evaluate
from .lowered import LoweredMatrix

__all__ = ["LoweredKKT"]


class LoweredKKT(LoweredMatrix):
    """``solve``, ``solve_kkt``, ``jacobian``, ``vjp`` and ``primitive`` of an equality-
    constrained matrix minimisation at concrete sizes.

    Examples
    ========
    >>> import numpy as np, sympy as sp
    >>> from symimplicit.matrix import MatrixMinimize, quad
    >>> x, C, d = sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("C", 1, 2), sp.MatrixSymbol("d", 1, 1)
    >>> low = MatrixMinimize(quad(x, x), x, (C, d), constraints=[C*x - d]).lower()
    >>> low.solve(C=[[1.0, 1.0]], d=[[2.0]]).ravel().tolist()      # argmin ‖x‖² s.t. x₀ + x₁ = 2
    [1.0, 1.0]
    >>> low.jacobian("d", C=[[1.0, 1.0]], d=[[2.0]]).ravel().tolist()
    [0.5, 0.5]
    """

    def _sizes(self, env):
        st = self.statement
        return _size(st.unknown.shape[0], env), [_size(l.shape[0], env) for l in st.multipliers]

    def _K(self, env):
        K = evaluate(self.derivation.KKT, env)
        if not np.all(np.isfinite(K)):
            raise SingularJacobianError(f"the KKT matrix of {self.statement} is not finite")
        return K

    def _solve(self, K, rhs, what):
        try:
            out = np.linalg.solve(K, rhs)
        except np.linalg.LinAlgError:
            out = None
        if out is None or not np.all(np.isfinite(out)):              # cond only for the message
            raise SingularJacobianError(
                f"the KKT matrix [[H, g_zᵀ], [g_z, 0]] of {self.statement} is singular "
                f"(condition number {np.linalg.cond(K):.3g}) in the {what}: the constraint "
                "Jacobian g_z needs full row rank and H must be positive definite on its null "
                "space", value=K)
        return out

    def _split(self, w, env):
        n, ms = self._sizes(env)
        parts, k = [w[:n]], n
        for m in ms:
            parts.append(w[k:k + m])
            k += m
        return parts[0], parts[1:]

    def _put(self, env, z, lams):
        env[self.statement.unknown] = z
        for lam, v in zip(self.statement.multipliers, lams):
            env[lam] = v
        return env

    def solve_kkt(self, z0=None, tol=1e-14, maxiter=100, **arrays):
        """(z, [λ, ...]): Newton on the stacked residual [∇_z L; g] with the block matrix K."""
        st = self.statement
        env = self._env(arrays)
        n, ms = self._sizes(env)
        z = np.zeros((n, 1)) if z0 is None else np.asarray(z0, float).reshape(n, 1)
        lams = [np.zeros((m, 1)) for m in ms]
        for _ in range(maxiter):
            self._put(env, z, lams)
            R = np.vstack([evaluate(st.residual, env)] + [evaluate(g, env) for g in st.constraints])
            step = self._solve(self._K(env), R, "forward solve")   # K [Δz; Δλ] = [F; g]
            dz, dls = self._split(step, env)
            z, lams = z - dz, [l - s for l, s in zip(lams, dls)]
            if np.max(np.abs(step)) <= tol * (1 + max(np.max(np.abs(z)),
                                                      max((np.max(np.abs(l)) for l in lams), default=0))):
                return z, lams
        raise ConvergenceError(f"Newton on the KKT system of {st} did not converge in {maxiter} steps")

    def solve(self, z0=None, tol=1e-14, maxiter=100, **arrays):
        """The minimiser z (an array of the unknown's shape); see :meth:`solve_kkt`."""
        return self.solve_kkt(z0=z0, tol=tol, maxiter=maxiter, **arrays)[0]

    def _point(self, z, multipliers, arrays):
        """env at the solution; λ from ∇f + g_zᵀ λ = 0 (least squares) when only z is given."""
        if z is None:
            z, multipliers = self.solve_kkt(**arrays)
        env = self._env(arrays)
        n, ms = self._sizes(env)
        z = np.asarray(z, float).reshape(n, 1)
        if multipliers is None:
            self._put(env, z, [np.zeros((m, 1)) for m in ms])
            grad_f = evaluate(self.statement.residual, env)
            Bt = np.hstack([np.atleast_2d(evaluate(B, env)).T for B in self.derivation.g_z])
            lam = np.linalg.lstsq(Bt, -grad_f, rcond=None)[0]
            multipliers = self._split(np.vstack([z, lam]), env)[1]
        elif isinstance(multipliers, np.ndarray) and len(ms) == 1:
            multipliers = [multipliers]
        lams = [np.asarray(l, float).reshape(m, 1) for l, m in zip(multipliers, ms)]
        return self._put(env, z, lams)

    def _param(self, param):
        p = next((q for q in self.statement.params if q.name == getattr(param, "name", param)), None)
        if p is None:
            raise StatementError(f"{param} is not a parameter of {self.statement}")
        return p

    def jacobian(self, param, z=None, multipliers=None, full=False, **arrays):
        """∂z/∂θ (``full=True``: the stacked [∂z/∂θ; ∂λ/∂θ]) at the solution, by one solve
        with K."""
        p = self._param(param)
        env = self._point(z, multipliers, arrays)
        J = evaluate(self.derivation.derivative(p), env)          # −K⁻¹ [F_θ; G_θ]
        return J if full else J[:self._sizes(env)[0]]

    def second_derivative(self, param, z=None, **arrays):
        """Not available for constrained problems (``DerivationError``)."""
        return self.derivation.second_derivative(self._param(param))

    def vjp(self, cotangent, z=None, multipliers=None, multiplier_cotangents=None, **arrays):
        """{parameter name: θ̄} for z̄ (and optionally λ̄): [u; v] = K⁻ᵀ [z̄; λ̄] by one solve."""
        env = self._point(z, multipliers, arrays)
        n, ms = self._sizes(env)
        lbar = multiplier_cotangents
        if lbar is None:
            lbar = [np.zeros((m, 1)) for m in ms]
        elif isinstance(lbar, np.ndarray) and len(ms) == 1:
            lbar = [lbar]
        rhs = np.vstack([np.asarray(cotangent, float).reshape(n, 1)]
                        + [np.asarray(l, float).reshape(m, 1) for l, m in zip(lbar, ms)])
        w = self._solve(self._K(env).T, rhs, "vjp")
        u, vs = self._split(w, env)
        au, avs = self.derivation.adjoints
        env[au] = u
        for a, v in zip(avs, vs):
            env[a] = v
        return {p.name: evaluate(g, env) for p, g in self._grads.items()}

    def _forward(self, arrays):
        z, lams = self.solve_kkt(**arrays)
        return z, lams

    def _backward(self, zbar, z, kept, arrays):
        return self.vjp(zbar, z=z, multipliers=kept, **arrays)
