"""The evaluation plan: derived matrix expressions compiled once (per sizes) into a DAG of
numpy closures; a :class:`Frame` holds the values at one point and recomputes only what a
changed symbol reaches.  The same node set and the same arithmetic as
:func:`~symimplicit.matrix.evaluate.evaluate`.
"""
from __future__ import annotations

import operator

import numpy as np
import sympy as sp
from sympy.matrices.expressions import (MatrixExpr, MatrixSymbol, MatMul, MatAdd, Transpose,
                                        Inverse, Trace, Identity, ZeroMatrix, HadamardProduct,
                                        MatPow, BlockMatrix)
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from ..errors import StatementError
from . import linsolve
from .evaluate import _entrywise, _size

__all__ = ["Plan", "Frame"]

_MISSING = object()


def _combine(kinds):
    """The runtime product of a MatMul's factors, specialised to their kinds ('s' a scalar,
    'd' a diag(d) held as its column, 'm' a matrix): no type tests at run time, and the
    scalars' product scales the first diagonal factor (n entries) when there is one."""
    scal = tuple(k for k, c in enumerate(kinds) if c == "s")
    rest = tuple((k, c == "d") for k, c in enumerate(kinds) if c != "s")
    if not scal and len(rest) == 2 and not rest[0][1] and not rest[1][1]:
        return np.matmul                                    # A B: the common case
    first_d = next((j for j, (_, d) in enumerate(rest) if d), None)

    def run(*vals):
        c = 1.0
        for k in scal:
            c = c * vals[k]
        out, out_diag = None, False
        for j, (k, is_d) in enumerate(rest):
            v = vals[k].ravel() if is_d else vals[k]
            if j == first_d and scal:
                v = c * v                                    # c diag(d) = diag(c d)
            if out is None:
                out, out_diag = v, is_d
            elif out_diag and is_d:
                out = out * v                                # diag(a) diag(b) = diag(a ∘ b)
            elif out_diag:
                out, out_diag = out[:, None] * v, False      # diag(a) B = a[:, None] B
            elif is_d:
                out = out * v[None, :]                       # A diag(b) = A b[None, :]
            else:
                out = out @ v
        if out is None:
            return c
        if scal and first_d is None:
            out = c * out
        return np.diag(out) if out_diag else out
    return run


def _product(*vals):
    out = vals[0]
    for v in vals[1:]:
        out = out * v
    return out


def _total(*vals):
    out = vals[0]
    for v in vals[1:]:
        out = out + v
    return out


