"""Numeric evaluation of the derived matrix expressions with numpy, for concrete sizes.

:func:`evaluate` walks the same node set as the rule table; ``A⁻¹ B`` is ``np.linalg.solve``.
"""
from __future__ import annotations

import functools
import math
import operator

import numpy as np
import sympy as sp
from sympy.matrices.expressions import (MatrixExpr, MatrixSymbol, MatMul, MatAdd, Transpose,
                                        Inverse, Trace, Identity, ZeroMatrix, HadamardProduct,
                                        MatPow, BlockMatrix)
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from ..errors import StatementError, ConvergenceError, SingularJacobianError

__all__ = ["evaluate", "Plan", "Frame", "LoweredMatrix"]


def _size(d, env):
    d = sp.sympify(sp.sympify(d).xreplace({k: sp.Integer(v) for k, v in env.get("_dims", {}).items()}))
    if not d.is_Integer:
        raise StatementError(f"the dimension {d} has no value: pass sizes={{...}}")
    return int(d)


@functools.lru_cache(maxsize=256)
def _entrywise(function, module="numpy"):
    """f as a numpy (or jax) ufunc-like callable (cached: lambdify costs milliseconds)."""
    x = sp.Dummy("x")
    return sp.lambdify(x, function(x), module)


def _module(xp):
    return "jax" if xp.__name__.startswith("jax") else "numpy"


def _scalar(value, xp):
    return float(value) if xp is np else value               # a traced value stays traced


def evaluate(expr, env, xp=np):
    """The float64 value of a matrix or scalar expression; ``env`` maps symbols to arrays/floats.

    ``xp``: the array module (numpy, or ``jax.numpy`` for :mod:`symimplicit.matrix.jax`)."""
    ev = lambda e: evaluate(e, env, xp)
    if isinstance(expr, (MatrixSymbol, sp.Symbol)):
        if expr not in env:
            raise StatementError(f"no value given for {expr}")
        return env[expr]
    if isinstance(expr, Identity):
        return xp.eye(_size(expr.shape[0], env))
    if isinstance(expr, ZeroMatrix):
        return xp.zeros((_size(expr.shape[0], env), _size(expr.shape[1], env)))
    if isinstance(expr, MatAdd) or (isinstance(expr, sp.Add) and not isinstance(expr, MatrixExpr)):
        return sum(ev(a) for a in expr.args)
    if isinstance(expr, MatMul):
        out = None
        args = list(expr.args)
        vals, diag = [], []
        i = 0
        while i < len(args):                                # A⁻¹ B = solve(A, B)
            a = args[i]
            if isinstance(a, Inverse) and i + 1 < len(args) and isinstance(args[i + 1], MatrixExpr):
                rest = ev(MatMul(*args[i + 1:]) if len(args) > i + 2 else args[i + 1])
                vals.append(xp.linalg.solve(ev(a.arg), rest))
                break
            vals.append(ev(args[i].args[0]).ravel() if isinstance(a, DiagMatrix) else ev(a))
            diag.append(isinstance(a, DiagMatrix))
            i += 1
        diag += [False] * (len(vals) - len(diag))
        return _matmul_product(vals, diag, xp)
    if isinstance(expr, sp.Mul):
        out = 1.0
        for a in expr.args:
            out = out * ev(a)
        return out
    if isinstance(expr, Transpose):
        return ev(expr.arg).T
    if isinstance(expr, Inverse):
        return xp.linalg.inv(ev(expr.arg))
    if isinstance(expr, MatPow) and sp.sympify(expr.exp).is_Integer:   # Aᵏ, A⁻ᵏ = (A⁻¹)ᵏ
        base, k = ev(expr.base), int(expr.exp)
        return xp.linalg.matrix_power(xp.linalg.inv(base) if k < 0 else base, abs(k))
    if isinstance(expr, Trace):
        return _scalar(xp.trace(ev(expr.arg)), xp)
    if isinstance(expr, MatrixElement):
        return _scalar(ev(expr.parent)[int(expr.i), int(expr.j)], xp)
    if isinstance(expr, HadamardProduct):
        out = ev(expr.args[0])
        for a in expr.args[1:]:
            out = out * ev(a)
        return out
    if isinstance(expr, BlockMatrix):                       # [[A, B], [C, D]] assembled
        return xp.block([[xp.atleast_2d(ev(b)) for b in row] for row in expr.blocks.tolist()])
    if isinstance(expr, DiagMatrix):
        return xp.diag(ev(expr.args[0]).ravel())
    if isinstance(expr, ElementwiseApplyFunction):
        return _entrywise(expr.function, _module(xp))(ev(expr.expr))
    if isinstance(expr, sp.Number):
        return float(expr)
    if isinstance(expr, (sp.Pow, sp.Function)):
        syms = [sp.Dummy() for _ in expr.args]
        f = sp.lambdify(syms, expr.func(*syms), _module(xp))
        return f(*[ev(a) for a in expr.args])
    raise StatementError(f"cannot evaluate {type(expr).__name__} in {expr}")


