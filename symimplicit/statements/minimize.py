"""The statement by an objective: :class:`Minimize`, x = argmin f(x, θ), optionally subject
to equality constraints g = 0 (KKT residual, multipliers λ internal) and inequalities h ≤ 0
(multipliers μ, derived under a named active set)."""
from __future__ import annotations

import sympy as sp

from symimplicit.errors import StatementError
from symimplicit.statements.arguments import _as_exprs, _free, _multiplier_symbols, _tuple_text
from symimplicit.statements.base import Statement

__all__ = ["Minimize"]


class Minimize(Statement):
    """x(θ) = argmin f(x, θ), optionally subject to equality constraints g(x, θ) = 0.

    Unconstrained, the residual is the gradient ∇ₓf.  With constraints the
    residual is the KKT system [∇ₓf + Jgᵀλ ; g] in the unknowns (x, λ); the
    multipliers λ (``lambda_1``, ...) are internal: derivatives report x only.

    Inequalities (``h <= 0``, ``a >= b``, bounds ``lo <= x``; :mod:`symimplicit.constraints`)
    have multipliers μ (``mu_1``, ...) ≥ 0 with μᵢhᵢ = 0; the statement is then derived
    under a named active set (``derive(active=[...])``) and ``primitive()`` picks the
    active set from the solution; ``primitive(multipliers=True)`` also returns λ and μ.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Minimize
    >>> x, y, a = sp.symbols("x y a")
    >>> m = Minimize((x - a)**2 + x**4, x, a)
    >>> m.residual                                # ∇ₓf
    Matrix([[-2*a + 4*x**3 + 2*x]])
    >>> m.derive().derivative(a)
    1/(6*x**2 + 1)
    >>> Minimize(x**2 + y**2, [x, y], a, constraints=[x + y - a]).primitive()(2.0)
    (1.0, 1.0)
    """

    kind = "minimize"

    def __init__(self, f, unknown, params=None, constraints=()):
        from symimplicit.constraints import split_constraints   # g = 0 and h ≤ 0 apart
        equalities, self._inequalities = split_constraints(constraints)
        self._constraints, _ = _as_exprs(list(equalities), "constraint")
        super().__init__(f, unknown, params)

    def _check_shape(self) -> None:
        self._check_constraints()
        taken = {s.name for s in _free(self._all_exprs())}
        self.multipliers = _multiplier_symbols(len(self._constraints), taken)
        self.inequality_multipliers = _multiplier_symbols(len(self._inequalities), taken, "mu")

    def _replace_internal(self, replace) -> None:
        if self._inequalities:
            raise StatementError("applied unknowns such as f(x) are not supported with "
                                 f"inequality constraints ({self._inequalities[0].source}); "
                                 "use a Symbol for the unknown")
        super()._replace_internal(replace)
        self._constraints = tuple(replace(g) for g in self._constraints)

    def _normalise(self, expression):
        if isinstance(expression, (list, tuple, sp.MatrixBase, sp.Equality)):
            raise StatementError(f"Minimize takes one scalar objective f, got {expression!r}")
        return _as_exprs(expression, "objective")

    def _all_exprs(self) -> tuple[sp.Expr, ...]:
        return self._exprs + self._constraints + tuple(c.h for c in self._inequalities)

    def _check_occurs(self, exprs) -> None:
        super()._check_occurs(self._all_exprs())          # an unknown may occur in g only

    def _check_constraints(self) -> None:
        m, n = len(self._constraints), len(self.unknowns)
        if m >= n:
            raise StatementError(f"{m} equality constraint(s) on {n} unknown(s) leave nothing "
                                 "to minimise over: need fewer constraints than unknowns")
        for i, g in enumerate(self._constraints):
            if not (g.free_symbols & set(self.unknowns)):
                raise StatementError(f"constraint[{i}] {g} = 0 does not involve the "
                                     f"unknowns {self.unknowns}")
        for c in self._inequalities:
            if not (c.h.free_symbols & set(self.unknowns)):
                raise StatementError(f"the inequality {c.source} does not involve the "
                                     f"unknowns {self.unknowns}")

    @property
    def objective(self) -> sp.Expr:
        return self._exprs[0]

    @property
    def constraints(self) -> tuple[sp.Expr, ...]:
        """The constraint expressions g(x, θ) (each meaning g = 0)."""
        return self._constraints

    @property
    def inequalities(self) -> tuple:
        """The inequality constraints, each an :class:`~symimplicit.constraints.Inequality`
        (``.h`` meaning h ≤ 0, ``.source`` the relation as given)."""
        return self._inequalities

    def derive(self, active=None):
        """The Derivation; with inequality constraints, the derivation under the active set
        ``active`` (indices, relations or their text; see :mod:`symimplicit.active_set`)."""
        if self._inequalities or active is not None:
            from symimplicit.active_set import active_set_derivation
            return active_set_derivation(self, active)
        return super().derive()

    def primitive(self, **options):
        """The tape Function; with inequalities or ``multipliers=True`` the layer of
        :mod:`symimplicit.lower.inequality` (active-set solve, multipliers as outputs)."""
        if self._inequalities or options.get("multipliers"):
            from symimplicit.lower.inequality import InequalityLayer
            return InequalityLayer(self, **options)
        options.pop("multipliers", None)
        return super().primitive(**options)

    def lower(self, **options):
        """Vectorised sweeps (equality constraints only; use primitive() with inequalities)."""
        if self._inequalities:
            raise StatementError(f"{self!r}: lower() sweeps do not take inequality constraints; "
                                 "use primitive() (one solve per call)")
        return super().lower(**options)

    @property
    def gradient(self) -> sp.Matrix:
        """∇ₓf as a column."""
        return sp.Matrix([self.objective.diff(x) for x in self.unknowns])

    @property
    def residual(self) -> sp.Matrix:
        if self._inequalities:
            raise StatementError(f"{self!r} has inequality constraints: its KKT system depends "
                                 "on the active set; use derive(active=[...]) or primitive()")
        grad = self.gradient
        if not self._constraints:
            return grad                                   # ∇ₓf = 0
        g = sp.Matrix(self._constraints)
        jac_g = g.jacobian(self.unknowns)                 # Jg (m × n)
        lam = sp.Matrix(self.multipliers)
        return (grad + jac_g.T * lam).col_join(g)         # [∇ₓf + Jgᵀλ ; g] = 0

    def _key(self):
        return super()._key() + (self._constraints, tuple(c.h for c in self._inequalities))

    def _repr_extra(self) -> str:
        shown = list(self._constraints) + [c.source for c in self._inequalities]
        if not shown:
            return ""
        return ", constraints=" + _tuple_text(shown)
