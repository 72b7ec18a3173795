"""verify for matrix statements: the float64 numpy path of ``statement.lower(sizes)`` against
the entry-wise mpmath truth (:mod:`symimplicit.matrix.entrywise`).

Each checked quantity is a whole array (the solution z, a multiplier λ, the Jacobian ∂z/∂θ of
a column or scalar θ, the vjp θ̄ for a cotangent z̄) and gets one row of a
:class:`~symimplicit.precision.report.VerifyReport`:

    rel. error = max |v − r| / max |r|   (over the quantity's entries; absolute when r = 0)

judged against tol = min(64 κ 2⁻⁵³, 1e-8), κ = ‖J‖∞ ‖J⁻¹‖∞ of the entry-wise Jacobian of the
residual at the solution.  The row shows the entry with the largest error ([i,j] in its name).
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from ..errors import StatementError
from ..precision.limits import check_dps
from ..precision.mpsolve import backend
from ..precision.reference import digits_from_error
from ..precision.report import Row, VerifyReport, default_tol
from .entrywise import entrywise_reference, expand

__all__ = ["verify_matrix", "MatrixRow", "MatrixVerifyReport", "is_matrix_target",
           "verify_dispatch"]


@dataclass(repr=False)
class MatrixRow(Row):
    """A :class:`~symimplicit.precision.report.Row` for a whole array: ``values`` (float64)
    and ``references`` (mpf, same shape, nested lists), ``worst`` the index shown."""

    values: object = None
    references: object = None
    worst: tuple = ()


@dataclass(repr=False)
class MatrixVerifyReport(VerifyReport):
    """A VerifyReport whose rows are arrays; ``arrays`` holds the matrix parameters (float64),
    ``sizes`` the dimensions used, ``at`` the scalar parameters."""

    arrays: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)

    def _at_text(self) -> str:
        parts = [f"{k}: {'×'.join(map(str, np.shape(v)))} array" for k, v in self.arrays.items()]
        return ", ".join(parts + [f"{k}={v!r}" for k, v in self.at.items()])

    def _header(self) -> list:
        head = super()._header()
        head[1] = (f"reference: mpmath {self.dps} digits ({self.backend} backend), the statement "
                   "expanded entry-wise, findroot and the IFT by lu_solve")
        head.insert(2, "each row: a whole array, rel. error = max|v − r| / max|r| over its "
                       "entries, shown at its worst entry [i,j]")
        return head

    def _tol_text(self) -> str:
        if self.tol is not None:
            return f"tol = {self.tol:.3g} (relative, given)"
        return f"tol = min(64·κ·u, 1e-8) = {default_tol(self.kappa):.3g} (relative)"

    def as_dict(self) -> dict:
        data = super().as_dict()
        data["arrays"] = {k: np.asarray(v).tolist() for k, v in self.arrays.items()}
        data["sizes"] = dict(self.sizes)
        for d, r in zip(data["rows"], self.rows):
            d["shape"], d["worst"] = list(np.shape(r.values)), list(r.worst)
        return data


def _dims(statement, sizes, arrays) -> dict:
    """{dimension Symbol: int}: ``sizes`` first, the rest read off the arrays' shapes."""
    dims = {}
    for k, v in (sizes or {}).items():
        key = sp.Symbol(k) if isinstance(k, str) else k
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise StatementError(f"verify: sizes[{k!r}] must be a positive integer, got {v!r}")
        dims[key] = int(v)
    for p in statement.params:
        if isinstance(p, MatrixSymbol) and p.name in arrays:
            shape = np.shape(arrays[p.name])
            for d, s in zip(p.shape, shape if len(shape) == 2 else ()):
                if isinstance(d, sp.Symbol) and d not in dims:
                    dims[d] = int(s)                           # n read off the array
    return dims


