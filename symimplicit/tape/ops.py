"""Elementary primitives of the tape, each with its chain rule beside its forward.

Names and calling conventions follow the seed: ``Plus(a, b)``, ``Sum(*xs)``,
``Times(a, b)``, ``Pow(x, p=2)``, ``Mod(x, m=3)``, ``Cos(x)``...  Positional
arguments are differentiated, keyword arguments are constants.

A vjp has the signature ``vjp(g, node) -> cotangents``: ``g`` is ∂L/∂out and
the result holds ∂L/∂(each positional argument).  ``node.value`` is the
output, ``node._parents[i].value`` the i-th input.

Every primitive's SymPy twin lives in :mod:`symimplicit.twins`, outside the
engine, so this module never imports SymPy.
"""
from __future__ import annotations

import math

from symimplicit.errors import DomainError
from symimplicit.tape.engine import Function, Scalar, _NUMBER_TYPES

__all__ = [
    "Primitive", "ELEMENTARY", "PARTIALS",
    "Plus", "Sum", "Minus", "Neg", "Times", "Divide", "Pow", "Mod", "Abs",
    "Cos", "Sin", "Tan", "Exp", "Log", "Sqrt", "Tanh", "Atan", "Sinh", "Cosh",
    "Log1p", "Expm1", "Asin", "Acos", "Asinh", "Acosh", "Atanh", "Erf",
]

_MATH_ERRORS = (ValueError, OverflowError, ZeroDivisionError)


class Primitive(Function):
    """An elementary Function: one output, no saved state, math errors as DomainError.

    Its call is :meth:`Function.__call__` specialised to that case (it is the
    hot path of seed-style code such as ``Sum(*[Pow(Plus(a, b), p=2) ...])``).
    Every elementary primitive of this module (``Plus``, ``Times``, ``Sin``, ``Log``...)
    is an instance, and this docstring is theirs.

    Examples
    ========
    >>> import math
    >>> from symimplicit.tape import Scalar, Sin, Times, Pow, Sum, Log, backward
    >>> x = Scalar(2.0)
    >>> y = Times(x, Sin(x))
    >>> backward(y)
    >>> round(x.grad, 12), round(math.sin(2) + 2 * math.cos(2), 12)    # d(x sin x) = sin x + x cos x
    (0.077003753731, 0.077003753731)
    >>> Pow(3.0, p=2), Sum(1.0, 2.0, 3.0)        # plain numbers in, a plain number out
    (9.0, 6.0)
    >>> Log(Scalar(-1.0))
    Traceback (most recent call last):
    ...
    symimplicit.errors.DomainError: Log(-1.0) is outside its domain: math domain error
    """

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        for a in args:
            if not isinstance(a, Scalar):
                return self._call_with_numbers(args, kwargs)
        if not args:
            return self._call_with_numbers(args, kwargs)
        try:  # all tape nodes: the tuple of arguments is the tuple of parents
            if kwargs:  # (an empty **kwargs in a call costs a third of the whole call)
                out = self.forward(*[a.value for a in args], **kwargs)
            else:
                out = self.forward(*[a.value for a in args])
                kwargs = None
        except _MATH_ERRORS as exc:
            raise _domain_error(self.name, args, kwargs or {}, exc) from exc
        if out.__class__ is complex:
            raise _domain_error(self.name, args, kwargs or {}, "the result is complex")
        return Scalar(out, args, self, kwargs)

    def _call_with_numbers(self, args, kwargs):
        """Plain numbers among the arguments: constants, or a plain result if all are numbers."""
        try:
            out = Function.__call__(self, *args, **kwargs)
        except _MATH_ERRORS as exc:
            raise _domain_error(self.name, args, kwargs, exc) from exc
        if out.__class__ is complex or (isinstance(out, Scalar) and out.value.__class__ is complex):
            raise _domain_error(self.name, args, kwargs, "the result is complex")
        return out


