"""An equality-constrained argmin: the point of the ellipse x² + 4y² = c nearest to (p, q).

    python examples/constrained_argmin.py

The solution is a KKT point of L = (x - p)² + (y - q)² + λ(x² + 4y² - c); its
derivatives with respect to (p, q, c) come from the KKT system's Jacobian.  The
multiplier λ is internal: the layer returns (x, y).
"""
import sympy as sp

from symimplicit import Minimize, verify
from symimplicit.tape import Scalar, backward

x, y, p, q, c = sp.symbols("x y p q c")
statement = Minimize((x - p)**2 + (y - q)**2, unknown=(x, y), params=(p, q, c),
                     constraints=[x**2 + 4 * y**2 - c])
AT = {"p": 2.0, "q": 1.0, "c": 1.0}


def main():
    d = statement.derive()
    print("∂(x, y)/∂c =", list(d.derivative(c)))
    layer = statement.primitive(x0=(0.9, 0.2))
    sp_, sq, sc = (Scalar(AT[k]) for k in ("p", "q", "c"))
    X, Y = layer(sp_, sq, sc)
    print(f"nearest point (x, y) = ({X.value!r}, {Y.value!r}); "
          f"x² + 4y² = {X.value**2 + 4 * Y.value**2!r}")
    backward(X)
    print(f"∂x/∂(p, q, c) = ({sp_.grad!r}, {sq.grad!r}, {sc.grad!r})")
    report = verify(layer, at=AT)
    print(f"verify: {report.digits:.1f} digits correct, κ = {report.kappa:.3g}, ok = {report.ok}")


if __name__ == "__main__":
    main()
