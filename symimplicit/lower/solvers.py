"""Float64 solvers for F(z, θ) = 0, each a small class; a name -> solver table; a thin driver.

Modelled on mpmath's ``calculus/optimization.py``.  A solver receives a
*system*, an object with

* ``fdfn(x, theta) -> (F, F_x, N)``       scalar unknown (floats),
* ``fjn(z, theta) -> (F, J, N)``          vector unknowns (NumPy arrays),
* ``fmapn(z, theta) -> (f, N)``           fixed points only: the map x ↦ f(x, θ),
* ``point(z, theta) -> dict``             names -> values, for error messages,

where N is the rounding-noise scale of each residual component (a float64
evaluation of F is off by about ε·N; :mod:`symimplicit.lower.rounding`) and each
evaluation raises :class:`~symimplicit.errors.DomainError` outside the
residual's domain.  The Jacobians come from SymPy (see ``compiled.py``);
nothing here differentiates anything.

The stopping rule (one place, :func:`small_step` / :func:`at_floor` /
:func:`stagnated`, shared by every solver and by the NumPy sweep): an iterate
has converged "to machine precision" when

    |Δz| ≤ tol·max(|z|, tiny)          the step is a few ulps (tol: 4 ulps by default), or
    |Fᵢ| ≤ 2ε·N(Fᵢ) for every i        the residual is at its rounding floor;

Newton then returns z + Δz (as accurate as z, quadratically better when F was
not yet pure noise).  The floor test is what ends an ill-conditioned solve: there
|Δz| = |F/F_x| ≈ κ·ε stays above a few ulps for ever, but the residual of the
float64 solution is rounding noise like that of any other.  When no damped step
decreases the residual (the line search reaches the rounding of z itself) and
|Fᵢ| ≤ 32ε·N(Fᵢ), the residual has stagnated in its noise: the iterate is
accepted too.  Anything else, after ``max_iter`` iterations, raises
:class:`~symimplicit.errors.ConvergenceError` naming the iterations, the last
residual and the point.
"""
from __future__ import annotations

import math

import numpy as np

from symimplicit.errors import ConvergenceError, DomainError, SingularJacobianError, StatementError
from symimplicit.lower.checks import SINGULAR_COND, singular_derivative  # noqa: F401 (re-exported)
from symimplicit.lower.options import check_bracket
from symimplicit.lower.lu import PlainLU, ScaledLU, SingularLU, power_of_two_scale

__all__ = ["Solution", "ScalarNewton", "VectorNewton", "BatchNewton", "FixedPointIteration", "Anderson", "AffineSolve",
           "SOLVERS", "solver_class", "DEFAULT_TOL", "small_step", "at_floor", "stagnated",
           "singular_derivative", "smallest_curvature", "factorise", "solve_with",
           "solve_transposed", "find_bracket", "row_scales"]

EPS = 2.0 ** -52
TINY = 2.0 ** -1022            # smallest normal: the step test near z = 0
INF = math.inf
DEFAULT_TOL = 4 * EPS          # a step below 4 ulps of the iterate: converged
FLOOR = 2 * EPS                # |F| ≤ 2ε·N(F): the residual is at its rounding floor
STAGNATION = 32 * EPS          # no descent and |F| ≤ 32ε·N(F): stagnated in rounding noise
NOISE_FROM = 0.05              # vector Newton evaluates N(F) once the relative step is below this
MAX_HALVINGS = 40              # backtracking line search: at most 2⁻⁴⁰ of the Newton step
CHORD_CONTRACTION = 0.1        # a step with a reused LU is kept if ‖D_r F‖∞ shrinks this much
NOISE_SLACK = 2.0              # N(F) moves less than this factor over steps below NOISE_FROM


# --------------------------------------------------------------------------- #
# the stopping rule: floats (one point) or arrays (a sweep), same code        #
# --------------------------------------------------------------------------- #

