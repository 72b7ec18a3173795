"""A primal-dual interior point method for min f s.t. g = 0, h ≤ 0 (small, dense).

Pro: starts anywhere (infeasible starts too), finds the active set without guessing it;
Contra: O((n + m + 2q)³) a step, and it stops at a gap of ~1e-11: the active-set polish of
:mod:`symimplicit.lower.kkt_solve` makes the answer exact.

Slacks s = -h > 0 and multipliers μ > 0; each step is Newton on

    ∇L = 0,  g = 0,  h + s = 0,  μᵢsᵢ = σ·gap          (gap = μᵀs/q, σ = SIGMA)

with ∇²L shifted until it is positive definite on null(Jg) (inertia correction: a descent
step, not a climb to a saddle), a fraction-to-the-boundary step length, and halving where the
residual leaves its domain.  Iterates that run off along feasible points are an
:class:`~symimplicit.errors.UnboundedError`; multipliers that blow up or steps that vanish
while the constraints stay violated, an :class:`~symimplicit.errors.InfeasibleError`.
"""
from __future__ import annotations

import numpy as np

from symimplicit.errors import (ConvergenceError, DomainError, InfeasibleError, NonFiniteError,
                                UnboundedError)
from symimplicit.lower.kkt_system import FullKKT, _evaluate, _inf, _where
from symimplicit.lower.solvers import smallest_curvature

__all__ = ["interior_point"]

GAP = 1e-11            # stop at a complementarity gap this small (relative)
SIGMA = 0.1            # centring: the gap shrinks ~10× a step
BOUNDARY = 0.995       # fraction-to-the-boundary rule: s, μ stay > 0
MAX_IPM = 200
HUGE = 1e12            # ‖x‖ beyond this × (1 + ‖x₀‖): unbounded; ‖μ‖ beyond it: infeasible


def interior_point(kkt: FullKKT, x0, theta, max_iter: int = MAX_IPM):
    """Primal-dual interior point iterates until the gap is ~GAP; (z, s, iterations)."""
    n, m, q = kkt.n, kkt.m, kkt.q
    z = np.zeros(kkt.size)
    z[:n] = x0
    F, J = _evaluate(kkt, z, theta)
    mu = np.ones(q)
    s = np.maximum(-F[n + m:], 1.0)
    z[n + m:] = mu
    size0 = 1.0 + _inf(x0)
    alpha = 1.0
    F, J = _evaluate(kkt, z, theta)                                   # at the start's μ
    for k in range(1, max_iter + 1):
        mu = z[n + m:]
        r_d, r_g, r_h = F[:n], F[n:n + m], F[n + m:] + s               # ∇L, g, h + s
        gap = float(mu @ s) / q
        scale = 1.0 + _inf(F[:n] - J[:n, n:] @ z[n:])                  # |∇f|
        if gap <= GAP * scale and _inf(r_d) <= 1e-9 * scale and \
                max(_inf(r_g), _inf(r_h)) <= 1e-9 * size0:
            return z, s, k
        if _inf(z[:n]) > HUGE * size0 or _inf(mu) > HUGE * scale or (k > 30 and alpha < 1e-10):
            raise _failure(kkt, z, theta, size0, k)
        tau = SIGMA * gap
        K = np.zeros((kkt.size + q, kkt.size + q))
        N = kkt.size
        K[:N, :N] = J
        K[n + m:N, N:] = np.eye(q)                                     # Jh Δx + Δs
        K[N:, n + m:N] = np.diag(s)                                    # S Δμ + M Δs
        K[N:, N:] = np.diag(mu)
        rhs = -np.concatenate([r_d, r_g, r_h, mu * s - tau])
        K[:n, :n] += _inertia_shift(J, mu / s, n, m) * np.eye(n)
        step = _solve(K, rhs, n)
        dz, ds = step[:N], step[N:]
        alpha = min(1.0, _to_boundary(s, ds), _to_boundary(mu, dz[n + m:]))
        for _ in range(60):                                            # stay in the domain
            try:
                F, J = _evaluate(kkt, z + alpha * dz, theta)           # the next iteration's
                break
            except (DomainError, NonFiniteError):
                alpha *= 0.5
        else:
            raise DomainError(f"every interior point step from {_where(kkt, z, theta)} leaves "
                              "the domain of the residual", point=kkt.point(z, theta))
        z, s = z + alpha * dz, s + alpha * ds
    raise _failure(kkt, z, theta, size0, max_iter)


