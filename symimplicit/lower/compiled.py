"""A statement's derived formulas lowered once to ``math``-module callables.

:func:`compile_statement` (memoised per statement) does all the SymPy work:
the derivation, lambdify with CSE.  What it returns is called per solve and
per backward pass without touching SymPy again:

* scalar unknown: ``fdf(x, θ) -> (F, F_x)`` for Newton and ``gradient(x, θ) ->
  [∂x/∂θⱼ]``, the IFT formula -F_θⱼ/F_x as derived;
* vector unknowns: ``fj(z, θ) -> (F, J)`` for Newton and ``param_jacobian(z, θ)
  -> ∂F/∂θ`` for the adjoint backward pass;
* fixed points: ``fmap(z, θ)``, the map itself, for plain iteration and Anderson;
* for the solvers' stopping rule, the same with the rounding-noise scale N(F) of
  the residual appended (:mod:`symimplicit.lower.rounding`; one callable with
  shared CSE): ``fdfn`` -> (F, F_x, N), ``fjn`` -> (F, J, N), ``fmapn`` -> (f, N).
  Where N alone cannot be evaluated (a derivative singular where F is not) it is
  NaN: no floor information, never a false "converged".
"""
from __future__ import annotations

import math
from functools import cached_property, lru_cache

import numpy as np

import sympy as sp

from symimplicit.derive.calculus import mentions
from symimplicit.kinks import kinks
from symimplicit.lower.codegen import MATH_ERRORS, as_real, domain_error, lambdify_many
from symimplicit.lower.rolled import roll
from symimplicit.lower.rounding import rounding_scale

__all__ = ["CompiledStatement", "NumpyCallables", "compile_statement"]


