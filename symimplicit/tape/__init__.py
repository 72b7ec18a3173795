"""symimplicit.tape: a small, fast reverse-mode autodiff of Python scalars.

API-compatible with the seed notebook's engine::

    from symimplicit.tape import Scalar, Function, trace, backward, reset_grad
    from symimplicit.tape import Abs, Cos, Plus, Times, Sum, Pow

This package imports neither SymPy nor mpmath; the SymPy twin of each
primitive lives in :mod:`symimplicit.twins`.
"""
from symimplicit.tape.engine import Function, Saved, Scalar, value_of
from symimplicit.tape.walks import backward, grad, reset_grad, trace
from symimplicit.tape.replay import value_and_grad
from symimplicit.tape.ops import (
    ELEMENTARY, PARTIALS, Abs, Acos, Acosh, Asin, Asinh, Atan, Atanh, Cos, Cosh, Divide, Erf, Exp, Expm1,
    Log, Log1p, Minus, Mod, Neg, Plus, Pow, Primitive, Sin, Sinh, Sqrt, Sum, Tan, Tanh, Times,
)

__all__ = [
    "Scalar", "Function", "Saved", "trace", "backward", "grad", "reset_grad", "value_of",
    "value_and_grad",
    "Primitive", "ELEMENTARY", "PARTIALS",
    "Plus", "Sum", "Minus", "Neg", "Times", "Divide", "Pow", "Mod", "Abs",
    "Cos", "Sin", "Tan", "Exp", "Log", "Sqrt", "Tanh", "Atan", "Sinh", "Cosh",
    "Log1p", "Expm1", "Asin", "Acos", "Asinh", "Acosh", "Atanh", "Erf",
]
