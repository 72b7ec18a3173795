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

import math
import re

import numpy as np

from symimplicit.errors import (ConvergenceError, DomainError, NonDifferentiableError,
                                NonFiniteError, NotAMinimumError,
                                SingularJacobianError, StatementError)
from symimplicit.lower.compiled import compile_statement
from symimplicit.errors import ArgumentError, SymimplicitError
from symimplicit.lower.options import check_max_iter, check_tol
from symimplicit.lower.checks import (SINGULAR_COND, SINGULAR_SENSITIVITY, kink_test,
                                      oversensitive, singular_jacobian, unresolved)
from symimplicit.lower.solvers import (DEFAULT_TOL, BatchNewton, ScalarNewton, find_bracket,
                                       smallest_curvature)

__all__ = ["LoweredStatement"]

SHOWN = 5          # failing indices named in an error message
_EMPTY = np.zeros(0, dtype=int)

try:   # the LAPACK gesv gufunc behind np.linalg.solve (saves its argument handling: 9 of 20 µs
    from numpy.linalg import _umath_linalg    # for 100 1×1 systems); absent: np.linalg.solve
    _GESV = _umath_linalg.solve
except (ImportError, AttributeError):         # pragma: no cover
    _GESV = None


class LoweredStatement:
    """A statement's solution and first derivatives evaluated over arrays of parameters.

    The expressions are those of the statement's
    :class:`~symimplicit.lower.compiled.CompiledStatement` (derived once, shared with
    its layers), lowered to NumPy once.  :meth:`gradient` solves first (it does
    not reuse an earlier :meth:`solve`); :meth:`solve_and_gradient` returns both
    from one solve.
    """

    def __init__(self, statement, *, x0=None, tol=None, max_iter=100):
        c = compile_statement(statement)
        self._options = dict(x0=x0, tol=tol, max_iter=max_iter)
        self.statement = statement
        self.compiled = c
        self.unknowns, self.params = c.unknowns, c.params
        self.n, self.n_user, self.p = c.n, c.n_user, c.p
        self.tol = DEFAULT_TOL if tol is None else check_tol(tol, "lower()")
        self.max_iter = check_max_iter(max_iter, "lower()")
        self.x0 = None if x0 is None else self._as_start(x0)
        self.failures: dict = {}                 # errors="nan": {flat index: why} of the last call
        fns = c.numpy()
        self._fj, self._ftheta = fns.fjn, fns.ftheta                 # [F, ∂F/∂z, N(F)], ∂F/∂θ
        self._jnoise = fns.jnoise if self.n == 1 else None           # N(F_x): the scalar singular test
        # the generated code under each broadcasting wrapper (codegen._broadcasting), when
        # exposed: _columns fills its outputs straight into the stacked arrays
        self._raw = {fn: getattr(fn, "generated", None) for fn in (self._fj, self._ftheta,
                                                                   self._jnoise) if fn}

    def __reduce__(self):
        """Pickle the statement and the options; the code is generated again on load."""
        return (_rebuild_lowered, (self.statement, self._options))

    # -- public ------------------------------------------------------------- #
    def solve(self, *arrays, x0=None, errors: str = "raise", **named) -> np.ndarray:
        """The solution over the broadcast parameters: shape (...) or (..., n_unknowns).

        ``errors="raise"`` (default): a point that fails raises its typed error (naming the
        flat indices); ``errors="nan"``: failing points are NaN and :attr:`failures` says
        why, {flat index: "ErrorType: message"}, so one bad point does not abort a sweep."""
        if _masking(errors):
            return self._masked(arrays, named, x0, gradient=False)[0]
        theta, shape = self._parameters(arrays, named)
        z = self._newton(theta, x0)
        return self._shaped_solution(z, shape)

    def gradient(self, *arrays, x0=None, errors: str = "raise", **named) -> np.ndarray:
        """∂x/∂θ over the broadcast parameters: shape (..., p), or (..., n_unknowns, p).

        Solves first (the solve is repeated if :meth:`solve` was called before:
        use :meth:`solve_and_gradient` for both).  ``errors`` as in :meth:`solve`."""
        return self.solve_and_gradient(*arrays, x0=x0, errors=errors, **named)[1]

    def solve_and_gradient(self, *arrays, x0=None, errors: str = "raise", **named):
        """(solution, ∂x/∂θ) from one solve, shaped as :meth:`solve` and :meth:`gradient`;
        ``errors`` as in :meth:`solve`."""
        if _masking(errors):
            return self._masked(arrays, named, x0, gradient=True)
        theta, shape = self._parameters(arrays, named)
        z = self._newton(theta, x0)
        return self._shaped(z, self._derivative(z, theta), shape)

    def _shaped(self, z, dz, shape):
        dx = dz[:, :self.n_user, :]
        if self.n_user == 1 and not self.statement.is_vector:
            return self._shaped_solution(z, shape), dx[:, 0, :].reshape(shape + (self.p,))
        return self._shaped_solution(z, shape), dx.reshape(shape + (self.n_user, self.p))

    def _masked(self, arrays, named, x0, gradient: bool):
        """errors="nan": solve the points that can be solved, NaN and a reason for the rest.

        Every typed error of the sweep names its flat indices; those points leave and the
        others are solved again (each round removes at least one point)."""
        theta, shape = self._parameters(arrays, named, check_finite=False)
        N = theta[0].size if theta else 1
        failures = {}
        finite = np.ones(N, dtype=bool)
        for name, t in zip(self.params, theta):
            for i in np.flatnonzero(~np.isfinite(t)):
                failures.setdefault(int(i), f"NonFiniteError: parameter {name} is not finite")
            finite &= np.isfinite(t)
        start = self._start(N, [np.where(finite, t, 0.0) for t in theta], x0)
        z = np.full((N, self.n), np.nan)
        dz = np.full((N, self.n, self.p), np.nan)
        alive = np.flatnonzero(finite)
        while alive.size:
            th = [t[alive] for t in theta]
            try:
                za = self._newton(th, None, start=start[alive])
                da = self._derivative(za, th) if gradient else None
            except SymimplicitError as exc:
                indices = (getattr(exc, "point", None) or {}).get("indices")
                if not indices:
                    raise
                why = re.sub(r" (at|for) flat indices \[[^\]]*\]( \.\.\.)?", "", str(exc))
                for i in alive[np.asarray(indices, dtype=int)]:     # (indices of the subset)
                    failures[int(i)] = f"{type(exc).__name__}: {why}"
                alive = np.delete(alive, indices)
                continue
            z[alive] = za
            if gradient:
                dz[alive] = da
            break
        self.failures = dict(sorted(failures.items()))
        return self._shaped(z, dz, shape)

    def solve_and_gradient_affine(self, *arrays, x0=None):
        """:meth:`solve_and_gradient` for a residual affine in the unknowns (the layers'
        method ``"linear"``): one exact step z = z₀ - J⁻¹F(z₀) per point, then the same
        checks; shaped as :meth:`solve_and_gradient`."""
        if not self.compiled.affine:
            raise StatementError(f"{self.statement!r}: the residual is not affine in the "
                                 "unknowns; use solve_and_gradient (damped Newton)")
        theta, shape = self._parameters(arrays, {})
        z = self._start(theta[0].size if theta else 1, theta, x0)
        with np.errstate(all="ignore"):
            F, J, _ = self._evaluate_quietly(z, theta)
            if self.n == 1:
                z = z - F / J[:, 0, :]                               # Δx = -F/F_x
            else:
                try:
                    z = z + np.linalg.solve(J, -F[..., None])[..., 0]   # J Δz = -F
                except np.linalg.LinAlgError:
                    z = np.full_like(z, np.nan)
        # ∂F/∂z has no unknown in it (compiled.affine), so J(z₀, θ) is J(z, θ) bit for bit (the
        # same float operations on θ alone): the checks and the derivative reuse it
        self._check(z, theta, None, J=J)                              # one step: no multiple root
        dx = self._derivative(z, theta, J=J)[:, :self.n_user, :]
        if self.n_user == 1 and not self.statement.is_vector:
            return self._shaped_solution(z, shape), dx[:, 0, :].reshape(shape + (self.p,))
        return self._shaped_solution(z, shape), dx.reshape(shape + (self.n_user, self.p))

    # -- helpers ------------------------------------------------------------ #
    def _shaped_solution(self, z, shape):
        x = z[:, :self.n_user]
        return x.reshape(shape) if self.n_user == 1 and not self.statement.is_vector \
            else x.reshape(shape + (self.n_user,))

    def _derivative(self, z, theta, J=None):
        """∂z/∂θ = -(∂F/∂z)⁻¹ ∂F/∂θ at checked solutions; a non-finite value is a typed error.
        ``J``: ∂F/∂z at (z, θ) when the caller has it."""
        if J is None:
            J = self._jacobian(z, theta)
        with np.errstate(all="ignore"):                              # we raise typed errors instead
            Ft = self._columns(self._ftheta, z, theta, (self.n * self.p,))[0] \
                .reshape(z.shape[0], self.n, self.p)
            bad = _EMPTY if np.isfinite(Ft).all() else \
                np.flatnonzero(~np.isfinite(Ft).all(axis=(1, 2)))
            if bad.size:
                raise DomainError(f"∂F/∂θ is not finite (a parameter derivative outside its "
                                  f"domain) at flat indices {bad[:SHOWN].tolist()}"
                                  f"{' ...' if bad.size > SHOWN else ''} "
                                  f"({self._points(bad, theta, z)})",
                                  point={"indices": bad.tolist()})
            dz = -_solve(J, Ft)                                     # ∂z/∂θ = -(∂F/∂z)⁻¹ ∂F/∂θ
            bad = _EMPTY if np.isfinite(dz).all() else \
                np.flatnonzero(~np.isfinite(dz).all(axis=(1, 2)))
        if bad.size:                                                 # ∂F/∂z passed the check: overflow
            raise NonFiniteError(f"∂z/∂θ = -(∂F/∂z)⁻¹ ∂F/∂θ overflows float64 at flat indices "
                                 f"{bad[:SHOWN].tolist()}{' ...' if bad.size > SHOWN else ''}"
                                 f" ({self._points(bad, theta, z)})", point={"indices": bad.tolist()})
        # the full test is skipped only when a bound proves it flags nothing
        bad = _EMPTY if _bounded_sensitivity(dz, theta) else \
            np.flatnonzero(oversensitive(dz, np.stack(theta, axis=-1) if theta else
                                         np.zeros((z.shape[0], 0)), z[:, :self.n]))
        if bad.size:
            raise SingularJacobianError(f"|∂z/∂θ|·|θ| > 1e14·max(|z|, 1) at flat indices "
                                        f"{bad[:SHOWN].tolist()} ({self._points(bad, theta, z)}): "
                                        "∂F/∂z is numerically singular there",
                                        point={"indices": bad.tolist()})
        if self.compiled.kink_exprs:
            self._check_kinks(z, theta, J)
        return dz

    def _check_kinks(self, z, theta, J) -> None:
        """No solution on a kink of F (checks.kink_test), else NonDifferentiableError."""
        n = self.n
        with np.errstate(all="ignore"):
            NF = np.stack(self._fj(*z.T, *theta)[n + n * n:], axis=-1)
        mask, g, bound = kink_test(self.compiled, z, theta, J, NF)
        bad = np.flatnonzero(mask.any(axis=1))
        if bad.size:
            i = bad[0]
            k = int(np.flatnonzero(mask[i])[0])
            g_k = self.compiled.kink_exprs[k]
            raise NonDifferentiableError(f"the solution sits on the kink {g_k} = 0 (within "
                                         f"rounding) at flat indices {bad[:SHOWN].tolist()} "
                                         f"({self._points(bad, theta, z)}): no derivative exists "
                                         "there", kink=g_k, point={"indices": bad.tolist()})

    def _as_start(self, x0):
        try:
            start = np.asarray(x0, dtype=float)
        except (TypeError, ValueError):
            raise StatementError(f"lower(): x0 must be a number or an array of numbers, "
                                 f"got {x0!r}") from None
        if not np.isfinite(start).all():
            raise NonFiniteError(f"lower(): x0 = {x0!r} is not finite")
        return start

    def _parameters(self, arrays, named, check_finite: bool = True):
        if arrays and named:
            raise ArgumentError("give the parameters either positionally or by name, not both")
        if named:
            missing = [str(p) for p in self.params if str(p) not in named]
            extra = set(named) - {str(p) for p in self.params}
            if missing or extra:
                raise ArgumentError(f"parameters {[str(p) for p in self.params]} expected; "
                                    f"missing {missing}, unknown {sorted(extra)}")
            arrays = [named[str(p)] for p in self.params]
        if len(arrays) != self.p:
            raise ArgumentError(f"{self.p} parameter array(s) expected {self.params}, "
                                f"got {len(arrays)}")
        values = []
        for name, v in zip(self.params, arrays):
            try:
                values.append(np.asarray(v, dtype=float))
            except OverflowError:
                raise NonFiniteError(f"parameter {name} does not fit float64 (|value| > "
                                     "1.8e308)") from None
            except (TypeError, ValueError):
                raise StatementError(f"parameter {name} must be a number or an array of numbers, "
                                     f"got {v!r}") from None
        if any(v.shape != values[0].shape for v in values):         # (equal shapes: nothing to do)
            try:
                values = np.broadcast_arrays(*values)
            except ValueError as exc:
                raise StatementError(f"the parameter arrays do not broadcast together: "
                                     f"shapes {[v.shape for v in values]} ({exc})") from None
        shape = values[0].shape if values else ()
        flat = [v.ravel() for v in values]
        for name, v in zip(self.params, flat if check_finite else []):
            bad = _EMPTY if np.isfinite(v).all() else np.flatnonzero(~np.isfinite(v))
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
        with np.errstate(all="ignore"):
            return self._evaluate_quietly(z, theta)

    def _evaluate_quietly(self, z, theta):
        """:meth:`_evaluate` for a caller already under ``np.errstate(all="ignore")``."""
        n = self.n
        F, J, N = self._columns(self._fj, z, theta, (n, n * n, n))
        return F, J.reshape(J.shape[0], n, n), N

    def _columns(self, fn, z, theta, widths) -> list:
        """The outputs of a lambdified NumPy function at (z, θ), listed row-major, as one float
        array (M, w) for each width w in turn (C-contiguous: the layout np.stack gives).
        The caller holds ``np.errstate(all="ignore")`` (the typed checks judge the values).

        The wrapper broadcasts each output to the inputs' shape and _stack stacks them (two
        copies per output); when every input is (M,) the outputs of the generated code are
        written into the arrays instead (the same float64 values: a constant entry is
        broadcast by the assignment, an array one copied)."""
        M = z.shape[0]
        raw = self._raw.get(fn)
        if raw is not None:
            for t in theta:
                if getattr(t, "shape", None) != (M,):
                    raw = None
                    break
        if raw is None:
            out = fn(*z.T, *theta)
            groups, at = [], 0
            for w in widths:
                groups.append(np.stack(out[at:at + w], axis=-1))
                at += w
            return groups
        out = raw(*z.T, *theta)
        groups, at = [], 0
        for w in widths:
            arr = np.empty((M, w))
            for i in range(w):
                arr[:, i] = out[at + i]
            groups.append(arr)
            at += w
        return groups

    def _jacobian(self, z, theta):
        return self._evaluate(z, theta)[1]

    def _start(self, N, theta, x0):
        """Starting points (N, n): x0 broadcast (a number, one per unknown, or one per point)."""
        start = self.x0 if x0 is None else self._as_start(x0)
        z = np.zeros((N, self.n))
        k = self.n_user
        if start is not None:
            try:
                if k == 1:
                    z[:, 0] = np.broadcast_to(start.reshape(-1), (N,))
                else:
                    z[:, :k] = np.broadcast_to(start, (N, k)) if start.ndim <= 1 \
                        else start.reshape(N, k)
            except ValueError:
                raise StatementError(f"x0 of shape {start.shape} does not fit {N} point(s) of "
                                     f"{k} unknown(s) {self.unknowns[:k]}") from None
        if self.n > self.n_user:                                     # λ₀: ∇f + Jgᵀλ = 0, least squares
            F, J, _ = self._evaluate(z, theta)
            A, rhs = J[:, :k, k:], -F[:, :k]
            z[:, k:] = np.linalg.lstsq(A[0], rhs[0], rcond=None)[0] if N == 1 else \
                np.stack([np.linalg.lstsq(A[i], rhs[i], rcond=None)[0] for i in range(N)])
        return z

    def _newton(self, theta, x0, start=None):
        """The batched damped Newton of :mod:`~symimplicit.lower.solvers` on every point at once
        (from ``start`` (N, n) when given, else from x0), then the checks of
        :mod:`~symimplicit.lower.checks` at every solution."""
        N = theta[0].size if theta else 1
        z = self._start(N, theta, x0) if start is None else np.array(start, dtype=float)
        solver = BatchNewton(self._evaluate, tol=self.tol, max_iter=self.max_iter)
        start = z.copy()
        z, failed, multiple = solver.solve(z, theta)
        if failed.size and self.n == 1:
            failed = self._bracketed_fallback(z, start, theta, failed, multiple)
        if failed.size:
            self._fail(failed, theta, z, f"no convergence (within {self.max_iter} iterations, "
                       "the residual stopped decreasing or is not finite)")
        self._check(z, theta, multiple)
        return z

    def _bracketed_fallback(self, z, start, theta, failed, multiple):
        """One unknown: the layers' fallback for the points Newton missed (the sign change of F
        nearest the start, then Newton-bisection); the indices still failing."""
        newton = ScalarNewton(self.compiled, tol=self.tol, max_iter=self.max_iter)
        still = []
        for i in failed:
            th = tuple(float(t[i]) for t in theta)
            x0 = float(start[i, 0])
            try:
                bracket = find_bracket(self.compiled, x0, th)
                if bracket is None:
                    still.append(i)
                    continue
                sol = newton.solve(x0, th, bracket)
                z[i, 0], multiple[i] = sol.z, sol.multiple
            except (ConvergenceError, DomainError):
                still.append(i)
        return np.array(still, dtype=int)

    def _check(self, z, theta, multiple, J=None) -> None:
        """∂F/∂z invertible at every solution (checks.singular_jacobian; Newton not linear: a
        multiple root or tangency); a minimum for Minimize.  ``J``: ∂F/∂z at (z, θ) when the
        caller has it; ``multiple`` None: no point converged linearly."""
        if J is None:
            J = self._jacobian(z, theta)
        noise = None
        if self.n == 1:                                              # F_x against its rounding noise
            with np.errstate(all="ignore"):
                noise = self._columns(self._jnoise, z, theta, (1,))[0].reshape(-1, 1, 1)
        if self.compiled.affine:                                     # J does not depend on z:
            tangent, NF = np.zeros(z.shape[0], dtype=bool), None    # no tangency to resolve
        else:
            NF = self._evaluate(z, theta)[2]
            tangent = unresolved(self._jacobian, z, theta, J, NF)
        if self.compiled.kink_exprs:                                 # at a kink ∂F/∂z jumps: reported
            NF = self._evaluate(z, theta)[2] if NF is None else NF
            tangent &= ~kink_test(self.compiled, z, theta, J, NF)[0].any(axis=1)  # by the gradient
        mask = tangent if multiple is None else multiple | tangent
        if not (self.n == 1 and _regular_scalar(J, noise)):         # skipped only when a bound
            mask = mask | singular_jacobian(J, noise)                # proves it flags nothing
        if not np.isfinite(z).all():
            mask = mask | ~np.isfinite(z).all(axis=1)
        bad = np.flatnonzero(mask) if mask.any() else _EMPTY
        if bad.size:
            raise SingularJacobianError(f"∂F/∂z is singular at the solution for flat indices "
                                        f"{bad[:SHOWN].tolist()} ({self._points(bad, theta, z)})",
                                        point={"indices": bad.tolist()})
        if self.statement.kind != "minimize":
            return
        # one unknown, no constraint: ∇²f is the 1×1 matrix [F_x], its one eigenvalue F_x itself
        # (LAPACK's syevd returns A(1,1) for N = 1, so this is eigvalsh's value, not a shortcut)
        low = J[:, 0, 0] if self.n == 1 else smallest_curvature(J, self.n_user)
        bad = np.flatnonzero(low <= 0)
        if bad.size:
            raise NotAMinimumError(f"not a minimum (Hessian not positive definite) at flat "
                                   f"indices {bad[:SHOWN].tolist()} ({self._points(bad, theta, z)})",
                                   point={"indices": bad.tolist()})

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



