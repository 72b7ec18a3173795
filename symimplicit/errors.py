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
    "LowPrecisionFloatWarning",
]


class SymimplicitError(Exception):
    """Base class of every error raised by symimplicit.

    Examples
    ========
    >>> from symimplicit.errors import SymimplicitError, ConvergenceError, ParseError
    >>> issubclass(ConvergenceError, SymimplicitError), issubclass(ParseError, ValueError)
    (True, True)
    """


class ParseError(SymimplicitError, ValueError):
    """Text that cannot be parsed safely into a SymPy expression.

    ``text`` is the offending input, ``position`` the 0-based character offset
    where it went wrong (``None`` when the whole input is at fault).

    Examples
    ========
    >>> from symimplicit import parse_expression
    >>> from symimplicit.errors import ParseError
    >>> try:
    ...     parse_expression("x +* 2")
    ... except ParseError as e:
    ...     print(e.position, repr(e.text))
    3 'x +* 2'
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
    """A problem statement that is malformed (shapes, unknowns, parameters).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Minimize(x**2, x, a, constraints=[x - a, 2*x - 2*a])
    Traceback (most recent call last):
    ...
    symimplicit.errors.StatementError: 2 equality constraint(s) on 1 unknown(s) leave nothing to minimise over: need fewer constraints than unknowns
    """


class ArgumentError(StatementError, TypeError):
    """A call with the wrong number or kind of arguments (also a ``TypeError``).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Root(x - a, x, a).primitive()(1.0, 2.0)
    Traceback (most recent call last):
    ...
    symimplicit.errors.ArgumentError: RootLayer takes the 1 parameter(s) (a,) in order, got 2
    """


class DerivationError(SymimplicitError, ValueError):
    """A derivative that cannot be formed (unknown parameter, bad order...).

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Root(x**2 - a, x, a).derive().derivative(sp.Symbol("b"))
    Traceback (most recent call last):
    ...
    symimplicit.errors.DerivationError: b is not a parameter of Root(-a + x**2, unknown=x, params=(a,)); the parameters are (a)
    """


class ConvergenceError(SymimplicitError, ArithmeticError):
    """A numerical solve that did not converge.

    Carries ``iterations``, the last ``residual`` norm and the ``point``
    (parameter values and last iterate) so the failure can be reproduced.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Root(x**2 + a, x, a).primitive()(1.0)          # x² + 1 = 0 has no real root
    Traceback (most recent call last):
    ...
    symimplicit.errors.ConvergenceError: newton: ∂F/∂x = 0.0 at an iterate after 0 iteration(s); last residual 1 at x=0.0, a=1.0
    """

    def __init__(self, message: str, *, iterations: int | None = None,
                 residual: float | None = None, point: dict | None = None):
        self.iterations = iterations
        self.residual = residual
        self.point = point
        super().__init__(message)


class SingularJacobianError(SymimplicitError, ArithmeticError):
    """∂F/∂x is singular at the point: the implicit function theorem fails there.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> FixedPoint(a*sp.tanh(x), x, (a,)).primitive()(1.0)    # x = tanh x: F_x = 1 - sech²0 = 0
    Traceback (most recent call last):
    ...
    symimplicit.errors.SingularJacobianError: FixedPointLayer: ∂F/∂x = 0.0 at the solution x=0.0, a=1.0: ∂F/∂z is singular there, the implicit function theorem fails and the derivative does not exist
    """

    def __init__(self, message: str, *, point: dict | None = None, value=None):
        self.point = point
        self.value = value
        super().__init__(message)


class DomainError(SymimplicitError, ValueError):
    """A function evaluated outside its domain (log of a negative, ...).

    Examples
    ========
    >>> from symimplicit.tape import Log, Scalar
    >>> Log(Scalar(-1.0))
    Traceback (most recent call last):
    ...
    symimplicit.errors.DomainError: Log(-1.0) is outside its domain: math domain error
    """

    def __init__(self, message: str, *, point: dict | None = None):
        self.point = point
        super().__init__(message)


class NonFiniteError(SymimplicitError, ValueError):
    """A NaN or infinite input or intermediate value.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Root(x - a, x, a).primitive()(float("nan"))
    Traceback (most recent call last):
    ...
    symimplicit.errors.NonFiniteError: RootLayer: the parameter a = nan is not finite
    """

    def __init__(self, message: str, *, point: dict | None = None):
        self.point = point
        super().__init__(message)


class NotAMinimumError(SymimplicitError, ArithmeticError):
    """A stationary point that is a maximum or saddle, not a minimum.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Minimize(-(x - a)**2, x, a).primitive()(1.0)
    Traceback (most recent call last):
    ...
    symimplicit.errors.NotAMinimumError: MinimizeLayer: the stationary point is a maximum (∂²f/∂x² = -2 < 0) at x=1.0, a=1.0
    """

    def __init__(self, message: str, *, point: dict | None = None):
        self.point = point
        super().__init__(message)


class NonDifferentiableError(SymimplicitError, ArithmeticError):
    """The solution sits on a kink (abs, Max, Min, sign, Heaviside, Piecewise; a weakly
    active constraint): the derivative does not exist there.

    ``kink`` is the SymPy expression g whose zero the solution sits on (or the
    constraint), ``point`` the parameter values and solution.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Root(x - sp.Max(a, 0), x, a).primitive()(0.0)
    Traceback (most recent call last):
    ...
    symimplicit.errors.NonDifferentiableError: RootLayer: the solution sits on the kink -a = 0 (its value -0 is within the rounding bound 0) at x=-0.0, a=0.0: F is not differentiable there, so the derivative does not exist (the one-sided derivatives differ)
    """

    def __init__(self, message: str, *, kink=None, point: dict | None = None):
        self.kink = kink
        self.point = point
        super().__init__(message)


class GradientMismatchError(SymimplicitError, AssertionError):
    """A gradient that disagrees with the high-precision reference.

    Examples
    ========
    >>> from symimplicit.errors import GradientMismatchError
    >>> isinstance(GradientMismatchError("dx/da: 3 digits"), AssertionError)
    True
    """


class MissingDependencyError(SymimplicitError, ImportError):
    """An optional dependency is needed; the message says how to install it.

    Examples
    ========
    >>> from symimplicit.errors import MissingDependencyError
    >>> print(MissingDependencyError("matplotlib", extra="plot", purpose="plots"))
    matplotlib is needed for plots; install it with: pip install 'symimplicit[plot]'
    """

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

    Examples
    ========
    >>> from symimplicit.errors import OutputError
    >>> e = OutputError("cannot write /nonexistent/out.pdf", path="/nonexistent/out.pdf")
    >>> isinstance(e, OSError), e.path
    (True, '/nonexistent/out.pdf')
    """

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        super().__init__(message)


