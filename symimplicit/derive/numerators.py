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
    with_v: dict = {}
    rest: dict = {}
    for mono, c in poly.items():
        powers = dict(mono)
        if best in powers:
            powers[best] -= 1                               # divide the term by v
            if not powers[best]:
                del powers[best]
            with_v[tuple(sorted(powers.items()))] = c
        else:
            rest[mono] = c
    return value(best) * horner(with_v, value) + horner(rest, value)
