"""One LU factorisation of ∂F/∂z at a solution, for the solves and the checks there.

:class:`ScaledLU` factorises the equilibrated matrix S = D_r J D_c (powers of two, so the
scaling is exact; :func:`~symimplicit.lower.checks.equilibrated`) with LAPACK's ``getrf`` and
estimates its condition number with ``gecon`` (Hager-Higham, O(n²) after the LU).  The same
factors then serve

* the backward pass: Jᵀλ = b is Sᵀμ = D_c b, λ = D_r μ (and J x = b is S y = D_r b, x = D_c y);
* the checks' fast paths (:mod:`~symimplicit.lower.checks`): a condition number far below the
  singular threshold needs no SVD, and ‖J⁻¹‖ bounds the rounding uncertainty of z.

LAPACK comes from SciPy when it is installed; without it (SciPy is not a core dependency)
the matrix stands for itself, every solve is ``numpy.linalg.solve`` and no estimate is made,
so the checks take their exact (slower) paths.

Examples
========
>>> import numpy as np
>>> from symimplicit.lower.lu import ScaledLU
>>> J = np.array([[4.0, 1.0], [2.0, 3.0]])
>>> lu = ScaledLU(J)
>>> np.allclose(J.T @ lu.solve_transposed(np.array([1.0, 2.0])), [1.0, 2.0])
True
>>> np.allclose(J @ lu.solve(np.array([1.0, 2.0])), [1.0, 2.0])
True
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["ScaledLU", "PlainLU", "SingularLU", "lu_solve_once", "power_of_two_scale",
           "HAVE_LAPACK"]

try:
    from scipy.linalg import lapack as _lapack
    _getrf, _getrs, _gecon = _lapack.dgetrf, _lapack.dgetrs, _lapack.dgecon
    HAVE_LAPACK = True
except ImportError:                                                  # pragma: no cover
    HAVE_LAPACK = False


class SingularLU(ArithmeticError):
    """An exactly zero pivot: the matrix is singular in float64."""


_HALF_OCTAVE = 2.0 ** -0.5


def power_of_two_scale(largest):
    """2^-round(log2 m) for each m > 0 and finite (1 otherwise): an exact scaling of a row or
    column whose largest magnitude is m.

    m = f·2ᵉ with f ∈ [½, 1) (frexp), so round(log2 m) = e − [f < 2^-½]: no logarithm.

    >>> power_of_two_scale(np.array([3.0, 0.3, 0.0, np.inf, 1.0])).tolist()
    [0.25, 4.0, 1.0, 1.0, 1.0]
    """
    f, e = np.frexp(largest)                                 # inf, NaN: f is inf/NaN, e = 0
    return np.ldexp(1.0, -(e - ((f < _HALF_OCTAVE) & (f > 0))))


class ScaledLU:
    """J = D_r⁻¹ (P L U) D_c⁻¹: the LU of the equilibrated J, its scalings and cond estimate.

    ``rcond`` estimates 1/κ₁(S) (NaN without LAPACK; 0 for an exactly singular S), so
    ``1/rcond`` is within a small factor of the 1-norm condition number of the rows-and-
    columns-scaled J that :func:`~symimplicit.lower.checks.singular_jacobian` measures by SVD.
    """

    __slots__ = ("n", "rows", "cols", "lu", "piv", "rcond", "matrix", "norm")

    def __init__(self, J):
        J = np.asarray(J, dtype=float)
        self.n = J.shape[0]
        absJ = np.abs(J)
        self.rows = r = power_of_two_scale(absJ.max(axis=1))               # D_r
        rows_one = bool((r == 1.0).all())
        absS = absJ if rows_one else absJ * r[:, None]
        self.cols = c = power_of_two_scale(absS.max(axis=0))              # D_c
        if rows_one and (c == 1.0).all():                            # scaled already (a DEQ)
            S = J
        else:
            S = J * r[:, None] * c[None, :]
            absS = absS * c[None, :]
        self.matrix = J
        self.norm = float(absS.sum(axis=0).max())                          # ‖S‖₁
        self.lu = self.piv = None
        self.rcond = math.nan
        if not HAVE_LAPACK or not math.isfinite(self.norm):
            return
        lu, piv, info = _getrf(S, overwrite_a=S is not J)
        self.lu, self.piv = lu, piv
        if info > 0:                                                 # an exactly zero pivot
            self.rcond = 0.0
            return
        rcond, _ = _gecon(lu, self.norm, norm="1")                   # 1/κ₁(S), estimated
        self.rcond = float(rcond)

    @property
    def condition(self) -> float:
        """The estimate of κ₁ of the scaled J (inf when singular, NaN when not estimated)."""
        if self.rcond != self.rcond:
            return math.nan
        return math.inf if self.rcond == 0.0 else 1.0 / self.rcond

    @property
    def inverse_norm(self) -> float:
        """An estimate of ‖S⁻¹‖₁ (= κ̂₁/‖S‖₁), NaN without one."""
        return self.condition / self.norm

    def solve(self, b):
        """x with J x = b."""
        if self.lu is None or self.rcond == 0.0:
            return np.linalg.solve(self.matrix, b)
        y, _ = _getrs(self.lu, self.piv, self.rows * b)
        return self.cols * y

    def solve_transposed(self, b):
        """λ with Jᵀ λ = b: the adjoint solve of a backward pass."""
        if self.lu is None or self.rcond == 0.0:
            return np.linalg.solve(self.matrix.T, b)
        mu, _ = _getrs(self.lu, self.piv, self.cols * b, trans=1)
        return self.rows * mu


class PlainLU:
    """getrf of J, for the solves of one Newton iterate (and the chord steps after it); an
    exactly singular J raises :class:`SingularLU` (without SciPy: J itself, each solve by
    ``numpy.linalg.solve``)."""

    __slots__ = ("lu", "piv", "matrix")

    def __init__(self, J):
        if not HAVE_LAPACK:
            self.matrix, self.lu = J, None
            if not np.isfinite(J).all() or np.linalg.matrix_rank(J) < J.shape[0]:
                raise SingularLU("singular matrix")
            return
        self.lu, self.piv, info = _getrf(J)
        if info != 0:
            raise SingularLU("singular matrix")

    def solve(self, b):
        """x with J x = b."""
        if self.lu is None:
            return np.linalg.solve(self.matrix, b)
        return _getrs(self.lu, self.piv, b)[0]


def lu_solve_once(J, b):
    """x with J x = b by one getrf + getrs (numpy.linalg.solve without LAPACK from SciPy);
    an exactly singular J raises :class:`SingularLU`."""
    if not HAVE_LAPACK:
        try:
            return np.linalg.solve(J, b)
        except np.linalg.LinAlgError:
            raise SingularLU("singular matrix") from None
    lu, piv, info = _getrf(J)
    if info != 0:
        raise SingularLU("singular matrix")
    x, _ = _getrs(lu, piv, b)
    return x
