"""The rounding-noise scale of a float64 evaluation, derived symbolically (a running error bound).

Evaluated in floating point with unit roundoff u, an expression e comes out as
ê = e + δ with, to first order, |δ| ≲ u·N(e), where N is built bottom-up from
the expression tree (Higham, *Accuracy and Stability*, §3.3 and §5.1):

    N(s) = 0                                  s an input (unknown, parameter) or an exact integer
    N(c) = |c|                                c a rounded constant (0.1, 1/3, π)
    N(t₁ + … + tₖ) = Σ N(tᵢ) + Σ |tᵢ|         each term's error, plus the roundings of the sum
    N(f₁ ⋯ fₖ) = Σᵢ N(fᵢ) Πⱼ≠ᵢ |fⱼ| + |e|       relative errors add
    N(fⁿ) = |n| |f|ⁿ⁻¹ N(f) + |e|
    N(g(u₁, …)) = Σₖ |∂g/∂uₖ| N(uₖ) + |e|       the argument's error, amplified; g's own ulp
    N(Piecewise((eᵢ, cᵢ)…)) = Piecewise((N(eᵢ), cᵢ)…)   the piece that is evaluated

So N(x - a·tanh x) = 2|a tanh x| + |x| + |a tanh x|: "the sum of the absolute values of
F's additive terms" plus what the terms' own evaluation adds.  A residual with
|F| ≤ c·ε·N(F) is at its rounding floor: nothing smaller can be certified in
float64, whatever the conditioning of ∂F/∂x.

Terms with N = 0 are dropped structurally, so an argument that is an exact
input never brings a derivative (sqrt(a) adds |√a|, not |1/(2√a)|·0).
"""
from __future__ import annotations

import sympy as sp

__all__ = ["rounding_scale"]

_EXACT_INT = 2 ** 53


def _abs(e):
    """|e| left as written (SymPy would rewrite |exp(w)| as exp(re(w)), which ``math`` cannot
    print); |c·u| = |c|·|u| for a number c, so |wᵢⱼ zⱼ| of every row shares the one |zⱼ|."""
    if e.is_Number:
        return abs(e)
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        if coeff.is_Number and coeff != 1:
            return _product([abs(coeff), _abs(rest)])
    return sp.Abs(e, evaluate=False)


def _sum(terms) -> sp.Expr:
    """Σ terms without SymPy's flattening (N is only evaluated, never simplified; the
    canonical Add of a 50-term row costs more than its lowering), zeros dropped."""
    terms = [t for t in terms if t is not sp.S.Zero]
    if not terms:
        return sp.S.Zero
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _product(factors) -> sp.Expr:
    """Π factors unevaluated, ones dropped."""
    factors = [f for f in factors if f is not sp.S.One]
    if not factors:
        return sp.S.One
    return factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)


def _power_of_two(q) -> bool:
    q = int(q)
    return q > 0 and q & (q - 1) == 0


def rounding_scale(expr, inputs: dict | None = None) -> sp.Expr:
    """N(expr): |error of a float64 evaluation of expr| ≲ ε·N(expr) to first order (see module doc).

    ``inputs`` maps Symbols that stand for computed values to their own noise scale (a
    placeholder for a sum evaluated elsewhere, say); every other Symbol is an exact input.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit.lower.rounding import rounding_scale
    >>> x, L, nu = sp.symbols("x L nu", positive=True)
    >>> rounding_scale(x + sp.exp(x)).doit()                 # built unevaluated
    x + 2*exp(x)
    >>> rounding_scale(x + sp.exp(L), inputs={L: nu}).doit()  # L carries its own N(L) = nu
    nu*exp(L) + x + 2*exp(L)
    """
    if not isinstance(expr, sp.Basic):
        raise TypeError(f"rounding_scale needs a SymPy expression, got {type(expr).__name__}")
    return _scale(expr, dict(inputs or {}))


def _scale(e, memo: dict) -> sp.Expr:
    if e in memo:
        return memo[e]
    out = _scale_uncached(e, memo)
    memo[e] = out
    return out


def _scale_uncached(e, memo):
    if e.is_Symbol:
        return sp.S.Zero                                             # an input: exact
    if e.is_Integer:
        return sp.S.Zero if abs(int(e)) <= _EXACT_INT else abs(e)
    if e.is_Rational and _power_of_two(e.q):
        return sp.S.Zero                                             # 1/2, 3/4: exact in binary
    if e.is_Number or e.is_NumberSymbol:
        return abs(e)                                                # rounded when printed
    if e.is_Add:
        return _sum([_scale(t, memo) for t in e.args] + [_abs(t) for t in e.args])
    if e.is_Mul:
        factors = e.args
        terms = []
        for i, f in enumerate(factors):
            nf = _scale(f, memo)
            if nf != 0:                                              # Σᵢ N(fᵢ) Πⱼ≠ᵢ |fⱼ|
                terms.append(_product([nf] + [_abs(g) for j, g in enumerate(factors) if j != i]))
        return _sum(terms + [_abs(e)])
    if e.is_Pow:
        base, n = e.args
        nb = _scale(base, memo)
        nn = sp.S.Zero if n.is_Number else _scale(n, memo)          # x**0.5: the exponent is exact
        out = [_abs(e)]
        if nb != 0:                                                  # |n| |f|ⁿ⁻¹ N(f)
            out.append(_product([_abs(n), _abs(base) ** (n - 1), nb]) if n.is_Number
                       else _product([_abs(n * e / base), nb]))
        if nn != 0:                                                  # fⁿ = exp(n log f)
            out.append(_product([_abs(e * sp.log(base)), nn]))
        return _sum(out)
    if isinstance(e, sp.Piecewise):                                  # the chosen piece's scale
        return sp.Piecewise(*[(_scale(piece, memo), cond) for piece, cond in e.args])
    if isinstance(e, sp.Function) and e.args:
        out = [_abs(e)]
        for k, u in enumerate(e.args, start=1):
            nu = _scale(u, memo)
            if nu == 0:
                continue
            try:
                d = e.fdiff(k)                                       # ∂g/∂uₖ at the arguments
            except Exception:                                        # no derivative: unit gain
                d = sp.S.One
            if d.has(sp.Derivative, sp.Subs, sp.DiracDelta):         # sign, Heaviside...: unit gain
                d = sp.S.One
            out.append(_product([_abs(d), nu]))
        return _sum(out)
    return _abs(e)                                                 # anything else: its own ulp
