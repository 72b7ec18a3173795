"""Problem statements: what defines the unknown x(θ) implicitly.

Three kinds, one base class :class:`Statement`:

* :class:`Root`        F(x, θ) = 0
* :class:`FixedPoint`  x = f(x, θ)                 (residual x - f)
* :class:`Minimize`    x = argmin f(x, θ)          (residual ∇ₓf)
  optionally subject to g(x, θ) = 0                 (residual [∇ₓf + Jgᵀλ ; g], λ internal)

A statement only *states* the problem in SymPy and checks that it is well formed
(shapes, unknowns that occur, parameters distinct from the unknowns).  It solves
nothing; :meth:`Statement.derive` hands it to :mod:`symimplicit.derive`.

The modules, one concern each: :mod:`~symimplicit.statements.arguments` (normalising and
checking the arguments), :mod:`~symimplicit.statements.floats` (the warning on inexact
Float constants), :mod:`~symimplicit.statements.base` (:class:`Statement`),
:mod:`~symimplicit.statements.equations` (:class:`Root`, :class:`FixedPoint`) and
:mod:`~symimplicit.statements.minimize` (:class:`Minimize`).
"""
from __future__ import annotations

from symimplicit.statements.arguments import _as_expr          # noqa: F401  (compat, derive.chain)
from symimplicit.statements.base import Statement
from symimplicit.statements.equations import FixedPoint, Root
from symimplicit.statements.minimize import Minimize

__all__ = ["Statement", "Root", "FixedPoint", "Minimize"]
