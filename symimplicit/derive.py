"""Derivation: the implicit function theorem (IFT) to any order, its conditions, its steps.

For a residual F(z, θ) = 0 with ∂F/∂z invertible, the solution z(θ) satisfies

    ∂z/∂θ = -(∂F/∂z)⁻¹ ∂F/∂θ

and higher derivatives follow by differentiating the identity F(z(θ), θ) = 0 again.

Scalar unknown (one equation), any order, any mix of parameters
-----------------------------------------------------------------
With x = x(θ), the total derivative of an expression E(x, θ) is

    dE/dθⱼ = ∂E/∂θⱼ + ∂E/∂x · x_θⱼ = Lⱼ(E) / F_x,     Lⱼ(E) = F_x ∂E/∂θⱼ - F_θⱼ ∂E/∂x,

and Lⱼ is a derivation (product rule) that maps partials of F to products of
partials of F.  Writing the order-n derivative as N_S / F_xᵏ with N_S a
polynomial with integer coefficients in the partials ∂ⁱ_x ∂_J F gives

    d/dθⱼ (N / F_xᵏ) = (F_x Lⱼ(N) - k N Lⱼ(F_x)) / F_xᵏ⁺²,    N_(j) = -F_θⱼ, k = 1,

so the order-n derivative is N_S / F_x²ⁿ⁻¹ (Comtet's implicit Faà di Bruno
structure: 1, 3, 9, 24, 61, 145, ... terms).  These numerators do not depend on F:
they are computed once as plain integer polynomials over *placeholders* for the
partials (:func:`implicit_numerator`, memoised per multi-index), and only at the end
are the few actual partials of F (cheap to differentiate) substituted.  The
expression swell of differentiating the explicit formula again (what
``sympy.idiff`` does) never happens.

Vector unknowns
---------------
The identity is differentiated along the multi-index S with placeholder symbols for
the derivatives of z; the highest one enters linearly through the Jacobian,

    ∂F/∂z · z_S + R_S(z_T for T ⊊ S) = 0   ⇒   z_S = -(∂F/∂z)⁻¹ R_S,

and the lower-order z_T are substituted from the memo.

This module computes; it does not print or format (see symimplicit.report).
"""
from __future__ import annotations

import numbers
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy as sp

from symimplicit.errors import DerivationError

__all__ = ["Derivation", "Step", "implicit_numerator", "is_identically_zero", "MAX_ORDER"]

MAX_ORDER = 20
"""Highest total order :meth:`Derivation.derivative` accepts (order n has ~2.3ⁿ terms)."""

STEP_KINDS = ("statement", "differentiate", "partials", "collect", "solve", "result",
              "higher_order", "condition")


@dataclass(frozen=True)
class Step:
    """One step of the derivation, in the order a person writes it.

    ``kind`` is one of :data:`STEP_KINDS`; ``text`` one plain sentence (no markup);
    ``equations`` SymPy objects that ``sympy.latex`` prints; ``wrt`` the parameter
    Symbols of the step (repeated for higher orders), or ``()``.
    """

    kind: str
    text: str
    equations: tuple = ()
    wrt: tuple = ()

    def __post_init__(self):
        if self.kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind {self.kind!r}; expected one of {STEP_KINDS}")


# --------------------------------------------------------------------------- #
# universal numerators over placeholder partials (scalar unknown)             #
# --------------------------------------------------------------------------- #
# A partial ∂ⁱ_x ∂_J F is the key (i, J), J a sorted tuple of parameter indices.
# A monomial is a sorted tuple of (key, exponent); a polynomial a dict monomial -> int.

Key = tuple[int, tuple[int, ...]]
Monomial = tuple[tuple[Key, int], ...]
Poly = dict[Monomial, int]

F_X: Key = (1, ())


def _mono_mul(m1: Monomial, m2: Monomial) -> Monomial:
    powers = dict(m1)
    for key, e in m2:
        powers[key] = powers.get(key, 0) + e
    return tuple(sorted(powers.items()))