# ---------------------------------------------------------------------------------------------
# The evaluation plan: the derived expressions compiled once (per sizes) into a DAG of numpy
# closures; a Frame holds the values at one point and recomputes only what a changed symbol
# reaches.  The same node set and the same arithmetic as `evaluate`.

_MISSING = object()
_EPS = np.finfo(float).eps
def _numpy_getrf(A):
    """getrf without scipy: the matrix stands for its own LU (each solve factorises again)."""
    A = np.array(A, dtype=float)
    sign, _ = np.linalg.slogdet(A)                           # 0: a zero pivot
    return A, None, 0 if sign != 0 else 1


def _numpy_getrs(lu, piv, B, trans=0):
    return np.linalg.solve(lu.T if trans else lu, B), 0


try:                                  # LAPACK directly: scipy's lu_factor / lu_solve wrappers
    from scipy.linalg import lapack as _lapack     # cost ~50 µs a call in Python checks
    _getrf, _getrs_raw = _lapack.dgetrf, _lapack.dgetrs
    _lapack_order = True              # getrf copies a C-ordered matrix into Fortran order
except ImportError:                   # scipy is optional: the core needs numpy only
    _getrf, _getrs_raw = _numpy_getrf, _numpy_getrs
    _lapack_order = False


def _matmul_product(vals, flags, xp=np):
    """The product of a MatMul's factor values; ``flags`` say which are diag(d), held as the
    column d (diag(d) A = d[:, None] A: O(n²), never the n × n diagonal matrix)."""
    out, out_diag = None, False
    for v, is_d in zip(vals, flags):
        if out is None:
            out, out_diag = v, is_d
        elif xp.ndim(out) == 0:
            out, out_diag = out * v, is_d
        elif xp.ndim(v) == 0:
            out = out * v
        elif out_diag and is_d:
            out = out * v
        elif out_diag:
            out, out_diag = out[:, None] * v, False
        elif is_d:
            out = out * v[None, :]
        else:
            out = out @ v
    return xp.diag(out) if out_diag else out


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
    >>> from symimplicit.matrix.lowered import Plan
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


def _name(what):
    return what() if callable(what) else what       # a message is formatted only when raised


def _factor(A, what):
    """LU of A (LAPACK getrf), as (lu, piv, flip); a non-finite A or a zero pivot is a
    SingularJacobianError.  A C-ordered A is factorised as Aᵀ (flip = 1: its Fortran-ordered
    view, no transposing copy; A x = B is then solved as (Aᵀ)ᵀ x = B)."""
    if not np.isfinite(A).all():
        raise SingularJacobianError(f"{_name(what)} is not finite", value=A)
    flip = int(_lapack_order and A.ndim == 2 and A.flags.c_contiguous and not A.flags.f_contiguous)
    lu, piv, info = _getrf(A.T if flip else A)
    if info != 0:                                            # info > 0: U[info-1, info-1] = 0
        raise SingularJacobianError(f"{_name(what)} is singular (a zero pivot in its LU "
                                    "factorisation)", value=A)
    return lu, piv, flip


def _getrs(lu, B, trans):
    x, info = _getrs_raw(lu[0], lu[1], B, trans=trans ^ lu[2])
    return x


def _lu_solve(lu, B, trans, what, A):
    x = _getrs(lu, B, trans)
    if not np.isfinite(x).all():
        raise SingularJacobianError(f"{_name(what)} is numerically singular (its solve is not "
                                    "finite)", value=A)
    return x


