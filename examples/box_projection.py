"""Projection onto a box, x = argmin ½‖x - y‖² s.t. lo ≤ x ≤ hi: the clip function as a layer.

    python examples/box_projection.py

ImplicitDifferentiation.jl's constrained example.  The solution is clip(y, lo, hi); its
derivative is 1 where lo < y < hi and 0 where a bound is active, and the multipliers are
the distances of y beyond the bounds.  At y = lo exactly the bound is weakly active: the
derivative does not exist and the layer says so (or gives one-sided derivatives).
"""
import sympy as sp

from symimplicit import Minimize, NonDifferentiableError
from symimplicit.tape import Scalar, backward

N = 4
x = sp.symbols(f"x1:{N + 1}")
y = sp.symbols(f"y1:{N + 1}")
lo, hi = sp.symbols("lo hi")
statement = Minimize(sum((xi - yi)**2 for xi, yi in zip(x, y)) / 2, list(x), list(y) + [lo, hi],
                     constraints=[r for xi in x for r in (lo <= xi, xi <= hi)])
Y, LO, HI = [-0.7, 0.25, 1.6, 0.9], 0.0, 1.0


def main():
    layer = statement.primitive(multipliers=True)
    params = [Scalar(v) for v in Y + [LO, HI]]
    out = layer(*params)
    xs = [o.value for o in out[:N]]
    clip = [min(max(v, LO), HI) for v in Y]
    print("x =", xs)
    print("clip(y) =", clip, " equal:", xs == clip)
    print("active:", [str(r) for r in layer.active_set(*(Y + [LO, HI]))])
    total = sum(out[:N][1:], out[0])                                  # Σ xᵢ
    backward(total)
    grad = [p.grad for p in params]
    want = [float(LO < v < HI) for v in Y] + [sum(v <= LO for v in Y), sum(v >= HI for v in Y)]
    print("∂Σx/∂(y, lo, hi) =", grad)
    print("closed form      =", [float(w) for w in want])
    mu = [o.value for o in out[N:]]
    print("multipliers μ =", mu, "(lo - y and y - hi where active)")
    ok = xs == clip and grad == [float(w) for w in want]
    kink = statement.primitive(side=None)
    X0 = kink(*[Scalar(v) for v in [0.0, 0.5, 0.5, 0.5, LO, HI]])
    try:
        backward(X0[0])
    except NonDifferentiableError as exc:
        print("at y1 = lo:", type(exc).__name__, "-", str(exc).split(":")[1].strip()[:60], "...")
    right = statement.primitive(side="right").directional_derivative(
        0.0, 0.5, 0.5, 0.5, LO, HI, direction=[1, 0, 0, 0, 0, 0])[0]
    left = statement.primitive().directional_derivative(
        0.0, 0.5, 0.5, 0.5, LO, HI, direction=[1, 0, 0, 0, 0, 0], side="left")[0]
    print(f"one-sided ∂x1/∂y1 at y1 = lo: right = {right}, left = {left}")
    ok = ok and (right, left) == (1.0, 0.0)
    print(f"ok = {ok}")


if __name__ == "__main__":
    main()