class CompiledStatement:
    """The lowered residual, Jacobians and gradient formula of one statement."""

    def __init__(self, statement):
        d = statement.derive()
        self.statement = statement
        self.derivation = d
        self.unknowns = tuple(statement.system_unknowns)       # z = (x, λ)
        self.params = tuple(statement.params)                  # θ
        self.n = len(self.unknowns)
        self.n_user = len(statement.unknowns)
        self.p = len(self.params)
        self.vector = self.n > 1
        self.names = [str(s) for s in self.unknowns + self.params]
        args = self.unknowns + self.params
        self.args = args
        self.residual_exprs = F = list(statement.residual)
        self._hint = hint = (f"{type(statement).__name__}.primitive() evaluates in float64 with "
                             "the math module")   # (repr of a 50-equation statement: 0.8 s)
        # a system of repeated patterns: F, ∂F/∂z, N(F) and ∂F/∂θ as array operations
        # (rolled.py); the entry-wise callables below are then compiled only if needed
        self.rolled = roll(F, self.unknowns, self.params) if self.vector else None
        self.affine = (self.rolled.affine if self.rolled is not None         # F affine in z
                       else not mentions(d.jacobian, self.unknowns))
        self.reuse_jacobian = self.rolled is not None   # Newton's chord steps: F costs ≪ an LU
        self._numpy = None
        if self.rolled is None:
            # eager: what every solve needs, and what refuses an unsupported function here
            self._with_noise = lambdify_many(F + self.jacobian_exprs + self.noise, args,
                                             hint=hint)                  # [F, ∂F/∂z, N(F)]
            self._param_jacobian = lambdify_many(self.param_jacobian_exprs, args, hint=hint)
        if not self.vector:
            self._gradient = lambdify_many(d._raw_gradient(), args, hint=hint)   # ∂x/∂θ = -F_θ/F_x
        # kinks g of F (abs, Max, ...): [g..., N(g)..., |∂g/∂z| row-major] for the smoothness check
        self.kink_exprs = kinks(statement.residual)
        self.kink_data_exprs = []
        self._kinks = None
        if self.kink_exprs:
            grads = [_abs(sp.diff(g, zj)) for g in self.kink_exprs for zj in self.unknowns]
            self.kink_data_exprs = (self.kink_exprs + [rounding_scale(g) for g in self.kink_exprs]
                                    + grads)
            self._kinks = lambdify_many(self.kink_data_exprs, args, "numpy")

    # lazy: compiled on first use (the map for fixed-point methods, N(∂F/∂z) for one unknown;
    # for a rolled system the entry-wise Jacobians too: only a non-finite value needs them)
    @cached_property
    def jacobian_exprs(self) -> list:
        return list(self.derivation.jacobian)                              # ∂F/∂z, row-major

    @cached_property
    def param_jacobian_exprs(self) -> list:
        return list(self.derivation.param_jacobian)                        # ∂F/∂θ, row-major

    @cached_property
    def noise(self) -> list:
        return [rounding_scale(Fi) for Fi in self.residual_exprs]          # |F̂ - F| ≲ ε·N(F)

    @cached_property
    def _with_noise(self):
        return lambdify_many(self.residual_exprs + self.jacobian_exprs + self.noise, self.args,
                             hint=self._hint)

    @cached_property
    def _param_jacobian(self):
        return lambdify_many(self.param_jacobian_exprs, self.args, hint=self._hint)

    @cached_property
    def jacobian_noise_exprs(self) -> list:
        return [rounding_scale(Jij) for Jij in self.jacobian_exprs]       # N(∂F/∂z)

    @cached_property
    def _residual_jacobian(self):
        return lambdify_many(self.residual_exprs + self.jacobian_exprs, self.args, hint=self._hint)

    @cached_property
    def _noise_only(self):
        return lambdify_many(self.noise, self.args, hint=self._hint)

    def noise_at(self, z, theta):
        """N(F) at z (NaN where it cannot be evaluated): the floor test's scale, on demand."""
        if self.rolled is not None:
            return self.rolled.noise(_point(z, theta))
        try:
            return np.array([_real_or_nan(v) for v in self._noise_only(*_floats(z), *theta)])
        except MATH_ERRORS:
            return np.full(self.n, math.nan)

    @cached_property
    def _jacobian_noise(self):
        return lambdify_many(self.jacobian_noise_exprs, self.args, hint=self._hint)

    @cached_property
    def _map(self):
        return lambdify_many(_fixed_point_map(self.statement), self.args, hint=self._hint)

    @cached_property
    def _map_noise(self):
        return lambdify_many(_fixed_point_map(self.statement) + self.noise, self.args,
                             hint=self._hint)

    def numpy(self) -> "NumpyCallables":
        """The same expressions lowered to NumPy for the vectorised sweep (made once, memoised)."""
        if self._numpy is None:
            self._numpy = NumpyCallables(self)
        return self._numpy

    # -- error context ------------------------------------------------------- #
    def point(self, z, theta) -> dict:
        """Names -> values of the unknowns and parameters (for messages and errors)."""
        zs = [float(v) for v in np.atleast_1d(z)]
        return dict(zip(self.names, zs + [float(t) for t in theta]))

    def _call(self, fn, what, z, theta, *values):
        """fn(*values) as a float array (a domain error or a complex entry: DomainError)."""
        try:
            out = fn(*values)
        except MATH_ERRORS as exc:
            raise domain_error(what, self.point(z, theta), exc) from exc
        try:
            return np.array(out, dtype=float)                    # a complex entry: TypeError
        except TypeError:
            return np.array(self._reals(out, what, z, theta), dtype=float)

    def _reals(self, out, what, z, theta):
        """``out`` with every value a float (a complex one is a DomainError)."""
        for i, v in enumerate(out):
            if v.__class__ is not float:
                if isinstance(v, complex):                           # the point only for the error
                    out[i] = as_real(v, what, self.point(z, theta))
                else:
                    out[i] = float(v)                                # an int constant entry (0, 1)
        return out

    def kink_values(self, Z, TH):
        """(g (M, K), N(g) (M, K), |∂g/∂z| (M, K, n)) at the points Z (M, n), θ columns TH."""
        K, n = len(self.kink_exprs), self.n
        with np.errstate(all="ignore"):
            out = np.stack(self._kinks(*np.asarray(Z, float).T, *TH), axis=-1)
        return out[:, :K], out[:, K:2 * K], out[:, 2 * K:].reshape(-1, K, n)

    # -- scalar unknown ------------------------------------------------------ #
    def fdf(self, x: float, theta: tuple):
        """(F, ∂F/∂x) at the scalar x (the hot path of Newton: one frame, no loop)."""
        try:
            F, dF = self._residual_jacobian(x, *theta)
        except MATH_ERRORS as exc:
            raise domain_error("the residual", self.point(x, theta), exc) from exc
        if F.__class__ is not float or dF.__class__ is not float:
            where = self.point(x, theta)
            return as_real(F, "the residual", where), as_real(dF, "∂F/∂x", where)
        return F, dF

    def fdfn(self, x: float, theta: tuple):
        """(F, ∂F/∂x, N(F)) at the scalar x: Newton's evaluation with the residual's noise scale."""
        try:
            F, dF, N = self._with_noise(x, *theta)
        except MATH_ERRORS:
            return (*self.fdf(x, theta), math.nan)                   # F's own domain error, or N = NaN
        if F.__class__ is not float or dF.__class__ is not float or N.__class__ is not float:
            where = self.point(x, theta)
            return as_real(F, "the residual", where), as_real(dF, "∂F/∂x", where), _real_or_nan(N)
        return F, dF, N

    def gradient(self, x: float, theta: tuple) -> list:
        """[∂x/∂θⱼ]: the derived IFT formula at the solution x."""
        try:
            out = self._gradient(x, *theta)
        except MATH_ERRORS as exc:
            raise domain_error("the gradient formula", self.point(x, theta), exc) from exc
        for v in out:
            if v.__class__ is not float:
                return [as_real(v, "the gradient formula", self.point(x, theta)) for v in out]
        return out

    # -- vector unknowns ----------------------------------------------------- #
    def residual(self, z, theta: tuple):
        """F at z as an array (vector unknowns)."""
        if self.rolled is not None:
            F = self.rolled.residual(_point(z, theta))
            if _finite(F):
                return F
        return self.fj(z, theta)[0]

    def fj(self, z, theta: tuple):
        """(F, ∂F/∂z) as NumPy arrays at z."""
        if self.rolled is not None:
            F, J = self.rolled.residual_jacobian(_point(z, theta))
            if _finite(F) and _finite(J):
                return F, J                                # else: entry by entry, for the error
        n = self.n
        out = self._call(self._residual_jacobian, "the residual", z, theta, *_floats(z), *theta)
        return out[:n], out[n:n + n * n].reshape(n, n)

    def fjn(self, z, theta: tuple):
        """(F, ∂F/∂z, N(F)) as NumPy arrays at z (N: the noise scale of each component)."""
        if self.rolled is not None:
            F, J, N = self.rolled.with_noise(_point(z, theta))
            if _finite(F) and _finite(J):
                return F, J, N
        n = self.n
        try:
            out = self._with_noise(*_floats(z), *theta)
        except MATH_ERRORS:
            F, J = self.fj(z, theta)
            return F, J, np.full(n, math.nan)
        try:
            values = np.array(out, dtype=float)                  # a complex entry: TypeError
        except TypeError:
            values = np.array(self._reals(out[:n + n * n], "the residual", z, theta)
                              + [_real_or_nan(v) for v in out[n + n * n:]])
        return values[:n], values[n:n + n * n].reshape(n, n), values[n + n * n:]

    def jacobian(self, z, theta: tuple):
        """∂F/∂z at z (n × n), for scalar and vector unknowns alike."""
        if self.rolled is not None:
            J = self.rolled.residual_jacobian(_point(z, theta))[1]
            if _finite(J):
                return J
        zs, n = np.atleast_1d(z), self.n
        out = self._call(self._residual_jacobian, "the residual", z, theta, *_floats(zs),
                         *theta)[n:]
        return out.reshape(n, n)

    def jacobian_noise(self, z, theta: tuple):
        """N(∂F/∂z) at z (n × n): the rounding-noise scale of each Jacobian entry (NaN if unknown)."""
        zs = np.atleast_1d(z)
        try:
            out = self._jacobian_noise(*zs, *theta)
        except MATH_ERRORS:
            return np.full((self.n, self.n), math.nan)
        return np.array([_real_or_nan(v) for v in out]).reshape(self.n, self.n)

    def param_jacobian(self, z, theta: tuple):
        """∂F/∂θ at z (n × p)."""
        if self.rolled is not None:
            P = self.rolled.param_jacobian(_point(z, theta))
            if _finite(P):
                return P
        zs = np.atleast_1d(z)
        out = self._call(self._param_jacobian, "∂F/∂θ", z, theta, *_floats(zs), *theta)
        return out.reshape(self.n, self.p)

    def param_vjp(self, z, theta: tuple, lam):
        """λᵀ ∂F/∂θ at z (p,): the backward pass's product, without ∂F/∂θ where rolled."""
        if self.rolled is not None:
            out = self.rolled.param_vjp(_point(z, theta), lam)
            if _finite(out):
                return out
        return self.param_jacobian(z, theta).T @ lam

    def jacobian_change(self, z, theta: tuple, J):
        """z' -> an upper bound of the row sums of |∂F/∂z(z') - J|, J = ∂F/∂z(z): the
        unresolved test's fast path (rolled: from the patterns' partials, no matrix)."""
        if self.rolled is not None:
            rolled, base = self.rolled, self.rolled.partials(_point(z, theta))
            return lambda moved: rolled.change_bound(base, rolled.partials(_point(moved, theta)))
        return lambda moved: np.abs(self.jacobian(moved, theta) - J).sum(axis=1)

    def fmap(self, z, theta: tuple):
        """The fixed-point map f(z, θ) as an array."""
        return self._call(self._map, "the fixed-point map", z, theta, *z, *theta)

    def fmapn(self, z, theta: tuple):
        """(f(z, θ), N(F)) for the fixed point F = z - f: the map and the residual's noise scale."""
        n = self.n
        try:
            out = self._map_noise(*z, *theta)
        except MATH_ERRORS:
            return self.fmap(z, theta), np.full(n, math.nan)
        noise = [_real_or_nan(v) for v in out[n:]]
        out = self._reals(out[:n], "the fixed-point map", z, theta)
        return np.array(out), np.array(noise)


