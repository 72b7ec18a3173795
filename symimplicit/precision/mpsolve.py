"""High-precision solves of a statement with mpmath.

:class:`MpProblem` holds the SymPy objects that define the solution z(θ) of
F(z, θ) = 0 (the residual, ∂F/∂z and ∂F/∂θ of the statement's Derivation) and
compiles them lazily into mpmath callables with
:func:`symimplicit.lower.codegen.lambdify_many` (``backend="mpmath"``: SymPy's
printer with CSE, from SymPy expressions, never from a user's text).  It
pickles as SymPy expressions, so a solve can run in another process.

Solving: ``mpmath.findroot`` with the mpmath Jacobian, Newton for one unknown,
multidimensional Newton (``MDNewton``) for systems; every precision change is
confined to an ``mpmath.workdps`` block.  Convergence is then *checked*, not
assumed: one more Newton step must be below the requested precision.

κ, the factor by which the IFT solve ∂F/∂z · ∂z/∂θ = -∂F/∂θ amplifies rounding
(see :meth:`MpProblem.kappa` and docs/precision.md):

* fixed point x = f(x, θ):  κ = ‖(I - ∂f/∂x)⁻¹‖∞       (= 1/|1 - f_x| for one unknown)
* root, minimum, KKT:       κ = ‖ |A⁻¹| S ‖∞            (Skeel's condition number)

with A = ∂F/∂z at the solution and S the entrywise sum of the magnitudes of the
terms of each entry of A (so cancellation *inside* an entry counts, as it does
for rounding).  Skeel's number is invariant under row scaling of F: it is the
condition number of the suitably scaled ∂F/∂z.
"""
from __future__ import annotations

import weakref
from typing import Sequence

import mpmath
import sympy as sp

from symimplicit.errors import (ConvergenceError, DomainError, NonDifferentiableError,
                                SingularJacobianError, StatementError)
from symimplicit.kinks import kinks
from symimplicit.lower.codegen import lambdify_many
from symimplicit.precision.rounding import rounding_scale, rounding_scales

__all__ = ["MpProblem", "problem_of", "backend"]

mp = mpmath.mp


def backend() -> str:
    """The active mpmath integer backend: ``"gmpy"`` (the ``fast`` extra) or ``"python"``.

    Examples
    ========
    >>> from symimplicit.precision import backend
    >>> backend() in ("gmpy", "python")
    True
    """
    return mpmath.libmp.BACKEND


