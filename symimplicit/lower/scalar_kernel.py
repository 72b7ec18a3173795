"""One generated function per scalar statement: Newton, the checks at the root, the IFT gradient.

A scalar layer call spent most of its time between the arithmetic: a Python call per
evaluation of (F, F_x, N(F)), a Solution object, the check functions.  The *kernel* is
the same algorithm written out as one function, with the straight-line code of
:class:`~symimplicit.lower.compiled.CompiledStatement` (the very source of its
``fdfn`` and ``gradient`` callables, so every value has the same bits) inlined at each
evaluation site:

* Newton from x0 with :class:`~symimplicit.lower.solvers.ScalarNewton`'s rule: stop when
  F = 0, |F| ≤ 2ε·N(F) or |Δx| ≤ tol·(|x| + tiny), returning x + Δx; damped by halving t
  until |F(x + tΔx)| < |F(x)| (a point outside F's domain is a rejected trial, evaluated
  by ``fdfn`` itself so the rejection is the solver's);
* the checks of the layer at the root: x and F_x finite and F_x ≠ 0, Newton not linear
  (:func:`~symimplicit.lower.solvers._linear` on the last five steps), the root resolved
  (|F_x(x ± u) - F_x| < ½|F_x|, u = 2ε·N(F)/|F_x|: :func:`~symimplicit.lower.checks.
  unresolved_scalar`), F_x > 0 for a minimum;
* the gradient ∂x/∂θⱼ = -F_θⱼ/F_x at the root (None when it cannot be evaluated: the
  backward pass then evaluates it and raises the typed error there).

It returns ``(x, F_x, iterations, gradient)`` when everything passed and None for
anything unusual (no convergence, a stagnating or rejected line search, a domain error
or a complex value at an iterate, a multiple or unresolved root, a maximum): the layer
then runs the general path (ScalarNewton, the bracketed fallback, the full checks),
which gives the same numbers on the usual path and the typed error or the fallback's
root on the others.  Statements with kinks, other methods and brackets never use it.

Only internal names reach the code: ``_s0`` (x), ``_s1 ...`` (θ), the printer's
``_t``/``_h`` temporaries, ``q_...`` locals and ``_k_...`` constants of the namespace.

Examples
========
>>> import sympy as sp
>>> from symimplicit import FixedPoint
>>> from symimplicit.lower.compiled import compile_statement
>>> x, a, b = sp.symbols("x a b")
>>> kernel = scalar_kernel(compile_statement(FixedPoint(sp.cos(a*x + b), x, (a, b))))
>>> root, dF, iterations, gradient = kernel(0.0, 1.0, 0.0)      # x = cos x
>>> root, iterations
(0.7390851332151607, 5)
>>> kernel(0.0, 1.0, 1e300) is None      # F_x unresolved at the root: the general path raises
True
"""
from __future__ import annotations

import math
import re

from symimplicit.errors import DomainError
from symimplicit.lower.codegen import MATH_ERRORS
from symimplicit.lower.solvers import EPS, FLOOR, MAX_HALVINGS, TINY

__all__ = ["scalar_kernel", "kernel_source"]

_INF, _NAN = math.inf, math.nan


def _trial(fdfn, x, theta):
    """A line-search trial the inlined code could not evaluate: ``fdfn`` as ScalarNewton calls it
    (N = NaN where only N fails; outside F's domain |F| = ∞, a rejected trial)."""
    try:
        return fdfn(x, theta)
    except DomainError:
        return _INF, _NAN, _NAN


def _parts(source: str) -> tuple[list, list]:
    """(assignment lines, result expressions) of a straight-line function's ``source`` (the
    printer's layout: a ``def`` line, ``name = expression`` lines, one ``return [...]``)."""
    lines = source.split("\n")
    head, last = "    return [", lines[-1]
    if not (lines[0].startswith("def _generated(") and last.startswith(head) and last.endswith("]")):
        raise ValueError("not a straight-line function's source")            # pragma: no cover
    results, depth, start, text = [], 0, 0, last[len(head):-1]
    for i, ch in enumerate(text):                    # the top-level commas of the list display
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            results.append(text[start:i].strip())
            start = i + 1
    results.append(text[start:].strip())
    return [line[4:] for line in lines[1:-1]], results


