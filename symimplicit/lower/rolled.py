"""A system whose equations repeat a few patterns, evaluated as arrays ("rolled").

Written entry by entry, a DEQ cell Fᵢ = zᵢ - tanh(Σⱼ Wᵢⱼ zⱼ + uᵢ) is n expressions and its
Jacobian n² more; evaluated one by one in Python that is 1 ms per Newton step at n = 100.
But every row is one pattern, zᵢ - tanh(Lᵢ), around one linear form Lᵢ = (W z + u)ᵢ.
:func:`roll` finds that structure once, symbolically:

1. **linear forms**: every sum with two or more terms c·s (s an unknown or a parameter, c a
   number) becomes a placeholder Lₖ; the coefficients go into one matrix A, so all forms are
   L = A v + c₀ with v = (z, θ), one matrix product;
2. **patterns**: each reduced row is written over positional slots (its Symbols, forms and
   Float constants in order of first appearance); rows with the same pattern form a group,
   whose slots are gathered by index arrays;
3. per group, ONE generated NumPy function returns the pattern t, its partial derivatives
   ∂t/∂slot and its rounding-noise scale N(t) (:func:`~symimplicit.lower.rounding.rounding_scale`
   with each form's and constant's own noise as an input).

The chain rule assembles the Jacobians from those partials:
∂Fᵢ/∂vⱼ = Σ_{slots s = vⱼ} ∂t/∂s + Σ_{form slots Lₖ} ∂t/∂Lₖ · Aₖⱼ.  So the symbolic work
grows with the number of patterns, not with n², and one evaluation is a few array
operations.  :func:`roll` returns None where the rows do not repeat enough to gain.

Examples
========
>>> import numpy as np, sympy as sp
>>> from symimplicit.lower.rolled import roll
>>> z = sp.symbols("z1:9"); u = sp.symbols("u1:9")
>>> W = sp.Matrix(8, 8, lambda i, j: sp.Rational(1, 1 + i + j))
>>> rows = [z[i] - sp.tanh(sum(W[i, j]*z[j] for j in range(8)) + u[i]) for i in range(8)]
>>> plan = roll(rows, z, u, min_unknowns=8)        # (by default from 16 unknowns)
>>> plan.groups                                 # one pattern for all eight rows
1
>>> v = np.linspace(0.1, 0.8, 16)
>>> F, J = plan.residual_jacobian(v)
>>> exact = sp.Matrix(rows).jacobian(z).subs(dict(zip(z + u, v)))
>>> float(abs(J - np.array(exact, dtype=float)).max()) < 1e-15
True
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symimplicit.errors import DerivationError
from symimplicit.lower.codegen import _check_supported, _remake
from symimplicit.lower.rounding import rounding_scale
from symimplicit.lower.straight_line import deep_recursion, straight_line

__all__ = ["RolledSystem", "roll", "ROLL_FROM"]

ROLL_FROM = 16
"""Fewer unknowns: the entry-wise straight-line code is as fast and there is nothing to gain."""

MAX_GROUPS_SHARE = 4
"""Rolled only when there are at most n / 4 patterns (at least 1): each group costs a call."""

_Z, _THETA, _FORM, _CONST = range(4)                     # slot kinds


class RolledSystem:
    """Residual rows F(z, θ) as linear forms and a few patterns (see the module doc).

    Call with ``v = (z, θ)`` as one float array:

    * :meth:`residual_jacobian` -> (F, ∂F/∂z),
    * :meth:`with_noise` -> (F, ∂F/∂z, N(F)),
    * :meth:`noise` -> N(F),
    * :meth:`param_jacobian` -> ∂F/∂θ (n × p).

    Values are not checked: a non-finite entry is the caller's cue to evaluate the rows one by
    one (where the ``math`` module names the domain error).
    """

    def __init__(self, n, p, A, c0, B, b0, groups):
        self.n, self.p = n, p
        self.A = A                                            # L = A v + c₀ = A_z z + A_θ θ + c₀
        self.Az, self.Ath = np.ascontiguousarray(A[:, :n]), np.ascontiguousarray(A[:, n:])
        self.c0 = c0
        self.B, self.b0 = B, b0                               # N(L) = B |v| + b₀
        self._groups = groups
        self.groups = len(groups)
        self.affine = all(g.affine for g in groups)
        self._single = len(groups) == 1 and groups[0].all_rows
        self._levels = _form_levels(groups, n)
        self._direct = {kind: _direct_plan(groups, kind, n if kind == _Z else p)
                        for kind in (_Z, _THETA)}
        self._form_norms = np.abs(self.Az).sum(axis=1)               # ‖A_z row‖₁ of each form
        self._direct_rows = [(gi, pos, g.rows) for gi, g in enumerate(groups)
                             for pos, k, _ in g.derivatives if k == _Z]
        self._theta_slots = [(gi, pos, g.rows, ix) for gi, g in enumerate(groups)
                             for pos, k, ix in g.derivatives if k == _THETA]

    def __repr__(self):
        return (f"RolledSystem(n={self.n}, p={self.p}, forms={len(self.c0)}, "
                f"patterns={self.groups})")

    # -- evaluation ----------------------------------------------------------------- #
    def residual(self, v):
        """F at v = (z, θ)."""
        with np.errstate(all="ignore"):
            return self._rows(self._evaluate(v, False, values_only=True), 0)

    def _evaluate(self, v, noise: bool, values_only: bool = False):
        if len(self.c0):
            L = self.A @ v + self.c0                          # every linear form at once
            NL = self.B @ np.abs(v) + self.b0 if noise else None
        else:
            L, NL = self.c0, (self.b0 if noise else None)
        if values_only:
            return [g.value(v, L) for g in self._groups]
        return [g.evaluate(v, L, NL) for g in self._groups]

    def residual_jacobian(self, v):
        """(F, ∂F/∂z) at v = (z, θ)."""
        with np.errstate(all="ignore"):
            outs = self._evaluate(v, False)
            return self._rows(outs, 0), self._assemble(outs, _Z, self.Az, self.n)

    def with_noise(self, v):
        """(F, ∂F/∂z, N(F)) at v = (z, θ)."""
        with np.errstate(all="ignore"):
            outs = self._evaluate(v, True)
            return (self._rows(outs, 0), self._assemble(outs, _Z, self.Az, self.n),
                    self._rows(outs, -1))

    def noise(self, v):
        """N(F) at v: the rounding-noise scale of each residual."""
        with np.errstate(all="ignore"):
            return self._rows(self._evaluate(v, True), -1)

    def partials(self, v):
        """Every pattern's outputs at v (for :meth:`change_bound`)."""
        with np.errstate(all="ignore"):
            return self._evaluate(v, False)

    def change_bound(self, a, b):
        """Row sums of |∂F/∂z(w) - ∂F/∂z(v)| bounded from above, given ``partials`` a at v and
        b at w: |Δ(∂t/∂L)|·‖A_z row of L‖₁ per form slot plus |Δ(∂t/∂zⱼ)| per direct slot (no
        matrix assembled; NaN where a partial is not finite)."""
        with np.errstate(all="ignore"):
            bound = np.zeros(self.n)
            for forms, segments in self._levels:
                d = np.zeros(self.n)
                for gi, pos, rows in segments:
                    d[rows] = np.abs(b[gi][pos] - a[gi][pos])
                bound += d * (self._form_norms if forms is None else self._form_norms[forms])
            for gi, pos, rows in self._direct_rows:
                bound[rows] += np.abs(b[gi][pos] - a[gi][pos])
            return bound

    def param_vjp(self, v, lam):
        """λᵀ ∂F/∂θ at v (p,) without forming ∂F/∂θ: Σ_forms A_θᵀ(∂t/∂L ∘ λ) + direct slots."""
        with np.errstate(all="ignore"):
            outs = self._evaluate(v, False)
            out = np.zeros(self.p)
            m = len(self.c0)
            for forms, segments in self._levels:
                d = np.zeros(self.n)
                for gi, pos, rows in segments:
                    d[rows] = outs[gi][pos]
                w = d * lam
                out += self.Ath.T @ (w if forms is None else np.bincount(forms, w, minlength=m))
            for gi, pos, rows, ix in self._theta_slots:
                out += np.bincount(ix, np.broadcast_to(outs[gi][pos], rows.shape) * lam[rows],
                                   minlength=self.p)
            return out

    def param_jacobian(self, v):
        """∂F/∂θ (n × p) at v = (z, θ)."""
        with np.errstate(all="ignore"):
            return self._assemble(self._evaluate(v, False), _THETA, self.Ath, self.p)

    # -- assembly ------------------------------------------------------------------- #
    def _rows(self, outs, pos):
        """One output of every group, placed in its rows (F for pos 0, N(F) for pos -1)."""
        if self._single:
            out = outs[0][pos]
            return out.astype(float) if np.ndim(out) else np.full(self.n, float(out))
        values = np.empty(self.n)
        for g, out in zip(self._groups, outs):
            values[g.rows] = out[pos]
        return values

    def _assemble(self, outs, kind, A_part, width):
        """∂F/∂(columns of kind) = Σ_levels diag(∂t/∂L) A[form of row] + direct partials."""
        M = None
        for forms, segments in self._levels:
            d = np.zeros(self.n)
            for gi, pos, rows in segments:
                d[rows] = outs[gi][pos]
            part = d[:, None] * (A_part if forms is None else A_part[forms])
            M = part if M is None else M + part
        if M is None:
            M = np.zeros((self.n, width))
        flat, segments, size = self._direct[kind]
        if size:
            values = np.empty(size)
            for gi, pos, a, b in segments:
                values[a:b] = outs[gi][pos]
            M.ravel()[flat] += values                          # (row, column) pairs distinct
        return M


