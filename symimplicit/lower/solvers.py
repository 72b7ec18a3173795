"""Float64 solvers for F(z, θ) = 0, each a small class; a name -> solver table; a thin driver.

Modelled on mpmath's ``calculus/optimization.py``.  A solver receives a
*system*, an object with

* ``fdf(x, theta) -> (F, F_x)``           scalar unknown (floats),
* ``fj(z, theta) -> (F, J)``              vector unknowns (NumPy arrays),
* ``fmap(z, theta) -> f``                 fixed points only: the map x ↦ f(x, θ),
* ``point(z, theta) -> dict``             names -> values, for error messages,

where each evaluation raises :class:`~symimplicit.errors.DomainError` outside
the residual's domain.  The Jacobians come from SymPy (see ``compiled.py``);
nothing here differentiates anything.

Convergence "to machine precision" means: the step falls below ``tol`` relative
to the iterate (default 4 ulps), or the residual stops decreasing while the
step is already tiny (the residual's rounding floor).  Otherwise, after
``max_iter`` iterations, :class:`~symimplicit.errors.ConvergenceError` names the
iterations, the last residual and the point.
"""
from __future__ import annotations

import math

import numpy as np

from symimplicit.errors import ConvergenceError, DomainError

__all__ = ["Solution", "ScalarNewton", "VectorNewton", "FixedPointIteration", "Anderson", "AffineSolve",
           "SOLVERS", "solver_class", "DEFAULT_TOL"]

EPS = 2.0 ** -52
DEFAULT_TOL = 4 * EPS          # a step below 4 ulps of the iterate: converged
FLOOR = 1e-8                   # a step this small (relative, or absolute near 0) may stop at the rounding floor
MAX_HALVINGS = 40              # backtracking line search: at most 2⁻⁴⁰ of the Newton step


