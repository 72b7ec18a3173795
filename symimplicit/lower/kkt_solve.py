"""A float64 solver for small dense inequality-constrained problems, and the checks at its solution.

    min f(x, θ)  subject to  g(x, θ) = 0,  h(x, θ) ≤ 0

Everything numeric comes from one compiled residual (:func:`compile_statement` of the
:class:`~symimplicit.statements.Root` of the KKT system with *every* inequality written as an
equality, z = (x, λ, μ)): its value F(z) = [∇ₓL ; g ; h] and Jacobian
J = [[∇²ₓL, Jgᵀ, Jhᵀ], [Jg, 0, 0], [Jh, 0, 0]] hold every piece a primal-dual method needs,
and the rows and columns of an active set A are the reduced KKT system of
:mod:`symimplicit.active_set`.  Nothing here differentiates anything.

The method (Pro: robust from any start, exact at the end; Contra: dense, O((n+m+q)³) a step):

1. a primal-dual interior point (slacks s = -h > 0, μ > 0, Newton on the perturbed KKT
   conditions μᵢsᵢ = σ·gap with a fraction-to-boundary step) until the gap is ~1e-10;
   skipped when a previous active set is given (warm start);
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

from symimplicit.errors import (ConstraintQualificationError, ConvergenceError, DomainError,
                                InfeasibleError, NonFiniteError, NotAMinimumError,
                                UnboundedError)
from symimplicit.lower.compiled import compile_statement
from symimplicit.lower.solvers import VectorNewton, smallest_curvature

__all__ = ["FullKKT", "KKTPoint", "solve_kkt", "WEAK", "LICQ_COND"]

WEAK = 1e-9            # |μᵢ| and |hᵢ| below WEAK·scale together: weakly active (no derivative)
LICQ_COND = 1e12       # cond([Jg; Jh_A]) above this: the active gradients are dependent
GAP = 1e-11            # interior point: stop at a complementarity gap this small (relative)
SIGMA = 0.1            # interior point: centring, the gap shrinks ~10× a step
BOUNDARY = 0.995       # fraction-to-the-boundary rule: s, μ stay > 0
MAX_IPM = 200
HUGE = 1e12            # ‖x‖ beyond this × (1 + ‖x₀‖): unbounded; ‖μ‖ beyond it: infeasible


class FullKKT:
    """The compiled KKT residual of a statement with every inequality as an equality."""

    def __init__(self, statement):
        from symimplicit.active_set import kkt_residual
        from symimplicit.statements import Root
        st = self.statement = statement
        self.n, self.m, self.q = len(st.unknowns), len(st.multipliers), len(st.inequalities)
        F, z = kkt_residual(st, tuple(range(self.q)))
        self.root = Root(list(F) if len(z) > 1 else F[0], list(z) if len(z) > 1 else z[0],
                         st.params)
        self.c = compile_statement(self.root)
        lowered = self.c.numpy()
        self._fjn, self._ftheta = lowered.fjn.generated, lowered.ftheta.generated
        self.bounds, self._bound_values = _bounds(st)
        self.size = len(z)
        self.names = [str(s) for s in z]

    def bound_values(self, theta) -> list:
        """The values of the simple bounds xₖ ≤ u(θ) / xₖ ≥ l(θ), in ``self.bounds`` order."""
        return [float(v) for v in self._bound_values(*theta)] if self.bounds else []

    # The NumPy lowering of the same expressions (one call: F, J and N(F) with shared CSE),
    # called unbroadcast (``.generated``) on scalars: on the 20-unknown QP of benchmarks/qp.py
    # 0.16 ms a call, against 1.6 ms for compiled.fj (its per-entry checks) and 2.7 ms
    # broadcast.  A non-finite value from finite inputs is a DomainError.
    def _numpy(self, z, theta):
        with np.errstate(all="ignore"):
            out = np.array(self._fjn(*z, *theta), dtype=float)
        if not np.all(np.isfinite(out[:self.size * (self.size + 1)])):
            raise DomainError(f"the KKT residual or its Jacobian is not finite (outside the "
                              f"domain) at {_where(self, z, theta)}", point=self.point(z, theta))
        return out

    def fj(self, z, theta):
        k = self.size
        out = self._numpy(z, theta)
        return out[:k], out[k:k + k * k].reshape(k, k)

    def fjn(self, z, theta):
        k = self.size
        out = self._numpy(z, theta)
        noise = out[k + k * k:]
        return out[:k], out[k:k + k * k].reshape(k, k), np.where(np.isfinite(noise), noise, np.nan)

    def param_jacobian(self, z, theta):
        with np.errstate(all="ignore"):
            out = np.array(self._ftheta(*z, *theta), dtype=float)
        return out.reshape(self.size, len(theta))

    def point(self, z, theta) -> dict:
        return self.c.point(z, theta)

    def indices(self, active) -> np.ndarray:
        """Rows/columns of the reduced system of ``active``: x, λ, then μ_A (h_A rows)."""
        n, m = self.n, self.m
        return np.array(list(range(n + m)) + [n + m + i for i in active], dtype=int)

    def constraint_text(self, i: int) -> str:
        c = self.statement.inequalities[i]
        return f"[{i}] {c.source}"


def _bounds(statement):
    """{inequality index: unknown index} of the simple bounds h = ±(xₖ - b(θ)), and one callable
    for their b(θ) (an active bound then holds exactly: xₖ = b, not b plus a rounding step)."""
    from symimplicit.lower.codegen import lambdify_many
    found, values = {}, []
    x = statement.unknowns
    for c in statement.inequalities:
        hit = [k for k, v in enumerate(x) if c.h.has(v)]
        if len(hit) == 1:
            slope = c.h.diff(x[hit[0]])
            if slope in (1, -1):
                found[c.index] = hit[0]
                values.append(x[hit[0]] - c.h / slope)                 # h = ±(xₖ - b): b = xₖ ∓ h
    fn = lambdify_many(values, statement.params) if values else None
    return found, fn


class _Reduced:
    """The reduced KKT system of one active set as a system for VectorNewton (inactive μ = 0)."""

    def __init__(self, kkt: FullKKT, active):
        self.kkt, self.idx = kkt, kkt.indices(active)

    def full(self, zr):
        z = np.zeros(self.kkt.size)
        z[self.idx] = zr
        return z

    def fjn(self, zr, theta):
        F, J, N = self.kkt.fjn(self.full(zr), theta)
        idx = self.idx
        return F[idx], J[np.ix_(idx, idx)], N[idx]

    def point(self, zr, theta):
        return self.kkt.point(self.full(zr), theta)


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


def _inf(v) -> float:
    return float(np.max(np.abs(v))) if len(v) else 0.0


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


def _evaluate(kkt, z, theta):
    F, J = kkt.fj(z, theta)
    if not (np.all(np.isfinite(F)) and np.all(np.isfinite(J))):
        raise NonFiniteError(f"the KKT residual is not finite at {_where(kkt, z, theta)}",
                             point=kkt.point(z, theta))
    return F, J


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


def _where(kkt, z, theta, upto=None) -> str:
    pt = kkt.point(z, theta)
    names = kkt.names[:upto] if upto is not None else kkt.names[:kkt.n]
    keep = set(names) | {str(p) for p in kkt.statement.params}
    return ", ".join(f"{k}={v:.6g}" for k, v in pt.items() if k in keep)


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