def _form_levels(groups, n):
    """The form slots as levels: level q holds each row's q-th form slot (forms: the form of
    each row, None for 0, 1, ..., n-1; segments: (group, output, rows))."""
    levels = []
    depth = max((sum(k == _FORM for k in g.kinds) for g in groups), default=0)
    for q in range(depth):
        forms = np.zeros(n, dtype=np.intp)
        segments = []
        for gi, g in enumerate(groups):
            slots = [(pos, ix) for pos, k, ix in g.derivatives if k == _FORM]
            if q < len(slots):
                pos, ix = slots[q]
                forms[g.rows] = ix
                segments.append((gi, pos, g.rows))
        identity = np.array_equal(forms, np.arange(n)) and sum(len(s[2]) for s in segments) == n
        levels.append((None if identity else forms, segments))
    return levels


def _direct_plan(groups, kind, width):
    """(flat indices, segments (group, output, start, stop), size) of the slots of ``kind``."""
    flats, segments, size = [], [], 0
    for gi, g in enumerate(groups):
        for pos, k, ix in g.derivatives:
            if k == kind:
                flats.append(g.rows * width + ix)
                segments.append((gi, pos, size, size + len(g.rows)))
                size += len(g.rows)
    flat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.intp)
    return flat, segments, size


class _Group:
    """The rows of one pattern: their slots' index arrays and the pattern's generated function."""

    def __init__(self, rows, kinds, indices, fn, value_fn, derivative_slots, affine, n, p, m):
        self.rows = np.asarray(rows, dtype=np.intp)
        self.all_rows = len(rows) == n and np.array_equal(self.rows, np.arange(n))
        self.kinds = kinds
        self.fn, self.value_fn = fn, value_fn
        self.affine = affine
        self.n = n
        length = {_Z: n, _THETA: p, _FORM: m, _CONST: None}
        self.gathers = [(k, _as_slice(ix, length[k])) for k, ix in zip(kinds, indices)]
        self.noise_slots = [j for j, k in enumerate(kinds) if k == _FORM]
        self.derivatives = [(pos, kinds[j], np.asarray(indices[j], dtype=np.intp))
                            for pos, j in enumerate(derivative_slots, start=1)]

    def evaluate(self, v, L, NL):
        """[t, ∂t/∂slot..., N(t)] over this group's rows."""
        values = self._gathered(v, L)
        for j in self.noise_slots:
            values.append(0.0 if NL is None else NL[self.gathers[j][1]])
        return self.fn(*values)

    def value(self, v, L):
        """[t] over this group's rows."""
        return self.value_fn(*self._gathered(v, L))

    def _gathered(self, v, L):
        values = []
        n = self.n
        for kind, ix in self.gathers:
            if kind == _Z:
                values.append(v[:n][ix])
            elif kind == _THETA:
                values.append(v[n:][ix])
            elif kind == _FORM:
                values.append(L[ix])
            else:
                values.append(ix)                                    # the constants themselves
        return values