class MpProblem:
    """z(θ) defined by F(z, θ) = 0, ready for mpmath.

    ``kind`` is the statement's kind, ``unknowns`` the system unknowns z (user
    unknowns first, then any Lagrange multipliers), ``n_user`` how many of them
    the user asked for, ``params`` θ.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> from symimplicit.precision import problem_of
    >>> p = problem_of(fp)
    >>> p.kind, p.unknowns, p.params, p.residual, p.jacobian
    ('fixed_point', (x,), (a,), Matrix([[x - cos(a*x)]]), Matrix([[a*sin(a*x) + 1]]))
    """

    def __init__(self, kind: str, unknowns, n_user: int, params, residual: sp.Matrix,
                 jacobian: sp.Matrix, param_jacobian: sp.Matrix, names=None, kinks=()):
        self.kind = kind
        self.unknowns = tuple(unknowns)
        self.n_user = int(n_user)
        self.params = tuple(params)
        self.residual = sp.ImmutableMatrix(residual)
        self.jacobian = sp.ImmutableMatrix(jacobian)
        self.param_jacobian = sp.ImmutableMatrix(param_jacobian)
        self.names = names or tuple(str(z) for z in self.unknowns[: self.n_user])
        self.kinks = tuple(kinks)                 # g with F not differentiable where g = 0
        self._compiled = None

    @classmethod
    def from_statement(cls, statement) -> "MpProblem":
        d = statement.derive()
        return cls(statement.kind, statement.system_unknowns, len(statement.unknowns),
                   statement.params, statement.residual, d.jacobian, d.param_jacobian,
                   kinks=kinks(statement.residual))

    # -- pickling: SymPy objects travel, compiled code is rebuilt ---------------- #
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_compiled"] = None
        return state

    @property
    def n(self) -> int:
        return len(self.unknowns)

    def start(self, x_user: Sequence) -> list:
        """A Newton start for the whole system from the user unknowns' values
        (floats or mpf; one value is broadcast): Lagrange multipliers start at 0."""
        try:
            values = list(x_user)
        except TypeError:                                    # a number
            values = [x_user]
        if len(values) == 1 and self.n_user > 1:
            values = values * self.n_user
        if len(values) != self.n_user:
            raise StatementError(f"a start point needs {self.n_user} value(s), one per unknown "
                                 f"{self.names}; got {len(values)}")
        return values + [0.0] * (self.n - self.n_user)

    @property
    def p(self) -> int:
        return len(self.params)

    def _fns(self):
        if self._compiled is None:
            args = self.unknowns + self.params
            mp_fn = lambda exprs: lambdify_many(list(exprs), args, backend="mpmath")
            terms = [sp.Add.make_args(e) for e in self.jacobian]   # S = Σ|term| per entry
            self._compiled = (
                mp_fn(self.residual),                             # F
                mp_fn(self.jacobian),                             # ∂F/∂z, row-major
                mp_fn(self.param_jacobian) if self.p else None,   # ∂F/∂θ
                mp_fn([t for ts in terms for t in ts]),           # terms of ∂F/∂z
                [len(ts) for ts in terms],
            )
        return self._compiled

    # -- evaluation (at the current mpmath precision) --------------------------- #
    def _point(self, z, theta) -> dict:
        return {str(s): mpmath.nstr(v, 17) for s, v in zip(self.unknowns + self.params,
                                                            list(z) + list(theta))}

    def _real(self, values, what: str, z, theta) -> list:
        out = []
        for v in values:
            v = mpmath.mpmathify(v)
            if isinstance(v, mpmath.mpc):
                if v.imag != 0:
                    raise DomainError(f"{what} is complex ({mpmath.nstr(v, 8)}) at "
                                      f"{self._point(z, theta)}", point=self._point(z, theta))
                v = v.real
            if not mpmath.isfinite(v):
                raise DomainError(f"{what} is not finite ({v}) at {self._point(z, theta)}",
                                  point=self._point(z, theta))
            out.append(v)
        return out

    def F(self, z, theta) -> list:
        """F(z, θ) as a list of mpf."""
        return self._real(self._fns()[0](*z, *theta), "the residual F", z, theta)

    def J(self, z, theta) -> mpmath.matrix:
        """∂F/∂z (n × n) as an mpmath matrix."""
        flat = self._real(self._fns()[1](*z, *theta), "∂F/∂z", z, theta)
        return mpmath.matrix([flat[i * self.n:(i + 1) * self.n] for i in range(self.n)])

    def J_theta(self, z, theta) -> mpmath.matrix:
        """∂F/∂θ (n × p) as an mpmath matrix."""
        if not self.p:
            return mpmath.matrix(self.n, 0)
        flat = self._real(self._fns()[2](*z, *theta), "∂F/∂θ", z, theta)
        return mpmath.matrix([flat[i * self.p:(i + 1) * self.p] for i in range(self.n)])

    def S(self, z, theta) -> mpmath.matrix:
        """Entrywise Σ|terms| of ∂F/∂z: the magnitude rounding sees in each entry."""
        fns = self._fns()
        flat = self._real(fns[3](*z, *theta), "a term of ∂F/∂z", z, theta)
        sums, k = [], 0
        for count in fns[4]:
            sums.append(mpmath.fsum(abs(t) for t in flat[k:k + count]))
            k += count
        return mpmath.matrix([sums[i * self.n:(i + 1) * self.n] for i in range(self.n)])

    def lu_solve(self, A: mpmath.matrix, B, z, theta):
        """A⁻¹ B (B a vector or a matrix), a singular A raised as SingularJacobianError."""
        try:
            if B.cols == 1:
                return mpmath.lu_solve(A, B)
            X = mpmath.matrix(B.rows, B.cols)
            for j in range(B.cols):                          # mpmath keeps A's LU factors
                col = mpmath.lu_solve(A, B.column(j))
                for i in range(B.rows):
                    X[i, j] = col[i]
            return X
        except ZeroDivisionError:
            raise SingularJacobianError(f"∂F/∂z is singular at {self._point(z, theta)}: the "
                                        "implicit function theorem does not apply there",
                                        point=self._point(z, theta)) from None

    # -- the solve ---------------------------------------------------------------- #
    def solve(self, theta: Sequence, z0: Sequence, dps: int, max_steps: int = 200,
              check: bool = True, digits: int | None = None) -> tuple:
        """The solution z(θ) by Newton's method from ``z0``, working at ``dps`` digits.

        ``theta`` and ``z0`` may be floats (converted exactly) or mpf.  Returns
        a tuple of mpf (all system unknowns).  With ``check``, raises
        ConvergenceError unless the final Newton step is below 10^-``digits``
        (default dps - 3) relative to max(|z|, 10^-digits·max(|z0|, 1)): relative, with
        an absolute floor for a zero root.  Rounding
        makes that step ~κ·10^-dps, so ask for ``digits`` ≤ dps - log10 κ.
        """
        with mpmath.workdps(dps):
            th = [mpmath.mpf(t) for t in theta]
            start = [mpmath.mpf(v) for v in z0]
            try:
                if self.n == 1:
                    z = mpmath.findroot(lambda x: self.F([x], th)[0], start[0], solver="newton",
                                        df=lambda x: self.J([x], th)[0, 0], verify=False,
                                        maxsteps=max_steps)
                    z = [z]
                else:
                    z = mpmath.findroot(lambda *zs: self.F(zs, th), start,
                                        J=lambda *zs: self.J(zs, th), verify=False,
                                        maxsteps=max_steps)
                    z = list(z)
            except ZeroDivisionError:
                raise SingularJacobianError(
                    f"Newton's method met a singular ∂F/∂z solving from {self._point(start, th)}",
                    point=self._point(start, th)) from None
            z = self._real(z, "the solution", start, th)
            step = self.lu_solve(self.J(z, th), mpmath.matrix(self.F(z, th)), z, th)  # δz = J⁻¹F
            size = max(abs(s) for s in step)
            digits = dps - 3 if digits is None else digits
            # relative to max|z|, with an absolute floor 10^-digits·max(|z0|, 1) for a zero root
            # (Newton from x0 ≠ 0 towards z = 0 never passes a purely relative test)
            floor = mpmath.mpf(10) ** -digits * max([abs(v) for v in start] + [mpmath.mpf(1)])
            scale = max([abs(v) for v in z] + [floor])
            if check and not size <= scale * mpmath.mpf(10) ** -digits:
                raise ConvergenceError(
                    f"mpmath Newton did not converge to {digits} digits from "
                    f"{self._point(start, th)}: last step {mpmath.nstr(size, 3)}",
                    iterations=max_steps, residual=float(size), point=self._point(z, th))
            return tuple(v - s for v, s in zip(z, step))                    # one more step

    # -- kinks --------------------------------------------------------------------- #
    def check_kinks(self, z, theta, factor: float = 64) -> None:
        """Raise NonDifferentiableError when (z, θ) sits on a kink g = 0 within float64
        rounding: |g| ≤ factor·u·ḡ (ḡ its rounding bound, :mod:`rounding`), or g = 0."""
        if not self.kinks:
            return
        values = dict(zip(self.unknowns + self.params, list(z) + list(theta)))
        for g in self.kinks:
            value, bound = rounding_scale(g, values, self.unknowns)
            if abs(value) <= factor * 2.0 ** -53 * bound or value == 0:
                point = self._point(z, theta)
                raise NonDifferentiableError(
                    f"the solution sits on the kink {g} = 0 ({g} = {mpmath.nstr(value, 3)}, "
                    f"within float64 rounding) at {point}: the derivative does not exist "
                    "there (the one-sided derivatives differ)", kink=g, point=point)

    # -- rounding ---------------------------------------------------------------- #
    def rounding_bounds(self, z, theta, z_bounds=None) -> tuple:
        """(F̄, Ā, B̄): the float64 rounding bounds, in units of u = 2⁻⁵³, of F, ∂F/∂z and
        ∂F/∂θ evaluated at (z, θ) (lists / mpmath matrices of mpf; see
        :mod:`symimplicit.precision.rounding`: z are float64 results with the error bounds
        ``z_bounds`` (default |z|: correctly rounded), θ exact)."""
        values = dict(zip(self.unknowns + self.params, list(z) + list(theta)))
        exprs = list(self.residual) + list(self.jacobian) + list(self.param_jacobian)
        unknowns = self.unknowns if z_bounds is None else dict(zip(self.unknowns, z_bounds))
        flat = rounding_scales(exprs, values, unknowns)
        n, p = self.n, self.p
        F, A, B = flat[:n], flat[n:n + n * n], flat[n + n * n:]
        A = mpmath.matrix([A[i * n:(i + 1) * n] for i in range(n)])
        B = mpmath.matrix([B[i * p:(i + 1) * p] for i in range(n)]) if p else mpmath.matrix(n, 0)
        return F, A, B

    # -- κ -------------------------------------------------------------------------- #
    def kappa(self, z, theta) -> mpmath.mpf:
        """The rounding amplification of the IFT solve at (z, θ) (module docstring)."""
        A = self.J(z, theta)
        inv = self.lu_solve(A, mpmath.eye(self.n), z, theta)
        if self.kind == "fixed_point":
            return mpmath.mnorm(inv, "inf")                                 # ‖(I - f_x)⁻¹‖∞
        S = self.S(z, theta)
        absinv = mpmath.matrix([[abs(inv[i, j]) for j in range(self.n)] for i in range(self.n)])
        return mpmath.mnorm(absinv * S, "inf")                              # ‖|A⁻¹| S‖∞


_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def problem_of(statement) -> MpProblem:
    """The (memoised) :class:`MpProblem` of a statement.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, (a,))
    >>> from symimplicit.precision import problem_of
    >>> problem_of(fp) is problem_of(fp)          # memoised
    True
    """
    try:
        return _CACHE[statement]
    except KeyError:
        problem = _CACHE[statement] = MpProblem.from_statement(statement)
        return problem
    except TypeError:  # not weak-referenceable
        return MpProblem.from_statement(statement)