def _add_term(poly: Poly, mono: Monomial, coeff: int) -> None:
    total = poly.get(mono, 0) + coeff
    if total:
        poly[mono] = total
    else:
        poly.pop(mono, None)


def _L_key(j: int, key: Key) -> list[tuple[Monomial, int]]:
    """Lⱼ(∂ⁱ_x ∂_J F) = F_x ∂ⁱ_x ∂_{J+j} F - F_θⱼ ∂ⁱ⁺¹_x ∂_J F."""
    i, J = key
    up_theta: Key = (i, tuple(sorted(J + (j,))))
    up_x: Key = (i + 1, J)
    return [(_mono_mul(((F_X, 1),), ((up_theta, 1),)), 1),
            (_mono_mul((((0, (j,)), 1),), ((up_x, 1),)), -1)]


def _L_poly(j: int, poly: Poly) -> Poly:
    """Lⱼ(N) by the product rule: Σ_keys ∂N/∂key · Lⱼ(key)."""
    out: Poly = {}
    for mono, coeff in poly.items():
        for key, e in mono:
            rest = dict(mono)
            if e == 1:
                del rest[key]
            else:
                rest[key] = e - 1
            rest_mono = tuple(sorted(rest.items()))
            for lmono, lcoeff in _L_key(j, key):
                _add_term(out, _mono_mul(rest_mono, lmono), coeff * e * lcoeff)
    return out


def _poly_mul(p: Poly, q: Poly) -> Poly:
    out: Poly = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            _add_term(out, _mono_mul(m1, m2), c1 * c2)
    return out


@lru_cache(maxsize=None)
def implicit_numerator(multi_index: tuple[int, ...]) -> tuple[Poly, int]:
    """(N_S, k) with ∂ⁿx/∂θ_S = N_S / F_xᵏ for a scalar F(x, θ) = 0, k = 2n - 1.

    ``multi_index`` is a non-empty sorted tuple of parameter indices; N_S is a
    polynomial (dict monomial -> int) in placeholder partials (i, J) = ∂ⁱ_x ∂_J F.
    Independent of F, so memoised for the whole process.
    """
    if not multi_index:
        raise DerivationError("a derivative needs at least one parameter")
    *head, j = multi_index
    if not head:
        return {(((0, (j,)), 1),): -1}, 1                     # x_θⱼ = -F_θⱼ / F_x
    numer, k = implicit_numerator(tuple(head))
    fx: Poly = {((F_X, 1),): 1}
    out = _poly_mul(fx, _L_poly(j, numer))                     # F_x Lⱼ(N)
    for mono, coeff in _poly_mul(numer, _L_poly(j, fx)).items():
        _add_term(out, mono, -k * coeff)                       # - k N Lⱼ(F_x)
    return out, k + 2                                          # over F_xᵏ⁺²


def _horner(poly: Poly, value: Callable[[Key], sp.Expr]) -> sp.Expr:
    """A polynomial over placeholders as a nested (greedy multivariate Horner) SymPy
    expression, with ``value(key)`` substituted for each placeholder:
    N = v·Q + R for the placeholder v occurring in most terms, recursively."""
    if not poly:
        return sp.S.Zero
    counts: dict[Key, int] = {}
    for mono in poly:
        for key, _ in mono:
            counts[key] = counts.get(key, 0) + 1
    best = max(sorted(counts), key=counts.__getitem__, default=None)
    if best is None or counts[best] == 1:
        return sp.Add(*[sp.Mul(c, *[value(key) ** e for key, e in mono])
                        for mono, c in poly.items()])
    with_v: Poly = {}
    rest: Poly = {}
    for mono, c in poly.items():
        powers = dict(mono)
        if best in powers:
            powers[best] -= 1                               # divide the term by v
            if not powers[best]:
                del powers[best]
            with_v[tuple(sorted(powers.items()))] = c
        else:
            rest[mono] = c
    return value(best) * _horner(with_v, value) + _horner(rest, value)


# --------------------------------------------------------------------------- #
# compaction helpers                                                           #
# --------------------------------------------------------------------------- #

