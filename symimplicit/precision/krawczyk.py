"""Proofs by interval arithmetic: a unique root in a box (Krawczyk), the solution set of an
interval linear system, and positivity of the second-order conditions over a box.

**Krawczyk** (:func:`enclose_root`).  For F: ℝⁿ → ℝⁿ, a box X, a point m ∈ X and a
nonsingular Y ≈ (∂F/∂z(m))⁻¹,

    K(X) = m − Y F(m) + (I − Y ∂F/∂z(X)) (X − m)

contains every zero of F in X (m must lie in X: the mean-value form of F holds
on X only), and K(X) ⊂ interior(X) proves that F has exactly
one zero in X (Krawczyk 1969, Moore 1977).  The box is found by ε-inflation
(Rump): start at the high-precision Newton point with a tiny radius, widen it
while K(X) ⊄ X, then contract X ← K(X) ∩ X.  K(X) ∩ X = ∅ proves there is no zero
in X.

**Linear systems** (:func:`enclose_linear`).  Every solution Z of A Z = B with
A ∈ 𝐀, B ∈ 𝐁 satisfies, for Z₀ = Y mid(𝐁), E = Z − Z₀:

    E = Y (B − A Z₀) + (I − Y A) E,    so   ‖E‖∞ ≤ ‖𝐫‖∞ / (1 − β)

with 𝐫 = Y(𝐁 − 𝐀 Z₀), β = ‖ |I − Y 𝐀| ‖∞ < 1; then E ∈ 𝐫 + (I − Y𝐀)[−ρ, ρ].

All of it runs at the current ``mpmath.iv`` precision (see :func:`~.interval.ivprec`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath

from symimplicit.errors import SymimplicitError
from symimplicit.precision.interval import hi, interior, intersect, iv, lo, mag, mid, point

__all__ = ["Enclosure", "NotProved", "enclose_root", "enclose_linear", "midpoint_inverse",
           "cholesky_proves_pd", "prove_minimum", "MAX_INFLATIONS", "MAX_CONTRACTIONS"]

mp = mpmath.mp

MAX_INFLATIONS = 40
"""ε-inflation steps (each at least doubles the radius) before Krawczyk gives up."""

MAX_CONTRACTIONS = 8
"""Contractions X ← K(X) ∩ X after the proof (each step roughly squares the width)."""

MAX_RELATIVE_RADIUS = mpmath.mpf("1e-3")
"""The largest box tried: radius 10⁻³ · max(|m|, 1)."""


class NotProved(SymimplicitError, ArithmeticError):
    """An enclosure that could not be proved; ``kind`` says why:

    ``"singular"`` (∂F/∂z singular at the point: a double root or a fold),
    ``"not_unique"`` (K(X) ⊄ X for every box tried: two roots close together or
    a nearly singular ∂F/∂z), ``"no_root"`` (a box proved to hold no zero),
    ``"domain"`` (the box leaves a function's domain), ``"unsupported"`` (no interval
    rule), ``"not_minimum"`` (the second-order condition is not proved),
    ``"no_convergence"`` (no high-precision point to start from), ``"linear"``
    (the interval linear system of a derivative is not proved regular),
    ``"target"`` (the target itself failed).
    """

    def __init__(self, kind: str, reason: str):
        self.kind = kind
        self.reason = reason
        super().__init__(reason)


@dataclass
class Enclosure:
    """A box proved to hold exactly one zero of F.

    ``box``: the contracted enclosure (one interval per system unknown);
    ``uniqueness``: the larger box in which the zero was proved unique;
    ``inflations`` / ``contractions``: the steps it took.
    """

    box: list
    uniqueness: list
    inflations: int = 0
    contractions: int = 0
    notes: list = field(default_factory=list)


# --------------------------------------------------------------------------- #
# small interval linear algebra on lists                                        #
# --------------------------------------------------------------------------- #
def _matvec(M: list, v: list) -> list:
    return [_dot(row, v) for row in M]


def _dot(row: list, v: list):
    total = iv.mpf(0)
    for a, b in zip(row, v):
        total = total + a * b
    return total


def _matmul(A: list, B: list) -> list:
    cols = list(zip(*B))
    return [[_dot(row, col) for col in cols] for row in A]


def midpoint_inverse(J: list, where: str) -> list:
    """Y ≈ mid(J)⁻¹ as point intervals (floating point: Y need not be exact, only
    nonsingular, which the proof itself then certifies)."""
    n = len(J)
    M = mpmath.matrix([[mid(J[i][j]) for j in range(n)] for i in range(n)])
    try:
        Y = mpmath.inverse(M)
    except (ZeroDivisionError, TypeError):                   # mpmath 1.3: TypeError on a zero column
        raise NotProved("singular", f"{where} is singular at the point (its midpoint matrix "
                        "has no inverse): a double root, a fold, or two roots closer than "
                        "the working precision; the implicit function theorem does not apply"
                        ) from None
    if not all(mpmath.isfinite(Y[i, j]) for i in range(n) for j in range(n)):
        raise NotProved("singular", f"{where} is singular at the point: a double root or a fold")
    return [[point(Y[i, j]) for j in range(n)] for i in range(n)]


def _identity_minus(Y: list, J: list) -> list:
    """I − Y J (interval)."""
    YJ = _matmul(Y, J)
    n = len(YJ)
    return [[(1 if i == j else 0) - YJ[i][j] for j in range(n)] for i in range(n)]


# --------------------------------------------------------------------------- #
# Krawczyk                                                                      #
# --------------------------------------------------------------------------- #
def enclose_root(F: Callable, J: Callable, m: Sequence, radius: Sequence | None = None,
                 where: str = "∂F/∂z") -> Enclosure:
    """A box around ``m`` proved to hold exactly one zero of F (see the module docstring).

    Parameters
    ==========
    F : intervals (one per unknown) → list of intervals F(X)
    J : intervals → n × n list of intervals ∂F/∂z(X)
    m : the centre (mpf), a good approximation of the zero
    radius : the first radii tried (default: a few units in the last place of m)

    Raises NotProved (``kind`` ``"singular"``, ``"not_unique"``, ``"no_root"``) or
    DomainError from F or J when a box leaves their domain.
    """
    n = len(m)
    m = [mp.mpf(v) for v in m]
    M = [point(v) for v in m]
    Fm = F(M)                                                 # F(m), enclosed
    Y = midpoint_inverse(J(M), where)
    step = _matvec(Y, Fm)                                     # Y F(m): the Newton step
    scale = max([abs(v) for v in m] + [mp.one])
    ulp = mp.mpf(2) ** (8 - mp.prec)
    r = list(radius) if radius is not None else \
        [4 * mag(s) + ulp * max(abs(v), scale * ulp) for s, v in zip(step, m)]
    limit = MAX_RELATIVE_RADIUS * scale
    empty_seen = None
    for inflation in range(MAX_INFLATIONS):
        X = [iv.mpf([v - ri, v + ri]) for v, ri in zip(m, r)]
        K = _krawczyk(X, M, step, Y, J)
        if all(interior(k, x) for k, x in zip(K, X)):
            enclosure = Enclosure(box=list(K), uniqueness=X, inflations=inflation)
            _contract(enclosure, F, Y, J)
            return enclosure
        if any(intersect(k, x) is None for k, x in zip(K, X)):
            empty_seen = max(r)                               # proved: no zero in this X
        r = [2 * max(ri, mag(k - v)) for ri, k, v in zip(r, K, M)]   # ε-inflation
        if max(r) > limit:
            break
    if empty_seen is not None and empty_seen >= max(r) / 4:
        raise NotProved("no_root", f"no zero of F in the box of radius "
                        f"{mpmath.nstr(empty_seen, 3)} around {_text(m)}: K(X) ∩ X = ∅")
    raise NotProved("not_unique", "Krawczyk's test K(X) ⊂ X failed for every box up to "
                    f"radius {mpmath.nstr(max(r) / 2, 3)} around {_text(m)}: no unique zero is "
                    f"proved ({where} is nearly singular — a fold or a double root close by — "
                    "or two zeros are too close together)")


def _krawczyk(X: list, M: list, step: list, Y: list, J: Callable) -> list:
    """K(X) = m − Y F(m) + (I − Y J(X))(X − m)."""
    C = _identity_minus(Y, J(X))
    D = [x - c for x, c in zip(X, M)]
    return [c - s + t for c, s, t in zip(M, step, _matvec(C, D))]


def _contract(enclosure: Enclosure, F: Callable, Y, J) -> None:
    """X ← K(X) ∩ X while the width keeps falling.  Krawczyk needs its centre in X
    (the mean-value form holds on X only): each step re-centres on m = mid(X)."""
    X = enclosure.box
    width = max(hi(x) - lo(x) for x in X)
    for k in range(MAX_CONTRACTIONS):
        M = [point(mid(x)) for x in X]                        # m ∈ X
        step = _matvec(Y, F(M))
        K = _krawczyk(X, M, step, Y, J)
        cut = [intersect(a, b) for a, b in zip(K, X)]
        if any(c is None for c in cut):                       # cannot happen for a true zero
            break
        new = max(hi(x) - lo(x) for x in cut)
        X = cut
        enclosure.contractions = k + 1
        if not new < width / 2:
            break
        width = new
    enclosure.box = X


def _text(m) -> str:
    return mpmath.nstr(m[0], 10) if len(m) == 1 else "[" + ", ".join(mpmath.nstr(v, 10)
                                                                       for v in m) + "]"


# --------------------------------------------------------------------------- #
# interval linear systems                                                       #
# --------------------------------------------------------------------------- #
def enclose_linear(A: list, B: list, Y: list | None = None, where: str = "∂F/∂z") -> list:
    """An enclosure of every solution Z of A Z = B, A ∈ 𝐀 (n × n), B ∈ 𝐁 (n × p).

    ``Y`` ≈ mid(𝐀)⁻¹ (computed when not given).  Raises NotProved (``"linear"``) when
    β = ‖|I − Y𝐀|‖∞ ≥ 1: then 𝐀 is not proved regular.
    """
    n = len(A)
    p = len(B[0]) if B else 0
    if Y is None:
        Y = midpoint_inverse(A, where)
    C = _identity_minus(Y, A)
    beta = max(hi(_dot([abs(c) for c in row], [iv.mpf(1)] * n)) for row in C)  # ‖|C|‖∞, rounded up
    if not beta < 1:
        raise NotProved("linear", f"{where} over the box is not proved nonsingular "
                        f"(‖I − Y·J‖∞ = {mpmath.nstr(beta, 3)} ≥ 1)")
    Z0 = _matmul(Y, [[point(mid(b)) for b in row] for row in B])
    Z0 = [[point(mid(z)) for z in row] for row in Z0]         # a floating-point guess
    AZ0 = _matmul(A, Z0)
    R = _matmul(Y, [[B[i][j] - AZ0[i][j] for j in range(p)] for i in range(n)])  # 𝐫 = Y(𝐁 − 𝐀Z₀)
    out = [[None] * p for _ in range(n)]
    for j in range(p):
        r = [R[i][j] for i in range(n)]
        rho = hi(iv.mpf(max(mag(v) for v in r)) / (1 - iv.mpf(beta)))   # ρ ≥ ‖𝐫‖∞/(1 − β)
        E = [v + t for v, t in zip(r, _matvec(C, [iv.mpf([-rho, rho])] * n))]
        for i in range(n):
            out[i][j] = Z0[i][j] + E[i]
    return out


# --------------------------------------------------------------------------- #
# positive definiteness                                                         #
# --------------------------------------------------------------------------- #
def cholesky_proves_pd(H: list) -> bool:
    """True when interval Cholesky succeeds on the lower triangle of 𝐇: then every
    symmetric matrix in 𝐇 is positive definite (Alefeld & Mayer 1993).

    d_k = h_kk − Σ_{j<k} l_kj² must be proved > 0; l_ik = (h_ik − Σ_{j<k} l_ij l_kj)/√d_k.
    """
    n = len(H)
    L = [[None] * n for _ in range(n)]
    for k in range(n):
        d = H[k][k]
        for j in range(k):
            d = d - L[k][j] ** 2
        if not lo(d) > 0:
            return False
        L[k][k] = iv.sqrt(d)
        for i in range(k + 1, n):
            s = H[i][k]
            for j in range(k):
                s = s - L[i][j] * L[k][j]
            L[i][k] = s / L[k][k]
    return True


def prove_minimum(J: list, n: int) -> str | None:
    """Whether the KKT Jacobian 𝐉 over a box proves a strict local minimum.

    𝐉 = [[∇²ₓL, Jgᵀ], [Jg, 0]] (n unknowns, m = len(𝐉) − n constraints).  Finsler:
    if ∇²ₓL + c JgᵀJg ≻ 0 for some c ≥ 0 then vᵀ∇²ₓL v > 0 for every v ≠ 0 with
    Jg v = 0 (the reduced Hessian is positive definite), for every point of the
    box.  Returns the c that worked (as text), or None when no c in
    0, 10⁰ … 10¹² (scaled by ‖∇²L‖/‖Jg‖²) is proved.
    """
    m = len(J) - n
    Hs = [row[:n] for row in J[:n]]
    if m == 0:
        return "0" if cholesky_proves_pd(Hs) else None
    G = [row[:n] for row in J[n:]]                            # Jg (m × n)
    GtG = [[_dot([G[k][i] for k in range(m)], [G[k][j] for k in range(m)]) for j in range(n)]
           for i in range(n)]
    h = max(mag(v) for row in Hs for v in row) or mp.one
    g = max(mag(v) for row in GtG for v in row) or mp.one
    for c in [mp.zero] + [h / g * mp.mpf(10) ** k for k in range(13)]:
        C = point(c)
        if cholesky_proves_pd([[Hs[i][j] + C * GtG[i][j] for j in range(n)] for i in range(n)]):
            return mpmath.nstr(c, 3)
    return None