class Plan:
    """The expressions of a lowered statement as one DAG of numpy closures at fixed sizes.

    ``add(expr)`` compiles an expression (shared subexpressions become one node) and returns
    its node index; :meth:`frame` gives a :class:`Frame` to evaluate them.

    Examples
    ========
    >>> import numpy as np, sympy as sp
    >>> from symimplicit.matrix.plan import Plan
    >>> A, x = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("x", 2, 1)
    >>> plan = Plan({})
    >>> i = plan.add(A*x + x)
    >>> fr = plan.frame()
    >>> fr.set(A, np.eye(2)); fr.set(x, np.ones((2, 1)))
    >>> fr.value(i).ravel().tolist()
    [2.0, 2.0]
    """

    def __init__(self, dims):
        self.env = {"_dims": dims}
        self.nodes = []            # (fn, children, solve_of, leaf): fn(*child values); solve_of:
        #                            the node of A in A⁻¹ B; leaf: the symbol a leaf reads
        self.index = {}            # expression -> node
        self.leaves = {}           # symbol -> node
        self.leaf_objects = {}     # symbol -> the object the plan's nodes read
        self.deps = []             # node -> frozenset of the symbols it reads
        self.dependents = {}       # symbol -> nodes that read it
        self._ancestors = {}       # node -> the nodes it reads, children first
        self._x = sp.Dummy("x")    # the one argument entrywise functions are keyed by

    def _node(self, key, fn, kids, solve_of=None, leaf=None):
        i = len(self.nodes)
        self.nodes.append((fn, tuple(kids), solve_of, leaf))
        deps = frozenset([leaf]) if leaf is not None else frozenset().union(
            *(self.deps[k] for k in kids)) if kids else frozenset()
        self.deps.append(deps)
        for s in deps:
            self.dependents.setdefault(s, []).append(i)
        self.index[key] = i
        return i

    def _const(self, key, value):
        return self._node(key, lambda v=value: v, ())

    def add(self, expr):
        """The node index of ``expr`` (compiled on first sight)."""
        key = expr
        if key in self.index:
            return self.index[key]
        a = self.add
        if isinstance(expr, (MatrixSymbol, sp.Symbol)):
            i = self._node(key, None, (), leaf=expr)
            self.leaves[expr] = i
            self.leaf_objects[expr] = expr
            return i
        if isinstance(expr, Identity):
            return self._const(key, np.eye(_size(expr.shape[0], self.env)))
        if isinstance(expr, ZeroMatrix):
            return self._const(key, np.zeros((_size(expr.shape[0], self.env),
                                              _size(expr.shape[1], self.env))))
        if isinstance(expr, MatAdd) or (isinstance(expr, sp.Add) and not isinstance(expr, MatrixExpr)):
            kids = [a(t) for t in expr.args]
            return self._node(key, operator.add if len(kids) == 2 else _total, kids)
        if isinstance(expr, MatMul):
            args = list(expr.args)
            kids, kinds = [], []
            for i, f in enumerate(args):                    # A⁻¹ B = solve(A, B)
                if isinstance(f, Inverse) and i + 1 < len(args) and isinstance(args[i + 1], MatrixExpr):
                    rest = MatMul(*args[i + 1:]) if len(args) > i + 2 else args[i + 1]
                    A = a(f.arg)
                    kids.append(self._node(("solve", f.arg, rest), None, [A, a(rest)], solve_of=A))
                    break
                kids.append(a(f.args[0]) if isinstance(f, DiagMatrix) else a(f))
                kinds.append("d" if isinstance(f, DiagMatrix) else
                             "m" if isinstance(f, MatrixExpr) else "s")
            fn = _combine(tuple(kinds) + ("m",) * (len(kids) - len(kinds)))
            return self._node(key, fn, kids)
        if isinstance(expr, sp.Mul):
            c, rest = expr.as_coeff_Mul()                   # c · (the rest), c a number
            if c.is_Number and rest.is_Mul is False and c != 1:
                return self._node(key, lambda v, c=float(c): c * v, [a(rest)])
            return self._node(key, lambda *v: _product(1.0, *v), [a(t) for t in expr.args])
        if isinstance(expr, Transpose):
            return self._node(key, lambda v: v.T, [a(expr.arg)])
        if isinstance(expr, Inverse):
            return self._node(key, np.linalg.inv, [a(expr.arg)])
        if isinstance(expr, MatPow) and sp.sympify(expr.exp).is_Integer:   # Aᵏ, A⁻ᵏ = (A⁻¹)ᵏ
            k = int(expr.exp)
            return self._node(key, lambda v, k=k: np.linalg.matrix_power(
                np.linalg.inv(v) if k < 0 else v, abs(k)), [a(expr.base)])
        if isinstance(expr, Trace):
            return self._node(key, lambda v: float(np.trace(v)), [a(expr.arg)])
        if isinstance(expr, MatrixElement):
            i, j = int(expr.i), int(expr.j)
            return self._node(key, lambda v, i=i, j=j: float(v[i, j]), [a(expr.parent)])
        if isinstance(expr, HadamardProduct):
            return self._node(key, _product, [a(t) for t in expr.args])
        if isinstance(expr, BlockMatrix):                   # [[A, B], [C, D]] assembled
            rows = expr.blocks.tolist()
            shape = [len(r) for r in rows]
            kids = [a(b) for r in rows for b in r]

            def block(*vals, shape=shape):
                it = iter(vals)
                return np.block([[np.atleast_2d(next(it)) for _ in range(m)] for m in shape])
            return self._node(key, block, kids)
        if isinstance(expr, DiagMatrix):
            return self._node(key, lambda v: np.diag(v.ravel()), [a(expr.args[0])])
        if isinstance(expr, ElementwiseApplyFunction):
            same = ("entrywise", expr.function(self._x), expr.expr)   # f∘X whatever f's dummy
            if same in self.index:
                self.index[key] = self.index[same]
                return self.index[same]
            i = self._node(same, _entrywise(expr.function, "numpy"), [a(expr.expr)])
            self.index[key] = i
            return i
        if isinstance(expr, sp.Number):
            return self._const(key, float(expr))
        if isinstance(expr, (sp.Pow, sp.Function)):
            syms = [sp.Dummy() for _ in expr.args]
            return self._node(key, sp.lambdify(syms, expr.func(*syms), "numpy"),
                              [a(t) for t in expr.args])
        raise StatementError(f"cannot evaluate {type(expr).__name__} in {expr}")

    def ancestors(self, i):
        """The nodes node i reads, itself last, in an order that puts children first (node
        indices ascend from children to parents, so the sorted set is one)."""
        order = self._ancestors.get(i)
        if order is None:
            seen, todo = {i}, [i]
            while todo:
                for k in self.nodes[todo.pop()][1]:
                    if k not in seen:
                        seen.add(k)
                        todo.append(k)
            order = self._ancestors[i] = tuple(sorted(seen))
        return order

    def frame(self):
        """A fresh :class:`Frame` (no symbol set)."""
        return Frame(self)


