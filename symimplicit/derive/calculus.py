"""Partial derivatives for the derivation: SymPy's ``diff`` with the IFT's conventions, and
a chain-rule gradient that touches each shared sub-expression once.

* :func:`diff`: ∂expr/∂v; ``DiracDelta(g)`` (from abs, sign, Heaviside, Max, Min of real
  symbols) is 0 wherever a derivative exists, so it is dropped (the kink g = 0 is listed in
  ``conditions`` by :mod:`symimplicit.kinks`); an unevaluated ``Derivative`` of re, im,
  abs... of a complex symbol is a :class:`~symimplicit.errors.DerivationError`.
* :func:`gradients`: {v: ∂e/∂v} for many expressions and variables at once (forward
  accumulation over the expression DAG, memoised per node).  ``diff`` of a system's
  residual costs one SymPy ``Derivative`` per entry and re-evaluates every sub-expression's
  assumptions (z = tanh(Wz + u) at n = 15: 30 s); the gradient builds the chain rule
  from each function's ``fdiff`` at a Dummy argument and stays linear in the statement's size.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.core.mul import _keep_coeff

from symimplicit.errors import DerivationError
from symimplicit.kinks import kink_of

__all__ = ["diff", "gradients", "clip", "mentions", "replaced"]

_NOT_HOLOMORPHIC = (sp.re, sp.im, sp.arg, sp.Abs, sp.sign, sp.conjugate)


def clip(expr, limit: int = 120) -> str:
    """``str(expr)`` cut to ``limit`` characters (for error messages)."""
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_differentiable(value: sp.Expr, wrt: sp.Symbol, where) -> sp.Expr:
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
        raise DerivationError(f"SymPy cannot differentiate {clip(value)} with respect to "
                              f"{wrt} in {where!r} (it leaves {clip(pending[0])}){hint}")
    return value


def diff(expr: sp.Expr, wrt: sp.Symbol, where) -> sp.Expr:
    """∂expr/∂wrt with DiracDelta(g) taken as 0 (``where`` names the statement in errors)."""
    value = _check_differentiable(expr.diff(wrt), wrt, where)
    deltas = value.atoms(sp.DiracDelta)
    if deltas:
        value = value.xreplace({d: sp.S.Zero for d in deltas})
    return value


def _smooth(node) -> bool:
    """A function application whose chain rule is its fdiff at Dummy arguments."""
    return isinstance(node, sp.Function) and not isinstance(node, AppliedUndef) \
        and not kink_of(node) and not isinstance(node, _NOT_HOLOMORPHIC)


class _Gradient:
    """Forward accumulation of {v: ∂node/∂v} over a DAG of SymPy nodes, memoised."""

    def __init__(self, variables, where):
        self.variables = tuple(variables)
        self.wanted = set(self.variables)
        self.where = where
        self.memo: dict = {}

    def __call__(self, node) -> dict:
        found = self.memo.get(node)
        if found is None:
            found = self.memo[node] = self._grad(node)
        return found

    def _grad(self, node) -> dict:
        if not (node.free_symbols & self.wanted):
            return {}
        if node.is_Symbol:
            return {node: sp.S.One}
        if node.is_Add:
            return self._collect((sp.S.One, self(arg)) for arg in node.args)
        if node.is_Mul:
            args = node.args
            return self._collect((sp.Mul(*(args[:k] + args[k + 1:])), self(arg))
                                 for k, arg in enumerate(args))                 # product rule
        if node.is_Pow and not (node.exp.free_symbols & self.wanted):
            base, exp = node.args
            return self._collect([(exp * base ** (exp - 1), self(base))])      # n bⁿ⁻¹ ∂b
        if _smooth(node):
            dummies = [sp.Dummy() for _ in node.args]
            at = node.func(*dummies)
            back = dict(zip(dummies, node.args))
            pairs = []
            for k, arg in enumerate(node.args):
                inner = self(arg)
                if inner:                                # ∂f(g)/∂v = f'(g) ∂g/∂v
                    pairs.append((at.fdiff(k + 1).xreplace(back), inner))
            return self._collect(pairs)
        return {v: d for v in self.variables if v in node.free_symbols
                for d in [diff(node, v, self.where)] if d != 0}

    @staticmethod
    def _collect(pairs) -> dict:
        """Σ factor · inner over the pairs, per variable."""
        terms: dict = {}
        for factor, inner in pairs:
            if factor == 0:
                continue
            for v, c in inner.items():
                terms.setdefault(v, []).append(c if factor == 1 else _times(factor, c))
        out = {}
        for v, items in terms.items():
            total = items[0] if len(items) == 1 else sp.Add(*items)
            if total != 0:
                out[v] = total
        return out


def mentions(exprs, symbols) -> bool:
    """Whether any of ``symbols`` occurs in any of ``exprs``, each shared subtree visited once
    (``Matrix.free_symbols`` walks every entry's tree in full: 6 s for the 10⁴ entries of a
    100-unknown Jacobian that all contain tanh(wᵢᵀz + uᵢ)).

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit.derive.calculus import mentions
    >>> x, y, a = sp.symbols("x y a")
    >>> mentions([a + 1, sp.tanh(a*y)], {x}), mentions([a + 1, sp.tanh(a*y)], {y})
    (False, True)
    """
    wanted, seen = set(symbols), set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e.is_Symbol:
            if e in wanted:
                return True
            continue
        if e.is_Atom or e in seen:
            continue
        seen.add(e)
        stack.extend(e.args)
    return False


def replaced(M: sp.MatrixBase, mapping: dict) -> sp.ImmutableMatrix:
    """``M.xreplace(mapping)`` with each shared subtree rebuilt once for all entries
    (SymPy's xreplace walks every path of the DAG: 2 of the 3 s of the 21 second derivatives
    of a 6-unknown tanh cell).

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit.derive.calculus import replaced
    >>> x, y, a = sp.symbols("x y a")
    >>> replaced(sp.Matrix([sp.tanh(a*x) + x, sp.tanh(a*x)*y]), {x: 2})
    Matrix([
    [tanh(2*a) + 2],
    [  y*tanh(2*a)]])
    """
    memo = dict(mapping)

    def walk(e):
        done = memo.get(e)
        if done is not None:
            return done
        if e.is_Atom or not e.args:
            new = e
        else:
            args = [walk(a) for a in e.args]
            new = e if all(a is b for a, b in zip(args, e.args)) else e.func(*args)
        memo[e] = new
        return new
    return sp.ImmutableMatrix(M.rows, M.cols, [walk(e) for e in M])


def _times(a, b):
    """a·b; a number times a sum is kept as c·(sum), not distributed (distributing W_ij over
    1 - tanh²(wᵢᵀz + uᵢ) rebuilds each term and asks its assumptions: 1 ms an entry)."""
    if a.is_Number and b.is_Add:
        return _keep_coeff(a, b)
    if b.is_Number and a.is_Add:
        return _keep_coeff(b, a)
    return a * b


def gradients(exprs, variables, where) -> list[dict]:
    """[{v: ∂e/∂v (nonzero only)} for e in exprs], sharing the work on common sub-expressions.

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit.derive.calculus import gradients
    >>> x, y, a = sp.symbols("x y a")
    >>> gradients([x*y - a, sp.tanh(a*x)], [x, y], "example")
    [{x: y, y: x}, {x: a*(1 - tanh(a*x)**2)}]
    """
    grad = _Gradient(variables, where)
    return [grad(e) for e in exprs]
