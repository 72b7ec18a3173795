"""``certify`` for inequality-constrained statements: prove the active set, then its KKT point.

The float64 layer picks an active set A.  The certificate is that of the equality-constrained
argmin with the active inequalities as equalities (Krawczyk on its KKT system
F_A(x, λ, μ_A, θ) = 0, the second-order condition on the null space of [Jg; Jh_A] over the
box), plus two interval facts over the same box that make A the active set of the
inequality problem:

    μᵢ > 0 for every i ∈ A          (strictly active: strict complementarity)
    hⱼ(x, θ) < 0 for every j ∉ A     (strictly inactive)

Together they prove a strict local minimum of the inequality-constrained problem (strict
complementarity and second-order sufficiency on the critical cone, which is then the null
space), unique in the box, at which A stays the active set for nearby θ; so the enclosed
derivatives of the reduced system are the derivatives of x*(θ).
"""
from __future__ import annotations

import mpmath

from symimplicit.precision.interval import hi, ivprec, lo, point
from symimplicit.precision.interval_program import IntervalProgram, UnsupportedFunctionError

__all__ = ["active_statement", "prove_active_set"]


def active_statement(statement, active):
    """The equality-constrained :class:`Minimize` with the inequalities of ``active`` as
    equalities; its multipliers are (λ, μ_A) in that order (L = f + λᵀg + μ_Aᵀh_A)."""
    return statement.derive(active=list(active))._equality_statement()


def prove_active_set(report, statement, active, values) -> None:
    """Add the interval proof that ``active`` is the active set over ``report.box`` (the box
    of (x, λ, μ_A) of :func:`active_statement`), or mark the report failed with the reason."""
    if report.failure is not None or not report.box:
        return
    st = statement
    n, m = len(st.unknowns), len(st.multipliers)
    inactive = [j for j in range(len(st.inequalities)) if j not in active]
    bad = []
    with ivprec(report.dps):
        box = list(report.box)
        for k, i in enumerate(active):                         # μᵢ > 0 on A
            mu = box[n + m + k]
            if not lo(mu) > 0:
                bad.append(f"[{i}] {st.inequalities[i].source}: its multiplier's enclosure "
                           f"{_text(mu)} is not > 0 (weakly active or wrong set)")
        if inactive:                                           # hⱼ < 0 off A
            variables = tuple(st.unknowns) + tuple(st.params)
            try:
                h = IntervalProgram([st.inequalities[j].h for j in inactive], variables,
                                    "the inactive constraints")
                hs = h(box[:n] + [point(t) for t in values])
            except UnsupportedFunctionError as exc:
                report.failure, report.reason = "unsupported", str(exc)
                return
            for j, hj in zip(inactive, hs):
                if not hi(hj) < 0:
                    bad.append(f"[{j}] {st.inequalities[j].source}: h's enclosure {_text(hj)} "
                               "is not < 0 (it may be active)")
    names = [str(st.inequalities[i].source) for i in active]
    if bad:
        report.failure = "active_set"
        report.reason = "the active set " + str(names) + " is not proved: " + "; ".join(bad)
        return
    facts = (["every active multiplier > 0"] if active else []) + \
        (["every inactive constraint < 0"] if inactive else [])
    report.notes.append(f"active set {names} proved over the box: {' and '.join(facts)} (a "
                        "strict local minimum with this active set, kept for nearby parameters)")


def _text(iv) -> str:
    return f"[{mpmath.nstr(lo(iv), 6)}, {mpmath.nstr(hi(iv), 6)}]"
