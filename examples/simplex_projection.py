"""Projection onto the probability simplex: x = argmin ½‖x - y‖² s.t. Σx = 1, x ≥ 0.

    python examples/simplex_projection.py

jaxopt's ``projection_simplex``.  The closed form (sort and threshold): x = max(y - τ, 0)
with τ chosen so that Σx = 1; on the support S its Jacobian is ∂xᵢ/∂yⱼ = δᵢⱼ - 1/|S|
and 0 off it.  The layer's Jacobian (one backward pass per output) is compared with it, and
the budget multiplier λ with τ (∂L/∂xᵢ = xᵢ - yᵢ + λ - μᵢ = 0, μᵢ = 0 on the support).
"""
import sympy as sp

from symimplicit import Minimize
from symimplicit.tape import Scalar, backward

N = 5
x = sp.symbols(f"x1:{N + 1}")
y = sp.symbols(f"y1:{N + 1}")
statement = Minimize(sum((xi - yi)**2 for xi, yi in zip(x, y)) / 2, list(x), list(y),
                     constraints=[sp.Eq(sum(x), 1)] + [xi >= 0 for xi in x])
Y = [0.8, -0.3, 0.45, 0.1, 0.6]


def sort_and_threshold(y):
    u = sorted(y, reverse=True)
    k = max(j for j in range(1, len(y) + 1) if u[j - 1] - (sum(u[:j]) - 1) / j > 0)
    tau = (sum(u[:k]) - 1) / k
    return [max(v - tau, 0.0) for v in y], tau


def main():
    layer = statement.primitive(multipliers=True)
    want, tau = sort_and_threshold(Y)
    support = [i for i in range(N) if Y[i] > tau]
    worst = 0.0
    for i in range(N):
        params = [Scalar(v) for v in Y]
        out = layer(*params)
        backward(out[i])
        row = [p.grad if p.grad is not None else 0.0 for p in params]
        exact = [(float(i == j) - 1 / len(support)) if i in support and j in support else 0.0
                 for j in range(N)]
        worst = max(worst, max(abs(r - e) for r, e in zip(row, exact)))
        if i == 0:
            xs, lam = [o.value for o in out[:N]], out[N].value
    print("x =", xs)
    print("sort-and-threshold =", want)
    print(f"support = {[i + 1 for i in support]}, τ = {tau!r}, λ = {lam!r} (= τ)")
    print(f"max |Jacobian - (δ - 1/|S|) on S| = {worst:.3g}")
    ok = max(abs(a - b) for a, b in zip(xs, want)) < 1e-15 and worst < 1e-15 and \
        abs(lam - tau) < 1e-15
    print(f"ok = {ok}")


if __name__ == "__main__":
    main()
