"""verify for JAX functions: the solution, gradient and Hessian of a JAX function against mpmath.

A JAX target is ``statement.to_jax()`` (it carries its statement) or any JAX function of
float parameters returning the statement's unknowns (then ``against=`` names the statement;
a plain Python function that calls ``jax.numpy`` is marked with :func:`jax_function`, a
``jax.jit``/``jax.custom_jvp`` object is recognised by its type).  Its float64 values come
from JAX itself: the call, ``jax.jacrev`` (gradient rows) and ``jax.hessian`` (second-order
rows); the truth is mpmath's:

* solution and gradient: :func:`~symimplicit.precision.reference.reference` (IFT and
  Richardson routes, as for tape targets);
* Hessian: the derivation's second-order formulas ∂²zᵢ/∂θⱼ∂θₖ evaluated by mpmath at the
  high-precision solution (multipliers included), never the float64 path under test.
"""
from __future__ import annotations

import math
import time

import mpmath
import sympy as sp

from symimplicit.errors import StatementError
from symimplicit.precision.mpsolve import backend, problem_of
from symimplicit.precision.reference import digits_from_error, error_rows, reference
from symimplicit.precision.report import Row, VerifyReport, default_tol

__all__ = ["is_jax_target", "jax_function", "verify_jax"]

_MARK = "_symimplicit_jax"


def jax_function(fn):
    """Mark ``fn`` (a Python function of floats written with JAX) as a JAX target for verify."""
    setattr(fn, _MARK, True)
    return fn


def is_jax_target(target) -> bool:
    """A function from ``to_jax()``, one marked by :func:`jax_function`, or a JAX-wrapped callable."""
    if getattr(target, _MARK, False) or getattr(target, "solution", None) is not None and \
            type(getattr(target, "solution")).__module__.startswith("jax"):
        return True
    return type(target).__module__.split(".")[0] in ("jax", "jaxlib")


def verify_jax(target, at, dps: int = 50, against=None, tol=None, strict: bool = False, *,
               richardson: bool = True, x0=None) -> VerifyReport:
    """Judge a JAX function's solution, gradient and Hessian against mpmath (see module doc)."""
    from symimplicit.lower.jax import require_jax
    from symimplicit.precision.verify import _reference_start, _rows, parameter_values

    jax, jnp = require_jax()
    start = time.perf_counter()
    statement = against if against is not None else getattr(target, "statement", None)
    if statement is None:
        raise StatementError(f"verify: the JAX function {target!r} carries no statement; pass "
                             "the statement that defines the truth as against=...")
    values = parameter_values(statement, at)
    problem = problem_of(statement)
    k, p = problem.n_user, problem.p

    def vector(theta):
        out = target(*[theta[j] for j in range(p)])
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if len(outs) != k:
            raise StatementError(f"verify: the JAX target returned {len(outs)} value(s); "
                                 f"expected {k}, one per unknown of {statement!r}")
        return jnp.stack([jnp.reshape(jnp.asarray(o), ()) for o in outs])

    theta = jnp.asarray(values, dtype=jnp.float64 if jax.config.jax_enable_x64 else None)
    x64 = [float(v) for v in vector(theta)]
    g64 = [[float(v) for v in row] for row in jax.jacrev(vector)(theta)]
    h64 = jax.hessian(vector)(theta)
    z0, origin = _reference_start(statement, problem, values, x64, x0, "the JAX target")
    ref = reference(problem, values, problem.start(z0), dps, richardson=richardson)
    rows = _rows(statement, x64, g64, ref) + _hessian_rows(statement, h64, ref, values)
    label = getattr(target, "__name__", None) or repr(target)
    report = VerifyReport(
        target=f"{label} (JAX)", statement=statement,
        at=dict(zip((q.name for q in statement.params), values)), dps=dps,
        tol=default_tol(ref.kappa) if tol is None else float(tol), kappa=ref.kappa, rows=rows,
        route_digits=ref.route_digits, backend=backend(), seconds=time.perf_counter() - start,
        start=origin)
    report.notes.append("gradient rows from jax.jacrev, Hessian rows from jax.hessian; the "
                        "Hessian's truth is the derived second-order formula in mpmath")
    return report.raise_if_wrong() if strict else report


def _hessian_rows(statement, h64, ref, values) -> list:
    """Rows ∂²xᵢ/∂θⱼ∂θₖ (j ≤ k): JAX's float64 against the derived formula at mpmath's solution."""
    d = statement.derive()
    params = statement.params
    unknowns = statement.unknowns
    args = tuple(statement.system_unknowns) + tuple(params)
    refs, vals, names = [], [], []
    with mpmath.workdps(ref.work_dps):
        point = [*ref.system_solution, *[mpmath.mpf(t) for t in values]]
        for j in range(len(params)):
            for kk in range(j, len(params)):
                expr = d._raw_derivative(params[j], params[kk])
                column = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
                fn = sp.lambdify(args, column, modules="mpmath")
                truth = fn(*point)
                for i, x in enumerate(unknowns):
                    refs.append(mpmath.mpf(truth[i]) if not isinstance(truth[i], mpmath.mpf)
                                else truth[i])
                    vals.append(float(h64[i][j][kk]))
                    names.append((x, params[j], params[kk]))
    errs = error_rows([vals], [refs], ref.work_dps)[0]
    rows = []
    for (x, a, b), v, r, e in zip(names, vals, refs, errs):
        with mpmath.workdps(ref.work_dps):
            ulps = abs(float(mpmath.mpf(v) - r)) / math.ulp(float(r)) if math.isfinite(v) \
                and float(r) != 0 else (0.0 if v == 0 else math.inf)
        rows.append(Row(name=f"∂²{x}/∂{a}∂{b}", kind="hessian", value=v, reference=r,
                        rel_error=e, digits=digits_from_error(e, ref.dps), ulps=ulps,
                        kappa=ref.kappa, latex=_second_latex(x, a, b)))
    return rows


def _second_latex(x, a, b) -> str:
    """\\frac{\\partial^{2} x}{\\partial a \\partial b} (a == b: \\partial a^{2})."""
    den = (rf"\partial {sp.latex(a)}^{{2}}" if a == b
           else rf"\partial {sp.latex(a)} \partial {sp.latex(b)}")
    return rf"\frac{{\partial^{{2}} {sp.latex(x)}}}{{{den}}}"
