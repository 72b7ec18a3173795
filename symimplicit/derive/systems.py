"""Vector unknowns: the implicit function theorem as linear solves with one matrix J = ∂F/∂z.

Differentiating F(z(θ), θ) = 0 along a multi-index S, with placeholder symbols for the
derivatives of z, the highest derivative enters linearly through J:

    J z_S + R_S(z_T for T ⊊ S) = 0   ⇒   z_S = -J⁻¹ R_S,      R_(j) = ∂F/∂θⱼ,

so every order is a solve with the same J, and R_S is the directional derivative

    d/dθⱼ G = ∂G/∂θⱼ + Σᵢ ∂G/∂zᵢ · z_(j),ᵢ + Σ_T Σᵢ ∂G/∂z_T,ᵢ · z_{T+j},ᵢ

of G_T = J z_T + R_T (placeholders for every z_T).  The solve stays an unevaluated
:class:`LinearSolve` node (SymPy's ``MatrixSolve``): the symbolic work grows with the
entries of ∂F/∂z and ∂F/∂θ, never with an expanded inverse.  ``lambdify`` prints it as
``numpy.linalg.solve`` and ``mpmath.lu_solve``; ``doit()`` expands it (small n only).

Examples
========

>>> import sympy as sp
>>> from symimplicit import Root
>>> x, y, a, b = sp.symbols("x y a b")
>>> d = Root([x + y - a, x*y - b], [x, y], (a, b)).derive()
>>> d.derivative(a).matrix, d.derivative(a).vector
(Matrix([
[1, 1],
[y, x]]), Matrix([
[1],
[0]]))
>>> sp.simplify(d.derivative(a).doit())
Matrix([
[ x/(x - y)],
[-y/(x - y)]])
"""
from __future__ import annotations

import sympy as sp
from sympy.codegen.matrix_nodes import MatrixSolve
from sympy.matrices.expressions.matexpr import MatrixElement

from symimplicit.derive.calculus import gradients, replaced

__all__ = ["LinearSolve", "VectorPath"]


class LinearSolve(MatrixSolve):
    """The column z with ``matrix`` · z = ``vector``, unevaluated: z = A⁻¹ b.

    A subclass of ``sympy.codegen.matrix_nodes.MatrixSolve`` that also indexes
    (``z[i, 0]``), expands with ``doit()`` (LU solve of explicit matrices) and prints for
    ``lambdify``'s mpmath module as ``mpmath.lu_solve`` (NumPy: ``numpy.linalg.solve``).

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit.derive import LinearSolve
    >>> a = sp.Symbol("a")
    >>> z = LinearSolve(sp.ImmutableMatrix([[2, 0], [0, a]]), sp.ImmutableMatrix([1, 1]))
    >>> z.doit()
    Matrix([
    [1/2],
    [1/a]])
    >>> f = sp.lambdify(a, z[1, 0], "mpmath")
    >>> f(4)
    mpf('0.25')
    """

    def _entry(self, i, j, **kwargs):
        return MatrixElement(self, i, j)

    def doit(self, **hints):
        A, b = self.matrix, self.vector
        if hints.get("deep", True):
            A, b = A.doit(**hints), b.doit(**hints)
        if isinstance(A, sp.MatrixBase) and isinstance(b, sp.MatrixBase):
            return sp.ImmutableMatrix(A.LUsolve(b))            # z = A⁻¹ b, expanded
        return type(self)(A, b)

    def _mpmathcode(self, printer, **kwargs):
        return (f"{printer._module_format('mpmath.lu_solve')}("
                f"{printer._print(self.matrix)}, {printer._print(self.vector)})")

    def _sympystr(self, printer, **kwargs):
        return f"LinearSolve({printer._print(self.matrix)}, {printer._print(self.vector)})"

    def _latex(self, printer, **kwargs):
        return rf"{printer.parenthesize(self.matrix, 1000)}^{{-1}} " \
               rf"{printer.parenthesize(self.vector, 1000)}"