class Frame:
    """The values of a :class:`Plan` at one point: ``set(symbol, value)`` invalidates the
    nodes that read it; ``value(i)`` computes what is missing; ``solve(i, B, trans)`` solves
    with the matrix at node i (its LU kept until the matrix changes, then used to refine)."""

    def __init__(self, plan):
        self.plan = plan
        self.vals = [_MISSING] * len(plan.nodes)
        self.given = {}                    # symbol -> its value
        self.lus, self.hints = {}, {}      # node -> LU of its value / of an earlier value
        self.sweeps = {}                   # node -> refinement sweeps allowed from its hint

    def set(self, sym, value):
        plan, vals = self.plan, self.vals
        sym = plan.leaf_objects.get(sym, sym)      # the plan's own object: later lookups hit by
        #                                            identity (SymPy's __eq__ costs µs a call)
        if len(vals) < len(plan.nodes):                     # nodes compiled since
            vals.extend([_MISSING] * (len(plan.nodes) - len(vals)))
        for j in plan.dependents.get(sym, ()):
            vals[j] = _MISSING
            if j in self.lus:
                self.hints[j] = self.lus.pop(j)
        self.given[sym] = value

    def value(self, i):
        vals = self.vals
        if i >= len(vals):
            vals.extend([_MISSING] * (len(self.plan.nodes) - len(vals)))
        v = vals[i]
        if v is not _MISSING:
            return v
        nodes = self.plan.nodes
        for j in self.plan.ancestors(i):                   # children first: one flat pass
            if vals[j] is not _MISSING:
                continue
            fn, kids, solve_of, leaf = nodes[j]
            if leaf is not None:
                if leaf not in self.given:
                    raise StatementError(f"no value given for {leaf}")
                vals[j] = self.given[leaf]
            elif solve_of is not None:                      # A⁻¹ B by the kept factorisation
                vals[j] = self.solve(solve_of, vals[kids[1]],
                                     what="the matrix inverted in the formula")
            else:
                vals[j] = fn(*[vals[k] for k in kids])
        return vals[i]

    def solve(self, i, B, trans=0, what="F_z", rtol=4 * linsolve.EPS):
        """A⁻¹ B (A⁻ᵀ B for trans=1) for the matrix A at node i; by refinement from an
        earlier LU when its corrections reach ``rtol`` (4ε: as good as a fresh LU)."""
        A = self.value(i)
        lu = self.lus.get(i)
        if lu is None:
            hint = self.hints.get(i)
            if hint is not None:
                x = linsolve.refine(hint, A, B, trans, rtol, self.sweeps.get(i))
                if x is not None:
                    return x
            lu = self.lus[i] = linsolve.factor(A, what)
        return linsolve.lu_solve(lu, B, trans, what, A)
