"""A catalog of real implicit problems, with references independent of the derivation.

Each :class:`Problem` holds a statement (SymPy), parameter values, the layer
options (x0, bracket, method) and a *hand-written mpmath residual* (for
argmins: the objective, differentiated numerically by ``mp.diff``).  The
reference (:func:`reference`) never touches the SymPy derivation: it solves the
mpmath residual with ``mp.findroot`` at 50 digits and takes central differences
at perturbed parameters (step h = 1e-15·max(|θ|, 1): truncation ~h², rounding
~10⁻⁵⁰/h, so ~25 correct digits).

Other modules (precision, report, examples) may import this catalog.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import mpmath as mp
import sympy as sp

from symimplicit.statements import FixedPoint, Minimize, Root

__all__ = ["Problem", "CATALOG", "BY_NAME", "reference"]


@dataclass(frozen=True)
class Problem:
    """One catalog entry.

    ``mp_residual(z, θ)`` takes lists of mpf (system unknowns, parameters) and
    returns the residual list; ``mp_start`` starts the reference solve (the user
    unknowns, then any multipliers).
    """

    name: str
    statement: object
    values: tuple
    mp_residual: Callable
    mp_start: tuple
    options: dict = field(default_factory=dict)

    def __repr__(self):
        return f"Problem({self.name})"


def _stationary(objective: Callable, n: int, constraints: tuple = ()) -> Callable:
    """The KKT residual [∂L/∂xᵢ ; g] of L = f + Σ λₖ gₖ, by mpmath's numerical differentiation."""
    m = len(constraints)

    def residual(z, theta):
        x, lam = list(z[:n]), list(z[n:])

        def lagrangian(*xs):
            value = objective(list(xs), theta)
            for l, g in zip(lam, constraints):
                value += l * g(list(xs), theta)
            return value

        grad = []
        for i in range(n):
            order = tuple(1 if j == i else 0 for j in range(n))
            grad.append(mp.diff(lagrangian, x, order) if n > 1 else mp.diff(lagrangian, x[0]))
        return grad + [g(x, theta) for g in constraints[:m]]

    return residual


x, y, w, E, f, V = sp.symbols("x y w E f V")
a, b, c, e, M, z, r, k, p, q, T, Re = sp.symbols("a b c e M z r k p q T Re")
R_GAS = sp.Rational("8.314462618")          # J/(mol K), exact in the statement
mpR = mp.mpf("8.314462618")

_kepler = Root(E - e * sp.sin(E) - M, E, (e, M))
_lambert = Root(w * sp.exp(w) - z, w, (z,))
_colebrook = Root(1 / sp.sqrt(f) + 2 * sp.log(r / sp.Rational("3.7") + sp.Rational("2.51") / (Re * sp.sqrt(f)), 10),
                  f, (r, Re))
_vdw = Root((p + a / V**2) * (V - b) - R_GAS * T, V, (p, T, a, b))      # one mole
_seed_fp = FixedPoint(sp.cos(a * x + b), x, (a, b))
_seed_argmin = Minimize(a * x**2 + b * x, x, (a, b))
_circle_exp = Root([x**2 + y**2 - r**2, y - sp.exp(k * x)], (x, y), (r, k))
_fp2 = FixedPoint([sp.cos(y) / 2 + a, sp.sin(x) / 2 + b], (x, y), (a, b))
_logsumexp = Minimize(sp.log(sp.exp(x) + sp.exp(y) + sp.exp(-x - y)) + a * x**2 + b * y**2 - x,
                      (x, y), (a, b))
_ellipse = Minimize((x - p)**2 + (y - q)**2, (x, y), (p, q, c), constraints=[x**2 + 4 * y**2 - c])
_qp3 = Minimize(x**2 + 2 * y**2 + 3 * w**2 - a * x + x * y, (x, y, w), (a, c),
                constraints=[x + y + w - c])

