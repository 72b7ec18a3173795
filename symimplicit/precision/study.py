"""Stability studies: how accurate are float64 implicit gradients across parameter space?

:func:`study` sweeps parameters and records, at each point, κ (the rounding
amplification of the IFT solve) and the relative errors, against the mpmath
reference, of

* the float64 **implicit** gradient (``statement.lower(backend="numpy")``, vectorised),
* the gradient obtained by **unrolling** the iteration x_{k+1} = f(x_k, θ) on the
  tape and differentiating through it (fixed points only),
* central **finite differences** of the float64 solution map (vectorised).

:func:`tolerance_study` records the same errors against the solver tolerance
(implicit layer vs unrolled iteration stopped at the same tolerance).

The mpmath work is one picklable task per point, run in-process or through any
``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``, or a Dask client's
``client.get_executor()``); progress is shown with tqdm when installed.
"""
from __future__ import annotations

import threading
from concurrent.futures import Executor, as_completed
from itertools import product
from typing import Mapping, Sequence

import numpy as np

from symimplicit.errors import MissingDependencyError, StatementError, SymimplicitError
from symimplicit.precision.mpsolve import MpProblem, problem_of
from symimplicit.precision.constants import warn_low_precision
from symimplicit.lower.options import parameter_value
from symimplicit.precision.judge import judge
from symimplicit.precision.limits import check_dps, check_points
from symimplicit.precision.reference import EPS, reference
from symimplicit.precision.study_table import Study
from symimplicit.precision.verify import gradient_rows, parameter_names, run_float64
from symimplicit.tape import Scalar

__all__ = ["study", "tolerance_study", "Study", "reference_task", "unrolled_gradient"]

MAX_UNROLLED = 2000
"""Iterations of x ← f(x, θ) unrolled on the tape before giving up (near κ → ∞ it needs ~κ)."""

FD_SOLVE_TOL = 1e-13
"""Relative step at which the finite-difference solves stop (their own error is ~ε^(2/3))."""

_MP_LOCK = threading.Lock()
"""mpmath's working precision is process-global: thread-run tasks take turns."""


# --------------------------------------------------------------------------- #
# the mpmath task (top level and picklable: it may run in another process)     #
# --------------------------------------------------------------------------- #
def reference_task(problem: MpProblem, theta: tuple, z0: tuple, dps: int,
                   richardson: bool = False, z64: tuple | None = None):
    """(solution, gradient, κ, route digits, work digits, solution bounds ē, gradient
    bounds ē) at θ: mpf values, or the error's text."""
    with _MP_LOCK:
        try:
            ref = reference(problem, list(theta), list(z0), dps, richardson=richardson, z64=z64)
        except (SymimplicitError, ZeroDivisionError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return (ref.solution, ref.gradient, ref.kappa, ref.route_digits, ref.work_dps,
                ref.solution_bound, ref.gradient_bound)


def _progress(iterable, total: int, progress, desc: str):
    """Wrap ``iterable`` in a tqdm bar: progress=None means 'if tqdm is installed'."""
    if progress is False:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise MissingDependencyError("tqdm", extra="progress",
                                         purpose="progress bars of long sweeps") from None
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False)


def _run(tasks: list, executor: Executor | None, progress, desc: str) -> list:
    """reference_task over ``tasks`` in order, serially or through ``executor``."""
    if executor is None:
        return [reference_task(*t) for t in _progress(tasks, len(tasks), progress, desc)]
    futures = {executor.submit(reference_task, *t): i for i, t in enumerate(tasks)}
    results = [None] * len(tasks)
    for fut in _progress(as_completed(futures), len(tasks), progress, desc):
        results[futures[fut]] = fut.result()
    return results


