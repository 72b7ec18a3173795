"""Comtet's numerator polynomials of the implicit derivatives of a scalar F(x, θ) = 0.

With x = x(θ), the total derivative of an expression E(x, θ) is

    dE/dθⱼ = ∂E/∂θⱼ + ∂E/∂x · x_θⱼ = Lⱼ(E) / F_x,     Lⱼ(E) = F_x ∂E/∂θⱼ - F_θⱼ ∂E/∂x,

and Lⱼ is a derivation (product rule) that maps partials of F to products of partials
of F.  Writing the order-n derivative as N_S / F_xᵏ with N_S a polynomial with integer
coefficients in the partials ∂ⁱ_x ∂_J F gives

    d/dθⱼ (N / F_xᵏ) = (F_x Lⱼ(N) - k N Lⱼ(F_x)) / F_xᵏ⁺²,    N_(j) = -F_θⱼ, k = 1,

so the order-n derivative is N_S / F_x²ⁿ⁻¹ (1, 3, 9, 24, 61, 145, ... terms).  The
numerators do not depend on F: they are integer polynomials over *placeholders* for the
partials, computed once per multi-index for the process (:func:`implicit_numerator`);
:func:`horner` substitutes the actual partials in nested form.

Examples
========

>>> from symimplicit.derive.numerators import implicit_numerator
>>> implicit_numerator((0,))
ImplicitNumerator(numerator=-F_0, power=1)
>>> implicit_numerator((0, 0))
ImplicitNumerator(numerator=-F_00*F_x**2 + 2*F_0*F_x*F_x0 - F_0**2*F_xx, power=3)
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

import sympy as sp
from sympy.core.intfunc import igcd, ilcm
from sympy.core.mul import _keep_coeff

from symimplicit.errors import DerivationError

__all__ = ["Key", "Monomial", "Numerator", "ImplicitNumerator", "implicit_numerator",
           "horner", "F_X"]

# A partial ∂ⁱ_x ∂_J F is the key (i, J), J a sorted tuple of parameter indices.
# A monomial is a sorted tuple of (key, exponent); a polynomial a dict monomial -> int.
Key = tuple[int, tuple[int, ...]]
Monomial = tuple[tuple[Key, int], ...]

F_X: Key = (1, ())


def key_name(key: Key) -> str:
    """``(2, (0, 1))`` → ``F_xx01``: x once per x-derivative, then the parameter indices."""
    i, J = key
    return "F_" + "x" * i + "".join(map(str, J))


class Numerator(dict):
    """An integer polynomial over placeholder partials: {monomial: coefficient}.

    Its repr reads as the polynomial, ``F_x`` for ∂F/∂x, ``F_0`` for ∂F/∂θ₀, ``F_x01``
    for ∂³F/∂x∂θ₀∂θ₁ (terms by descending power of F_x).
    """

    def __repr__(self) -> str:
        if not self:
            return "0"
        terms = []
        for mono, coeff in sorted(self.items(), key=_term_order):
            factors = [key_name(k) + (f"**{e}" if e > 1 else "") for k, e in mono]
            body = "*".join(factors)
            if abs(coeff) != 1 or not body:
                body = f"{abs(coeff)}*{body}" if body else str(abs(coeff))
            terms.append(("-" if coeff < 0 else "+", body))
        text = ("-" if terms[0][0] == "-" else "") + terms[0][1]
        return text + "".join(f" {sign} {body}" for sign, body in terms[1:])

    __str__ = __repr__


def _term_order(item):
    mono, _ = item
    powers = dict(mono)
    return (-powers.get(F_X, 0), [(k, -e) for k, e in mono if k != F_X])


class ImplicitNumerator(NamedTuple):
    """∂ⁿx/∂θ_S = numerator / F_x**power."""

    numerator: Numerator
    power: int


def _mono_mul(m1: Monomial, m2: Monomial) -> Monomial:
    powers = dict(m1)
    for key, e in m2:
        powers[key] = powers.get(key, 0) + e
    return tuple(sorted(powers.items()))


def _add_term(poly: dict, mono: Monomial, coeff: int) -> None:
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


def _L_poly(j: int, poly: dict) -> dict:
    """Lⱼ(N) by the product rule: Σ_keys ∂N/∂key · Lⱼ(key)."""
    out: dict = {}
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


def _poly_mul(p: dict, q: dict) -> dict:
    out: dict = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            _add_term(out, _mono_mul(m1, m2), c1 * c2)
    return out


@lru_cache(maxsize=None)
def implicit_numerator(multi_index: tuple[int, ...]) -> ImplicitNumerator:
    """(N_S, k) with ∂ⁿx/∂θ_S = N_S / F_xᵏ for a scalar F(x, θ) = 0, k = 2n - 1.

    Parameters
    ==========

    multi_index : a non-empty sorted tuple of parameter indices

    Returns
    =======

    ImplicitNumerator(numerator, power): ``numerator`` a :class:`Numerator` over
    placeholder partials (i, J) = ∂ⁱ_x ∂_J F. Independent of F, so memoised for the process.

    Examples
    ========

    >>> from symimplicit.derive import implicit_numerator
    >>> [len(implicit_numerator((0,) * n).numerator) for n in range(1, 7)]
    [1, 3, 9, 24, 61, 145]
    """
    if not multi_index:
        raise DerivationError("a derivative needs at least one parameter")
    *head, j = multi_index
    if not head:
        return ImplicitNumerator(Numerator({(((0, (j,)), 1),): -1}), 1)   # x_θⱼ = -F_θⱼ / F_x
    numer, k = implicit_numerator(tuple(head))
    fx = {((F_X, 1),): 1}
    out = _poly_mul(fx, _L_poly(j, numer))                     # F_x Lⱼ(N)
    for mono, coeff in _poly_mul(numer, _L_poly(j, fx)).items():
        _add_term(out, mono, -k * coeff)                       # - k N Lⱼ(F_x)
    return ImplicitNumerator(Numerator(out), k + 2)            # over F_xᵏ⁺²


def horner(poly: dict, value: Callable[[Key], sp.Expr]) -> sp.Expr:
    """A polynomial over placeholders as a nested SymPy expression, ``value(key)``
    substituted for each placeholder, with the factors the values share pulled out.

    Each value is split once into its numeric coefficient and factors,
    value(key) = c · Π fᵉ (``x**2*cos(x*y)*(x*y + 2)`` gives x, cos(x*y), x*y + 2), so the
    polynomial becomes one over those factors (pure dict arithmetic).  Then, recursively,
    N = content · (v·Q + R): the content is the rational gcd of the coefficients times the
    lowest power of every factor (what ``factor_terms`` would pull out of the substituted
    sum), v the factor in most terms (greedy multivariate Horner).  No SymPy expression is
    built before the last step, and none is simplified.

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit.derive.numerators import horner, implicit_numerator
    >>> x, y = sp.symbols("x y")
    >>> partials = {(0, (0,)): x*y, (1, ()): x**2 + y, (0, (0, 0)): y, (1, (0,)): x,
    ...             (2, ()): sp.S.Zero}
    >>> from symimplicit.derive.numerators import Numerator
    >>> numer = Numerator({m: c for m, c in implicit_numerator((0, 0)).numerator.items()
    ...                    if all(partials[k] != 0 for k, _ in m)})
    >>> numer                                     # F_xx = 0 drops the third term
    -F_00*F_x**2 + 2*F_0*F_x*F_x0
    >>> horner(numer, partials.__getitem__)       # y (x² + y) pulled out of both terms
    y*(x**2 - y)*(x**2 + y)
    """
    if not poly:
        return sp.S.Zero
    factors: list[sp.Expr] = []                  # the distinct factors, by first appearance
    index: dict[sp.Expr, int] = {}
    split: dict[Key, tuple[sp.Expr, dict[int, int]]] = {}
    for mono in poly:
        for key, _ in mono:
            if key not in split:
                split[key] = _split_value(value(key), factors, index)
    terms: dict = {}
    for mono, c in poly.items():
        coeff = sp.Integer(c)
        powers: dict[int, int] = {}
        for key, e in mono:
            kc, kp = split[key]
            coeff *= kc ** e                                   # Π cₖᵉ
            for f, fe in kp.items():
                powers[f] = powers.get(f, 0) + fe * e          # Π fᵉ, exponents added
        mono_f = tuple(sorted((f, fe) for f, fe in powers.items() if fe))
        total = terms.get(mono_f, sp.S.Zero) + coeff
        if total == 0:
            terms.pop(mono_f, None)
        else:
            terms[mono_f] = total
    build = _Builder(factors)
    return build.term(*build.nest(terms))


def _split_value(expr: sp.Expr, factors: list, index: dict) -> tuple[sp.Expr, dict[int, int]]:
    """expr = c · Π fᵉ: (c, {factor id: integer e}); factors with symbolic or fractional
    exponents (``exp(x)``, ``sqrt(x)``) are factors of their own, to the power 1."""
    coeff, rest = expr.as_coeff_Mul()
    powers: dict[int, int] = {}
    for factor in sp.Mul.make_args(rest):
        if factor == 1:
            continue
        base, e = factor.as_base_exp()
        if not e.is_Integer:
            base, e = factor, 1
        if base not in index:
            index[base] = len(factors)
            factors.append(base)
        f = index[base]
        powers[f] = powers.get(f, 0) + int(e)
    return coeff, powers


class _Builder:
    """Builds the nested form; every SymPy product is made once, from all its factors."""

    def __init__(self, factors: list):
        self.factors = factors
        self.powers: dict[tuple[int, int], sp.Expr] = {}

    def power(self, f: int, e: int) -> sp.Expr:
        found = self.powers.get((f, e))
        if found is None:
            found = self.powers[(f, e)] = self.factors[f] ** e
        return found

    def term(self, c: sp.Expr, mono: dict, core: sp.Expr) -> sp.Expr:
        """c · Π fᵉ · core, the number kept outside a sum (g·(a + b), not ga + gb)."""
        if not mono:
            return _keep_coeff(c, core)
        return sp.Mul(c, *[self.power(f, e) for f, e in sorted(mono.items())], core)

    def nest(self, terms: dict) -> tuple[sp.Expr, dict, sp.Expr]:
        """Σ c·Π fᵉ = g · Π fᵉ · core as (g, {f: e}, core), core 1 or a sum nested as
        v·Q + R, recursively (see :func:`horner`).  The number and the monomial are handed
        up, so that they join the product they multiply (``u - v*w*(a + b)``) instead of
        making a product or a sum of their own."""
        if not terms:
            return sp.S.One, {}, sp.S.Zero
        if len(terms) == 1:
            (mono, c), = terms.items()
            return c, dict(mono), sp.S.One
        count: dict[int, int] = {}                   # in how many terms each factor occurs
        low: dict[int, int] = {}                     # its lowest exponent there
        for mono in terms:
            for f, e in mono:
                count[f] = count.get(f, 0) + 1
                low[f] = min(low.get(f, e), e)
        n = len(terms)
        content = {f: e for f, e in ((f, low[f] if count[f] == n else min(low[f], 0))
                                     for f in low) if e}      # fᵉ divides every term
        g = _coefficient_gcd(terms.values())
        if content or g != 1:
            divided: dict = {}
            for mono, c in terms.items():
                powers = dict(mono)
                for f, e in content.items():
                    powers[f] = powers.get(f, 0) - e
                divided[tuple(sorted((f, e) for f, e in powers.items() if e))] = c / g
            c_in, m_in, core = self.nest(divided)
            for f, e in content.items():
                m_in[f] = m_in.get(f, 0) + e
            return g * c_in, {f: e for f, e in m_in.items() if e}, core
        best = max(sorted(count), key=lambda f: (count[f] - 1) * (_cost(self.factors[f]) + 1))
        if count[best] == 1:                         # no factor worth pulling out: a sum
            return sp.S.One, {}, sp.Add(*[self.term(c, dict(mono), sp.S.One)
                                          for mono, c in terms.items()])
        with_v: dict = {}
        rest: dict = {}
        for mono, c in terms.items():
            powers = dict(mono)
            if best in powers:
                powers[best] -= 1                              # divide the term by v
                with_v[tuple(sorted((f, e) for f, e in powers.items() if e))] = c
            else:
                rest[mono] = c
        cq, mq, q = self.nest(with_v)
        mq[best] = mq.get(best, 0) + 1                         # v·Q
        return sp.S.One, {}, sp.Add(self.term(cq, mq, q), self.term(*self.nest(rest)))


@lru_cache(maxsize=4096)
def _cost(factor: sp.Expr) -> int:
    return sp.count_ops(factor)


def _coefficient_gcd(coeffs) -> sp.Expr:
    """What to pull out of the coefficients: their rational gcd when it turns one of them
    into ±1 (else it only adds a multiplication), negated when all are negative; 1 when
    one is not rational."""
    coeffs = list(coeffs)
    if not all(c.is_Rational for c in coeffs):
        return sp.S.One
    num, den = 0, 1
    for c in coeffs:                                   # plain ints: no SymPy arithmetic
        num, den = igcd(num, c.p), ilcm(den, c.q)
    if not any(abs(c.p) * den == num * c.q for c in coeffs):   # no |c| = num/den
        num = den = 1
    sign = -1 if all(c.p < 0 for c in coeffs) else 1
    return sp.Rational(sign * num, den)