_TEMPORARY = re.compile(r"\b_[th]\d+\b")           # the printer's temporaries (_t0, _h0, ...)


def _block(source: str, targets: dict, indent: str) -> list:
    """Lines assigning ``targets`` ({local name: index of the result}; the name ``q_g``: the
    whole result list), keeping only the assignments they depend on (the same operations on
    the same values: the same bits)."""
    body, results = _parts(source)
    if "q_g" in targets:
        wanted = {"q_g": "[" + ", ".join(results) + "]"}
    else:
        wanted = {name: results[i] for name, i in targets.items()}
    needed = set(_TEMPORARY.findall(" ".join(wanted.values())))
    kept = []
    for line in reversed(body):                                  # each temporary assigned once
        name, _, value = line.partition(" = ")
        if name in needed:
            kept.append(line)
            needed.update(_TEMPORARY.findall(value))
    out = [indent + line for line in reversed(kept)]
    return out + [f"{indent}{name} = {value}" for name, value in wanted.items()]


def _evaluate(source, at, indent, on_error, checked, targets=("q_F", "q_dF", "q_N")):
    """Lines evaluating ``targets`` (of q_F, q_dF, q_N) at ``at`` (None: ``_s0`` is set);
    ``on_error`` the lines run on a math error or (``checked``) a value that is not a float."""
    index = {"q_F": 0, "q_dF": 1, "q_N": 2}
    lines = ([f"{indent}_s0 = {at}"] if at else []) + [f"{indent}try:"]
    lines += _block(source, {t: index[t] for t in targets}, indent + "    ")
    if checked:
        test = " or ".join(f"{t}.__class__ is not float" for t in targets)
        lines += [f"{indent}    if {test}:", f"{indent}        raise _k_NotFloat"]
    lines += [f"{indent}except _k_ERRORS:"] + [indent + "    " + line for line in on_error]
    return lines


class _NotFloat(Exception):
    """A complex (or integer) value in the inlined code: handled as a math error."""