def _smaller(*candidates: sp.Expr) -> sp.Expr:
    """The candidate with the fewest operations (first one on ties)."""
    return min(candidates, key=sp.count_ops)


def _compact(expr: sp.Expr) -> sp.Expr:
    """Cheap compaction (no simplify): pull out common factors when it helps."""
    return _smaller(expr, sp.factor_terms(expr))


# --------------------------------------------------------------------------- #
# is an expression identically zero? (cheaply)                                 #
# --------------------------------------------------------------------------- #

_EXPAND_OPS = 200          # expand only expressions this small (count_ops) ...
_EXPAND_POWER = 8          # ... whose integer powers of sums are this small


def _sample_value(symbol: sp.Symbol, rng: random.Random) -> sp.Rational:
    """A random rational respecting the symbol's sign / integer assumptions."""
    if symbol.is_integer:
        value = sp.Integer(rng.randint(2, 9))
    else:
        value = sp.Rational(rng.randint(1, 97), rng.randint(1, 89)) + sp.Rational(1, 3)
    return -value if (symbol.is_negative or symbol.is_nonpositive) else value


def _nonzero_at(expr: sp.Expr, point: dict) -> bool:
    """True when ``expr`` at ``point`` (exact rationals) evaluates, with SymPy's
    error-tracked evalf, to a number certainly not 0; False when 0 or not told."""
    try:
        # evalf(subs=) evaluates the exact rationals at the leaves with tracked error,
        # never building (p/q)**10**6 exactly as substituting first would
        value = expr.evalf(20, subs=point, strict=True, maxn=400)
    except Exception:                         # PrecisionExhausted (a zero), domain errors
        return False
    return bool(value.is_number and not value.has(sp.nan, sp.zoo) and value != 0)


def _small_to_expand(expr: sp.Expr) -> bool:
    if sp.count_ops(expr) > _EXPAND_OPS:
        return False
    for power in expr.atoms(sp.Pow):
        if power.base.is_Add and (not power.exp.is_Integer or abs(power.exp) > _EXPAND_POWER):
            return False
    return True


def is_identically_zero(expr: sp.Expr, samples: int = 3) -> bool:
    """Whether ``expr`` vanishes for every value of its symbols, without ever expanding
    a large expression: ``(x + a)**10**6`` is decided in milliseconds.

    0 and numbers are decided structurally; a small expression (no big powers of
    sums) by ``expand``; otherwise a value certainly not 0 at one of ``samples``
    random rational points proves it nonzero, and only an expression that is 0 at
    all of them is expanded (then it almost surely is 0, which SymPy sees quickly).
    """
    if isinstance(expr, int):
        expr = sp.Integer(expr)                  # no sympify anywhere in the package
    if expr.is_Number:
        return expr.is_zero
    if _small_to_expand(expr):
        return sp.expand(expr) == 0
    rng = random.Random(20240607)            # deterministic: same answer every run
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    for _ in range(samples):
        if _nonzero_at(expr, {s: _sample_value(s, rng) for s in symbols}):
            return False
    return sp.expand(expr) == 0


_NOT_HOLOMORPHIC = (sp.re, sp.im, sp.arg, sp.Abs, sp.sign, sp.conjugate)


def _check_differentiable(value: sp.Expr, wrt: sp.Symbol, statement) -> sp.Expr:
    """A derivative SymPy could not form (an unevaluated Derivative of re, im, abs,
    sign... of a complex symbol) is a DerivationError naming the symbols and the cure;
    Derivatives of undefined functions f(x) are left alone."""
    pending = sorted((d for d in value.atoms(sp.Derivative) if d.expr.has(*_NOT_HOLOMORPHIC)),
                     key=str)
    if pending:
        culprits = sorted({s.name for d in pending for s in d.free_symbols
                           if isinstance(s, sp.Symbol) and not s.is_extended_real})
        hint = (f"; not declared real: {', '.join(culprits)}. Declare the symbols "
                "real=True (sp.Symbol('x', real=True)), as parse() does"
                if culprits else "")
        raise DerivationError(f"SymPy cannot differentiate {_clip(value)} with respect to "
                              f"{wrt} in {statement!r} (it leaves {_clip(pending[0])})"
                              f"{hint}")
    return value


