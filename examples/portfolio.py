"""Mean-variance portfolio with a budget and no short selling:

    w*(r, γ) = argmin γ wᵀΣw - rᵀw   s.t.  Σᵢwᵢ = 1,  w ≥ 0

    python examples/portfolio.py

The layer returns the weights and the multipliers: λ of the budget (its shadow price:
how much the optimal objective falls per unit of extra budget, -∂f*/∂budget) and μᵢ of
each no-shorting bound (μᵢ > 0: asset i is held at 0 and would be shorted without it).
The gradient of the expected return rᵀw* with respect to r and γ is checked against an
mpmath solve of the same active-set KKT system at 40 digits and against finite differences.
"""
import mpmath
import sympy as sp

from symimplicit import Minimize
from symimplicit.tape import Scalar, backward

SIGMA = [[0.10, 0.02, 0.04, 0.00],
         [0.02, 0.08, 0.01, 0.02],
         [0.04, 0.01, 0.12, 0.03],
         [0.00, 0.02, 0.03, 0.05]]
N = len(SIGMA)
w = sp.Matrix(sp.symbols(f"w1:{N + 1}"))
r = sp.Matrix(sp.symbols(f"r1:{N + 1}"))
gamma = sp.Symbol("gamma", positive=True)
risk = (w.T * sp.Matrix(SIGMA) * w)[0]
statement = Minimize(gamma * risk - (r.T * w)[0], list(w), list(r) + [gamma],
                     constraints=[sp.Eq(sum(w), 1)] + [wi >= 0 for wi in w])
R0, GAMMA0 = [0.08, 0.03, 0.12, 0.02], 0.4


def reference(theta, free):
    """(rᵀw*, w*) at mpmath's precision: the KKT system of the budget and the bounds not in
    ``free``: [2γΣ_FF 1; 1ᵀ 0] [w_F; λ] = [r_F; 1]."""
    rr, g = theta[:N], theta[N]
    k = len(free)
    K = mpmath.matrix(k + 1, k + 1)
    rhs = mpmath.matrix(k + 1, 1)
    for a, i in enumerate(free):
        for c, j in enumerate(free):
            K[a, c] = 2 * g * mpmath.mpf(SIGMA[i][j])
        K[a, k] = K[k, a] = 1
        rhs[a] = rr[i]
    rhs[k] = 1
    sol = mpmath.lu_solve(K, rhs)
    return sum(rr[i] * sol[a] for a, i in enumerate(free)), sol


def main():
    layer = statement.primitive(multipliers=True)
    params = [Scalar(v) for v in R0 + [GAMMA0]]
    out = layer(*params)
    weights, lam, mu = [o.value for o in out[:N]], out[N].value, [o.value for o in out[N + 1:]]
    print("weights w* =", weights)
    print("budget shadow price λ =", lam, "; no-shorting multipliers μ =", mu)
    ret = sum((o * v for o, v in zip(out[:N], R0)), 0.0)
    backward(ret)
    grad = [p.grad for p in params]
    active = layer.kkt_point(*R0, GAMMA0).active
    free = [i for i in range(N) if i not in active]
    mpmath.mp.dps = 40
    theta = [mpmath.mpf(v) for v in R0 + [GAMMA0]]
    # the derivative of rᵀw*(r, γ) with r held in the product: Σᵢ rᵢ ∂wᵢ/∂θ (as backward(ret))
    ref = []
    for k in range(N + 1):
        def weights_only(t, k=k):
            th = theta[:k] + [t] + theta[k + 1:]
            _, sol = reference(th, free)
            return sum(theta[i] * sol[a] for a, i in enumerate(free))
        ref.append(mpmath.diff(weights_only, theta[k]))
    ref = [float(v) for v in ref]
    h = 1e-6
    fd = []
    for k in range(N + 1):
        up, dn = list(R0 + [GAMMA0]), list(R0 + [GAMMA0])
        up[k] += h
        dn[k] -= h
        fd.append(sum(a * (u - d) for a, u, d in zip(R0, layer.solve(*up)[:N],
                                                       layer.solve(*dn)[:N])) / (2 * h))
    for name, g, rv, fv in zip(statement.params, grad, ref, fd):
        print(f"  ∂(rᵀw*)/∂{str(name):5} = {g: .16f}   mpmath {rv: .16f}   finite diff {fv: .10f}")
    err = max(abs(g - rv) for g, rv in zip(grad, ref)) / max(abs(rv) for rv in ref)
    fd_err = max(abs(g - fv) for g, fv in zip(grad, fd))
    print(f"held: {[i + 1 for i in free]}; max error vs mpmath (relative) = {err:.3g}; "
          f"vs finite differences = {fd_err:.3g}")
    print(f"ok = {err < 1e-13 and fd_err < 1e-6 and abs(sum(weights) - 1) < 1e-15}")


if __name__ == "__main__":
    main()
