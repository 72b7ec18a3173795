"""``statement.lower(sizes).to_jax()``: the solution z(θ) of a matrix statement as a jittable JAX
function with a ``jax.custom_vjp`` made of the derived matrix formulas.

    forward:   Newton z ← z − F_z⁻¹ F in ``jax.lax.while_loop`` (F_z the derived matrix)
    backward:  λ = F_z⁻ᵀ z̄ (one solve),  θ̄ = −F_θ*[λ]  (the derivation's vjp, shaped like θ)

With equality constraints the unknown is w = [z; λ₁; ...], Newton uses the block KKT matrix K
and the backward pass [u; v] = K⁻ᵀ [z̄; 0], θ̄ = −(F_θ*[u] + G_θ*[v]); the function returns z.

The same expressions as the numpy path (:func:`~symimplicit.matrix.evaluate.evaluate` with
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
from .evaluate import _size, evaluate

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
    if x64:
        jax.config.update("jax_enable_x64", True)
    d, dims = lowered.derivation, lowered.dims
    env0 = {"_dims": dims}
    shapes = [tuple(_size(s, env0) for s in p.shape) if isinstance(p, MatrixSymbol) else ()
              for p in st.params]
    zshape = tuple(_size(s, env0) for s in st.unknown.shape)
    lams = tuple(getattr(st, "multipliers", ()))              # constrained: w = [z; λ₁; ...]
    blocks = [(st.unknown, zshape[0])] + [(l, _size(l.shape[0], env0)) for l in lams]
    width = sum(m for _, m in blocks)
    if x0 is None:
        start = np.zeros(zshape)
    else:
        start = np.asarray(x0, dtype=float)
        if start.size != int(np.prod(zshape)) or not np.all(np.isfinite(start)):
            raise StatementError(f"x0 must be {int(np.prod(zshape))} finite numbers (the unknown "
                                 f"{st.unknown}, shape {zshape}), got {x0!r}")
        start = start.reshape(zshape)
    start = np.vstack([start, np.zeros((width - zshape[0], 1))])   # λ starts at 0
    grads = lowered._grads                                    # θ̄ formulas, derived once
    names = [p.name for p in st.params]
    # the residual and its Jacobian: F and F_z, or [∇_z L; g] and K = [[H, g_zᵀ], [g_z, 0]]
    residuals = [st.residual, *getattr(st, "constraints", ())]
    jac = d.KKT if lams else d.F_z
    adjoints = [d.multiplier] if not lams else [d.adjoints[0], *d.adjoints[1]]

    def split(w):
        out, k = [], 0
        for _, m in blocks:
            out.append(w[k:k + m])
            k += m
        return out

    def env_of(params, w):
        env = {"_dims": dims}
        env.update(zip(st.params, params))
        env.update(zip((s for s, _ in blocks), split(w)))
        return env

    def newton(params):
        dtype = jnp.result_type(float)

        def cond(state):
            _, it, done = state
            return (it < max_iter) & ~done

        def body(state):
            w, it, _ = state
            env = env_of(params, w)
            F = jnp.vstack([jnp.reshape(evaluate(r, env, jnp), (-1, 1)) for r in residuals])
            step = jnp.linalg.solve(evaluate(jac, env, jnp), F)
            w_new = w - step                                  # w ← w − J⁻¹ F
            small = jnp.max(jnp.abs(step)) <= tol * (1 + jnp.max(jnp.abs(w_new)))
            return w_new, it + 1, small | ~jnp.all(jnp.isfinite(w_new))

        w, _, done = jax.lax.while_loop(cond, body, (jnp.asarray(start, dtype), 0, False))
        return jnp.where(done & jnp.all(jnp.isfinite(w)), w, jnp.nan)

    @jax.custom_vjp
    def solution(*params):
        return newton(params)[:zshape[0]]

    def fwd(*params):
        w = newton(params)
        return w[:zshape[0]], (params, w)

    def bwd(kept, zbar):
        params, w = kept
        env = env_of(params, w)
        rhs = jnp.vstack([zbar, jnp.zeros((width - zshape[0], 1), zbar.dtype)])   # [z̄; λ̄ = 0]
        adj = jnp.linalg.solve(evaluate(jac, env, jnp).T, rhs)   # λ = F_z⁻ᵀ z̄ ([u; v] = K⁻ᵀ ...)
        env.update(zip(adjoints, split(adj)))
        return tuple(jnp.broadcast_to(jnp.asarray(evaluate(grads[p], env, jnp), w.dtype), s)
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