def small_step(step, size, tol):
    """|Δz| ≤ tol·max(|z|, tiny)  (``size`` = |z|)."""
    return step <= tol * (size + TINY)


def at_floor(residual, noise):
    """|F| ≤ 2ε·N(F): nothing smaller can be certified in float64 (N NaN or ∞: no information)."""
    return (residual <= FLOOR * noise) & (noise < INF)


def stagnated(residual, noise):
    """|F| ≤ 32ε·N(F): where a residual that no step decreases is accepted as rounding noise."""
    return (residual <= STAGNATION * noise) & (noise < INF)


def smallest_curvature(J, n_user: int):
    """The smallest eigenvalue of ∇²ₓL on the null space of the constraints' Jacobian Jg (all of
    ℝⁿ without constraints), from the KKT Jacobian J = [[∇²ₓL, Jgᵀ], [Jg, 0]]: (n, n) or batched
    (..., n, n).  A minimum needs it > 0."""
    H = J[..., :n_user, :n_user]                                     # ∇²ₓL
    m = J.shape[-1] - n_user
    if m:
        Z = np.swapaxes(np.linalg.svd(J[..., n_user:, :n_user])[2][..., m:, :], -1, -2)  # null(Jg)
        H = np.swapaxes(Z, -1, -2) @ H @ Z                           # reduced Hessian Zᵀ∇²L Z
    return np.linalg.eigvalsh(H).min(axis=-1)


# --------------------------------------------------------------------------- #
# one factorisation of ∂F/∂z per solution, reused by the backward pass       #
# --------------------------------------------------------------------------- #

def factorise(J) -> ScaledLU:
    """∂F/∂z factorised once at a solution (:class:`~symimplicit.lower.lu.ScaledLU`: the LU of
    the equilibrated matrix with its condition estimate; the matrix itself without SciPy)."""
    return ScaledLU(J)


def solve_with(fact: ScaledLU, b, transposed=False):
    """J x = b (or Jᵀ x = b) with the factorisation of :func:`factorise`."""
    return fact.solve_transposed(b) if transposed else fact.solve(b)


def solve_transposed(fact: ScaledLU, b):
    """λ = J⁻ᵀ b: the adjoint solve of the backward pass, with the forward's factorisation."""
    return fact.solve_transposed(b)


class Solution:
    """What a solver found: ``z`` (float, or ndarray), ``iterations``, ``residual`` (|F| or ‖F‖∞),
    ``jacobian`` (F_x, or J, at or one rounding-sized step from ``z``), ``multiple`` (Newton
    converged linearly: the root is multiple, ∂F/∂x vanishes there), ``noise`` (N(F) at the
    last iterate where it was evaluated, a few steps below NOISE_FROM from ``z``; None if it
    was not)."""

    __slots__ = ("z", "iterations", "residual", "jacobian", "multiple", "noise")

    def __init__(self, z, iterations, residual, jacobian, multiple=False, noise=None):
        self.z = z
        self.iterations = iterations
        self.residual = residual
        self.jacobian = jacobian
        self.multiple = multiple
        self.noise = noise


def _linear(steps: list) -> bool:
    """The last Newton steps shrink by a constant factor (½ at a double root), not quadratically."""
    if len(steps) < 3:
        return False
    tail = steps[-5:]                                                # rounding may spoil the last step
    shrinking = [0.4 * s1 <= s2 <= 0.75 * s1 for s1, s2 in zip(tail, tail[1:])]
    return any(r1 and r2 for r1, r2 in zip(shrinking, shrinking[1:]))


class _Solver:
    """Shared options: ``tol`` (relative step), ``max_iter``."""

    name = ""
    default_max_iter = 100

    def __init__(self, system, tol: float | None = None, max_iter: int | None = None):
        self.system = system
        self.tol = DEFAULT_TOL if tol is None else float(tol)
        self.max_iter = self.default_max_iter if max_iter is None else int(max_iter)

    def _fail(self, why: str, z, theta, iterations: int, residual: float) -> ConvergenceError:
        point = self.system.point(z, theta)
        shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
        return ConvergenceError(f"{self.name}: {why} after {iterations} iteration(s); last residual "
                                f"{residual:.3g} at {shown}", iterations=iterations,
                                residual=residual, point=point)