def kernel_source(fdn_source: str, gradient_source: str, n_params: int, *, affine: bool,
                  minimize: bool, checked: bool = True) -> str:
    """The kernel's Python source from the straight-line sources of [F, F_x, N(F)] and of
    [∂x/∂θⱼ] (functions of ``_s0`` = x and ``_s1 ... _sp`` = θ)."""
    theta = [f"_s{j}" for j in range(1, n_params + 1)]
    theta_tuple = "(" + "".join(t + ", " for t in theta) + ")"
    out = [f"def _kernel(q_x{''.join(', ' + t for t in theta)}):"]
    out += _evaluate(fdn_source, "q_x", "    ", ["return None"], checked)
    out += [
        "    q_p1 = q_p2 = q_p3 = q_p4 = q_p5 = _k_nan",          # the last five |Δx|, newest first
        "    for q_k in range(1, _k_max_iter + 1):",
        "        if q_F == 0.0:",
        "            q_it = q_k - 1",
        "            q_xs = q_x",
        "            break",
        "        q_size = abs(q_F)",
        "        q_floor = q_size <= _k_FLOOR * q_N and q_N < _k_inf",   # |F| ≤ 2ε·N(F)
        "        if q_dF == 0.0 or q_dF - q_dF != 0.0:",
        "            return None",
        "        q_dx = -q_F / q_dF",                                 # Newton: Δx = -F/F_x
        "        q_p5 = q_p4",
        "        q_p4 = q_p3",
        "        q_p3 = q_p2",
        "        q_p2 = q_p1",
        "        q_p1 = abs(q_dx)",
        "        if q_floor or q_p1 <= _k_tol * (abs(q_x) + _k_TINY):",   # |Δx| ≤ tol·(|x| + tiny)
        "            q_it = q_k",
        "            q_xs = q_x + q_dx",
        "            break",
        "        q_t = 1.0",
        "        for q_h in range(_k_MAX_HALVINGS):",                  # |F(x + tΔx)| < |F(x)|
        "            _s0 = q_x + q_t * q_dx",
        "            if _s0 == q_x:",
        "                return None",
    ]
    out += _evaluate(fdn_source, None, "            ",
                     [f"q_F, q_dF, q_N = _k_trial(_k_fdfn, _s0, {theta_tuple})"], checked)
    out += [
        "            if abs(q_F) < q_size:",
        "                break",
        "            q_t *= 0.5",
        "        else:",
        "            return None",
        "        q_x = _s0",
        "    else:",
        "        return None",
        # Newton converged linearly (solvers._linear of the last five steps): a multiple root
        "    if (0.4 * q_p5 <= q_p4 <= 0.75 * q_p5 and 0.4 * q_p4 <= q_p3 <= 0.75 * q_p4) or \\",
        "            (0.4 * q_p4 <= q_p3 <= 0.75 * q_p4 and 0.4 * q_p3 <= q_p2 <= 0.75 * q_p3) or \\",
        "            (0.4 * q_p3 <= q_p2 <= 0.75 * q_p3 and 0.4 * q_p2 <= q_p1 <= 0.75 * q_p2):",
        "        return None",
        "    if q_xs - q_xs != 0.0 or q_dF == 0.0 or q_dF - q_dF != 0.0:",
        "        return None",
    ]
    if not affine:                                 # F_x(x ± u) within ½|F_x|, u = 2ε·N(F)/|F_x|
        out += ["    q_J = q_dF"]
        out += _evaluate(fdn_source, "q_xs", "    ", ["return None"], checked)
        out += ["    q_u = 2 * _k_EPS * q_N / abs(q_J)",
                "    if q_u - q_u == 0.0:",
                "        q_worst = 0.0"]
        for at in ("q_xs + q_u", "q_xs - q_u"):
            # F and F_x (not N): where either fails the general path has no verdict from
            # that side, and the kernel hands over; otherwise F_x has the general path's bits
            out += _evaluate(fdn_source, at, "        ", ["return None"], checked,
                             ("q_F", "q_dF"))
            out += ["        q_change = abs(q_dF - q_J) / abs(q_J)",
                    "        q_worst = max(q_worst, q_change if q_change == q_change else _k_inf)"]
        out += ["        if q_worst >= 0.5:",
                "            return None",
                "    q_dF = q_J"]
    if minimize:
        out += ["    if q_dF < 0.0:",                                # a maximum: the typed error
                "        return None"]
    out += ["    _s0 = q_xs", "    try:"]
    out += _block(gradient_source, {"q_g": None}, "        ")
    out += ["    except _k_ERRORS:", "        q_g = None"]
    out += ["    else:",
            "        for q_v in q_g:",
            "            if q_v.__class__ is not float:",
            "                q_g = None",
            "                break",
            "    return q_xs, q_dF, q_it, q_g", ""]
    return "\n".join(out)


def scalar_kernel(compiled, tol: float | None = None, max_iter: int | None = None):
    """The kernel of a scalar :class:`~symimplicit.lower.compiled.CompiledStatement` for the
    solver options ``tol`` and ``max_iter`` (ScalarNewton's defaults when None)."""
    from symimplicit.lower.solvers import ScalarNewton

    if compiled.vector or compiled.kink_exprs:
        raise ValueError("the scalar kernel is for one unknown and a smooth residual")
    options = ScalarNewton(compiled, tol=tol, max_iter=max_iter)
    made = compiled.__dict__.setdefault("_scalar_kernels", {})     # one exec per option set
    key = (options.tol, options.max_iter)
    if key not in made:
        made[key] = _make(compiled, options)
    return made[key]


def _make(compiled, options):
    fdn, gradient = compiled._with_noise, compiled._gradient
    source = kernel_source(fdn.source, gradient.source, compiled.p, affine=compiled.affine,
                           minimize=compiled.statement.kind == "minimize")
    namespace = {k: v for k, v in fdn.__globals__.items() if k != "_generated"}
    namespace.update(_k_tol=options.tol, _k_max_iter=options.max_iter, _k_nan=_NAN,
                     _k_inf=_INF, _k_FLOOR=FLOOR, _k_TINY=TINY, _k_EPS=EPS,
                     _k_MAX_HALVINGS=MAX_HALVINGS, _k_ERRORS=MATH_ERRORS + (_NotFloat,),
                     _k_NotFloat=_NotFloat, _k_trial=_trial, _k_fdfn=compiled.fdfn)
    exec(compile(source, "<symimplicit.lower.scalar_kernel>", "exec"), namespace)  # noqa: S102
    kernel = namespace["_kernel"]
    kernel.source = source
    return kernel

