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

The reference Newton solve starts from the target's own float64 solution, so it
judges the derivative *at the root the target found* (the report says so); pass
``x0=`` to start it from the root you intend instead: a target that converged
to another root then fails its solution row.  When the target's solution is
not finite, the reference starts from ``x0`` or else from the statement's own
layer, and the report fails that row (0 digits).
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Mapping

import mpmath

from symimplicit.errors import NonFiniteError, StatementError, SymimplicitError
from symimplicit.precision.mpsolve import backend, problem_of
from symimplicit.precision.constants import float_constants, warn_low_precision
from symimplicit.lower.options import parameter_value
from symimplicit.precision.judge import judge
from symimplicit.precision.limits import check_dps
from symimplicit.precision.reference import digits_from_error, reference
from symimplicit.precision.report import Row, VerifyReport, derivative_latex
from symimplicit.tape import Scalar, backward, reset_grad

__all__ = ["verify", "parameter_names", "parameter_values", "run_float64", "gradient_rows"]


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
    by_name = parameter_names(at, "verify", "`at`")
    names = [p.name for p in statement.params]
    missing = [n for n in names if n not in by_name]
    extra = [n for n in by_name if n not in names]
    if missing or extra:
        raise StatementError(f"verify: `at` must give exactly the parameters {names} of "
                             f"{statement!r}; missing {missing}, unknown {extra}")
    values = []
    for n in names:
        try:
            v = parameter_value(n, by_name[n], "verify")          # the layers' own rule
        except OverflowError:
            raise StatementError(f"verify: the parameter {n} (an integer of "
                                 f"{int(by_name[n]).bit_length()} bits) is too large for "
                                 "float64") from None
        if not math.isfinite(v):
            raise StatementError(f"verify: the parameter {n} = {by_name[n]!r} is not finite")
        values.append(v)
    return values


def parameter_names(mapping: Mapping, who: str, what: str) -> dict:
    """``mapping`` with its keys (Symbols or names) replaced by the names."""
    by_name = {}
    for key, value in mapping.items():
        name = key if isinstance(key, str) else getattr(key, "name", None)
        if name is None:
            raise StatementError(f"{who}: {key!r} in {what} is neither a Symbol nor a name")
        by_name[name] = value
    return by_name


def gradient_rows(outputs, inputs) -> list:
    """[[∂oᵢ/∂θⱼ]]: one backward pass per output Scalar; a non-finite output has no
    derivative, its row is NaN (backward refuses to start from it)."""
    grads = []
    for o in outputs:
        if not math.isfinite(o.value):
            grads.append([math.nan] * len(inputs))
            continue
        reset_grad(o)
        backward(o)                                          # ∂oᵢ/∂θⱼ into θⱼ.grad
        grads.append([0.0 if s.grad is None else float(s.grad) for s in inputs])
    return grads


def _forward(fn: Callable, scalars: list, n_out: int, kwargs: Mapping, label: str = "the target"):
    out = fn(*scalars, **kwargs)
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if len(outs) != n_out or not all(isinstance(o, Scalar) for o in outs):
        raise StatementError(f"verify: {label} returned {out!r}; expected {n_out} Scalar(s), "
                             "one per unknown of the statement")
    return outs


