"""Equality-constrained least squares in KKT form: x = argmin ‖Ax − b‖² s.t. Cx = d.

    python examples/constrained_least_squares.py

The unknown is (x, λ) with the Lagrangian L = ‖Ax − b‖² + λᵀ(Cx − d); the derivation gives the
block KKT matrix K = [[2AᵀA, Cᵀ], [C, 0]], ∂(x, λ)/∂θ = −K⁻¹ [F_θ; G_θ] and the vjp
[u; v] = K⁻¹ [x̄; 0] (K symmetric), Ā = −2(Ax − b)uᵀ − 2Auxᵀ, b̄ = 2Au, C̄ = −(λuᵀ + v xᵀ), d̄ = v.
Like the cvxpylayers README (which differentiates solution.sum() of a different problem:
½‖Ax − b‖₁ s.t. x ≥ 0, an inequality, not supported here), the loss is the sum of the solution;
its gradient with respect to every entry of A, b, C, d is checked against mpmath.diff of the
KKT system written entry by entry and solved at 30 digits.
"""
import mpmath as mp
import numpy as np
import sympy as sp

from symimplicit.matrix import MatrixMinimize, quad

mp.mp.dps = 30
M, N, P = 6, 4, 2
A, b, x = sp.MatrixSymbol("A", M, N), sp.MatrixSymbol("b", M, 1), sp.MatrixSymbol("x", N, 1)
C, d = sp.MatrixSymbol("C", P, N), sp.MatrixSymbol("d", P, 1)
statement = MatrixMinimize(quad(A * x - b, A * x - b), x, (A, b, C, d), constraints=[C * x - d])


def kkt_mp(Am, bm, Cm, dm):
    """[x; λ]: 2Aᵀ(Ax − b) + Cᵀλ = 0, Cx = d, entry by entry, solved by mpmath."""
    K, r = mp.zeros(N + P, N + P), mp.zeros(N + P, 1)
    for i in range(N):
        for j in range(N):
            K[i, j] = 2 * sum(Am[k, i] * Am[k, j] for k in range(M))
        for j in range(P):
            K[i, N + j] = K[N + j, i] = Cm[j, i]
        r[i] = 2 * sum(Am[k, i] * bm[k] for k in range(M))
    for j in range(P):
        r[N + j] = dm[j]
    return mp.lu_solve(K, r)


def main(seed=2):
    print("derivation (matrix form, KKT):")
    print(statement.derive().text())
    rng = np.random.default_rng(seed)
    data = {"A": rng.standard_normal((M, N)), "b": rng.standard_normal((M, 1)),
            "C": rng.standard_normal((P, N)), "d": rng.standard_normal((P, 1))}
    low = statement.lower()
    xv, (lv,) = low.solve_kkt(**data)
    g = low.vjp(np.ones((N, 1)), z=xv, multipliers=lv, **data)   # loss sum(x): x̄ = 1
    Jd = low.jacobian("d", z=xv, multipliers=lv, **data)
    names = list(data)
    base = [mp.matrix(data[k].tolist()) for k in names]
    sol = kkt_mp(*base)

    def grad_entry(which, i, j):
        def f(s):
            mats = [mp.matrix(data[k].tolist()) for k in names]
            mats[which][i, j] = s
            return sum(kkt_mp(*mats)[:N])
        return float(mp.diff(f, mp.mpf(float(data[names[which]][i, j]))))
    errs = {"x": np.max(np.abs(xv - np.array([[float(sol[i])] for i in range(N)]))),
            "λ": np.max(np.abs(lv - np.array([[float(sol[N + i])] for i in range(P)])))}
    for w, k in enumerate(names):
        truth = np.array([[grad_entry(w, i, j) for j in range(data[k].shape[1])]
                          for i in range(data[k].shape[0])])
        errs[k + "̄"] = np.max(np.abs(g[k] - truth))
        if k == "d":                                        # d̄ = (∂x/∂d)ᵀ 1
            errs["∂x/∂d"] = np.max(np.abs(Jd.sum(axis=0)[:, None] - truth))
    print(f"\nx = {np.round(xv.ravel(), 8).tolist()},  ‖Cx − d‖ = {np.linalg.norm(data['C'] @ xv - data['d']):.1e}")
    print(f"λ = {np.round(lv.ravel(), 8).tolist()}")
    print(f"d sum(x)/dd = {np.round(g['d'].ravel(), 10).tolist()}")
    for k, v in errs.items():
        print(f"  error in {k}: {v:.3e}")
    err = float(max(errs.values()))
    print(f"max error: {err:.3e}")
    return err


if __name__ == "__main__":
    main()
