"""``statement.to_jax()``: the solution z(θ) as a JAX function whose derivatives are the derived ones.

The function is a ``jax.custom_jvp`` of the parameters.  Its primal is a JAX-traceable Newton
solve damped by backtracking (``jax.lax.while_loop``) on the lowered residual and Jacobian; its tangent rule is
made of lowered derived formulas, the implicit function theorem

    scalar:  ẋ = Σⱼ Gⱼ(x, θ) θ̇ⱼ,   Gⱼ = ∂x/∂θⱼ = -F_θⱼ/F_x   (the derivation's gradient formula)
    vector:  ż = -J⁻¹ F_θ θ̇,        J = ∂F/∂z(z, θ), F_θ = ∂F/∂θ(z, θ)   (multipliers included)

where the primal inside the rule is computed by calling the custom_jvp function itself: when
JAX differentiates the rule again (``jax.hessian``, third derivatives, ``jacfwd∘jacrev``) the
inner solution is differentiated by the same rule, so every order is the derived formula,
never a differentiation through the Newton iterations.  The tangent is linear in θ̇, so
reverse mode (``jax.grad``, ``jacrev``) transposes it; ``jit`` and ``vmap`` work (a batched
``while_loop`` runs until every instance has stopped).

Stopping rule (that of :mod:`symimplicit.lower.solvers`): a step below tol·max(|z|, tiny), or
every residual at its rounding floor |Fᵢ| ≤ 2ε·N(Fᵢ).  A solve that does not stop within
``max_iter`` Newton steps, or ends non-finite, returns NaN.  Called with concrete numbers (no
``jit``/``grad``/``vmap`` around it), the function checks that on the host and raises
:class:`~symimplicit.errors.ConvergenceError`; under a transformation JAX has no host values,
so the NaN is what surfaces (``jnp.isnan`` it, or call once outside ``jit`` to see the error).

float64 needs ``jax.config.update("jax_enable_x64", True)``; ``to_jax(x64=True)`` (the default)
does that update (a process-wide JAX setting, said here so it is no surprise); with
``x64=False`` the configuration is left alone and the solve uses the dtype JAX gives.

Symbol names never reach the generated code: the arguments are renamed ``_a0, _a1, ...``
before SymPy's JAX printer sees the expressions.
"""
from __future__ import annotations

import math

import sympy as sp

from symimplicit.errors import ConvergenceError, MissingDependencyError, StatementError
from symimplicit.lower.codegen import flatten
from symimplicit.lower.options import as_floats, check_max_iter, check_tol

__all__ = ["to_jax", "lambdify_jax", "require_jax"]

DEFAULT_MAX_ITER = 100
STEP_ULPS = 4            # a step below 4 ulps of the iterate: converged (solvers.DEFAULT_TOL)
FLOOR_ULPS = 2           # |F| ≤ 2ε·N(F): the residual is at its rounding floor (solvers.FLOOR)
MAX_HALVINGS = 40        # backtracking: Newton's step halved until |F| decreases


def require_jax():
    """``(jax, jax.numpy)``, or :class:`MissingDependencyError` naming the ``jax`` extra."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise MissingDependencyError("jax", extra="jax",
                                     purpose="statement.to_jax() and verify of JAX functions") from None
    return jax, jnp


def lambdify_jax(exprs, args, *, stack: bool = True):
    """ONE function ``f(*values) -> jnp array`` of every expression (flattened), CSE shared.

    The arguments are renamed to ``_a0, _a1, ...`` first, so no user name can change what
    the generated code means; constant entries are broadcast like the others.  With
    ``stack=False`` the function returns the list of values as generated (no array built).
    """
    jax, jnp = require_jax()
    safe = [sp.Symbol(f"_a{i}", real=True) for i in range(len(args))]
    rename = dict(zip(args, safe))
    flat = [sp.sympify(e).xreplace(rename) for e in flatten(exprs)]
    fn = sp.lambdify(safe, flat, modules="jax", cse=True)
    if not stack:
        return fn

    def evaluate(*values):
        out = fn(*values)
        dtype = jnp.result_type(*values)
        return jnp.stack([jnp.asarray(v, dtype=dtype) for v in out]) if out else jnp.zeros((0,), dtype)

    return evaluate


class _Lowered:
    """The statement's formulas as JAX functions of (z, θ) (1-D arrays)."""

    def __init__(self, statement):
        from symimplicit.lower.compiled import compile_statement

        c = compile_statement(statement)
        self.c = c
        args = c.args
        n, p = c.n, c.p
        self._fjn = lambdify_jax(c.residual_exprs + c.jacobian_exprs + c.noise, args)
        self._ftheta = lambdify_jax(c.param_jacobian_exprs, args)
        self._gradient = None if c.vector else lambdify_jax(list(c.derivation._raw_gradient()), args)
        self.fdfn = None if c.vector else lambdify_jax(c.residual_exprs + c.jacobian_exprs + c.noise,
                                                       args, stack=False)   # scalar: (F, F_x, N)
        self.n, self.p = n, p

    def fjn(self, z, theta):
        """F (n), ∂F/∂z (n × n), N(F) (n)."""
        n = self.n
        out = self._fjn(*z, *theta)
        return out[:n], out[n:n + n * n].reshape(n, n), out[n + n * n:]

    def ftheta(self, z, theta):
        """∂F/∂θ (n × p)."""
        return self._ftheta(*z, *theta).reshape(self.n, self.p)

    def gradient(self, z, theta):
        """Scalar unknown: [∂x/∂θⱼ], the derived formula."""
        return self._gradient(*z, *theta)


