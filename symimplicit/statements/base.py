"""The common part of every statement: :class:`Statement` (unknowns, parameters, the checks
that they occur, identity, display, and the thin conveniences ``derive``/``primitive``/
``lower``/``to_jax`` that hand the statement to the parts that work on it).
"""
from __future__ import annotations

import sympy as sp

from symimplicit.applied import AppliedUnknowns, is_applied, split_applied
from symimplicit.errors import StatementError
from symimplicit.statements.arguments import _as_exprs, _free, _names, _symbols, _tuple_text
from symimplicit.statements.floats import warn_low_precision_floats

__all__ = ["Statement"]


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
        self._check_shape()
        self._derivation = None
        warn_low_precision_floats(self)                  # once, after every check passed

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

    def _check_shape(self) -> None:
        """The subclass's checks (and set-up) once unknowns and parameters are known."""

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