# --------------------------------------------------------------------------- #
# float64 sides                                                                 #
# --------------------------------------------------------------------------- #
def _solve_rows(lowered, theta: np.ndarray, x0, layer=None, failures=None) -> np.ndarray:
    """Float64 solutions (N, n_user), vectorised; if that fails, point by point with the
    tape layer (another float64 solver); points where both fail are NaN (and their
    error's text goes in ``failures[k]``)."""
    try:
        return np.asarray(lowered.solve(*theta.T, x0=x0), dtype=float).reshape(len(theta), -1)
    except SymimplicitError:
        if layer is None:
            raise
    out = np.full((len(theta), lowered.n_user), np.nan)
    for i, row in enumerate(theta):
        try:
            out[i] = np.asarray(layer.solve(*row), dtype=float).ravel()
        except SymimplicitError as exc:
            if failures is not None:
                failures[i] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return out


def _gradient_rows(lowered, theta: np.ndarray, x: np.ndarray, layer) -> np.ndarray:
    """Float64 implicit gradients (N, n_user, p): vectorised, warm-started from the
    solutions; if that fails, point by point on the tape layer (NaN where both fail)."""
    N, n_user, p = len(theta), lowered.n_user, lowered.p
    good = np.all(np.isfinite(x), axis=1)
    out = np.full((N, n_user, p), np.nan)
    if not good.any():
        return out
    try:
        start = x[good] if n_user > 1 else x[good, 0]
        g = lowered.gradient(*theta[good].T, x0=start)
        out[good] = np.asarray(g, dtype=float).reshape(-1, n_user, p)
        return out
    except SymimplicitError:
        pass
    for i in np.flatnonzero(good):
        try:
            out[i] = run_float64(layer, list(theta[i]), n_user, {})[1]
        except SymimplicitError:
            pass
    return out


def _fd_rows(lowered, theta: np.ndarray, x0, layer) -> np.ndarray:
    """Central differences (x(θ + h eⱼ) - x(θ - h eⱼ)) / 2h, h = ε^(1/3) max(|θⱼ|, 1),
    each solve from the same start ``x0`` as the sweep's own solve."""
    N, n_user, p = len(theta), lowered.n_user, lowered.p
    out = np.full((N, n_user, p), np.nan)
    start = x0
    for j in range(p):
        h = (2.0 ** -52) ** (1 / 3) * np.maximum(np.abs(theta[:, j]), 1.0)
        plus, minus = theta.copy(), theta.copy()
        plus[:, j] += h
        minus[:, j] -= h
        h = plus[:, j] - theta[:, j]                          # the step actually taken
        xp, xm = _solve_rows(lowered, plus, start, layer), _solve_rows(lowered, minus, start, layer)
        out[:, :, j] = (xp - xm) / (2 * h[:, None])           # ∂x/∂θⱼ ≈ (x₊ - x₋)/2h
    return out


def unrolled_gradient(statement, theta: Sequence[float], x0=None, tol: float = 4 * 2.0 ** -52,
                      max_iter: int = MAX_UNROLLED):
    """Differentiate through x_{k+1} = f(x_k, θ) on the tape (fixed points).

    Iterates from ``x0`` (default 0) until the step is below ``tol`` relative
    to |x|, then one backward pass per unknown.  Returns (x, gradient rows,
    iterations); iterations == max_iter means it did not converge.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> from symimplicit.precision import unrolled_gradient
    >>> xs, rows, iterations = unrolled_gradient(fp, [1.0])
    >>> round(xs[0], 12), round(rows[0][0], 12), iterations
    (0.739085133215, -0.29747434151, 88)
    """
    from symimplicit.twins import from_sympy

    if statement.kind != "fixed_point":
        raise StatementError(f"unrolling iterates a fixed-point map; {statement!r} has none")
    n = len(statement.unknowns)
    params = [Scalar(float(t)) for t in theta]
    values = dict(zip(statement.params, params))
    start = np.broadcast_to(np.asarray(0.0 if x0 is None else x0, dtype=float), (n,))
    xs = [Scalar(float(v)) for v in start]
    k = 0
    for k in range(1, max_iter + 1):
        env = {**values, **dict(zip(statement.unknowns, xs))}
        new = [from_sympy(f, env) for f in statement.expressions]   # x_{k+1} = f(x_k, θ)
        new = [v if isinstance(v, Scalar) else Scalar(float(v)) for v in new]
        step = max(abs(u.value - v.value) for u, v in zip(new, xs))
        xs = new
        if step <= tol * max(1.0, max(abs(v.value) for v in xs)):
            break
    return [v.value for v in xs], gradient_rows(xs, params), k


