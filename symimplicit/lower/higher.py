"""Higher-order derivatives on the tape: vjps recorded with tape operations (``create_graph``).

The first-order vjp of a lowered primitive evaluates a derived formula at floats; here the
same formula becomes a tape node, so that differentiating the gradient again goes through
it, and through the layer again, to any order.  Every rule below is built from lowered
SymPy expressions (explicit primitives of the derived partials), never from a nested solve
or a finite difference:

* explicit primitive f(a): ``ḡ·∂f/∂aᵢ(a)`` with ∂f/∂aᵢ itself an explicit primitive (built
  lazily, cached on f), so its own vjp is the next derivative;
* scalar layer x(θ): ``ḡ·Gⱼ(X, Θ)`` with Gⱼ = ∂x/∂θⱼ = -F_θⱼ/F_x the derived formula as an
  explicit primitive of the layer's OUTPUT node X and the parameter nodes Θ.  Its derivative
  is G_x·x_θ + G_θ: exactly the second-order formula;
* vector layer z(θ) (systems, constrained argmins through their KKT system):

      λ = J⁻ᵀ z̄,   θ̄ = -F_θᵀ λ        J = ∂F/∂z(Z, Θ), F_θ = ∂F/∂θ(Z, Θ) explicit primitives

  with Z all the system unknowns (multipliers too) as the items of a hidden node of the
  layer's saved solution, and λ from :func:`solve` (x = A⁻¹b on the tape, itself
  differentiable: b̄ = A⁻ᵀx̄, Ā = -b̄xᵀ);
* inequality-constrained argmin: the same rule on the rows and columns of the active set A
  of the full KKT system (locally z_A(θ) solves F_A = 0 and every inactive μ is 0, so its
  cotangent is dropped).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from symimplicit.errors import NonDifferentiableError, SingularJacobianError
from symimplicit.tape.engine import Function, Saved, Scalar, items_of, record
from symimplicit.lower.solvers import solve_transposed

__all__ = ["active_set_vjp_tape", "explicit_vjp_tape", "layer_vjp_tape", "solve"]


def _scaled(g, d):
    """g·d, with no node when the partial d is the constant 0 or 1."""
    if d.__class__ is not Scalar:
        if d == 0:
            return 0
        if d == 1:
            return g
    return g * d


def _lowered(exprs, args, name):
    """Each expression as an explicit primitive of ``args``, or a float when it is a constant."""
    from symimplicit.lower.explicit import ExplicitPrimitive

    out = []
    for i, e in enumerate(exprs):
        e = sp.sympify(e)
        if not (e.free_symbols & set(args)):
            out.append(float(e))
        else:
            out.append(ExplicitPrimitive(e, args, name=f"{name}[{i}]"))
    return out


def _call(p, args):
    return p if p.__class__ is float else p(*args)


# -- explicit primitives -------------------------------------------------------------
def explicit_vjp_tape(g, node):
    """ḡ·∂f/∂aᵢ(a) with each partial an explicit primitive (made on first use)."""
    fn = node._fn
    partials = fn.__dict__.get("_tape_partials")
    if partials is None:
        partials = fn._tape_partials = _lowered(fn.partials, fn.args, f"∂{fn.name}")
    args = node._parents
    return [_scaled(g, _call(d, args)) for d in partials]               # ∂L/∂aᵢ = ḡ·∂f/∂aᵢ


# -- x = A⁻¹ b on the tape --------------------------------------------------------------
_SOLVES: dict[int, Function] = {}


def solve(A, b) -> list:
    """x = A⁻¹ b as tape nodes; ``A`` a list of n rows, ``b`` n entries (Scalars or numbers).

    Its vjp is b̄ = A⁻ᵀ x̄, Ā = -b̄ xᵀ, recorded with :func:`solve` again under
    ``create_graph``, so it differentiates to any order.

    Examples
    ========
    >>> from symimplicit.tape import Scalar, grad
    >>> from symimplicit.lower.higher import solve
    >>> a = Scalar(2.0)
    >>> x, y = solve([[a, 1.0], [0.0, 4.0]], [1.0, 8.0])
    >>> x.value, grad(x, [a])[0]              # x = (1 - 2)/a, ∂x/∂a = 1/a²
    (-0.5, 0.25)
    """
    n = len(b)
    if n == 1:
        return [_lift(b[0]) / _lift(A[0][0])]                            # x = b/a
    fn = _SOLVES.get(n)
    if fn is None:
        fn = _SOLVES[n] = Function(f"Solve{n}", _solve_forward, vjp=_solve_vjp,
                                   n_outputs=n, vjp_tape=_solve_vjp_tape)
    flat = [_lift(A[i][j]) for i in range(n) for j in range(n)] + [_lift(v) for v in b]
    return list(fn(*flat))


def _lift(v):
    return v if isinstance(v, Scalar) else Scalar(float(v))


def _solve_forward(*values):
    n = _order(len(values))
    A = np.array(values[:n * n], dtype=float).reshape(n, n)
    try:
        x = np.linalg.solve(A, np.array(values[n * n:], dtype=float))
    except np.linalg.LinAlgError as exc:
        raise SingularJacobianError(f"solve on the tape: the {n}×{n} matrix is singular ({exc})",
                                    value=A) from exc
    return Saved(tuple([float(v) for v in x]), A)


def _order(n_values: int) -> int:
    n = int(round((-1 + (1 + 4 * n_values) ** 0.5) / 2))               # n² + n values
    return n


def _solve_vjp(g, node):
    A = node.state
    bbar = np.linalg.solve(A.T, np.array(g, dtype=float))               # b̄ = A⁻ᵀ x̄
    Abar = -np.outer(bbar, np.array(node.value))                        # Ā = -b̄ xᵀ
    return [float(v) for v in Abar.ravel()] + [float(v) for v in bbar]


def _solve_vjp_tape(g, node):
    n = len(node.value)
    A = node._parents[:n * n]
    x = items_of(node)                                                  # the outputs as nodes
    bbar = solve([[A[j * n + i] for j in range(n)] for i in range(n)], g)   # b̄ = A⁻ᵀ x̄
    return [-(bbar[i] * x[j]) for i in range(n) for j in range(n)] + bbar   # Ā = -b̄ xᵀ


# -- implicit layers ---------------------------------------------------------------------
def layer_vjp_tape(layer):
    """The ``vjp_tape`` of an :class:`~symimplicit.lower.layers.ImplicitLayer` (lazy: nothing
    is lowered until the first ``create_graph`` pass through the layer)."""
    if layer.compiled.vector:
        return _VectorRule(layer)
    return _ScalarRule(layer)


class _ScalarRule:
    """ḡ·Gⱼ(X, Θ), Gⱼ = ∂x/∂θⱼ = -F_θⱼ/F_x lowered as explicit primitives of (x, θ)."""

    def __init__(self, layer):
        self.layer = layer
        self.gradients = None

    def __call__(self, g, node):
        layer = self.layer
        if self.gradients is None:
            c = layer.compiled
            self.gradients = _lowered(list(c.derivation._raw_gradient()), c.args, f"∂{layer.name}")
        layer.vjp(1.0, node)                          # the first-order checks (singular F_x ...)
        args = (node, *node._parents)                 # X: the layer's own output node
        return [_scaled(g, _call(G, args)) for G in self.gradients]


class _VectorRule:
    """λ = J⁻ᵀ z̄, θ̄ = -F_θᵀ λ with J, F_θ explicit primitives of (Z, Θ)."""

    def __init__(self, layer):
        self.layer = layer
        self.full = None

    def _compiled(self):
        return self.layer.compiled

    def _lower(self):
        layer, c = self.layer, self._compiled()
        self.J = _lowered(c.jacobian_exprs, c.args, f"∂F/∂z of {layer.name}")
        self.Ftheta = _lowered(c.param_jacobian_exprs, c.args, f"∂F/∂θ of {layer.name}")
        # the hidden node of all system unknowns z = (x, λ) at the saved solution
        self.full = Function(f"{layer.name}.z", _never, vjp=self._full_vjp,
                             n_outputs=c.n, vjp_tape=self._full_vjp_tape)

    def __call__(self, g, node):
        if self.full is None:
            self._lower()
        c = self._compiled()
        z = self._solution(node.state)
        joint = record(self.full, [float(v) for v in z], node._parents, node.state)[0]._parents[0]
        g = list(g) if isinstance(g, (list, tuple)) else [g]
        zbar = g + [0] * (c.n - len(g))                                   # multipliers: no cotangent
        return self._full_vjp_tape(zbar, joint)

    def _solution(self, state):
        return state[0]                                                   # (z, lu, θ)

    def _rows(self, state):
        return range(self._compiled().n)                                  # every unknown

    def _full_vjp(self, g, node):
        c = self.layer.compiled
        z, lu, theta = node.state                                         # the forward's factorisation
        lam = solve_transposed(lu, np.array(g, dtype=float))              # Jᵀ λ = z̄
        return [float(v) for v in -(c.param_jacobian(z, theta).T @ lam)]  # θ̄ = -F_θᵀ λ

    def _full_vjp_tape(self, g, node):
        c = self._compiled()
        n, p = c.n, c.p
        rows = list(self._rows(node.state))                               # the equations that hold
        args = (*items_of(node), *node._parents)                          # (Z, Θ) as nodes
        J = [_call(e, args) for e in self.J]
        JT = [[J[j * n + i] for j in rows] for i in rows]
        lam = solve(JT, [g[i] for i in rows])                             # λ = J⁻ᵀ z̄ (on the rows)
        Ft = [_call(e, args) for e in self.Ftheta]
        out = []
        for k in range(p):                                                # θ̄ₖ = -Σᵢ (F_θ)ᵢₖ λᵢ
            total = 0
            for r, i in enumerate(rows):
                term = _scaled(lam[r], Ft[i * p + k])
                total = term if (total.__class__ is int and total == 0) else total + term
            out.append(-total if isinstance(total, Scalar) or total != 0 else 0)
        return out


def active_set_vjp_tape(layer):
    """The ``vjp_tape`` of an :class:`~symimplicit.lower.inequality.InequalityLayer`."""
    return _ActiveSetRule(layer)


class _ActiveSetRule(_VectorRule):
    """:class:`_VectorRule` on the active set's rows and columns of the full KKT system."""

    def _compiled(self):
        return self.layer.kkt.c

    def __call__(self, g, node):
        point, _ = node.state
        if point.weak:                    # the first-order rule raises NonDifferentiableError ...
            self.layer._vjp(g, node)
            raise NonDifferentiableError(  # ... or, with side=, gives one-sided first derivatives only
                f"{self.layer.name}: create_graph at a weakly active constraint: one-sided "
                "derivatives have no second derivative here (the active set changes)",
                point=self.layer.kkt.point(point.z, node.state[1]))
        return super().__call__(g, node)

    def _solution(self, state):
        return state[0].z                                                 # (KKTPoint, θ)

    def _rows(self, state):
        return self.layer.kkt.indices(state[0].active)                    # x, λ, μ_A

    def _full_vjp(self, g, node):
        point, theta = node.state
        kkt, idx = self.layer.kkt, self.layer.kkt.indices(node.state[0].active)
        lam = np.linalg.solve(point.jacobian.T, np.array(g, dtype=float)[idx])   # J_Aᵀ λ = z̄_A
        return [float(v) for v in -(kkt.param_jacobian(point.z, theta)[idx].T @ lam)]


def _never(*values):
    raise AssertionError("the hidden solution node is recorded from a saved solution, never called")
