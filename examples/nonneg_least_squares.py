"""Non-negative least squares as a layer: x*(A, b) = argmin ½‖Ax - b‖² s.t. x ≥ 0.

    python examples/nonneg_least_squares.py

The cvxpylayers README problem (m = 3, n = 2, x ≥ 0), with the smooth 2-norm (the README's
1-norm objective is not differentiable in x).  The gradient of Σx* with respect to every
entry of A and b is checked two ways, as cvxpylayers' own test does by finite differences:

* against mpmath: the active-set KKT system x_F = (A_FᵀA_F)⁻¹A_Fᵀb solved at 50 digits and
  differentiated by mpmath.diff (and the active set checked: x_F > 0, ∇f ≥ 0 on the bound);
* against central finite differences of the float64 layer.
"""
import mpmath
import sympy as sp

from symimplicit import Minimize
from symimplicit.tape import Scalar, backward

M, N = 3, 2
A = sp.Matrix(M, N, lambda i, j: sp.Symbol(f"A{i + 1}{j + 1}"))
b = sp.Matrix(sp.symbols(f"b1:{M + 1}"))
x = sp.Matrix(sp.symbols(f"x1:{N + 1}"))
r = A * x - b
statement = Minimize((r.T * r)[0] / 2, list(x), list(A) + list(b), constraints=[xi >= 0 for xi in x])
A0 = [0.9, -0.4, 0.3, 1.1, -0.6, 0.5]                        # row-major, seeded by hand
B0 = [1.0, -0.5, 0.3]                                        # unconstrained x₂ < 0


def reference(theta, free):
    """Σx* at mpmath's working precision for the free set ``free`` (the others at 0)."""
    Am = mpmath.matrix(M, N)
    for k, v in enumerate(theta[:M * N]):
        Am[k // N, k % N] = v
    bm = mpmath.matrix(theta[M * N:])
    Af = mpmath.matrix([[Am[i, j] for j in free] for i in range(M)])
    xf = mpmath.lu_solve(Af.T * Af, Af.T * bm)                     # (A_FᵀA_F) x_F = A_Fᵀ b
    return sum(xf), xf, Am, bm


def main():
    layer = statement.primitive()
    params = [Scalar(v) for v in A0 + B0]
    X = layer(*params)
    print("x* =", [v.value for v in X], " active:", [str(c) for c in layer.active_set(*A0, *B0)])
    backward(X[0] + X[1])
    grad = [p.grad for p in params]
    active = layer.kkt_point(*A0, *B0).active
    free = [j for j in range(N) if j not in active]
    mpmath.mp.dps = 50
    total, xf, Am, bm = reference([mpmath.mpf(v) for v in A0 + B0], free)
    xfull = mpmath.matrix(N, 1)
    for k, j in enumerate(free):
        xfull[j] = xf[k]
    g = Am.T * (Am * xfull - bm)                                   # ∇f: ≥ 0 where x = 0
    same_set = all(xf[k] > 0 for k in range(len(free))) and \
        all(g[j] >= 0 for j in range(N) if j not in free)
    print("mpmath: the same active set is optimal:", same_set)
    theta = [mpmath.mpf(v) for v in A0 + B0]
    ref = [mpmath.diff(lambda t, k=k: reference(theta[:k] + [t] + theta[k + 1:], free)[0], theta[k])
           for k in range(len(theta))]
    err = max(abs(gv - float(rv)) for gv, rv in zip(grad, ref)) / max(abs(float(rv)) for rv in ref)
    h = 1e-6
    fd = []
    for k in range(len(params)):
        up = list(A0 + B0)
        dn = list(A0 + B0)
        up[k] += h
        dn[k] -= h
        fd.append((sum(layer.solve(*up)) - sum(layer.solve(*dn))) / (2 * h))
    fd_err = max(abs(gv - fv) for gv, fv in zip(grad, fd))
    names = [str(p) for p in statement.params]
    for name, gv, rv, fv in zip(names, grad, ref, fd):
        print(f"  ∂Σx/∂{name:4} = {gv: .16f}   mpmath {float(rv): .16f}   finite diff {fv: .10f}")
    print(f"max error vs mpmath, relative to the largest entry = {err:.3g}")
    print(f"max abs difference vs finite differences = {fd_err:.3g}")
    print(f"ok = {same_set and err < 1e-13 and fd_err < 1e-7}")


if __name__ == "__main__":
    main()
