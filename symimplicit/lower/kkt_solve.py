"""A float64 solver for small dense inequality-constrained problems, and the checks at its solution.

    min f(x, θ)  subject to  g(x, θ) = 0,  h(x, θ) ≤ 0

Everything numeric comes from one compiled residual (:class:`~symimplicit.lower.kkt_system.FullKKT`:
the KKT system with *every* inequality written as an equality, z = (x, λ, μ)): its value F(z) = [∇ₓL ; g ; h] and Jacobian
J = [[∇²ₓL, Jgᵀ, Jhᵀ], [Jg, 0, 0], [Jh, 0, 0]] hold every piece a primal-dual method needs,
and the rows and columns of an active set A are the reduced KKT system of
:mod:`symimplicit.active_set`.  Nothing here differentiates anything.

The method (Pro: robust from any start, exact at the end; Contra: dense, O((n+m+q)³) a step):

1. a primal-dual interior point (:mod:`symimplicit.lower.interior_point`) until the gap is
   ~1e-11; skipped when a previous active set is given (warm start);
2. an active-set Newton polish: the active set A = {i : sᵢ < μᵢ}; the project's
   :class:`~symimplicit.lower.solvers.VectorNewton` solves F_A(z) = 0 to machine precision;
   an active μᵢ < 0 leaves A, a violated inactive hⱼ > 0 joins it, and the polish repeats
   (primal-dual active-set steps) until the signs are right;
3. the checks: LICQ (the rows of [Jg; Jh_A] independent), strict complementarity
   (weakly active constraints are reported), second-order sufficiency on the null space
   of [Jg; Jh_A].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from symimplicit.errors import ConstraintQualificationError, ConvergenceError, NotAMinimumError
from symimplicit.lower.interior_point import _infeasible, interior_point
from symimplicit.lower.kkt_system import FullKKT, _evaluate, _inf, _Reduced, _where
from symimplicit.lower.solvers import VectorNewton, smallest_curvature

__all__ = ["FullKKT", "KKTPoint", "solve_kkt", "WEAK", "LICQ_COND"]

WEAK = 1e-12           # |μᵢ| and |hᵢ| below WEAK·scale together: weakly active (no derivative);
                       # also the sign tests of the polish (1e-9 once let h = +2e-9 stand: an
                       # infeasible x returned 1e-9 off, where float64 tells the side clearly)
LICQ_COND = 1e12       # cond([Jg; Jh_A]) above this: the active gradients are dependent


@dataclass
class KKTPoint:
    """A checked solution: ``z`` = (x, λ, μ) (inactive μ = 0), ``active`` (indices),
    ``weak`` (weakly active: zero multiplier at zero slack), ``jacobian`` (the reduced KKT
    Jacobian), ``iterations``."""

    z: np.ndarray
    active: tuple
    weak: tuple
    jacobian: np.ndarray
    iterations: int


def _check_licq(kkt, z, theta, active) -> None:
    """LICQ: the rows of [Jg; Jh_A] are independent (cond below LICQ_COND)."""
    n, m = kkt.n, kkt.m
    rows = list(range(n, n + m)) + [n + m + i for i in active]
    if not rows:
        return
    _, J = kkt.fj(z, theta)
    A = J[rows, :n]
    sv = np.linalg.svd(A, compute_uv=False) if len(rows) <= n else np.zeros(1)
    if len(rows) > n or not sv[-1] * LICQ_COND > sv[0]:
        names = [str(c) for c in kkt.statement.constraints] + \
            [kkt.constraint_text(i) for i in active]
        raise ConstraintQualificationError(
            f"LICQ fails at {_where(kkt, z, theta)}: the gradients of the active constraints "
            f"{', '.join(names)} are linearly dependent (cond = "
            f"{(sv[0] / sv[-1]) if len(rows) <= n and sv[-1] else math.inf:.3g}); the "
            "multipliers are not unique and the derivative of the KKT system does not exist",
            constraints=names, point=kkt.point(z, theta), value=A)


def polish(kkt, z, theta, active, tol=None, max_iter=None, rounds=None):
    """Active-set Newton: (z, active, iterations) with right signs (μ_A ≥ 0, h_inactive ≤ 0),
    in at most ``rounds`` active sets (default 2q + 4)."""
    n, m, q = kkt.n, kkt.m, kkt.q
    active = set(active)
    seen = set()
    iterations = 0
    for _ in range(2 * q + 4 if rounds is None else rounds):
        key = tuple(sorted(active))
        if key in seen:
            break
        seen.add(key)
        _check_licq(kkt, z, theta, key)
        system = _Reduced(kkt, key)
        zr = z[system.idx]
        sol = VectorNewton(system, tol=tol, max_iter=max_iter).solve(zr, theta)
        iterations += sol.iterations
        z = system.full(sol.z)
        F, J = _evaluate(kkt, z, theta)
        mu, h = z[n + m:], F[n + m:]
        mu_scale, h_scale = _scales(F, J, z, n, m)
        negative = [i for i in key if mu[i] < -WEAK * mu_scale[i]]
        violated = [j for j in range(q) if j not in active and h[j] > WEAK * h_scale[j]]
        if not negative and not violated:
            return z, key, iterations
        if negative:                                                   # drop the most negative μ
            active.discard(min(negative, key=lambda i: mu[i] / mu_scale[i]))
        if violated:                                                   # add the most violated h
            active.add(max(violated, key=lambda j: h[j] / h_scale[j]))
    raise ConvergenceError(f"the active-set iteration cycles (last active set "
                           f"{[kkt.constraint_text(i) for i in sorted(active)]}) at "
                           f"{_where(kkt, z, theta)}", point=kkt.point(z, theta))


def _scales(F, J, z, n, m):
    """Per inequality: the size μᵢ is compared with, (1 + |∇f|)/|∇hᵢ|, and that of hᵢ,
    |∇hᵢ|·(1 + |x|)."""
    grad_h = np.abs(J[n + m:, :n]).max(axis=1) if J.shape[0] > n + m else np.zeros(0)
    grad_f = _inf(F[:n] - J[:n, n:] @ z[n:])
    x_size = 1.0 + _inf(z[:n])
    safe = np.where(grad_h > 0, grad_h, 1.0)
    return (1.0 + grad_f) / safe, safe * x_size


WARM_ROUNDS = 3        # a warm start that needs more active sets than this: solve cold instead


def solve_kkt(kkt: FullKKT, x0, theta, *, active=None, z0=None, tol=None,
              max_iter=None) -> KKTPoint:
    """Solve and check; ``active`` + ``z0``: start the polish there (warm start, no interior
    point, at most WARM_ROUNDS active sets)."""
    n, m, q = kkt.n, kkt.m, kkt.q
    iterations = 0
    if active is None:
        if q:
            z, s, iterations = interior_point(kkt, np.asarray(x0, dtype=float), theta)
            active = tuple(i for i in range(q) if s[i] < z[n + m + i])  # slack below multiplier
        else:
            z = np.zeros(kkt.size)
            z[:n] = x0
            F, J = _evaluate(kkt, z, theta)
            if m:                                                      # ∇f + Jgᵀλ = 0, least squares
                z[n:] = np.linalg.lstsq(J[:n, n:], -F[:n], rcond=None)[0]
            active = ()
    else:
        z = np.array(z0, dtype=float)
    rounds = WARM_ROUNDS if z0 is not None else None
    z, active, more = polish(kkt, z, theta, active, tol, max_iter, rounds)
    if kkt.bounds:                                                    # active bounds hold exactly
        for (i, k), b in zip(kkt.bounds.items(), kkt.bound_values(theta)):
            if i in active:
                z[k] = b
    F, J = _evaluate(kkt, z, theta)
    if m and _inf(F[n:n + m]) > 1e-8 * (1.0 + _inf(z[:n])):
        raise _infeasible(kkt, z, theta)
    idx = kkt.indices(active)
    K = J[np.ix_(idx, idx)]
    mu_scale, h_scale = _scales(F, J, z, n, m)
    mu, h = z[n + m:], F[n + m:]
    weak = tuple(i for i in range(q) if abs(mu[i]) <= WEAK * mu_scale[i]
                 and abs(h[i]) <= WEAK * h_scale[i])
    _check_second_order(kkt, K, z, theta, active, weak)
    return KKTPoint(z, tuple(active), weak, K, iterations + more)


def _check_second_order(kkt, K, z, theta, active, weak) -> None:
    """∇²L positive definite on the null space of [Jg; Jh_A] (the critical cone under strict
    complementarity; with weakly active constraints a subset of it is enough, and this is the
    sufficient condition on the larger space)."""
    n = kkt.n
    strict = [i for i in active if i not in weak]
    if kkt.m + len(strict) >= n:
        return                                                         # the cone is {0}
    idx = kkt.indices(strict)
    Ks = K if len(strict) == len(active) else kkt.fj(z, theta)[1][np.ix_(idx, idx)]
    low = float(smallest_curvature(Ks, n))
    if not low > 0.0:
        kind = "a saddle or maximum" if low < 0 else "degenerate"
        raise NotAMinimumError(f"the KKT point is {kind}: the smallest eigenvalue of the Hessian "
                               f"of the Lagrangian on the critical cone is {low:.6g}, at "
                               f"{_where(kkt, z, theta)} (another start x0 may reach a minimum)",
                               point=kkt.point(z, theta))