# --------------------------------------------------------------------------- #
# scalar unknown                                                               #
# --------------------------------------------------------------------------- #

class ScalarNewton(_Solver):
    """Safeguarded Newton for one unknown: x ← x - F/F_x.

    Without a bracket the step is damped by backtracking until |F| decreases
    (a point outside the domain counts as a rejected trial).  With a bracket
    [lo, hi] (F changing sign) it is Newton-bisection: a Newton step leaving the
    bracket is replaced by bisection.  Stopping: the module's rule.
    """

    name = "newton"

    def solve(self, x0: float, theta: tuple, bracket=None) -> Solution:
        if bracket is not None:
            return self._bracketed(x0, theta, bracket)
        fdfn, tol = self.system.fdfn, self.tol
        x = float(x0)
        F, dF, N = fdfn(x, theta)
        steps = []
        for k in range(1, self.max_iter + 1):
            if F == 0.0:
                return Solution(x, k - 1, 0.0, dF, _linear(steps))
            size = abs(F)
            floor = at_floor(size, N)
            if dF == 0.0 or not math.isfinite(dF):
                if floor:                                            # a root where F_x vanishes:
                    return Solution(x, k - 1, size, dF)              # the caller's singular check
                raise self._fail(f"∂F/∂x = {dF} at an iterate", x, theta, k - 1, size)
            dx = -F / dF                                             # Newton: Δx = -F/F_x
            steps.append(abs(dx))
            if floor or small_step(abs(dx), abs(x), tol):
                return Solution(x + dx, k, size, dF, _linear(steps))
            step = self._backtrack(x, dx, size, theta)
            if step is None:                                         # no decrease possible
                if stagnated(size, N):
                    return Solution(x, k, size, dF, _linear(steps[:-1]))   # F's rounding noise
                raise self._fail("the residual stopped decreasing", x, theta, k, size)
            x, F, dF, N = step
        if F == 0.0:
            return Solution(x, self.max_iter, 0.0, dF, _linear(steps))
        if _linear(steps) and steps[-1] <= 1e-6 * steps[0]:
            # still closing in, by a constant factor: a multiple root, where F_x → 0 (the
            # caller's singular check reports it; more iterations would not make it simple)
            return Solution(x, self.max_iter, abs(F), dF, True)
        raise self._fail(f"no convergence to tol={tol:.3g}", x, theta, self.max_iter, abs(F))

    def _backtrack(self, x, dx, size, theta):
        """x + t Δx for t = 1, 1/2, ... until |F| < |F(x)|; None when none does (before t Δx
        vanishes in the rounding of x)."""
        fdfn = self.system.fdfn
        t = 1.0
        for _ in range(MAX_HALVINGS):
            xn = x + t * dx
            if xn == x:
                return None
            try:
                Fn, dFn, Nn = fdfn(xn, theta)
            except DomainError:
                Fn = math.inf                                        # outside the domain: reject
            if abs(Fn) < size:                                       # NaN compares False: rejected
                return xn, Fn, dFn, Nn
            t *= 0.5
        return None

    def _bracketed(self, x0, theta, bracket) -> Solution:
        fdfn, tol = self.system.fdfn, self.tol
        lo, hi = check_bracket(bracket, False, self.name)
        Flo, dFlo, _ = fdfn(lo, theta)
        Fhi, dFhi, _ = fdfn(hi, theta)
        if Flo == 0.0:
            return Solution(lo, 0, 0.0, dFlo)
        if Fhi == 0.0:
            return Solution(hi, 0, 0.0, dFhi)
        if (Flo > 0) == (Fhi > 0):
            raise self._fail(f"F has the same sign at both ends of the bracket [{lo!r}, {hi!r}] "
                             f"(F = {Flo:.3g}, {Fhi:.3g})", lo, theta, 0, min(abs(Flo), abs(Fhi)))
        rising = Fhi > 0
        x = float(x0) if x0 is not None and lo < x0 < hi else 0.5 * (lo + hi)
        F, dF, N = fdfn(x, theta)
        for k in range(1, self.max_iter + 1):
            if F == 0.0:
                return Solution(x, k - 1, 0.0, dF)
            if (F > 0) == rising:                                    # keep F(lo) F(hi) < 0
                hi = x
            else:
                lo = x
            dx = -F / dF if dF != 0.0 else math.inf                  # Newton: Δx = -F/F_x
            xn = x + dx
            newton = lo < xn < hi
            if not newton:
                xn = 0.5 * (lo + hi)                                 # bisection
                dx = xn - x
            if at_floor(abs(F), N):
                return Solution(xn if newton else x, k, abs(F), dF)
            if small_step(abs(dx), abs(x), tol) or hi - lo <= tol * max(abs(lo), abs(hi)):
                return Solution(xn, k, abs(F), dF)
            x = xn
            F, dF, N = fdfn(x, theta)
        raise self._fail(f"no convergence to tol={tol:.3g} in the bracket [{lo!r}, {hi!r}]",
                         x, theta, self.max_iter, abs(F))


