"""Ridge regression as a matrix argmin: w = argmin ‖Xw − y‖² + λ‖w‖², first and second order.

    python examples/ridge_matrix.py

The stationarity 2Xᵀ(Xw − y) + 2λw = 0 is derived by differentials; dw/dλ = −(XᵀX + λI)⁻¹ w
comes from the block rule −F_w⁻¹ F_λ, and d²w/dλ² from the total differential of that Jacobian
(``second_derivative``, scalar parameters only).  Checked against mpmath at 30 digits: the
closed form w(λ) = (XᵀX + λI)⁻¹ Xᵀy differentiated by ``mpmath.diff`` (orders 1 and 2), and the
vjp of ‖w‖² for every entry of X and y.
"""
import mpmath as mp
import numpy as np
import sympy as sp

from symimplicit.matrix import MatrixMinimize, quad

mp.mp.dps = 30
M, N = 8, 3
X, y, w = sp.MatrixSymbol("X", M, N), sp.MatrixSymbol("y", M, 1), sp.MatrixSymbol("w", N, 1)
lam = sp.Symbol("lam")
statement = MatrixMinimize(quad(X * w - y, X * w - y) + lam * quad(w, w), w, (X, y, lam))


def w_mp(Xm, ym, t):
    """The closed form (XᵀX + λI)⁻¹ Xᵀy at 30 digits."""
    return mp.lu_solve(Xm.T * Xm + t * mp.eye(Xm.cols), Xm.T * ym)


def main(seed=1, lam_value=0.5):
    d = statement.derive()
    print("derivation (matrix form):")
    print(d.text())
    print("second order: d²w/dλ² =", d.second_derivative(lam))
    rng = np.random.default_rng(seed)
    Xv, yv = rng.standard_normal((M, N)), rng.standard_normal((M, 1))
    low = statement.lower()
    kw = dict(X=Xv, y=yv, lam=lam_value)
    wv = low.solve(**kw)
    d1, d2 = low.jacobian("lam", z=wv, **kw), low.second_derivative("lam", z=wv, **kw)
    g = low.vjp(2 * wv, z=wv, **kw)                         # loss ‖w‖²: w̄ = 2w
    Xm, ym, t0 = mp.matrix(Xv.tolist()), mp.matrix(yv.tolist()), mp.mpf(lam_value)
    entry = lambda i: (lambda t: w_mp(Xm, ym, t)[i])
    t1 = np.array([[float(mp.diff(entry(i), t0, 1))] for i in range(N)])
    t2 = np.array([[float(mp.diff(entry(i), t0, 2))] for i in range(N)])

    def loss_in(which, i, j):
        def f(s):
            A, b = mp.matrix(Xv.tolist()), mp.matrix(yv.tolist())
            (A if which == "X" else b)[i, j] = s
            wt = w_mp(A, b, t0)
            return sum(wt[k] ** 2 for k in range(N))
        return float(mp.diff(f, mp.mpf(float((Xv if which == "X" else yv)[i, j]))))
    tX = np.array([[loss_in("X", i, j) for j in range(N)] for i in range(M)])
    ty = np.array([[loss_in("y", i, 0)] for i in range(M)])
    tl = float(mp.diff(lambda t: sum(w_mp(Xm, ym, t)[k] ** 2 for k in range(N)), t0))
    print(f"\nλ = {lam_value}: w = {np.round(wv.ravel(), 8).tolist()}")
    print(f"dw/dλ   = {np.round(d1.ravel(), 10).tolist()}   (mpmath {np.round(t1.ravel(), 10).tolist()})")
    print(f"d²w/dλ² = {np.round(d2.ravel(), 10).tolist()}   (mpmath {np.round(t2.ravel(), 10).tolist()})")
    errs = {"dw/dλ": np.max(np.abs(d1 - t1)), "d²w/dλ²": np.max(np.abs(d2 - t2)),
            "X̄": np.max(np.abs(g["X"] - tX)), "ȳ": np.max(np.abs(g["y"] - ty)),
            "λ̄": abs(g["lam"] - tl)}
    for k, v in errs.items():
        print(f"  error in {k}: {v:.3e}")
    err = float(max(errs.values()))
    print(f"max error: {err:.3e}")
    return err


if __name__ == "__main__":
    main()
