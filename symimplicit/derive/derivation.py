"""Derivation: the implicit function theorem (IFT) to any order, its conditions, its steps.

For a residual F(z, θ) = 0 with ∂F/∂z invertible, the solution z(θ) satisfies

    ∂z/∂θ = -(∂F/∂z)⁻¹ ∂F/∂θ

and higher derivatives follow by differentiating the identity F(z(θ), θ) = 0 again.

* scalar unknown: explicit formulas N_S / F_x²ⁿ⁻¹ from Comtet's numerator polynomials
  (:mod:`symimplicit.derive.numerators`), the partials of F substituted in nested form;
* vector unknowns: linear solves z_S = -J⁻¹ R_S with one J = ∂F/∂z, unevaluated
  (:mod:`symimplicit.derive.systems`).

This module computes; it does not print or format (see symimplicit.report).
"""
from __future__ import annotations

import numbers
import random
from functools import cached_property

import sympy as sp

from symimplicit.derive.calculus import diff, gradients
from symimplicit.derive.conditions import (dedupe, failure, second_order_relations, zero)
from symimplicit.derive.numerators import F_X, Key, horner, implicit_numerator
from symimplicit.derive.steps import Step, StepWriter
from symimplicit.derive.systems import LinearSolve, VectorPath
from symimplicit.derive import zero as zero_test
from symimplicit.errors import DerivationError
from symimplicit.kinks import kinks

__all__ = ["Derivation", "MAX_ORDER", "MAX_TERMS", "EXPLICIT_DET"]

MAX_ORDER = 20
"""Highest total order :meth:`Derivation.derivative` accepts (order n has ~2.3ⁿ terms)."""

MAX_TERMS = 4000
"""Size budget of a scalar derivative: the most terms its numerator polynomial may keep
after the vanishing partials of F are dropped (order 9 of a generic F has 3247; an F
whose higher partials vanish goes further).  Above it ``derivative()`` raises a
DerivationError before any SymPy work (the polynomial itself is pure-integer arithmetic)."""

EXPLICIT_DET = 3
"""Systems up to this many unknowns get det ∂F/∂z symbolically in ``conditions`` and in
the invertibility test; larger ones an unevaluated ``Determinant`` (``.doit()`` expands it)
and a numerical test at random rational points."""

_NUMERIC_SINGULAR_MAX = 12
"""Largest system whose Jacobian is tested for singularity (at random rational points,
30 digits) when deriving; beyond it the lowered solve's conditioning test is the check."""


