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
from symimplicit.lower.checks import (SINGULAR_SENSITIVITY, check_derivative, equilibrated, kink_error,
                                      surely_conditioned, surely_resolved,
                                      kink_test, nonfinite_error, singular_derivative,
                                      singular_error, singular_jacobian, unresolved,
                                      unresolved_scalar)
from symimplicit.lower.solvers import (FIXED_POINT_ONLY, SOLVERS, factorise, smallest_curvature,
                                       solve_transposed, solver_class, find_bracket)
from symimplicit.tape.engine import Function, Saved, Scalar

__all__ = ["ImplicitLayer", "make_primitive", "make_lowered"]

LOWER_OPTIONS = frozenset({"x0", "tol", "max_iter"})


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

    Branch rule: the returned root is the one the solver reaches from the
    layer's ``x0`` (for ``"newton"``: the damped Newton iteration of
    :mod:`symimplicit.lower.solvers` from x0, i.e. x0's basin for that iteration;
    for ``"iterate"``/``"anderson"``: the limit of that iteration from x0), or
    from a per-call ``x0`` for that call only.  The result is a function of
    (θ, the layer's options) alone: the same input gives the same bits whatever
    the layer solved before.  There is no warm start (a warm start's basin is
    not x0's, so it can change the root; see docs/lower.md); ``warm_start`` is
    accepted as ``False`` only.

    At a solution on a kink of F (abs, Max, Min, sign, Heaviside, Piecewise;
    :mod:`symimplicit.lower.checks`) a tape call raises
    :class:`~symimplicit.errors.NonDifferentiableError`: there is no derivative
    to give its backward pass; :meth:`solve` (a value only) returns the solution.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> from symimplicit.lower import ImplicitLayer
    >>> from symimplicit.tape import Scalar, grad
    >>> x, a = sp.symbols("x a")
    >>> layer = ImplicitLayer(Root(x**2 - a, x, a), x0=1.0)
    >>> A = Scalar(4.0)
    >>> s = layer(A)
    >>> s.value, grad(s, [A])                    # x = √a, dx/da = 1/(2x)
    (2.0, (0.25,))
    """

    def __init__(self, statement, *, x0=None, tol=None, max_iter=None, method=None,
                 bracket=None, warm_start=False, name=None):
        self.statement = statement
        self.compiled = c = compile_statement(statement)
        self._n_params = c.p
        self._who = who = name or f"{type(statement).__name__}.primitive()"
        self.method = check_method(method or ("linear" if c.affine else "newton"), SOLVERS, who)
        self.tol, self.max_iter = check_tol(tol, who), check_max_iter(max_iter, who)
        self.bracket = check_bracket(bracket, c.vector, who)
        if warm_start is not False and warm_start is not None:
            raise StatementError(f"{who}: warm_start={warm_start!r}: warm starts were removed "
                                 "(they could change the root); the solution depends on θ and "
                                 "x0 only")
        self.warm_start = False
        self.x0 = x0
        self._options = dict(x0=x0, tol=tol, max_iter=max_iter, method=method, bracket=bracket,
                             name=name)
        self._start = self._initial(x0)
        self.last_iterations = None
        self._solver = self._make_solver()
        self._is_minimize = statement.kind == "minimize"
        self._kernel = self._make_kernel()
        super().__init__(name or f"{type(statement).__name__}Layer", self._forward,
                         vjp=self._vector_vjp if c.vector else self._scalar_vjp,
                         n_outputs=c.n_user if c.vector else 1,
                         vjp_tape=layer_vjp_tape(self))           # create_graph: lower/higher.py

    def __reduce__(self):
        """Pickle the statement and the options; the code is generated again on load."""
        return (_rebuild_layer, (self.statement, self._options))

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

    def _make_kernel(self):
        """The generated Newton + checks + gradient of a smooth scalar statement solved by
        'newton' without a bracket (:mod:`~symimplicit.lower.scalar_kernel`); None otherwise."""
        c = self.compiled
        if c.vector or c.kink_exprs or self.method != "newton" or self.bracket is not None:
            return None
        from symimplicit.lower.scalar_kernel import scalar_kernel
        return scalar_kernel(c, self._solver.tol, self._solver.max_iter)

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
        if kwargs:                                                   # (an empty **kwargs costs)
            extra = sorted(set(kwargs) - {"x0"})
            if extra:
                raise ArgumentError(f"{self.name}: keyword argument(s) {', '.join(extra)} are not "
                                    f"parameters: pass the parameters positionally, in the order "
                                    f"{self.compiled.params} (the only keyword is x0)")
        if len(params) != self._n_params:
            raise ArgumentError(f"{self.name} takes the {self.compiled.p} parameter(s) "
                                f"{self.compiled.params} in order, got {len(params)}")
        if kwargs:
            out = Function.__call__(self, *params, **kwargs)
        else:
            out = Function.__call__(self, *params)
        if not params:                                               # no parameters: a constant node
            return tuple(Scalar(v) for v in out) if isinstance(out, tuple) else Scalar(out)
        return out

    def map(self, *args, x0=None):
        """N calls as one tape node, solved at once by the NumPy sweep: each argument is a
        value shared by all calls or a sequence with one per call; returns the N results
        (see :func:`symimplicit.lower.batched.map_layer`)."""
        from symimplicit.lower.batched import map_layer
        return map_layer(self, *args, x0=x0)

    def solve(self, *params, x0=None):
        """The float solution at ``params`` (a tuple for vector unknowns)."""
        if len(params) != self.compiled.p:
            raise ArgumentError(f"{self.name}.solve takes the {self.compiled.p} parameter(s) "
                                f"{self.compiled.params} in order, got {len(params)}")
        return self._forward(*params, x0=x0, _value_only=True).value

    def _forward(self, *params, x0=None, _value_only=False):
        theta = self._theta(params)
        start = self._start if x0 is None else self._initial(x0)     # per-call x0: this call only
        kernel = self._kernel
        if kernel is not None:
            out = kernel(start, *theta)                  # Newton, the checks, ∂x/∂θ in one call
            if out is not None:                          # None: anything unusual, the general path
                self.last_iterations = out[2]
                return Saved(out[0], (out[0], out[1], theta, out[3]))
        return self._checked(self._run(start, theta), theta, _value_only)

    def _checked(self, sol, theta, value_only=False):
        """The checked solution as the node's value and the state its vjp needs:
        (z, factorised ∂F/∂z, θ); scalar: (x, F_x, θ, ∂x/∂θ or None: the vjp evaluates it)."""
        c = self.compiled
        if c.vector:
            z = sol.z
            lu = self._check_vector(sol, theta, value_only)
            return Saved(tuple([float(v) for v in z[:c.n_user]]), (z, lu, theta))
        self._check_scalar(sol, theta, value_only)
        return Saved(sol.z, (sol.z, sol.jacobian, theta, None))     # None: ∂x/∂θ in the vjp

    def _on_kink(self, z, theta, J, value_only) -> bool:
        """Whether the solution sits on a kink of F (checks.kink_test): True for a value-only
        query (the value exists), NonDifferentiableError otherwise; False off every kink."""
        c = self.compiled
        if not c.kink_exprs:
            return False
        NF = c.noise_at(z, theta) if c.vector else np.array([c.fdfn(float(z[0]), theta)[2]])
        TH = [np.array([t], dtype=float) for t in theta]
        mask, g, bound = kink_test(c, z[None, :], TH, J[None], NF[None, :])
        if mask.any():
            if value_only:
                return True
            k = int(np.flatnonzero(mask[0])[0])
            raise kink_error(self.name, c.kink_exprs[k], float(g[0, k]), float(bound[0, k]),
                             c.point(z, theta))
        return False

    def _theta(self, params) -> tuple:
        """The parameter values, checked finite (t - t is 0 for finite t, NaN for ±inf and NaN)."""
        for t in params:                                             # plain numbers, all finite: as
            c = t.__class__                                          # they are (the hot path)
            if c is not float or t - t != 0:                       # ints: converted (2**1100 refused)
                break
        else:
            return params
        names = self.compiled.params
        theta = tuple(parameter_value(n, p, self.name) for n, p in zip(names, params))
        if any(t.__class__ is not float for t in theta):
            theta = tuple(float(t) for t in theta)
        for name, t in zip(names, theta):
            if not math.isfinite(t):
                raise NonFiniteError(f"{self.name}: the parameter {name} = {t} is not finite",
                                     point=dict(zip(map(str, names), theta)))
        return theta

    def _run(self, start, theta):
        """One solve from ``start``; the solution (scalar: z a float)."""
        vector = self.compiled.vector
        try:
            sol = self._solver.solve(self._prepared(start, theta) if vector else start,
                                     theta, self.bracket)
        except ConvergenceError:
            if vector or self.bracket is not None or self.method != "newton":
                raise
            sol = self._bracketed_fallback(start, theta)             # Newton missed: search
        if sol is None:
            raise ConvergenceError("unreachable")                    # pragma: no cover
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

    def _bracketed_fallback(self, start, theta):
        """Newton from x0 failed: the sign change of F nearest x0 (solvers.find_bracket), then
        Newton-bisection in it; the ConvergenceError of Newton if there is none."""
        bracket = find_bracket(self.compiled, float(start), theta)
        if bracket is None:
            return self._solver.solve(start, theta, None)            # re-raise Newton's error
        return self._solver.solve(start, theta, bracket)

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

    # -- checks at the solution (the predicates of lower/checks.py) -------------- #
    def _check_scalar(self, sol, theta, value_only=False) -> None:
        c = self.compiled
        dF = sol.jacobian
        x = c.unknowns[0]
        if not math.isfinite(sol.z):
            raise nonfinite_error(self.name, f"the solution {x} = {sol.z} is not finite",
                                  c.point(sol.z, theta))
        if dF is None:                                               # fixed-point solvers: no linear-
            dF = sol.jacobian = float(c.jacobian(sol.z, theta)[0, 0])   # convergence test, F_x vs
            noise = float(c.jacobian_noise(sol.z, theta)[0, 0])        # its noise
            if singular_derivative(dF, noise):
                raise self._singular(f"∂F/∂{x} = {dF:.3g} is rounding noise "
                                     f"(N(∂F/∂{x}) = {noise:.3g})", sol.z, theta, dF)
        if dF == 0.0 or not math.isfinite(dF):
            raise self._singular(f"∂F/∂{x} = {dF}", sol.z, theta, dF)
        if c.kink_exprs and self._on_kink(np.array([sol.z]), theta, np.array([[dF]]), value_only):
            return                                                   # F_x jumps there: no more tests
        if sol.multiple:
            raise self._singular(f"Newton converged linearly (a multiple root; ∂F/∂"
                                 f"{x} = {dF:.3g} → 0)", sol.z, theta, dF)
        # affine F: ∂F/∂x has no x, J(x ± u) - J(x) = 0 exactly, the test cannot fire
        if not c.affine and unresolved_scalar(lambda t: c.fdfn(t, theta)[1], sol.z, dF,
                                              c.fdfn(sol.z, theta)[2]):
            raise self._singular(f"∂F/∂{x} = {dF:.3g} changes by more than half itself within "
                                 "the rounding uncertainty of the root (a multiple root)",
                                 sol.z, theta, dF)
        if self._is_minimize and dF < 0.0:
            raise NotAMinimumError(f"{self.name}: the stationary point is a maximum "
                                   f"(∂²f/∂x² = {dF:.6g} < 0) at {self._where(sol.z, theta)}",
                                   point=self.compiled.point(sol.z, theta))

    def _check_vector(self, sol, theta, value_only=False):
        """The checks at a vector solution; returns ∂F/∂z there, factorised (the one LU the
        fast paths of the checks and the backward pass share)."""
        c, z = self.compiled, sol.z
        if not np.all(np.isfinite(z)):
            raise nonfinite_error(self.name, "non-finite solution", c.point(z, theta))
        J = c.jacobian(z, theta)
        lu = factorise(J)
        if not surely_conditioned(lu) and singular_jacobian(J[None])[0]:   # else: the SVD's verdict
            cond = np.linalg.cond(equilibrated(J)) if np.all(np.isfinite(J)) else math.inf
            raise self._singular(f"cond(∂F/∂z) = {cond:.3g} (rows and columns scaled)",
                                 z, theta, J)
        if self._on_kink(z, theta, J, value_only):
            return lu                                                # ∂F/∂z jumps there
        if sol.multiple or not c.affine and self._unresolved(z, theta, J, lu, sol.noise):
            raise self._singular("Newton converged linearly or ∂F/∂z changes by more than half "
                                 "its distance to singularity within the rounding uncertainty "
                                 "of z (a tangency or multiple root: the float64 solution is "
                                 "only √ε-accurate)", z, theta, J)
        if self._is_minimize:
            self._check_minimum(J, z, theta)
        return lu

    def _unresolved(self, z, theta, J, lu, near_noise=None) -> bool:
        """checks.unresolved at one solution, after its O(n²) sufficient condition, which may
        take N(F) from a late iterate of the solver (``near_noise``: steps below 5% of z away, N
        moves by less than that, well inside the condition's margin; affine F: ΔJ = 0, never
        called)."""
        c = self.compiled
        NF = c.noise_at(z, theta) if near_noise is None else near_noise
        if surely_resolved(c.jacobian_change(z, theta, J), z, lu, NF):
            return False
        if near_noise is not None:
            NF = c.noise_at(z, theta)
        return bool(unresolved(lambda Z, TH: c.jacobian(Z[0], theta)[None], z[None], None,
                               J[None], NF[None])[0])

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
        return singular_error(self.name, what, self.compiled.point(z, theta), value)

    def _where(self, z, theta) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.compiled.point(z, theta).items())

    # -- backward ------------------------------------------------------------- #
    def _scalar_vjp(self, g, node):
        x, dF, theta, grads = node.state                             # the forward's θ, not the live one
        c = self.compiled
        if grads is None:                                            # (the kernel's, if it ran)
            grads = c.gradient(x, theta)                             # ∂x*/∂θ = -(∂F/∂x)⁻¹ ∂F/∂θ
        limit = SINGULAR_SENSITIVITY * (abs(x) if abs(x) > 1.0 else 1.0)
        for d, t in zip(grads, theta):
            if not abs(d * t) <= limit or d - d != 0:                # NaN, ±inf, oversensitive: the
                check_derivative(self.name, grads, theta, [x], c.unknowns, c.params,  # full check
                                 c.point(x, theta))
        return [g * d for d in grads]

    def _vector_vjp(self, g, node):
        c = self.compiled
        z, lu, theta = node.state                                    # LU of ∂F/∂z at the forward's θ
        zbar = np.zeros(c.n)
        zbar[:c.n_user] = g                                          # multipliers: no cotangent
        lam = solve_transposed(lu, zbar)                             # (∂F/∂z)ᵀ λ = z̄
        theta_bar = -c.param_vjp(z, theta, lam)                      # θ̄ = -λᵀ ∂F/∂θ
        if not np.isfinite(theta_bar).all():
            raise nonfinite_error(self.name, f"the gradient {theta_bar.tolist()} overflows "
                                  "float64", c.point(z, theta))
        return [float(v) for v in theta_bar]


def _rebuild_layer(statement, options):
    return ImplicitLayer(statement, **options)


def make_primitive(statement, **options) -> ImplicitLayer:
    """``statement.primitive(**options)``: the statement's solution as a tape primitive.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> from symimplicit.lower import make_primitive
    >>> x, a = sp.symbols("x a")
    >>> make_primitive(Root(x**2 - a, x, a))
    ImplicitLayer(Root(-a + x**2, unknown=x, params=(a,)), method='newton')
    >>> make_primitive(Root(x**2 - a, x, a))(9.0)
    3.0
    """
    return ImplicitLayer(statement, **options)


def make_lowered(statement, backend: str = "numpy", **options):
    """``statement.lower(backend="numpy")``: vectorised solve and gradient over arrays.

    Examples
    ========
    >>> import numpy as np, sympy as sp
    >>> from symimplicit import Root
    >>> from symimplicit.lower import make_lowered
    >>> x, a = sp.symbols("x a")
    >>> lowered = make_lowered(Root(x**2 - a, x, a))
    >>> lowered.solve(np.array([1.0, 4.0, 9.0]))
    array([1., 2., 3.])
    >>> lowered.gradient(np.array([1.0, 4.0])).ravel()      # 1/(2√a)
    array([0.5 , 0.25])
    """
    from symimplicit.lower.vectorized import LoweredStatement

    if backend != "numpy":
        raise StatementError(f"unknown backend {backend!r} for lower(); available: 'numpy' "
                             "(for mpmath at N digits see symimplicit.precision)")
    extra = sorted(set(options) - LOWER_OPTIONS)
    if extra:
        raise StatementError(f"lower() does not take {', '.join(map(repr, extra))}; its options are "
                             f"{sorted(LOWER_OPTIONS)} (the sweep is always damped Newton)")
    return LoweredStatement(statement, **options)