def _shape(p, dims):
    shape = tuple(sp.sympify(d).xreplace({k: sp.Integer(v) for k, v in dims.items()})
                  for d in p.shape)
    if not all(d.is_Integer for d in shape):
        raise StatementError(f"verify: the shape {p.shape} of {p.name} has no value: pass "
                             f"sizes={{...}} or the array")
    return tuple(int(d) for d in shape)


def _arrays(statement, at, dims):
    """({name: float64 array or float}) checked against the statement's parameters."""
    by_name = {}
    for k, v in at.items():
        name = k if isinstance(k, str) else getattr(k, "name", None)
        if name is None:
            raise StatementError(f"verify: {k!r} in `at` is neither a Symbol nor a name")
        by_name[name] = v
    names = [p.name for p in statement.params]
    extra = [n for n in by_name if n not in names]
    if extra:
        raise StatementError(f"verify: `at` gives {extra}, which are not parameters of "
                             f"{statement} (parameters: {names})")
    out = {}
    for p in statement.params:
        if isinstance(p, MatrixSymbol):
            shape = _shape(p, dims)
            if p.name not in by_name:
                raise StatementError(f"verify: no array for the parameter {p.name} (expected "
                                     f"shape {shape})")
            try:
                v = np.array(by_name[p.name], dtype=float)
            except (TypeError, ValueError):
                raise StatementError(f"verify: the value of {p.name} is not an array of numbers "
                                     f"(expected shape {shape})") from None
            if v.shape != shape and not (shape[1] == 1 and v.shape == (shape[0],)):
                raise StatementError(f"verify: the parameter {p.name} has shape {v.shape}, "
                                     f"expected {shape}")
            v = v.reshape(shape)
        else:
            if p.name not in by_name:
                raise StatementError(f"verify: no value for the scalar parameter {p.name}")
            try:
                v = float(by_name[p.name])
            except (TypeError, ValueError):
                raise StatementError(f"verify: the scalar parameter {p.name} must be a number, "
                                     f"got {by_name[p.name]!r}") from None
        if not np.all(np.isfinite(v)):
            raise StatementError(f"verify: the parameter {p.name} is not finite")
        out[p.name] = v
    return out


def _judge(name, kind, value, ref, kappa, dps, tol) -> MatrixRow:
    """One array against its reference: the normwise relative error in the max norm."""
    v = np.asarray(value, dtype=float)
    with mpmath.workdps(dps + 10):
        R = [[mpmath.mpf(x) for x in row] for row in ref]
        flatR = [x for row in R for x in row]
        scale = max((abs(x) for x in flatR), default=mpmath.mpf(0))
        if v.shape != (len(R), len(R[0]) if R else 0):
            raise StatementError(f"verify: {name} has shape {v.shape} in float64, the reference "
                                 f"{(len(R), len(R[0]) if R else 0)}")
        diffs = [[abs(mpmath.mpf(float(v[i, j])) - R[i][j]) if math.isfinite(v[i, j])
                  else mpmath.inf for j in range(len(R[0]))] for i in range(len(R))]
        worst = max(((i, j) for i in range(len(R)) for j in range(len(R[0]))),
                    key=lambda ij: diffs[ij[0]][ij[1]])
        top = diffs[worst[0]][worst[1]]
        absolute = scale == 0
        err = float(top) if absolute else float(top / scale)   # |v − r|max / |r|max
        ulps = (float(top) / math.ulp(float(scale)) if not absolute and mpmath.isfinite(top)
                else (0.0 if top == 0 else math.inf))
    shape_text = "" if v.size == 1 else f"[{worst[0]},{worst[1]}]"
    return MatrixRow(name=name + shape_text, kind=kind, value=float(v[worst]),
                     reference=R[worst[0]][worst[1]], rel_error=err,
                     digits=digits_from_error(err, dps), ulps=ulps, kappa=kappa,
                     absolute=absolute, tol=default_tol(kappa) if tol is None else tol,
                     values=v, references=R, worst=worst)


