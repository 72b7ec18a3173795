"""The seed notebook's fixed point x = cos(ax + b), three ways, judged by mpmath.

    python examples/seed_fixed_point.py

1. the seed's loop x ← cos(b + a x) on the tape until |Δx| ≤ 1e-7, differentiated
   through all its iterations (126 nodes);
2. the seed's hand-written ``FixedPoint`` Function (``iterativefixedpoint`` /
   ``fpbackward``), on symimplicit's tape;
3. symimplicit's derived implicit primitive.
"""
import sympy as sp

from symimplicit import FixedPoint, verify
from symimplicit.seed import SeedFixedPoint, cosaxb, iterativefixedpoint  # the seed's code
from symimplicit.tape import Scalar, backward, trace

x, a, b = sp.symbols("x a b")
statement = FixedPoint(sp.cos(a * x + b), unknown=x, params=(a, b))
AT = {"a": 1.0, "b": 0.0}


def main():
    print("∂x/∂a =", statement.derive().derivative(a))
    layer = statement.primitive()
    for name, fn in (("unrolled seed loop", iterativefixedpoint),
                     ("seed FixedPoint", SeedFixedPoint), ("symimplicit primitive", layer)):
        A, B = Scalar(AT["a"]), Scalar(AT["b"])
        kwargs = {} if fn is layer else {"fun": cosaxb}
        X = fn(A, B, **kwargs)
        backward(X)
        report = verify(fn, at=AT, against=statement, kwargs=kwargs)
        grad_digits = min(row.digits for row in report.rows if row.kind == "gradient")
        print(f"{name:<22} {len(trace(X)):>4} nodes  ∂x/∂a = {A.grad!r:<22} "
              f"∂x/∂b = {B.grad!r:<22} {grad_digits:5.1f} digits")


if __name__ == "__main__":
    main()
