"""symimplicit.derive: the implicit function theorem to any order, as SymPy expressions.

One module per concern:

* :mod:`~symimplicit.derive.derivation`: :class:`Derivation` (Jacobians, derivatives,
  conditions, steps), built by ``statement.derive()``;
* :mod:`~symimplicit.derive.numerators`: Comtet's numerator polynomials (scalar unknowns);
* :mod:`~symimplicit.derive.systems`: the linear-solve form z_S = -J⁻¹ R_S (vector unknowns)
  and its :class:`LinearSolve` node;
* :mod:`~symimplicit.derive.calculus`: partial derivatives (DiracDelta dropped; a
  chain-rule gradient over the expression DAG for systems);
* :mod:`~symimplicit.derive.zero`: the cheap identically-zero test;
* :mod:`~symimplicit.derive.conditions`, :mod:`~symimplicit.derive.steps`.
"""
from symimplicit.derive.derivation import EXPLICIT_DET, MAX_ORDER, MAX_TERMS, Derivation
from symimplicit.derive.numerators import ImplicitNumerator, Numerator, implicit_numerator
from symimplicit.derive.steps import STEP_KINDS, Step
from symimplicit.derive.systems import LinearSolve
from symimplicit.derive.zero import is_identically_zero

__all__ = ["Derivation", "Step", "STEP_KINDS", "LinearSolve", "implicit_numerator",
           "ImplicitNumerator", "Numerator", "is_identically_zero", "MAX_ORDER", "MAX_TERMS",
           "EXPLICIT_DET"]
