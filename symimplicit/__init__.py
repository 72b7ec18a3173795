"""symimplicit: implicit differentiation. SymPy derives, a numeric tape runs, mpmath judges.

Top-level names are imported lazily (PEP 562) so that ``import symimplicit.tape``
stays light: the tape engine never pulls in SymPy or mpmath.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Root": "symimplicit.statements",
    "FixedPoint": "symimplicit.statements",
    "Minimize": "symimplicit.statements",
    "Statement": "symimplicit.statements",
    "idiff": "symimplicit.compat",
    "parse": "symimplicit.parsing",
    "parse_expression": "symimplicit.parsing",
    "Derivation": "symimplicit.derive",
    "primitive": "symimplicit.lower",
    "fuse": "symimplicit.lower",
    "verify": "symimplicit.precision",
    "certify": "symimplicit.precision",
    "study": "symimplicit.precision",
    "SymimplicitError": "symimplicit.errors",
    "ParseError": "symimplicit.errors",
    "StatementError": "symimplicit.errors",
    "ArgumentError": "symimplicit.errors",
    "DerivationError": "symimplicit.errors",
    "ConvergenceError": "symimplicit.errors",
    "SingularJacobianError": "symimplicit.errors",
    "DomainError": "symimplicit.errors",
    "NonFiniteError": "symimplicit.errors",
    "NotAMinimumError": "symimplicit.errors",
    "NonDifferentiableError": "symimplicit.errors",
    "GradientMismatchError": "symimplicit.errors",
    "MissingDependencyError": "symimplicit.errors",
    "InfeasibleError": "symimplicit.errors",
    "UnboundedError": "symimplicit.errors",
    "ConstraintQualificationError": "symimplicit.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'symimplicit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: the next access is a plain lookup
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