class NumpyCallables:
    """A :class:`CompiledStatement`'s expressions as broadcasting NumPy callables of (*z, *θ):

    * ``fjn`` -> [F..., ∂F/∂z (row-major)..., N(F)...] (one call, shared CSE),
    * ``ftheta`` -> ∂F/∂θ (row-major),
    * ``jnoise`` -> N(∂F/∂z) (row-major): the one-unknown singular test.
    """

    def __init__(self, c: CompiledStatement):
        args = c.args
        self.fjn = lambdify_many(c.residual_exprs + c.jacobian_exprs + c.noise, args, "numpy")
        self.ftheta = lambdify_many(c.param_jacobian_exprs, args, "numpy")
        self.jnoise = lambdify_many(c.jacobian_noise_exprs, args, "numpy") if c.n == 1 else None


def _point(z, theta, _last=[(None, None)]):
    """v = (z, θ) as one float array (the rolled system's argument; θ's array is kept for
    the next call with the same tuple: a solve passes one θ to every evaluation; the pair
    is read and replaced whole, so threads cannot mix two calls' θ)."""
    key = _last[0]
    if key[0] is not theta:
        key = _last[0] = (theta, np.asarray(theta, dtype=float))
    return np.concatenate((z, key[1]))


def _finite(a) -> bool:
    """All entries finite (the sum of a finite array is finite unless it overflows: then the
    entry-wise check decides)."""
    total = a.sum()
    return total - total == 0.0 or bool(np.isfinite(a).all())


def _floats(z) -> list:
    """z as Python floats: the math module is several times faster on them than on NumPy scalars."""
    return z.tolist() if isinstance(z, np.ndarray) else list(z)


def _abs(e):
    return abs(e) if e.is_Number else sp.Abs(e, evaluate=False)


def _real_or_nan(value) -> float:
    """A noise scale as a float; NaN (no floor information) when it is not a real number."""
    if value.__class__ is float:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _fixed_point_map(statement) -> list:
    """f of x = f(x, θ), one entry per unknown."""
    expr = statement.expression
    return list(expr) if isinstance(expr, tuple) else [expr]


@lru_cache(maxsize=128)
def compile_statement(statement) -> CompiledStatement:
    """The :class:`CompiledStatement` of ``statement`` (memoised: equal statements share it)."""
    return CompiledStatement(statement)
