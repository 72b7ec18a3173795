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
from symimplicit.tape import Abs, Cos, Function, Plus, Scalar, Times, backward, trace

x, a, b = sp.symbols("x a b")
statement = FixedPoint(sp.cos(a * x + b), unknown=x, params=(a, b))
AT = {"a": 1.0, "b": 0.0}


def cosaxb(x, a, b):                                   # the seed's map
    return Cos(Plus(b, Times(a, x)))


def iterativefixedpoint(*args, fun=cosaxb, x0=0):      # the seed's solver (Scalars or floats)
    oldx, x = Scalar(x0 - 1), Scalar(x0)
    isscalar = isinstance(args[0], Scalar)
    args = [v if isinstance(v, Scalar) else Scalar(v) for v in args]
    for _ in range(100):
        if not Abs(Plus(x, Times(Scalar(-1), oldx))) > 1e-7:
            break
        oldx, x = x, fun(x, *args)
    return x if isscalar else x.value


def fpbackward(*args, fun=cosaxb, x0=0):               # the seed's hand-written backward
    x = iterativefixedpoint(*args, fun=fun, x0=x0)      # recomputed: nothing was stored
    sargs = [Scalar(v) for v in args]
    sx = Scalar(x)
    backward(fun(sx, *sargs))
    return [sa.grad / (1 - sx.grad) for sa in sargs]


SeedFixedPoint = Function("FixedPoint", iterativefixedpoint, fpbackward)


def main():
    print("∂x/∂a =", statement.derive().derivative(a))
    layer = statement.primitive()
    for name, fn in (("unrolled seed loop", iterativefixedpoint),
                     ("seed FixedPoint", SeedFixedPoint), ("symimplicit primitive", layer)):
        A, B = Scalar(AT["a"]), Scalar(AT["b"])
        X = fn(A, B)
        backward(X)
        report = verify(fn, at=AT, against=statement)
        grad_digits = min(row.digits for row in report.rows if row.kind == "gradient")
        print(f"{name:<22} {len(trace(X)):>4} nodes  ∂x/∂a = {A.grad!r:<22} "
              f"∂x/∂b = {B.grad!r:<22} {grad_digits:5.1f} digits")


if __name__ == "__main__":
    main()