class Solution:
    """What a solver found: ``z`` (float, or ndarray), ``iterations``, ``residual`` (|F| or ‖F‖∞),
    ``jacobian`` (F_x, or J, at or one ulp-sized step from ``z``), ``multiple`` (Newton
    converged linearly: the root is multiple, ∂F/∂x vanishes there)."""

    __slots__ = ("z", "iterations", "residual", "jacobian", "multiple")

    def __init__(self, z, iterations, residual, jacobian, multiple=False):
        self.z = z
        self.iterations = iterations
        self.residual = residual
        self.jacobian = jacobian
        self.multiple = multiple


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

    Without a bracket the step is damped by backtracking until |F| does not grow
    (and a point outside the domain counts as a rejected trial).  With a bracket
    [lo, hi] (F changing sign) it is Newton-bisection: a Newton step leaving the
    bracket is replaced by bisection.
    """

    name = "newton"

    def solve(self, x0: float, theta: tuple, bracket=None) -> Solution:
        if bracket is not None:
            return self._bracketed(x0, theta, bracket)
        fdf, tol = self.system.fdf, self.tol
        x = float(x0)
        F, dF = fdf(x, theta)
        steps = []
        for k in range(1, self.max_iter + 1):
            if F == 0.0:
                return Solution(x, k - 1, 0.0, dF, _linear(steps))
            if dF == 0.0 or not math.isfinite(dF):
                raise self._fail(f"∂F/∂x = {dF} at an iterate", x, theta, k - 1, abs(F))
            dx = -F / dF                                             # Newton: Δx = -F/F_x
            steps.append(abs(dx))
            if abs(dx) <= tol * abs(x):
                return Solution(x + dx, k, abs(F), dF, _linear(steps))
            step = self._backtrack(x, dx, abs(F), theta)
            if step is None:                                         # no decrease possible
                if abs(dx) <= FLOOR * max(abs(x), 1.0):
                    return Solution(x, k, abs(F), dF, _linear(steps[:-1]))   # F's rounding floor
                raise self._fail("the residual stopped decreasing", x, theta, k, abs(F))
            x, F, dF = step
        if F == 0.0:
            return Solution(x, self.max_iter, 0.0, dF, _linear(steps))
        raise self._fail(f"no convergence to tol={tol:.3g}", x, theta, self.max_iter, abs(F))

    def _backtrack(self, x, dx, size, theta):
        """x + t Δx for t = 1, 1/2, ... until |F| ≤ |F(x)|; None when none qualifies."""
        fdf = self.system.fdf
        t = 1.0
        for _ in range(MAX_HALVINGS):
            xn = x + t * dx
            try:
                Fn, dFn = fdf(xn, theta)
            except DomainError:
                Fn = math.inf                                        # outside the domain: reject
            if abs(Fn) <= size:
                return xn, Fn, dFn
            if t == 1.0 and abs(dx) <= FLOOR * max(abs(x), 1.0):
                return None                                          # at the floor: stop early
            t *= 0.5
        return None

    def _bracketed(self, x0, theta, bracket) -> Solution:
        fdf, tol = self.system.fdf, self.tol
        lo, hi = (float(b) for b in bracket)
        if not lo < hi:
            raise ValueError(f"bracket must be (lo, hi) with lo < hi, got {bracket!r}")
        Flo, _ = fdf(lo, theta)
        Fhi, _ = fdf(hi, theta)
        if Flo == 0.0:
            return Solution(lo, 0, 0.0, fdf(lo, theta)[1])
        if Fhi == 0.0:
            return Solution(hi, 0, 0.0, fdf(hi, theta)[1])
        if (Flo > 0) == (Fhi > 0):
            raise self._fail(f"F has the same sign at both ends of the bracket [{lo!r}, {hi!r}] "
                             f"(F = {Flo:.3g}, {Fhi:.3g})", lo, theta, 0, min(abs(Flo), abs(Fhi)))
        rising = Fhi > 0
        x = float(x0) if x0 is not None and lo < x0 < hi else 0.5 * (lo + hi)
        F, dF = fdf(x, theta)
        for k in range(1, self.max_iter + 1):
            if F == 0.0:
                return Solution(x, k - 1, 0.0, dF)
            if (F > 0) == rising:                                    # keep F(lo) F(hi) < 0
                hi = x
            else:
                lo = x
            dx = -F / dF if dF != 0.0 else math.inf                  # Newton: Δx = -F/F_x
            xn = x + dx
            if not lo < xn < hi:
                xn = 0.5 * (lo + hi)                                 # bisection
                dx = xn - x
            if abs(dx) <= tol * abs(x) or hi - lo <= tol * max(abs(lo), abs(hi)):
                return Solution(xn, k, abs(F), dF)
            x = xn
            F, dF = fdf(x, theta)
        raise self._fail(f"no convergence to tol={tol:.3g} in the bracket [{lo!r}, {hi!r}]",
                         x, theta, self.max_iter, abs(F))


# --------------------------------------------------------------------------- #
# vector unknowns                                                              #
# --------------------------------------------------------------------------- #

def _norm(v) -> float:
    return float(np.max(np.abs(v))) if len(v) else 0.0


class VectorNewton(_Solver):
    """Damped Newton for n unknowns: solve J Δz = -F, backtrack until ‖F‖∞ does not grow."""

    name = "newton"

    def solve(self, z0, theta: tuple, bracket=None) -> Solution:
        if bracket is not None:
            raise ValueError("a bracket applies to a scalar unknown only")
        fj, tol = self.system.fj, self.tol
        z = np.array(z0, dtype=float)
        F, J = fj(z, theta)
        for k in range(1, self.max_iter + 1):
            size = _norm(F)
            if size == 0.0:
                return Solution(z, k - 1, 0.0, J)
            dz = self._step(F, J, z, theta, k)                       # J Δz = -F
            if _norm(dz) <= tol * _norm(z):
                return Solution(z + dz, k, size, J)
            step = self._backtrack(z, dz, size, theta)
            if step is None:
                if _norm(dz) <= FLOOR * max(_norm(z), 1.0):
                    return Solution(z, k, size, J)                   # the rounding floor of F
                raise self._fail("the residual stopped decreasing", z, theta, k, size)
            z, F, J = step
        if _norm(F) == 0.0:
            return Solution(z, self.max_iter, 0.0, J)
        raise self._fail(f"no convergence to tol={tol:.3g}", z, theta, self.max_iter, _norm(F))

    def _step(self, F, J, z, theta, k):
        try:
            return np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            raise self._fail("∂F/∂z is singular at an iterate", z, theta, k - 1, _norm(F)) from None

    def _backtrack(self, z, dz, size, theta):
        fj = self.system.fj
        t = 1.0
        for _ in range(MAX_HALVINGS):
            zn = z + t * dz
            try:
                Fn, Jn = fj(zn, theta)
                ok = _norm(Fn) <= size                               # NaN compares False: rejected
            except DomainError:
                ok = False
            if ok:
                return zn, Fn, Jn
            if t == 1.0 and _norm(dz) <= FLOOR * max(_norm(z), 1.0):
                return None
            t *= 0.5
        return None


# --------------------------------------------------------------------------- #
# fixed points                                                                 #
# --------------------------------------------------------------------------- #

class FixedPointIteration(_Solver):
    """Plain iteration x ← f(x, θ) (converges when |∂f/∂x| < 1 near the fixed point)."""

    name = "iterate"
    default_max_iter = 2000

    def solve(self, x0, theta: tuple, bracket=None) -> Solution:
        fmap, tol = self.system.fmap, self.tol
        x = np.atleast_1d(np.array(x0, dtype=float))
        previous = math.inf
        for k in range(1, self.max_iter + 1):
            xn = fmap(x, theta)                                      # x_{k+1} = f(x_k)
            diff = _norm(xn - x)
            if not math.isfinite(diff):
                raise self._fail("the iteration left the finite numbers", x, theta, k, diff)
            if diff <= tol * _norm(xn) or (diff >= previous and diff <= FLOOR * max(_norm(xn), 1.0)):
                return Solution(xn, k, diff, None)
            x, previous = xn, diff
        raise self._fail(f"no convergence to tol={tol:.3g}", x, theta, self.max_iter, previous)


class Anderson(_Solver):
    """Anderson acceleration (type II, memory ``m``) of x ← f(x, θ).

    With residuals gₖ = f(xₖ) - xₖ, find γ minimising ‖gₖ - ΔG γ‖ and set
    xₖ₊₁ = f(xₖ) - ΔF γ (ΔG, ΔF: the last m differences of g and of f).
    """

    name = "anderson"
    default_max_iter = 500
    memory = 5

    def solve(self, x0, theta: tuple, bracket=None) -> Solution:
        fmap, tol, m = self.system.fmap, self.tol, self.memory
        x = np.atleast_1d(np.array(x0, dtype=float))
        fx = fmap(x, theta)
        g = fx - x
        dG, dF = [], []
        previous = math.inf
        for k in range(1, self.max_iter + 1):
            size = _norm(g)
            if not math.isfinite(size):
                raise self._fail("the iteration left the finite numbers", x, theta, k, size)
            if size <= tol * _norm(fx) or (size >= previous and size <= FLOOR * max(_norm(fx), 1.0)):
                return Solution(fx, k, size, None)
            if dG:
                G, Fm = np.column_stack(dG), np.column_stack(dF)
                gamma = np.linalg.lstsq(G, g, rcond=None)[0]         # min ‖g - ΔG γ‖
                xn = fx - Fm @ gamma                                 # x⁺ = f(x) - ΔF γ
            else:
                xn = fx                                              # first step: plain iteration
            fn = fmap(xn, theta)
            gn = fn - xn
            dG.append(gn - g)
            dF.append(fn - fx)
            if len(dG) > m:
                dG.pop(0)
                dF.pop(0)
            x, fx, g, previous = xn, fn, gn, size
        raise self._fail(f"no convergence to tol={tol:.3g}", x, theta, self.max_iter, previous)


# --------------------------------------------------------------------------- #
# affine residuals                                                             #
# --------------------------------------------------------------------------- #

class AffineSolve(_Solver):
    """F affine in z (∂F/∂z free of z): one Newton step from z = 0 is exact, z = -J⁻¹ F(0, θ).

    A singular J is left to the caller's check at the solution (it returns z = 0).
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
        except np.linalg.LinAlgError:
            return Solution(zero, 1, _norm(F), J)


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
    except KeyError:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(SOLVERS)}") from None
    return pair[1] if vector else pair[0]