def _clip(expr, limit: int = 120) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- #
# the derivation                                                               #
# --------------------------------------------------------------------------- #

class Derivation:
    """Jacobians, IFT derivatives of any order, validity conditions and steps.

    Built by :meth:`Statement.derive`; everything is computed lazily and memoised.
    """

    def __init__(self, statement):
        self.statement = statement
        self._z = tuple(statement.system_unknowns)
        self._theta = tuple(statement.params)
        self._F = statement.residual
        self._scalar = len(self._z) == 1
        self._partials: dict[Key, sp.Expr] = {}
        self._memo: dict[tuple[int, ...], sp.Matrix] = {}   # multi-index -> column z_S
        self._order: list[tuple[int, ...]] = []             # requested, in order
        self._dz: dict[tuple[int, ...], tuple[sp.Dummy, ...]] = {}
        self._G: dict[tuple[int, ...], sp.Matrix] = {(): self._F}
        self._cache: dict[str, Any] = {}

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
        """∂expr/∂wrt; DiracDelta(g) (from abs, sign, Heaviside, max, min of real symbols)
        is 0 wherever the result holds: it becomes 0 and g = 0 joins the conditions."""
        value = _check_differentiable(expr.diff(wrt), wrt, self.statement)
        deltas = value.atoms(sp.DiracDelta)
        if deltas:
            kinks = self._cache.setdefault("kinks", [])
            kinks += [d.args[0] for d in deltas if d.args[0] not in kinks]
            value = value.xreplace({d: sp.S.Zero for d in deltas})
        return value

    def _jacobian_of(self, variables) -> sp.Matrix:
        return sp.Matrix(len(self._F), len(variables),
                         lambda i, j: self._diff(self._F[i], variables[j]))

    @property
    def jacobian(self) -> sp.Matrix:
        """∂F/∂z (n × n)."""
        if "jac" not in self._cache:
            self._cache["jac"] = self._jacobian_of(self._z)
        return self._cache["jac"]

    @property
    def param_jacobian(self) -> sp.Matrix:
        """∂F/∂θ (n × p)."""
        if "pjac" not in self._cache:
            self._cache["pjac"] = self._jacobian_of(self._theta) if self._theta \
                else sp.zeros(len(self._z), 0)
        return self._cache["pjac"]

    @property
    def determinant(self) -> sp.Expr:
        """det ∂F/∂z, factored cheaply."""
        if "det" not in self._cache:
            J = self.jacobian
            det = J[0, 0] if self._scalar else J.det(method="berkowitz")
            self._cache["det"] = sp.factor_terms(det)
        return self._cache["det"]

    def _check_invertible(self) -> None:
        """DerivationError when det ∂F/∂z vanishes identically (decided once, cheaply)."""
        if "singular" not in self._cache:
            self._cache["singular"] = is_identically_zero(self.determinant)
        if self._cache["singular"]:
            raise DerivationError(f"∂F/∂{self._z_text()} is singular for every value: "
                                  f"det = 0 for the residual {list(self._F)}; "
                                  "the implicit function theorem does not apply")

    def _z_text(self) -> str:
        return str(self._z[0]) if self._scalar else "(" + ", ".join(map(str, self._z)) + ")"

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
                    after = f" (after {self._theta[index[-1]]})" if index else ""
                    raise DerivationError(
                        f"the repeat count {count}{after} must follow a parameter and be at "
                        f"least 1, as in derivative(a, 2); the parameters of "
                        f"{self.statement!r} are {self._params_text()}")
                if len(index) + count - 1 > MAX_ORDER:
                    raise DerivationError(
                        f"the order {count} of {self._theta[index[-1]]} makes a derivative of "
                        f"total order above {MAX_ORDER}, the most derivative() computes")
                index.extend([index[-1]] * (count - 1))    # (a, 3) means (a, a, a)
                continue
            index.append(self._param_index(item))
            if len(index) > MAX_ORDER:
                raise DerivationError(f"a derivative of total order above {MAX_ORDER} "
                                      "is more than derivative() computes")
        return tuple(sorted(index))                         # mixed partials commute

    def _params_text(self) -> str:
        return "(" + ", ".join(p.name for p in self._theta) + ")" if self._theta \
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
        for i, p in enumerate(self._theta):
            if p == item or p.name == name:
                return i
        role = "an unknown, not a parameter" if any(z.name == name for z in self._z) \
            else "not a parameter"
        raise DerivationError(f"{name} is {role} of {self.statement!r}; "
                              f"the parameters are {self._params_text()}")

    def derivative(self, *params):
        """∂ⁿx/∂θ_S for S = params (any order, any mix): Expr, or a column Matrix
        (the user's unknowns only) when the unknown was given as a sequence."""
        S = self._multi_index(params)
        column = self._solution(S)
        if S not in self._order:
            self._order.append(S)
        rows = column[: len(self.statement.unknowns), :]
        return rows if self.statement.is_vector else rows[0, 0]

    def gradient(self) -> sp.Matrix:
        """All first derivatives: Matrix (len(unknowns) × p), column j = ∂x/∂θⱼ."""
        n = len(self.statement.unknowns)
        cols = [self._solution((j,))[:n, :] for j in range(len(self._theta))]
        return sp.Matrix.hstack(*cols) if cols else sp.zeros(n, 0)

    def _solution(self, S: tuple[int, ...]) -> sp.Matrix:
        """Column ∂^S z (all system unknowns), memoised."""
        if S not in self._memo:
            self._check_invertible()
            expr = self._scalar_solution(S) if self._scalar else self._vector_solution(S)
            self._memo[S] = expr
        return self._memo[S]

    # scalar: universal numerators, then the partials of F substituted -------- #
    def _partial(self, key: Key) -> sp.Expr:
        """∂ⁱ_x ∂_J F, each computed from its neighbour and memoised."""
        if key not in self._partials:
            i, J = key
            if J:
                value = self._diff(self._partial((i, J[:-1])), self._theta[J[-1]])
            elif i:
                value = self._diff(self._partial((i - 1, ())), self._z[0])
            else:
                value = self._F[0]
            self._partials[key] = sp.factor_terms(value)
        return self._partials[key]

    def _scalar_solution(self, S: tuple[int, ...]) -> sp.Matrix:
        numer, k = implicit_numerator(S)                    # ∂ⁿx/∂θ_S = N_S / F_xᵏ
        alive = {mono: coeff for mono, coeff in numer.items()
                 if all(self._partial(key) != 0 for key, _ in mono)}   # drop vanishing terms
        numerator = _compact(_horner(alive, self._partial))
        return sp.Matrix([numerator / self._partial(F_X) ** k])

    # vector: differentiate F(z(θ), θ) = 0 with placeholders --------------------- #
    def _placeholders(self, S: tuple[int, ...]) -> tuple:
        """Symbols standing for ∂^S zᵢ (S = () is z itself)."""
        if not S:
            return self._z
        if S not in self._dz:
            tag = "".join(self._theta[j].name for j in S)
            self._dz[S] = tuple(sp.Dummy(f"d{z.name}_{tag}") for z in self._z)
        return self._dz[S]

    def _total(self, S: tuple[int, ...]) -> sp.Matrix:
        """d^S/dθ_S F(z(θ), θ) with placeholders for the derivatives of z."""
        if S not in self._G:
            *head, j = S
            G = self._total(tuple(head))
            # d/dθⱼ G = ∂G/∂θⱼ + Σ_T Σᵢ ∂G/∂(∂^T zᵢ) · ∂^{T+j} zᵢ
            out = G.applyfunc(lambda e: self._diff(e, self._theta[j]))
            for T in [()] + list(self._dz):
                up = self._placeholders(tuple(sorted(T + (j,))))
                for i, s in enumerate(self._placeholders(T)):
                    if G.has(s):
                        out += G.applyfunc(lambda e: self._diff(e, s)) * up[i]
            self._G[S] = out
        return self._G[S]

    def _inverse(self) -> tuple[sp.Matrix, sp.Expr]:
        """(adj ∂F/∂z, det ∂F/∂z), so (∂F/∂z)⁻¹ = adj / det."""
        if "adj" not in self._cache:
            self._cache["adj"] = self.jacobian.adjugate(method="berkowitz")
        return self._cache["adj"], self.determinant

    def _vector_solution(self, S: tuple[int, ...]) -> sp.Matrix:
        G = self._total(S)
        top = {s: 0 for s in self._placeholders(S)}
        R = G.xreplace(top)                                  # F_z z_S + R_S = 0
        lower = {}
        for T, syms in list(self._dz.items()):
            if T != S and any(R.has(s) for s in syms):
                values = self._solution(T)
                lower.update(dict(zip(syms, values)))
        R = R.xreplace(lower)
        adj, det = self._inverse()
        # z_S = -(∂F/∂z)⁻¹ R_S = -adj R_S / det
        column = [-(adj[i, :] * R)[0, 0] / det for i in range(len(self._z))]
        if len(S) == 1:
            return sp.Matrix([_compact(e) for e in column])
        return sp.Matrix([_compact(sp.together(e)) for e in column])

    # -- conditions ------------------------------------------------------------- #
    @property
    def conditions(self) -> list:
        """Relations where the result fails: det ∂F/∂z = 0 (the IFT), g = 0 where a
        derivative met the kink of abs(g), sign(g)... (its DiracDelta(g) is taken as 0),
        and for Minimize where the point is not a strict minimum (second-order condition).
        Relations that can never hold (e.g. ``Eq(2, 0)``) are left out."""
        kinks = tuple(self._cache.get("kinks", ()))
        if self._cache.get("conditions_kinks") != kinks:
            rels = [_zero(self.determinant)]
            rels += [_zero(g) for g in kinks]                # where abs, sign... have kinks
            rels += [_not(r) for r in self.second_order]
            self._cache["conditions"] = [r for r in _dedupe(rels) if r is not sp.false]
            self._cache["conditions_kinks"] = kinks
        return self._cache["conditions"]

    @property
    def second_order(self) -> list:
        """Minimize only: relations that must hold for a strict local minimum.

        Unconstrained: the leading principal minors of the Hessian are > 0 (H ≻ 0).
        With m constraints on n unknowns: (-1)ᵐ det Bₖ > 0 for k = 2m+1 … m+n, Bₖ the
        leading k × k block of the bordered Hessian [[0, Jg], [Jgᵀ, ∇²L]].
        """
        st = self.statement
        if st.kind != "minimize":
            return []
        n, m = len(st.unknowns), len(st.multipliers)
        hess = self.jacobian[:n, :n]                         # ∇²ₓL (∇²f without constraints)
        if not m:
            return [_positive(hess[:k, :k].det(method="berkowitz")) for k in range(1, n + 1)]
        jac_g = self.jacobian[n:, :n]
        bordered = sp.Matrix.vstack(sp.Matrix.hstack(sp.zeros(m, m), jac_g),
                                    sp.Matrix.hstack(jac_g.T, hess))
        return [_positive((-1) ** m * bordered[:k, :k].det(method="berkowitz"))
                for k in range(2 * m + 1, m + n + 1)]

    # -- steps ------------------------------------------------------------------ #
    @property
    def steps(self) -> list[Step]:
        """The derivation so far: statement, first order for every parameter,
        every higher-order derivative computed so far, conditions."""
        self._solution_all_first()
        higher = [S for S in self._order if len(S) >= 2]
        return _StepWriter(self).write(range(len(self._theta)), higher)

    def steps_for(self, *params) -> list[Step]:
        """The steps that lead to derivative(*params): first order for the parameters
        involved, then each intermediate order, then the conditions."""
        S = self._multi_index(params)
        self.derivative(*[self._theta[j] for j in S])
        chain = [S[:k] for k in range(2, len(S) + 1)]
        for T in chain:
            self._solution(T)
        return _StepWriter(self).write(sorted(set(S)), chain)

    def _solution_all_first(self) -> None:
        for j in range(len(self._theta)):
            self._solution((j,))