# --------------------------------------------------------------------------- #
# errors against the reference                                                  #
# --------------------------------------------------------------------------- #
def _error(values, ref_rows, work_dps, bounds=None) -> float:
    """max over components of the error as verify judges it (:func:`judge`: relative, or
    against ē for a component below its rounding floor); a non-finite float64 value (its
    solve failed) has an infinite error."""
    vals = np.asarray(values, dtype=float).tolist()
    if bounds is None:
        bounds = [[0.0] * len(row) for row in ref_rows]
    return max((judge(v, r, b, work_dps).rel_error
                for vrow, rrow, brow in zip(vals, ref_rows, bounds)
                for v, r, b in zip(vrow, rrow, brow)), default=0.0)


def _axis(name: str, values) -> np.ndarray:
    """The values of one swept parameter as a 1-d float array (text, complex refused)."""
    arr = np.atleast_1d(np.asarray(values, dtype=object)).ravel()
    check_points(arr.size, "study")
    out = np.array([parameter_value(name, v, "study") for v in arr], dtype=float)
    if not np.all(np.isfinite(out)):
        raise StatementError(f"study: the values of {name} are not all finite")
    return out


def _grid(statement, over: Mapping, at: Mapping | None) -> tuple[list[str], np.ndarray]:
    """(names of the swept parameters, θ as an (N, p) array in the statement's order)."""
    names = [p.name for p in statement.params]
    swept_values = parameter_names(over, "study", "`over`")
    given = {**parameter_names(at or {}, "study", "`at`"), **swept_values}
    swept = list(swept_values)
    missing = [n for n in names if n not in given]
    extra = [n for n in given if n not in names]
    if missing or extra:
        raise StatementError(f"study: over + at must give exactly the parameters {names}; "
                             f"missing {missing}, unknown {extra}")
    axes = [_axis(n, given[n]) if n in swept else np.array([parameter_value(n, given[n], "study")])
            for n in names]
    check_points(int(np.prod([len(ax) for ax in axes])), "study")
    theta = np.array(list(product(*axes)), dtype=float).reshape(-1, len(names))
    return swept, theta


