"""Derivatives of an inequality-constrained argmin through its active set.

For x*(θ) = argmin f(x, θ) subject to g(x, θ) = 0 and h(x, θ) ≤ 0 the KKT conditions are

    ∇f + Jgᵀλ + Jhᵀμ = 0,   g = 0,   h ≤ 0,   μ ≥ 0,   μᵢhᵢ = 0.

At a solution with active set A (hᵢ = 0 for i ∈ A) and *strict complementarity*
(μᵢ > 0 on A), the inactive constraints keep hⱼ < 0 and μⱼ = 0 nearby, so locally the
solution is the root of the reduced KKT system

    F_A(z, θ) = [∇f + Jgᵀλ + Jh_Aᵀμ_A ; g ; h_A] = 0     in z = (x, λ, μ_A),

and the implicit function theorem applies to F_A: that is the system differentiated here
(a :class:`~symimplicit.statements.Root` in z, so the multipliers' derivatives come with
x's).  It is valid where LICQ holds (the rows of [Jg; Jh_A] are independent), strict
complementarity holds, and the reduced Hessian is positive definite on the null space of
[Jg; Jh_A] (second-order sufficiency on the critical cone).

:func:`active_set_derivation` is behind ``Minimize.derive(active=[...])``; one derivation is
kept per (statement, active set).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from symimplicit.errors import DerivationError, StatementError

__all__ = ["ActiveSetDerivation", "active_set_derivation", "resolve_active", "kkt_residual"]


def resolve_active(statement, active) -> tuple[int, ...]:
    """The sorted indices of the inequalities named in ``active``.

    An item is an index into ``statement.inequalities``, the relation as given
    (``x >= 0``), its canonical expression h, or the text of either (compared as text,
    never evaluated).
    """
    ineqs = statement.inequalities
    if active is None:
        names = ", ".join(f"[{c.index}] {c.source}" for c in ineqs)
        raise DerivationError(f"{statement!r} has inequality constraints ({names}): its "
                              "derivative depends on which are active; name them with "
                              "derive(active=[...]) (indices, relations or their text; [] for "
                              "none); the layer primitive() picks them from the solution")
    if isinstance(active, (int, str, sp.Basic)):
        active = [active]
    out = set()
    for item in active:
        out.add(_index_of(statement, item))
    return tuple(sorted(out))


def _index_of(statement, item) -> int:
    ineqs = statement.inequalities
    if isinstance(item, bool):
        raise DerivationError(f"active set item {item!r} is a truth value, not a constraint")
    if isinstance(item, int):
        if not 0 <= item < len(ineqs):
            raise DerivationError(f"active set index {item} is out of range: {statement!r} has "
                                  f"{len(ineqs)} inequality constraint(s)")
        return item
    for c in ineqs:
        if isinstance(item, str):
            if item.replace(" ", "") in (str(c.source).replace(" ", ""), str(c.h).replace(" ", "")):
                return c.index
        elif item == c.source or item == c.h or \
                isinstance(item, sp.Basic) and sp.simplify(_canonical(item) - c.h) == 0:
            return c.index
    shown = ", ".join(f"[{c.index}] {c.source}" for c in ineqs) or "none"
    raise DerivationError(f"{item!r} is not one of the inequality constraints of {statement!r} "
                          f"({shown})")


def _canonical(item) -> sp.Expr:
    from symimplicit.constraints import split_constraints
    try:
        _, ineqs = split_constraints([item])
    except StatementError:
        return sp.nan
    return ineqs[0].h if len(ineqs) == 1 else sp.nan


def kkt_residual(statement, active) -> tuple[sp.Matrix, tuple[sp.Symbol, ...]]:
    """(F_A, z): the KKT residual of the equalities and the inequalities ``active`` (indices),
    in z = (x, λ, μ_A):  F_A = [∇f + Jgᵀλ + Jh_Aᵀμ_A ; g ; h_A]."""
    x = statement.unknowns
    g = list(statement.constraints) + [statement.inequalities[i].h for i in active]
    mult = tuple(statement.multipliers) + tuple(statement.inequality_multipliers[i] for i in active)
    grad = sp.Matrix([statement.objective.diff(v) for v in x])
    if g:
        G = sp.Matrix(g)
        grad = grad + G.jacobian(x).T * sp.Matrix(mult)          # ∇f + Jgᵀλ + Jh_Aᵀμ_A
        return grad.col_join(G), tuple(x) + mult
    return grad, tuple(x)


class ActiveSetDerivation:
    """The derivation of an inequality-constrained :class:`Minimize` under one active set.

    ``active`` (indices of the active inequalities), ``inactive``, ``reduced`` (the
    :class:`Root` of the reduced KKT system in z = (x, λ, μ_A)), ``reduced_derivation``.

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit import Minimize
    >>> x, a = sp.symbols("x a")
    >>> st = Minimize((x - a)**2, x, [a], constraints=[x >= 0])
    >>> st.derive(active=[]).derivative(a)
    1
    >>> st.derive(active=["x >= 0"]).derivative(a)
    0
    >>> st.derive(active=[0]).multiplier_derivative(a)
    Matrix([[-2]])

    See Also
    ========

    symimplicit.lower.inequality.InequalityLayer : the numeric layer, which picks the active set
    """

    def __init__(self, statement, active: tuple[int, ...]):
        from symimplicit.statements import Root
        self.statement = statement
        self.active = tuple(active)
        self.inactive = tuple(i for i in range(len(statement.inequalities)) if i not in active)
        F, z = kkt_residual(statement, self.active)
        self.unknowns = z
        self.reduced = Root(list(F) if len(z) > 1 else F[0], list(z) if len(z) > 1 else z[0],
                            statement.params)
        self.reduced_derivation = self.reduced.derive()

    def __repr__(self):
        shown = ", ".join(str(self.statement.inequalities[i].source) for i in self.active)
        return f"ActiveSetDerivation({self.statement!r}, active=[{shown}])"

    # -- derivatives ------------------------------------------------------------ #
    def _column(self, params) -> sp.Matrix:
        d = self.reduced_derivation._raw_derivative(*params, explicit=True)   # small reduced systems
        return d if isinstance(d, sp.MatrixBase) else sp.Matrix([d])

    def derivative(self, *params):
        """∂ⁿx/∂θ_S under this active set: an Expr, or a column Matrix for vector unknowns."""
        col = self._column(params)[: len(self.statement.unknowns), :]
        return col if self.statement.is_vector else col[0, 0]

    def multiplier_derivative(self, *params) -> sp.Matrix:
        """∂ⁿ(λ, μ)/∂θ_S: a column over every multiplier, the equalities' λ then every μ
        (inactive μⱼ ≡ 0 nearby, so their derivatives are 0)."""
        col = self._column(params)
        st, n, m = self.statement, len(self.statement.unknowns), len(self.statement.multipliers)
        out = list(col[n:n + m, :])
        active = dict(zip(self.active, col[n + m:, :]))
        out += [active.get(i, sp.S.Zero) for i in range(len(st.inequalities))]
        return sp.Matrix(out)

    def gradient(self) -> sp.Matrix:
        """All first derivatives of x: (len(unknowns) × p)."""
        return self.reduced_derivation._raw_gradient()[: len(self.statement.unknowns), :]

    @property
    def multipliers(self) -> tuple[sp.Symbol, ...]:
        """Every multiplier symbol: λ of the equalities, then μ of every inequality."""
        return tuple(self.statement.multipliers) + tuple(self.statement.inequality_multipliers)

    # -- conditions ------------------------------------------------------------- #
    @property
    def licq(self) -> list:
        """Where LICQ fails: det(J Jᵀ) = 0 for J = [Jg; Jh_A] (the Gram determinant)."""
        st = self.statement
        rows = list(st.constraints) + [st.inequalities[i].h for i in self.active]
        if not rows:
            return []
        J = sp.Matrix(rows).jacobian(st.unknowns)
        if J.rows > J.cols:
            return [sp.true]                                       # more active rows than unknowns
        return [sp.Eq(sp.factor_terms((J * J.T).det(method="berkowitz")), 0)]

    @property
    def complementarity(self) -> list:
        """Where strict complementarity or feasibility fails: μᵢ ≤ 0 (i ∈ A), hⱼ ≥ 0 (j ∉ A)."""
        st = self.statement
        out = [sp.Le(st.inequality_multipliers[i], 0) for i in self.active]
        return out + [sp.Ge(st.inequalities[j].h, 0) for j in self.inactive]

    @property
    def second_order(self) -> list:
        """Relations that must hold for a strict minimum on the critical cone (the null space of
        [Jg; Jh_A]): those of the equality-constrained argmin with the active constraints as
        equalities (none when they leave no direction to move)."""
        st = self.statement
        rows = list(st.constraints) + [st.inequalities[i].h for i in self.active]
        if len(rows) >= len(st.unknowns):
            return []
        return self._equality_statement().derive().second_order

    def _equality_statement(self):
        """The equality-constrained :class:`Minimize` with the active inequalities as equalities."""
        from symimplicit.statements import Minimize
        st = self.statement
        rows = list(st.constraints) + [st.inequalities[i].h for i in self.active]
        return Minimize(st.objective, st.unknown, st.params, constraints=rows)

    @property
    def conditions(self) -> list:
        """Relations where the result fails: the reduced system's (det ∂F_A/∂z = 0, kinks), LICQ,
        strict complementarity / feasibility, and the second-order condition."""
        rels = list(self.reduced_derivation.conditions) + self.licq + self.complementarity
        rels += [_not(r) for r in self.second_order]
        out = []
        for r in rels:
            if r is not sp.false and r not in out:
                out.append(r)
        return out

    # -- steps and rendering ------------------------------------------------------ #
    def _kkt_steps(self) -> list:
        from symimplicit.derive import Step
        st = self.statement
        x, lam, mu = st.unknowns, st.multipliers, st.inequality_multipliers
        hs = [c.h for c in st.inequalities]
        L = st.objective + sum(l * g for l, g in zip(lam, st.constraints)) + \
            sum(m * h for m, h in zip(mu, hs))
        grad = sp.Matrix([L.diff(v) for v in x])
        eqs = [sp.Eq(sp.Symbol("L"), L), sp.Eq(grad, sp.zeros(len(x), 1), evaluate=False)]
        eqs += [sp.Eq(g, 0) for g in st.constraints]
        eqs += [sp.Le(h, 0) for h in hs] + [sp.Ge(m, 0) for m in mu]
        eqs += [sp.Eq(m * h, 0) for m, h in zip(mu, hs)]
        kkt = Step("statement", "The unknowns minimise f subject to g = 0 and h ≤ 0. With the "
                   "Lagrangian L below, a minimum satisfies the KKT conditions: "
                   "stationarity, feasibility, nonnegative multipliers and complementarity.",
                   tuple(eqs))
        act = [sp.Eq(hs[i], 0) for i in self.active] + [sp.Eq(mu[j], 0) for j in self.inactive]
        words = (f"{len(self.active)} of the {len(hs)} inequalities active" if self.active
                 else "no inequality active")
        chosen = Step("statement", f"The active set ({words}): the active constraints hold with "
                      "equality, the inactive multipliers vanish, and with strict complementarity "
                      "both stay so for nearby parameters. What remains is a square system, "
                      "differentiated below.", tuple(act))
        return [kkt, chosen]

    def _condition_step(self):
        from symimplicit.derive import Step
        return Step("condition", "The result holds where none of the following does: a singular "
                    "reduced system, dependent active constraint gradients (LICQ), a zero "
                    "multiplier on an active constraint or an inactive one reaching its bound "
                    "(strict complementarity), or a failed second-order condition on the "
                    "critical cone.", tuple(self.conditions))

    @property
    def steps(self) -> list:
        """The KKT conditions, the active set, the reduced system's derivation, the conditions."""
        return self._kkt_steps() + self.reduced_derivation.steps[:-1] + [self._condition_step()]

    def steps_for(self, *params) -> list:
        """The steps leading to derivative(*params)."""
        inner = self.reduced_derivation.steps_for(*params)
        return self._kkt_steps() + inner[:-1] + [self._condition_step()]

    def latex(self, document: bool = False, **options) -> str:
        """The steps as ``align*`` (or a standalone document with ``document=True``)."""
        from symimplicit.report.latex import PREAMBLE, align
        title = options.pop("title", None)
        body = align(_ReportView(self), **options)
        if not document:
            return body
        from symimplicit.report.prose import escape_latex
        heading = escape_latex(title) if title is not None else \
            "Implicit differentiation through an active set"
        return (PREAMBLE + "\n\\begin{document}\n\n\\section*{" + heading + "}\n\n" + body
                + "\n\n\\end{document}\n")

    def markdown(self, **options) -> str:
        """The steps as Markdown."""
        from symimplicit.report.latex import markdown
        return markdown(_ReportView(self), **options)

    def pdf(self, path, **options):
        """Compile the standalone document with pdflatex into ``path``; returns the Path."""
        from symimplicit.report.pdf import compile_pdf
        return compile_pdf(self.latex(document=True, **options), path)

    def _repr_latex_(self) -> str:
        from symimplicit.report.latex import repr_latex
        return repr_latex(_ReportView(self))


class _ReportView:
    """What symimplicit.report reads from a derivation (steps, and the names of the reduced
    system so that μ's and λ's names typeset as math)."""

    def __init__(self, d: ActiveSetDerivation):
        self._d = d
        self.statement = d.reduced

    @property
    def steps(self):
        return self._d.steps

    def steps_for(self, *params):
        return self._d.steps_for(*params)


def _not(rel):
    """The negation of a relation, as the failure condition (x > 0 → x ≤ 0)."""
    return rel.negated if hasattr(rel, "negated") else sp.Not(rel)


@lru_cache(maxsize=256)
def _cached(statement, active: tuple[int, ...]) -> ActiveSetDerivation:
    return ActiveSetDerivation(statement, active)


def active_set_derivation(statement, active) -> ActiveSetDerivation:
    """``Minimize.derive(active=...)``: the (memoised) derivation under that active set."""
    return _cached(statement, resolve_active(statement, active))