def _solve(J, B):
    """J X = B for a batch (M, n, n), (M, n, k), as np.linalg.solve computes it (LAPACK gesv);
    a singular member gives NaN (np.linalg.solve: LinAlgError, taken as NaN for all): the
    callers check J first and report a non-finite X by its indices.  Call it under
    ``np.errstate(all="ignore")`` (a singular member sets the invalid flag)."""
    if _GESV is not None and J.dtype == np.float64 and B.dtype == np.float64:
        return _GESV(J, B, signature="dd->d")
    try:
        return np.linalg.solve(J, B)
    except np.linalg.LinAlgError:
        return np.full(B.shape, np.nan)


def _regular_scalar(J, noise) -> bool:
    """One unknown: True when a bound proves checks.singular_jacobian flags no point.

    Every F_x is finite and non-zero (min |F_x| > 0, max |F_x| < ∞; a NaN makes both False),
    and min |F_x|·10¹⁴ > max N(F_x) ≥ N(F_x)ᵢ; rounding is monotone, so fl(|F_x|ᵢ·10¹⁴) ≥
    fl(min|F_x|·10¹⁴) > N(F_x)ᵢ for every i: none is singular.  When the bound fails (or N is
    NaN somewhere) the full test decides, point by point."""
    if noise is None or not J.size:
        return False
    a = np.abs(J)
    lo = float(a.min())                                              # (Python floats: no warning)
    return lo > 0 and float(a.max()) < math.inf and lo * SINGULAR_COND > float(noise.max())


def _bounded_sensitivity(dz, theta) -> bool:
    """True when a bound proves checks.oversensitive flags no point.

    |∂zᵢ/∂θⱼ|·|θⱼ| ≤ max|∂z/∂θ|·max|θ| ≤ 10¹⁴ ≤ 10¹⁴·max(|zᵢ|, 1), and rounding is monotone,
    so each float64 product is ≤ the float64 bound: none exceeds 10¹⁴·max(|zᵢ|, 1).  A NaN
    makes the bound False (the full test decides)."""
    if not dz.size or not theta:
        return False
    top = 0.0
    for t in theta:
        m = float(np.abs(t).max())
        if m != m:                                                   # NaN: no bound
            return False
        top = max(top, m)
    return float(np.abs(dz).max()) * top <= SINGULAR_SENSITIVITY   # (Python floats: no warning)


def _masking(errors: str) -> bool:
    if errors not in ("raise", "nan"):
        raise StatementError(f"errors={errors!r}: expected 'raise' (a failing point raises) or "
                             "'nan' (failing points are NaN, reasons in .failures)")
    return errors == "nan"


def _rebuild_lowered(statement, options):
    return LoweredStatement(statement, **options)
