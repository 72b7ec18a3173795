"""Reliability sweep: never a silent wrong number, never a false alarm (issue 9).

    python benchmarks/reliability.py --points 300            # every problem
    python benchmarks/reliability.py --points 50 --only kepler,acid
    python benchmarks/reliability.py --points 300 --no-verify  # skip the judge (faster)

For each problem, random points θ are drawn (seeded) over a region chosen to be hard
(folds, double roots, several roots, magnitudes 1e-8 .. 1e8).  At each point:

1. the float64 side: ``statement.primitive(x0=...)`` on tape Scalars, one backward pass
   per unknown (what a user runs);
2. the truth, computed here: an mpmath Newton solve at 40 digits started from a
   problem-specific start (a closed form or a safe bracket start, never the float64
   answer), its IFT gradient -A⁻¹B evaluated at that precision;
3. classification, with a κ-aware tolerance computed here from the truth:
   tol = 256·u·(κ_solve + κ_propagation), κ_solve the Skeel condition of ∂F/∂z
   (MpProblem.kappa) and κ_propagation = max |∂X/∂z|·|z|/|X|, the sensitivity of the
   gradient formula X = -A⁻¹B to the rounding of z (a central difference in mpmath);
   components are measured against max(|r|, 10⁻³ max|row|) (true zeros absolutely):

   * **correct**: every value within tol;
   * **typed error**: the layer raised a SymimplicitError (nothing silently wrong);
   * **silent wrong**: a value outside tol (or NaN) returned without an error: must be 0;
   * **false alarm**: verify() called a correct point wrong (or raised): must be 0.

Points where the truth itself cannot be computed (no real solution) are counted as
"no truth" and are expected to raise a typed error on the float64 side.
For the problem with several roots the truth is the nearest real root.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import mpmath
import sympy as sp

from symimplicit import FixedPoint, Minimize, Root
from symimplicit.errors import SymimplicitError
from symimplicit.precision import problem_of, verify
from symimplicit.precision.reference import ift_gradient
from symimplicit.precision.verify import run_float64

EPS = 2.0 ** -53
TRUTH_DPS = 40


@dataclass
class Problem:
    name: str
    what: str
    statement: object
    draw: Callable                      # rng -> θ (list of floats)
    start: Callable                     # θ -> mpmath start for the truth (user unknowns)
    x0: object = None                   # the float64 layer's start (what a user passes):
                                        # a value, or θ -> a rough guess
    roots: Callable | None = None       # θ -> starts of every real root (several roots)


def _log_uniform(rng, lo, hi):
    return 10.0 ** rng.uniform(lo, hi)


def problems() -> list[Problem]:
    x, y, a, b = sp.symbols("x y a b")
    E, e, M = sp.symbols("E e M")
    r = sp.Symbol("r", positive=True)
    eps_, sigma = sp.symbols("epsilon sigma", positive=True)
    h, A, Ka, C = sp.symbols("h A K_a C", positive=True)
    al, px, py, inc = sp.symbols("alpha p_x p_y I", positive=True)
    Kw = sp.Rational(1, 10**14)                              # exact: no Float constant

    def kepler_start(t):
        return [mpmath.mpf(t[1]) + mpmath.mpf(t[0]) * mpmath.sin(t[1])]

    def tanh_start(t):
        return [mpmath.sqrt(3 * (mpmath.mpf(t[0]) - 1)) if t[0] < 1.2 else mpmath.mpf(t[0])]

    def cubic_roots(t):
        return [[rt.real] for rt in mpmath.polyroots([1, 0, -2, -t[0]], maxsteps=200,
                                                      extraprec=60)
                if abs(rt.imag) < mpmath.mpf(10) ** -30]

    def circle_roots(t):
        xs = mpmath.sqrt(mpmath.mpf(t[0]) / (1 + mpmath.mpf(t[1]) ** 2))
        return [[xs, mpmath.mpf(t[1]) * xs], [-xs, -mpmath.mpf(t[1]) * xs]]

    return [
        Problem("cos", "scalar fixed point x = cos(ax + b) (the seed)",
                FixedPoint(sp.cos(a * x + b), x, (a, b)),
                lambda g: [g.uniform(0.2, 1.5), g.uniform(-1.0, 1.0)],
                lambda t: [mpmath.mpf("0.7")]),
        Problem("kepler", "Kepler E - e sin E = M, M in 1e-8..1e8",
                Root(E - e * sp.sin(E) - M, E, (e, M)),
                lambda g: [g.uniform(0.0, 0.95), _log_uniform(g, -8, 8)],
                kepler_start, x0=None),
        Problem("tanh-fold", "x = a tanh x near its fold a -> 1+ (kappa up to 1e8)",
                FixedPoint(a * sp.tanh(x), x, (a,)),
                lambda g: [1 + _log_uniform(g, -8, -0.5)],
                tanh_start, x0=1.0),
        Problem("double-root", "x^2 - 2ax + b near the double root (b = a^2 - d, d in 1e-12..1)",
                Root(x**2 - 2 * a * x + b, x, (a, b)),
                lambda g: (lambda a_, d: [a_, a_ * a_ - d])(g.uniform(0.5, 2.0),
                                                           _log_uniform(g, -12, 0)),
                lambda t: [mpmath.mpf(t[0]) + mpmath.sqrt(mpmath.mpf(t[0]) ** 2 - mpmath.mpf(t[1]))],
                x0=3.0),
        Problem("cubic-roots", "x^3 - 2x - a: one or three real roots, random x0",
                Root(x**3 - 2 * x - a, x, (a,)),
                lambda g: [g.uniform(-3.0, 3.0)],
                lambda t: [mpmath.mpf(0)], roots=cubic_roots),
        Problem("lennard-jones", "argmin 4e((s/r)^12 - (s/r)^6), sigma in 1e-8..1e8",
                Minimize(4 * eps_ * ((sigma / r) ** 12 - (sigma / r) ** 6), r, (eps_, sigma)),
                lambda g: [_log_uniform(g, -3, 3), _log_uniform(g, -8, 8)],
                lambda t: [mpmath.mpf(2) ** (mpmath.mpf(1) / 6) * mpmath.mpf(t[1])],
                x0=lambda t: 1.2 * t[1]),                          # a guess: r a bit above σ
        Problem("circle-line", "vector: x^2 + y^2 = a, y = bx",
                Root([x**2 + y**2 - a, y - b * x], [x, y], (a, b)),
                lambda g: [_log_uniform(g, -6, 6), g.uniform(-5.0, 5.0)],
                lambda t: None, x0=[1.0, 1.0], roots=circle_roots),
        Problem("acid", "vector 2x2 with magnitudes: weak acid Ka 1e-10..1e-2, C 1e-6..1",
                Root([h * A - Ka * (C - A), h - A - Kw / h], [h, A], (Ka, C)),
                lambda g: [_log_uniform(g, -10, -2), _log_uniform(g, -6, 0)],
                lambda t: (lambda hh: [hh, hh - KW / hh])(
                    _acid_h(mpmath.mpf(t[0]), mpmath.mpf(t[1]), KW)),
                x0=lambda t: [math.sqrt(t[0] * t[1]) + 1e-7] * 2),    # the textbook guess
        Problem("cobb-douglas", "constrained: argmax x^al y^(1-al) s.t. px x + py y = I",
                Minimize(-(al * sp.log(x) + (1 - al) * sp.log(y)), [x, y], (al, px, py, inc),
                         constraints=[px * x + py * y - inc]),
                lambda g: [g.uniform(0.05, 0.95), _log_uniform(g, -3, 3), _log_uniform(g, -3, 3),
                           _log_uniform(g, -2, 4)],
                lambda t: [mpmath.mpf(t[0]) * t[3] / t[1], (1 - mpmath.mpf(t[0])) * t[3] / t[2]],
                x0=lambda t: [t[3] / (2 * t[1]), t[3] / (2 * t[2])]),  # half the budget each
    ]


KW = mpmath.mpf(10) ** -14


def _acid_h(Ka, C, Kw):
    """[H+] of a weak acid: the positive root of h³ + Ka h² - (Kw + Ka C) h - Ka Kw."""
    roots = mpmath.polyroots([1, Ka, -(Kw + Ka * C), -Ka * Kw], maxsteps=200, extraprec=200)
    return max(rt.real for rt in roots if abs(rt.imag) <= 1e-30 * abs(rt))


# --------------------------------------------------------------------------- #
# the truth and its tolerance                                                    #
# --------------------------------------------------------------------------- #
def truth(problem: Problem, theta, x64):
    """(solution, gradient rows, solution tol, gradient tol) in mpmath, or None when there
    is no real solution."""
    mp_problem = problem_of(problem.statement)
    with mpmath.workdps(TRUTH_DPS):
        th = [mpmath.mpf(t) for t in theta]
        if problem.roots is not None:
            roots = problem.roots(theta)
            if not roots:
                return None
            near = [v if math.isfinite(v) else 0.0 for v in x64]
            start = min(roots, key=lambda rt: max(abs(u - v) for u, v in zip(rt, near)))
        else:
            start = problem.start(theta)
        z = mp_problem.solve(theta, mp_problem.start(start), TRUTH_DPS, digits=TRUTH_DPS - 8)
        grad = ift_gradient(mp_problem, z, th)
        kappa = float(mp_problem.kappa(z, th))
        prop = _propagation(mp_problem, z, th, grad)
    # the solution is good to ~κ u; the gradient formula moves by prop per unit relative
    # change of z, so its error is ~(κ + prop·κ) u
    return ([z[i] for i in range(mp_problem.n_user)], grad, 256 * EPS * kappa,
            256 * EPS * (kappa + prop * max(kappa, 1.0)))


def _propagation(mp_problem, z, th, grad) -> float:
    """max |∂X/∂z_k|·|z_k| / scale of X: how z's rounding moves the gradient formula."""
    worst = 0.0
    scale = max([abs(v) for row in grad for v in row] + [mpmath.mpf(0)])
    if scale == 0:
        return 0.0
    for k in range(mp_problem.n):
        step = max(abs(z[k]), mpmath.mpf(10) ** -30) * mpmath.mpf(10) ** -12
        zp, zm = list(z), list(z)
        zp[k] += step
        zm[k] -= step
        gp, gm = ift_gradient(mp_problem, zp, th), ift_gradient(mp_problem, zm, th)
        for rp, rm, r0 in zip(gp, gm, grad):
            row = max([abs(v) for v in r0] + [scale * mpmath.mpf(10) ** -3])
            for vp, vm, v0 in zip(rp, rm, r0):
                d = abs(vp - vm) / (2 * step) * max(abs(z[k]), mpmath.mpf(10) ** -300)
                worst = max(worst, float(d / max(abs(v0), row * mpmath.mpf(10) ** -3)))
    return worst


