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

__all__ = ["Reference", "reference", "ift_gradient", "richardson_gradient", "digits_from_error",
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


@dataclass
class Reference:
    """The truth at one point θ.

    ``solution``: the user's unknowns (mpf), ``gradient[i][j]`` = ∂zᵢ/∂θⱼ by the
    IFT; ``richardson[i][j]`` the same by extrapolated differences (``None``
    when not computed); ``route_error[i][j]`` their relative difference;
    ``kappa`` the rounding amplification of the IFT solve; ``dps`` the digits
    the reference is good to; ``work_dps`` the digits it was computed with.
    """

    solution: tuple
    gradient: list
    kappa: float
    dps: int
    work_dps: int
    richardson: list | None = None
    route_error: list | None = None
    system_solution: tuple = ()

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


def richardson_gradient(problem: MpProblem, z: Sequence, theta: Sequence, dps: int,
                        kappa: float = 1.0, order: int = RICHARDSON_ORDER):
    """∂z/∂θ by Richardson-extrapolated central differences of θ ↦ z(θ).

    For each θⱼ: steps hₖ = h₀ 2⁻ᵏ with h₀ = max(|θⱼ|, 1) · 10^(-dps/(2·order+2)) / κ
    (near a singular point the solution map is analytic only within ~1/κ), solves
    at θ ± hₖ e_j warm-started from z(θ), and extrapolates the last ``order + 1``
    differences to h = 0.  Stops when two successive extrapolations agree to
    10^-(dps+2).  Runs at the *current* mpmath precision (the caller raises it).

    Returns rows[i][j], the estimate of ∂zᵢ/∂θⱼ (NaN where no step could be solved).
    """
    p, n_user = problem.p, problem.n_user
    cols = []
    tol = mpmath.mpf(10) ** (-dps - 2)
    prec_dps = mpmath.mp.dps
    for j in range(p):
        scale = max(abs(mpmath.mpf(theta[j])), 1)
        h = scale * mpmath.mpf(10) ** (-math.ceil(dps / (2 * order + 2))) / max(kappa, 1)
        zsize = max(abs(v) for v in z[:n_user]) / scale       # |z|/|θ|: the floor for a zero z'
        points, last = [], None
        for _ in range(MAX_LEVELS):
            plus, minus = list(theta), list(theta)
            plus[j], minus[j] = theta[j] + h, theta[j] - h
            try:
                zp = problem.solve(plus, z, prec_dps, digits=dps + 5)
                zm = problem.solve(minus, z, prec_dps, digits=dps + 5)
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
                if len(points) == order + 1 and change <= tol * max(size, zsize * tol):
                    last = estimate
                    break
            last = estimate
            h /= 2
        cols.append(last if last is not None else [mpmath.nan] * n_user)
    return [[cols[j][i] for j in range(p)] for i in range(n_user)]


def reference(problem: MpProblem, theta: Sequence, z0: Sequence, dps: int,
              richardson: bool = True) -> Reference:
    """The solution and its gradient at θ to ``dps`` digits (both routes when asked).

    ``theta`` are the float64 parameter values (taken exactly); ``z0`` a starting
    point for Newton (the float64 solution under test, which picks the branch).
    """
    work = dps + GUARD_DIGITS
    z = problem.solve(theta, z0, work, check=False)
    with mpmath.workdps(work):
        kappa = float(problem.kappa(z, [mpmath.mpf(t) for t in theta]))
    extra = max(0, math.ceil(math.log10(kappa))) if math.isfinite(kappa) and kappa > 0 else 0
    work += extra                                             # ill-conditioned: carry log10 κ more
    z = problem.solve(theta, z, work, digits=dps + 5)         # checked: dps + 5 digits
    with mpmath.workdps(work):
        th = [mpmath.mpf(t) for t in theta]
        grad = ift_gradient(problem, z, th)
    ref = Reference(solution=tuple(z[: problem.n_user]), gradient=grad, kappa=kappa,
                    dps=dps, work_dps=work, system_solution=tuple(z))
    if richardson and problem.p:
        with mpmath.workdps(2 * work):
            zz = problem.solve(theta, z, 2 * work, digits=work + 5)
            rich = richardson_gradient(problem, zz, [mpmath.mpf(t) for t in theta], work,
                                          kappa=kappa)
            # relative difference, with floors for (near-)zero components: 10^-(dps/2) of the
            # row's largest, and 10^-dps·max(1, |zᵢ|) when the whole row vanishes
            scales = [max(s, mpmath.mpf(10) ** -dps * max(1, abs(zi)))
                      for s, zi in zip(component_scales(grad, mpmath.mpf(10) ** (-dps // 2)), z)]
            ref.richardson = rich
            ref.route_error = [[float(relative_error(r, g, s)) for r, g in zip(rrow, grow)]
                               for rrow, grow, s in zip(rich, grad, scales)]
    return ref
