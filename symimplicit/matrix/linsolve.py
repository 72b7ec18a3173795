"""Dense linear solves for the matrix lowering: LAPACK LU (getrf/getrs, scipy when present),
a typed error for singular or non-finite matrices, and iterative refinement from the LU of a
nearby matrix (the kept factorisation of an earlier Newton iterate).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import SingularJacobianError

EPS = np.finfo(float).eps


def _numpy_getrf(A):
    """getrf without scipy: the matrix stands for its own LU (each solve factorises again)."""
    A = np.array(A, dtype=float)
    sign, _ = np.linalg.slogdet(A)                           # 0: a zero pivot
    return A, None, 0 if sign != 0 else 1


def _numpy_getrs(lu, piv, B, trans=0):
    return np.linalg.solve(lu.T if trans else lu, B), 0


try:                                  # LAPACK directly: scipy's lu_factor / lu_solve wrappers
    from scipy.linalg import lapack as _lapack     # cost ~50 µs a call in Python checks
    _getrf, _getrs_raw = _lapack.dgetrf, _lapack.dgetrs
    _lapack_order = True              # getrf copies a C-ordered matrix into Fortran order
except ImportError:                   # scipy is optional: the core needs numpy only
    _getrf, _getrs_raw = _numpy_getrf, _numpy_getrs
    _lapack_order = False


def _name(what):
    return what() if callable(what) else what       # a message is formatted only when raised


def factor(A, what):
    """LU of A (LAPACK getrf), as (lu, piv, flip); a non-finite A or a zero pivot is a
    SingularJacobianError.  A C-ordered A is factorised as Aᵀ (flip = 1: its Fortran-ordered
    view, no transposing copy; A x = B is then solved as (Aᵀ)ᵀ x = B)."""
    if not np.isfinite(A).all():
        raise SingularJacobianError(f"{_name(what)} is not finite", value=A)
    flip = int(_lapack_order and A.ndim == 2 and A.flags.c_contiguous and not A.flags.f_contiguous)
    lu, piv, info = _getrf(A.T if flip else A)
    if info != 0:                                            # info > 0: U[info-1, info-1] = 0
        raise SingularJacobianError(f"{_name(what)} is singular (a zero pivot in its LU "
                                    "factorisation)", value=A)
    return lu, piv, flip


def getrs(lu, B, trans):
    x, info = _getrs_raw(lu[0], lu[1], B, trans=trans ^ lu[2])
    return x


def lu_solve(lu, B, trans, what, A):
    x = getrs(lu, B, trans)
    if not np.isfinite(x).all():
        raise SingularJacobianError(f"{_name(what)} is numerically singular (its solve is not "
                                    "finite)", value=A)
    return x


def refine(lu, A, B, trans, rtol, sweeps=None):
    """Solve A x = B (Aᵀ x = B for trans=1) with the LU of a nearby matrix by iterative
    refinement x ← x + LU⁻¹ (B − A x); None unless the corrections contract to rtol |x|
    (|dx| ≤ rtol |x|, or r/(1 − r) |dx| ≤ rtol |x|: the error bound at contraction r).

    A sweep costs ~4n² flops against ~⅔n³ for a fresh LU: at most ``sweeps`` (default
    :func:`sweeps_per_lu`, capped at 6), none below n = 32 (where the LU is as cheap as the
    Python around a sweep), and None as soon as the observed contraction
    r = |dxₖ|/|dxₖ₋₁| needs more sweeps than are left."""
    if sweeps is None:
        sweeps = min(6, sweeps_per_lu(A.shape[0]))
    if sweeps < 2:
        return None
    At = A.T if trans else A
    x = getrs(lu, B, trans)
    prev = abs(x).max()                                      # |x₀| as the 0th correction
    for k in range(sweeps):
        dx = getrs(lu, B - At @ x, trans)
        x = x + dx
        size, scale = abs(dx).max(), abs(x).max()
        if not (size < math.inf and scale < math.inf):       # NaN or inf: factor afresh
            return None
        if size <= rtol * scale:
            return x
        r = size / prev if prev > 0 else math.inf            # the observed contraction
        if r <= 0.5 and r / (1 - r) * size <= rtol * scale:  # |x - x*| ≲ r/(1-r)|dx| (r < 1)
            return x
        if r > 0.5:                                          # stalled: at the rounding floor
            return x if size <= REFINE_FLOOR * scale else None   # (accept) or diverging
        if r > 0 and math.log(rtol * scale / size) / math.log(r) > sweeps - k - 1:
            return None                                      # |dx| shrinks ~ rᵏ: too few left
        prev = size
    return None


REFINE_FLOOR = 32 * EPS   # corrections stall near √n ε |x| (rounding in B − A x): converged


def sweeps_per_lu(n):
    """How many solves with a kept LU (getrs + a matrix-vector product, memory-bound) cost
    about one fresh J and LU (BLAS-3): measured ≈ n/14 at n = 100, ≈ 20 at n = 1000."""
    return max(1, min(n // 16, 20))