def _refine(lu, A, B, trans, rtol, sweeps=None):
    """Solve A x = B (Aᵀ x = B for trans=1) with the LU of a nearby matrix by iterative
    refinement x ← x + LU⁻¹ (B − A x); None unless the corrections contract to rtol |x|
    (|dx| ≤ rtol |x|, or r/(1 − r) |dx| ≤ rtol |x|: the error bound at contraction r).

    A sweep costs ~4n² flops against ~⅔n³ for a fresh LU: at most ``sweeps`` (default
    :func:`_sweeps_per_lu`, capped at 6), none below n = 32 (where the LU is as cheap as the
    Python around a sweep), and None as soon as the observed contraction
    r = |dxₖ|/|dxₖ₋₁| needs more sweeps than are left."""
    if sweeps is None:
        sweeps = min(6, _sweeps_per_lu(A.shape[0]))
    if sweeps < 2:
        return None
    At = A.T if trans else A
    x = _getrs(lu, B, trans)
    prev = abs(x).max()                                      # |x₀| as the 0th correction
    for k in range(sweeps):
        dx = _getrs(lu, B - At @ x, trans)
        x = x + dx
        size, scale = abs(dx).max(), abs(x).max()
        if not (size < math.inf and scale < math.inf):       # NaN or inf: factor afresh
            return None
        r = size / prev                                      # the observed contraction
        if size <= rtol * scale or r / (1 - r) * size <= rtol * scale:  # |x - x*| ≲ r/(1-r)|dx|
            return x
        if r > 0.5:                                          # stalled: at the rounding floor
            return x if size <= _REFINE_FLOOR * scale else None   # (accept) or diverging
        if r > 0 and math.log(rtol * scale / size) / math.log(r) > sweeps - k - 1:
            return None                                      # |dx| shrinks ~ rᵏ: too few left
        prev = size
    return None


_REFINE_FLOOR = 32 * _EPS   # corrections stall near √n ε |x| (rounding in B − A x): converged


def _diverged(statement, what, k):
    return ConvergenceError(f"Newton on {statement} did not converge: {what} is not finite "
                            f"after {k} steps", iterations=k)


