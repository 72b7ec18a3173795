"""The inequality-constrained argmin as a tape primitive: ``Minimize(..., constraints=[h <= 0]).primitive()``.

Forward: solve min f s.t. g = 0, h ≤ 0 in float64 (:mod:`symimplicit.lower.kkt_solve`:
interior point, then an active-set Newton polish), check LICQ and second-order sufficiency,
and keep the solution z = (x, λ, μ) and its active set A on the node.

Backward: at a solution with strict complementarity the solution is locally the root of the
reduced KKT system F_A(z_A, θ) = 0 (:mod:`symimplicit.active_set`), so, as for any implicit
layer, one adjoint solve with the reduced KKT Jacobian at the cached solution:

    (∂F_A/∂z_A)ᵀ w = z̄_A,     θ̄ = -wᵀ ∂F_A/∂θ              (inactive μ ≡ 0: no cotangent)

where ∂F_A/∂z_A and ∂F_A/∂θ are the rows and columns of A in the compiled full KKT system.
A weakly active constraint (μᵢ = 0 and hᵢ = 0) has no derivative: the backward pass raises
:class:`~symimplicit.errors.NonDifferentiableError` naming it, unless the layer was made with
``side="right"`` / ``"left"``: then each θ̄ⱼ is z̄ · (the one-sided partial derivative in θⱼ),
from the sensitivity system in which every weakly active constraint may stay active or leave
(:meth:`InequalityLayer.directional_derivative` takes any direction).
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np

from symimplicit.errors import (ArgumentError, NonDifferentiableError, NonFiniteError,
                                StatementError, SymimplicitError)
from symimplicit.lower.higher import active_set_vjp_tape
from symimplicit.lower.kkt_solve import FullKKT, solve_kkt
from symimplicit.lower.options import as_floats, check_max_iter, check_tol, parameter_value
from symimplicit.tape.engine import Function, Saved

__all__ = ["InequalityLayer", "full_kkt"]

WARM_TRUST = 0.1        # as ImplicitLayer: a warm result within 10 % of (|x_prev| + 1) is kept
SIDE_TOL = 1e-10        # sign tests of the one-sided sensitivity system (relative)
MAX_WEAK = 10           # one-sided derivatives enumerate the 2^k choices of k weak constraints


@lru_cache(maxsize=64)
def full_kkt(statement) -> FullKKT:
    """The compiled full KKT system of ``statement`` (memoised: one compilation per statement)."""
    return FullKKT(statement)


class InequalityLayer(Function):
    """The solution x*(θ) of an inequality-constrained :class:`Minimize` as one tape primitive.

    ``layer(*params)`` returns x (a Scalar, or a tuple); with ``multipliers=True`` the tuple
    also holds every multiplier, λ of the equalities then μ of each inequality (0 when
    inactive), each differentiable.

    Options: ``x0`` (the start of the interior point method; default 0), ``tol`` and
    ``max_iter`` (of the Newton polish), ``multipliers``, ``side`` (``None``: a weakly
    active constraint makes backward raise NonDifferentiableError; ``"right"`` / ``"left"``:
    one-sided partial derivatives there), ``warm_start`` (default False: every call solves
    cold, so the same parameters give the same bits whatever was solved before; ``True``
    starts the Newton polish from the last solution's active set and keeps its result only
    when it passes every check and lies within a trust region of the previous solution: the
    same minimizer where it is unique (convex problems), equal to rounding but not bit for
    bit, and for a nonconvex problem possibly another local minimizer).

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit import Minimize
    >>> from symimplicit.tape import Scalar, backward
    >>> x, a = sp.symbols("x a")
    >>> layer = Minimize((x - a)**2, x, [a], constraints=[x >= 0, x <= 1]).primitive()
    >>> A = Scalar(0.25); X = layer(A); backward(X); (X.value, A.grad)
    (0.25, 1.0)
    >>> A = Scalar(3.0); X = layer(A); backward(X); (X.value, A.grad)
    (1.0, 0.0)

    See Also
    ========

    symimplicit.active_set.ActiveSetDerivation : the symbolic derivation under an active set
    """

    def __init__(self, statement, *, x0=None, tol=None, max_iter=None, multipliers=False,
                 side=None, warm_start=False, name=None):
        self.statement = statement
        self._who = who = name or "Minimize.primitive()"
        if side not in (None, "left", "right"):
            raise StatementError(f"{who}: side must be None, 'left' or 'right', got {side!r}")
        self.side = side
        self.kkt = kkt = full_kkt(statement)
        self.tol, self.max_iter = check_tol(tol, who), check_max_iter(max_iter, who)
        self.with_multipliers = bool(multipliers)
        self.warm_start = bool(warm_start)
        self._n_out = kkt.n + (kkt.m + kkt.q if self.with_multipliers else 0)
        self._start = self._initial(x0)
        self._warm = None
        self.last_point = None
        super().__init__(name or "MinimizeLayer", self._forward, vjp=self._vjp,
                         n_outputs=self._n_out, vjp_tape=active_set_vjp_tape(self))

    def __repr__(self):
        return f"InequalityLayer({self.statement!r}, multipliers={self.with_multipliers})"

    params = property(lambda self: tuple(self.statement.params),
                      doc="The parameters in call order: ``layer(*values)`` takes them so.")

    @property
    def outputs(self) -> tuple:
        """The Symbols of the outputs, in order: x, then (with multipliers) λ and μ."""
        st = self.statement
        out = tuple(st.unknowns)
        if self.with_multipliers:
            out += tuple(st.multipliers) + tuple(st.inequality_multipliers)
        return out

    def _initial(self, x0):
        n = self.kkt.n
        if x0 is None:
            return np.zeros(n)
        values = as_floats(x0, "x0", self._who)
        if len(values) == 1:
            values *= n
        if len(values) != n:
            raise StatementError(f"{self._who}: x0 has {len(values)} value(s) for the unknowns "
                                 f"{self.statement.unknowns}")
        if not all(math.isfinite(v) for v in values):
            raise NonFiniteError(f"{self._who}: x0 = {x0!r} is not finite")
        return np.array(values)

    # -- the call --------------------------------------------------------------- #
    def map(self, *args, x0=None):
        """Not batched: the active set differs from instance to instance (a typed error)."""
        raise StatementError(f"{self.name}.map: inequality-constrained layers have no batched "
                             "solve (each instance has its own active set); call the layer per "
                             "instance")

    def __call__(self, *params, **kwargs):
        p = len(self.statement.params)
        if len(params) != p:
            raise ArgumentError(f"{self.name} takes the {p} parameter(s) "
                                f"{self.statement.params} in order, got {len(params)}")
        return Function.__call__(self, *params, **kwargs)

    def _theta(self, params) -> tuple:
        names = self.statement.params
        theta = tuple(parameter_value(n, v, self.name) for n, v in zip(names, params))
        for n, t in zip(names, theta):
            if not math.isfinite(t):
                raise NonFiniteError(f"{self.name}: the parameter {n} = {t} is not finite",
                                     point=dict(zip(map(str, names), theta)))
        return theta

    def kkt_point(self, *params, x0=None):
        """The checked :class:`~symimplicit.lower.kkt_solve.KKTPoint` at ``params``."""
        theta = self._theta(params)
        if x0 is not None:
            return self._solve(theta, self._initial(x0))
        warm = self._warm
        if warm is not None and self.warm_start:
            try:
                point = solve_kkt(self.kkt, None, theta, active=warm.active, z0=warm.z,
                                  tol=self.tol, max_iter=self.max_iter)
                n = self.kkt.n
                if np.max(np.abs(point.z[:n] - warm.z[:n]), initial=0.0) <= \
                        WARM_TRUST * (np.max(np.abs(warm.z[:n]), initial=0.0) + 1.0):
                    self._warm = point
                    return point
            except SymimplicitError:
                pass                                                   # the cold start decides
        point = self._solve(theta, self._start)
        self._warm = point
        return point

    def _solve(self, theta, x0):
        return solve_kkt(self.kkt, x0, theta, tol=self.tol, max_iter=self.max_iter)

    def solve(self, *params, x0=None):
        """The float outputs at ``params`` (a float, or a tuple)."""
        return self._forward(*params, x0=x0).value

    def active_set(self, *params) -> tuple:
        """The active inequalities at the solution, as the relations given."""
        point = self.kkt_point(*params)
        return tuple(self.statement.inequalities[i].source for i in point.active)

    def _forward(self, *params, x0=None):
        theta = self._theta(params)
        point = self.kkt_point(*params, x0=x0)
        self.last_point = point
        n, z = self.kkt.n, point.z
        values = [float(v) for v in (z if self.with_multipliers else z[:n])]
        return Saved(tuple(values) if self._n_out > 1 else values[0], (point, theta))

    # -- backward ----------------------------------------------------------------- #
    def _vjp(self, g, node):
        point, theta = node.state
        zbar = np.zeros(self.kkt.size)
        zbar[:self._n_out] = g if self._n_out > 1 else [g]
        if point.weak:
            if self.side is None:
                raise self._non_differentiable(point, theta)
            sign = 1.0 if self.side == "right" else -1.0
            p = len(theta)
            out = []
            for j in range(p):
                d = np.zeros(p)
                d[j] = sign                                            # left: -D₋ₑ = derivative from below
                out.append(sign * float(zbar @ self._sensitivity(point, theta, d)))
            return out
        idx = self.kkt.indices(point.active)
        K, rhs = point.jacobian.T, zbar[idx]
        w = np.linalg.solve(K, rhs)                                    # (∂F_A/∂z_A)ᵀ w = z̄_A
        w += np.linalg.solve(K, rhs - K @ w)                           # one refinement step (exact zeros ~0)
        Ft = self.kkt.param_jacobian(point.z, theta)[idx]
        return [float(v) + 0.0 for v in -(Ft.T @ w)]                   # θ̄ = -wᵀ ∂F_A/∂θ (no -0.0)

    def _non_differentiable(self, point, theta) -> NonDifferentiableError:
        st = self.statement
        names = ", ".join(self.kkt.constraint_text(i) for i in point.weak)
        return NonDifferentiableError(
            f"{self.name}: the constraint(s) {names} are weakly active at the solution "
            f"({self._where(point, theta)}): zero multiplier at zero slack, so the solution "
            "has a kink in the parameters and the derivative does not exist there; "
            "primitive(side='right'/'left') gives one-sided derivatives",
            kink=st.inequalities[point.weak[0]].h, point=self.kkt.point(point.z, theta))

    def _where(self, point, theta) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.kkt.point(point.z, theta).items())

    def _sensitivity(self, point, theta, d) -> np.ndarray:
        """ż = lim_{t→0⁺} (z(θ + t d) - z(θ))/t over the full z (inactive μ̇ = 0).

        The strictly active constraints stay active; each weakly active one either stays
        active with μ̇ᵢ ≥ 0 or leaves with ∇hᵢ·ẋ + ∂hᵢ/∂θ·d ≤ 0: the first choice whose linear
        system K_T ż = -∂F_T/∂θ·d satisfies both is the one-sided derivative.
        """
        kkt, n, m = self.kkt, self.kkt.n, self.kkt.m
        weak = [i for i in point.weak]
        if len(weak) > MAX_WEAK:
            raise self._non_differentiable(point, theta)
        strict = [i for i in point.active if i not in weak]
        _, J = kkt.fj(point.z, theta)
        Ft = kkt.param_jacobian(point.z, theta)
        rate = Ft @ d
        for k in range(len(weak) + 1):
            for T in itertools.combinations(weak, k):
                idx = kkt.indices(sorted(strict + list(T)))
                try:
                    dz = np.linalg.solve(J[np.ix_(idx, idx)], -rate[idx])
                except np.linalg.LinAlgError:
                    continue
                full = np.zeros(kkt.size)
                full[idx] = dz
                scale = SIDE_TOL * (1.0 + np.max(np.abs(full)))
                stays = all(full[n + m + i] >= -scale for i in T)      # μ̇ᵢ ≥ 0
                leaves = all(J[n + m + i, :n] @ full[:n] + rate[n + m + i] <= scale
                             for i in weak if i not in T)              # ḣᵢ ≤ 0
                if stays and leaves:
                    return full
        raise self._non_differentiable(point, theta)

    def directional_derivative(self, *params, direction, side="right") -> tuple:
        """The one-sided derivative of the outputs along ``direction`` (one number per
        parameter): ``side="right"`` is lim_{t→0⁺} (y(θ + t d) - y(θ))/t, ``"left"`` the limit
        from t < 0.  Equal to the Jacobian times d where the derivative exists."""
        theta = self._theta(params)
        d = np.array(as_floats(direction, "direction", self._who))
        if len(d) != len(theta):
            raise StatementError(f"{self._who}: the direction has {len(d)} component(s) for the "
                                 f"{len(theta)} parameter(s) {self.statement.params}")
        if side not in ("left", "right"):
            raise StatementError(f"{self._who}: side must be 'left' or 'right', got {side!r}")
        point = self.kkt_point(*params)
        sign = 1.0 if side == "right" else -1.0
        dz = sign * self._sensitivity(point, theta, sign * d)
        return tuple(float(v) + 0.0 for v in dz[:self._n_out])