def run_float64(fn: Callable, values: list[float], n_out: int, kwargs: Mapping,
                label: str = "the target") -> tuple:
    """Run ``fn`` on Scalars: (solution floats, gradient rows) from one backward per output."""
    scalars = [Scalar(v) for v in values]
    outs = _forward(fn, scalars, n_out, kwargs, label)
    return [float(o.value) for o in outs], gradient_rows(outs, scalars)


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
           x0=None, certify: bool = False, **options) -> VerifyReport:
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
    ``x0``: the start of the reference solve, i.e. the root you intend (default:
    the target's own solution, so the report judges the root the target found);
    for a statement target it is also the layer's start.  (A function target's
    own ``x0`` argument goes in ``kwargs={"x0": ...}``.)
    ``certify``: also prove enclosures of the same values by interval arithmetic
    (``report.certificate``, a CertifyReport; see :func:`~symimplicit.precision.certify`).
    A matrix statement (:mod:`symimplicit.matrix`) is checked entry-wise by
    :func:`~symimplicit.matrix.verify.verify_matrix` (options ``sizes``, ``cotangent``).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> from symimplicit import verify
    >>> report = verify(fp, at={a: 1.0}, dps=40)
    >>> report.ok, report.dps, report.digits > 14
    (True, 40, True)
    >>> verify(fp.primitive(), at={a: 1.0}).ok        # a layer: its statement is the truth
    True
    """
    from symimplicit.matrix.verify import is_matrix_target, verify_dispatch   # matrix statements
    if is_matrix_target(target):
        return verify_dispatch(target, at, dps, tol, strict, x0=x0, certify=certify,
                               kwargs=kwargs, against=against, **options)
    from symimplicit.precision.jax_target import is_jax_target, verify_jax   # JAX functions
    if is_jax_target(target):
        return verify_jax(target, at, dps, against, tol, strict, richardson=richardson, x0=x0)
    start = time.perf_counter()
    dps = check_dps(dps, "verify")
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, (int, float))
                            or not 0 < tol < 1):
        raise StatementError(f"verify: tol must be a relative error in (0, 1), got {tol!r}")
    if x0 is not None and _is_statement(target):
        options["x0"] = x0                                    # the layer starts there too
    fn, statement, label, call_kwargs = _target_and_statement(target, against, dict(options))
    if kwargs:
        call_kwargs = {**call_kwargs, **kwargs}
    values = parameter_values(statement, at)
    if getattr(statement, "inequalities", ()):                # h ≤ 0: the active set's KKT system
        from symimplicit.precision.inequality_reference import verify_inequality
        report = verify_inequality(fn, statement, values, dps, tol, richardson, call_kwargs,
                                   label, start)
        return report.raise_if_wrong() if strict else report
    problem = problem_of(statement)
    x64, g64 = run_float64(fn, values, problem.n_user, call_kwargs, label)
    z0, origin = _reference_start(statement, problem, values, x64, x0, label)
    ref = reference(problem, values, problem.start(z0), dps, richardson=richardson, z64=x64)
    rows = _rows(statement, x64, g64, ref)
    report = VerifyReport(
        target=label, statement=statement, at=dict(zip((p.name for p in statement.params), values)),
        dps=dps, tol=None if tol is None else float(tol), kappa=ref.kappa,
        rows=rows, route_digits=ref.route_digits, backend=backend(),
        seconds=time.perf_counter() - start, start=origin,
        constant_digits=warn_low_precision(statement, "verify"))
    report.notes.extend(ref.notes or [])
    if report.constant_digits is not None:
        names = ", ".join(str(f) for f in float_constants(statement)[:6])
        report.notes.append(f"the statement's Float constants ({names}) hold "
                            f"~{report.constant_digits} digits: they limit the reference to "
                            f"~{report.constant_digits} digits; write them as Rational for a "
                            f"full-precision reference")
    if x0 is not None and any(not r.ok(report.tol) for r in rows if r.kind == "solution"):
        report.notes.append("the target's solution is not the root reached from x0 (another "
                            "branch, or no convergence); the gradient rows are judged at the "
                            "root reached from x0")
    if certify:                                              # interval proof of the same values
        from symimplicit.precision.certify import attach_certificate
        attach_certificate(report, statement, values, x64, g64, x0=x0)
    return report.raise_if_wrong() if strict else report


def _reference_start(statement, problem, values, x64, x0, label) -> tuple:
    """(start of the reference Newton solve for the user unknowns, where it came from)."""
    if x0 is not None:
        try:
            z0 = [float(v) for v in problem.start(x0)[: problem.n_user]]
        except (TypeError, ValueError) as exc:
            raise StatementError(f"verify: x0={x0!r} is not {problem.n_user} number(s): "
                                 f"{exc}") from None
        if not all(map(math.isfinite, z0)):
            raise StatementError(f"verify: x0={x0!r} is not finite")
        return z0, (f"x0 = {_values_text(z0)}: the solution row checks that the target "
                    "found that root")
    if all(map(math.isfinite, x64)):
        return x64, "the target's solution: judges the root the target found"
    # the target's answer cannot start Newton: the statement's own layer supplies the branch
    try:
        own = [Scalar(v) for v in values]
        z0 = [float(o.value) for o in _forward(statement.primitive(), own, problem.n_user, {},
                                               "the statement's layer")]
        why = None if all(map(math.isfinite, z0)) else "a non-finite solution"
    except SymimplicitError as exc:
        z0, why = None, f"{type(exc).__name__}: {exc}"
    if why is not None:
        raise NonFiniteError(
            f"verify: {label} returned a non-finite solution {_values_text(x64)} at "
            f"{dict(zip((p.name for p in statement.params), values))}, and the statement's own "
            f"layer gives no start for the reference ({why}); pass x0= to start it",
            point=dict(zip((p.name for p in statement.params), values)))
    return z0, (f"the statement's own layer solution {_values_text(z0)} (the target's "
                "solution is not finite)")


def _values_text(values) -> str:
    return repr(values[0]) if len(values) == 1 else repr(list(values))


def _rows(statement, x64, g64, ref) -> list[Row]:
    """The solution rows, then ∂xᵢ/∂θⱼ row by row; every error at the reference precision."""
    sol_bounds = list(ref.solution_bound) or [0.0] * len(x64)
    grad_bounds = ref.gradient_bound or [[0.0] * len(r) for r in ref.gradient]

    def row(name, kind, value, r, bound, latex) -> Row:
        judged = judge(value, r, bound, ref.work_dps)
        return Row(name=name, kind=kind, value=value, reference=r, rel_error=judged.rel_error,
                   digits=digits_from_error(judged.rel_error, ref.dps), ulps=judged.ulps,
                   kappa=ref.kappa, latex=latex, bound=bound, absolute=judged.absolute,
                   tol=judged.tol)

    rows = [row(str(x), "solution", x64[i], ref.solution[i], sol_bounds[i], derivative_latex(x))
            for i, x in enumerate(statement.unknowns)]
    rows += [row(f"∂{x}/∂{p}", "gradient", g64[i][j], ref.gradient[i][j], grad_bounds[i][j],
                 derivative_latex(x, p))
             for i, x in enumerate(statement.unknowns) for j, p in enumerate(statement.params)]
    return rows
