"""The derivation as :class:`Step` records, in the order a person writes it (no formatting).

Scalar unknowns get the explicit formulas (∂x/∂θ = -F_θ/F_x, then each higher order).
Systems are written in matrix notation: J = ∂F/∂z as a named matrix with its entries
shown once, the first derivatives as J ∂z/∂θ = -∂F/∂θ, i.e. ∂z/∂θ = -J⁻¹ ∂F/∂θ, each
higher order as J z_S = -R_S with the entries of R_S; never expanded inverses.
"""
from __future__ import annotations


from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from symimplicit.derive.conditions import failure

__all__ = ["Step", "STEP_KINDS", "StepWriter", "Named", "ENTRY_BUDGET"]

STEP_KINDS = ("statement", "differentiate", "partials", "collect", "solve", "result",
              "higher_order", "condition")

LISTED = 6
"""Lists of names longer than this are shown as their first three, …, and the last."""


def listed(items) -> str:
    """``x, y, z`` or, past LISTED names, ``z1, z2, z3, …, z50`` (a sentence stays a line)."""
    names = [str(v) for v in items]
    if len(names) > LISTED:
        names = names[:3] + ["…"] + names[-1:]
    return ", ".join(names)


ENTRY_BUDGET = 120
"""Most entries of one matrix a step lists (the rest are counted in the sentence)."""

ENTRY_OPS_BUDGET = 1500
"""Most operations (sympy.count_ops, summed) of the entries one step lists: the second-order
R_S of a dense 6-unknown tanh cell has entries of ~400 operations each (23 pages in full)."""

FACTOR_OPS = 800
"""R_S entries up to this many operations are factored for display (sympy.factor: 0.1 s each)."""

ABBREVIATE_FROM = 4
"""A function application of at least this many operations that recurs in R_S is named once."""

SMALL_SYSTEM = 3
"""Systems up to this many unknowns show J and ∂F/∂θ as bracketed matrices."""

EXPANDED_OPS = 40
"""A small system's expanded derivative entries are shown when each has at most this many
operations (sympy.count_ops); longer ones would bury the solve."""


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


class Named(sp.MatrixSymbol):
    """A matrix written by its name: ``Named("J", n, n)``, ``Named("∂F/∂θ", n, p, tex)``.

    The LaTeX form is part of the name (``plain|tex``) so that it survives rebuilding.
    """

    def __new__(cls, plain: str, rows: int, cols: int, tex: str | None = None):
        return super().__new__(cls, f"{plain}|{tex or plain}", rows, cols)

    @property
    def plain(self) -> str:
        return self.name.split("|", 1)[0]

    def _latex(self, printer, **kwargs):
        return self.name.split("|", 1)[1]

    def _sympystr(self, printer, **kwargs):
        return self.plain

    def _pretty(self, printer, **kwargs):
        from sympy.printing.pretty.stringpict import prettyForm
        return prettyForm(self.plain)


def _factored(e):
    """e factored for display where that is cheap (R_S of a tanh cell: 377 operations -> 55,
    tanh''(sᵢ)·(wᵢ·z_θ)(wᵢ·z_φ))."""
    if not e.is_Add or sp.count_ops(e) > FACTOR_OPS:
        return e
    f = sp.factor(e)
    return f if sp.count_ops(f) < sp.count_ops(e) else e


def _as_function(shown, theta):
    """z(θ) for a Symbol z; the user's f(x) when its arguments are θ, else f(θ)."""
    if isinstance(shown, AppliedUndef):
        return shown if shown.args == tuple(theta) else shown.func(*theta)
    return sp.Function(shown.name)(*theta)


def _entry_symbol(name: str, *index: int) -> sp.Symbol:
    """``J_1_2`` (printed J_{1,2}): 1-based entry names."""
    return sp.Symbol(name + "".join(f"_{i + 1}" for i in index))


