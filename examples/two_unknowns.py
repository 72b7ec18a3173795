"""Two unknowns, two equations: where the circle x² + y² = r² meets the curve y = e^{kx}.

    python examples/two_unknowns.py

The derivatives of (x, y) with respect to (r, k) solve one 2×2 linear system with the
Jacobian ∂F/∂(x, y); one backward pass per output gives the 2×2 gradient.
"""
import sympy as sp

from symimplicit import Root, verify
from symimplicit.tape import Scalar, backward, reset_grad

x, y, r, k = sp.symbols("x y r k")
statement = Root([x**2 + y**2 - r**2, y - sp.exp(k * x)], unknown=(x, y), params=(r, k))
AT = {"r": 2.0, "k": 0.5}


def main():
    d = statement.derive()
    print("∂(x, y)/∂r =", list(d.derivative(r)))
    print("fails where", d.conditions)
    layer = statement.primitive(x0=(1.0, 1.5))
    sr, sk = Scalar(AT["r"]), Scalar(AT["k"])
    X, Y = layer(sr, sk)
    print(f"(x, y) = ({X.value!r}, {Y.value!r}) at r = {AT['r']}, k = {AT['k']}")
    for name, out in (("x", X), ("y", Y)):
        reset_grad(out)
        backward(out)
        print(f"∂{name}/∂r = {sr.grad!r}, ∂{name}/∂k = {sk.grad!r}")
    report = verify(layer, at=AT)
    print(f"verify: {report.digits:.1f} digits correct, κ = {report.kappa:.3g}, ok = {report.ok}")


if __name__ == "__main__":
    main()
