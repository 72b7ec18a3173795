"""``layer.map``: many calls of one implicit layer recorded as one tape node.

The forward solves every instance at once with the NumPy sweep of the same statement
(:class:`~symimplicit.lower.vectorized.LoweredStatement`: the one batched Newton, the same
checks at every solution); the backward is one vectorised vjp with the gradients that
solve already computed:

    θ̄ᵢ = Σₖ x̄ᵢₖ ∂xᵢₖ/∂θᵢ            (instance i, unknown k; a shared θ sums over i)

so N layers cost one batched solve and one (N, n, p) contraction instead of N tape calls.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from symimplicit.errors import ArgumentError, StatementError
from symimplicit.lower.checks import SINGULAR_COND, SINGULAR_SENSITIVITY
from symimplicit.tape.engine import Function, Scalar, Saved

__all__ = ["map_layer", "BATCHED_METHODS"]

BATCHED_METHODS = ("newton", "linear")
"""Solver methods whose batched solve is the layer's own (damped Newton, or its one exact step)."""


def _is_sequence(value) -> bool:
    return isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes))


def _columns(layer, args) -> tuple[int, list]:
    """(N, per-parameter entries): each entry a value (shared) or a list of N values."""
    params = layer.compiled.params
    if len(args) != len(params):
        raise ArgumentError(f"{layer.name}.map takes the {len(params)} parameter(s) {params} in "
                            f"order (each a value shared by all calls or a sequence with one per "
                            f"call), got {len(args)}")
    lengths = {str(p): len(a) for p, a in zip(params, args) if _is_sequence(a)}
    if not lengths:
        raise ArgumentError(f"{layer.name}.map: no parameter is a sequence; call the layer "
                            f"itself for one instance")
    if len(set(lengths.values())) > 1:
        raise ArgumentError(f"{layer.name}.map: the sequences have different lengths "
                            f"{lengths}; give one value per call for each, or one shared value")
    N = next(iter(lengths.values()))
    if N == 0:
        raise ArgumentError(f"{layer.name}.map: the sequences are empty")
    return N, [list(a) if _is_sequence(a) else a for a in args]


def _value(v, layer, param, index=None) -> float:
    """``v`` as a float; the message (formatted only on failure) names ``param[index]``."""
    try:
        return float(v)
    except (TypeError, ValueError):
        where = str(param) if index is None else f"{param}[{index}]"
        raise ArgumentError(f"{layer.name}.map: {where} must be a number or a Scalar, "
                            f"got {v!r}") from None


def map_layer(layer, *args, x0=None):
    """N calls of ``layer`` as one tape node: a list of N results (Scalars, or tuples of
    Scalars for vector unknowns; floats when no argument is a Scalar).

    Each argument is a value shared by every call (Scalar or float) or a sequence with
    one value per call; sequences have equal lengths.  ``x0`` starts every instance (the
    layer's own ``x0`` by default), so each result equals the layer's one-by-one call.

    Examples
    ========

    >>> import sympy as sp
    >>> from symimplicit import Minimize
    >>> from symimplicit.tape import Scalar, backward
    >>> x, a, b = sp.symbols("x a b")
    >>> layer = Minimize(a*x**2 + b*x, x, (a, b)).primitive()      # x = -b/(2a)
    >>> A = Scalar(2.0)
    >>> xs = layer.map(A, [1.0, 2.0, 4.0])
    >>> [s.value for s in xs]
    [-0.25, -0.5, -1.0]
    >>> backward(xs[0] + xs[1] + xs[2]); A.grad                     # Σ b/(2a²)
    0.875
    """
    if layer.method not in BATCHED_METHODS:
        raise StatementError(f"{layer.name}.map solves with the batched Newton; method "
                             f"{layer.method!r} has no batched form (call the layer per instance)")
    N, cols = _columns(layer, args)
    params = layer.compiled.params
    values, slots = [], []                                     # slots[j]: an index or a range
    for p, col in zip(params, cols):                           # name a bad entry before solving
        if isinstance(col, list):
            slots.append(range(len(values), len(values) + N))
            values += [v if isinstance(v, Scalar) else _value(v, layer, p, i)
                       for i, v in enumerate(col)]
        else:
            slots.append(len(values))
            values.append(col if isinstance(col, Scalar) else _value(col, layer, p))
    vector = layer.compiled.vector
    n = layer.compiled.n_user if vector else 1
    node_fn = _batched_function(layer, N, n, slots, layer.x0 if x0 is None else x0)
    outputs = node_fn(*values)
    if not isinstance(outputs, tuple):
        outputs = (outputs,)
    if not vector:
        return list(outputs)
    return [tuple(outputs[i * n:(i + 1) * n]) for i in range(N)]


def _lowered(layer):
    """The layer's NumPy sweep, made once (the same statement, tol and max_iter)."""
    lowered = getattr(layer, "_map_lowered", None)
    if lowered is None:
        lowered = layer.statement.lower(tol=layer.tol, max_iter=layer.max_iter)
        layer._map_lowered = lowered
    return lowered


