"""Implicit tape primitives: ``statement.primitive(**options)`` and ``statement.lower(**options)``.

An :class:`ImplicitLayer` is a tape :class:`~symimplicit.tape.Function` whose

* forward solves F(z, θ) = 0 in float64 with the derived Jacobian (a solver
  from :mod:`symimplicit.lower.solvers`), checks the solution (∂F/∂z
  invertible; a minimum for :class:`~symimplicit.statements.Minimize`) and
  keeps it on the node (``Saved``), and
* backward evaluates the lowered implicit-function-theorem formula at that
  cached solution, with no second solve:

      scalar:  ∂x/∂θⱼ = -F_θⱼ / F_x              (the derived formula, lambdified)
      vector:  (∂F/∂z)ᵀ λ = z̄,   θ̄ = -λᵀ ∂F/∂θ   (one adjoint solve per backward pass)

All SymPy work (derivation, lambdify + CSE) happens once, at construction
(:func:`~symimplicit.lower.compiled.compile_statement`).
"""
from __future__ import annotations

import math

import numpy as np

from symimplicit.errors import (ConvergenceError, DomainError, NonFiniteError, NotAMinimumError,
                                SingularJacobianError, StatementError)
from symimplicit.lower.compiled import compile_statement
from symimplicit.lower.solvers import (FIXED_POINT_ONLY, SINGULAR_COND, singular_derivative,
                                       smallest_curvature, solver_class)
from symimplicit.tape.engine import Function, Saved

__all__ = ["ImplicitLayer", "make_primitive", "make_lowered"]

SINGULAR_SENSITIVITY = 1e14   # scalar: |∂x/∂θ|·|θ|/max(|x|, 1) above this: F_x is rounding noise


