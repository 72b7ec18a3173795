"""certify: digits *proved* by interval arithmetic, not only measured.

Three steps, at ``dps`` digits in ``mpmath.iv``:

1. **Enclose the solution.**  Newton at high precision from the target's own
   float64 solution (or ``x0``) gives a point m; Krawczyk's operator on a box
   around m proves a unique zero of the residual F(z, θ) in the box
   (:func:`~symimplicit.precision.krawczyk.enclose_root`).  Systems use the
   interval Jacobian ∂F/∂z; constrained argmins the KKT system in (x, λ).  For a
   minimum, the second-order conditions of the derivation (leading minors of the
   Hessian, or of the bordered Hessian with constraints: the reduced Hessian is
   positive definite) are proved positive over the whole box, so the zero is a
   strict local minimum, not only a stationary point.
2. **Enclose each derivative.**  First order: every solution of
   ∂F/∂z(𝐙) · Z = −∂F/∂θ(𝐙) over the box 𝐙 (an interval linear system,
   :func:`~symimplicit.precision.krawczyk.enclose_linear`), which holds the true
   ∂z/∂θ = −(∂F/∂z)⁻¹ ∂F/∂θ at the true zero.  Higher orders (``wrt=``): the
   derivation's explicit formula evaluated over the box.
3. **Report** the enclosures and the digits of the target's float64 values they
   prove (:class:`~symimplicit.precision.certify_report.CertifyReport`).

The targets are those of :func:`~symimplicit.precision.verify` (a statement, its
layer, or a function of Scalars checked ``against=`` a statement); the parameters
are the float64 values the target sees, taken exactly.  Nothing is claimed
without a proof: a fold, a double root, two roots in the box, a box leaving a
function's domain or a function without an interval rule make the report fail
with the reason (``report.failure``, ``report.reason``).
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
import weakref
from typing import Any, Mapping, Sequence

import mpmath
import sympy as sp

from symimplicit.errors import DomainError, SingularJacobianError, StatementError, SymimplicitError
from symimplicit.precision.certify_report import CertifyReport, make_rows
from symimplicit.precision.interval import hi, ivprec, point
from symimplicit.precision.interval_program import IntervalProgram, UnsupportedFunctionError
from symimplicit.precision.krawczyk import (NotProved, enclose_linear, enclose_root,
                                            midpoint_inverse, prove_minimum)
from symimplicit.precision.mpsolve import problem_of
from symimplicit.precision.report import default_tol, derivative_latex
from symimplicit.precision.verify import (_is_statement, _reference_start, _target_and_statement,
                                          parameter_values, run_float64)

__all__ = ["certify", "certify_values", "attach_certificate", "certify_columns", "GUARD_DIGITS"]

GUARD_DIGITS = 10
"""Digits beyond ``dps`` of the Newton point that the box is centred on."""


# --------------------------------------------------------------------------- #
# the interval programs of a statement (compiled once)                          #
# --------------------------------------------------------------------------- #
class _Programs:
    """F, ∂F/∂z, ∂F/∂θ and the requested higher derivatives of a statement, as :class:`IntervalProgram` over (z, θ)."""

    def __init__(self, statement):
        d = statement.derive()
        self.statement = statement
        self.derivation = d
        self.variables = tuple(statement.system_unknowns) + tuple(statement.params)
        self.n, self.p = len(statement.system_unknowns), len(statement.params)
        self.F = IntervalProgram(list(statement.residual), self.variables, "the residual F")
        self.J = IntervalProgram(list(d.jacobian), self.variables, "∂F/∂z")
        self.J_theta = IntervalProgram(list(d.param_jacobian), self.variables, "∂F/∂θ")
        self._higher: dict = {}

    def higher(self, S: tuple):
        """The program of the derivative ∂^S x (user unknowns), from the derivation."""
        if S not in self._higher:
            value = self.derivation._raw_derivative(*S, explicit=True)   # entries, for interval evaluation
            exprs = list(value) if isinstance(value, sp.MatrixBase) else [value]
            self._higher[S] = IntervalProgram(exprs, self.variables, f"∂^{len(S)}x/∂{S}")
        return self._higher[S]


_PROGRAMS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _programs(statement) -> _Programs:
    try:
        return _PROGRAMS[statement]
    except KeyError:
        progs = _PROGRAMS[statement] = _Programs(statement)
        return progs
    except TypeError:                                         # not weak-referenceable
        return _Programs(statement)


# --------------------------------------------------------------------------- #
# the public function                                                           #
# --------------------------------------------------------------------------- #
def certify(target: Any, at: Mapping, dps: int = 50, against=None, tol: float | None = None,
            strict: bool = False, *, wrt: Sequence = (), kwargs: Mapping | None = None,
            x0=None, **options) -> CertifyReport:
    """Prove enclosures of the solution and its derivatives, and the digits of ``target``'s
    float64 values that they prove.

    Parameters
    ==========
    target : a statement, a layer from ``statement.primitive()``, or a tape Function /
        Python function of Scalars (then ``against`` is the statement defining the truth)
    at : parameter Symbols or names → values (taken as the float64 the target sees)
    dps : the digits of the interval arithmetic (50)
    tol : the relative error each float64 value must be proved within for ``ok``
        (default min(64 κ 2⁻⁵³, 1e-8), as in verify)
    strict : raise (NotProved, GradientMismatchError) instead of a failing report
    wrt : higher derivatives to enclose too, e.g. ``[(a, a), (a, b)]``
    kwargs, **options : call keyword arguments / layer options, as in verify
    x0 : the root to certify (default: the one the target found)

    Returns a :class:`~symimplicit.precision.certify_report.CertifyReport`:
    ``.certified`` (every enclosure proved), ``.ok`` (and every value within tol),
    ``.proved_digits``, ``.rows`` (``row.enclosure``, ``row.width``, ``row.digits``),
    ``.failure`` / ``.reason`` when not certified.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint, certify
    >>> x, a, b = sp.symbols("x a b")
    >>> report = certify(FixedPoint(sp.cos(a*x + b), x, (a, b)), at={a: 1, b: 0})
    >>> report.ok, report.proved_digits > 15, report.row("x").relative_width < 1e-40
    (True, True, True)
    >>> certify(FixedPoint(a*sp.tanh(x), x, (a,)), at={a: 1.0}, x0=0.1).failure
    'singular'

    See Also
    ========
    symimplicit.precision.verify : the same targets measured against mpmath.
    """
    start = time.perf_counter()
    if x0 is not None and _is_statement(target):
        options["x0"] = x0                                    # the layer starts there too
    with _as_certify():
        fn, statement, label, call_kwargs = _target_and_statement(target, against, dict(options))
        values = parameter_values(statement, at)
    if kwargs:
        call_kwargs = {**call_kwargs, **kwargs}
    inequalities = bool(getattr(statement, "inequalities", ()))
    if inequalities:                               # h ≤ 0: certify the active set's KKT system
        from symimplicit.precision.certify_inequality import active_statement, prove_active_set
        original, active = statement, _active_set(fn, statement, values)
        statement = active_statement(statement, active)
    problem = problem_of(statement)
    try:
        x64, g64 = run_float64(fn, values, problem.n_user, call_kwargs, label)
        target_error = None
    except StatementError:
        raise
    except SymimplicitError as exc:                          # the target's own solve failed
        x64 = [math.nan] * problem.n_user
        g64 = [[math.nan] * problem.p for _ in range(problem.n_user)]
        target_error = f"{type(exc).__name__}: {exc}".split("\n")[0]
    report = certify_values(statement, values, x64, g64, dps, x0=x0, tol=tol, wrt=wrt,
                            label=label, target_error=target_error)
    if inequalities:
        prove_active_set(report, original, active, values)
        report.statement = original
    report.seconds = time.perf_counter() - start
    return report.raise_if_wrong() if strict else report


def _active_set(fn, statement, values) -> tuple:
    """The active set the float64 layer finds at ``values`` (the target's own, if a layer)."""
    layer = fn if hasattr(fn, "kkt_point") else statement.primitive()
    return tuple(layer.kkt_point(*values).active)


@contextmanager
def _as_certify():
    """verify's target and parameter checks, their errors naming certify."""
    try:
        yield
    except StatementError as exc:
        text = str(exc)
        if text.startswith("verify: "):
            text = "certify: " + text[len("verify: "):]
        raise type(exc)(text.replace("cannot verify", "cannot certify")) from None


def certify_values(statement, values: Sequence[float], x64: Sequence[float], g64, dps: int = 50,
                   *, x0=None, tol: float | None = None, wrt: Sequence = (),
                   label: str = "the values", target_error: str | None = None) -> CertifyReport:
    """:func:`certify` for float64 values already computed: the solution ``x64`` (one per
    unknown) and the gradient rows ``g64[i][j]`` = ∂xᵢ/∂θⱼ at the parameters ``values``
    (floats, in the statement's order).  ``verify(..., certify=True)`` and
    ``study(..., certify=True)`` use it on the values they measured."""
    if int(dps) < 15:
        raise StatementError(f"certify: dps={dps} is below float64's precision; use 15 or more")
    dps = int(dps)
    problem = problem_of(statement)
    requests = [_as_request(statement, S) for S in wrt]
    at = dict(zip((p.name for p in statement.params), values))
    report = CertifyReport(target=label, statement=statement, at=at, dps=dps,
                           tol=1.0 if tol is None else float(tol), kappa=math.nan, rows=[])
    if target_error is not None:
        report.notes.append(f"the target failed: {target_error}")
    try:
        z = _newton_point(statement, problem, values, x64, x0, label, dps, target_error)
        with mpmath.workdps(dps + GUARD_DIGITS):
            try:
                report.kappa = float(problem.kappa(z, [mpmath.mpf(t) for t in values]))
            except SymimplicitError:
                report.kappa = math.inf
        _prove(report, statement, values, z, x64, g64, requests)
    except NotProved as exc:
        report.failure, report.reason = exc.kind, exc.reason
    except UnsupportedFunctionError as exc:
        report.failure, report.reason = "unsupported", str(exc)
    except DomainError as exc:
        report.failure, report.reason = "domain", f"the box leaves a domain: {exc}"
    if tol is None:
        report.tol = default_tol(report.kappa)
    if not report.rows:                                       # nothing proved: the rows, unproved
        report.rows = _unproved_rows(statement, x64, g64, requests)
    return report


def _as_request(statement, S) -> tuple:
    if isinstance(S, (str, sp.Symbol)):
        S = (S,)
    names = [s if isinstance(s, str) else getattr(s, "name", None) for s in S]
    params = {p.name: p for p in statement.params}
    if not names or any(n not in params for n in names):
        raise StatementError(f"certify: wrt={S!r} must be a tuple of parameters of "
                             f"{statement!r}, e.g. (a, a); the parameters are {list(params)}")
    return tuple(params[n] for n in names)


def _newton_point(statement, problem, values, x64, x0, label, dps, target_error) -> list:
    """The high-precision point m that the box is centred on (all system unknowns)."""
    if target_error is not None and x0 is None:
        raise NotProved("target", f"the target failed ({target_error}); pass x0= to certify "
                        "the root there")
    try:
        z0, _ = _reference_start(statement, problem, values, x64, x0, label)
        z = problem.solve(values, problem.start(z0), dps + GUARD_DIGITS, check=False)
    except SingularJacobianError as exc:
        raise NotProved("singular", f"a fold or a double root: {exc}") from None
    except (SymimplicitError, ZeroDivisionError, ValueError) as exc:
        raise NotProved("no_convergence", f"no high-precision root to centre a box on: "
                        f"{type(exc).__name__}: {str(exc) or 'division by zero'}".split("\n")[0]) \
            from None
    _check_newton(problem, values, z, dps)
    return list(z)


def _check_newton(problem, values, z, dps) -> None:
    """NotProved("no_root") when one more Newton step from z is not small: Newton did not
    reach a root from the start (there may be none near it)."""
    with mpmath.workdps(dps + GUARD_DIGITS):
        th = [mpmath.mpf(t) for t in values]
        try:
            step = problem.lu_solve(problem.J(z, th), mpmath.matrix(problem.F(z, th)), z, th)
        except SymimplicitError as exc:
            raise NotProved("singular", "∂F/∂z is singular at the Newton point (a double root or "
                            f"a fold): {exc}") from None
        size = max(abs(v) for v in step)
        scale = max([abs(v) for v in z] + [mpmath.mpf(1)])
        if not size <= scale * mpmath.mpf(10) ** -(dps // 2):
            residual = max(abs(v) for v in problem.F(z, th))
            raise NotProved("no_root", f"Newton's method did not reach a root from the start "
                            f"(last point {_point_text(z)}, |F| = {mpmath.nstr(residual, 3)}, "
                            f"next step {mpmath.nstr(size, 3)}): there may be no root near it")


def _point_text(z) -> str:
    return ", ".join(mpmath.nstr(v, 10) for v in z)


def _prove(report, statement, values, z, x64, g64, requests) -> None:
    """Steps 1-2 into ``report`` (rows, box, uniqueness, second order)."""
    progs = _programs(statement)
    n, p, n_user = progs.n, progs.p, len(statement.unknowns)
    with ivprec(report.dps):
        theta = [point(t) for t in values]
        F = lambda Z: progs.F(list(Z) + theta)
        J = lambda Z: _square(progs.J(list(Z) + theta), n)
        enc = enclose_root(F, J, z, where=f"∂F/∂{_unknowns_text(statement)}")
        box = enc.box
        report.box = box
        report.uniqueness = float(max(hi(x) - mpmath.mpf(m) for x, m in zip(enc.uniqueness, z)))
        A = J(box)
        if statement.kind == "minimize":
            report.second_order = _second_order(statement, A)
        grad = [[None] * p for _ in range(n_user)]
        if p:                                                 # ∂F/∂z(𝐙) Z = −∂F/∂θ(𝐙)
            B = [[-v for v in row] for row in _rows(progs.J_theta(box + theta), n, p)]
            Z = enclose_linear(A, B, midpoint_inverse(A, "∂F/∂z over the box"))
            grad = [Z[i] for i in range(n_user)]
        higher = [(S, _higher(report, progs, S, box + theta)) for S in requests]
    report.rows = _proved_rows(statement, x64, g64, box[:n_user], grad, higher, report.dps)


def _higher(report, progs, S, values) -> list:
    """The enclosures of ∂^S x over the box; a formula that cannot be enclosed leaves its
    rows unproved (the rest of the report stands) and says why."""
    try:
        return progs.higher(S)(values)
    except (UnsupportedFunctionError, DomainError) as exc:
        kind = "unsupported" if isinstance(exc, UnsupportedFunctionError) else "domain"
        if report.failure is None:
            report.failure = kind
            report.reason = f"the derivative of order {len(S)} ({', '.join(map(str, S))}) " \
                            f"is not enclosed: {exc}"
        return [None] * len(progs.statement.unknowns)


def _second_order(statement, J_box: list) -> str:
    """The strict-minimum proof over the box (:func:`~.krawczyk.prove_minimum`), or NotProved."""
    n, m = len(statement.unknowns), len(statement.multipliers)
    c = prove_minimum(J_box, n)
    what = "the Hessian ∇²f" if not m else "the reduced Hessian of the Lagrangian"
    if c is None:
        raise NotProved("not_minimum", f"{what} is not proved positive definite over the box: "
                        "the zero is a stationary point, not proved a strict local minimum")
    how = "" if not m else f" (interval Cholesky of ∇²L + c·JgᵀJg, c = {c})"
    return f"a strict local minimum: {what} is proved positive definite over the box{how}"


def _square(flat: list, n: int) -> list:
    return [flat[i * n:(i + 1) * n] for i in range(n)]


def _rows(flat: list, n: int, p: int) -> list:
    return [flat[i * p:(i + 1) * p] for i in range(n)]


def _unknowns_text(statement) -> str:
    z = statement.system_unknowns
    return str(z[0]) if len(z) == 1 else "(" + ", ".join(map(str, z)) + ")"


def _derivative_name(x, S) -> str:
    counts = {}
    for s in S:
        counts[s] = counts.get(s, 0) + 1
    den = "".join(f"∂{s}" + (f"^{k}" if k > 1 else "") for s, k in counts.items())
    return f"∂^{len(S)}{x}/{den}"


def _derivative_tex(x, S) -> str:
    counts = {}
    for s in S:
        counts[s] = counts.get(s, 0) + 1
    den = " ".join(rf"\partial {sp.latex(s)}" + (f"^{{{k}}}" if k > 1 else "")
                   for s, k in counts.items())
    return rf"\frac{{\partial^{{{len(S)}}} {sp.latex(x)}}}{{{den}}}"


def _proved_rows(statement, x64, g64, solution, grad, higher, dps) -> list:
    xs, ps = statement.unknowns, statement.params
    rows = make_rows([str(x) for x in xs], "solution", [float(v) for v in x64], solution,
                     [derivative_latex(x) for x in xs], dps)
    jacobian = [e for row in grad for e in row]                # ∂x/∂θ: one scale for all rows
    for i, x in enumerate(xs):
        rows += make_rows([f"∂{x}/∂{p}" for p in ps], "gradient", [float(v) for v in g64[i]],
                          grad[i], [derivative_latex(x, p) for p in ps], dps, scale_of=jacobian)
    for S, values in higher:
        rows += make_rows([_derivative_name(x, S) for x in xs], "derivative", [None] * len(xs),
                          values, [_derivative_tex(x, S) for x in xs], dps)
    return rows


def _unproved_rows(statement, x64, g64, requests) -> list:
    none = lambda k: [None] * k
    xs, ps = statement.unknowns, statement.params
    rows = make_rows([str(x) for x in xs], "solution", [float(v) for v in x64], none(len(xs)),
                     [derivative_latex(x) for x in xs], 15)
    for i, x in enumerate(xs):
        rows += make_rows([f"∂{x}/∂{p}" for p in ps], "gradient", [float(v) for v in g64[i]],
                          none(len(ps)), [derivative_latex(x, p) for p in ps], 15)
    for S in requests:
        rows += make_rows([_derivative_name(x, S) for x in xs], "derivative", none(len(xs)),
                          none(len(xs)), [_derivative_tex(x, S) for x in xs], 15)
    return rows


# --------------------------------------------------------------------------- #
# hooks for verify(..., certify=True) and study(..., certify=True)              #
# --------------------------------------------------------------------------- #
def attach_certificate(report, statement, values, x64, g64, x0=None) -> None:
    """``verify(..., certify=True)``: certify the values verify measured; the
    :class:`CertifyReport` goes to ``report.certificate`` and its verdict to the notes."""
    cert = certify_values(statement, values, x64, g64, report.dps, x0=x0, tol=report.tol,
                          label=report.target)
    report.certificate = cert
    if cert.certified:
        widths = max(r.relative_width for r in cert.rows)
        report.notes.append(f"certified by interval arithmetic: enclosures of relative width "
                            f"≤ {mpmath.nstr(widths, 2)}; the float64 values are proved to "
                            f"{cert.proved_digits:.1f} digits")
    else:
        report.notes.append(f"not certified ({cert.failure}): {cert.reason}")


def certify_columns(statement, theta, x, g, dps: int, x0=None) -> dict:
    """``study(..., certify=True)``: per point, the digits of the float64 implicit gradient
    proved by interval arithmetic.  Columns ``certified`` (1/0), ``proved_error`` (the proved
    bound of the largest relative error of the gradient; inf when not certified) and
    ``proved_digits`` (−log10 of it, 0 when not certified)."""
    import numpy as np

    from symimplicit.precision.study import _MP_LOCK

    N = len(theta)
    certified, bound = np.zeros(N), np.full(N, np.inf)
    for k in range(N):
        with _MP_LOCK:
            cert = certify_values(statement, [float(t) for t in theta[k]],
                                  [float(v) for v in x[k]], np.asarray(g[k]).tolist(), dps, x0=x0)
        if cert.certified:
            certified[k] = 1
            bound[k] = max((r.bound for r in cert.rows if r.kind == "gradient"), default=0.0)
    with np.errstate(divide="ignore"):
        digits = np.clip(-np.log10(bound), 0.0, dps)
    return {"certified": certified, "proved_error": bound, "proved_digits": digits}