class InfeasibleError(SymimplicitError, ArithmeticError):
    """No point satisfies the constraints (as far as the solver can tell): ``constraint`` is
    the one most violated at the least infeasible point found, ``point`` that point.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Minimize(x**2, x, a, constraints=[x >= a, x <= a - 1]).primitive()(1.0)
    Traceback (most recent call last):
    ...
    symimplicit.errors.InfeasibleError: no feasible point found: the constraints seem inconsistent; at the least infeasible point found, x=0.333333, a=1, the inequality [0] x >= a is violated by 0.667
    """

    def __init__(self, message: str, *, constraint=None, point: dict | None = None):
        self.constraint = constraint
        self.point = point
        super().__init__(message)


class UnboundedError(SymimplicitError, ArithmeticError):
    """The objective decreases without bound on the feasible set: no minimum exists.

    Examples
    ========
    >>> import sympy as sp
    >>> from symimplicit import Root, FixedPoint, Minimize
    >>> x, a = sp.symbols("x a", real=True)

    >>> Minimize(x, x, a, constraints=[x <= a]).primitive()(1.0)     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symimplicit.errors.UnboundedError: the iterates run off to ‖x‖ = ... along feasible points: the objective seems unbounded below on the feasible set (...)
    """

    def __init__(self, message: str, *, point: dict | None = None):
        self.point = point
        super().__init__(message)


class ConstraintQualificationError(SingularJacobianError):
    """The active constraints' gradients are linearly dependent at the solution (LICQ fails):
    the multipliers are not unique and the KKT Jacobian is singular.  ``constraints`` names them.

    Examples
    ========
    >>> from symimplicit.errors import ConstraintQualificationError, SingularJacobianError
    >>> e = ConstraintQualificationError("LICQ fails", constraints=["x + y - a", "2*x + 2*y - 2*a"])
    >>> isinstance(e, SingularJacobianError), e.constraints
    (True, ('x + y - a', '2*x + 2*y - 2*a'))
    """

    def __init__(self, message: str, *, constraints=(), point: dict | None = None, value=None):
        self.constraints = tuple(constraints)
        super().__init__(message, point=point, value=value)


class LowPrecisionFloatWarning(UserWarning):
    """A statement was made with inexact SymPy Floats of at most 15 digits (``0.1*a`` in
    Python is 0.1000000000000000055511151231257827...·a, not a/10).  The message names the
    Floats and the exact rationals to write instead; ``floats`` holds them.

    A warning, not an error: the statement is valid, but every reference computed from
    it (mpmath, interval proofs) is limited to the Floats' digits.

    Examples
    ========
    >>> import warnings
    >>> import sympy as sp
    >>> from symimplicit import Root
    >>> from symimplicit.errors import LowPrecisionFloatWarning
    >>> x, a = sp.symbols("x a")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = Root(x - 0.1*a, x, (a,))
    >>> [type(w.message).__name__ for w in caught], caught[0].message.floats
    (['LowPrecisionFloatWarning'], (0.100000000000000,))
    """

    def __init__(self, message: str, floats=()):
        self.floats = tuple(floats)
        super().__init__(message)
