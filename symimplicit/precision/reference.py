"""Reference derivatives of z(θ) by two independent routes, at high precision.

1. **IFT**: ∂z/∂θ = -(∂F/∂z)⁻¹ ∂F/∂θ, the Derivation's Jacobians evaluated by
   mpmath at the high-precision solution (:func:`ift_gradient`).
2. **Richardson**: central differences of the high-precision *solution map*
   θ ↦ z(θ), D(h) = (z(θ + h) - z(θ - h)) / 2h = z' + c₁h² + c₂h⁴ + …,
   extrapolated to h → 0 by Neville's scheme in h² (:func:`richardson_gradient`).
   It uses no derivative of F with respect to θ and no IFT formula, only solves.

:func:`reference` runs both and measures their agreement; the two must agree to
near the requested digits, or the derivation itself is suspect.

Precision: the solve and the IFT run at ``dps + 15 + log10 κ`` digits (κ from
:meth:`MpProblem.kappa`), so the reference keeps ``dps`` digits even where the
problem is ill-conditioned; the differences run at twice that, so the
cancellation of z(θ + h) - z(θ - h) at tiny h costs nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import mpmath

from symimplicit.errors import SymimplicitError
from symimplicit.precision.mpsolve import MpProblem

__all__ = ["Reference", "reference", "error_bounds", "RichardsonBudgetError", "ift_gradient", "richardson_gradient", "digits_from_error",
           "relative_error", "component_scales", "error_rows", "EPS", "ZERO_FLOOR",
           "GUARD_DIGITS", "RICHARDSON_ORDER"]

EPS = 2.0 ** -53
"""Unit roundoff of float64."""

ZERO_FLOOR = 2.0 ** -26
"""Float64 components below √ε times the largest of their row are measured against that floor."""

GUARD_DIGITS = 15
"""Extra digits carried by the solve and the IFT beyond ``dps`` (plus log10 κ)."""

RICHARDSON_ORDER = 8
"""Columns of the Neville table: the estimate is exact for polynomials of degree 2·8 in h."""

MAX_LEVELS = 90
"""Step halvings before the extrapolation gives up (reached only near singular points)."""

SOLVE_STEPS = 30
"""Newton steps of one Richardson solve: it starts next to its solution (quadratic: ~7)."""

RICHARDSON_MAX_SOLVES = 40 * RICHARDSON_ORDER
"""Solves of the whole Richardson route before it is abandoned with a stated reason
(a smooth map needs ~2·(order + 2) per parameter)."""


@dataclass
class Reference:
    """The truth at one point θ.

    ``solution``: the user's unknowns (mpf), ``gradient[i][j]`` = ∂zᵢ/∂θⱼ by the
    IFT; ``richardson[i][j]`` the same by extrapolated differences (``None``
    when not computed); ``route_error[i][j]`` their relative difference;
    ``kappa`` the rounding amplification (:func:`error_bounds`); ``dps`` the digits
    the reference is good to; ``work_dps`` the digits it was computed with;
    ``solution_bound[i]`` and ``gradient_bound[i][j]`` the first-order bounds ē
    (floats, in units of u = 2⁻⁵³) on the float64 error of each quantity;
    ``notes`` what the reference could not do (a skipped route).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> import mpmath
    >>> from symimplicit.precision import problem_of, reference
    >>> ref = reference(problem_of(fp), [1.0], [0.739], dps=30)
    >>> mpmath.nstr(ref.solution[0], 20), mpmath.nstr(ref.gradient[0][0], 20)
    ('0.73908513321516064166', '-0.29747434150983226056')
    >>> ref.dps
    30
    """

    solution: tuple
    gradient: list
    kappa: float
    dps: int
    work_dps: int
    richardson: list | None = None
    route_error: list | None = None
    system_solution: tuple = ()
    solution_bound: tuple = ()
    gradient_bound: list | None = None
    notes: list | None = None

    @property
    def route_digits(self) -> float | None:
        """Digits to which the two routes agree (the fewest over components), capped at dps."""
        if self.route_error is None:
            return None
        return min((digits_from_error(e, self.dps) for row in self.route_error for e in row),
                   default=float(self.dps))


def digits_from_error(err: float, cap: float) -> float:
    """-log10(err) capped at ``cap`` (0 error means ``cap`` digits) and floored at 0.

    A NaN or infinite error (a non-finite value, a reference route that failed)
    means no digit is right: 0.
    """
    err = float(err)
    if not math.isfinite(err):
        return 0.0
    if err <= 0:
        return float(cap)
    return max(0.0, min(float(cap), -math.log10(err)))


def relative_error(value, ref, scale) -> mpmath.mpf:
    """|value - ref| / max(|ref|, scale): relative, with an absolute floor for zeros."""
    den = max(abs(ref), scale)
    if den == 0:
        return mpmath.mpf(0) if value == ref else mpmath.inf
    return abs(mpmath.mpf(value) - ref) / den


def component_scales(rows: list, fraction) -> list:
    """Per row, the floor below which a component counts as zero: fraction · max |row|."""
    return [fraction * max([abs(v) for v in row] + [mpmath.mpf(0)]) for row in rows]


def error_rows(values: list, ref_rows: list, work_dps: int, fraction=ZERO_FLOOR) -> list:
    """Relative errors (floats) of float64 ``values`` against ``ref_rows`` (mpf), entrywise.

    Each component is measured against max(|r|, fraction · max|row|) at ``work_dps``
    digits (see :func:`relative_error`); a non-finite value has an infinite error.
    """
    with mpmath.workdps(work_dps):
        scales = component_scales(ref_rows, fraction)
        return [[float(relative_error(v, r, s)) if math.isfinite(v) else math.inf
                 for v, r in zip(map(float, vrow), rrow)]
                for vrow, rrow, s in zip(values, ref_rows, scales)]


def error_bounds(problem: MpProblem, z: Sequence, theta: Sequence, z64=None) -> tuple:
    """First-order bounds on the float64 error of the solution and of the IFT gradient.

    With A = ∂F/∂z, B = ∂F/∂θ, X = -A⁻¹B at the solution and F̄, Ā, B̄ the rounding
    bounds of evaluating F, A, B in float64 (:meth:`MpProblem.rounding_bounds`: the
    rounding of z propagates through them), perturbation theory of the linear solve
    (componentwise, Skeel / Oettli-Prager) gives, in units of u = 2⁻⁵³:

    * solution:  ē_z = |A⁻¹| F̄ + |z|            (Newton's floor, plus z's own rounding)
    * gradient:  ē_X = |A⁻¹| (Ā |X| + B̄)       (rounding in A and B, and in z through them:
      Ā, B̄ are evaluated with each unknown carrying its error: the actual one,
      max(|ẑ - z|/u, |z|), when the float64 solution ẑ = ``z64`` is known, else |z|:
      a correctly rounded solution)

    and κ = max over components c with |c| > u ē_c of ē_c / |c| (the largest relative
    amplification of any reported quantity; a component below its floor u ē_c, e.g. an
    exact zero, is judged absolutely and does not count).  Runs at the current precision.

    Returns (ē_z for the user unknowns, ē_X rows for the user unknowns, κ) as floats.
    """
    n, p, nu = problem.n, problem.p, problem.n_user
    A = problem.J(z, theta)
    inv = problem.lu_solve(A, mpmath.eye(n), z, theta)
    absinv = mpmath.matrix([[abs(inv[i, j]) for j in range(n)] for i in range(n)])
    Fb = problem.rounding_bounds(z, theta)[0]
    ez = absinv * mpmath.matrix(Fb)                            # |A⁻¹| F̄
    zb = [ez[i] + abs(z[i]) for i in range(n)]                 # ē_z = |A⁻¹| F̄ + |z|
    sol = [float(v) for v in zb[:nu]]
    carried = [abs(v) for v in z]                              # correctly rounded, by default
    if z64 is not None:                                        # the float64 solution is known:
        for i, v in enumerate(z64[:nu]):                       # its actual error, at least |z|
            if math.isfinite(float(v)):
                carried[i] = max(abs(z[i]), abs(mpmath.mpf(float(v)) - z[i]) / EPS)
    _, Ab, Bb = problem.rounding_bounds(z, theta, carried)     # z carries its error into A, B
    grads = [[] for _ in range(nu)]
    if p:
        X = -(inv * problem.J_theta(z, theta))                 # X = -A⁻¹ B
        absX = mpmath.matrix([[abs(X[i, j]) for j in range(p)] for i in range(n)])
        E = absinv * (Ab * absX + Bb)                          # ē_X = |A⁻¹|(Ā|X| + B̄)
        grads = [[float(E[i, j]) for j in range(p)] for i in range(nu)]
        values = [[X[i, j] for j in range(p)] for i in range(nu)]
    else:
        values = [[] for _ in range(nu)]
    ratios = [b / float(abs(v)) for b, v in zip(sol, z[:nu]) if float(abs(v)) > EPS * b]
    ratios += [b / float(abs(v)) for brow, vrow in zip(grads, values)
               for b, v in zip(brow, vrow) if float(abs(v)) > EPS * b]
    return sol, grads, max(ratios, default=1.0)


def ift_gradient(problem: MpProblem, z: Sequence, theta: Sequence) -> list:
    """∂z/∂θ = -(∂F/∂z)⁻¹ ∂F/∂θ at the current precision: rows = user unknowns."""
    if not problem.p:
        return [[] for _ in range(problem.n_user)]
    A, B = problem.J(z, theta), problem.J_theta(z, theta)
    X = problem.lu_solve(A, -B, z, theta)                    # ∂z/∂θ = -A⁻¹ ∂F/∂θ
    return [[X[i, j] for j in range(problem.p)] for i in range(problem.n_user)]


def _neville(points: list) -> mpmath.mpf:
    """Value at h² = 0 of the polynomial in h² through (h², D) pairs (Neville-Aitken)."""
    xs = [h2 for h2, _ in points]
    T = [list(d) for _, d in points]                          # each D is a vector (user unknowns)
    for m in range(1, len(points)):
        for i in range(len(points) - 1, m - 1, -1):
            w = xs[i] / (xs[i - m] - xs[i])                   # T_i ← T_i + (T_i - T_{i-1}) h_i²/(h_{i-m}² - h_i²)
            T[i] = [t + (t - u) * w for t, u in zip(T[i], T[i - 1])]
    return T[-1]


class RichardsonBudgetError(SymimplicitError):
    """The extrapolated differences needed more solves than their budget."""


def richardson_gradient(problem: MpProblem, z: Sequence, theta: Sequence, dps: int,
                        kappa: float = 1.0, order: int = RICHARDSON_ORDER,
                        max_solves: int | None = None, floor=0, gradient=None):
    """∂z/∂θ by Richardson-extrapolated central differences of θ ↦ z(θ).

    For each θⱼ: steps hₖ = h₀ 2⁻ᵏ with h₀ = s · 10^(-dps/(2·order+2)) / κ, where
    s = max(|θⱼ|, min(|z|/|∂z/∂θⱼ|, 1)) (the IFT ``gradient`` when given; 1 if both vanish)
    (near a singular point the solution map is analytic only within ~1/κ), solves
    at θ ± hₖ e_j warm-started from z(θ), and extrapolates the last ``order + 1``
    differences to h = 0.  Stops when two successive extrapolations agree to
    10^-(dps+2) relative to the column's largest entry or ``floor`` (the scale the
    result is judged at: a column of 1e-57 entries beside a Jacobian of 0.5 needs no
    57 more digits, and halving h on would only amplify the solves' rounding).
    Runs at the *current* mpmath precision (the caller raises it).

    Each solve is warm-started next to its solution (at most SOLVE_STEPS Newton steps);
    more than ``max_solves`` solves in all (default RICHARDSON_MAX_SOLVES) raise
    :class:`RichardsonBudgetError`, so the route's work is bounded before it starts.

    Returns rows[i][j], the estimate of ∂zᵢ/∂θⱼ (NaN where no step could be solved).
    """
    max_solves = RICHARDSON_MAX_SOLVES if max_solves is None else max_solves
    p, n_user = problem.p, problem.n_user
    cols, solves = [], 0
    tol = mpmath.mpf(10) ** (-dps - 2)
    prec_dps = mpmath.mp.dps
    for j in range(p):
        # steps relative to θⱼ (Kₐ = 1.8e-5), or to the distance ρ = |z|/|∂z/∂θⱼ| on which
        # z changes, capped at 1, when that is larger (θⱼ = 1e-60 with ∂y/∂θⱼ = 0.5: steps of 1e-67
        # would move z by less than the solves' precision)
        scale = abs(mpmath.mpf(theta[j]))
        if gradient is not None:
            slope = max(abs(gradient[i][j]) for i in range(n_user))
            zmax = max(abs(v) for v in z[:n_user])
            if slope > 0 and zmax > 0:
                scale = max(scale, min(zmax / slope, 1))     # (never wider than 1)
        scale = scale or mpmath.mpf(1)
        h = scale * mpmath.mpf(10) ** (-math.ceil(dps / (2 * order + 2))) / max(kappa, 1)
        zsize = max(abs(v) for v in z[:n_user]) / scale       # |z|/|θ|: the floor for a zero z'
        points, last = [], None
        for _ in range(MAX_LEVELS):
            plus, minus = list(theta), list(theta)
            plus[j], minus[j] = theta[j] + h, theta[j] - h
            solves += 2
            if solves > max_solves:
                raise RichardsonBudgetError(f"more than {max_solves} solves (the solution map is "
                                            f"not smooth enough near θ at the first steps)")
            try:
                zp = problem.solve(plus, z, prec_dps, digits=dps + 5, max_steps=SOLVE_STEPS)
                zm = problem.solve(minus, z, prec_dps, digits=dps + 5, max_steps=SOLVE_STEPS)
            except (SymimplicitError, ZeroDivisionError, ValueError):
                h /= 2                                        # too far: the map is not there
                points = []
                continue
            D = [(a - b) / (2 * h) for a, b in zip(zp[:n_user], zm[:n_user])]   # central difference
            points = (points + [(h * h, D)])[-(order + 1):]
            estimate = _neville(points)
            if last is not None:
                size = max([abs(v) for v in estimate] + [mpmath.mpf(0)])
                change = max(abs(a - b) for a, b in zip(estimate, last))
                if len(points) == order + 1 and \
                        change <= tol * max(size, zsize * tol, floor):
                    last = estimate
                    break
            last = estimate
            h /= 2
        cols.append(last if last is not None else [mpmath.nan] * n_user)
    return [[cols[j][i] for j in range(p)] for i in range(n_user)]


def reference(problem: MpProblem, theta: Sequence, z0: Sequence, dps: int,
              richardson: bool = True, z64: Sequence | None = None) -> Reference:
    """The solution and its gradient at θ to ``dps`` digits (both routes when asked).

    ``theta`` are the float64 parameter values (taken exactly); ``z0`` a starting
    point for Newton (the float64 solution under test, which picks the branch);
    ``z64`` the float64 solution of the user unknowns when known (its actual error then
    enters the gradient's rounding bound, :func:`error_bounds`).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> import mpmath
    >>> from symimplicit.precision import problem_of, reference
    >>> ref = reference(problem_of(fp), [1.0], [0.739], dps=30)
    >>> xs = ref.solution[0]
    >>> with mpmath.workdps(30):                 # dx/da = -x sin x/(sin x + 1) at a = 1
    ...     closed = -xs*mpmath.sin(xs)/(mpmath.sin(xs) + 1)
    ...     print(abs(ref.gradient[0][0] - closed) < mpmath.mpf("1e-28"))
    True
    """
    work = dps + GUARD_DIGITS
    z = problem.solve(theta, z0, work, check=False)
    with mpmath.workdps(work):
        problem.check_kinks(z, [mpmath.mpf(t) for t in theta])   # no derivative on a kink
        sol_bound, grad_bound, kappa = error_bounds(problem, z, [mpmath.mpf(t) for t in theta],
                                                    z64)
    extra = max(0, math.ceil(math.log10(kappa))) if math.isfinite(kappa) and kappa > 0 else 0
    work += extra                                             # ill-conditioned: carry log10 κ more
    z = problem.solve(theta, z, work, digits=dps + 5)         # checked: dps + 5 digits
    with mpmath.workdps(work):
        th = [mpmath.mpf(t) for t in theta]
        grad = ift_gradient(problem, z, th)
    ref = Reference(solution=tuple(z[: problem.n_user]), gradient=grad, kappa=kappa,
                    dps=dps, work_dps=work, system_solution=tuple(z),
                    solution_bound=tuple(sol_bound), gradient_bound=grad_bound, notes=[])
    if richardson and problem.p:
        # the Richardson route stops at 10^-(work+2) of its column's largest entry, so an
        # entry far below it is only good to that absolute size: judge every entry at
        # least at the Jacobian's largest entry times 10^-(work+2) · 10^(dps - ROUTE_SLACK)
        largest = max([abs(v) for row in grad for v in row] + [mpmath.mpf(0)])
        whole = largest * mpmath.mpf(10) ** -(work - dps + 7)
        with mpmath.workdps(2 * work):
            zz = problem.solve(theta, z, 2 * work, digits=work + 5)
            try:
                rich = richardson_gradient(problem, zz, [mpmath.mpf(t) for t in theta], work,
                                           kappa=kappa, max_solves=RICHARDSON_MAX_SOLVES
                                           * max(1, problem.p), floor=whole,
                                           gradient=grad)
            except RichardsonBudgetError as exc:
                ref.notes.append(f"Richardson route abandoned: {exc}; only the IFT route "
                                 "was checked")
                return ref
            # relative difference, with floors for (near-)zero components: `whole` (a component
            # computed from entries of the Jacobian's size: 7e-161 beside 0.5 is judged
            # absolutely), 10^-dps·max(1, |zᵢ|) when everything vanishes,
            # and the IFT's own rounding at `work` digits, ē·10^-(work - dps)
            scales = [max(whole, mpmath.mpf(10) ** -dps * max(1, abs(zi))) for zi in z[:len(grad)]]
            ten = mpmath.mpf(10) ** -(work - dps)
            ref.richardson = rich
            ref.route_error = [[float(relative_error(r, g, max(s, ten * b)))
                                for r, g, b in zip(rrow, grow, brow)]
                               for rrow, grow, s, brow in zip(rich, grad, scales, grad_bound)]
    return ref


