"""The seed's parameter fit, with a derived Minimize primitive instead of a hand-written one.

    python examples/seed_fit.py

Data: ``random.seed(314)``; truea = 1 + random(); 100 values b uniform in [-1, 1);
x_i = argmin_x truea·x² + b_i·x.  The fit recovers a from the x_i by gradient
descent on Σ (x̂_i - x_i)², each x̂_i an implicit layer whose gradient comes from
the implicit function theorem as derived by SymPy: nobody writes ∂x/∂a by hand.
"""
import random

import sympy as sp

from symimplicit import Minimize
from symimplicit.tape import Scalar, backward

x, a, b = sp.symbols("x a b")
argmin = Minimize(a * x**2 + b * x, x, (a, b)).primitive()      # x*(a, b) = argmin a x² + b x

random.seed(314)
truea = 1 + random.random()
bs = [2 * random.random() - 1 for _ in range(100)]
xs = [argmin(truea, bi) for bi in bs]                            # floats in: a float solve

ahat, lr = 1.5, 0.05
for step in range(1, 1001):
    sa = Scalar(ahat)
    loss = sum((argmin(sa, bi) - xi) ** 2 for bi, xi in zip(bs, xs))
    backward(loss)                                               # ∂loss/∂a through 100 layers
    ahat -= lr * sa.grad
    if abs(sa.grad) < 1e-14:
        break

print(f"recovered a = {ahat!r} after {step} steps")
print(f"true      a = {truea!r}")
print(f"|error|     = {abs(ahat - truea):.2e}")