def find_bracket(system, x0: float, theta: tuple, max_doublings: int = 1100):
    """(lo, hi) with F(lo) F(hi) < 0, searched outwards from x0: x0 ± h·2ᵏ, h = 2⁻¹⁰·max(|x0|, 1).

    The fallback of a scalar cold solve that Newton from x0 misses (x³ - 4.8e-7 x - 3.5e7 from
    0; x = cos(ax + b) where 1 + a sin(ax + b) vanishes): deterministic, nearest sign change to
    x0 first (the right side before the left at equal distance).  None when there is none
    within float64 range; points outside F's domain are skipped."""
    def sign_at(v):
        try:
            F = system.fdfn(v, theta)[0]
        except DomainError:
            return None
        return None if not math.isfinite(F) else (F > 0) - (F < 0)

    s0 = sign_at(x0)
    if s0 is None or s0 == 0:
        return None
    h = max(abs(x0), 1.0) * 2.0 ** -10
    inner = {1: x0, -1: x0}
    for _ in range(max_doublings):
        for side in (1, -1):
            v = x0 + side * h
            if not math.isfinite(v):
                return None
            s = sign_at(v)
            if s is not None and s != s0:
                return (inner[side], v) if side > 0 else (v, inner[side])
            if s is not None:
                inner[side] = v
        h *= 2.0
    return None


# --------------------------------------------------------------------------- #
# vector unknowns                                                              #
# --------------------------------------------------------------------------- #

def _norm(v) -> float:
    """‖v‖∞ (NaN if an entry is NaN)."""
    return float(np.abs(v).max()) if len(v) else 0.0


def row_scales(J):
    """Powers of two making each row of J (..., n, n) have largest entry ≈ 1 (1 for a zero
    or non-finite row): the line search's merit ‖D_r F‖∞ then weighs every equation in the
    units of its own sensitivity, not in whatever units the user wrote it (a budget in
    currency beside marginal utilities: Cobb-Douglas at prices 630 and 0.73 crawled at
    t = 2⁻⁹ for 100 iterations under ‖F‖∞).  Fixed for a whole solve: one merit function."""
    with np.errstate(all="ignore"):
        return power_of_two_scale(np.abs(J).max(axis=-1))