def to_jax(statement, *, x0=None, tol=None, max_iter=None, x64: bool = True):
    """The solution of ``statement`` as a JAX function of its parameters.

    Parameters
    ==========
    statement : Root, FixedPoint or Minimize
    x0 : number or sequence, optional
        Newton's start for the unknowns (default 0; Lagrange multipliers are estimated).
    tol : float, optional
        Relative step that stops Newton (default 4 ulps).
    max_iter : int, optional
        Newton steps before the solve gives NaN (default 100).
    x64 : bool
        Enable float64 in JAX (``jax_enable_x64``) before building (default True).

    Returns
    =======
    A function ``f(*params)`` of scalars (floats or JAX arrays of shape ()): the unknown, or a
    tuple for several unknowns.  ``f.statement`` is the statement.

    Examples
    ========
    >>> import sympy as sp, jax
    >>> from symimplicit import FixedPoint
    >>> x, a, b = sp.symbols("x a b")
    >>> f = FixedPoint(sp.cos(a*x + b), unknown=x, params=(a, b)).to_jax()
    >>> round(float(f(1.0, 0.0)), 12)                   # x = cos x
    0.739085133215
    >>> H = jax.jit(jax.hessian(f, argnums=(0, 1)))(1.0, 0.0)
    >>> round(float(H[0][0]), 12)                       # ∂²x/∂a², the derived formula
    0.153337891314

    See Also
    ========
    symimplicit.lower.layers.ImplicitLayer : the same solution on the tape.
    """
    jax, jnp = require_jax()
    who = f"{type(statement).__name__}.to_jax()"
    if x64:
        jax.config.update("jax_enable_x64", True)
    tol = check_tol(tol, who)
    max_iter = check_max_iter(max_iter, who) or DEFAULT_MAX_ITER
    low = _Lowered(statement)
    c = low.c
    n, k, p = c.n, c.n_user, c.p
    start = _start(x0, c, who)

    def newton(theta):
        dtype = theta.dtype if p else jnp.result_type(float)
        eps = jnp.finfo(dtype).eps
        step_tol = STEP_ULPS * eps if tol is None else tol
        tiny = jnp.finfo(dtype).tiny
        z = jnp.asarray(start, dtype=dtype)
        if n == 1:                                          # scalar: plain division, no arrays
            return newton_scalar(z[0], theta, eps, step_tol, tiny)[None]
        if n > k:                                           # ∇f + Jgᵀλ = 0 by least squares
            F, J, _ = low.fjn(z, theta)
            lam = jnp.linalg.lstsq(J[:k, k:], -F[:k])[0]
            z = z.at[k:].set(lam)
        largest = jnp.max(jnp.abs(low.fjn(z, theta)[1]), axis=1)   # D_r from J(z₀), as the
        good = jnp.isfinite(largest) & (largest > 0)                 # float64 solver's
        rows = jnp.exp2(-jnp.where(good, jnp.round(jnp.log2(jnp.where(good, largest, 1.0))),
                                   0.0))                             # row_scales

        def cond(state):
            _, it, done = state
            return (it < max_iter) & ~done

        def body(state):
            z, it, _ = state
            F, J, N = low.fjn(z, theta)
            step = jnp.where(jnp.all(jnp.isfinite(J)), jnp.linalg.solve(J, F),
                             jnp.nan)                       # Newton: J δ = F, z ← z - δ
            floor = jnp.all(jnp.abs(F) <= FLOOR_ULPS * eps * N)
            small = jnp.max(jnp.abs(step)) <= step_tol * (jnp.max(jnp.abs(z)) + tiny)
            t = backtrack(lambda u: rows * low.fjn(u, theta)[0], z, step,
                          jnp.max(jnp.abs(rows * F)))               # merit ‖D_r F‖∞
            z_new = jnp.where(floor, z, z - t * step)
            return z_new, it + 1, floor | small | ~jnp.all(jnp.isfinite(z_new))

        z, it, done = jax.lax.while_loop(cond, body, (z, 0, False))
        ok = done & jnp.all(jnp.isfinite(z))
        return jnp.where(ok, z, jnp.nan)

    def newton_scalar(x, theta, eps, step_tol, tiny):
        params = [theta[j] for j in range(p)]

        def cond(state):
            _, it, done = state
            return (it < max_iter) & ~done

        def body(state):
            x, it, _ = state
            F, dF, N = low.fdfn(x, *params)
            usable = jnp.isfinite(dF) & (dF != 0)           # F_x = ±∞ would make a zero step
            step = jnp.where(usable, F / dF, jnp.nan)       # Newton: x ← x - F/F_x (else: NaN)
            floor = jnp.abs(F) <= FLOOR_ULPS * eps * N
            small = jnp.abs(step) <= step_tol * (jnp.abs(x) + tiny)
            t = backtrack(lambda u: low.fdfn(u, *params)[0], x, step, jnp.abs(F))
            x_new = jnp.where(floor, x, x - t * step)
            return x_new, it + 1, floor | small | ~jnp.isfinite(x_new)

        x, it, done = jax.lax.while_loop(cond, body, (x, 0, False))
        return jnp.where(done & jnp.isfinite(x), x, jnp.nan)

    def backtrack(residual, z, step, size):
        """t = 1, 1/2, ... (at most MAX_HALVINGS) until |F(z - tδ)| is finite and below |F(z)|,
        as the float64 solver damps Newton; 1 when none is (the final checks then decide)."""
        def cond(state):
            t, k = state
            r = jnp.max(jnp.abs(residual(z - t * step)))
            return (k < MAX_HALVINGS) & ~(jnp.isfinite(r) & (r < size))

        t, k = jax.lax.while_loop(cond, lambda s: (s[0] / 2, s[1] + 1),
                                  (jnp.ones((), z.dtype), 0))
        return jnp.where(k < MAX_HALVINGS, t, 1.0)

    @jax.custom_jvp
    def solution(theta):
        return newton(theta)

    @solution.defjvp
    def solution_jvp(primals, tangents):
        (theta,), (dtheta,) = primals, tangents
        z = solution(theta)                                 # itself: higher orders recurse here
        if not c.vector:
            dz = low.gradient(z, theta) @ dtheta            # ẋ = Σⱼ ∂x/∂θⱼ θ̇ⱼ
            return z, dz[None]
        J = low.fjn(z, theta)[1]
        dz = -jnp.linalg.solve(J, low.ftheta(z, theta) @ dtheta)   # ż = -J⁻¹ F_θ θ̇
        return z, dz

    names = [str(s) for s in c.params]

    def f(*params):
        if len(params) != p:
            raise StatementError(f"{who} takes the {p} parameter(s) {tuple(names)} in order, "
                                 f"got {len(params)}")
        theta = jnp.stack([jnp.asarray(t, dtype=jnp.result_type(float)) for t in params]) if p \
            else jnp.zeros((0,))
        z = solution(theta)
        if not any(isinstance(t, jax.core.Tracer) for t in params):
            _check_host(z, who, names, params)
        return z[0] if k == 1 else tuple(z[i] for i in range(k))

    f.statement = statement
    f.solution = solution
    f.__doc__ = f"The solution of {statement!r} as a JAX function of {', '.join(names)}."
    return f


def _start(x0, c, who):
    if x0 is None:
        values = [0.0] * c.n_user
    else:
        values = as_floats(x0, "x0", who)
        if len(values) == 1 and c.n_user > 1:
            values *= c.n_user
        if len(values) not in (c.n_user, c.n):
            raise StatementError(f"{who}: x0 has {len(values)} value(s) for the unknowns "
                                 f"{c.statement.unknowns}")
    if not all(math.isfinite(v) for v in values):
        raise StatementError(f"{who}: x0 = {x0!r} is not finite")
    return values + [0.0] * (c.n - len(values))


def _check_host(z, who, names, params) -> None:
    """Concrete values: a NaN solution is a ConvergenceError here, not a silent NaN."""
    import numpy as np

    if not np.all(np.isfinite(np.asarray(z))):
        at = ", ".join(f"{nm}={float(t)!r}" for nm, t in zip(names, params))
        raise ConvergenceError(f"{who}: Newton found no finite root at {at} (no convergence "
                               "in max_iter steps, or a singular ∂F/∂z); under jit/grad/vmap "
                               "this solution is NaN")