# --------------------------------------------------------------------------- #
# the sweeps                                                                    #
# --------------------------------------------------------------------------- #
def study(statement, over: Mapping, at: Mapping | None = None, dps: int = 30, *,
          executor: Executor | None = None, progress=None, unrolled: bool | None = None,
          richardson: bool = False, max_unrolled: int = MAX_UNROLLED, certify: bool = False,
          **solver_options) -> Study:
    """Sweep ``over`` (parameter -> values; several give their grid) with the rest fixed ``at``.

    Columns of the returned :class:`Study` (one row per point): every parameter;
    ``kappa``; each unknown's float64 solution; ``solution_error``; ``implicit_error``
    (the float64 IFT gradient); ``unrolled_error`` and ``unrolled_iterations``
    (fixed points, differentiating through the iteration; NaN otherwise);
    ``fd_error`` (central differences); ``implicit_digits`` and ``digits_lost``
    (log10 of implicit_error / 2⁻⁵³); ``bound`` = κ·2⁻⁵³; ``route_digits`` when
    ``richardson=True``; ``certified``, ``proved_error`` and ``proved_digits`` (the
    implicit gradient's error *proved* by interval arithmetic) when ``certify=True``.
    Every error is the largest relative error over the
    components, against mpmath at ``dps`` digits; it is ``inf`` where the float64
    side failed (NaN values) and NaN where the reference failed (see ``notes``).

    ``executor``: any concurrent.futures.Executor for the mpmath tasks.
    ``progress``: tqdm bar (None: when tqdm is installed; True: required).
    ``**solver_options`` (``x0``, ``tol``, ``max_iter``) go to ``statement.lower``.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> from symimplicit.precision import study
    >>> s = study(fp, over={a: [0.5, 1.0]}, progress=False)
    >>> s["a"].tolist(), bool((s["implicit_error"] < 1e-15).all())
    ([0.5, 1.0], True)
    """
    dps = check_dps(dps, "study")
    swept, theta = _grid(statement, over, at)
    warn_low_precision(statement, "study")
    problem = problem_of(statement)
    lowered = statement.lower(backend="numpy", **solver_options)
    layer = statement.primitive(warm_start=False, **solver_options)
    x0 = solver_options.get("x0")
    failures: dict = {}
    x = _solve_rows(lowered, theta, x0, layer, failures)
    g_impl = _gradient_rows(lowered, theta, x, layer)
    # differences need ~ε^(2/3) only: a looser solver tolerance for their 2p solves
    fd_options = {**solver_options, "tol": max(solver_options.get("tol") or 0.0, FD_SOLVE_TOL)}
    g_fd = _fd_rows(statement.lower(backend="numpy", **fd_options), theta, x0,
                    statement.primitive(warm_start=False, **fd_options))
    unroll = statement.kind == "fixed_point" if unrolled is None else unrolled
    tasks = [(problem, tuple(row), tuple(_start(xr, x0, problem)), dps, richardson,
              tuple(map(float, xr)))
             for row, xr in zip(theta, x)]
    results = _run(tasks, executor, progress, "mpmath references")
    cols = _columns(statement, theta, x, g_impl, g_fd, results, dps, swept)
    if unroll:
        _add_unrolled(cols, statement, theta, results, x0, max_unrolled, progress)
    if richardson:
        cols["route_digits"] = np.array([r[3] if isinstance(r, tuple) else np.nan
                                         for r in results], dtype=float)
    if certify:                                              # proved digits next to measured ones
        from symimplicit.precision.certify import certify_columns
        cols.update(certify_columns(statement, theta, x, g_impl, dps, x0))
    notes = [r for r in results if isinstance(r, str)]
    reasons = {k: f"the mpmath reference failed: {r}" for k, r in enumerate(results)
               if isinstance(r, str)}
    for k in np.flatnonzero(~np.all(np.isfinite(x), axis=1)):
        reasons.setdefault(int(k), "the float64 solve failed: " +
                           failures.get(int(k), "no finite solution"))
    return Study(cols, statement=statement, swept=swept, dps=dps, notes=notes, reasons=reasons)


def _start(x_row, x0, problem) -> list:
    """Newton's start for mpmath: the float64 solution, else the user's x0, else 0."""
    if np.all(np.isfinite(x_row)):
        return problem.start(list(map(float, x_row)))
    return problem.start(np.ravel(np.asarray(0.0 if x0 is None else x0, dtype=float)).tolist())


def _columns(statement, theta, x, g_impl, g_fd, results, dps, swept) -> dict:
    N = len(theta)
    cols: dict[str, np.ndarray] = {p.name: theta[:, j] for j, p in enumerate(statement.params)}
    cols["kappa"] = np.full(N, np.nan)
    for i, u in enumerate(statement.unknowns):
        cols[str(u)] = x[:, i]
    for name in ("solution_error", "implicit_error", "fd_error"):
        cols[name] = np.full(N, np.nan)
    for k, r in enumerate(results):
        if not isinstance(r, tuple):
            continue
        sol, grad, kappa, _, work, sol_bound, grad_bound = r
        cols["kappa"][k] = kappa
        cols["solution_error"][k] = _error([x[k]], [list(sol)], work, [list(sol_bound)])
        cols["implicit_error"][k] = _error(g_impl[k], grad, work, grad_bound)
        cols["fd_error"][k] = _error(g_fd[k], grad, work, grad_bound)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = cols["implicit_error"]                         # 0: dps digits; inf: 0; NaN stays
        cols["implicit_digits"] = np.clip(-np.log10(err), 0.0, dps)
        cols["digits_lost"] = np.clip(np.log10(err / EPS), 0.0, -np.log10(EPS))
    cols["bound"] = cols["kappa"] * EPS
    return cols


