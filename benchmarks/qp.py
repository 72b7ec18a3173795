"""A QP layer, 10 variables and 10 inequality constraints: solve + gradient per call, in one run.

    python benchmarks/qp.py            # about 30 s
    python benchmarks/qp.py --quick

    x*(p, h) = argmin ½xᵀQx + pᵀx  s.t.  Gx ≤ h        (OptNet / qpth form; Q ≻ 0, G fixed)

The loss Σx* is differentiated with respect to p and h (20 parameters) at K random (p, h)
draws (seed 0) where about half of the constraints are active.

* symimplicit: ``Minimize(..., constraints=[G x <= h]).primitive()``, cold start per call
  (the default ``warm_start=False``: interior point + active-set polish) and ``warm_start=True``;
* cvxpylayers (JAX interface; its default conic solver and diffcp's adjoint), if installed
  (``pip install 'symimplicit[bench]'``);
* the same along a path of nearby (p, h), where the warm start (the previous active set,
  polished by Newton, no interior point) applies;
* the reference: the active-set KKT system at that solution solved in mpmath at 30 digits,
  so the print shows how close each gradient is, not only how fast.
"""
from __future__ import annotations

import argparse
import time

import mpmath
import numpy as np
import sympy as sp

from symimplicit import Minimize
from symimplicit.tape import Scalar, backward

N = M = 10
RNG = np.random.default_rng(0)
L = RNG.normal(size=(N, N))
Q = L @ L.T / N + np.eye(N)
G = RNG.normal(size=(M, N))


def draws(k: int):
    """(p, h) pairs: h = G x₀ + s with s < 0 for about half of the rows at the unconstrained x₀."""
    out = []
    for _ in range(k):
        p = RNG.normal(size=N)
        x_free = np.linalg.solve(Q, -p)
        h = G @ x_free + RNG.normal(scale=0.5, size=M)
        out.append((p, h))
    return out


def path(k: int):
    """(p, h) along a short segment (a training run's small steps): consecutive solutions close."""
    (p0, h0), (p1, h1) = draws(2)
    return [(p0 + 0.05 * t * (p1 - p0), h0 + 0.05 * t * (h1 - h0)) for t in np.linspace(0, 1, k)]


def symimplicit_layer(warm: bool):
    x = sp.symbols(f"x1:{N + 1}")
    p = sp.symbols(f"p1:{N + 1}")
    h = sp.symbols(f"h1:{M + 1}")
    X = sp.Matrix(x)
    f = (X.T * sp.Matrix(Q) * X)[0] / 2 + sum(pi * xi for pi, xi in zip(p, x))
    rows = sp.Matrix(G) * X
    st = Minimize(f, list(x), list(p) + list(h), constraints=[rows[i] <= h[i] for i in range(M)])
    return st.primitive(warm_start=warm)


def ours(layer, p, h):
    params = [Scalar(float(v)) for v in np.concatenate([p, h])]
    out = layer(*params)
    backward(sum(out[1:], out[0]))
    return np.array([o.value for o in out]), np.array([s.grad for s in params]), layer


def reference(layer, p, h):
    """∂Σx/∂(p, h) from the active-set KKT system [[Q, G_Aᵀ], [G_A, 0]] at 30 digits."""
    active = layer.kkt_point(*p, *h).active
    with mpmath.workdps(30):
        k = len(active)
        K = mpmath.matrix(N + k, N + k)
        for i in range(N):
            for j in range(N):
                K[i, j] = Q[i, j]
        for a, r in enumerate(active):
            for j in range(N):
                K[N + a, j] = K[j, N + a] = G[r, j]
        ones = mpmath.matrix([1] * N + [0] * k)
        w = mpmath.lu_solve(K.T, ones)                               # Kᵀw = ∂loss/∂z
        # F = [Qx + p + G_Aᵀμ ; G_A x - h_A]: ∂F/∂p = [I; 0], ∂F/∂h_A = [0; -I]
        grad_p = [-w[i] for i in range(N)]
        grad_h = [0.0] * M
        for a, r in enumerate(active):
            grad_h[r] = w[N + a]
        return np.array([float(v) for v in grad_p + grad_h])


