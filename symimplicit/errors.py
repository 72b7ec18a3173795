"""Typed errors for the whole package.

Every error symimplicit raises on purpose derives from :class:`SymimplicitError`
and names *what* went wrong and *where* (the text position, the parameter
values, the iteration count...).  Each also derives from the closest builtin
exception so ``except ValueError`` style code keeps working.
"""
from __future__ import annotations

__all__ = [
    "SymimplicitError",
    "ParseError",
    "StatementError",
    "ArgumentError",
    "DerivationError",
    "ConvergenceError",
    "SingularJacobianError",
    "DomainError",
    "NonFiniteError",
    "NotAMinimumError",
    "NonDifferentiableError",
    "GradientMismatchError",
    "MissingDependencyError",
    "OutputError",
    "InfeasibleError",
    "UnboundedError",
    "ConstraintQualificationError",
]


class SymimplicitError(Exception):
    """Base class of every error raised by symimplicit."""


class ParseError(SymimplicitError, ValueError):
    """Text that cannot be parsed safely into a SymPy expression.

    ``text`` is the offending input, ``position`` the 0-based character offset
    where it went wrong (``None`` when the whole input is at fault).
    """

    def __init__(self, message: str, text: str | None = None, position: int | None = None):
        self.text = text
        self.position = position
        where = ""
        if position is not None:
            where = f" at position {position}"
            if text is not None and len(text) <= 200:
                where += f":\n    {text}\n    {' ' * position}^"
        super().__init__(f"{message}{where}")


class StatementError(SymimplicitError, ValueError):
    """A problem statement that is malformed (shapes, unknowns, parameters)."""


class ArgumentError(StatementError, TypeError):
    """A call with the wrong number or kind of arguments (also a ``TypeError``)."""


class DerivationError(SymimplicitError, ValueError):
    """A derivative that cannot be formed (unknown parameter, bad order...)."""


class ConvergenceError(SymimplicitError, ArithmeticError):
    """A numerical solve that did not converge.

    Carries ``iterations``, the last ``residual`` norm and the ``point``
    (parameter values and last iterate) so the failure can be reproduced.
    """

    def __init__(self, message: str, *, iterations: int | None = None,
                 residual: float | None = None, point: dict | None = None):
        self.iterations = iterations
        self.residual = residual
        self.point = point
        super().__init__(message)


class SingularJacobianError(SymimplicitError, ArithmeticError):
    """∂F/∂x is singular at the point: the implicit function theorem fails there."""

    def __init__(self, message: str, *, point: dict | None = None, value=None):
        self.point = point
        self.value = value
        super().__init__(message)


class DomainError(SymimplicitError, ValueError):
    """A function evaluated outside its domain (log of a negative, ...)."""

    def __init__(self, message: str, *, point: dict | None = None):
        self.point = point
        super().__init__(message)


class NonFiniteError(SymimplicitError, ValueError):
    """A NaN or infinite input or intermediate value."""

    def __init__(self, message: str, *, point: dict | None = None):
        self.point = point
        super().__init__(message)


class NotAMinimumError(SymimplicitError, ArithmeticError):
    """A stationary point that is a maximum or saddle, not a minimum."""

    def __init__(self, message: str, *, point: dict | None = None):
        self.point = point
        super().__init__(message)


class NonDifferentiableError(SymimplicitError, ArithmeticError):
    """The solution sits on a kink (abs, Max, Min, sign, Heaviside, Piecewise; a weakly
    active constraint): the derivative does not exist there.

    ``kink`` is the SymPy expression g whose zero the solution sits on (or the
    constraint), ``point`` the parameter values and solution.
    """

    def __init__(self, message: str, *, kink=None, point: dict | None = None):
        self.kink = kink
        self.point = point
        super().__init__(message)


class GradientMismatchError(SymimplicitError, AssertionError):
    """A gradient that disagrees with the high-precision reference."""


class MissingDependencyError(SymimplicitError, ImportError):
    """An optional dependency is needed; the message says how to install it."""

    def __init__(self, package: str, extra: str | None = None, purpose: str = "",
                 debian: str | None = None):
        how = f"pip install 'symimplicit[{extra}]'" if extra else f"pip install {package}"
        if debian:
            how = f"apt-get install {debian}"
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"{package} is needed{what}; install it with: {how}")
        self.package = package


class OutputError(SymimplicitError, OSError):
    """A result that cannot be written (a missing directory, a full disk, no permission).

    ``path`` is the file that could not be written.
    """

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        super().__init__(message)


class InfeasibleError(SymimplicitError, ArithmeticError):
    """No point satisfies the constraints (as far as the solver can tell): ``constraint`` is
    the one most violated at the least infeasible point found, ``point`` that point."""

    def __init__(self, message: str, *, constraint=None, point: dict | None = None):
        self.constraint = constraint
        self.point = point
        super().__init__(message)


class UnboundedError(SymimplicitError, ArithmeticError):
    """The objective decreases without bound on the feasible set: no minimum exists."""

    def __init__(self, message: str, *, point: dict | None = None):
        self.point = point
        super().__init__(message)


class ConstraintQualificationError(SingularJacobianError):
    """The active constraints' gradients are linearly dependent at the solution (LICQ fails):
    the multipliers are not unique and the KKT Jacobian is singular.  ``constraints`` names them."""

    def __init__(self, message: str, *, constraints=(), point: dict | None = None, value=None):
        self.constraints = tuple(constraints)
        super().__init__(message, point=point, value=value)