class StepWriter:
    """Turns a Derivation's memoised results into :class:`Step` records (no formatting)."""

    def __init__(self, d):
        self.d = d
        st = d.statement
        self.st = st
        self.theta = d.params
        self.z = d.unknowns
        self.n = len(self.z)
        self.n_user = len(st.unknowns)
        self.scalar = d.is_scalar
        # the unknowns as functions of the parameters: x(a, b); an applied unknown f(x) as given
        self.Z = tuple(_as_function(st.applied.shown(z), self.theta) for z in self.z)
        self.F_name = tuple(sp.Function("F" if self.scalar else f"F_{i + 1}")(*self.z, *self.theta)
                            for i in range(self.n))
        self.J = Named("J", self.n, self.n)

    def write(self, first: Any, higher: list) -> list[Step]:
        steps = [self.statement()]
        first = list(first)
        if self.scalar:
            for j in first:
                steps += self.first_order(j)
        elif first:
            steps += self.first_order_system(first)
        steps += [self.higher_order(S) for S in higher]
        steps.append(self.condition())
        if self.st.applied:
            steps = [self._shown(step) for step in steps]
        return steps

    def _shown(self, step: Step) -> Step:
        """The step with the Symbol f of an applied unknown written f(x), except where F is
        differentiated with respect to it (∂F/∂f stays a partial in the variable f)."""
        F_funcs = {F.func for F in self.F_name}
        internal = tuple(self.st.applied.to_function)

        def shown(eq):
            if not eq.has(*internal):
                return eq
            if isinstance(eq, sp.Equality):       # rebuilt unevaluated (an Eq of matrix
                return sp.Eq(shown(eq.lhs), shown(eq.rhs), evaluate=False)   # products would expand)
            keep = {a: sp.Dummy() for a in eq.atoms(sp.Derivative, AppliedUndef)
                    if (a.expr if isinstance(a, sp.Derivative) else a).func in F_funcs}
            back = {v: k for k, v in keep.items()}
            return self.st.to_user(eq.xreplace(keep)).xreplace(back)
        return Step(step.kind, step.text, tuple(shown(e) for e in step.equations), step.wrt)

    # pieces ------------------------------------------------------------------ #
    def _unknowns_text(self) -> str:
        return listed(self.st.to_user(self.st.unknowns))

    def _params_text(self) -> str:
        return listed(self.theta) or "no parameters"

    def _z_text(self) -> str:
        z = self.d.unknowns
        return str(z[0]) if self.scalar else "(" + listed(z) + ")"

    def _subject(self) -> str:
        """"The unknown x is" / "The unknowns x, y are": grammar follows the number."""
        many = len(self.st.unknowns) > 1
        return f"The unknown{'s' if many else ''} {self._unknowns_text()}"

    def statement(self) -> Step:
        st, F = self.st, self.d.residual
        who = self._subject()
        many = len(st.unknowns) > 1
        residual = tuple(sp.Eq(e, 0) for e in F)
        if st.kind == "root":
            text = (f"{who} {'are' if many else 'is'} defined implicitly by F = 0 with parameters "
                    f"{self._params_text()}.")
            eqs = residual
        elif st.kind == "fixed_point":
            text = (f"{who} {'are' if many else 'is'} a fixed point x = f(x) with parameters "
                    f"{self._params_text()}; equivalently F = x - f(x) = 0.")
            eqs = tuple(sp.Eq(x, f) for x, f in zip(st.unknowns, st.expressions))
            if self.scalar:
                eqs += residual
        else:
            objective = sp.Symbol("f")
            if st.multipliers:
                L = st.objective + sum(l * g for l, g in zip(st.multipliers, st.constraints))
                text = (f"{who} minimise{'' if many else 's'} f subject to g = 0 with parameters "
                        f"{self._params_text()}; the Lagrangian L = f + λ·g is stationary, "
                        f"so F = (∇L, g) = 0 in ({', '.join(map(str, self.z))}).")
                eqs = (sp.Eq(objective, st.objective),) + \
                    tuple(sp.Eq(g, 0) for g in st.constraints) + \
                    (sp.Eq(sp.Symbol("L"), L),) + residual
            else:
                text = (f"{who} minimise{'' if many else 's'} f with parameters {self._params_text()}; "
                        "at the minimum the gradient vanishes: F = ∇f = 0.")
                eqs = (sp.Eq(objective, st.objective),) + residual
        return Step("statement", text, eqs)

    def _dZ(self, S: tuple[int, ...], rows: int | None = None):
        """∂^S z as unevaluated Derivatives of z(θ): Expr (scalar) or column Matrix."""
        wrt = [self.theta[j] for j in S]
        items = [sp.Derivative(Z, *wrt) for Z in self.Z[: rows or len(self.Z)]]
        return items[0] if self.scalar else sp.Matrix(items)

    # scalar --------------------------------------------------------------------- #
    def first_order(self, j: int) -> list[Step]:
        d, th = self.d, self.theta[j]
        on_theta = {z: Z for z, Z in zip(self.z, self.Z)}
        total = [e.xreplace(on_theta).diff(th) for e in d.residual]
        Fx, Ft = d.jacobian[0, 0], d.param_jacobian[0, j]
        dZ = self._dZ((j,))
        value = d.derivative(th)
        wrt = (th,)
        F = self.F_name[0]
        diff_eqs = (sp.Eq(total[0], 0),)
        partials = (sp.Eq(sp.Derivative(F, self.z[0]), Fx), sp.Eq(sp.Derivative(F, th), Ft))
        collect = (sp.Eq(sp.Add(sp.Mul(Fx, dZ, evaluate=False), Ft, evaluate=False), 0),)
        formula = -sp.Derivative(F, th) / sp.Derivative(F, self.z[0])
        solve = (sp.Eq(dZ, formula), sp.Eq(dZ, -Ft / Fx))
        result = (sp.Eq(dZ, value),)
        zt = self._z_text()
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

    # systems -------------------------------------------------------------------- #
    def _entries(self, name: str, M: sp.Matrix) -> tuple[tuple, int]:
        """(Eq(name_ij, M_ij) for the nonzero entries within the budget, how many left out)."""
        rows = [sp.Eq(_entry_symbol(name, i, j) if M.cols > 1 else _entry_symbol(name, i),
                      M[i, j]) for i in range(M.rows) for j in range(M.cols) if M[i, j] != 0]
        shown, size = [], 0
        for row in rows[:ENTRY_BUDGET]:                       # within both budgets, at least one
            size += sp.count_ops(row.rhs)
            if shown and size > ENTRY_OPS_BUDGET:
                break
            shown.append(row)
        return tuple(shown), len(rows) - len(shown)

    def _matrix_equations(self, named: Named, name: str, M: sp.Matrix) -> tuple[tuple, str]:
        """``named = [entries]`` for a small matrix, else its nonzero entries, once."""
        if self.n <= SMALL_SYSTEM and M.cols <= SMALL_SYSTEM:
            return (sp.Eq(named, M, evaluate=False),), ""
        eqs, left = self._entries(name, M)
        zeros = sum(1 for e in M if e == 0)
        note = f" ({zeros} zero entries omitted" if zeros else ""
        if left:
            note += ("; " if note else " (") + f"{left} further nonzero entries not shown"
        return eqs, note + (")" if note else "")

    def first_order_system(self, js: list[int]) -> list[Step]:
        d = self.d
        th = [self.theta[j] for j in js]
        wrt = tuple(th)
        n, p = self.n, len(js)
        zt, tt = self._z_text(), "(" + listed(th) + ")"
        Ft = Named("∂F/∂θ", n, p, r"F_{\theta}")
        dz = Named("∂z/∂θ", n, p, r"\frac{\partial z}{\partial \theta}")
        J_eqs, J_note = self._matrix_equations(self.J, "J", d.jacobian)
        B = d.param_jacobian[:, js]
        B_eqs, B_note = self._matrix_equations(Ft, "F_theta", B)
        collect = (sp.Eq(sp.MatAdd(sp.MatMul(self.J, dz), Ft), sp.ZeroMatrix(n, p),
                         evaluate=False),)
        solve = (sp.Eq(dz, sp.MatMul(-1, sp.Inverse(self.J), Ft), evaluate=False),)
        per = tuple(sp.Eq(self._dZ((j,)), sp.MatMul(-1, sp.Inverse(self.J),
                                                     Named(f"∂F/∂{self.theta[j]}", n, 1,
                                                           rf"F_{{{self.theta[j].name}}}")),
                          evaluate=False) for j in js) if p <= 4 else ()
        return [
            Step("differentiate", f"Differentiate F({zt}, θ) = 0 with respect to θ = {tt}, "
                 f"treating {zt} as a function of the parameters: J ∂z/∂θ + ∂F/∂θ = 0 with "
                 "the Jacobian J = ∂F/∂z.", collect, wrt),
            Step("partials", f"The Jacobian J = ∂F/∂{zt} ({n} × {n}) has the entries"
                 f"{J_note}.", J_eqs, wrt),
            Step("partials", f"The parameter Jacobian ∂F/∂θ ({n} × {p}) has the entries"
                 f"{B_note}.", B_eqs, wrt),
            Step("solve", "Solve the linear system: it has one solution where J is invertible; "
                 "every column is one solve with the same J, never an expanded inverse.",
                 solve, wrt),
            Step("result", "The first derivatives, column by column: J ∂z/∂θⱼ = -∂F/∂θⱼ "
                 "(derivative() returns the unevaluated solve; .doit() expands it).",
                 per or solve, wrt),
        ] + self._expanded_entries(th)

    def _expanded_entries(self, th: list) -> list[Step]:
        """For a small system, the solve expanded entry by entry (multipliers included),
        when every entry stays short; larger systems keep the solve unevaluated."""
        if self.n > SMALL_SYSTEM:
            return []
        eqs = []
        for t in th:
            column = self.d.derivative(t, explicit=True, multipliers=True)
            if any(sp.count_ops(e) > EXPANDED_OPS for e in column):
                return []
            eqs += [sp.Eq(sp.Derivative(Z, t), e) for Z, e in zip(self.Z, column)]
        return [Step("result", "For this small system the solve expands entry by entry.",
                     tuple(eqs), tuple(th))]

    def _display(self, expr):
        """Placeholders of lower-order derivatives as ∂z/∂θ... for display."""
        back = {}
        for T, syms in self.d.placeholder_table().items():
            back.update(zip(syms, self._dZ(T)))
        back.update(zip(self.z, self.z))
        return expr.xreplace(back)

    def higher_order(self, S: tuple[int, ...]) -> Step:
        d = self.d
        wrt = tuple(self.theta[j] for j in S)
        prev = ", ".join(map(str, wrt[:-1]))
        text = (f"Differentiate the derivative with respect to ({prev}) once more with respect "
                f"to {wrt[-1]}, substituting the lower-order derivatives: order {len(S)}.")
        if self.scalar:
            return Step("higher_order", text, (sp.Eq(self._dZ(S), d.derivative(*wrt)),), wrt)
        tag = "".join(self.theta[j].name for j in S)
        R = self._display(d.residual_of(S))
        R_named = Named(f"R_{tag}", self.n, 1, rf"R_{{{sp.latex(sp.Symbol(tag))}}}")
        eq = sp.Eq(sp.MatMul(self.J, self._dZ(S)), sp.MatMul(-1, R_named), evaluate=False)
        short, defined = self._abbreviated(R)
        entries, left = self._entries(f"R_{tag}", short)
        text += (f" It is the linear solve J ∂z/∂θ_S = -R_S with the same J, where R_S "
                 "has the entries" + (f" ({left} more not shown)" if left else "")
                 + (", with the repeated subexpressions ω named once" if defined else "") + ".")
        return Step("higher_order", text, (eq,) + defined + entries, wrt)

    def _abbreviated(self, R: sp.Matrix) -> tuple[sp.Matrix, tuple]:
        """R with its repeated function applications (tanh(wᵢᵀz + uᵢ), ...) named ω₁, ω₂, ...
        once, so an entry reads in lines instead of pages."""
        seen: dict = {}
        for e in R:
            for node in sp.preorder_traversal(e):
                if isinstance(node, sp.Function) and not isinstance(node, AppliedUndef) \
                        and sp.count_ops(node) >= ABBREVIATE_FROM:
                    seen[node] = seen.get(node, 0) + 1
        repeated = sorted((f for f, k in seen.items() if k > 1), key=sp.default_sort_key)
        names = {f: sp.Symbol(f"ω_{k}") for k, f in enumerate(repeated, start=1)}
        short = R.xreplace(names).applyfunc(_factored)
        return short, tuple(sp.Eq(w, f) for f, w in names.items())

    def condition(self) -> Step:
        zt = self._z_text()
        conditions = self.d.conditions
        minimize = self.st.kind == "minimize"
        needs = (f"The implicit function theorem needs det ∂F/∂{zt} ≠ 0 and F differentiable "
                 "(no kink)" + (", and a strict minimum needs the second-order condition"
                                if minimize else ""))
        if not conditions:                     # det is a nonzero constant, no kink, minimum
            text = needs + ("; all of them hold" if minimize else "; both hold") + \
                " for every value of the parameters, so the formulas hold wherever the " \
                "solution exists."
        elif any(c is sp.true for c in conditions):
            text = needs + "; " + self._fails_everywhere() + "."
        else:
            text = needs + "; the formulas fail where " + \
                ("the following relation holds." if len(conditions) == 1 else
                 "any of the following relations holds.")
        show = {sp.ImmutableMatrix(self.d.jacobian): self.J}
        shown = tuple(c.xreplace(show) for c in conditions if c is not sp.true)
        return Step("condition", text, shown)

    def _fails_everywhere(self) -> str:
        """Why a condition that is identically True fails for every parameter value."""
        if any(failure(r) is sp.true for r in self.d.second_order):
            return ("the second-order condition fails for every value of the parameters: the "
                    "stationary point is never a strict minimum (a maximum or a saddle), so "
                    "the formulas describe a stationary point only")
        return (f"det ∂F/∂{self._z_text()} vanishes identically, so the implicit function "
                "theorem applies nowhere")