class VectorNewton(_Solver):
    """Damped Newton for n unknowns: solve J Δz = -F, backtrack until ‖D_r F‖∞ decreases
    (:func:`row_scales`: each equation weighed by its own sensitivity at the start).

    Stopping: the module's rule, the floor test on every component.  N(F) is evaluated only
    where the floor test can matter, once the relative step is below NOISE_FROM (far from a
    root it costs more than F and J together and cannot pass)."""

    name = "newton"

    def solve(self, z0, theta: tuple, bracket=None) -> Solution:
        check_bracket(bracket, True, self.name)                      # a bracket: StatementError
        system, tol = self.system, self.tol
        reuse = getattr(system, "reuse_jacobian", False)            # chord steps (see _chord)
        z = np.array(z0, dtype=float)
        F, J = system.fj(z, theta)
        rows = row_scales(J)                       # the merit ‖D_r F‖∞, D_r fixed from J(z₀)
        if (rows == 1.0).all():
            rows = None                            # (most systems: the merit is ‖F‖∞)
        steps = []
        lu, fresh = None, True                     # the factorised J; fresh: J of this z
        noise = noise_top = None                   # N(F) where it was last evaluated, its max
        for k in range(1, self.max_iter + 1):
            size = _norm(F)
            if size == 0.0:
                return Solution(z, k - 1, 0.0, J, _linear(steps))
            if lu is None:
                lu, fresh = self._factor(J, z, theta, k, size), True
            dz = lu.solve(-F)                                        # J Δz = -F
            step_size, zsize = _norm(dz), _norm(z)
            if small_step(step_size, zsize, tol):
                return Solution(z + dz, k, size, J, _linear(steps + [step_size]), noise=noise)
            if small_step(step_size, zsize, NOISE_FROM) and (            # near: the floor test
                    noise is None or size <= FLOOR * NOISE_SLACK * noise_top):   # (skipped
                noise = system.noise_at(z, theta)                    # while max|F| is above even
                noise_top = float(noise.max())                       # twice the last max N(F))
                if at_floor(np.abs(F), noise).all():
                    return Solution(z + dz, k, size, J, _linear(steps + [step_size]),
                                    noise=noise)
            merit = size if rows is None else _norm(rows * F)
            if not fresh:
                chord = self._chord(z, dz, merit, theta, rows)
                if chord is None:                                    # J refreshed at z: again
                    J, lu = system.jacobian(z, theta), None
                else:
                    steps.append(step_size)
                    z, F = chord
                continue
            steps.append(step_size)
            step = self._backtrack(z, dz, merit, theta, rows, with_jacobian=not reuse)
            if step is None:
                if stagnated(np.abs(F), system.noise_at(z, theta)).all():
                    return Solution(z, k, size, J, _linear(steps[:-1]))   # F's rounding noise
                raise self._fail("the residual stopped decreasing", z, theta, k, size)
            z, F, Jn = step
            if reuse:
                fresh = False                                        # lu now from the last z
            else:
                J, lu = Jn, None
        if _norm(F) == 0.0:
            return Solution(z, self.max_iter, 0.0, J, _linear(steps))
        if _linear(steps) and steps[-1] <= 1e-6 * steps[0]:
            return Solution(z, self.max_iter, _norm(F), J, True)     # a tangency: multiple root
        raise self._fail(f"no convergence to tol={tol:.3g}", z, theta, self.max_iter, _norm(F))

    def _factor(self, J, z, theta, k, size):
        try:
            return PlainLU(J)                                        # getrf (LAPACK)
        except SingularLU:
            raise self._fail("∂F/∂z is singular at an iterate", z, theta, k - 1, size) from None

    def _chord(self, z, dz, merit, theta, rows):
        """A step with an earlier iterate's factorised J, kept when it shrinks the merit by
        CHORD_CONTRACTION at least ((z + Δz, F) then; None: refresh J).  Where the Jacobian
        changes little between iterates (a contraction, the last steps of any Newton) this
        saves an LU per step; where it does not, the next step is Newton's again, so a
        multiple root still shows Newton's linear convergence."""
        zn = z + dz
        try:
            Fn = self.system.residual(zn, theta)
        except DomainError:
            return None
        if _norm(Fn if rows is None else rows * Fn) <= CHORD_CONTRACTION * merit:  # NaN: False
            return zn, Fn
        return None

    def _backtrack(self, z, dz, merit, theta, rows, with_jacobian=True):
        """Halve t until z + tΔz decreases the scaled residual ‖D_r F‖∞ below ``merit``:
        (z, F, J there, or None without ``with_jacobian``)."""
        system = self.system
        t = 1.0
        for _ in range(MAX_HALVINGS):
            zn = z + t * dz
            if np.array_equal(zn, z):
                return None
            try:
                if with_jacobian:
                    Fn, Jn = system.fj(zn, theta)
                else:
                    Fn, Jn = system.residual(zn, theta), None
                ok = _norm(Fn if rows is None else rows * Fn) < merit   # NaN compares False
            except DomainError:
                ok = False
            if ok:
                return zn, Fn, Jn
            t *= 0.5
        return None


