"""Problem statements: what defines the unknown x(θ) implicitly.

Three kinds, one base class :class:`Statement`:

* :class:`Root`        F(x, θ) = 0
* :class:`FixedPoint`  x = f(x, θ)                 (residual x - f)
* :class:`Minimize`    x = argmin f(x, θ)          (residual ∇ₓf)
  optionally subject to g(x, θ) = 0                 (residual [∇ₓf + Jgᵀλ ; g], λ internal)

A statement only *states* the problem in SymPy and checks that it is well formed
(shapes, unknowns that occur, parameters distinct from the unknowns).  It solves
nothing; :meth:`Statement.derive` hands it to :mod:`symimplicit.derive`.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sympy as sp

from symimplicit.applied import AppliedUnknowns, is_applied, split_applied
from symimplicit.errors import StatementError

__all__ = ["Statement", "Root", "FixedPoint", "Minimize"]


# --------------------------------------------------------------------------- #
# argument normalisation                                                       #
# --------------------------------------------------------------------------- #

def _as_symbol(obj: Any, role: str, by_name: dict[str, sp.Symbol] | None = None) -> sp.Symbol:
    """A Symbol from a Symbol or a name; anything else is a StatementError.

    A name is the symbol of that name in the expressions (``by_name``), whatever its
    assumptions (``parse`` makes real symbols), else a plain ``Symbol(name)``.
    """
    if isinstance(obj, str):
        if not obj.isidentifier():
            raise StatementError(f"{role} name {obj!r} is not a valid identifier")
        return (by_name or {}).get(obj) or sp.Symbol(obj)
    if isinstance(obj, sp.Symbol):
        return obj
    raise StatementError(f"{role} must be a sympy Symbol or a name, got {obj!r} "
                         f"({type(obj).__name__})")


def _symbols(obj: Any, role: str, by_name: dict[str, sp.Symbol] | None = None
             ) -> tuple[tuple[sp.Symbol, ...], bool]:
    """(symbols, given_as_sequence) from one Symbol/name or a sequence of them."""
    if isinstance(obj, (str, sp.Symbol)):
        return (_as_symbol(obj, role, by_name),), False
    if isinstance(obj, sp.MatrixBase):
        obj = list(obj)
    if not isinstance(obj, Iterable):
        raise StatementError(f"{role} must be a Symbol or a sequence of Symbols, got {obj!r}")
    syms = tuple(_as_symbol(s, role, by_name) for s in obj)
    seen: set[sp.Symbol] = set()
    for s in syms:
        if s in seen:
            raise StatementError(f"{role} {s} is listed twice")
        seen.add(s)
    return syms, True


def _as_expr(obj: Any, what: str) -> sp.Expr:
    """A SymPy expression from an expression, a number or an ``Eq`` (lhs - rhs).

    Strings are refused: text goes through :func:`symimplicit.parse`,
    never through ``sympify`` (which evaluates Python code).
    """
    if isinstance(obj, str):
        raise StatementError(f"{what} is the string {obj!r}; use symimplicit.parse "
                             "to turn text into a statement safely")
    if isinstance(obj, sp.Equality):
        return obj.lhs - obj.rhs                         # lhs = rhs  ⇔  lhs - rhs = 0
    if isinstance(obj, (bool, sp.logic.boolalg.BooleanAtom)):
        raise StatementError(f"{what} is the constant truth value {obj}: "
                             "the equation was evaluated before it reached the statement")
    if isinstance(obj, (int, float)):
        return sp.Integer(obj) if isinstance(obj, int) else sp.Float(obj)
    if not isinstance(obj, sp.Expr):
        raise StatementError(f"{what} must be a SymPy expression or Eq, got {obj!r} "
                             f"({type(obj).__name__})")
    if obj.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise StatementError(f"{what} contains an infinity or NaN: {obj}")
    return obj


def _as_exprs(obj: Any, what: str) -> tuple[tuple[sp.Expr, ...], bool]:
    """(expressions, given_as_sequence) from one expression or a sequence."""
    if isinstance(obj, sp.MatrixBase):
        return tuple(_as_expr(e, f"{what}[{i}]") for i, e in enumerate(obj)), True
    if isinstance(obj, (list, tuple)):
        return tuple(_as_expr(e, f"{what}[{i}]") for i, e in enumerate(obj)), True
    return (_as_expr(obj, what),), False


def _free(exprs: Iterable[sp.Expr]) -> set[sp.Symbol]:
    out: set[sp.Symbol] = set()
    for e in exprs:
        out |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)}
    return out


def _names(exprs: Iterable[sp.Expr]) -> dict[str, sp.Symbol]:
    """name -> Symbol for the free symbols of the expressions (names that occur with two
    different assumptions are left out: a name cannot choose between them)."""
    out: dict[str, sp.Symbol] = {}
    clash: set[str] = set()
    for s in _free(exprs):
        if s.name in out and out[s.name] != s:
            clash.add(s.name)
        out[s.name] = s
    return {k: v for k, v in out.items() if k not in clash}


def _multiplier_symbols(count: int, taken: set[str], stem: str = "lambda") -> tuple[sp.Symbol, ...]:
    """Deterministic Lagrange multiplier names λ₁, λ₂ ... (``lambda_1``; μ: ``mu_1``), avoiding clashes."""
    out = []
    for k in range(1, count + 1):
        name = f"{stem}_{k}"
        while name in taken:
            name += "_"
        out.append(sp.Symbol(name))
    return tuple(out)


def _tuple_text(items) -> str:
    """Python tuple notation: (a, b), (a,), ()."""
    return "(" + ", ".join(map(str, items)) + ("," if len(items) == 1 else "") + ")"


# --------------------------------------------------------------------------- #
# the statements                                                               #
# --------------------------------------------------------------------------- #

class Statement:
    """Common part of :class:`Root`, :class:`FixedPoint` and :class:`Minimize`.

    Attributes (see docs/architecture.md): ``kind``, ``unknowns``, ``is_vector``,
    ``params``, ``multipliers``, ``system_unknowns``, ``residual``, ``expression``,
    ``expressions``.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, Statement
    >>> x, a = sp.symbols("x a")
    >>> r = Root(x**2 - a, x, a)
    >>> isinstance(r, Statement), r.kind, r.unknowns, r.params, r.is_vector
    (True, 'root', (x,), (a,), False)
    """

    kind: str = ""

    def __init__(self, expression, unknown, params=None):
        self._exprs, self._expr_is_seq = self._normalise(expression)
        unknown, params = self._take_applied(unknown, params)
        self._by_name = _names(self._all_exprs())
        self.unknowns, self.is_vector = _symbols(unknown, "unknown", self._by_name)
        if not self.unknowns:
            raise StatementError("no unknown given")
        self.multipliers: tuple[sp.Symbol, ...] = ()
        self.params = self._check_params(params, self._all_exprs())
        self._check_occurs(self._exprs)
        self._derivation = None

    def _take_applied(self, unknown, params):
        """Applied unknowns f(x) become Symbols (symimplicit.applied); ``self.applied`` maps back."""
        seq = isinstance(unknown, (list, tuple, sp.MatrixBase))
        items = tuple(unknown) if seq else (unknown,)
        self.applied = AppliedUnknowns({})
        if not any(is_applied(u) for u in items):
            return unknown, params
        exprs = self._all_exprs()
        new, params, self.applied = split_applied(exprs, items, params,
                                                  {s.name for s in _free(exprs)})
        self._replace_internal(self.applied.to_internal)
        return (list(new) if seq else new[0]), params

    def _replace_internal(self, replace) -> None:
        self._exprs = tuple(replace(e) for e in self._exprs)

    def to_user(self, obj):
        """``obj`` with applied unknowns shown as the user wrote them: f for f(x)
        (the identity for statements in Symbols).

        Examples
        ========

        >>> import sympy as sp
        >>> from symimplicit import Root
        >>> x = sp.Symbol("x"); f = sp.Function("f")
        >>> st = Root(sp.Eq(x**2 + f(x)**2, 1), f(x), (x,))
        >>> st.unknowns, st.to_user(st.unknowns[0] + x)
        ((f,), x + f(x))
        """
        return self.applied.to_user(obj)

    # -- hooks overridden by the subclasses -------------------------------- #
    def _normalise(self, expression):
        return _as_exprs(expression, "F")

    def _all_exprs(self) -> tuple[sp.Expr, ...]:
        return self._exprs

    # -- validation --------------------------------------------------------- #
    def _check_params(self, params, exprs) -> tuple[sp.Symbol, ...]:
        """The parameters: given, or the other free symbols sorted by name."""
        free = _free(exprs)
        if params is None:
            return tuple(sorted(free - set(self.unknowns), key=lambda s: s.name))
        given, _ = _symbols(params, "parameter", self._by_name)
        for p in given:
            if p in self.unknowns:
                raise StatementError(f"{p} is both an unknown and a parameter")
        stray = free - set(self.unknowns) - set(given)
        absent = [x for x in self.unknowns if x not in free]
        if stray and absent and self.kind != "fixed_point":
            names = ", ".join(sorted(s.name for s in stray))
            raise StatementError(f"the unknown {', '.join(map(str, absent))} does not appear in "
                                 f"the {self.kind} {self._show()}; its symbol(s) {names} are "
                                 f"neither unknowns nor parameters: is {names} the unknown?")
        if stray:
            names = ", ".join(sorted(s.name for s in stray))
            raise StatementError(f"symbol(s) {names} occur in {self.kind} but are neither "
                                 f"unknowns {self.unknowns} nor parameters {given}; "
                                 "add them to params")
        return given

    def _check_occurs(self, exprs) -> None:
        free = _free(exprs)
        for x in self.unknowns:
            if x not in free:
                raise StatementError(f"the unknown {x} does not occur in the {self.kind} "
                                     f"{self._show()}")

    def _check_count(self, count: int, what: str) -> None:
        if count != len(self.unknowns):
            raise StatementError(f"{count} {what} for {len(self.unknowns)} unknown(s) "
                                 f"{self.unknowns}: the shapes must match")

    # -- the public face ---------------------------------------------------- #
    @property
    def system_unknowns(self) -> tuple[sp.Symbol, ...]:
        """What the residual is solved for: the unknowns, then any multipliers."""
        return self.unknowns + self.multipliers

    @property
    def expression(self):
        """What the user gave (F, f): one expression, or a tuple of them."""
        return self._exprs if self._expr_is_seq else self._exprs[0]

    @property
    def expressions(self) -> tuple[sp.Expr, ...]:
        """The given expressions as a tuple, one per component: F of ``Root``, the map f
        of ``FixedPoint`` (x = f), the objective of ``Minimize`` (constraints apart)."""
        return self._exprs

    @property
    def residual(self) -> sp.Matrix:
        """Column F(z, θ) whose zero defines the solution."""
        raise NotImplementedError

    @property
    def unknown(self):
        """The unknown as a Symbol, or a tuple for vector unknowns (an applied f(x) is its
        Symbol ``f`` here; ``to_user`` shows it as f(x))."""
        return self.unknowns if self.is_vector else self.unknowns[0]

    def derive(self):
        """The :class:`~symimplicit.derive.Derivation` of this statement (memoised)."""
        if self._derivation is None:
            from symimplicit.derive import Derivation
            self._derivation = Derivation(self)
        return self._derivation

    def primitive(self, **options):
        """An implicit tape Function for this statement (see symimplicit.lower)."""
        from symimplicit.lower.layers import make_primitive
        return make_primitive(self, **options)

    def lower(self, **options):
        """Vectorised solve + derivatives over arrays (see symimplicit.lower)."""
        from symimplicit.lower.layers import make_lowered
        return make_lowered(self, **options)

    def to_jax(self, **options):
        """The solution as a JAX function with derived derivatives (see symimplicit.lower.jax)."""
        from symimplicit.lower.jax import to_jax
        return to_jax(self, **options)

    # -- identity and display ----------------------------------------------- #
    def _key(self):
        return (self.kind, self._exprs, self.unknowns, self.is_vector, self.params,
                self.applied.key())

    def __eq__(self, other):
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _show(self) -> str:
        exprs = self.to_user(self._exprs)
        return str(list(exprs)) if self._expr_is_seq else str(exprs[0])

    def _unknown_text(self) -> str:
        shown = self.to_user(self.unknowns)
        return str(list(shown)) if self.is_vector else str(shown[0])

    def __repr__(self):
        params = _tuple_text(self.params)
        return (f"{type(self).__name__}({self._show()}, unknown={self._unknown_text()}, "
                f"params={params}{self._repr_extra()})")

    def _repr_extra(self) -> str:
        return ""

    def _repr_latex_(self) -> str:
        from symimplicit.report import statement_repr_latex
        return statement_repr_latex(self)


class Root(Statement):
    """x(θ) defined by F(x, θ) = 0.

    ``F`` is an expression (``= 0`` implied), an ``Eq`` (lhs - rhs = 0) or a sequence
    of them, one per unknown.  ``unknown`` is a Symbol or a sequence of Symbols;
    ``params`` a sequence of Symbols (default: the other free symbols, by name).

    An unknown may be an applied function f(x) of parameters (:mod:`symimplicit.applied`):
    it is the Symbol ``f`` in ``unknowns`` and is shown as f(x) (``to_user``).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> x, a = sp.symbols("x a")
    >>> r = Root(x**2 - a, x, a)
    >>> r.derive().derivative(a)                  # dx/da = -F_a/F_x
    1/(2*x)
    >>> r.primitive()(4.0)
    2.0
    >>> f = sp.Function("f")                       # a function as the unknown
    >>> Root(sp.Eq(x**2 + f(x)**2, 1), f(x), (x,)).derive().derivative(x)
    -x/f(x)
    >>> Root(x**2 - a, sp.Symbol("y"), a)
    Traceback (most recent call last):
    ...
    symimplicit.errors.StatementError: the unknown y does not appear in the root -a + x**2; its symbol(s) x are neither unknowns nor parameters: is x the unknown?
    """

    kind = "root"

    def __init__(self, F, unknown, params=None):
        super().__init__(F, unknown, params)
        self._check_count(len(self._exprs), "equation(s)")

    @property
    def residual(self) -> sp.Matrix:
        return sp.Matrix(self._exprs)                    # F(x, θ)


class FixedPoint(Statement):
    """x(θ) defined by x = f(x, θ); the residual is F = x - f.

    ``f`` is an expression, or a sequence with one entry per unknown.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import FixedPoint
    >>> x, a = sp.symbols("x a")
    >>> fp = FixedPoint(sp.cos(a*x), x, a)
    >>> fp.residual
    Matrix([[x - cos(a*x)]])
    >>> fp.derive().derivative(a)
    -x*sin(a*x)/(a*sin(a*x) + 1)
    >>> round(fp.primitive()(1.0), 12)          # the Dottie number, x = cos x
    0.739085133215
    """

    kind = "fixed_point"

    def __init__(self, f, unknown, params=None):
        super().__init__(f, unknown, params)
        self._check_count(len(self._exprs), "map component(s)")

    def _normalise(self, expression):
        if isinstance(expression, sp.Equality):
            raise StatementError(f"FixedPoint takes the map f of x = f(x, θ), not an equation "
                                 f"({expression}); use Root for an equation")
        return _as_exprs(expression, "f")

    def _check_occurs(self, exprs) -> None:
        # x = f(x, θ): the unknown occurs on the left by definition; f must not be x itself
        from symimplicit.derive import is_identically_zero   # cheap: never expands (x+a)**10**6
        for x, f in zip(self.unknowns, exprs):
            if is_identically_zero(x - f):
                raise StatementError(f"the fixed point map for {x} is the identity: "
                                     f"x = {f} holds for every x")

    @property
    def residual(self) -> sp.Matrix:
        return sp.Matrix([x - f for x, f in zip(self.unknowns, self._exprs)])   # x - f(x, θ)


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