def _zero(expr: sp.Expr):
    """``Eq(e, 0)`` with e's numeric factor dropped (2(c² + 1) = 0 → c² + 1 = 0)."""
    _, rest = sp.factor_terms(expr).as_coeff_Mul()
    return sp.Eq(rest, 0)


def _positive(expr: sp.Expr):
    """``e > 0`` with e's numeric factor dropped (flipping the sign when negative)."""
    coeff, rest = sp.factor_terms(expr).as_coeff_Mul()
    if coeff == 0:
        return sp.false
    return sp.StrictGreaterThan(rest, 0) if coeff > 0 else sp.StrictLessThan(rest, 0)


def _not(rel):
    """The failure set of a required relation ``e > 0``: ``e <= 0``."""
    if isinstance(rel, sp.StrictGreaterThan):
        return sp.LessThan(rel.lhs, rel.rhs)
    if isinstance(rel, sp.StrictLessThan):
        return sp.GreaterThan(rel.lhs, rel.rhs)
    return sp.Not(rel)


def _dedupe(items: list) -> list:
    out = []
    for r in items:
        if r not in out:
            out.append(r)
    return out


class _StepWriter:
    """Turns a Derivation's memoised results into :class:`Step` records (no formatting)."""

    def __init__(self, d: Derivation):
        self.d = d
        st = d.statement
        self.st = st
        self.theta = d._theta
        self.z = d._z
        self.n_user = len(st.unknowns)
        # the unknowns as functions of the parameters: x(a, b)
        self.Z = tuple(sp.Function(z.name)(*self.theta) for z in self.z)
        self.F_name = tuple(sp.Function("F" if d._scalar else f"F_{i + 1}")(*self.z, *self.theta)
                            for i in range(len(self.z)))

    def write(self, first: Any, higher: list) -> list[Step]:
        steps = [self.statement()]
        for j in first:
            steps += self.first_order(j)
        steps += [self.higher_order(S) for S in higher]
        steps.append(self.condition())
        return steps

    # pieces ------------------------------------------------------------------ #
    def _unknowns_text(self) -> str:
        return ", ".join(map(str, self.st.unknowns))

    def _params_text(self) -> str:
        return ", ".join(map(str, self.theta)) or "no parameters"

    def statement(self) -> Step:
        st, F = self.st, self.d._F
        who = self._unknowns_text()
        residual = tuple(sp.Eq(e, 0) for e in F)
        if st.kind == "root":
            text = (f"The unknown {who} is defined implicitly by F = 0 with parameters "
                    f"{self._params_text()}.")
            eqs = residual
        elif st.kind == "fixed_point":
            text = (f"The unknown {who} is a fixed point x = f(x) with parameters "
                    f"{self._params_text()}; equivalently F = x - f(x) = 0.")
            eqs = tuple(sp.Eq(x, f) for x, f in zip(st.unknowns, st._exprs)) + residual
        else:
            objective = sp.Symbol("f")
            if st.multipliers:
                L = st.objective + sum(l * g for l, g in zip(st.multipliers, st.constraints))
                text = (f"The unknown {who} minimises f subject to g = 0 with parameters "
                        f"{self._params_text()}; the Lagrangian L = f + λ·g is stationary, "
                        f"so F = (∇L, g) = 0 in ({', '.join(map(str, self.z))}).")
                eqs = (sp.Eq(objective, st.objective),) + \
                    tuple(sp.Eq(g, 0) for g in st.constraints) + \
                    (sp.Eq(sp.Symbol("L"), L),) + residual
            else:
                text = (f"The unknown {who} minimises f with parameters {self._params_text()}; "
                        "at the minimum the gradient vanishes: F = ∇f = 0.")
                eqs = (sp.Eq(objective, st.objective),) + residual
        return Step("statement", text, eqs)

    def _dZ(self, S: tuple[int, ...], rows: int | None = None):
        """∂^S z as unevaluated Derivatives of z(θ): Expr (scalar) or column Matrix."""
        wrt = [self.theta[j] for j in S]
        items = [sp.Derivative(Z, *wrt) for Z in self.Z[: rows or len(self.Z)]]
        return items[0] if self.d._scalar else sp.Matrix(items)

    def first_order(self, j: int) -> list[Step]:
        d, th = self.d, self.theta[j]
        on_theta = {z: Z for z, Z in zip(self.z, self.Z)}
        total = [e.xreplace(on_theta).diff(th) for e in d._F]
        Fx, Ft = d.jacobian, d.param_jacobian[:, j]
        dZ = self._dZ((j,))
        value = d._solution((j,))
        wrt = (th,)
        if d._scalar:
            diff_eqs = (sp.Eq(total[0], 0),)
            partials = (sp.Eq(sp.Derivative(self.F_name[0], self.z[0]), Fx[0, 0]),
                        sp.Eq(sp.Derivative(self.F_name[0], th), Ft[0, 0]))
            collect = (sp.Eq(sp.Add(sp.Mul(Fx[0, 0], dZ, evaluate=False), Ft[0, 0],
                                    evaluate=False), 0),)
            formula = -sp.Derivative(self.F_name[0], th) / sp.Derivative(self.F_name[0], self.z[0])
            solve = (sp.Eq(dZ, formula), sp.Eq(dZ, -Ft[0, 0] / Fx[0, 0]))
            result = (sp.Eq(dZ, value[0, 0]),)
        else:
            n = len(self.z)
            names = sp.Matrix(n, n, lambda r, c: sp.Derivative(self.F_name[r], self.z[c]))
            tnames = sp.Matrix([sp.Derivative(f, th) for f in self.F_name])
            J, b = sp.ImmutableMatrix(Fx), sp.ImmutableMatrix(Ft)
            diff_eqs = (sp.Eq(sp.Matrix(total), sp.zeros(n, 1), evaluate=False),)
            partials = (sp.Eq(names, Fx, evaluate=False), sp.Eq(tnames, Ft, evaluate=False))
            collect = (sp.Eq(sp.MatAdd(sp.MatMul(J, sp.ImmutableMatrix(dZ)), b),
                             sp.zeros(n, 1), evaluate=False),)
            solve = (sp.Eq(dZ, sp.MatMul(-1, sp.Inverse(J), b), evaluate=False),)
            result = (sp.Eq(self._dZ((j,), self.n_user), value[: self.n_user, :],
                            evaluate=False),)
        zt = d._z_text()
        return [
            Step("differentiate", f"Differentiate both sides of F = 0 with respect to {th}, "
                 f"treating {zt} as a function of the parameters.", diff_eqs, wrt),
            Step("partials", f"The partial derivatives of F with respect to {zt} and {th}, "
                 "each holding the other variables fixed.", partials, wrt),
            Step("collect", f"Collect the terms in the derivative of {zt} with respect to {th}.",
                 collect, wrt),
            Step("solve", f"Solve for the derivative: it exists where ∂F/∂{zt} is invertible.",
                 solve, wrt),
            Step("result", f"The first derivative with respect to {th}.", result, wrt),
        ]

    def higher_order(self, S: tuple[int, ...]) -> Step:
        d = self.d
        wrt = tuple(self.theta[j] for j in S)
        value = d._solution(S)
        prev = ", ".join(map(str, wrt[:-1]))
        text = (f"Differentiate the derivative with respect to ({prev}) once more with respect "
                f"to {wrt[-1]}, substituting the lower-order derivatives: order {len(S)}.")
        if d._scalar:
            eq = sp.Eq(self._dZ(S), value[0, 0])
        else:
            eq = sp.Eq(self._dZ(S, self.n_user), value[: self.n_user, :], evaluate=False)
        return Step("higher_order", text, (eq,), wrt)

    def condition(self) -> Step:
        d, zt = self.d, self.d._z_text()
        text = (f"The implicit function theorem needs det ∂F/∂{zt} ≠ 0; the formulas "
                "fail where the following relations hold.")
        if self.st.kind == "minimize":
            text = text[:-1] + ", or where the second-order condition for a strict minimum fails."
        return Step("condition", text, tuple(d.conditions))