class ImplicitLayer(Function):
    """The solution z(θ) of a statement as one tape primitive.

    ``layer(*params)`` takes the parameters in the statement's order (Scalars or
    floats) and returns the solution: a Scalar/float, or a tuple for vector
    unknowns (Lagrange multipliers are internal).  ``layer(*params, x0=...)``
    starts from a given guess for that call only.

    Options: ``x0`` (initial guess: a number, or one per unknown), ``tol``
    (relative step; default 4 ulps), ``max_iter``, ``method`` (``"newton"``;
    fixed points also ``"iterate"``, ``"anderson"``; ``"linear"``, the default for a
    residual affine in the unknowns, is one exact Newton step), ``bracket`` ((lo, hi),
    scalar unknown: Newton-bisection), ``warm_start`` (default True: start from
    the previous solution; a failed warm start retries from ``x0``).
    """

    def __init__(self, statement, *, x0=None, tol=None, max_iter=None, method=None,
                 bracket=None, warm_start=True, name=None):
        self.statement = statement
        self.compiled = c = compile_statement(statement)
        self.method = method or ("linear" if c.affine else "newton")
        self.tol, self.max_iter = tol, max_iter
        self.bracket = _check_bracket(bracket, c)
        self.warm_start = bool(warm_start)
        self.x0 = x0
        self._start = self._initial(x0)
        self.last_iterations = None
        self._warm = None
        self._solver = self._make_solver()
        self._is_minimize = statement.kind == "minimize"
        super().__init__(name or f"{type(statement).__name__}Layer", self._forward,
                         vjp=self._vector_vjp if c.vector else self._scalar_vjp,
                         n_outputs=c.n_user if c.vector else 1)

    def __repr__(self):
        return f"ImplicitLayer({self.statement!r}, method={self.method!r})"

    # -- construction helpers ------------------------------------------------ #
    def _make_solver(self):
        c, method = self.compiled, self.method
        if method in FIXED_POINT_ONLY and self.statement.kind != "fixed_point":
            raise StatementError(f"method {method!r} iterates a fixed-point map; "
                                 f"{type(self.statement).__name__} has none (use 'newton')")
        if method == "linear" and not c.affine:
            raise StatementError(f"method 'linear' needs a residual affine in the unknowns; "
                                 f"{c.statement!r} is not (use 'newton')")
        if self.bracket is not None and method not in ("newton", "linear"):
            raise StatementError(f"a bracket is used by method 'newton' only, not {method!r}")
        return solver_class(method, c.vector)(c, tol=self.tol, max_iter=self.max_iter)

    def _initial(self, x0):
        """The start as a float (scalar) or an array over the system unknowns (x, then λ = 0)."""
        c = self.compiled
        if x0 is None:
            values = [0.0] * c.n_user
        else:
            values = [float(v) for v in np.atleast_1d(np.asarray(x0, dtype=float))]
            if len(values) == 1 and c.n_user > 1:
                values *= c.n_user
            if len(values) not in (c.n_user, c.n):
                raise StatementError(f"x0 has {len(values)} value(s) for the unknowns "
                                     f"{c.statement.unknowns}")
        if any(not math.isfinite(v) for v in values):
            raise NonFiniteError(f"x0 = {x0!r} is not finite")
        if not c.vector:
            return values[0]
        return np.array(values + [math.nan] * (c.n - len(values)))   # NaN: multipliers to estimate

    # -- the call ------------------------------------------------------------- #
    def __call__(self, *params, **kwargs):
        if len(params) != self.compiled.p:
            raise TypeError(f"{self.name} takes the {self.compiled.p} parameter(s) "
                            f"{self.compiled.params} in order, got {len(params)}")
        return Function.__call__(self, *params, **kwargs)

    def solve(self, *params, x0=None):
        """The float solution at ``params`` (a tuple for vector unknowns)."""
        return self._forward(*params, x0=x0).value

    def _forward(self, *params, x0=None):
        theta = self._theta(params)
        sol = self._solve(theta, x0)
        c = self.compiled
        if c.vector:
            z = sol.z
            J = self._check_vector(z, theta)
            return Saved(tuple(float(v) for v in z[:c.n_user]), (z, J))
        self._check_scalar(sol, theta)
        return Saved(sol.z, sol.jacobian)

    def _theta(self, params) -> tuple:
        """The parameter values, checked finite (t - t is 0 for finite t, NaN for ±inf and NaN)."""
        for t in params:
            if t - t != 0:
                break
        else:
            return params
        theta = tuple(float(getattr(p, "value", p)) for p in params)
        for name, t in zip(self.compiled.params, theta):
            if not math.isfinite(t):
                raise NonFiniteError(f"{self.name}: the parameter {name} = {t} is not finite",
                                     point=dict(zip(map(str, self.compiled.params), theta)))
        return theta

    def _solve(self, theta, x0):
        """Solve from the per-call x0, else the warm start, else the layer's x0; remember it."""
        warm = x0 is None and self.warm_start and self._warm is not None
        start = self._warm if warm else self._start if x0 is None else self._initial(x0)
        vector = self.compiled.vector
        try:
            sol = self._solver.solve(self._prepared(start, theta) if vector else start,
                                     theta, self.bracket)
        except (ConvergenceError, DomainError):
            if not warm:
                raise
            sol = self._solver.solve(self._prepared(self._start, theta), theta, self.bracket)  # retry cold
        if vector or sol.z.__class__ is float:
            z = sol.z
        else:
            z = sol.z = float(sol.z[0])                              # fixed-point solvers: 1-arrays
        self._warm = z.copy() if isinstance(z, np.ndarray) else z
        self.last_iterations = sol.iterations
        return sol

    def _prepared(self, start, theta):
        """The start for the solver: a copy, with Lagrange multipliers estimated when unknown."""
        c = self.compiled
        if not c.vector:
            return start
        z = np.array(start, dtype=float)
        if c.n > c.n_user and np.isnan(z[c.n_user:]).any():
            z[c.n_user:] = 0.0
            F, J = c.fj(z, theta)
            k = c.n_user                                             # ∇f + Jgᵀλ = 0, least squares
            z[k:] = np.linalg.lstsq(J[:k, k:], -F[:k], rcond=None)[0]
        return z

    # -- checks at the solution ------------------------------------------------ #
    def _check_scalar(self, sol, theta) -> None:
        dF = sol.jacobian
        if dF is None:                                               # fixed-point solvers: no linear-
            c = self.compiled                                        # convergence test, F_x vs its noise
            dF = sol.jacobian = float(c.jacobian(sol.z, theta)[0, 0])
            noise = float(c.jacobian_noise(sol.z, theta)[0, 0])
            if singular_derivative(dF, noise):
                raise self._singular(f"∂F/∂{c.unknowns[0]} = {dF:.3g} is rounding noise "
                                     f"(N(∂F/∂{c.unknowns[0]}) = {noise:.3g})", sol.z, theta, dF)
        if dF == 0.0 or not math.isfinite(dF):
            raise self._singular(f"∂F/∂{self.compiled.unknowns[0]} = {dF}", sol.z, theta, dF)
        if sol.multiple:
            raise self._singular(f"Newton converged linearly (a multiple root; ∂F/∂"
                                 f"{self.compiled.unknowns[0]} = {dF:.3g} → 0)", sol.z, theta, dF)
        if self._is_minimize and dF < 0.0:
            raise NotAMinimumError(f"{self.name}: the stationary point is a maximum "
                                   f"(∂²f/∂x² = {dF:.6g} < 0) at {self._where(sol.z, theta)}",
                                   point=self.compiled.point(sol.z, theta))

    def _check_vector(self, z, theta):
        c = self.compiled
        if not np.all(np.isfinite(z)):
            raise NonFiniteError(f"{self.name}: non-finite solution at {self._where(z, theta)}",
                                 point=c.point(z, theta))
        J = c.jacobian(z, theta)
        cond = np.linalg.cond(J) if np.all(np.isfinite(J)) else math.inf
        if not cond < SINGULAR_COND:
            raise self._singular(f"cond(∂F/∂z) = {cond:.3g}", z, theta, J)
        if self._is_minimize:
            self._check_minimum(J, z, theta)
        return J

    def _check_minimum(self, J, z, theta) -> None:
        """∇²L positive definite on the tangent space of the constraints (all of ℝⁿ without)."""
        c = self.compiled
        low = float(smallest_curvature(J, c.n_user))
        if low <= 0.0:
            kind = "a saddle or maximum" if low < 0 else "degenerate"
            raise NotAMinimumError(f"{self.name}: the stationary point is {kind} (smallest "
                                   f"eigenvalue of the {'reduced ' if c.n > c.n_user else ''}Hessian "
                                   f"{low:.6g}) at {self._where(z, theta)}",
                                   point=c.point(z, theta))

    def _singular(self, what, z, theta, value) -> SingularJacobianError:
        return SingularJacobianError(f"{self.name}: {what} at the solution "
                                     f"{self._where(z, theta)}: ∂F/∂z is singular there, the "
                                     "implicit function theorem fails and the derivative does "
                                     "not exist", point=self.compiled.point(z, theta), value=value)

    def _where(self, z, theta) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.compiled.point(z, theta).items())

    # -- backward ------------------------------------------------------------- #
    def _scalar_vjp(self, g, node):
        x, theta = node.value, node.inputs
        grads = self.compiled.gradient(x, theta)                     # ∂x*/∂θ = -(∂F/∂x)⁻¹ ∂F/∂θ
        limit = SINGULAR_SENSITIVITY * (abs(x) if abs(x) > 1.0 else 1.0)
        for d, t in zip(grads, theta):
            if not abs(d * t) <= limit:                              # also catches NaN and ±inf
                self._check_gradient(grads, x, theta, node.state)
        return [g * d for d in grads]

    def _check_gradient(self, grads, x, theta, dF) -> None:
        """A non-finite derivative, or one so large that F_x can only be rounding noise: singular."""
        scale = max(abs(x), 1.0)
        for name, d, t in zip(self.compiled.params, grads, theta):
            if not math.isfinite(d) or abs(d) * abs(t) > SINGULAR_SENSITIVITY * scale:
                raise self._singular(f"∂{self.compiled.unknowns[0]}/∂{name} = {d:.3g}", x, theta, dF)

    def _vector_vjp(self, g, node):
        c = self.compiled
        z, J = node.state
        zbar = np.zeros(c.n)
        zbar[:c.n_user] = g                                          # multipliers: no cotangent
        lam = np.linalg.solve(J.T, zbar)                             # (∂F/∂z)ᵀ λ = z̄
        theta_bar = -(c.param_jacobian(z, node.inputs).T @ lam)      # θ̄ = -λᵀ ∂F/∂θ
        return [float(v) for v in theta_bar]


def _check_bracket(bracket, compiled):
    if bracket is None:
        return None
    if compiled.vector:
        raise StatementError("a bracket applies to a scalar unknown only")
    lo, hi = (float(b) for b in bracket)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise StatementError(f"bracket must be finite (lo, hi) with lo < hi, got {bracket!r}")
    return lo, hi


def make_primitive(statement, **options) -> ImplicitLayer:
    """``statement.primitive(**options)``: the statement's solution as a tape primitive."""
    return ImplicitLayer(statement, **options)


def make_lowered(statement, backend: str = "numpy", **options):
    """``statement.lower(backend="numpy")``: vectorised solve and gradient over arrays."""
    from symimplicit.lower.vectorized import LoweredStatement

    if backend != "numpy":
        raise ValueError(f"unknown backend {backend!r} for lower(); available: 'numpy'")
    return LoweredStatement(statement, **options)