class VectorPath:
    """The derivatives z_S of a system's solution as linear solves with J = ∂F/∂z.

    ``solution(S)``: LinearSolve(J, -R_S) with the lower orders nested as elements of their
    own LinearSolve nodes; ``program(S)``: the same as a sequence of solves whose lower
    orders stay placeholder symbols (each solve once, CSE-friendly); ``explicit(S)``: the
    entries, solved by LU (small systems only).
    """

    def __init__(self, z, theta, jacobian: sp.Matrix, param_jacobian: sp.Matrix, where):
        self.z = tuple(z)
        self.theta = tuple(theta)
        self.J = sp.ImmutableMatrix(jacobian)
        self.B = sp.ImmutableMatrix(param_jacobian)
        self.where = where
        self._dz: dict[tuple[int, ...], tuple[sp.Dummy, ...]] = {}
        self._G: dict[tuple[int, ...], list] = {}
        self._R: dict[tuple[int, ...], sp.ImmutableMatrix] = {}
        self._solutions: dict[tuple[int, ...], LinearSolve] = {}
        self._explicit: dict[tuple[int, ...], sp.ImmutableMatrix] = {}

    # -- placeholders and total derivatives ------------------------------------ #
    def placeholders(self, S: tuple[int, ...]) -> tuple:
        """Symbols standing for ∂^S zᵢ (S = () is z itself)."""
        if not S:
            return self.z
        if S not in self._dz:
            tag = "".join(self.theta[j].name for j in S)
            self._dz[S] = tuple(sp.Dummy(f"d{z.name}_{tag}") for z in self.z)
        return self._dz[S]

    def _total(self, S: tuple[int, ...]) -> list:
        """G_S = d^S/dθ_S F(z(θ), θ) = J z_S + R_S, with placeholders for every z_T
        (R_S is stored on the way: the terms of G_S without z_S)."""
        if S not in self._G:
            if len(S) == 1:
                (j,) = S
                dz = self.placeholders(S)
                n = len(self.z)
                self._R[S] = sp.ImmutableMatrix(self.B[:, j])           # R_(j) = ∂F/∂θⱼ
                # G_(j) = J z_(j) + ∂F/∂θⱼ
                self._G[S] = [sp.Add(*[self.J[i, k] * dz[k] for k in range(n)
                                       if self.J[i, k] != 0], self.B[i, j]) for i in range(n)]
            else:
                G, R = self._along(S[-1], self._total(S[:-1]), S[:-1])
                self._G[S], self._R[S] = G, sp.ImmutableMatrix(R)
        return self._G[S]

    def _along(self, j: int, G: list, T0: tuple) -> tuple[list, list]:
        """d/dθⱼ of each entry of G_T0 (its gradient dotted with the direction of θⱼ), and
        the same without the terms in z_{T0+j} (they are J z_{T0+j})."""
        direction = {self.theta[j]: sp.S.One}
        direction.update(zip(self.z, self.placeholders((j,))))          # ż = z_(j)
        free = set().union(*(e.free_symbols for e in G))
        for T in list(self._dz):
            if free & set(self._dz[T]):
                up = self.placeholders(tuple(sorted(T + (j,))))          # ż_T = z_{T+j}
                direction.update(zip(self._dz[T], up))
        top = set(self.placeholders(T0))
        grads = gradients(G, list(direction), self.where)
        full, rest = [], []
        for g in grads:
            low = [c * direction[v] for v, c in g.items() if v not in top]
            high = [c * direction[v] for v, c in g.items() if v in top]
            rest.append(sp.Add(*low))
            full.append(sp.Add(*low, *high))
        return full, rest

    def residual(self, S: tuple[int, ...]) -> sp.ImmutableMatrix:
        """R_S (placeholders for the lower orders): J z_S + R_S = 0."""
        if S not in self._R:
            self._total(S)
        return self._R[S]

    def lower_orders(self, S: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The multi-indices T ⊊ S whose placeholders occur in R_S."""
        free = self.residual(S).free_symbols
        return [T for T, syms in self._dz.items() if T != S and free & set(syms)]

    # -- the three forms ---------------------------------------------------------- #
    def solution(self, S: tuple[int, ...]) -> LinearSolve:
        """z_S = -J⁻¹ R_S as LinearSolve(J, -R_S), lower orders nested."""
        if S not in self._solutions:
            R = self.residual(S)
            lower = {}
            for T in self.lower_orders(S):
                solved = self.solution(T)
                lower.update({s: MatrixElement(solved, i, 0)
                              for i, s in enumerate(self.placeholders(T))})
            self._solutions[S] = LinearSolve(self.J, replaced(-R, lower))
        return self._solutions[S]

    def program(self, S: tuple[int, ...]) -> list[tuple[tuple, LinearSolve]]:
        """[(placeholders of z_T, LinearSolve(J, -R_T))] for every T that z_S needs, lower
        orders first, each once; R_T refers to the earlier placeholders."""
        order: list[tuple[int, ...]] = []

        def visit(T):
            for U in self.lower_orders(T):
                visit(U)
            if T not in order:
                order.append(T)
        visit(S)
        return [(self.placeholders(T), LinearSolve(self.J, -self.residual(T))) for T in order]

    def explicit(self, S: tuple[int, ...]) -> sp.ImmutableMatrix:
        """The entries of z_S: J⁻¹ by LU, lower orders substituted (small systems only)."""
        if S not in self._explicit:
            lower = {}
            for T in self.lower_orders(S):
                lower.update(zip(self.placeholders(T), self.explicit(T)))
            column = self.J.LUsolve(-self.residual(S).xreplace(lower))
            self._explicit[S] = sp.ImmutableMatrix([sp.factor_terms(sp.together(e))
                                                    for e in column])
        return self._explicit[S]