def _add_unrolled(cols, statement, theta, results, x0, max_unrolled, progress) -> None:
    N = len(theta)
    cols["unrolled_error"] = np.full(N, np.nan)
    cols["unrolled_iterations"] = np.zeros(N)
    for k in _progress(range(N), N, progress, "unrolled iterations"):
        r = results[k]
        if not isinstance(r, tuple):
            continue
        try:
            _, grads, its = unrolled_gradient(statement, theta[k], x0=x0, max_iter=max_unrolled)
        except SymimplicitError:
            continue
        cols["unrolled_iterations"][k] = its
        cols["unrolled_error"][k] = _error(grads, r[1], r[4], r[6])


def tolerance_study(statement, at: Mapping, tols: Sequence[float] = tuple(10.0 ** -np.arange(1, 16)),
                    dps: int = 30, *, method: str | None = None, x0=None,
                    max_unrolled: int = MAX_UNROLLED) -> Study:
    """Errors of the solution and gradient against the solver tolerance.

    For each tolerance t: the implicit layer ``statement.primitive(tol=t, method=...)``
    (fixed points default to plain iteration, ``method="iterate"``, so both sides
    run the same iteration) and, for fixed points, the unrolled iteration stopped
    at the same relative step t.  Columns: ``tol``, ``implicit_iterations``,
    ``solution_error``, ``implicit_error``, ``unrolled_iterations``, ``unrolled_error``.
    The implicit gradient's error follows the solution's (linearly); the unrolled
    one converges at the iteration's rate and carries its own truncation.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> from symimplicit.precision import tolerance_study
    >>> t = tolerance_study(fp, at={a: 1.0}, tols=[1e-4, 1e-8])
    >>> e4, e8 = t["solution_error"]
    >>> bool(e4 < 1e-4 and e8 < 1e-8 and e8 < e4)
    True
    """
    dps = check_dps(dps, "tolerance_study")
    _, theta = _grid(statement, {}, at)
    theta = theta[0]
    problem = problem_of(statement)
    fixed = statement.kind == "fixed_point"
    method = method or ("iterate" if fixed else "newton")
    rows = {k: [] for k in ("tol", "implicit_iterations", "solution_error", "implicit_error",
                            "unrolled_iterations", "unrolled_error")}
    ref = None
    for t in tols:
        layer = statement.primitive(tol=float(t), method=method, x0=x0, warm_start=False,
                                    max_iter=100000)
        xs, grads = run_float64(layer, list(theta), problem.n_user, {})
        if ref is None:
            ref = reference(problem, list(theta), problem.start(xs), dps, richardson=False,
                            z64=xs)
        rows["tol"].append(float(t))
        rows["implicit_iterations"].append(layer.last_iterations)
        rows["solution_error"].append(_error([xs], [list(ref.solution)], ref.work_dps,
                                             [list(ref.solution_bound)]))
        rows["implicit_error"].append(_error(grads, ref.gradient, ref.work_dps,
                                             ref.gradient_bound))
        if fixed:
            _, ug, its = unrolled_gradient(statement, theta, x0=x0, tol=float(t),
                                           max_iter=max_unrolled)
            rows["unrolled_iterations"].append(its)
            rows["unrolled_error"].append(_error(ug, ref.gradient, ref.work_dps,
                                                 ref.gradient_bound))
        else:
            rows["unrolled_iterations"].append(np.nan)
            rows["unrolled_error"].append(np.nan)
    cols = {k: np.asarray(v, dtype=float) for k, v in rows.items()}
    cols["kappa"] = np.full(len(tols), ref.kappa if ref else np.nan)
    return Study(cols, statement=statement, swept=["tol"], dps=dps)

