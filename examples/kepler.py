"""Kepler's equation E - e sin E = M: the eccentric anomaly E(e, M) of an orbit.

    python examples/kepler.py

No closed form for E, but its derivatives have one: ∂E/∂M = 1/(1 - e cos E),
∂E/∂e = sin E/(1 - e cos E).  SymPy derives them, the tape evaluates them at the
float64 solution, mpmath checks the digits.
"""
import sympy as sp

from symimplicit import Root, verify
from symimplicit.tape import Scalar, backward

E, e, M = sp.symbols("E e M")
statement = Root(E - e * sp.sin(E) - M, unknown=E, params=(e, M))    # E - e sin E - M = 0
AT = {"e": 0.3, "M": 1.1}


def main():
    d = statement.derive()
    print("∂E/∂e =", d.derivative(e))
    print("∂E/∂M =", d.derivative(M))
    print("∂²E/∂M² =", d.derivative(M, M))
    layer = statement.primitive(x0=AT["M"])
    se, sM = Scalar(AT["e"]), Scalar(AT["M"])
    E_ = layer(se, sM)
    backward(E_)
    closed = 1 / (1 - AT["e"] * sp.cos(E_.value))
    print(f"E = {E_.value!r} at e = {AT['e']}, M = {AT['M']}")
    print(f"∂E/∂M = {sM.grad!r} (1/(1 - e cos E) = {float(closed)!r})")
    print(f"∂E/∂e = {se.grad!r}")
    report = verify(layer, at=AT)
    print(f"verify: {report.digits:.1f} digits correct, κ = {report.kappa:.3g}, ok = {report.ok}")


if __name__ == "__main__":
    main()
