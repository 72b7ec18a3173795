"""The one check of a float64 solution and of its derivative: layers (scalar, vector) and sweeps.

Every numeric path calls the functions below, so "singular", "overflowing" and "on a kink"
mean the same thing everywhere.  At a solution z of F(z, θ) = 0 (float64, rounding unit ε):

* **finite**: z and ∂F/∂z finite, else :class:`~symimplicit.errors.NonFiniteError`;
* **conditioned**: one unknown: F_x is not rounding noise, N(F_x) < 10¹⁴·|F_x|
  (:func:`singular_derivative`); several: cond(∂F/∂z) < 10¹⁴; and Newton did not converge
  linearly (a multiple root: F_x → 0, or a tangency of a system, where the float64 iterate
  is only √ε-accurate), else :class:`~symimplicit.errors.SingularJacobianError`;
* **resolved**: ‖J(z ± u) - J(z)‖∞·‖J⁻¹‖∞ < ½ with u = 2ε·|J⁻¹|·N(F) (:func:`unresolved`):
  ∂F/∂z stays invertible across the rounding uncertainty of z, else SingularJacobianError
  (a tangency: the float64 root is only √ε-accurate, its derivative meaningless);
* **smooth**: for every kink g of F (:func:`symimplicit.kinks.kinks`: abs, Max, Min, sign,
  Heaviside, Piecewise), |g(z, θ)| > 8ε·(N(g) + Σⱼ |∂g/∂zⱼ|·uⱼ), where N(g) is g's rounding
  scale (:mod:`~symimplicit.lower.rounding`) and uⱼ = |zⱼ| + (|J⁻¹|·N(F))ⱼ bounds how far the
  float64 root may sit from the true one in units of ε; else
  :class:`~symimplicit.errors.NonDifferentiableError` naming g;
* **derivative**: ∂z/∂θ finite (else NonFiniteError: it overflows float64 although ∂F/∂z is
  invertible, e.g. x = b/a at a = 1e-300), and |∂zᵢ/∂θⱼ|·|θⱼ| ≤ 10¹⁴·max(|zᵢ|, 1) (else
  SingularJacobianError: a sensitivity only a numerically singular ∂F/∂z produces).

The predicates work on floats and on NumPy arrays with a leading batch axis alike.
"""
from __future__ import annotations

import math

import numpy as np

from symimplicit.errors import (NonDifferentiableError, NonFiniteError, SingularJacobianError,
                                SymimplicitError)
from symimplicit.lower.lu import power_of_two_scale

__all__ = ["SINGULAR_COND", "SINGULAR_SENSITIVITY", "KINK_FLOOR", "singular_derivative", "equilibrated",
           "singular_jacobian", "oversensitive", "kink_test", "where_text", "singular_error",
           "nonfinite_error", "kink_error", "check_derivative", "unresolved", "unresolved_scalar", "surely_conditioned",
           "surely_resolved"]

EPS = 2.0 ** -52
SINGULAR_COND = 1e14          # cond(∂F/∂z), rows and columns equilibrated, above this: singular
SINGULAR_SENSITIVITY = 1e14   # |∂z/∂θ|·|θ|/max(|z|, 1) above this: ∂F/∂z is rounding noise
KINK_FLOOR = 8 * EPS          # |g| ≤ 8ε·(N(g) + spread): the solution sits on the kink g = 0


def singular_derivative(dF, noise):
    """One unknown: N(F_x)/|F_x| ≥ SINGULAR_COND, F_x indistinguishable from its rounding noise
    (the scalar analogue of cond(∂F/∂z); NaN noise: only F_x = 0 counts)."""
    return (abs(dF) * SINGULAR_COND <= noise) | (dF == 0)


def singular_jacobian(J, noise=None):
    """Batch mask (M,) of singular ∂F/∂z, J of shape (M, n, n); ``noise`` N(∂F/∂z) (M, n, n),
    used for one unknown (n = 1)."""
    with np.errstate(all="ignore"):
        finite = np.isfinite(J).all(axis=(-2, -1))
        if J.shape[-1] == 1:
            dF = J[..., 0, 0]
            nz = np.full(dF.shape, np.nan) if noise is None else noise[..., 0, 0]
            return singular_derivative(dF, nz) | ~finite
        cond = np.full(J.shape[:-2], np.inf)
        if finite.any():
            cond[finite] = np.linalg.cond(equilibrated(J[finite]))
        return ~(cond < SINGULAR_COND)


def equilibrated(J):
    """D_r J D_c with powers of two making every row's, then column's, largest entry ≈ 1.

    cond(J) depends on the units of the equations and unknowns; the float64 solve and the
    per-component accuracy of z and ∂z/∂θ do not (a Cobb-Douglas KKT matrix with x = 2.6e6
    and λ = 1.7e-4 has cond 1e15 but is perfectly conditioned once scaled: no singularity).
    Scaling by powers of two is exact, so the test sees J's own rounding."""
    J = J * power_of_two_scale(np.abs(J).max(axis=-1))[..., :, None]      # rows
    return J * power_of_two_scale(np.abs(J).max(axis=-2))[..., None, :]   # columns


