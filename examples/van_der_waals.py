"""The molar volume V(p, T) of a van der Waals gas: (p + a/V²)(V - b) = R T.

    python examples/van_der_waals.py

CO₂ at 1 bar and 300 K.  ∂V/∂T (thermal expansion) from the implicit function
theorem, next to the ideal gas's R/p.
"""
import sympy as sp

from symimplicit import Root, verify
from symimplicit.tape import Scalar, backward

V, p, T, a, b = sp.symbols("V p T a b")
R = sp.Rational("8.314462618")                                   # J/(mol K)
statement = Root((p + a / V**2) * (V - b) - R * T, unknown=V, params=(p, T, a, b))
AT = {"p": 1e5, "T": 300.0, "a": 0.3640, "b": 4.267e-5}          # CO₂ (SI units)


def main():
    d = statement.derive()
    print("∂V/∂T =", d.derivative(T))
    layer = statement.primitive(x0=float(R) * AT["T"] / AT["p"])  # start from the ideal gas
    args = [Scalar(AT[k]) for k in ("p", "T", "a", "b")]
    Vm = layer(*args)
    backward(Vm)
    print(f"V = {Vm.value!r} m³/mol at p = {AT['p']:g} Pa, T = {AT['T']:g} K "
          f"(ideal gas: {float(R) * AT['T'] / AT['p']!r})")
    print(f"∂V/∂T = {args[1].grad!r} m³/(mol K) (ideal gas R/p = {float(R) / AT['p']!r})")
    print(f"∂V/∂p = {args[0].grad!r}, ∂V/∂a = {args[2].grad!r}, ∂V/∂b = {args[3].grad!r}")
    report = verify(layer, at=AT)
    print(f"verify: {report.digits:.1f} digits correct, κ = {report.kappa:.3g}, ok = {report.ok}")


if __name__ == "__main__":
    main()
