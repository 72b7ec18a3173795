"""A deep-equilibrium layer in matrix form: z = tanh(Wz + b), z of any size n.

    python examples/deq_matrix.py

The derivation is done once for a symbolic n by differentials (F_z = I − diag(1 − tanh²(Wz + b)) W,
W̄ = (D λ) zᵀ with λ = F_z⁻ᵀ z̄), then lowered to numpy at n = 4.  The gradient of the loss
‖z‖² with respect to every entry of W and b is checked against mpmath: the fixed point solved
entry by entry by ``findroot`` at 30 digits and differentiated by ``mpmath.diff``.
"""
import mpmath as mp
import numpy as np
import sympy as sp

from symimplicit.matrix import MatrixFixedPoint

mp.mp.dps = 30
N = sp.Symbol("n")
W, z, b = sp.MatrixSymbol("W", N, N), sp.MatrixSymbol("z", N, 1), sp.MatrixSymbol("b", N, 1)
statement = MatrixFixedPoint((W * z + b).applyfunc(sp.tanh), z, (W, b))


def fixed_point_mp(Wm, bm, n):
    """z = tanh(Wz + b) entry by entry, mpmath findroot at 30 digits."""
    f = lambda *zs: [zs[i] - mp.tanh(sum(Wm[i][j] * zs[j] for j in range(n)) + bm[i]) for i in range(n)]
    return mp.findroot(f, [0] * n, tol=mp.mpf(10) ** -28)


def main(n=4, seed=0):
    print("derivation (matrix form, symbolic n):")
    print(statement.derive().text())
    rng = np.random.default_rng(seed)
    Wv = 0.6 * rng.standard_normal((n, n)) / np.sqrt(n)
    bv = rng.standard_normal((n, 1))
    low = statement.lower({"n": n})
    zv = low.solve(W=Wv, b=bv)
    g = low.vjp(2 * zv, z=zv, W=Wv, b=bv)                     # loss ‖z‖²: z̄ = 2z
    got = np.concatenate([g["W"].ravel(), g["b"].ravel()])

    def loss(*entries):
        Wm = [[entries[i * n + j] for j in range(n)] for i in range(n)]
        zt = fixed_point_mp(Wm, entries[n * n:], n)
        return sum(zt[i] ** 2 for i in range(n))
    x0 = [mp.mpf(float(v)) for v in np.concatenate([Wv.ravel(), bv.ravel()])]
    truth = []
    for k in range(len(x0)):
        e = [0] * len(x0); e[k] = 1
        truth.append(float(mp.diff(loss, x0, tuple(e))))
    truth = np.array(truth)
    print(f"\nn = {n}: z = {np.round(zv.ravel(), 6).tolist()}")
    print(f"d‖z‖²/db (vjp)    = {np.round(g['b'].ravel(), 10).tolist()}")
    print(f"d‖z‖²/db (mpmath) = {np.round(truth[n * n:], 10).tolist()}")
    err = float(np.max(np.abs(got - truth)))
    print(f"entries checked: {len(truth)} (all of W and b)")
    print(f"max error: {err:.3e}")
    return err


if __name__ == "__main__":
    main()