def _block(ref_matrix, rows, cols):
    return [[ref_matrix[i, j] for j in cols] for i in rows]


def _cotangent(n, cotangent):
    if cotangent is None:                                      # z̄ᵢ = (−1)ⁱ/(i+1): no symmetry
        return np.array([[(-1) ** i / (i + 1)] for i in range(n)])
    c = np.array(cotangent, dtype=float)
    if c.size != n:
        raise StatementError(f"verify: the cotangent has {c.size} entries, the unknown {n}")
    return c.reshape(n, 1)


def verify_matrix(statement, at, sizes=None, dps: int = 30, tol: float | None = None,
                  cotangent=None, strict: bool = False) -> MatrixVerifyReport:
    """Judge ``statement.lower(sizes)`` (solve, jacobian, vjp in float64) against the
    statement expanded entry by entry and solved by mpmath at ``dps`` digits.

    ``at`` maps each parameter (MatrixSymbol or name) to an array (numpy or nested lists; a
    column may be flat) and each scalar parameter to a number.  A symbolic dimension is read
    from ``sizes`` ({"n": 3}) or from the arrays.  Rows: the solution (and each multiplier of
    a constrained problem), ∂z/∂θ of every column and scalar θ, and θ̄ of every parameter for
    the cotangent z̄ (default z̄ᵢ = (−1)ⁱ/(i+1)).  ``strict``: raise GradientMismatchError
    instead of returning a failing report.

    Examples
    ========
    >>> import numpy as np, sympy as sp
    >>> from symimplicit.matrix import MatrixFixedPoint
    >>> n = sp.Symbol("n")
    >>> W, z, b = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("z", n, 1), sp.MatrixSymbol("b", n, 1)
    >>> deq = MatrixFixedPoint((W*z + b).applyfunc(sp.tanh), z, (W, b))
    >>> report = deq.verify(at={W: 0.3 * np.eye(2), b: [1.0, -0.5]})
    >>> report.ok, [r.name.split("[")[0] for r in report.rows]
    (True, ['z', '∂z/∂b', 'vjp W', 'vjp b'])
    >>> report.digits > 14
    True
    """
    start = time.perf_counter()
    dps = check_dps(dps, "verify")
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, (int, float))
                            or not 0 < tol < 1):
        raise StatementError(f"verify: tol must be a relative error in (0, 1), got {tol!r}")
    if not hasattr(at, "items"):
        raise StatementError(f"verify: `at` must map parameters to values, got {at!r}")
    raw = {(k if isinstance(k, str) else getattr(k, "name", k)): v for k, v in at.items()}
    dims = _dims(statement, sizes, raw)
    arrays = _arrays(statement, at, dims)
    st = statement
    low = st.lower(dims)
    n = _shape(st.unknown, dims)[0]
    multipliers = getattr(st, "multipliers", ())
    # the float64 path under test
    if multipliers:
        z64, lams64 = low.solve_kkt(**arrays)
    else:
        z64, lams64 = low.solve(**arrays), []
    columns = [p for p in st.params if not isinstance(p, MatrixSymbol) or p.shape[1] == 1]
    jac64 = {p.name: low.jacobian(p.name, **arrays) for p in columns}
    zbar = _cotangent(n, cotangent)
    vjp64 = low.vjp(zbar, **arrays)
    # the entry-wise truth
    system = expand(st, dims)
    theta = [x for p in st.params for x in np.ravel(arrays[p.name])]
    start_u = list(np.ravel(z64)) + [x for l in lams64 for x in np.ravel(l)]
    ref = entrywise_reference(system, theta, start_u, dps)
    kappa = ref.kappa
    rows = []
    for M in (st.unknown, *multipliers):                       # the solution (and λ)
        k, shape = system.unknown_blocks[M.name]
        value = z64 if M is st.unknown else lams64[multipliers.index(M)]
        R = [[ref.solution[k + i * shape[1] + j] for j in range(shape[1])]
             for i in range(shape[0])]
        rows.append(_judge(M.name, "solution", np.reshape(value, shape), R, kappa, dps, tol))
    zname = st.unknown.name
    for p in columns:                                          # ∂z/∂θ, n × (entries of θ)
        k, shape = system.param_blocks[p.name]
        m = 1 if not shape else shape[0]
        R = _block(ref.jacobian, range(n), range(k, k + m))
        rows.append(_judge(f"∂{zname}/∂{p.name}", "gradient", np.reshape(jac64[p.name], (n, m)),
                           R, kappa, dps, tol))
    with mpmath.workdps(dps + 10):
        zb = [mpmath.mpf(float(x)) for x in zbar.ravel()]
        for p in st.params:                                    # θ̄ = (∂z/∂θ)ᵀ z̄, shaped like θ
            k, shape = system.param_blocks[p.name]
            size = int(np.prod(shape)) if shape else 1
            flat = [mpmath.fsum(ref.jacobian[i, k + e] * zb[i] for i in range(n))
                    for e in range(size)]
            rs, cs = shape if shape else (1, 1)
            R = [[flat[i * cs + j] for j in range(cs)] for i in range(rs)]
            rows.append(_judge(f"vjp {p.name}", "vjp",
                               np.reshape(np.asarray(vjp64[p.name], float), (rs, cs)),
                               R, kappa, dps, tol))
    report = MatrixVerifyReport(
        target=f"{st!r} lowered at {', '.join(f'{k}={v}' for k, v in dims.items()) or 'its sizes'}",
        statement=st, at={k: v for k, v in arrays.items() if np.ndim(v) == 0}, dps=dps,
        tol=None if tol is None else float(tol), kappa=kappa, rows=rows, route_digits=None,
        backend=backend(), seconds=time.perf_counter() - start,
        start="the float64 solution (entry-wise mpmath.findroot)",
        arrays={k: v for k, v in arrays.items() if np.ndim(v) > 0},
        sizes={str(k): v for k, v in dims.items()})
    report.notes.append(f"the vjp rows (θ̄ = (∂{zname}/∂θ)ᵀ {zname}̄) use the cotangent {zname}̄ = "
                        f"{np.round(zbar.ravel(), 6).tolist()}")
    if ref.residual > 10.0 ** (-dps):
        report.notes.append(f"the entry-wise residual at the reference solution is "
                            f"{ref.residual:.3g}")
    return report.raise_if_wrong() if strict else report