class Derivation:
    """Jacobians, IFT derivatives of any order, validity conditions and steps.

    Built by :meth:`Statement.derive`; everything is computed lazily and memoised.

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a, b = sp.symbols("x a b")
    >>> d = FixedPoint(sp.cos(a*x + b), x, (a, b)).derive()
    >>> d.derivative(b)
    -sin(a*x + b)/(a*sin(a*x + b) + 1)
    >>> d.conditions
    [Eq(a*sin(a*x + b) + 1, 0)]

    See Also
    ========

    symimplicit.derive.systems.LinearSolve : the form of a system's derivatives
    """

    def __init__(self, statement):
        self.statement = statement
        self.unknowns = tuple(statement.system_unknowns)
        self.params = tuple(statement.params)
        self.residual = statement.residual
        self.is_scalar = len(self.unknowns) == 1
        self._partials: dict[Key, sp.Expr] = {}             # factored, for display
        self._raw_partials: dict[Key, sp.Expr] = {}         # unfactored, to differentiate
        self._memo: dict[tuple[int, ...], sp.Basic] = {}
        self._order: list[tuple[int, ...]] = []             # requested, in order

    def __repr__(self):
        return f"Derivation({self.statement!r})"

    # -- rendering (symimplicit.report does the formatting) --------------------- #
    def latex(self, document: bool = False, **options) -> str:
        """The steps as an ``align*`` environment, or a standalone document with
        ``document=True``; options ``wrt``, ``width``, ``title`` (see symimplicit.report)."""
        from symimplicit.report import latex
        return latex(self, document=document, **options)

    def markdown(self, **options) -> str:
        """The steps as Markdown: sentences and ``$$`` blocks."""
        from symimplicit.report import markdown
        return markdown(self, **options)

    def pdf(self, path, **options):
        """Compile the standalone document with pdflatex into ``path``; returns the Path."""
        from symimplicit.report import pdf
        return pdf(self, path, **options)

    def _repr_latex_(self) -> str:
        from symimplicit.report import repr_latex
        return repr_latex(self)

    # -- first-order objects --------------------------------------------------- #
    def _diff(self, expr: sp.Expr, wrt: sp.Symbol) -> sp.Expr:
        return diff(expr, wrt, self.statement)

    @cached_property
    def _first_partials(self) -> tuple[sp.Matrix, sp.Matrix]:
        """(∂F/∂z, ∂F/∂θ); a system's by one chain-rule pass over the residual's DAG."""
        F, z, theta = self.residual, self.unknowns, self.params
        n, p = len(z), len(theta)
        if self.is_scalar:
            J = sp.Matrix([[self._diff(F[0], z[0])]])
            B = sp.Matrix(1, p, lambda i, j: self._diff(F[0], theta[j]))
            return J, B
        grads = gradients(list(F), z + theta, self.statement)
        J = sp.Matrix(n, n, lambda i, j: grads[i].get(z[j], sp.S.Zero))
        B = sp.Matrix(n, p, lambda i, j: grads[i].get(theta[j], sp.S.Zero))
        return J, B

    @property
    def jacobian(self) -> sp.Matrix:
        """∂F/∂z (n × n), an explicit Matrix."""
        return self._first_partials[0]

    @property
    def param_jacobian(self) -> sp.Matrix:
        """∂F/∂θ (n × p), an explicit Matrix."""
        return self._first_partials[1]

    @cached_property
    def determinant(self) -> sp.Expr:
        """det ∂F/∂z, factored cheaply (symbolic: for large systems prefer ``conditions``,
        whose relation keeps it unevaluated)."""
        J = self.jacobian
        det = J[0, 0] if self.is_scalar else J.det(method="berkowitz")
        return sp.factor_terms(det)

    @cached_property
    def _singular(self) -> bool:
        """Is ∂F/∂z singular for every value? (decided once, cheaply)"""
        n = len(self.unknowns)
        if n <= EXPLICIT_DET:
            return zero_test.is_identically_zero(self.determinant)
        if n > _NUMERIC_SINGULAR_MAX:
            return False                          # the lowered solve's conditioning test
        return _singular_at_random_points(self.jacobian)

    def _check_invertible(self) -> None:
        """DerivationError when det ∂F/∂z vanishes identically."""
        if self._singular:
            raise DerivationError(f"∂F/∂{self.unknowns_text()} is singular for every value: "
                                  f"det = 0 for the residual {list(self.residual)}; "
                                  "the implicit function theorem does not apply")

    def unknowns_text(self) -> str:
        """``x``, or ``(x, y, lambda_1)`` for systems."""
        z = self.unknowns
        return str(z[0]) if self.is_scalar else "(" + ", ".join(map(str, z)) + ")"

    # -- derivatives ------------------------------------------------------------ #
    def _multi_index(self, params: tuple) -> tuple[int, ...]:
        """Sorted parameter indices; accepts Symbols, names and repeat counts (a, 2)."""
        if len(params) == 1 and isinstance(params[0], (list, tuple)):
            params = tuple(params[0])
        if not params:
            raise DerivationError("derivative() needs at least one parameter, "
                                  f"one of {self._params_text()}")
        index: list[int] = []
        for item in params:
            if isinstance(item, numbers.Integral) and not isinstance(item, bool):
                count = int(item)
                if not index or count < 1:
                    after = f" (after {self.params[index[-1]]})" if index else ""
                    raise DerivationError(
                        f"the repeat count {count}{after} must follow a parameter and be at "
                        f"least 1, as in derivative(a, 2); the parameters of "
                        f"{self.statement!r} are {self._params_text()}")
                if len(index) + count - 1 > MAX_ORDER:
                    raise DerivationError(
                        f"the order {count} of {self.params[index[-1]]} makes a derivative of "
                        f"total order above {MAX_ORDER}, the most derivative() computes")
                index.extend([index[-1]] * (count - 1))    # (a, 3) means (a, a, a)
                continue
            index.append(self._param_index(item))
            if len(index) > MAX_ORDER:
                raise DerivationError(f"a derivative of total order above {MAX_ORDER} "
                                      "is more than derivative() computes")
        return tuple(sorted(index))                         # mixed partials commute

    def _params_text(self) -> str:
        return "(" + ", ".join(p.name for p in self.params) + ")" if self.params \
            else "() (it has no parameters)"

    def _param_index(self, item) -> int:
        if isinstance(item, str):
            name = item
        elif isinstance(item, sp.Symbol):
            name = item.name
        else:
            raise DerivationError(
                f"derivative() takes parameters (Symbols or their names) and orders (ints), "
                f"got {item!r} ({type(item).__name__}); the parameters of {self.statement!r} "
                f"are {self._params_text()}")
        for i, p in enumerate(self.params):
            if p == item or p.name == name:
                return i
        role = "an unknown, not a parameter" if any(z.name == name for z in self.unknowns) \
            else "not a parameter"
        raise DerivationError(f"{name} is {role} of {self.statement!r}; "
                              f"the parameters are {self._params_text()}")

    def derivative(self, *params, explicit: bool = False, multipliers: bool = False):
        """∂ⁿx/∂θ_S for S = params (any order, any mix of parameters).

        Parameters
        ==========

        *params : parameters (Symbols or names) and repeat counts: ``derivative(a, 2, b)``
        explicit : systems only: the entries expanded (LU solve; small systems only)
            instead of the unevaluated solve
        multipliers : a constrained Minimize: also the derivatives of the Lagrange
            multipliers λ (shadow prices and their sensitivities), after the unknowns

        Returns
        =======

        A scalar unknown: an explicit expression.  Vector unknowns: a column over the
        user's unknowns, ``LinearSolve(J, -R_S)`` (z_S = -J⁻¹ R_S, lower orders nested as
        elements of their own solves; ``sympy.lambdify`` prints numpy.linalg.solve /
        mpmath.lu_solve), or with ``explicit=True`` an explicit Matrix.

        Examples
        ========

        >>> import sympy as sp
        >>> from symimplicit import Root
        >>> x, y, a = sp.symbols("x y a")
        >>> d = Root([x - a*y, y - x**2 + a], [x, y], (a,)).derive()
        >>> sp.simplify(d.derivative(a).doit() - d.derivative(a, explicit=True))
        Matrix([
        [0],
        [0]])

        The multipliers' derivatives: λ = -2m/3 for min x² + 2y² subject to x + y = m.

        >>> from symimplicit import Minimize
        >>> m = sp.Symbol("m")
        >>> d = Minimize(x**2 + 2*y**2, [x, y], (m,), constraints=[x + y - m]).derive()
        >>> d.derivative(m, explicit=True, multipliers=True).T
        Matrix([[2/3, 1/3, -4/3]])

        An applied unknown f(x) (Maple's ``implicitdiff``) is shown as f(x):

        >>> f = sp.Function("f")
        >>> Root(sp.Eq(x**2 + f(x)**2, 1), f(x), (x,)).derive().derivative(x)
        -x/f(x)
        """
        return self.statement.to_user(self._raw_derivative(*params, explicit=explicit,
                                                           multipliers=multipliers))

    def _raw_derivative(self, *params, explicit: bool = False, multipliers: bool = False):
        """derivative() in the statement's Symbols (applied unknowns f(x) as Symbols f):
        what the lowering and the references evaluate."""
        S = self._multi_index(params)
        if S not in self._order:
            self._order.append(S)
        if self.is_scalar:
            value = self._solution(S)[0, 0]
            return sp.Matrix([value]) if self.statement.is_vector else value
        self._check_invertible()
        n_user = len(self.unknowns if multipliers else self.statement.unknowns)
        if explicit:
            return sp.Matrix(self._systems.explicit(S)[:n_user, :])
        solved = self._systems.solution(S)
        return solved if n_user == len(self.unknowns) else solved[:n_user, :]

    def derivative_of(self, expr, *params):
        """d^S/dθ_S of an expression g(x(θ), θ) of the solution, any order and mix
        (Mathematica's ``ImplicitD``); see :func:`symimplicit.derive.chain.derivative_of`.

        Examples
        ========

        >>> import sympy as sp
        >>> from symimplicit import Root
        >>> x, a = sp.symbols("x a")
        >>> Root(x**2 - a, x, (a,)).derive().derivative_of((x - 1)**2, a)
        (x - 1)/x
        """
        from symimplicit.derive.chain import derivative_of
        return derivative_of(self, expr, *params)

    def linear_solves(self, *params) -> list[tuple[tuple, LinearSolve]]:
        """Systems: the solves that give derivative(*params), lower orders first, each once.

        A list of (placeholder symbols of z_T, LinearSolve(J, -R_T)); R_T refers to the
        placeholders of earlier entries (evaluate in order: CSE-friendly), the last entry is
        the requested derivative (all system unknowns, multipliers included).
        """
        if self.is_scalar:
            raise DerivationError("linear_solves() is for systems; a scalar unknown's "
                                  "derivative() is explicit")
        S = self._multi_index(params)
        self._check_invertible()
        return self._systems.program(S)

    def residual_of(self, S: tuple[int, ...]) -> sp.ImmutableMatrix:
        """Systems: R_S with J z_S + R_S = 0 (placeholders for lower orders)."""
        return self._systems.residual(S)

    def placeholder_table(self) -> dict:
        """Systems: {multi-index T: placeholder symbols of z_T} used so far."""
        return dict(self._systems._dz) if not self.is_scalar else {}

    def gradient(self) -> sp.Matrix:
        """All first derivatives: Matrix (len(unknowns) × p), column j = ∂x/∂θⱼ
        (systems: explicit entries, small systems only)."""
        return self.statement.to_user(self._raw_gradient())

    def _raw_gradient(self) -> sp.Matrix:
        """gradient() in the statement's Symbols (what the lowering evaluates)."""
        n = len(self.statement.unknowns)
        if self.is_scalar:
            cols = [self._solution((j,)) for j in range(len(self.params))]
        else:
            cols = [self._raw_derivative(self.params[j], explicit=True)
                    for j in range(len(self.params))]
        return sp.Matrix.hstack(*cols) if cols else sp.zeros(n, 0)

    @cached_property
    def _systems(self) -> VectorPath:
        return VectorPath(self.unknowns, self.params, self.jacobian, self.param_jacobian,
                          self.statement)

    def _solution(self, S: tuple[int, ...]) -> sp.Matrix:
        """Scalar: column [∂^S x], memoised."""
        if S not in self._memo:
            self._check_invertible()
            self._memo[S] = self._scalar_solution(S)
        return self._memo[S]

    # scalar: universal numerators, then the partials of F substituted -------- #
    def _partial(self, key: Key) -> sp.Expr:
        """∂ⁱ_x ∂_J F with common factors pulled out (what the formulas show), memoised."""
        if key not in self._partials:
            self._partials[key] = sp.factor_terms(self._raw_partial(key))
        return self._partials[key]

    def _raw_partial(self, key: Key) -> sp.Expr:
        """∂ⁱ_x ∂_J F unfactored, from its neighbour, memoised: differentiating the flat sum
        of products (not its factored display form) keeps every later partial a flat sum;
        nested factors would multiply under the product rule."""
        if key not in self._raw_partials:
            i, J = key
            if J:                                                 # ∂_θⱼ of ∂ⁱ_x ∂_J' F
                value = self._partial_diff(self._raw_partial((i, J[:-1])), self.params[J[-1]])
            elif i:                                               # ∂_x of ∂ⁱ⁻¹_x F
                value = self._partial_diff(self._raw_partial((i - 1, ())), self.unknowns[0])
            else:
                value = self.residual[0]
            self._raw_partials[key] = value
        return self._raw_partials[key]

    def _partial_diff(self, expr: sp.Expr, wrt: sp.Symbol) -> sp.Expr:
        """∂expr/∂wrt by the chain-rule gradient (:func:`~symimplicit.derive.calculus.gradients`:
        each function's fdiff, no ``Derivative`` objects; ~10x faster than ``diff`` on cold
        caches), with ``diff``'s conventions (DiracDelta dropped, typed errors)."""
        return gradients([expr], [wrt], self.statement)[0].get(wrt, sp.S.Zero)

    def _scalar_solution(self, S: tuple[int, ...]) -> sp.Matrix:
        numer, k = implicit_numerator(S)                    # ∂ⁿx/∂θ_S = N_S / F_xᵏ
        alive = {mono: coeff for mono, coeff in numer.items()
                 if all(self._partial(key) != 0 for key, _ in mono)}   # drop vanishing terms
        if len(alive) > MAX_TERMS:
            names = ", ".join(self.params[j].name for j in S)
            raise DerivationError(
                f"the derivative with respect to ({names}) of {self.statement!r} has "
                f"{len(alive)} terms, above the size budget MAX_TERMS = {MAX_TERMS} "
                "(symimplicit.derive.MAX_TERMS); ask for a lower order, or differentiate a "
                "lowered layer numerically (tape grad with create_graph=True)")
        numerator = horner(alive, self._partial)
        return sp.Matrix([numerator / self._partial(F_X) ** k])

    # -- conditions ------------------------------------------------------------- #
    @cached_property
    def kinks(self) -> list:
        """Every kink g of the residual (F is not differentiable where g = 0)."""
        return kinks(self.residual)

    @cached_property
    def conditions(self) -> list:
        """Relations where the result fails, from the statement alone (never from which
        derivatives were asked for): det ∂F/∂z = 0 (the IFT; an unevaluated Determinant
        for systems above EXPLICIT_DET unknowns), g = 0 at every kink of abs, sign, Max,
        Min, Heaviside, Piecewise in F, and for Minimize where the point is not a strict
        minimum (second-order condition).  Relations that can never hold are left out."""
        if self.is_scalar or len(self.unknowns) <= EXPLICIT_DET:
            rels = [zero(self.determinant)]
        else:
            rels = [sp.Eq(sp.Determinant(sp.ImmutableMatrix(self.jacobian)), 0,
                          evaluate=False)]
        rels += [zero(g) for g in self.kinks]                # where abs, sign... have kinks
        rels += [failure(r) for r in self.second_order]
        return dedupe(rels)

    @cached_property
    def second_order(self) -> list:
        """Minimize only: relations that must hold for a strict local minimum
        (leading principal minors of the Hessian, or of the bordered Hessian, > 0)."""
        return second_order_relations(self.statement, self.jacobian)

    # -- steps ------------------------------------------------------------------ #
    @property
    def steps(self) -> list[Step]:
        """The derivation so far: statement, first order for every parameter,
        every higher-order derivative computed so far, conditions."""
        for p in self.params:
            self.derivative(p)
        higher = [S for S in self._order if len(S) >= 2]
        return StepWriter(self).write(range(len(self.params)), higher)

    def steps_for(self, *params) -> list[Step]:
        """The steps that lead to derivative(*params): first order for the parameters
        involved, then each intermediate order, then the conditions."""
        S = self._multi_index(params)
        chain = [S[:k] for k in range(2, len(S) + 1)]
        for T in chain:
            self.derivative(*[self.params[j] for j in T])
        self.derivative(*[self.params[j] for j in S])
        return StepWriter(self).write(sorted(set(S)), chain)


def _singular_at_random_points(J: sp.Matrix, samples: int = 3) -> bool:
    """True when J evaluated at random rational points (mpmath, 30 digits) is singular at
    every point where it evaluates; False as soon as one point shows det ≠ 0."""
    import mpmath as mp
    rng = random.Random(20240607)
    symbols = sorted(J.free_symbols, key=lambda s: s.name)
    values = sp.lambdify(symbols, sp.ImmutableMatrix(J), "mpmath", dummify=True)
    for _ in range(samples):
        point = zero_test.sample_point(symbols, rng)
        try:
            with mp.workdps(30):
                M = mp.matrix(values(*[mp.mpf(v.p) / v.q for v in point.values()]))
                scale = max((abs(v) for v in M), default=1) or 1
                if abs(mp.det(M / scale)) > mp.mpf(10) ** -20:
                    return False
        except (TypeError, ValueError, ZeroDivisionError):
            continue                              # a pole or a non-number: another point
    return True