def _domain_error(name, args, kwargs, why) -> DomainError:
    shown = [repr(getattr(a, "value", a)) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return DomainError(f"{name}({', '.join(shown)}) is outside its domain: {why}")


ELEMENTARY: dict[str, Primitive] = {}
"""Every elementary primitive by name (the twins module maps the same names to SymPy)."""


def _primitive(name, forward, vjp) -> Primitive:
    fn = Primitive(name, forward, vjp=vjp, vjp_tape=_vjp_tape(name))
    ELEMENTARY[name] = fn
    return fn


def _x(node):
    """The value of a unary node's argument."""
    return node._parents[0].value


def _vjp_tape(name):
    """The vjp of primitive ``name`` in tape operations: g · (∂out/∂aᵢ from :data:`PARTIALS`)."""

    def vjp_tape(g, node):
        return [_scaled(g, d) for d in PARTIALS[name](node)]

    def kept(g, node, tag):
        """(parent, g·∂out/∂parent) for the parents a walk keeps (interior, or leaves
        tagged ``tag``; all with ``tag=None``): no node for a constant's cotangent (the
        create_graph pass of benchmarks/higher_order.py built a quarter of its nodes
        for constants)."""
        return [(p, _scaled(g, d)) for p, d in zip(node._parents, PARTIALS[name](node))
                if tag is None or p._parents or p._mark == tag]

    vjp_tape.kept = kept
    return vjp_tape


def _scaled(g, d):
    """g·d without a node when d is the constant 0, 1 or -1."""
    if d.__class__ is not Scalar:
        if d == 1:
            return g
        if d == 0:
            return 0
        if d == -1:
            return -g
    return g * d


# -- arithmetic -------------------------------------------------------------------
Plus = _primitive("Plus", lambda a, b: a + b,
                  lambda g, n: (g, g))                                  # d(a+b) = da + db
Sum = _primitive("Sum", lambda *xs: sum(xs),
                 lambda g, n: (g,) * len(n._parents))                   # d(Σxᵢ) = Σdxᵢ
Minus = _primitive("Minus", lambda a, b: a - b,
                   lambda g, n: (g, -g))                                # d(a-b) = da - db
Neg = _primitive("Neg", lambda a: -a,
                 lambda g, n: (-g,))                                    # d(-a) = -da
Times = _primitive("Times", lambda a, b: a * b,
                   lambda g, n: (g * n._parents[1].value,
                                 g * n._parents[0].value))              # d(ab) = b da + a db
Divide = _primitive("Divide", lambda a, b: a / b,
                    lambda g, n: (g / n._parents[1].value,
                                  -g * n.value / n._parents[1].value))  # d(a/b) = da/b - (a/b) db/b


def _pow_forward(x, y=None, *, p=None):
    return x ** (p if y is None else y)


def _pow_vjp(g, n):
    parents = n._parents
    x = parents[0].value
    if len(parents) == 1:
        p = n._kw["p"]
        return (g * (p * x ** (p - 1)),)                                # d(xᵖ) = p xᵖ⁻¹ dx
    y = parents[1].value
    if x > 0:
        dy = n.value * math.log(x)                                      # d(xʸ)/dy = xʸ log x
    elif x == 0 and y > 0:
        dy = 0.0
    else:
        raise DomainError(f"Pow({x!r}, {y!r}): the derivative in the exponent needs a positive base")
    return (g * (y * x ** (y - 1)), g * dy)


Pow = _primitive("Pow", _pow_forward, _pow_vjp)


def _mod_forward(x, y=None, *, m=None):
    return x % (m if y is None else y)


def _mod_vjp(g, n):
    parents = n._parents
    if len(parents) == 1:
        return (g,)                                                     # d(x mod m) = dx
    x, y = parents[0].value, parents[1].value
    return (g, -g * math.floor(x / y))                                  # x mod y = x - y⌊x/y⌋


Mod = _primitive("Mod", _mod_forward, _mod_vjp)
Abs = _primitive("Abs", abs,
                 lambda g, n: (g * ((_x(n) > 0) - (_x(n) < 0)),))       # d|x| = sign(x) dx

# -- elementary functions ------------------------------------------------------------
Cos = _primitive("Cos", math.cos, lambda g, n: (g * -math.sin(_x(n)),))          # d cos x = -sin x dx
Sin = _primitive("Sin", math.sin, lambda g, n: (g * math.cos(_x(n)),))           # d sin x = cos x dx
Tan = _primitive("Tan", math.tan, lambda g, n: (g * (1 + n.value * n.value),))   # d tan x = (1 + tan²x) dx
Exp = _primitive("Exp", math.exp, lambda g, n: (g * n.value,))                   # d eˣ = eˣ dx
Log = _primitive("Log", math.log, lambda g, n: (g / _x(n),))                     # d log x = dx / x
Sqrt = _primitive("Sqrt", math.sqrt, lambda g, n: (g / (2 * n.value),))          # d √x = dx / (2√x)
Tanh = _primitive("Tanh", math.tanh, lambda g, n: (g * (1 - n.value * n.value),))  # d tanh x = (1 - tanh²x) dx
Atan = _primitive("Atan", math.atan, lambda g, n: (g / (1 + _x(n) ** 2),))       # d atan x = dx / (1 + x²)
Sinh = _primitive("Sinh", math.sinh, lambda g, n: (g * math.cosh(_x(n)),))       # d sinh x = cosh x dx
Cosh = _primitive("Cosh", math.cosh, lambda g, n: (g * math.sinh(_x(n)),))       # d cosh x = sinh x dx
Log1p = _primitive("Log1p", math.log1p, lambda g, n: (g / (1 + _x(n)),))         # d log(1+x) = dx / (1+x)
Expm1 = _primitive("Expm1", math.expm1, lambda g, n: (g * (n.value + 1),))       # d (eˣ-1) = eˣ dx
Asin = _primitive("Asin", math.asin, lambda g, n: (g / math.sqrt(1 - _x(n) ** 2),))    # d asin x = dx/√(1-x²)
Acos = _primitive("Acos", math.acos, lambda g, n: (-g / math.sqrt(1 - _x(n) ** 2),))   # d acos x = -dx/√(1-x²)
Asinh = _primitive("Asinh", math.asinh, lambda g, n: (g / math.sqrt(_x(n) ** 2 + 1),))  # d asinh x = dx/√(x²+1)
Acosh = _primitive("Acosh", math.acosh, lambda g, n: (g / math.sqrt(_x(n) ** 2 - 1),))  # d acosh x = dx/√(x²-1)
Atanh = _primitive("Atanh", math.atanh, lambda g, n: (g / (1 - _x(n) ** 2),))     # d atanh x = dx/(1-x²)
Erf = _primitive("Erf", math.erf,
                 lambda g, n: (g * 2 / math.sqrt(math.pi) * math.exp(-_x(n) ** 2),))  # d erf x = 2/√π e^{-x²} dx


# -- the chain rules in tape operations (create_graph) -----------------------------------
# ∂out/∂(each positional argument) as tape expressions of the node n: its argument x (or a, b),
# its output n itself, its keyword constants; one line per primitive.  Differentiating these
# again gives every higher order; tests/test_tape_higher.py checks each line against SymPy's
# derivative of the primitive's twin (symimplicit.twins), and twins.py checks at import that
# every primitive has its line here.

def _a(n):
    return n._parents[0]


def _b(n):
    return n._parents[1]


def _pow_partials(n):
    parents = n._parents
    x = parents[0]
    if len(parents) == 1:
        p = n._kw["p"]
        return (p * x ** (p - 1) if p != 1 else 1,)                    # ∂xᵖ/∂x = p xᵖ⁻¹
    y = parents[1]
    if x.value > 0:
        dy = n * Log(x)                                                 # ∂xʸ/∂y = xʸ log x
    elif x.value == 0 and y.value > 0:
        dy = 0.0
    else:
        raise DomainError(f"Pow({x.value!r}, {y.value!r}): the derivative in the exponent "
                          "needs a positive base")
    return (y * x ** (y - 1), dy)


def _mod_partials(n):
    parents = n._parents
    if len(parents) == 1:
        return (1,)
    return (1, -float(math.floor(parents[0].value / parents[1].value)))  # x mod y = x - y⌊x/y⌋


PARTIALS = {
    "Plus": lambda n: (1, 1),
    "Sum": lambda n: (1,) * len(n._parents),
    "Minus": lambda n: (1, -1),
    "Neg": lambda n: (-1,),
    "Times": lambda n: (_b(n), _a(n)),
    "Divide": lambda n: (1 / _b(n), -n / _b(n)),
    "Pow": _pow_partials,
    "Mod": _mod_partials,
    "Abs": lambda n: (float((_x(n) > 0) - (_x(n) < 0)),),             # sign x, a constant
    "Cos": lambda n: (-Sin(_a(n)),),
    "Sin": lambda n: (Cos(_a(n)),),
    "Tan": lambda n: (1 + n * n,),
    "Exp": lambda n: (n,),
    "Log": lambda n: (1 / _a(n),),
    "Sqrt": lambda n: (0.5 / n,),
    "Tanh": lambda n: (1 - n * n,),
    "Atan": lambda n: (1 / (1 + _a(n) * _a(n)),),
    "Sinh": lambda n: (Cosh(_a(n)),),
    "Cosh": lambda n: (Sinh(_a(n)),),
    "Log1p": lambda n: (1 / (1 + _a(n)),),
    "Expm1": lambda n: (n + 1,),
    "Asin": lambda n: (1 / Sqrt(1 - _a(n) * _a(n)),),
    "Acos": lambda n: (-1 / Sqrt(1 - _a(n) * _a(n)),),
    "Asinh": lambda n: (1 / Sqrt(_a(n) * _a(n) + 1),),
    "Acosh": lambda n: (1 / Sqrt(_a(n) * _a(n) - 1),),
    "Atanh": lambda n: (1 / (1 - _a(n) * _a(n)),),
    "Erf": lambda n: (_TWO_OVER_SQRT_PI * Exp(-(_a(n) * _a(n))),),
}
"""Primitive name -> (node -> the partial derivatives of its output, in tape operations)."""
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


# -- operators on Scalar -------------------------------------------------------------
# The fast path of the common binary operators builds the node directly; the
# Functions above define their chain rules.

def _lift(other):
    """A Scalar for ``other``, or None when it is not a number."""
    if isinstance(other, Scalar):
        return other
    if isinstance(other, _NUMBER_TYPES):
        return Scalar(other)
    try:
        return Scalar(float(other))  # numpy scalars, fractions...
    except (TypeError, ValueError):
        return None


# The binary operators build their node in the method itself: no wrapper call, and the
# node's slots are stored here rather than through Scalar.__init__ (a second Python frame;
# the two cost a sixth of benchmarks/tape.py's forward with gc off).  A plain number
# becomes a constant leaf.
_new = object.__new__


def _binary(fn, value, a, b):
    """The node ``fn(a, b)`` with a known ``value`` (the operators' one constructor)."""
    out = _new(Scalar)
    out.value = value
    out.grad = None
    out._parents = (a, b)
    out._fn = fn
    out._kw = None
    out._mark = 0
    return out


def _fail(fn, a, b, exc):
    return _domain_error(fn.name, (a, b), {}, exc)


def _add(self, other):
    if other.__class__ is not Scalar and (other := _lift(other)) is None:
        return NotImplemented
    try:
        value = self.value + other.value
    except _MATH_ERRORS as exc:
        raise _fail(Plus, self, other, exc) from exc
    out = _new(Scalar)
    out.value = value
    out.grad = None
    out._parents = (self, other)
    out._fn = Plus
    out._kw = None
    out._mark = 0
    return out


def _radd(self, other):
    if (other := _lift(other)) is None:
        return NotImplemented
    try:
        value = other.value + self.value
    except _MATH_ERRORS as exc:
        raise _fail(Plus, other, self, exc) from exc
    return _binary(Plus, value, other, self)


def _sub(self, other):
    if other.__class__ is not Scalar and (other := _lift(other)) is None:
        return NotImplemented
    try:
        value = self.value - other.value
    except _MATH_ERRORS as exc:
        raise _fail(Minus, self, other, exc) from exc
    return _binary(Minus, value, self, other)


def _rsub(self, other):
    if (other := _lift(other)) is None:
        return NotImplemented
    try:
        value = other.value - self.value
    except _MATH_ERRORS as exc:
        raise _fail(Minus, other, self, exc) from exc
    return _binary(Minus, value, other, self)


def _mul(self, other):
    if other.__class__ is not Scalar and (other := _lift(other)) is None:
        return NotImplemented
    try:
        value = self.value * other.value
    except _MATH_ERRORS as exc:
        raise _fail(Times, self, other, exc) from exc
    out = _new(Scalar)
    out.value = value
    out.grad = None
    out._parents = (self, other)
    out._fn = Times
    out._kw = None
    out._mark = 0
    return out


def _rmul(self, other):
    if (other := _lift(other)) is None:
        return NotImplemented
    try:
        value = other.value * self.value
    except _MATH_ERRORS as exc:
        raise _fail(Times, other, self, exc) from exc
    return _binary(Times, value, other, self)


def _truediv(self, other):
    if other.__class__ is not Scalar and (other := _lift(other)) is None:
        return NotImplemented
    try:
        value = self.value / other.value
    except _MATH_ERRORS as exc:
        raise _fail(Divide, self, other, exc) from exc
    return _binary(Divide, value, self, other)


def _rtruediv(self, other):
    if (other := _lift(other)) is None:
        return NotImplemented
    try:
        value = other.value / self.value
    except _MATH_ERRORS as exc:
        raise _fail(Divide, other, self, exc) from exc
    return _binary(Divide, value, other, self)


Scalar.__add__ = _add
Scalar.__radd__ = _radd
Scalar.__sub__ = _sub
Scalar.__rsub__ = _rsub
Scalar.__mul__ = _mul
Scalar.__rmul__ = _rmul
Scalar.__truediv__ = _truediv
Scalar.__rtruediv__ = _rtruediv


def _pow(self, other):
    if isinstance(other, Scalar):
        return Pow(self, other)
    if not isinstance(other, _NUMBER_TYPES):
        return NotImplemented
    try:  # x ** p with a constant p: the node is built directly (the hot path of a loss)
        value = self.value ** other
    except _MATH_ERRORS as exc:
        raise _domain_error("Pow", (self,), {"p": other}, exc) from exc
    if value.__class__ is complex:
        raise _domain_error("Pow", (self,), {"p": other}, "the result is complex")
    return Scalar(value, (self,), Pow, {"p": other})


def _rpow(self, other):
    other = _lift(other)
    return NotImplemented if other is None else Pow(other, self)


def _mod(self, other):
    if isinstance(other, Scalar):
        return Mod(self, other)
    if isinstance(other, _NUMBER_TYPES):
        return Mod(self, m=other)
    return NotImplemented


Scalar.__pow__ = _pow
Scalar.__rpow__ = _rpow
Scalar.__mod__ = _mod
Scalar.__neg__ = lambda self: Neg(self)
Scalar.__pos__ = lambda self: self
Scalar.__abs__ = lambda self: Abs(self)
