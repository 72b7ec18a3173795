"""symimplicit.lower: derived formulas become fast callables and tape primitives.

* :func:`primitive` ``(expr, args)`` / :func:`fuse` ``(fn, n_args)``: explicit primitives.
* :func:`make_primitive` (behind ``statement.primitive(**options)``): an
  :class:`ImplicitLayer` whose forward is a float64 solve and whose backward is
  the lowered implicit-function-theorem formula at the cached solution.
* :func:`make_lowered` (behind ``statement.lower(backend="numpy")``): vectorised
  solves and gradients over arrays of parameters.
* :func:`lambdify_many`: many expressions -> one callable with shared CSE
  (``math``, ``numpy`` or ``mpmath``).
"""
from symimplicit.lower.codegen import lambdify_many
from symimplicit.lower.explicit import ExplicitPrimitive, fuse, primitive
from symimplicit.lower.layers import ImplicitLayer, make_lowered, make_primitive
from symimplicit.lower.solvers import SOLVERS

__all__ = ["primitive", "fuse", "make_primitive", "make_lowered", "lambdify_many",
           "ExplicitPrimitive", "ImplicitLayer", "SOLVERS"]
