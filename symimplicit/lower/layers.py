"""Implicit tape primitives: ``statement.primitive(**options)`` and ``statement.lower(**options)``.

An :class:`ImplicitLayer` is a tape :class:`~symimplicit.tape.Function` whose

* forward solves F(z, θ) = 0 in float64 with the derived Jacobian (a solver
  from :mod:`symimplicit.lower.solvers`), checks the solution (∂F/∂z
  invertible; a minimum for :class:`~symimplicit.statements.Minimize`) and
  keeps it on the node (``Saved``), and
* backward evaluates the lowered implicit-function-theorem formula at that
  cached solution and the parameter values of the forward call (kept with it:
  a parameter changed between forward and backward does not leak in), with no
  second solve:

      scalar:  ∂x/∂θⱼ = -F_θⱼ / F_x              (the derived formula, lambdified)
      vector:  (∂F/∂z)ᵀ λ = z̄,   θ̄ = -λᵀ ∂F/∂θ   (one adjoint solve per backward pass)

All SymPy work (derivation, lambdify + CSE) happens once, at construction
(:func:`~symimplicit.lower.compiled.compile_statement`).
"""
from __future__ import annotations

import math

import numpy as np

from symimplicit.errors import (ArgumentError, ConvergenceError, NonFiniteError,
                                NotAMinimumError, SingularJacobianError, StatementError,
                                SymimplicitError)
from symimplicit.lower.compiled import compile_statement
from symimplicit.lower.higher import layer_vjp_tape
from symimplicit.lower.options import (as_floats, check_bracket, check_max_iter, check_method,
                                       check_tol, parameter_value)
from symimplicit.lower.solvers import (FIXED_POINT_ONLY, SINGULAR_COND, SOLVERS,
                                       singular_derivative, smallest_curvature, solver_class)
from symimplicit.tape.engine import Function, Saved

__all__ = ["ImplicitLayer", "make_primitive", "make_lowered"]

WARM_TRUST = 0.1              # a warm-started root within 10 % of (|z_prev| + 1): the same branch
LOWER_OPTIONS = frozenset({"x0", "tol", "max_iter"})
SINGULAR_SENSITIVITY = 1e14   # scalar: |∂x/∂θ|·|θ|/max(|x|, 1) above this: F_x is rounding noise


