"""Vectorised solves and derivatives over arrays of parameter values (NumPy backend), for sweeps.

``statement.lower(backend="numpy")`` returns a :class:`LoweredStatement`:

    lowered.solve(a=..., b=...)      # or positional, in the statement's parameter order
    lowered.gradient(a=..., b=...)   # (..., p) for a scalar unknown, (..., n, p) for vectors

The parameters broadcast against each other.  The solve is damped Newton on all
points at once with masked convergence: a point leaves the iteration when it
meets the stopping rule of :mod:`symimplicit.lower.solvers` (the same functions:
a step of a few ulps, or the residual at its rounding floor ε·N(F), or no descent
while in that noise); the others continue.  Points that fail raise
:class:`~symimplicit.errors.ConvergenceError` naming their indices.
"""
from __future__ import annotations

import numpy as np

from symimplicit.errors import (ConvergenceError, NonFiniteError, NotAMinimumError,
                                SingularJacobianError)
from symimplicit.lower.codegen import lambdify_many
from symimplicit.lower.rounding import rounding_scale
from symimplicit.lower.solvers import (DEFAULT_TOL, MAX_HALVINGS, SINGULAR_COND, at_floor,
                                       singular_derivative, small_step, smallest_curvature,
                                       stagnated)

__all__ = ["LoweredStatement"]

SHOWN = 5          # failing indices named in an error message