def wrong(values, ref_rows, tol) -> bool:
    """Any component outside tol, each against max(|r|, 1e-3·max|row|)."""
    for vrow, rrow in zip(values, ref_rows):
        big = max([abs(r) for r in rrow] + [mpmath.mpf(0)])
        for v, r in zip(vrow, rrow):
            if not math.isfinite(v):
                return True
            scale = max(abs(r), big * mpmath.mpf(10) ** -3)
            if scale == 0:
                if v != 0:
                    return True
                continue
            if abs(mpmath.mpf(v) - r) > tol * scale:
                return True
    return False


# --------------------------------------------------------------------------- #
# the sweep                                                                      #
# --------------------------------------------------------------------------- #
@dataclass
class Tally:
    correct: int = 0
    typed: int = 0
    silent_wrong: int = 0
    no_truth: int = 0
    false_alarm: int = 0
    verify_caught: int = 0
    errors: dict = field(default_factory=dict)
    examples: list = field(default_factory=list)
    seconds: float = 0.0


def run_problem(problem: Problem, points: int, seed: int, judge: bool) -> Tally:
    rng = random.Random(f"{seed}:{problem.name}")
    tally = Tally()
    start = time.perf_counter()
    n_user = len(problem.statement.unknowns)
    for _ in range(points):
        theta = problem.draw(rng)
        x0 = problem.x0(theta) if callable(problem.x0) else problem.x0
        if problem.name == "cubic-roots":
            x0 = rng.uniform(-3.0, 3.0)
        layer = problem.statement.primitive(**({} if x0 is None else {"x0": x0}))
        try:
            x64, g64 = run_float64(layer, theta, n_user, {})
        except SymimplicitError as exc:
            tally.typed += 1
            tally.errors[type(exc).__name__] = tally.errors.get(type(exc).__name__, 0) + 1
            continue
        try:
            t = truth(problem, theta, x64)
        except SymimplicitError:
            t = None
        if t is None:
            tally.no_truth += 1
            tally.silent_wrong += all(map(math.isfinite, x64))   # no real solution, but a number
            continue
        sol, grad, tol_sol, tol_grad = t
        bad_sol, bad_grad = wrong([x64], [sol], tol_sol), wrong(g64, grad, tol_grad)
        if bad_sol or bad_grad:
            tally.silent_wrong += 1
            if len(tally.examples) < 3:
                tally.examples.append({"theta": theta, "x64": x64,
                                       "x": [float(v) for v in sol],
                                       "wrong": "solution" if bad_sol else "gradient",
                                       "g64": g64, "g": [[float(v) for v in r] for r in grad]})
            if judge and not _verify_ok(layer, problem, theta):
                tally.verify_caught += 1
            continue
        tally.correct += 1
        if judge and not _verify_ok(layer, problem, theta):
            tally.false_alarm += 1
            if len(tally.examples) < 3:
                tally.examples.append(("false alarm", theta))
    tally.seconds = time.perf_counter() - start
    return tally