# --------------------------------------------------------------------------- #
# many points at once (the NumPy sweep)                                        #
# --------------------------------------------------------------------------- #

def _linear_batch(history):
    """:func:`_linear` per point: history (M, 5) of the last step norms (NaN: none yet)."""
    with np.errstate(invalid="ignore"):
        r = history[:, 1:] / history[:, :-1]                         # s_{k+1}/s_k
        shrinking = (r >= 0.4) & (r <= 0.75)
    return (shrinking[:, 1:] & shrinking[:, :-1]).any(axis=1)


class BatchNewton:
    """Damped Newton on M points at once: the algorithm of :class:`VectorNewton`, masked.

    ``evaluate(Z, TH) -> (F (M, n), J (M, n, n), N (M, n))``.  Each point leaves the
    iteration when it meets the module's stopping rule; :meth:`solve` returns (Z, the
    indices that failed, the mask of points where Newton converged linearly: multiple
    roots or tangencies, which the check at the solution reports).
    """

    name = "newton"

    def __init__(self, evaluate, tol: float | None = None, max_iter: int | None = None):
        self.evaluate = evaluate
        self.tol = DEFAULT_TOL if tol is None else float(tol)
        self.max_iter = 100 if max_iter is None else int(max_iter)

    def solve(self, z, theta):
        M = z.shape[0]
        active = np.arange(M)
        failed = []
        history = np.full((M, 5), np.nan)                            # last 5 step norms per point
        multiple = np.zeros(M, dtype=bool)
        rows = None
        for _ in range(self.max_iter):
            if not active.size:
                break
            th = [t[active] for t in theta]
            za = z[active]
            F, J, noise = self.evaluate(za, th)
            absF = np.abs(F)
            if rows is None:
                rows = row_scales(J)                                # D_r from J(z₀), per point
            size = (rows[active] * absF).max(axis=1)
            dz = self._step(F, J)                                    # J Δz = -F
            step = np.abs(dz).max(axis=1)
            history[active] = np.column_stack([history[active, 1:], step])
            done = (size == 0) | at_floor(absF, noise).all(axis=1) \
                | small_step(step, np.abs(za).max(axis=1), self.tol)
            ok = done & np.isfinite(step)                            # F = 0 or at its floor, J singular:
            z[active[ok]] = za[ok] + dz[ok]                          # stay (the check names it)
            multiple[active[done]] = _linear_batch(history[active[done]])
            moving = np.flatnonzero(~done & np.isfinite(step))
            t = np.ones(moving.size)
            accepted = self._backtrack(za[moving], dz[moving], size[moving],
                                       [x[moving] for x in th], t, rows[active[moving]])
            z[active[moving[accepted]]] = za[moving[accepted]] + t[accepted, None] * dz[moving[accepted]]
            no_descent = moving[~accepted]
            noise_level = stagnated(absF[no_descent], noise[no_descent]).all(axis=1)
            multiple[active[no_descent]] = _linear_batch(history[active[no_descent], :-1])
            keep = np.zeros(active.size, dtype=bool)                 # still iterating
            keep[moving[accepted]] = True
            bad = np.ones(active.size, dtype=bool)                   # no descent outside the noise,
            bad[done | keep] = False                                 # or a non-finite step
            bad[no_descent[noise_level]] = False                     # stagnated in noise: accepted
            failed.append(active[bad])
            active = active[keep]
        if active.size:                                              # out of iterations: a multiple
            h = history[active]                                      # root still closing in linearly?
            closing = _linear_batch(h) & (h[:, -1] <= 1e-6 * np.nanmax(h, axis=1))
            multiple[active[closing]] = True
            active = active[~closing]
        failed = np.sort(np.concatenate(failed + [active])).astype(int)
        return z, failed, multiple

    def _step(self, F, J):
        with np.errstate(all="ignore"):
            if J.shape[-1] == 1:
                return -F / J[:, 0, :]                               # Δx = -F/F_x
            dz = np.full_like(F, np.nan)
            ok = np.isfinite(J).all(axis=(1, 2)) & (np.abs(np.linalg.det(J)) > 0)
            if ok.any():
                dz[ok] = np.linalg.solve(J[ok], -F[ok][..., None])[..., 0]
            return dz

    def _backtrack(self, z, dz, size, theta, t, rows):
        """Halve t where ‖D_r F(z + tΔz)‖∞ ≥ ‖D_r F(z)‖∞ (or is not finite) until tΔz vanishes
        in the rounding of z; return the accepted mask (the line search of the one-point
        solvers, :func:`row_scales`)."""
        accepted = np.zeros(t.size, dtype=bool)
        todo = np.arange(t.size)
        for _ in range(MAX_HALVINGS):
            trial = z[todo] + t[todo, None] * dz[todo]
            moved = (trial != z[todo]).any(axis=1)                   # a vanished step: no descent
            todo, trial = todo[moved], trial[moved]
            if not todo.size:
                break
            F, _, _ = self.evaluate(trial, [x[todo] for x in theta])
            ok = (rows[todo] * np.abs(F)).max(axis=1) < size[todo]   # NaN compares False
            accepted[todo[ok]] = True
            todo = todo[~ok]
            t[todo] *= 0.5
        return accepted