def cvxpy_layer():
    try:
        import cvxpy as cp
        import jax
        from cvxpylayers.jax import CvxpyLayer
    except ImportError:
        return None
    x = cp.Variable(N)
    p = cp.Parameter(N)
    h = cp.Parameter(M)
    prob = cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, Q) + p @ x), [G @ x <= h])
    layer = CvxpyLayer(prob, parameters=[p, h], variables=[x])

    def loss(pv, hv):
        (sol,) = layer(pv, hv)
        return sol.sum()

    value_and_grad = jax.value_and_grad(loss, argnums=(0, 1))

    def call(pv, hv):
        _, (gp, gh) = value_and_grad(jax.numpy.array(pv), jax.numpy.array(hv))
        return np.concatenate([np.asarray(gp), np.asarray(gh)])
    return call


def per_call(fn, points, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for p, h in points:
            fn(p, h)
        best = min(best, (time.perf_counter() - start) / len(points))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    k, repeat = (10, 1) if args.quick else (50, 3)
    points = draws(k)
    start = time.perf_counter()
    cold, warm = symimplicit_layer(False), symimplicit_layer(True)
    print(f"symimplicit: statement + compile {time.perf_counter() - start:.2f} s (once)")
    actives = [len(cold.kkt_point(*p, *h).active) for p, h in points]
    print(f"{k} draws, active constraints per draw: min {min(actives)}, max {max(actives)}, "
          f"mean {np.mean(actives):.1f} of {M}")
    errors = []
    for p, h in points:
        g = ours(cold, p, h)[1]
        ref = reference(cold, p, h)
        errors.append(np.max(np.abs(g - ref)) / np.max(np.abs(ref)))
    print(f"symimplicit gradient vs mpmath KKT reference: max relative error {max(errors):.2g}")
    t_cold = per_call(lambda p, h: ours(cold, p, h), points, repeat)
    t_warm = per_call(lambda p, h: ours(warm, p, h), points, repeat)
    print(f"symimplicit cold start : {t_cold * 1e3:8.3f} ms per solve + gradient")
    print(f"symimplicit warm start : {t_warm * 1e3:8.3f} ms per solve + gradient")
    call = cvxpy_layer()
    if call is None:
        print("cvxpylayers not installed (pip install 'symimplicit[bench]'): no peer measured")
        return
    call(*points[0])                                                  # JAX tracing, once
    cerr = []
    for p, h in points:
        ref = reference(cold, p, h)
        cerr.append(np.max(np.abs(call(p, h) - ref)) / np.max(np.abs(ref)))
    print(f"cvxpylayers gradient vs mpmath KKT reference: max relative error {max(cerr):.2g}")
    t_cvx = per_call(call, points, repeat)
    print(f"cvxpylayers (jax)      : {t_cvx * 1e3:8.3f} ms per solve + gradient")
    print(f"ratio cvxpylayers / symimplicit: cold {t_cvx / t_cold:.1f}x, warm {t_cvx / t_warm:.1f}x")
    steps = path(k)
    t_cold_path = per_call(lambda p, h: ours(cold, p, h), steps, repeat)
    t_warm_path = per_call(lambda p, h: ours(warm, p, h), steps, repeat)
    t_cvx_path = per_call(call, steps, repeat)
    print(f"along a path of {k} nearby (p, h): symimplicit cold {t_cold_path * 1e3:.3f} ms, "
          f"warm {t_warm_path * 1e3:.3f} ms, cvxpylayers {t_cvx_path * 1e3:.3f} ms; ratio "
          f"cvxpylayers / symimplicit warm {t_cvx_path / t_warm_path:.1f}x")


if __name__ == "__main__":
    main()