CATALOG: list[Problem] = [
    Problem("kepler", _kepler, (0.3, 1.1),
            lambda z_, t: [z_[0] - t[0] * mp.sin(z_[0]) - t[1]], (1.1,), {"x0": 1.1}),
    Problem("lambert_w", _lambert, (2.5,),
            lambda z_, t: [z_[0] * mp.exp(z_[0]) - t[0]], (1.0,), {"x0": 1.0}),
    Problem("colebrook", _colebrook, (1e-4, 1e5),
            lambda z_, t: [1 / mp.sqrt(z_[0]) + 2 * mp.log10(t[0] / mp.mpf("3.7")
                                                              + mp.mpf("2.51") / (t[1] * mp.sqrt(z_[0])))],
            (0.02,), {"x0": 0.02, "bracket": (1e-3, 0.1)}),
    Problem("van_der_waals", _vdw, (1e5, 300.0, 0.3640, 4.267e-5),
            lambda z_, t: [(t[0] + t[2] / z_[0]**2) * (z_[0] - t[3]) - mpR * t[1]],
            (0.0249,), {"x0": 0.0249}),
    Problem("seed_fixed_point", _seed_fp, (1.0, 0.0),
            lambda z_, t: [z_[0] - mp.cos(t[0] * z_[0] + t[1])], (0.7,), {}),
    Problem("seed_fixed_point_2", _seed_fp, (-0.5, 0.5),
            lambda z_, t: [z_[0] - mp.cos(t[0] * z_[0] + t[1])], (0.9,), {}),
    Problem("seed_argmin", _seed_argmin, (2.0, -1.0),
            _stationary(lambda xs, t: t[0] * xs[0]**2 + t[1] * xs[0], 1), (0.3,), {}),
    Problem("seed_argmin_truea", _seed_argmin, (1.1964312751315314, 0.3),
            _stationary(lambda xs, t: t[0] * xs[0]**2 + t[1] * xs[0], 1), (-0.1,), {}),
    Problem("circle_exp", _circle_exp, (2.0, 0.5),
            lambda z_, t: [z_[0]**2 + z_[1]**2 - t[0]**2, z_[1] - mp.exp(t[1] * z_[0])],
            (1.0, 1.5), {"x0": (1.0, 1.5)}),
    Problem("fixed_point_2d", _fp2, (0.3, -0.2),
            lambda z_, t: [z_[0] - mp.cos(z_[1]) / 2 - t[0], z_[1] - mp.sin(z_[0]) / 2 - t[1]],
            (0.7, 0.1), {}),
    Problem("logsumexp_argmin", _logsumexp, (0.5, 0.25),
            _stationary(lambda xs, t: mp.log(mp.exp(xs[0]) + mp.exp(xs[1]) + mp.exp(-xs[0] - xs[1]))
                        + t[0] * xs[0]**2 + t[1] * xs[1]**2 - xs[0], 2), (0.3, 0.0), {}),
    Problem("ellipse_projection", _ellipse, (2.0, 1.0, 1.0),
            _stationary(lambda xs, t: (xs[0] - t[0])**2 + (xs[1] - t[1])**2, 2,
                        (lambda xs, t: xs[0]**2 + 4 * xs[1]**2 - t[2],)),
            (0.9, 0.2, -1.0), {"x0": (0.9, 0.2)}),
    Problem("constrained_qp3", _qp3, (1.5, 2.0),
            _stationary(lambda xs, t: xs[0]**2 + 2 * xs[1]**2 + 3 * xs[2]**2 - t[0] * xs[0] + xs[0] * xs[1],
                        3, (lambda xs, t: xs[0] + xs[1] + xs[2] - t[1],)),
            (1.0, 0.5, 0.5, -1.0), {}),
]

BY_NAME = {prob.name: prob for prob in CATALOG}


def _mp_solve(problem: Problem, theta: list, start: list) -> list:
    """The root of the hand-written residual at 50 digits, from ``start``."""
    fn = problem.mp_residual
    if len(start) == 1:                              # secant from two close points
        u0 = start[0]
        root = mp.findroot(lambda u: fn([u], theta)[0], (u0 * mp.mpf("0.999"), u0 * mp.mpf("1.001")))
        return [root]
    root = mp.findroot(lambda *u: fn(list(u), theta), tuple(start))
    return [root[i] for i in range(len(start))]


@lru_cache(maxsize=None)
def reference(name: str, dps: int = 50, step: float = 1e-15) -> tuple:
    """(solution, gradient) of catalog problem ``name`` as floats: the user unknowns, and
    ∂xᵢ/∂θⱼ (rows: unknowns, columns: parameters) by central differences of 50-digit solves."""
    problem = BY_NAME[name]
    n_user = len(problem.statement.unknowns)
    with mp.workdps(dps):
        theta = [mp.mpf(v) for v in problem.values]
        base = _mp_solve(problem, theta, [mp.mpf(s) for s in problem.mp_start])
        columns = []
        for j, t in enumerate(theta):
            h = mp.mpf(step) * max(abs(t), 1)
            up = _mp_solve(problem, theta[:j] + [t + h] + theta[j + 1:], base)
            down = _mp_solve(problem, theta[:j] + [t - h] + theta[j + 1:], base)
            columns.append([(u - d) / (2 * h) for u, d in zip(up, down)])   # ∂z/∂θⱼ ≈ (z(θ+h) - z(θ-h))/2h
        solution = tuple(float(v) for v in base[:n_user])
        gradient = tuple(tuple(float(columns[j][i]) for j in range(len(theta))) for i in range(n_user))
    return solution, gradient
