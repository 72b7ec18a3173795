"""``verify`` for inequality-constrained statements: the mpmath reference of the active-set KKT system.

The float64 layer (:class:`~symimplicit.lower.inequality.InequalityLayer`) picks an active
set A at its solution.  The reference solves the same reduced KKT system

    F_A(z, θ) = [∇f + Jgᵀλ + Jh_Aᵀμ_A ; g ; h_A] = 0        (z = (x, λ, μ_A))

at ``dps`` digits by mpmath Newton from the layer's solution, differentiates it by the IFT
(and by Richardson extrapolation), and checks that A is the right active set *at high
precision*: every μᵢ > 0 on A and every hⱼ < 0 off it.  A wrong active set is a failing
row ``active set`` (and the report's note says which constraint disagrees); a weakly
active constraint makes the layer's gradient raise before anything is compared.
"""
from __future__ import annotations

import math
import time

import mpmath

from symimplicit.precision.mpsolve import MpProblem, backend
from symimplicit.precision.reference import reference
from symimplicit.precision.report import Row, VerifyReport

__all__ = ["verify_inequality", "active_set_problem"]


def active_set_problem(statement, active) -> MpProblem:
    """The :class:`MpProblem` of the reduced KKT system of ``active`` (x first, then λ, μ_A)."""
    d = statement.derive(active=list(active))
    reduced = d.reduced_derivation
    return MpProblem("minimize", d.unknowns, len(statement.unknowns), statement.params,
                     d.reduced.residual, reduced.jacobian, reduced.param_jacobian)


def _active_set_row(statement, active, ref, values) -> tuple[Row, str | None]:
    """Row 'active set' (error 0 when A holds at high precision, ∞ when not) and a note."""
    from symimplicit.lower.codegen import lambdify_many
    n, m = len(statement.unknowns), len(statement.multipliers)
    z = ref.system_solution
    bad = []
    with mpmath.workdps(ref.work_dps):
        for k, i in enumerate(active):
            if not z[n + m + k] > 0:
                bad.append(f"[{i}] {statement.inequalities[i].source} has multiplier "
                           f"{mpmath.nstr(z[n + m + k], 5)} ≤ 0")
        inactive = [j for j in range(len(statement.inequalities)) if j not in active]
        if inactive:
            h = lambdify_many([statement.inequalities[j].h for j in inactive],
                              tuple(statement.unknowns) + tuple(statement.params), "mpmath")
            for j, hj in zip(inactive, h(*z[:n], *[mpmath.mpf(v) for v in values])):
                if not hj < 0:
                    bad.append(f"[{j}] {statement.inequalities[j].source} has h = "
                               f"{mpmath.nstr(hj, 5)} ≥ 0")
    err = math.inf if bad else 0.0
    row = Row(name="active set", kind="solution", value=float(len(active)),
              reference=mpmath.mpf(len(active)), rel_error=err,
              digits=0.0 if bad else float(ref.dps), ulps=0.0 if not bad else math.inf,
              kappa=ref.kappa, latex=r"\mathcal{A}")
    note = None if not bad else ("the float64 active set is not the active set at "
                                 f"{ref.dps} digits: " + "; ".join(bad))
    return row, note


def verify_inequality(fn, statement, values, dps, tol, richardson, call_kwargs, label,
                      start) -> VerifyReport:
    """The report of :func:`~symimplicit.precision.verify` for an inequality statement."""
    from symimplicit.precision.verify import _rows, run_float64
    layer = fn if hasattr(fn, "kkt_point") else statement.primitive()
    n = len(statement.unknowns)
    x64, g64 = run_float64(fn, values, n, call_kwargs, label)
    point = layer.kkt_point(*values)
    active = point.active
    problem = active_set_problem(statement, active)
    z0 = [float(point.z[i]) for i in layer.kkt.indices(active)]
    ref = reference(problem, values, z0, dps, richardson=richardson)
    rows = _rows(statement, x64, g64, ref)
    row, note = _active_set_row(statement, active, ref, values)
    rows.insert(n, row)
    report = VerifyReport(
        target=label, statement=statement, at=dict(zip((p.name for p in statement.params), values)),
        dps=dps, tol=None if tol is None else float(tol), kappa=ref.kappa,
        rows=rows, route_digits=ref.route_digits, backend=backend(),
        seconds=time.perf_counter() - start,
        start=f"the layer's solution, active set {[str(statement.inequalities[i].source) for i in active]}")
    if note:
        report.notes.append(note)
    return report
