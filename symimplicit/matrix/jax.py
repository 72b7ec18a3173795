"""``statement.lower(sizes).to_jax()``: the solution z(θ) of a matrix statement as a jittable JAX
function with a ``jax.custom_vjp`` made of the derived matrix formulas.

    forward:   Newton z ← z − F_z⁻¹ F in ``jax.lax.while_loop`` (F_z the derived matrix)
    backward:  λ = F_z⁻ᵀ z̄ (one solve),  θ̄ = −F_θ*[λ]  (the derivation's vjp, shaped like θ)

The same expressions as the numpy path (:func:`~symimplicit.matrix.lowered.evaluate` with
``xp=jax.numpy``), so the iterations are never differentiated.  Reverse mode only
(``jax.grad``, ``jax.jacrev``/``jax.jacobian``, ``jit``); forward mode (``jvp``, ``jacfwd``)
is not defined for a custom_vjp.  A Newton solve that does not stop within ``max_iter`` steps
gives NaN; called on concrete values the function raises ConvergenceError instead.
"""
from __future__ import annotations

import numpy as np
from sympy.matrices.expressions import MatrixSymbol

from ..errors import ConvergenceError, StatementError
from ..lower.jax import require_jax
from .lowered import _size, evaluate

__all__ = ["to_jax"]


def to_jax(lowered, *, x0=None, tol: float = 1e-14, max_iter: int = 100, x64: bool = True):
    """The solution of a lowered matrix statement as a JAX function of its parameters.

    Parameters
    ==========
    lowered : LoweredMatrix
        ``statement.lower(sizes)`` with every dimension known.
    x0 : array, optional
        Newton's start (default zeros), of the unknown's shape or flat.
    tol : float
        Newton stops when the step is below tol·(1 + max|z|) (as ``LoweredMatrix.solve``).
    max_iter : int
        Newton steps before the solution is NaN.
    x64 : bool
        Enable float64 in JAX (``jax_enable_x64``, a process-wide setting) first.

    Returns
    =======
    ``f(*params)``: the parameters in the statement's order (arrays of their shapes, a column
    may be flat; scalars for Symbols), the unknown as an (n, 1) array.  ``f.statement``.

    Examples
    ========
    >>> import numpy as np, sympy as sp, jax
    >>> from symimplicit.matrix import MatrixRoot
    >>> M, x, b = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("b", 2, 1)
    >>> f = MatrixRoot(M*x + b - x, x, (M, b)).lower().to_jax()
    >>> np.asarray(jax.jit(f)(np.zeros((2, 2)), np.ones(2))).ravel().tolist()
    [1.0, 1.0]
    >>> g = jax.grad(lambda M, b: f(M, b)[0, 0], argnums=1)(0.5 * np.eye(2), np.ones(2))
    >>> np.asarray(g).ravel().tolist()                 # ∂x₀/∂b = row 0 of (I − M)⁻¹
    [2.0, 0.0]
    """
    jax, jnp = require_jax()
    st = lowered.statement
    if getattr(st, "constraints", ()):
        raise StatementError(f"to_jax() of the constrained {st} is not available yet (no KKT "
                             "path in JAX); use lower().vjp or the tape primitive")
    if x64:
        jax.config.update("jax_enable_x64", True)
    d, dims = lowered.derivation, lowered.dims
    env0 = {"_dims": dims}
    shapes = [tuple(_size(s, env0) for s in p.shape) if isinstance(p, MatrixSymbol) else ()
              for p in st.params]
    zshape = tuple(_size(s, env0) for s in st.unknown.shape)
    if x0 is None:
        start = np.zeros(zshape)
    else:
        start = np.asarray(x0, dtype=float)
        if start.size != int(np.prod(zshape)) or not np.all(np.isfinite(start)):
            raise StatementError(f"x0 must be {int(np.prod(zshape))} finite numbers (the unknown "
                                 f"{st.unknown}, shape {zshape}), got {x0!r}")
        start = start.reshape(zshape)
    grads = lowered._grads                                    # θ̄ formulas, derived once
    names = [p.name for p in st.params]

    def env_of(params, z):
        env = {"_dims": dims, st.unknown: z}
        env.update(zip(st.params, params))
        return env

    def newton(params):
        dtype = jnp.result_type(float)

        def cond(state):
            _, it, done = state
            return (it < max_iter) & ~done

        def body(state):
            z, it, _ = state
            env = env_of(params, z)
            step = jnp.linalg.solve(evaluate(d.F_z, env, jnp), evaluate(st.residual, env, jnp))
            z_new = z - step                                  # z ← z − F_z⁻¹ F
            small = jnp.max(jnp.abs(step)) <= tol * (1 + jnp.max(jnp.abs(z_new)))
            return z_new, it + 1, small | ~jnp.all(jnp.isfinite(z_new))

        z, _, done = jax.lax.while_loop(cond, body, (jnp.asarray(start, dtype), 0, False))
        return jnp.where(done & jnp.all(jnp.isfinite(z)), z, jnp.nan)

    @jax.custom_vjp
    def solution(*params):
        return newton(params)

    def fwd(*params):
        z = newton(params)
        return z, (params, z)

    def bwd(kept, zbar):
        params, z = kept
        env = env_of(params, z)
        env[d.multiplier] = jnp.linalg.solve(evaluate(d.F_z, env, jnp).T, zbar)   # λ = F_z⁻ᵀ z̄
        return tuple(jnp.broadcast_to(jnp.asarray(evaluate(grads[p], env, jnp), z.dtype), s)
                     for p, s in zip(st.params, shapes))           # θ̄ = −F_θ*[λ]

    solution.defvjp(fwd, bwd)

    def f(*params):
        if len(params) != len(shapes):
            raise StatementError(f"the JAX layer of {st} takes the parameters {names} in order, "
                                 f"got {len(params)} argument(s)")
        values = []
        for name, s, v in zip(names, shapes, params):
            v = jnp.asarray(v, dtype=jnp.result_type(float))
            if v.shape != s and not (len(s) == 2 and s[1] == 1 and v.shape == (s[0],)):
                raise StatementError(f"the parameter {name} has shape {v.shape}, expected {s}")
            values.append(v.reshape(s))
        z = solution(*values)
        if not any(isinstance(v, jax.core.Tracer) for v in values) and \
                not np.all(np.isfinite(np.asarray(z))):
            raise ConvergenceError(f"the JAX layer of {st}: Newton found no finite root in "
                                   f"{max_iter} steps (under jit/grad this solution is NaN)")
        return z

    f.statement = st
    f.__doc__ = f"The solution of {st!r} as a JAX function of {', '.join(names)}."
    return f