def _as_slice(ix, length):
    """A slice where the index array is 0, 1, ..., length-1 (a view instead of a gather)."""
    if isinstance(ix, np.ndarray) and ix.dtype.kind == "f":
        return ix                                                    # constants
    ix = np.asarray(ix, dtype=np.intp)
    if length is not None and len(ix) == length and np.array_equal(ix, np.arange(length)):
        return slice(None)
    return ix


# --------------------------------------------------------------------------- #
# finding the structure                                                        #
# --------------------------------------------------------------------------- #

def roll(rows, unknowns, params, *, min_unknowns: int = ROLL_FROM):
    """The :class:`RolledSystem` of ``rows`` (residuals in ``unknowns`` and ``params``), or
    None where it would not gain (fewer than ``min_unknowns`` unknowns, too many patterns,
    an expression NumPy cannot print)."""
    unknowns, params = list(unknowns), list(params)
    n, p = len(unknowns), len(params)
    if n < min_unknowns or len(rows) != n:
        return None
    args = unknowns + params
    index = {s: i for i, s in enumerate(args)}
    forms = _Forms(index, args)
    with deep_recursion():
        reduced = [_reduce(r, index, forms, {}) for r in rows]
        patterns: dict = {}
        for i, r in enumerate(reduced):
            template, atoms = _template(r)
            kinds = tuple(_kind(a, index, n, forms) for a in atoms)
            patterns.setdefault((template, kinds), []).append((i, atoms))
    if len(patterns) > max(1, n // MAX_GROUPS_SHARE):
        return None
    A, c0, B, b0 = forms.matrices(len(args))
    groups = []
    try:
        _check_supported([t for t, _ in patterns], "math")           # as the rows one by one
        for (template, kinds), members in patterns.items():
            groups.append(_group(template, kinds, members, index, forms, n, p))
    except (NotImplementedError, ValueError, TypeError, DerivationError):
        return None                                                  # refused entry by entry
    return RolledSystem(n, p, A, c0, B, b0, groups)


class _Forms:
    """The linear forms found so far: L_k = Σ aₖⱼ vⱼ + cₖ, one placeholder per distinct form."""

    def __init__(self, index, args):
        self.index = index
        self.args = args
        self.keys: dict = {}
        self.placeholders: list = []
        self.rows: list = []                                         # [(coefficients, constant)]

    def placeholder(self, terms, constant):
        key = (tuple(terms), constant)
        found = self.keys.get(key)
        if found is None:
            real = all(c.is_real for _, c in terms) and constant.is_real and all(
                self.args[j].is_real for j, _ in terms)
            found = sp.Dummy(f"L{len(self.placeholders)}", real=True) if real else \
                sp.Dummy(f"L{len(self.placeholders)}")
            self.keys[key] = found
            self.placeholders.append(found)
            self.rows.append((terms, constant))
        return found

    def position(self, placeholder) -> int:
        if not hasattr(self, "_positions"):
            self._positions = {s: k for k, s in enumerate(self.placeholders)}
        return self._positions[placeholder]

    def matrices(self, width):
        """(A, c₀, B, b₀): L = A v + c₀ and N(L) = B |v| + b₀ (the running error bound of the
        sum as written: each term c·s contributes |c||s| times 1 (c = 1), 2 (c exact) or 3
        (c rounded), a constant |c| or 2|c|)."""
        m = len(self.rows)
        A, B = np.zeros((m, width)), np.zeros((m, width))
        c0, b0 = np.zeros(m), np.zeros(m)
        for k, (terms, constant) in enumerate(self.rows):
            for j, c in terms:
                A[k, j] += float(c)
                B[k, j] += abs(float(c)) * (1 if c == 1 else 3 if _rounded(c) else 2)
            c0[k] = float(constant)
            b0[k] = abs(float(constant)) * (2 if _rounded(constant) else 1) if constant else 0.0
        return A, c0, B, b0


def _rounded(c) -> bool:
    """Whether the number c is rounded when printed (rounding.py's N(c) = |c|)."""
    n = rounding_scale(sp.sympify(c))
    return n != 0


def _linear_term(t, index):
    """(argument position, coefficient) of a term c·s or s, else None."""
    if t.is_Symbol:
        j = index.get(t)
        return None if j is None else (j, sp.S.One)
    if t.is_Mul and len(t.args) == 2 and t.args[0].is_Number and t.args[1].is_Symbol:
        j = index.get(t.args[1])
        return None if j is None else (j, t.args[0])
    return None


def _split(add, index):
    """(linear terms [(position, c)], constant terms, other terms) of a sum."""
    linear, constants, rest = [], [], []
    for t in add.args:
        term = _linear_term(t, index)
        if term is not None:
            linear.append(term)
        elif t.is_Number:
            constants.append(t)
        else:
            rest.append(t)
    return linear, constants, rest


def _reduce(e, index, forms, memo):
    """e with every sum of two or more terms c·s replaced by its form's placeholder."""
    if e.is_Atom:
        return e
    done = memo.get(e)
    if done is not None:
        return done
    out = None
    if e.is_Add:
        linear, constants, rest = _split(e, index)
        if len(linear) >= 2:                                         # Σ cⱼ vⱼ + c₀ -> L
            L = forms.placeholder(sorted(linear), sp.Add(*constants))
            others = [_reduce(t, index, forms, memo) for t in rest]
            out = sp.Add(L, *others, evaluate=False) if others else L
    elif e.is_Mul and len(e.args) == 2 and e.args[0] is sp.S.NegativeOne \
            and e.args[1].func in _ODD and e.args[1].args[0].is_Add:
        linear, constants, rest = _split(e.args[1].args[0], index)
        if len(linear) >= 2 and not rest:                            # -f(L) = f(-L), f odd: rows
            L = forms.placeholder(sorted((j, -c) for j, c in linear),   # SymPy wrote as ±f(±L)
                                  -sp.Add(*constants))               # share one pattern
            out = e.args[1].func(L, evaluate=False)
    if out is None:
        args = [_reduce(a, index, forms, memo) for a in e.args]
        out = e if all(a is b for a, b in zip(args, e.args)) else _remake(e, args)
    memo[e] = out
    return out


_ODD = frozenset({sp.sin, sp.tan, sp.sinh, sp.tanh, sp.asin, sp.atan, sp.asinh, sp.atanh, sp.erf})


_SLOTS: dict = {}


def _slot(j: int, real: bool):
    """The j-th positional slot Symbol (shared by all patterns, so equal patterns compare equal)."""
    key = (j, real)
    s = _SLOTS.get(key)
    if s is None:
        s = _SLOTS[key] = sp.Symbol(f"_k{j}", real=True) if real else sp.Symbol(f"_k{j}")
    return s


def _template(r):
    """(r over positional slots, the atoms in slot order): Symbols and Floats by first
    appearance in a preorder walk, so rows of one shape get one pattern."""
    atoms: list = []
    seen: dict = {}
    stack = [r]
    while stack:
        e = stack.pop()
        if e.is_Symbol or e.is_Float:
            if e not in seen:
                seen[e] = _slot(len(atoms), bool(e.is_Float or e.is_real))
                atoms.append(e)
            continue
        stack.extend(reversed(e.args))
    return _renamed(r, seen, {}), atoms


def _renamed(e, mapping, memo):
    if e in mapping:
        return mapping[e]
    if e.is_Atom:
        return e
    done = memo.get(e)
    if done is None:
        done = memo[e] = _remake(e, [_renamed(a, mapping, memo) for a in e.args])
    return done


def _kind(atom, index, n, forms) -> int:
    if atom.is_Float:
        return _CONST
    j = index.get(atom)
    if j is None:
        return _FORM
    return _Z if j < n else _THETA


_NOISE: dict = {}


def _noise_slot(j: int):
    s = _NOISE.get(j)
    if s is None:
        s = _NOISE[j] = sp.Symbol(f"_nu{j}", nonnegative=True)
    return s


def _group(template, kinds, members, index, forms, n, p):
    """The :class:`_Group` of one pattern: its derivatives, noise and generated function."""
    slots = [_slot(j, bool(s.is_real)) for j, s in enumerate(_slots_of(template, len(kinds)))]
    derivative_slots = [j for j, k in enumerate(kinds) if k != _CONST]
    derivatives = [sp.diff(template, slots[j]) for j in derivative_slots]
    inputs = {}
    for j, k in enumerate(kinds):
        if k == _FORM:
            inputs[slots[j]] = _noise_slot(j)                        # N(Lₖ), evaluated from B
        elif k == _CONST:
            inputs[slots[j]] = sp.Abs(slots[j], evaluate=False)      # N(c) = |c|
    noise = rounding_scale(template, inputs=inputs)
    noise_args = [_noise_slot(j) for j, k in enumerate(kinds) if k == _FORM]
    fn = straight_line([template] + derivatives + [noise], slots + noise_args, "numpy")
    value_fn = straight_line([template], slots, "numpy")
    dependent = {slots[j] for j, k in enumerate(kinds) if k in (_Z, _FORM)}
    affine = not any(d.free_symbols & dependent for d, j in zip(derivatives, derivative_slots)
                     if kinds[j] in (_Z, _FORM))
    rows = [i for i, _ in members]
    indices = []
    for j, k in enumerate(kinds):
        atoms = [a[j] for _, a in members]
        if k == _CONST:
            indices.append(np.array([float(a) for a in atoms]))
        elif k == _FORM:
            indices.append([forms.position(a) for a in atoms])
        elif k == _Z:
            indices.append([index[a] for a in atoms])
        else:
            indices.append([index[a] - n for a in atoms])
    return _Group(rows, kinds, indices, fn, value_fn, derivative_slots, affine, n, p,
                  len(forms.rows))


def _slots_of(template, k):
    """The slot Symbols of a template in position order (each with the assumptions it has)."""
    found = {s.name: s for s in template.free_symbols}
    return [found[f"_k{j}"] for j in range(k)]