def _verify_ok(layer, problem: Problem, theta) -> bool:
    at = dict(zip(problem.statement.params, theta))
    try:
        return verify(layer, at=at, dps=30, richardson=False).ok
    except SymimplicitError:
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="comma-separated problem names")
    parser.add_argument("--no-verify", action="store_true", help="skip verify's verdicts")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)      # numpy's divide-by-zero on bad starts
    chosen = [p for p in problems() if not args.only or p.name in args.only.split(",")]
    head = (f"{'problem':<14} {'points':>6} {'correct':>7} {'typed':>6} {'silent':>6} "
            f"{'no-truth':>8} {'false':>6} {'caught':>6} {'s':>6}  typed errors")
    print(f"reliability: {args.points} points per problem, seed {args.seed}; 'silent' = silent "
          "wrong (must be 0), 'false' = verify's false alarms on correct values (must be 0), "
          "'caught' = silent wrongs that verify flagged")
    print(head)
    total_silent = total_false = 0
    for problem in chosen:
        t = run_problem(problem, args.points, args.seed, not args.no_verify)
        total_silent += t.silent_wrong
        total_false += t.false_alarm
        errors = ", ".join(f"{k} {v}" for k, v in sorted(t.errors.items())) or "-"
        print(f"{problem.name:<14} {args.points:>6} {t.correct:>7} {t.typed:>6} "
              f"{t.silent_wrong:>6} {t.no_truth:>8} {t.false_alarm:>6} {t.verify_caught:>6} "
              f"{t.seconds:>6.1f}  {errors}", flush=True)
        for ex in t.examples:
            print(f"{'':<14}   e.g. {ex}")
    print(f"total: silent wrong {total_silent}, false alarms {total_false}")
    return 0 if total_silent == 0 and total_false == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