# --------------------------------------------------------------------------- #
# fixed points                                                                 #
# --------------------------------------------------------------------------- #
#
# For x = f(x) the residual is F = x - f(x): |f(xₖ) - xₖ| is both the step and |F(xₖ)|.
# The rule is the same (a step of a few ulps, or |F| at its floor 2ε·N(F)); there is no
# stagnation exit, because a slowly contracting iteration (rate q → 1) stops
# decreasing while its error, |F|/(1 - q), is still κ times its residual.

class FixedPointIteration(_Solver):
    """Plain iteration x ← f(x, θ) (converges when |∂f/∂x| < 1 near the fixed point)."""

    name = "iterate"
    default_max_iter = 2000

    def solve(self, x0, theta: tuple, bracket=None) -> Solution:
        fmapn, tol = self.system.fmapn, self.tol
        x = np.atleast_1d(np.array(x0, dtype=float))
        diff = math.inf
        for k in range(1, self.max_iter + 1):
            xn, N = fmapn(x, theta)                                  # x_{k+1} = f(x_k)
            r = np.abs(xn - x)                                       # |F(x_k)|
            diff = _norm(r)
            if not math.isfinite(diff):
                raise self._fail("the iteration left the finite numbers", x, theta, k, diff)
            if small_step(diff, _norm(xn), tol) or at_floor(r, N).all():
                return Solution(xn, k, diff, None)
            x = xn
        raise self._fail(f"no convergence to tol={tol:.3g}", x, theta, self.max_iter, diff)


