"""The seed's two implicit layers, derived instead of hand-written.

    python examples/seed_layers.py

x = cos(ax + b) (a fixed point) and x = argmin a x² + b x, each one tape node
whose backward pass is the implicit-function-theorem formula SymPy derived.
"""
import sympy as sp

from symimplicit import FixedPoint, Minimize
from symimplicit.tape import Scalar, backward, trace

x, a, b = sp.symbols("x a b")
fixed_point = FixedPoint(sp.cos(a * x + b), x, (a, b))
argmin = Minimize(a * x**2 + b * x, x, (a, b))

print("∂x/∂a of the fixed point:", fixed_point.derive().derivative(a))
print("∂x/∂a of the argmin:     ", argmin.derive().derivative(a))

for statement, values in ((fixed_point, (1.0, 0.0)), (fixed_point, (-0.5, 0.5)), (argmin, (2.0, -1.0))):
    layer = statement.primitive()
    A, B = (Scalar(v) for v in values)
    X = layer(A, B)
    backward(X)
    print(f"{layer.name}{values}: x = {X.value!r}, ∂x/∂a = {A.grad!r}, ∂x/∂b = {B.grad!r}, "
          f"{len(trace(X))} nodes, {layer.last_iterations} iterations")