class ImplicitLayer(Function):
    """The solution z(θ) of a statement as one tape primitive.

    ``layer(*params)`` takes the parameters in the statement's order (Scalars or
    floats) and returns the solution: a Scalar/float, or a tuple for vector
    unknowns (Lagrange multipliers are internal).  ``layer(*params, x0=...)``
    starts from a given guess for that call only (the warm state is neither used
    nor changed by it).

    Options: ``x0`` (initial guess: a number, or one per unknown), ``tol``
    (relative step, 0 < tol <= 0.1; default 4 ulps; see :mod:`symimplicit.lower.options`),
    ``max_iter``, ``method`` (``"newton"``; fixed points also ``"iterate"``,
    ``"anderson"``; ``"linear"``, the default for a residual affine in the unknowns,
    is one exact Newton step), ``bracket`` ((lo, hi), scalar unknown: Newton-bisection;
    with ``"linear"`` the root must lie in it), ``warm_start`` (default True).

    Branch selection: the layer's ``x0`` (cold start) defines which root is
    returned.  The warm start (from the last solution this layer accepted) is an
    accelerator that does not change the root, as far as it can check: its
    result is kept only when it passes every check at the solution and lies
    within a trust region of the previous solution,
    ‖z - z_prev‖∞ <= WARM_TRUST·(‖z_prev‖∞ + 1), where the solution is the
    continuation of the previous (cold-selected) branch; anything else (a
    failure, a rejected point, a far jump, e.g. across the fold of sin x = a) is
    solved again from ``x0`` and that cold result is returned.  Only solutions
    from the layer's own start (cold or accepted warm) become the warm state:
    never a per-call ``x0``'s, never one that failed a check.
    """

    def __init__(self, statement, *, x0=None, tol=None, max_iter=None, method=None,
                 bracket=None, warm_start=True, name=None):
        self.statement = statement
        self.compiled = c = compile_statement(statement)
        self._n_params = c.p
        self._who = who = name or f"{type(statement).__name__}.primitive()"
        self.method = check_method(method or ("linear" if c.affine else "newton"), SOLVERS, who)
        self.tol, self.max_iter = check_tol(tol, who), check_max_iter(max_iter, who)
        self.bracket = check_bracket(bracket, c.vector, who)
        self.warm_start = bool(warm_start)
        self._use_warm = self.warm_start and self.method != "linear"   # "linear" ignores starts
        self.x0 = x0
        self._start = self._initial(x0)
        self.last_iterations = None
        self._warm = None
        self._solver = self._make_solver()
        self._is_minimize = statement.kind == "minimize"
        super().__init__(name or f"{type(statement).__name__}Layer", self._forward,
                         vjp=self._vector_vjp if c.vector else self._scalar_vjp,
                         n_outputs=c.n_user if c.vector else 1,
                         vjp_tape=layer_vjp_tape(self))           # create_graph: lower/higher.py

    def __repr__(self):
        return f"ImplicitLayer({self.statement!r}, method={self.method!r})"

    params = property(lambda self: self.compiled.params,
                      doc="The parameters in call order: ``layer(*values)`` takes them so.")

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
            raise StatementError(f"a bracket is used by methods 'newton' and 'linear' only, "
                                 f"not {method!r}")
        return solver_class(method, c.vector)(c, tol=self.tol, max_iter=self.max_iter)

    def _initial(self, x0):
        """The start as a float (scalar) or an array over the system unknowns (x, then λ = 0)."""
        c = self.compiled
        if x0 is None:
            values = [0.0] * c.n_user
        else:
            values = as_floats(x0, "x0", self._who)
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
        if len(params) != self._n_params:
            raise ArgumentError(f"{self.name} takes the {self.compiled.p} parameter(s) "
                                f"{self.compiled.params} in order, got {len(params)}")
        if kwargs:                                                   # (an empty **kwargs costs)
            return Function.__call__(self, *params, **kwargs)
        return Function.__call__(self, *params)

    def solve(self, *params, x0=None):
        """The float solution at ``params`` (a tuple for vector unknowns)."""
        if len(params) != self.compiled.p:
            raise ArgumentError(f"{self.name}.solve takes the {self.compiled.p} parameter(s) "
                                f"{self.compiled.params} in order, got {len(params)}")
        return self._forward(*params, x0=x0).value

    def _forward(self, *params, x0=None):
        theta = self._theta(params)
        if x0 is not None:                                           # this call only: no warm state
            return self._checked(self._run(self._initial(x0), theta), theta)
        warm = self._warm
        if warm is not None and self._use_warm:
            try:
                sol = self._run(warm, theta)
                if self._near(sol.z, warm):
                    out = self._checked(sol, theta)
                    self._warm = sol.z
                    return out
            except SymimplicitError:
                pass                                                 # the cold start decides
        sol = self._run(self._start, theta)
        out = self._checked(sol, theta)
        self._warm = sol.z                                           # only a checked solution
        return out

    def _near(self, z, warm) -> bool:
        """The warm result within the trust region of the previous solution (user unknowns)."""
        if not self.compiled.vector:
            return abs(z - warm) <= WARM_TRUST * (abs(warm) + 1.0)
        k = self.compiled.n_user
        return bool(np.max(np.abs(z[:k] - warm[:k])) <= WARM_TRUST * (np.max(np.abs(warm[:k])) + 1.0))

    def _checked(self, sol, theta):
        """The checked solution as the node's value and the state its vjp needs."""
        c = self.compiled
        if c.vector:
            z = sol.z
            J = self._check_vector(z, theta)
            return Saved(tuple([float(v) for v in z[:c.n_user]]), (z, J, theta))
        self._check_scalar(sol, theta)
        return Saved(sol.z, (sol.z, sol.jacobian, theta))

    def _theta(self, params) -> tuple:
        """The parameter values, checked finite (t - t is 0 for finite t, NaN for ±inf and NaN)."""
        for t in params:                                             # plain numbers, all finite: as
            c = t.__class__                                          # they are (the hot path)
            if c is not float and c is not int or t - t != 0:
                break
        else:
            return params
        names = self.compiled.params
        theta = tuple(parameter_value(n, p, self.name) for n, p in zip(names, params))
        for name, t in zip(names, theta):
            if not math.isfinite(t):
                raise NonFiniteError(f"{self.name}: the parameter {name} = {t} is not finite",
                                     point=dict(zip(map(str, names), theta)))
        return theta

    def _run(self, start, theta):
        """One solve from ``start``; the solution (scalar: z a float)."""
        vector = self.compiled.vector
        sol = self._solver.solve(self._prepared(start, theta) if vector else start,
                                 theta, self.bracket)
        if not vector and sol.z.__class__ is not float:
            sol.z = float(sol.z[0])                                  # fixed-point solvers: 1-arrays
        if self.bracket is not None and not self.bracket[0] <= sol.z <= self.bracket[1]:
            lo, hi = self.bracket
            raise ConvergenceError(f"{self.name}: no root in the bracket [{lo!r}, {hi!r}]: "
                                   f"method {self.method!r} found {self.compiled.unknowns[0]} = "
                                   f"{sol.z!r} at {self._where(sol.z, theta)}",
                                   iterations=sol.iterations, residual=sol.residual,
                                   point=self.compiled.point(sol.z, theta))
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
        x, dF, theta = node.state                                    # the forward's θ, not the live one
        grads = self.compiled.gradient(x, theta)                     # ∂x*/∂θ = -(∂F/∂x)⁻¹ ∂F/∂θ
        limit = SINGULAR_SENSITIVITY * (abs(x) if abs(x) > 1.0 else 1.0)
        for d, t in zip(grads, theta):
            if not abs(d * t) <= limit:                              # also catches NaN and ±inf
                self._check_gradient(grads, x, theta, dF)
        return [g * d for d in grads]

    def _check_gradient(self, grads, x, theta, dF) -> None:
        """A non-finite derivative, or one so large that F_x can only be rounding noise: singular."""
        scale = max(abs(x), 1.0)
        for name, d, t in zip(self.compiled.params, grads, theta):
            if not math.isfinite(d) or abs(d) * abs(t) > SINGULAR_SENSITIVITY * scale:
                raise self._singular(f"∂{self.compiled.unknowns[0]}/∂{name} = {d:.3g}", x, theta, dF)

    def _vector_vjp(self, g, node):
        c = self.compiled
        z, J, theta = node.state                                     # J and ∂F/∂θ at the forward's θ
        zbar = np.zeros(c.n)
        zbar[:c.n_user] = g                                          # multipliers: no cotangent
        lam = np.linalg.solve(J.T, zbar)                             # (∂F/∂z)ᵀ λ = z̄
        theta_bar = -(c.param_jacobian(z, theta).T @ lam)            # θ̄ = -λᵀ ∂F/∂θ
        return [float(v) for v in theta_bar]


def make_primitive(statement, **options) -> ImplicitLayer:
    """``statement.primitive(**options)``: the statement's solution as a tape primitive."""
    return ImplicitLayer(statement, **options)


def make_lowered(statement, backend: str = "numpy", **options):
    """``statement.lower(backend="numpy")``: vectorised solve and gradient over arrays."""
    from symimplicit.lower.vectorized import LoweredStatement

    if backend != "numpy":
        raise StatementError(f"unknown backend {backend!r} for lower(); available: 'numpy' "
                             "(for mpmath at N digits see symimplicit.precision)")
    extra = sorted(set(options) - LOWER_OPTIONS)
    if extra:
        raise StatementError(f"lower() does not take {', '.join(map(repr, extra))}; its options are "
                             f"{sorted(LOWER_OPTIONS)} (the sweep is always damped Newton)")
    return LoweredStatement(statement, **options)