class Anderson(_Solver):
    """Anderson acceleration (type II, memory ``m``) of x ← f(x, θ).

    With residuals gₖ = f(xₖ) - xₖ, find γ minimising ‖gₖ - ΔG γ‖ and set
    xₖ₊₁ = f(xₖ) - ΔF γ (ΔG, ΔF: the last m differences of g and of f).
    """

    name = "anderson"
    default_max_iter = 500
    memory = 5

    def solve(self, x0, theta: tuple, bracket=None) -> Solution:
        fmapn, tol, m = self.system.fmapn, self.tol, self.memory
        x = np.atleast_1d(np.array(x0, dtype=float))
        fx, N = fmapn(x, theta)
        g = fx - x
        dG, dF = [], []
        size = math.inf
        for k in range(1, self.max_iter + 1):
            size = _norm(g)
            if not math.isfinite(size):
                raise self._fail("the iteration left the finite numbers", x, theta, k, size)
            if small_step(size, _norm(fx), tol) or at_floor(np.abs(g), N).all():
                return Solution(fx, k, size, None)
            if dG:
                G, Fm = np.column_stack(dG), np.column_stack(dF)
                gamma = np.linalg.lstsq(G, g, rcond=None)[0]         # min ‖g - ΔG γ‖
                xn = fx - Fm @ gamma                                 # x⁺ = f(x) - ΔF γ
            else:
                xn = fx                                              # first step: plain iteration
            fn, N = fmapn(xn, theta)
            gn = fn - xn
            dG.append(gn - g)
            dF.append(fn - fx)
            if len(dG) > m:
                dG.pop(0)
                dF.pop(0)
            x, fx, g = xn, fn, gn
        raise self._fail(f"no convergence to tol={tol:.3g}", x, theta, self.max_iter, size)


# --------------------------------------------------------------------------- #
# affine residuals                                                             #
# --------------------------------------------------------------------------- #

class AffineSolve(_Solver):
    """F affine in z (∂F/∂z free of z): one Newton step from z = 0 is exact, z = -J⁻¹ F(0, θ).

    A singular J is a SingularJacobianError naming θ (there is no solution point to name).
    """

    name = "linear"

    def solve(self, z0, theta: tuple, bracket=None) -> Solution:
        system = self.system
        if not system.vector:
            F, dF = system.fdf(0.0, theta)
            return Solution(-F / dF if dF else 0.0, 1, abs(F), dF)      # x = -F(0)/F_x
        zero = np.zeros(system.n)
        F, J = system.fj(zero, theta)
        try:
            return Solution(np.linalg.solve(J, -F), 1, _norm(F), J)     # z = -J⁻¹F(0)
        except np.linalg.LinAlgError:                                # no unique solution: no point
            point = dict(zip(system.names[system.n:], map(float, theta)))   # to name but θ
            shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
            raise SingularJacobianError(f"{self.name}: ∂F/∂z is singular, so the linear system "
                                        f"F(z, θ) = 0 has no unique solution at {shown}",
                                        point=point, value=J) from None


# --------------------------------------------------------------------------- #
# the table                                                                    #
# --------------------------------------------------------------------------- #

SOLVERS: dict[str, tuple[type, type]] = {
    "newton": (ScalarNewton, VectorNewton),
    "iterate": (FixedPointIteration, FixedPointIteration),
    "anderson": (Anderson, Anderson),
    "linear": (AffineSolve, AffineSolve),
}
"""Method name -> (solver for one unknown, solver for several)."""

FIXED_POINT_ONLY = ("iterate", "anderson")


def solver_class(method: str, vector: bool) -> type:
    """The solver class for ``method`` and the shape of the unknown."""
    try:
        pair = SOLVERS[method]
    except (KeyError, TypeError):
        raise StatementError(f"unknown method {method!r}; expected one of {sorted(SOLVERS)}") from None
    return pair[1] if vector else pair[0]
