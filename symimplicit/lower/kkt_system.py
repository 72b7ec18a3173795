"""The compiled KKT system of an inequality-constrained Minimize, every inequality an equality.

:class:`FullKKT` lowers F(z, θ) = [∇ₓL ; g ; h] in z = (x, λ, μ) once (:func:`compile_statement`
of its :class:`~symimplicit.statements.Root`); its Jacobian
J = [[∇²ₓL, Jgᵀ, Jhᵀ], [Jg, 0, 0], [Jh, 0, 0]] holds every piece the interior point method
(:mod:`symimplicit.lower.interior_point`) and the active-set polish
(:mod:`symimplicit.lower.kkt_solve`) need; the rows and columns of an active set A are the
reduced KKT system of :mod:`symimplicit.active_set` (:class:`_Reduced`).
"""
from __future__ import annotations

import numpy as np

from symimplicit.errors import DomainError, NonFiniteError
from symimplicit.lower.compiled import compile_statement

__all__ = ["FullKKT"]


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

    def fj(self, zr, theta):
        F, J = self.kkt.fj(self.full(zr), theta)
        idx = self.idx
        return F[idx], J[np.ix_(idx, idx)]

    def noise_at(self, zr, theta):
        return self.fjn(zr, theta)[2]                   # N(F) on the reduced rows, on demand

    def point(self, zr, theta):
        return self.kkt.point(self.full(zr), theta)


def _inf(v) -> float:
    return float(np.max(np.abs(v))) if len(v) else 0.0


def _evaluate(kkt, z, theta):
    F, J = kkt.fj(z, theta)
    if not (np.all(np.isfinite(F)) and np.all(np.isfinite(J))):
        raise NonFiniteError(f"the KKT residual is not finite at {_where(kkt, z, theta)}",
                             point=kkt.point(z, theta))
    return F, J


def _where(kkt, z, theta, upto=None) -> str:
    pt = kkt.point(z, theta)
    names = kkt.names[:upto] if upto is not None else kkt.names[:kkt.n]
    keep = set(names) | {str(p) for p in kkt.statement.params}
    return ", ".join(f"{k}={v:.6g}" for k, v in pt.items() if k in keep)
