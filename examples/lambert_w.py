"""Lambert's W as an implicit function: w e^w = z.

    python examples/lambert_w.py

The implicit function theorem gives dw/dz = e^{-w}/(1 + w) = w/(z (1 + w)), which is
SymPy's own derivative of LambertW(z); the tape value is checked against mpmath.lambertw.
"""
import mpmath
import sympy as sp

from symimplicit import Root, verify
from symimplicit.tape import Scalar, backward

w, z = sp.symbols("w z")
statement = Root(w * sp.exp(w) - z, unknown=w, params=(z,))
AT = {"z": 2.5}


def main():
    d = statement.derive()
    dw = d.derivative(z)
    print("dw/dz =", dw)
    on_w = dw.subs(sp.exp(-w), w / z)                      # e^{-w} = w/z on the curve
    same = sp.simplify(on_w.subs(w, sp.LambertW(z)) - sp.diff(sp.LambertW(z), z)) == 0
    print("dw/dz =", on_w, "on the curve; equals SymPy's d/dz LambertW(z):", same)
    layer = statement.primitive(x0=1.0)
    sz = Scalar(AT["z"])
    W = layer(sz)
    backward(W)
    print(f"W({AT['z']}) = {W.value!r} (mpmath.lambertw: {float(mpmath.lambertw(AT['z']))!r})")
    print(f"dW/dz = {sz.grad!r} (w/(z(1 + w)) = {W.value / (AT['z'] * (1 + W.value))!r})")
    report = verify(layer, at=AT)
    print(f"verify: {report.digits:.1f} digits correct, κ = {report.kappa:.3g}, ok = {report.ok}")


if __name__ == "__main__":
    main()