def _sweeps_per_lu(n):
    """How many solves with a kept LU (getrs + a matrix-vector product, memory-bound) cost
    about one fresh J and LU (BLAS-3): measured ≈ n/14 at n = 100, ≈ 20 at n = 1000."""
    return max(1, min(n // 16, 20))


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

    def solve(self, i, B, trans=0, what="F_z", rtol=4 * _EPS):
        """A⁻¹ B (A⁻ᵀ B for trans=1) for the matrix A at node i; by refinement from an
        earlier LU when its corrections reach ``rtol`` (4ε: as good as a fresh LU)."""
        A = self.value(i)
        lu = self.lus.get(i)
        if lu is None:
            hint = self.hints.get(i)
            if hint is not None:
                x = _refine(hint, A, B, trans, rtol, self.sweeps.get(i))
                if x is not None:
                    return x
            lu = self.lus[i] = _factor(A, what)
        return _lu_solve(lu, B, trans, what, A)


class LoweredMatrix:
    """``solve(**arrays)`` (Newton on F with the derived F_z), ``jacobian(param, **arrays)``,
    ``vjp(cotangent, **arrays)`` for a matrix statement at concrete sizes.

    ``sizes`` maps dimension symbols (or their names) to integers; a dimension left out is read
    off the parameters' arrays at call time.  The derived expressions are compiled once per
    sizes into a :class:`Plan`; a solve keeps its point (copies of the arrays, z and the LU of
    F_z), so ``vjp``/``jacobian`` at the same arrays and z reuse it.

    Examples
    ========
    >>> import numpy as np, sympy as sp
    >>> from symimplicit.matrix import MatrixRoot
    >>> M, x, b = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("b", 2, 1)
    >>> low = MatrixRoot(M*x + b - x, x, (M, b)).lower()
    >>> low.solve(M=np.zeros((2, 2)), b=np.ones((2, 1))).ravel().tolist()
    [1.0, 1.0]
    """

    def __init__(self, statement, sizes):
        self.statement = st = statement
        self.derivation = statement.derive()
        self.dims = {sp.Symbol(k) if isinstance(k, str) else k: v for k, v in (sizes or {}).items()}
        self._grads = self.derivation.vjp()[1]                     # θ̄ formulas, derived once
        self._exprs = {}                                           # (kind, θ) -> derived formula
        self._plans = {}                                           # bound sizes -> plan
        self._last = None                                          # the point of the last solve
        # dimensions without a value: where each can be read off a parameter's array
        mats = [m for m in (st.unknown, *st.params) if isinstance(m, MatrixSymbol)]
        free = sorted(set().union(*(sp.sympify(d).free_symbols for m in mats for d in m.shape))
                      - set(self.dims), key=str)
        self._free = [(s, [(p.name, ax) for p in st.params if isinstance(p, MatrixSymbol)
                           for ax, d in enumerate(p.shape) if sp.sympify(d) == s]) for s in free]

    # -- sizes, arrays and the point --------------------------------------------------------
    def _bind(self, arrays):
        """The dimensions at this call: ``sizes``, then the shapes of the given arrays."""
        if not self._free:
            return self.dims, ()
        dims, key = dict(self.dims), []
        for s, sources in self._free:
            src = next(((name, ax) for name, ax in sources if name in arrays), None)
            if src is None:
                raise StatementError(f"the dimension {s} has no value: pass sizes={{...}} or a "
                                     "parameter whose shape has it")
            shape = np.shape(arrays[src[0]])
            dims[s] = int(shape[src[1]]) if src[1] < len(shape) else 1
            key.append(dims[s])
        return dims, tuple(key)

    def _compiled(self, dims, key):
        """(plan, its F and F_z nodes, parameter shapes, the unknown's shape) at these sizes."""
        got = self._plans.get(key)
        if got is None:
            st, d = self.statement, self.derivation
            plan = Plan(dims)
            env = {"_dims": dims}
            shapes = {p.name: tuple(_size(s, env) for s in p.shape) if isinstance(p, MatrixSymbol)
                      else None for p in st.params}
            zshape = tuple(_size(s, env) for s in st.unknown.shape)
            got = self._plans[key] = (plan, plan.add(st.residual), plan.add(d.F_z), shapes, zshape)
        return got

    def _convert(self, arrays, shapes):
        """Copies of the parameters' arrays at their shapes (scalars as floats)."""
        out = {}
        for p in self.statement.params:
            v, shape = arrays[p.name], shapes[p.name]
            if shape is None:
                out[p.name] = float(v)
                continue
            a = np.array(v, dtype=float)
            if a.size != int(np.prod(shape)):
                raise StatementError(f"parameter {p.name} has shape {a.shape}, expected {shape}")
            out[p.name] = a.reshape(shape)
        return out

    def _check(self, arrays):
        for p in self.statement.params:
            if p.name not in arrays:
                raise StatementError(f"no value given for the parameter {p.name}")

    def _frame(self, arrays, z=None):
        """(frame at the parameters and z, plan record, the converted arrays)."""
        self._check(arrays)
        dims, key = self._bind(arrays)
        rec = self._compiled(dims, key)
        vals = self._convert(arrays, rec[3])
        frame = rec[0].frame()
        for p in self.statement.params:
            frame.set(p, vals[p.name])
        if z is not None:
            frame.set(self.statement.unknown, self._z(z, rec[4]))
        return frame, rec, vals

    @staticmethod
    def _z(z, shape):
        a = np.array(z, dtype=float)
        if a.size != int(np.prod(shape)):
            raise StatementError(f"z has shape {a.shape}, expected {shape}")
        return a.reshape(shape)

    def _reuse(self, arrays, z):
        """The kept frame when the arrays and z equal those of the last solve, else None."""
        last = self._last
        if last is None or z is None:
            return None
        vals, zs, frame, rec = last
        try:
            if not np.array_equal(np.ravel(np.asarray(z, dtype=float)), zs.ravel()):
                return None
            for name, v in vals.items():
                if name not in arrays or not np.array_equal(
                        np.ravel(np.asarray(arrays[name], dtype=float)), np.ravel(v)):
                    return None
        except (TypeError, ValueError):
            return None
        return frame, rec

    def _at(self, arrays, z):
        """(frame, plan record) at the solution: kept, given, or solved."""
        kept = self._reuse(arrays, z)
        if kept is not None:
            return kept
        if z is None:
            self.solve(**arrays)
            return self._last[2], self._last[3]
        frame, rec, _ = self._frame(arrays, z)
        return frame, rec

    def _env(self, arrays, z=None):
        """The dict env of :func:`evaluate` (used by :class:`LoweredKKT`)."""
        self._check(arrays)
        dims, key = self._bind(arrays)
        st = self.statement
        env = {"_dims": dims}
        for p in st.params:
            v = arrays[p.name]
            env[p] = (np.asarray(v, dtype=float).reshape(tuple(_size(d, env) for d in p.shape))
                      if isinstance(p, MatrixSymbol) else float(v))
        if z is not None:
            env[st.unknown] = z
        return env

    def _output(self, frame, expr_key, expr_of):
        """The value of a derived formula at the frame's point (compiled on first use)."""
        plan = frame.plan
        i = plan.index.get(expr_key)
        if i is None:
            expr = self._exprs.get(expr_key)
            if expr is None:
                expr = self._exprs[expr_key] = expr_of()
            i = plan.add(expr)
            plan.index[expr_key] = i
        v = frame.value(i)
        return np.array(v) if isinstance(v, np.ndarray) else v    # the caller may write to it

    def _param(self, param):
        p = next((q for q in self.statement.params if q.name == getattr(param, "name", param)), None)
        if p is None:
            raise StatementError(f"{param} is not a parameter of {self.statement}")
        return p

    # -- the numbers --------------------------------------------------------------------------
    def solve(self, z0=None, tol=1e-14, maxiter=100, **arrays):
        """The root z (simplified Newton z ← z − J⁻¹ F, J = F_z at a recent iterate), an
        array of the unknown's shape.

        A step reuses the LU of the last J while the steps contract fast enough: J is formed
        and factorised afresh when the observed contraction θ = |stepₖ|/|stepₖ₋₁| exceeds ½
        (a chord step with θ ≥ 1 is undone first),
        or when the chord would need more steps to reach ``tol`` than a factorisation costs
        in steps (about n/16, at least 1).  Stop when max|step| ≤ tol (1 + max|z|) on a fresh
        Newton step, or on a chord step whose contraction is known below ½ (its error is
        then below θ/(1 − θ) |step| ≤ |step|).  A zero pivot or a non-finite F_z is a
        ``SingularJacobianError``; a non-finite residual or ``maxiter`` steps a
        ``ConvergenceError``."""
        st = self.statement
        frame, rec, vals = self._frame(arrays)
        _, iF, iJ, _, zshape = rec
        z = np.zeros(zshape) if z0 is None else self._z(z0, zshape)
        what = lambda: f"F_z of {st}"
        budget = _sweeps_per_lu(z.size)        # chord steps worth one fresh J and LU
        lu = J = None
        prev = theta = None                    # the last step's size and contraction (same LU)
        zsym = frame.plan.leaf_objects.get(st.unknown, st.unknown)   # hits by identity
        for k in range(maxiter):
            frame.set(zsym, z)
            F = frame.value(iF)
            if lu is None:                                  # J = F_z(zₖ), factorised once
                if not np.isfinite(F).all():                # (a bad residual named first)
                    raise _diverged(st, "the residual", k)
                J = frame.value(iJ)
                lu, prev, theta = _factor(J, what), None, None
            step = _getrs(lu, F, 0)
            z = z - step
            size = abs(step).max() / (1 + abs(z).max())
            if not size < math.inf:                         # one test for NaN and inf
                if not np.isfinite(F).all():
                    raise _diverged(st, "the residual", k)
                _lu_solve(lu, F, 0, what, J)                # raises: numerically singular
                raise _diverged(st, "the iterate", k)
            if prev is not None:
                theta = size / prev if prev > 0 else 0.0
                if theta >= 1:                              # the chord step does not contract:
                    z, lu = z + step, None                  # undo it, Newton from where it was
                    continue
            if size <= tol and (prev is None or theta <= 0.5):
                if not np.isfinite(z).all():                # |z| overflowed: size reads 0
                    raise _diverged(st, "the iterate", k + 1)
                frame.set(zsym, z.copy())                   # the kept point holds its own copy
                frame.hints[iJ] = lu                        # vjp/jacobian refine from this LU
                frame.sweeps[iJ] = budget if z.size >= 32 else 0
                self._last = (vals, frame.given[zsym], frame, rec)
                return z
            if theta is not None and (theta > 0.5 or (    # chord too slow: J afresh next step
                    theta > 0 and math.log(tol / size) / math.log(theta) > budget)):
                lu = None
            elif prev is None and budget == 1:
                lu = None                                   # small n: plain Newton is cheapest
            prev = size
        raise ConvergenceError(f"Newton on {st} did not converge in {maxiter} steps",
                               iterations=maxiter)

    def jacobian(self, param, z=None, **arrays):
        """∂z/∂θ as an array, at the solution (solved unless ``z`` is given)."""
        p = self._param(param)
        frame, _ = self._at(arrays, z)
        return self._output(frame, ("jacobian", p), lambda: self.derivation.derivative(p))

    def second_derivative(self, param, z=None, **arrays):
        """∂²z/∂θ² for a scalar parameter, as an array, at the solution."""
        p = self._param(param)
        frame, _ = self._at(arrays, z)
        return self._output(frame, ("second", p), lambda: self.derivation.second_derivative(p))

    def vjp(self, cotangent, z=None, **arrays):
        """{parameter name: θ̄} for the cotangent z̄ (λ = F_z⁻ᵀ z̄ by one solve with the LU
        kept from the solve)."""
        frame, rec = self._at(arrays, z)
        d = self.derivation
        zbar = np.asarray(cotangent, float).reshape(rec[4])
        lam = frame.solve(rec[2], zbar, trans=1, what=lambda: f"F_z of {self.statement}")
        frame.set(d.multiplier, lam)
        return {p.name: self._output(frame, ("vjp", p), lambda g=g: g)
                for p, g in self._grads.items()}

    def to_jax(self, **options):
        """A jittable JAX function params -> z with a custom_vjp of the derived formulas
        (:func:`~symimplicit.matrix.jax.to_jax`)."""
        from .jax import to_jax
        return to_jax(self, **options)

    def _forward(self, arrays):
        """(z, what the backward pass keeps) for the tape primitive."""
        return self.solve(**arrays), None

    def _backward(self, zbar, z, kept, arrays):
        return self.vjp(zbar, z=z, **arrays)

    def primitive(self):
        """A tape Function: the parameters' entries as Scalars (row-major, parameters in
        order) in, the unknown's entries out; its vjp is one solve with F_zᵀ.

        Examples
        ========
        >>> import sympy as sp
        >>> from symimplicit.matrix import MatrixRoot
        >>> from symimplicit.tape import Scalar, grad
        >>> M, x, b = sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("b", 2, 1)
        >>> layer = MatrixRoot(M*x + b - x, x, (M, b)).lower().primitive()
        >>> bs = [Scalar(1.0), Scalar(2.0)]
        >>> x0, x1 = layer(0.5, 0.0, 0.0, 0.5, *bs)
        >>> round(x0.value, 12), [round(g, 12) for g in grad(x0, bs)]
        (2.0, [2.0, 0.0])
        """
        from ..tape.engine import Function, Saved
        st = self.statement
        env0 = {"_dims": self.dims}
        shapes = [tuple(_size(d, env0) for d in p.shape) if isinstance(p, MatrixSymbol) else ()
                  for p in st.params]
        sizes = [int(np.prod(s)) if s else 1 for s in shapes]
        n_out = _size(st.unknown.shape[0], env0)

        def unpack(values):
            if len(values) != sum(sizes):
                raise StatementError(f"the layer of {st} takes {sum(sizes)} entries "
                                     f"({', '.join(p.name for p in st.params)} row-major), "
                                     f"got {len(values)}")
            arrays, k = {}, 0
            for p, s, m in zip(st.params, shapes, sizes):
                chunk = np.asarray(values[k:k + m], float)
                arrays[p.name] = chunk.reshape(s) if s else float(chunk[0])
                k += m
            return arrays

        def forward(*values):
            arrays = unpack(values)
            z, kept = self._forward(arrays)
            out = tuple(float(v) for v in z.ravel())
            return Saved(out if n_out > 1 else out[0], (arrays, z, kept))

        def vjp(g, node):
            arrays, z, kept = node.state
            zbar = np.asarray(g if n_out > 1 else (g,), float).reshape(z.shape)
            grads = self._backward(zbar, z, kept, arrays)
            flat = []
            for p in st.params:
                flat.extend(np.ravel(grads[p.name]).tolist())
            return tuple(flat)

        return Function(f"matrix_{st.kind.replace(' ', '_')}", forward, vjp=vjp, n_outputs=n_out)