def _failure(kkt, z, theta, size0, iterations):
    """Why the interior point method stopped: iterates far out on a feasible path (unbounded),
    constraints it cannot satisfy (infeasible), or neither (no convergence)."""
    n, m = kkt.n, kkt.m
    F, _ = kkt.fj(z, theta)
    violation = max(_inf(F[n:n + m]), _inf(np.maximum(F[n + m:], 0.0)))
    far = _inf(z[:n])
    if far > 1e6 * size0 and violation <= 1e-6 * (1.0 + far):
        return UnboundedError(f"the iterates run off to ‖x‖ = {far:.3g} along feasible points: "
                              "the objective seems unbounded below on the feasible set "
                              f"({_where(kkt, z, theta)})", point=kkt.point(z, theta))
    if violation > 1e-6 * size0:
        return _infeasible(kkt, z, theta)
    return ConvergenceError(f"the interior point method did not converge in {iterations} "
                            f"iterations at {_where(kkt, z, theta)}", iterations=iterations,
                            point=kkt.point(z, theta))


def _inertia_shift(J, weights, n, m) -> float:
    """δ ≥ 0 making ∇²L + Jhᵀ diag(μ/s) Jh + δI positive definite on null(Jg): the step is
    then a descent direction of the barrier problem, not a climb to a saddle or maximum."""
    H = J[:n, :n] + J[n + m:, :n].T @ (weights[:, None] * J[n + m:, :n])
    K = np.zeros((n + m, n + m))
    K[:n, :n], K[:n, n:], K[n:, :n] = H, J[:n, n:n + m], J[n:n + m, :n]
    if m >= n:
        return 0.0
    low = float(smallest_curvature(K, n))
    return 0.0 if low > 0.0 else 1e-8 * (1.0 + np.abs(J[:n, :n]).max()) - low


def _solve(K, rhs, n):
    try:
        out = np.linalg.solve(K, rhs)
        if np.all(np.isfinite(out)):
            return out
    except np.linalg.LinAlgError:
        pass
    reg = K.copy()                                                     # ∇²L + δI: a singular or
    reg[:n, :n] += 1e-8 * (1.0 + np.abs(K[:n, :n]).max()) * np.eye(n)  # indefinite Hessian
    return np.linalg.lstsq(reg, rhs, rcond=None)[0]


def _to_boundary(v, dv) -> float:
    """The largest α ≤ 1 with v + α dv ≥ (1 - BOUNDARY) v."""
    neg = dv < 0
    return float(min(1.0, np.min(-BOUNDARY * v[neg] / dv[neg]))) if neg.any() else 1.0


def _infeasible(kkt, z, theta) -> InfeasibleError:
    n, m = kkt.n, kkt.m
    F, _ = kkt.fj(z, theta)
    viol = np.concatenate([np.abs(F[n:n + m]), np.maximum(F[n + m:], 0.0)])
    k = int(np.argmax(viol)) if len(viol) else 0
    st = kkt.statement
    if k < m:
        what = f"the equality constraint {st.constraints[k]} = 0"
        constraint = st.constraints[k]
    else:
        what = f"the inequality {kkt.constraint_text(k - m)}"
        constraint = st.inequalities[k - m].source
    return InfeasibleError(f"no feasible point found: the constraints seem inconsistent; at the "
                           f"least infeasible point found, {_where(kkt, z, theta, n)}, {what} is "
                           f"violated by {viol[k]:.3g}", constraint=constraint,
                           point=kkt.point(z, theta))
