"""The Colebrook–White friction factor f(ε/D, Re) of turbulent pipe flow:

    1/√f = -2 log₁₀(r/3.7 + 2.51/(Re √f)),   r = ε/D the relative roughness.

    python examples/colebrook.py

Engineers solve it by iteration; its sensitivity ∂f/∂Re (how the pressure drop
responds to the flow rate) comes here from the implicit function theorem.
"""
import sympy as sp

from symimplicit import Root, verify
from symimplicit.tape import Scalar, backward

f, r, Re = sp.symbols("f r Re", positive=True)
statement = Root(1 / sp.sqrt(f) + 2 * sp.log(r / sp.Rational("3.7")
                                             + sp.Rational("2.51") / (Re * sp.sqrt(f)), 10),
                 unknown=f, params=(r, Re))
AT = {"r": 1e-4, "Re": 1e5}


def main():
    d = statement.derive()
    print("∂f/∂Re =", d.derivative(Re))
    layer = statement.primitive(x0=0.02, bracket=(1e-3, 0.1))
    sr, sRe = Scalar(AT["r"]), Scalar(AT["Re"])
    F = layer(sr, sRe)
    backward(F)
    print(f"f = {F.value!r} at ε/D = {AT['r']:g}, Re = {AT['Re']:g}")
    print(f"∂f/∂Re = {sRe.grad!r}, ∂f/∂(ε/D) = {sr.grad!r}")
    print(f"elasticity (Re/f) ∂f/∂Re = {AT['Re'] / F.value * sRe.grad:.4f}")
    report = verify(layer, at=AT)
    print(f"verify: {report.digits:.1f} digits correct, κ = {report.kappa:.3g}, ok = {report.ok}")


if __name__ == "__main__":
    main()