class LoweredStatement:
    """A statement's solution and first derivatives evaluated over arrays of parameters."""

    def __init__(self, statement, *, x0=None, tol=None, max_iter=100):
        d = statement.derive()
        self.statement = statement
        self.unknowns = tuple(statement.system_unknowns)
        self.params = tuple(statement.params)
        self.n, self.n_user, self.p = len(self.unknowns), len(statement.unknowns), len(self.params)
        self.tol = DEFAULT_TOL if tol is None else float(tol)
        self.max_iter = int(max_iter)
        self.x0 = x0
        args = self.unknowns + self.params
        noise = [rounding_scale(F) for F in statement.residual]       # |F̂ - F| ≲ ε·N(F)
        self._fj = lambdify_many(list(statement.residual) + list(d.jacobian) + noise, args, "numpy")
        self._ftheta = lambdify_many(d.param_jacobian, args, "numpy")      # ∂F/∂θ
        self._jnoise = lambdify_many(rounding_scale(d.jacobian[0, 0]), args, "numpy") \
            if self.n == 1 else None                                 # N(F_x): the scalar singular test

    # -- public ------------------------------------------------------------- #
    def solve(self, *arrays, x0=None, **named) -> np.ndarray:
        """The solution over the broadcast parameters: shape (...) or (..., n_unknowns)."""
        theta, shape = self._parameters(arrays, named)
        z = self._newton(theta, x0)
        x = z[:, :self.n_user]
        return x.reshape(shape) if self.n_user == 1 and not self.statement.is_vector \
            else x.reshape(shape + (self.n_user,))

    def gradient(self, *arrays, x0=None, **named) -> np.ndarray:
        """∂x/∂θ over the broadcast parameters: shape (..., p), or (..., n_unknowns, p)."""
        theta, shape = self._parameters(arrays, named)
        z = self._newton(theta, x0)
        J = self._jacobian(z, theta)
        Ft = self._stack(self._ftheta(*z.T, *theta), (self.n, self.p))
        dz = -np.linalg.solve(J, Ft)                                 # ∂z/∂θ = -(∂F/∂z)⁻¹ ∂F/∂θ
        dx = dz[:, :self.n_user, :]
        if self.n_user == 1 and not self.statement.is_vector:
            return dx[:, 0, :].reshape(shape + (self.p,))
        return dx.reshape(shape + (self.n_user, self.p))

    # -- helpers ------------------------------------------------------------ #
    def _parameters(self, arrays, named):
        if arrays and named:
            raise TypeError("give the parameters either positionally or by name, not both")
        if named:
            missing = [str(p) for p in self.params if str(p) not in named]
            extra = set(named) - {str(p) for p in self.params}
            if missing or extra:
                raise TypeError(f"parameters {[str(p) for p in self.params]} expected; "
                                f"missing {missing}, unknown {sorted(extra)}")
            arrays = [named[str(p)] for p in self.params]
        if len(arrays) != self.p:
            raise TypeError(f"{self.p} parameter array(s) expected {self.params}, got {len(arrays)}")
        values = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in arrays])
        shape = values[0].shape if values else ()
        flat = [v.ravel() for v in values]
        for name, v in zip(self.params, flat):
            bad = np.flatnonzero(~np.isfinite(v))
            if bad.size:
                raise NonFiniteError(f"parameter {name} is not finite at flat indices "
                                     f"{bad[:SHOWN].tolist()}")
        return flat, shape

    def _stack(self, flat_outputs, dims) -> np.ndarray:
        """(N, *dims) from the lambdified outputs listed row-major."""
        arr = np.stack(flat_outputs, axis=-1)
        return arr.reshape(arr.shape[:-1] + dims)

    def _evaluate(self, z, theta):
        """(F, J, N): residual (M, n), Jacobian (M, n, n), noise scale of F (M, n)."""
        n = self.n
        with np.errstate(all="ignore"):
            out = self._fj(*z.T, *theta)
        F = np.stack(out[:n], axis=-1)
        J = self._stack(out[n:n + n * n], (n, n))
        N = np.stack(out[n + n * n:], axis=-1)
        return F, J, N

    def _jacobian(self, z, theta):
        return self._evaluate(z, theta)[1]

    def _start(self, N, theta, x0):
        """Starting points (N, n): x0 broadcast (a number, one per unknown, or one per point)."""
        x0 = self.x0 if x0 is None else x0
        z = np.zeros((N, self.n))
        k = self.n_user
        if x0 is not None:
            start = np.asarray(x0, dtype=float)
            if k == 1:
                z[:, 0] = np.broadcast_to(start.reshape(-1), (N,))
            else:
                z[:, :k] = np.broadcast_to(start, (N, k)) if start.ndim <= 1 else start.reshape(N, k)
        if self.n > self.n_user:                                     # λ₀: ∇f + Jgᵀλ = 0, least squares
            F, J, _ = self._evaluate(z, theta)
            A, rhs = J[:, :k, k:], -F[:, :k]
            z[:, k:] = np.linalg.lstsq(A[0], rhs[0], rcond=None)[0] if N == 1 else \
                np.stack([np.linalg.lstsq(A[i], rhs[i], rcond=None)[0] for i in range(N)])
        return z

    def _newton(self, theta, x0):
        """Damped Newton on every point at once; converged points drop out (masked)."""
        N = theta[0].size if theta else 1
        z = self._start(N, theta, x0)
        active = np.arange(N)
        failed = []
        for _ in range(self.max_iter):
            if not active.size:
                break
            th = [t[active] for t in theta]
            za = z[active]
            F, J, noise = self._evaluate(za, th)
            absF = np.abs(F)
            size = absF.max(axis=1)
            dz = self._step(F, J)                                    # J Δz = -F
            step = np.abs(dz).max(axis=1)
            done = (size == 0) | at_floor(absF, noise).all(axis=1) \
                | small_step(step, np.abs(za).max(axis=1), self.tol)
            ok = done & np.isfinite(step)                            # F = 0 or at its floor, J singular:
            z[active[ok]] = za[ok] + dz[ok]                          # stay (the check names it)
            moving = np.flatnonzero(~done & np.isfinite(step))
            t = np.ones(moving.size)
            accepted = self._backtrack(za[moving], dz[moving], size[moving],
                                       [x[moving] for x in th], t)
            z[active[moving[accepted]]] = za[moving[accepted]] + t[accepted, None] * dz[moving[accepted]]
            no_descent = moving[~accepted]
            noise_level = stagnated(absF[no_descent], noise[no_descent]).all(axis=1)
            keep = np.zeros(active.size, dtype=bool)                 # still iterating
            keep[moving[accepted]] = True
            bad = np.ones(active.size, dtype=bool)                   # no descent outside the noise,
            bad[done | keep] = False                                 # or a non-finite step
            bad[no_descent[noise_level]] = False                     # stagnated in noise: accepted
            failed.append(active[bad])
            active = active[keep]
        failed = np.sort(np.concatenate(failed + [active]))          # still active: out of iterations
        if failed.size:
            self._fail(failed, theta, z, f"no convergence (within {self.max_iter} iterations, "
                       "the residual stopped decreasing or is not finite)")
        self._check(z, theta)
        return z

    def _step(self, F, J):
        with np.errstate(all="ignore"):
            if self.n == 1:
                return -F / J[:, 0, :]                               # Δx = -F/F_x
            dz = np.full_like(F, np.nan)
            ok = np.isfinite(J).all(axis=(1, 2)) & (np.abs(np.linalg.det(J)) > 0)
            if ok.any():
                dz[ok] = np.linalg.solve(J[ok], -F[ok][..., None])[..., 0]
            return dz

    def _backtrack(self, z, dz, size, theta, t):
        """Halve t where ‖F(z + tΔz)‖∞ ≥ ‖F(z)‖∞ (or is not finite) until tΔz vanishes in the
        rounding of z; return the accepted mask (the scalar solvers' line search, vectorised)."""
        accepted = np.zeros(t.size, dtype=bool)
        todo = np.arange(t.size)
        for _ in range(MAX_HALVINGS):
            trial = z[todo] + t[todo, None] * dz[todo]
            moved = (trial != z[todo]).any(axis=1)                   # a vanished step: no descent
            todo, trial = todo[moved], trial[moved]
            if not todo.size:
                break
            F, _, _ = self._evaluate(trial, [x[todo] for x in theta])
            ok = np.abs(F).max(axis=1) < size[todo]                  # NaN compares False
            accepted[todo[ok]] = True
            todo = todo[~ok]
            t[todo] *= 0.5
        return accepted

    def _check(self, z, theta) -> None:
        """∂F/∂z invertible at every solution; a minimum for Minimize."""
        J = self._jacobian(z, theta)
        with np.errstate(all="ignore"):
            if self.n > 1:
                bad = ~(np.linalg.cond(J) < SINGULAR_COND)
            else:                                                    # F_x against its rounding noise
                dF = J[:, 0, 0]
                bad = singular_derivative(dF, self._jnoise(*z.T, *theta)[0]) | ~np.isfinite(dF)
        bad = np.flatnonzero(bad)
        if bad.size:
            raise SingularJacobianError(f"∂F/∂z is singular at the solution for flat indices "
                                        f"{bad[:SHOWN].tolist()} ({self._points(bad, theta, z)})")
        if self.statement.kind != "minimize":
            return
        low = smallest_curvature(J, self.n_user)
        bad = np.flatnonzero(low <= 0)
        if bad.size:
            raise NotAMinimumError(f"not a minimum (Hessian not positive definite) at flat "
                                   f"indices {bad[:SHOWN].tolist()} ({self._points(bad, theta, z)})")

    def _points(self, indices, theta, z) -> str:
        shown = []
        for i in indices[:SHOWN]:
            pairs = [f"{s}={float(z[i, j])!r}" for j, s in enumerate(self.unknowns)]
            pairs += [f"{p}={float(t[i])!r}" for p, t in zip(self.params, theta)]
            shown.append("[" + ", ".join(pairs) + "]")
        return "; ".join(shown)

    def _fail(self, indices, theta, z, why):
        F, _, _ = self._evaluate(z[indices], [t[indices] for t in theta])
        residual = float(np.nan_to_num(np.abs(F).max(), nan=np.inf))
        raise ConvergenceError(f"{why} at flat indices {indices[:SHOWN].tolist()}"
                               f"{' ...' if indices.size > SHOWN else ''} "
                               f"({self._points(indices, theta, z)})",
                               iterations=self.max_iter, residual=residual,
                               point={"indices": indices.tolist()})