def oversensitive(dz, theta, z):
    """|∂zᵢ/∂θⱼ|·|θⱼ| > SINGULAR_SENSITIVITY·max(|zᵢ|, 1): dz (..., n, p), θ (..., p), z (..., n)."""
    with np.errstate(all="ignore"):
        scale = np.maximum(np.abs(z), 1.0)[..., :, None]
        return (np.abs(dz) * np.abs(theta)[..., None, :] > SINGULAR_SENSITIVITY * scale) \
            .any(axis=(-2, -1))


def where_text(point: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


def singular_error(who: str, what: str, point: dict, value=None) -> SingularJacobianError:
    return SingularJacobianError(f"{who}: {what} at the solution {where_text(point)}: ∂F/∂z is "
                                 "singular there, the implicit function theorem fails and the "
                                 "derivative does not exist", point=point, value=value)


def nonfinite_error(who: str, what: str, point: dict) -> NonFiniteError:
    return NonFiniteError(f"{who}: {what} at {where_text(point)}", point=point)


def kink_error(who: str, g, value: float, bound: float, point: dict) -> NonDifferentiableError:
    return NonDifferentiableError(
        f"{who}: the solution sits on the kink {g} = 0 (its value {value:.3g} is within the "
        f"rounding bound {bound:.3g}) at {where_text(point)}: F is not differentiable there, "
        "so the derivative does not exist (the one-sided derivatives differ)",
        kink=g, point=point)


def check_derivative(who: str, dz, theta, z, names_z, names_theta, point: dict) -> None:
    """One point: ∂z/∂θ (n, p) finite and not oversensitive, else a typed error naming the entry."""
    dz = np.asarray(dz, dtype=float).reshape(len(names_z), len(names_theta))
    bad = ~np.isfinite(dz)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise nonfinite_error(who, f"∂{names_z[i]}/∂{names_theta[j]} = {dz[i, j]} overflows "
                              "float64 (∂F/∂z is invertible but tiny against ∂F/∂θ)", point)
    z = np.asarray(z, dtype=float)[:len(names_z)]
    if oversensitive(dz, np.asarray(theta, dtype=float), z):
        with np.errstate(all="ignore"):
            ratio = np.abs(dz) * np.abs(np.asarray(theta, float))[None, :] \
                / np.maximum(np.abs(z), 1.0)[:, None]
        i, j = map(int, np.unravel_index(int(np.nanargmax(ratio)), ratio.shape))
        raise singular_error(who, f"∂{names_z[i]}/∂{names_theta[j]} = {dz[i, j]:.3g} (a "
                             "sensitivity only a numerically singular ∂F/∂z gives)", point)


def finite_or_nan(value) -> float:
    """A noise value as a float; NaN when it is not a real number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def inverses(J):
    """J⁻¹ for a batch (M, n, n); NaN for the singular or non-finite members."""
    out = np.full(J.shape, np.nan)
    with np.errstate(all="ignore"):
        ok = np.isfinite(J).all(axis=(-2, -1))
        ok[ok] = np.abs(np.linalg.det(J[ok])) > 0
        if ok.any():
            try:
                out[ok] = np.linalg.inv(J[ok])
            except np.linalg.LinAlgError:                              # det underflow-misjudged
                for i in np.flatnonzero(ok):
                    try:
                        out[i] = np.linalg.inv(J[i])
                    except np.linalg.LinAlgError:
                        pass
    return out


def kink_test(compiled, Z, TH, J, NF):
    """(mask (M, K) of the kinks g_k the points sit on, g (M, K), bound (M, K)).

    Z (M, n) solutions, TH the θ columns, J (M, n, n) ∂F/∂z there, NF (M, n) N(F) there;
    uⱼ = |zⱼ| + (|J⁻¹|·N(F))ⱼ, bound = 8ε·(N(g) + |∂g/∂z|·u)."""
    g, Ng, dg = compiled.kink_values(Z, TH)
    with np.errstate(all="ignore"):
        Jinv = np.abs(inverses(J))
        u = np.abs(Z) + (Jinv @ np.nan_to_num(NF, nan=0.0)[..., None])[..., 0]   # |z| + |J⁻¹|N(F)
        spread = (dg @ u[..., None])[..., 0]                                      # Σⱼ |∂g/∂zⱼ| uⱼ
        bound = KINK_FLOOR * (np.nan_to_num(Ng, nan=0.0) + np.nan_to_num(spread, nan=0.0))
    return np.abs(g) <= bound, g, bound


def unresolved(jacobian_at, Z, TH, J, NF):
    """Batch mask (M,): ∂F/∂z changes by more than half its distance to singularity within the
    rounding uncertainty of the solution (a tangency or multiple root that the float64 solve
    resolves only to √ε; e.g. trilateration where the spheres touch).

    u = 2ε·|J⁻¹|·N(F) bounds how far the float64 root may sit from the true one; the test is
    ‖J⁻¹(J(z ± u) - J(z))‖∞ ≥ ½ (Banach: below ½, J stays invertible on that box; in this
    form, unlike ‖ΔJ‖·‖J⁻¹‖, the test does not depend on the units the equations are written in).
    ``jacobian_at(Z, TH) -> (M, n, n)``; NaN noise (unknown) gives no verdict."""
    with np.errstate(all="ignore"):
        Jinv = inverses(J)                                             # NaN where singular
        u = 2 * EPS * (np.abs(Jinv) @ NF[..., None])[..., 0]          # |J⁻¹|·2εN(F)
        known = np.isfinite(u).all(axis=1)
        u = np.where(np.isfinite(u), u, 0.0)
        worst = np.zeros(J.shape[0])
        for sign in (1.0, -1.0):
            try:
                Js = jacobian_at(Z + sign * u, TH)
            except (SymimplicitError, ArithmeticError, ValueError):    # outside the domain:
                continue                                               # no verdict from that side
            change = np.abs(Jinv @ (Js - J)).sum(axis=-1).max(axis=-1)  # ‖J⁻¹ΔJ‖∞
            worst = np.maximum(worst, np.nan_to_num(change, nan=np.inf))
        return known & (worst >= 0.5)


SCREEN = 100.0
"""Margin of the fast paths below over the estimates they use: LAPACK's condition estimate is
within a factor 3 or so of the truth in practice (Higham, *Accuracy and Stability*, §15.3)."""


def surely_conditioned(lu) -> bool:
    """A sufficient condition for ``singular_jacobian`` to be False, from the LU's estimate:
    κ₂ ≤ n·κ₁, so n·κ̂₁·SCREEN < SINGULAR_COND leaves no doubt without an SVD."""
    cond = lu.condition
    return cond == cond and cond * lu.n * SCREEN < SINGULAR_COND


def surely_resolved(row_change, z, lu, NF) -> bool:
    """A sufficient condition for :func:`unresolved` to be False, in O(n²) after the LU of J.

    With S = D_r J D_c and ‖S⁻¹‖∞ ≤ n‖S⁻¹‖₁ ≲ n·SCREEN·(κ̂₁/‖S‖₁) =: s, the rounding
    uncertainty u = 2ε|J⁻¹|N(F) is below the box ū = 2ε·s·‖D_r N(F)‖∞·D_c, and
    ‖J⁻¹ΔJ‖∞ ≤ ‖D_c‖∞·s·‖D_r ΔJ‖∞.  Both sides of the box below ½: resolved.
    ``row_change(z') -> `` an upper bound of the row sums of |J(z') - J(z)|.  Unknown noise
    gives no verdict, as in :func:`unresolved`; anything else undecided (no estimate, a
    side outside the domain, a bound at or above ½) is left to the exact test."""
    if not np.isfinite(NF).all():
        return True                                                  # unresolved: no verdict
    s = lu.n * SCREEN * lu.inverse_norm
    if not s < math.inf:                                             # NaN (no LAPACK) or inf
        return False
    with np.errstate(all="ignore"):
        box = 2 * EPS * s * float(np.max(lu.rows * NF)) * lu.cols        # ū ≥ 2ε|J⁻¹|N(F)
        gain = float(lu.cols.max()) * s                                  # ‖J⁻¹‖∞ bound
        for sign in (1.0, -1.0):
            try:
                rows = row_change(z + sign * box)
            except (SymimplicitError, ArithmeticError, ValueError):
                return False
            change = gain * float((lu.rows * rows).max())            # ‖J⁻¹ΔJ‖∞ bound
            if not change < 0.5:                                     # NaN: undecided
                return False
    return True


def unresolved_scalar(derivative_at, x: float, dF: float, NF: float) -> bool:
    """:func:`unresolved` for one unknown, in floats (the layer's hot path: the batch version's
    array machinery was 60% of a scalar layer call): u = 2ε·N(F)/|F_x|, and the test is
    |F_x(x ± u) - F_x(x)| ≥ ½|F_x|.  ``derivative_at(x) -> F_x``; F_x nonzero and finite."""
    u = 2 * EPS * NF / abs(dF)                                        # |J⁻¹|·2εN(F)
    if not u - u == 0.0:                                              # NaN or ±inf: no verdict
        return False
    worst = 0.0
    for sign in (1.0, -1.0):
        try:
            moved = derivative_at(x + sign * u)
        except (SymimplicitError, ArithmeticError, ValueError):     # outside the domain:
            continue                                                  # no verdict from that side
        change = abs(moved - dF) / abs(dF)                            # |J⁻¹ΔJ|
        worst = max(worst, change if change == change else math.inf)  # NaN: a jump
    return worst >= 0.5
