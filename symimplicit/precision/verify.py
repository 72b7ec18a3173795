"""verify: which gradient is right, and to how many digits?

The target runs in float64 on the tape (forward, then one backward pass per
unknown); the truth comes from mpmath (:mod:`symimplicit.precision.reference`),
never from the float64 path under test.  Three kinds of target:

1. a statement (:class:`~symimplicit.statements.Statement`): its implicit layer
   ``statement.primitive(**options)`` is what is checked;
2. a layer from ``statement.primitive()``: it carries ``layer.statement``;
3. any tape Function or Python function of Scalars (the seed's hand-written
   ``FixedPoint``): ``against=`` names the statement that defines the truth, and
   the extra keyword arguments are passed to the call (``fun=cosaxb``).
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Mapping

import mpmath

from symimplicit.errors import StatementError
from symimplicit.precision.mpsolve import backend, problem_of
from symimplicit.precision.reference import (component_scales, digits_from_error, reference,
                                             relative_error)
from symimplicit.precision.report import Row, VerifyReport, default_tol, latex_name
from symimplicit.tape import Scalar, backward, reset_grad

__all__ = ["verify", "parameter_values", "run_float64"]

ZERO_FLOOR = 2.0 ** -26
"""Components below √ε times the largest of their row are measured against that floor."""


def _is_statement(obj) -> bool:
    from symimplicit.statements import Statement
    return isinstance(obj, Statement)


def parameter_values(statement, at: Mapping) -> list[float]:
    """The float64 value of every parameter of ``statement``, in its order.

    ``at`` maps Symbols or their names to numbers; every parameter must be
    given and nothing else.  The reference is computed at exactly these
    floats (what the float64 code sees), not at the decimal the user typed.
    """
    if not isinstance(at, Mapping):
        raise StatementError(f"verify: `at` must map parameters to values, got {at!r}")
    by_name = {}
    for key, value in at.items():
        name = key if isinstance(key, str) else getattr(key, "name", None)
        if name is None:
            raise StatementError(f"verify: {key!r} in `at` is neither a Symbol nor a name")
        by_name[name] = value
    names = [p.name for p in statement.params]
    missing = [n for n in names if n not in by_name]
    extra = [n for n in by_name if n not in names]
    if missing or extra:
        raise StatementError(f"verify: `at` must give exactly the parameters {names} of "
                             f"{statement!r}; missing {missing}, unknown {extra}")
    values = []
    for n in names:
        v = float(by_name[n])
        if not math.isfinite(v):
            raise StatementError(f"verify: the parameter {n} = {by_name[n]!r} is not finite")
        values.append(v)
    return values


def run_float64(fn: Callable, values: list[float], n_out: int, kwargs: Mapping) -> tuple:
    """Run ``fn`` on Scalars: (solution floats, gradient rows) from one backward per output."""
    scalars = [Scalar(v) for v in values]
    out = fn(*scalars, **kwargs)
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if len(outs) != n_out or not all(isinstance(o, Scalar) for o in outs):
        raise StatementError(f"verify: the target returned {out!r}; expected {n_out} Scalar(s), "
                             "one per unknown of the statement")
    solution = [float(o.value) for o in outs]
    grads = []
    for o in outs:
        reset_grad(o)
        backward(o)                                          # ∂oᵢ/∂θⱼ into θⱼ.grad
        grads.append([0.0 if s.grad is None else float(s.grad) for s in scalars])
    return solution, grads


def _target_and_statement(target, against, options: dict):
    """(callable on Scalars, statement, label, call kwargs) for the three kinds of target."""
    if _is_statement(target):
        layer = target.primitive(**options)
        return layer, against or target, f"{target!r} (its implicit layer)", {}
    if not callable(target):
        raise StatementError(f"verify: cannot verify {target!r}: give a statement, a layer "
                             "from statement.primitive(), or a function of Scalars")
    statement = against if against is not None else getattr(target, "statement", None)
    if statement is None:
        raise StatementError(f"verify: {target!r} carries no statement; pass the statement that "
                             "defines the truth as against=...")
    if not _is_statement(statement):
        raise StatementError(f"verify: against={statement!r} is not a statement")
    label = getattr(target, "name", None) or getattr(target, "__name__", None) or repr(target)
    return target, statement, label, options


def verify(target: Any, at: Mapping, dps: int = 50, against=None, tol: float | None = None,
           strict: bool = False, *, richardson: bool = True, kwargs: Mapping | None = None,
           **options) -> VerifyReport:
    """Judge a float64 implicit solution and its gradient against mpmath at ``dps`` digits.

    ``target``: a statement, a layer from ``statement.primitive()``, or any tape
    Function / Python function of Scalars (then ``against`` is the statement
    that defines the truth).  ``at`` maps parameter Symbols or names to values.
    ``**options`` go to ``statement.primitive()`` for a statement target and to
    the call for a function target (``fun=cosaxb``); ``kwargs=`` gives call
    keyword arguments explicitly (for names that clash with verify's own).

    ``tol``: the relative error allowed for every row (default
    min(64 κ 2⁻⁵³, 1e-8), see :func:`~symimplicit.precision.report.default_tol`).
    ``richardson``: also compute the reference by extrapolated differences and
    flag the derivation as suspect when the two routes disagree.
    ``strict``: raise (GradientMismatchError, or DerivationError when suspect)
    instead of returning a failing report.
    """
    start = time.perf_counter()
    fn, statement, label, call_kwargs = _target_and_statement(target, against, dict(options))
    if kwargs:
        call_kwargs = {**call_kwargs, **kwargs}
    values = parameter_values(statement, at)
    problem = problem_of(statement)
    x64, g64 = run_float64(fn, values, problem.n_user, call_kwargs)
    z0 = list(x64) + [0.0] * (problem.n - problem.n_user)   # multipliers start at 0
    ref = reference(problem, values, z0, dps, richardson=richardson)
    rows = _rows(statement, x64, g64, ref)
    report = VerifyReport(
        target=label, statement=statement, at=dict(zip((p.name for p in statement.params), values)),
        dps=dps, tol=default_tol(ref.kappa) if tol is None else float(tol), kappa=ref.kappa,
        rows=rows, route_digits=ref.route_digits, backend=backend(),
        seconds=time.perf_counter() - start)
    return report.raise_if_wrong() if strict else report


def _measure(name, kind, value, ref, scale, kappa, dps, latex) -> Row:
    err = float(relative_error(value, ref, scale))
    ulp = math.ulp(float(ref))
    ulps = abs(float(mpmath.mpf(value) - ref)) / ulp if math.isfinite(value) else math.inf
    return Row(name=name, kind=kind, value=value, reference=ref, rel_error=err,
               digits=digits_from_error(err, dps), ulps=ulps, kappa=kappa, latex=latex)


def _rows(statement, x64, g64, ref) -> list[Row]:
    """The solution rows, then ∂xᵢ/∂θⱼ row by row; every error at the reference precision."""
    rows = []
    with mpmath.workdps(ref.work_dps):
        sol_scale = component_scales([list(ref.solution)], ZERO_FLOOR)[0]
        for i, x in enumerate(statement.unknowns):
            rows.append(_measure(str(x), "solution", x64[i], ref.solution[i], sol_scale,
                                 ref.kappa, ref.dps, latex_name(x)))
        scales = component_scales(ref.gradient, ZERO_FLOOR)
        for i, x in enumerate(statement.unknowns):
            for j, p in enumerate(statement.params):
                rows.append(_measure(f"∂{x}/∂{p}", "gradient", g64[i][j], ref.gradient[i][j],
                                     scales[i], ref.kappa, ref.dps, latex_name(x, p)))
    return rows