def is_matrix_target(target) -> bool:
    """True for a matrix statement (``symimplicit.verify`` hands it to :func:`verify_dispatch`)."""
    from .statement import MatrixStatement
    return isinstance(target, MatrixStatement)


_OPTIONS = ("sizes", "cotangent")


def verify_dispatch(statement, at, dps, tol, strict, *, x0=None, certify=False, kwargs=None,
                    against=None, **options):
    """``symimplicit.verify(matrix_statement, ...)``: the options it shares with scalar verify,
    plus ``sizes`` and ``cotangent``; the scalar-only ones are refused by name.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import verify
    >>> from symimplicit.matrix import MatrixRoot
    >>> M, x, b = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("b", 2, 1)
    >>> verify(MatrixRoot(M*x - b, x, (M, b)), at={M: [[2, 0], [1, 1]], b: [1, 1]}, dps=30).ok
    True
    """
    refused = [name for name, v in (("x0", x0), ("certify", certify), ("kwargs", kwargs),
                                    ("against", against)) if v]
    refused += [name for name in options if name not in _OPTIONS]
    if refused:
        raise StatementError(f"verify: {', '.join(refused)} not available for matrix statements "
                             f"(their options: dps, tol, strict, {', '.join(_OPTIONS)})")
    return statement.verify(at, dps=dps, tol=tol, strict=strict, **options)
