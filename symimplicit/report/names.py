"""Pretty symbol names: ``theta_1`` → ``\\theta_{1}`` (LaTeX) and ``θ₁`` (terminal).

SymPy already turns Greek names and trailing digits into ``\\alpha``, ``\\theta_{1}``,
``x_{0}``; this module adds what a paper needs on top:

* Greek letters typed as Unicode (``θ``, ``λ_1``) become ``\\theta``, ``\\lambda_{1}``
  (pdflatex cannot typeset a raw ``θ`` in math);
* multi-letter names are one italic word, not a product of letters:
  ``Re`` → ``\\mathit{Re}`` (SymPy prints ``Re``, which reads as R·e);
* word subscripts are upright: ``alpha_max`` → ``\\alpha_{\\mathrm{max}}``;
  several subscripts are separated by commas: ``a_i_j`` → ``a_{i,j}``;
* trailing underscores (symimplicit's multiplier names after a clash,
  ``lambda_1_``) become primes: ``\\lambda_{1}'``;
* ``eps`` is ``\\varepsilon``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import sympy as sp
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import translate

__all__ = ["latex_name", "unicode_name", "symbol_names", "GREEK"]

GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
         "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau",
         "upsilon", "phi", "chi", "psi", "omega")
"""Greek letter names as SymPy spells them (``lamda`` is SymPy's alias of ``lambda``)."""

_ALIASES = {"eps": r"\varepsilon", "lamda": r"\lambda", "Lamda": r"\Lambda"}

_SUBSCRIPT_DIGITS = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_SUPERSCRIPT_DIGITS = str.maketrans("0123456789+-=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾")
_UNICODE_GREEK = {name: chr(0x3B1 + i + (i >= 17)) for i, name in enumerate(GREEK)}
"""alpha → α ... omega → ω (skipping the final sigma ς at U+03C2)."""


def _greek_from_unicode(ch: str) -> str | None:
    """``θ`` → ``theta``, ``Λ`` → ``Lambda``; None for anything that is not a Greek letter."""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    m = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER ([A-Z]+)", name)
    if not m:
        return None
    word = m.group(2).lower().replace("lamda", "lambda")
    if word == "final sigma":
        word = "sigma"
    return word if m.group(1) == "SMALL" else word.capitalize()


def _ascii(name: str) -> str:
    """Unicode Greek letters spelled out: ``θ_1`` → ``theta_1``."""
    out = []
    for ch in name:
        word = _greek_from_unicode(ch) if not ch.isascii() else None
        out.append(word if word else ch)
    return "".join(out)


def _latex_base(base: str) -> str:
    if base in _ALIASES:
        return _ALIASES[base]
    tex = translate(base)                        # Greek names, modifiers (xhat, alphadot)
    if tex != base:
        return tex
    if len(base) > 1 and base.isalpha():
        return rf"\mathit{{{base}}}"              # one word, not a product of letters
    return base


def _latex_index(index: str) -> str:
    tex = translate(index)
    if tex != index or len(index) <= 1 or not index.isalpha():
        return tex
    return rf"\mathrm{{{index}}}"                 # a word subscript is a label: upright


@lru_cache(maxsize=4096)
def latex_name(name: str) -> str:
    """The LaTeX of a symbol name: ``theta_1`` → ``\\theta_{1}``, ``Re`` → ``\\mathit{Re}``.

    Examples
    ========
    >>> from symimplicit.report import latex_name
    >>> print(latex_name("theta_1"), latex_name("Re"))
    \\theta_{1} \\mathit{Re}
    """
    stem = name.rstrip("_")
    primes = "'" * (len(name) - len(stem)) if stem else ""
    stem = _ascii(stem or name)
    base, supers, subs = split_super_sub(stem)
    tex = _latex_base(base)
    if supers:
        tex += "^{" + ",".join(_latex_index(s) for s in supers) + "}"
    if subs:
        tex += "_{" + ",".join(_latex_index(s) for s in subs) + "}"
    return tex + primes


@lru_cache(maxsize=4096)
def unicode_name(name: str) -> str:
    """The terminal form of a symbol name: ``theta_1`` → ``θ₁``, ``lambda_1_`` → ``λ₁′``.

    Examples
    ========
    >>> from symimplicit.report import unicode_name
    >>> unicode_name("theta_1"), unicode_name("lambda_1_")
    ('θ₁', 'λ₁′')
    """
    stem = name.rstrip("_")
    primes = "′" * (len(name) - len(stem)) if stem else ""
    base, supers, subs = split_super_sub(stem or name)
    lower = base.lower() if base.lower() in _UNICODE_GREEK else None
    if base in ("lamda", "Lamda"):
        base = base.replace("amda", "ambda")
        lower = "lambda"
    if lower is not None:
        letter = _UNICODE_GREEK[lower]
        base = letter if base[0].islower() else letter.upper()
    out = base
    for s in supers:
        out += s.translate(_SUPERSCRIPT_DIGITS) if s.isdigit() else "^" + s
    for s in subs:
        out += s.translate(_SUBSCRIPT_DIGITS) if s.isdigit() else "_" + s
    return out + primes


def symbol_names(symbols: Iterable[sp.Symbol]) -> dict[sp.Symbol, str]:
    """``{symbol: latex}`` for ``sympy.latex(..., symbol_names=...)``.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.report import symbol_names
    >>> t = sp.Symbol("theta_1")
    >>> names = symbol_names([t])
    >>> print(names[t], sp.latex(t**2, symbol_names=names))
    \\theta_{1} \\theta_{1}^{2}
    """
    return {s: latex_name(s.name) for s in symbols}
