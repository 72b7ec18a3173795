"""Functions as unknowns: ``Root(Eq(x**2 + f(x)**2, 1), f(x), (x,))``, as Maple's
``implicitdiff`` and Mathematica's ``ImplicitD`` write them.

The applied function f(x) is replaced by a Symbol named ``f`` for everything that derives,
lowers or solves (a Symbol is what the derivation and the code generators know); the
:class:`AppliedUnknowns` kept on the statement maps it back for what a person reads: the
statement's repr, ``derivative()`` results (``-x/f(x)``), the LaTeX and text steps
(``f'(x)``, ``Derivative(f(x), x)``).

Rules (each broken rule is a :class:`~symimplicit.errors.StatementError` naming the piece):

* the arguments of an applied unknown are distinct Symbols (not ``f(2*x)``, not ``f(f(x))``),
  each a parameter of the statement (by default the parameters are the arguments, in order,
  then the other free symbols by name);
* every occurrence of f in the equations is f with exactly those arguments, and f is not
  differentiated in them (an equation in f'(x) is an ODE, not an implicit function).
"""
from __future__ import annotations

from collections.abc import Iterable

import sympy as sp
from sympy.core.function import AppliedUndef

from symimplicit.errors import StatementError

__all__ = ["AppliedUnknowns", "split_applied", "is_applied"]


def is_applied(obj) -> bool:
    """True for an applied undefined function such as ``f(x)``."""
    return isinstance(obj, AppliedUndef)


class AppliedUnknowns:
    """The two-way map between the user's applied unknowns f(x) and their Symbols.

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit.applied import AppliedUnknowns
    >>> x, s = sp.symbols("x f")
    >>> f = sp.Function("f")
    >>> m = AppliedUnknowns({s: f(x)})
    >>> m.to_user(-x/s)
    -x/f(x)
    >>> m.to_internal(f(x)**2)
    f**2
    """

    def __init__(self, to_function: dict[sp.Symbol, sp.Expr]):
        self.to_function = dict(to_function)                 # Symbol -> f(x)
        self.to_symbol = {u: s for s, u in self.to_function.items()}   # f(x) -> Symbol
        self.functions = frozenset(u.func for u in self.to_symbol)

    def __bool__(self):
        return bool(self.to_function)

    def key(self) -> tuple:
        return tuple(sorted(self.to_function.items(), key=lambda kv: kv[0].name))

    def to_user(self, obj):
        """The Symbols replaced by the applied functions (in expressions, matrices, relations)."""
        return _replace(obj, self.to_function)

    def to_internal(self, obj):
        """The applied functions replaced by their Symbols."""
        return _replace(obj, self.to_symbol)

    def shown(self, symbol: sp.Symbol):
        """What a person reads for an unknown: f(x) for an applied one, else the Symbol."""
        return self.to_function.get(symbol, symbol)


def _replace(obj, mapping):
    if not mapping:
        return obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(_replace(o, mapping) for o in obj)
    if isinstance(obj, sp.Basic) or isinstance(obj, sp.MatrixBase):
        return obj.xreplace(mapping)
    return obj


def _safe_symbol(u: sp.Expr, taken: set[str]) -> sp.Symbol:
    """A Symbol named like the function (``f``; ``f_`` if ``f`` is taken), real if f is."""
    name = u.func.__name__
    while name in taken:
        name += "_"
    taken.add(name)
    return sp.Symbol(name, real=True) if u.is_real else sp.Symbol(name)


def _check_arguments(u: sp.Expr) -> None:
    seen = set()
    for arg in u.args:
        if not isinstance(arg, sp.Symbol):
            inner = " (a nested unknown)" if arg.has(u.func) else ""
            raise StatementError(f"the unknown {u}: its argument {arg} is not a symbol{inner}; "
                                 "an applied unknown's arguments are parameter symbols, "
                                 "as in f(x) or f(x, y)")
        if arg in seen:
            raise StatementError(f"the unknown {u} lists its argument {arg} twice")
        seen.add(arg)


def _check_occurrences(exprs: Iterable[sp.Expr], applied: dict) -> None:
    """Each f in the equations is f(args) as declared, never differentiated."""
    funcs = {u.func: u for u in applied}
    for i, e in enumerate(exprs):
        for d in e.atoms(sp.Derivative):
            if any(d.has(fn) for fn in funcs):
                raise StatementError(f"the equation {e} differentiates the unknown ({d}): "
                                     "that is a differential equation, not an implicit one")
        for a in e.atoms(AppliedUndef):
            if a.func in funcs and a != funcs[a.func]:
                raise StatementError(f"{a} in the equation {e}: the unknown is declared as "
                                     f"{funcs[a.func]}; every occurrence must be "
                                     f"{funcs[a.func]} (f of other arguments, or f(f(x)), "
                                     "is not an implicit function)")


def split_applied(exprs: tuple[sp.Expr, ...], unknowns: tuple, params,
                  taken: set[str]) -> tuple[tuple, object, AppliedUnknowns]:
    """(unknowns, params, mapping) with every applied unknown made a Symbol; the statement
    replaces f(x) in its expressions with ``mapping.to_internal``.

    ``unknowns`` are the user's (Symbols, names or applied functions); ``params`` as given
    (None: the arguments of the applied unknowns in order, then the others by name);
    ``taken`` the names in use.  Without applied unknowns everything is returned as given.
    """
    applied = [u for u in unknowns if is_applied(u)]
    if not applied:
        return unknowns, params, AppliedUnknowns({})
    for u in applied:
        _check_arguments(u)
    if len({u.func for u in applied}) != len(applied):
        raise StatementError(f"the unknowns {applied} use one function twice")
    _check_occurrences(exprs, applied)
    names = set(taken)
    symbols = {u: _safe_symbol(u, names) for u in applied}
    new_exprs = tuple(e.xreplace(symbols) for e in exprs)
    args = list(dict.fromkeys(a for u in applied for a in u.args))
    if params is None:
        others = set().union(*(e.free_symbols for e in new_exprs)) - set(args) \
            - set(symbols.values()) - {u for u in unknowns if isinstance(u, sp.Symbol)}
        params = tuple(args) + tuple(sorted(others, key=lambda s: s.name))
    else:
        given = [params] if isinstance(params, (str, sp.Symbol)) else list(params)
        given_names = {p if isinstance(p, str) else getattr(p, "name", None) for p in given}
        for u in applied:
            for a in u.args:
                if a not in given and a.name not in given_names:
                    shown = "(" + ", ".join(map(str, given)) + ("," if len(given) == 1 else "") + ")"
                    raise StatementError(f"the unknown {u}: its argument {a} is not a "
                                         f"parameter (params {shown}); an applied unknown "
                                         "depends on parameters only")
    new_unknowns = tuple(symbols.get(u, u) for u in unknowns)
    return new_unknowns, params, AppliedUnknowns({s: u for u, s in symbols.items()})