def _batched_function(layer, N: int, n: int, slots: list, start) -> Function:
    """The node: forward solves the N instances at once, vjp contracts their gradients."""
    n_parents = sum(len(s) if isinstance(s, range) else 1 for s in slots)
    lowered = _lowered(layer)
    solve = lowered.solve_and_gradient_affine if layer.method == "linear" else \
        lowered.solve_and_gradient                             # the layer's own method
    fast = _affine_scalar(layer, lowered, start, slots)

    def forward(*values):
        # a per-call parameter is the contiguous run values[lo:hi]; a shared one is repeated
        theta = [np.array(values[slot.start:slot.stop], dtype=float) if isinstance(slot, range)
                 else np.full(N, float(values[slot])) for slot in slots]
        out = None if fast is None else fast(theta, values)
        Z, G = solve(*theta, x0=start) if out is None else out
        flat = tuple(np.asarray(Z, dtype=float).reshape(N * n).tolist())   # Python floats
        return Saved(flat if N * n > 1 else flat[0], np.reshape(G, (N, n, len(slots))))

    def vjp(g, node):
        G = node.state                                         # (N, n, p): ∂xᵢₖ/∂θⱼ
        gbar = np.asarray(g if isinstance(g, tuple) else (g,), dtype=float).reshape(N, n)
        per = np.einsum("ik,ikj->ij", gbar, G)                 # θ̄ᵢⱼ = Σₖ x̄ᵢₖ ∂xᵢₖ/∂θⱼ
        out = [0.0] * n_parents
        for j, slot in enumerate(slots):
            if isinstance(slot, range):
                out[slot.start:slot.stop] = per[:, j].tolist()  # one cotangent per call
            else:
                out[slot] = float(per[:, j].sum())             # shared: summed over the calls
        return out

    return Function(f"{layer.name}.map", forward, vjp=vjp, n_outputs=N * n)


def _affine_scalar(layer, lowered, start, slots):
    """For a smooth scalar statement solved by 'linear': the usual path of
    ``lowered.solve_and_gradient_affine`` in a few NumPy calls (the same generated code, so
    the same x; ∂x/∂θ = -F_θ/F_x divided elementwise, as the layer's own formula does, where
    the sweep's LAPACK solve multiplies by 1/F_x: within an ulp of it; 59 -> 20 µs for the
    seed's 100 layers), or None for other layers.

    The returned ``fast(theta, values) -> (x (N,), ∂x/∂θ (N, p))`` (θ the columns, ``values``
    the node's arguments, placed by ``slots`` as in _batched_function) checks what the sweep checks,
    by the bounds the sweep tries first (vectorized._regular_scalar, _bounded_sensitivity):
    θ and x finite, F_x not rounding noise (min|F_x|·10¹⁴ > max N(F_x)), F_x > 0 for a
    minimum, ∂x/∂θ finite (so is ∂F/∂θ, F_x being finite) and
    max|∂x/∂θ|·max|θ| ≤ 10¹⁴; it returns None when any of them fails, and the sweep decides
    (and raises its typed error).  Each test is one reduction: a sum is finite only when
    every term is."""
    c = lowered.compiled
    if layer.method != "linear" or c.vector or c.kink_exprs or not c.affine:
        return None
    if start is not None and start.__class__ is not float:
        return None                                            # x0 arrays: the sweep's _start
    fns = c.numpy()
    fjn, jnoise, ftheta = (getattr(f, "generated", None) for f in (fns.fjn, fns.jnoise, fns.ftheta))
    if fjn is None or jnoise is None or ftheta is None:
        return None                                            # pragma: no cover
    x_start = 0.0 if start is None else start
    minimize = c.statement.kind == "minimize"
    p = c.p
    inf = math.inf

    def fast(theta, values):
        M = theta[0].size
        with np.errstate(all="ignore"):
            top = 0.0                                          # max |θ| (NaN, ∞: not finite)
            for t, slot in zip(theta, slots):
                m = float(np.abs(t).max()) if slot.__class__ is range else abs(float(values[slot]))
                if not m < inf:
                    return None
                top = m if m > top else top
            z0 = np.full(M, x_start)
            out = fjn(z0, *theta)
            dF = np.empty(M)
            dF[:] = out[1]                                     # F_x (a constant broadcast)
            x = z0 - out[0] / dF                               # one exact step: x = x₀ - F/F_x
            total = float(x.sum())
            if not total - total == 0.0:
                return None
            a = np.abs(dF)                                     # F_x against its rounding noise
            lo = float(a.min())
            if not (lo > 0 and float(a.max()) < inf
                    and lo * SINGULAR_COND > float(np.max(jnoise(x, *theta)[0]))):
                return None
            if minimize and float(dF.min()) <= 0:
                return None
            G = np.empty((M, p))
            for j, column in enumerate(ftheta(x, *theta)):
                G[:, j] = column
            G /= dF[:, None]
            np.negative(G, out=G)                              # ∂x/∂θ = -F_θ/F_x
            largest = float(np.abs(G).max())
            if not largest * top <= SINGULAR_SENSITIVITY or not largest < inf:
                return None
        return x, G

    return fast
