"""The tape's nodes: a reverse-mode autodiff of Python scalars.

A :class:`Scalar` is a node of a computation graph.  Calling a :class:`Function`
on Scalars records a new node whose ``_parents`` are the positional arguments.
One class per node kind, one meaning per slot:

* :class:`Scalar` (``_kw``: the call's keyword arguments or None; ``_g``: the
  cotangent during a walk), :class:`_StatefulScalar` (``_state``: what the
  forward saved), :class:`_JointNode` (the hidden node of a k-output call;
  ``_buffer``: its items' cotangents), :class:`_ItemNode` (``_index``: which output).
* A Function's ``vjp(g, node)`` works on floats, its optional ``vjp_tape(g, node)``
  with tape operations (for ``create_graph``, any order).

The walks (``trace``, ``backward``, ``grad``) are in :mod:`symimplicit.tape.walks`.
The engine imports neither SymPy nor mpmath.
"""
from __future__ import annotations


__all__ = ["Scalar", "Function", "Saved", "trace", "backward", "grad", "reset_grad", "value_of"]

_NUMBER_TYPES = (int, float)
_GUARDS = [None]  # the guard log of the replay recording in progress (None: not recording)
_MATH_ERRORS = (ValueError, OverflowError, ZeroDivisionError)


class Scalar:
    """A number on the tape.

    ``value`` is the number, ``grad`` the accumulated derivative of the last
    outputs passed to :func:`backward` with respect to it (``None`` until a
    backward pass reaches it).  Arithmetic operators and comparisons work on
    Scalars and plain numbers alike; comparisons compare values.

    Examples
    ========
    >>> from symimplicit.tape import Scalar, backward
    >>> x = Scalar(3.0)
    >>> y = x * x + 1
    >>> y.value, x.grad
    (10.0, None)
    >>> backward(y)
    >>> x.grad                                   # d(x² + 1)/dx = 2x
    6.0
    >>> x < 4
    True
    """

    __slots__ = ("value", "grad", "_parents", "_fn", "_kw", "_g", "_mark")
    __array_priority__ = 1000  # make numpy defer to Scalar's reflected operators

    def __init__(self, value, _parents=(), _fn=None, _kw=None):
        self.value = value
        self.grad = None
        self._parents = _parents
        self._fn = _fn
        self._kw = _kw
        self._mark = 0

    # -- what a user reads -------------------------------------------------
    @property
    def parents(self) -> tuple:
        """The nodes this one was computed from (its positional arguments)."""
        return self._parents

    @property
    def function(self):
        """The :class:`Function` that made this node (``None`` for a leaf)."""
        return self._fn

    @property
    def inputs(self) -> tuple:
        """Values of the positional arguments (what ``forward`` received)."""
        return tuple([p.value for p in self._parents])

    @property
    def kwargs(self) -> dict:
        """Keyword arguments of the call that made this node (not differentiated)."""
        kw = self._kw
        return kw if isinstance(kw, dict) else {}

    @property
    def state(self):
        """What ``forward`` saved with :class:`Saved` (``None`` when nothing)."""
        return None

    def is_leaf(self) -> bool:
        return self._fn is None

    def __repr__(self) -> str:
        text = repr(self.value)
        fn = self._fn
        if fn is not None:
            text = f"{text} = {fn._call_text(self)}"
        if self.grad is not None:
            text = f"{text} <grad={self.grad!r}>"
        return text

    __str__ = __repr__

    # While symimplicit.tape.replay records a program, each value that leaves the tape
    # (a comparison, bool(), float(), int()) is logged as a guard: (node, op, other, outcome).
    def __float__(self) -> float:
        log = _GUARDS[0]
        if log is not None:
            log.append((self, "==", self.value, True))   # the program holds for this value only
        return float(self.value)

    def __int__(self) -> int:
        log = _GUARDS[0]
        if log is not None:
            log.append((self, "==", self.value, True))
        return int(self.value)

    def __bool__(self) -> bool:
        out = bool(self.value)
        log = _GUARDS[0]
        if log is not None:
            log.append((self, "bool", None, out))
        return out

    # -- comparisons --------------------------------------------------------------
    # Equality and hashing are by identity: a Scalar is a graph node, not a value
    # (micrograd's choice), so `Scalar(1.0) in [Scalar(1.0)]` is False, two nodes of
    # equal value are two set members or dict keys, and `x == 0.5` is False; compare
    # `x.value == 0.5` for the number.  Ordering is by value (it records nothing): the
    # seed writes `Abs(x - oldx) > eps`, and <, <=, >, >= have no identity meaning.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __lt__(self, other):
        out = self.value < value_of(other)
        if _GUARDS[0] is not None:
            _GUARDS[0].append((self, "<", other, out))
        return out

    def __le__(self, other):
        out = self.value <= value_of(other)
        if _GUARDS[0] is not None:
            _GUARDS[0].append((self, "<=", other, out))
        return out

    def __gt__(self, other):
        out = self.value > value_of(other)
        if _GUARDS[0] is not None:
            _GUARDS[0].append((self, ">", other, out))
        return out

    def __ge__(self, other):
        out = self.value >= value_of(other)
        if _GUARDS[0] is not None:
            _GUARDS[0].append((self, ">=", other, out))
        return out

    # -- arithmetic operators are installed by symimplicit.tape.ops -----------


class _StatefulScalar(Scalar):
    """A node that keeps state from its forward pass for its backward pass."""

    __slots__ = ("_state",)

    @property
    def state(self):
        return self._state


class _JointNode(_StatefulScalar):
    """The hidden node of a k-output call: ``value`` is the tuple of outputs.

    Its item nodes add their cotangents into ``_buffer`` (a list, made by the
    first item reached in a walk); the joint comes after all its items in
    reverse topological order, hands the buffer to its vjp once, and clears it.
    ``_g`` is unused on a joint (one meaning per slot: ``_g`` is a node's cotangent).
    """

    __slots__ = ("_buffer",)

    def __init__(self, value, parents, fn, kw, state):
        Scalar.__init__(self, value, parents, fn, kw)
        self._state = state
        self._buffer = None

    def _take_cotangent(self) -> tuple:
        """The buffer as the tuple the vjp receives (zeros where no output was reached)."""
        buf = self._buffer
        self._buffer = None
        return (0.0,) * len(self.value) if buf is None else tuple(buf)


class _ItemNode(Scalar):
    """Output ``_index`` of a k-output call; its only parent is the joint node."""

    __slots__ = ("_index",)

    def __init__(self, value, joint, index):
        Scalar.__init__(self, value, (joint,), _ITEM)
        self._index = index


class Saved:
    """Returned by a ``forward`` to keep ``state`` on the node for the vjp.

    ``Saved(value, state)``: the call's output is ``value``; ``node.state`` is
    ``state`` in the backward pass (an implicit layer keeps its solution and
    factorised Jacobian there, so the backward pass never solves again).

    Examples
    ========
    >>> from symimplicit.tape import Function, Saved, Scalar, backward
    >>> Rec = Function("Rec", lambda v: Saved(1 / v, 1 / v),
    ...                vjp=lambda g, node: (-g * node.state ** 2,))   # d(1/v) = -(1/v)² dv
    >>> v = Scalar(4.0)
    >>> r = Rec(v)
    >>> backward(r)
    >>> r.value, v.grad
    (0.25, -0.0625)
    """

    __slots__ = ("value", "state")

    def __init__(self, value, state):
        self.value = value
        self.state = state


def value_of(x):
    """The number inside a Scalar, or ``x`` itself.

    Examples
    ========
    >>> from symimplicit.tape import Scalar, value_of
    >>> value_of(Scalar(1.5)), value_of(2)
    (1.5, 2)
    """
    return x.value if isinstance(x, Scalar) else x


def _seed_vjp(backward):
    """Adapt a seed-style ``backward(*values, **kw) -> partials`` to a vjp."""

    def vjp(g, node):
        partials = backward(*node.inputs, **node.kwargs)
        return [g * p for p in partials]  # ∂L/∂aᵢ = ∂L/∂out · ∂out/∂aᵢ

    return vjp


class Function:
    """A differentiable primitive.

    ``Function(name, forward, backward)`` is the seed's form: ``forward`` maps
    the positional values (and keyword arguments) to a number, ``backward``
    maps the same arguments to the list of partial derivatives of the output
    with respect to each positional argument.

    ``Function(name, forward, vjp=vjp, n_outputs=k)`` is the extended form:
    ``vjp(g, node)`` receives the output cotangent ``g`` (a tuple when
    ``k > 1``) and the node (``node.value``, ``node.inputs``, ``node.kwargs``,
    ``node.state``) and returns the cotangent of each positional argument.
    ``forward`` may return :class:`Saved` to keep state for the vjp.

    ``vjp_tape(g, node)`` (optional) is the same vjp written in tape operations:
    ``g`` and the result may be Scalars, ``node`` and ``node.parents`` are tape
    nodes.  ``grad(..., create_graph=True)`` uses it, so derivatives of the
    result exist; a Function without one refuses higher orders by name (the
    seed's float partials would silently be taken as constants).

    Calling the Function with only plain numbers returns a plain number (or a
    tuple); with any Scalar among the positional arguments it returns a Scalar
    (or a tuple of Scalars) recorded on the tape.

    Examples
    ========
    >>> from symimplicit.tape import Function, Scalar, backward
    >>> Square = Function("Square", lambda v: v * v, lambda v: [2 * v])   # seed form: partials
    >>> s = Scalar(3.0)
    >>> out = Square(s)
    >>> backward(out)
    >>> out.value, s.grad, Square(4.0)
    (9.0, 6.0, 16.0)
    """

    __slots__ = ("name", "forward", "backward", "vjp", "vjp_tape", "n_outputs")

    def __init__(self, name: str, forward, backward=None, *, vjp=None, n_outputs: int = 1,
                 vjp_tape=None):
        if not callable(forward):
            raise TypeError(f"Function {name!r}: forward must be callable, got {forward!r}")
        if (backward is None) == (vjp is None):
            raise TypeError(f"Function {name!r}: give exactly one of backward (partials) or vjp")
        if int(n_outputs) != n_outputs or n_outputs < 1:
            raise ValueError(f"Function {name!r}: n_outputs must be a positive integer")
        if vjp_tape is not None and not callable(vjp_tape):
            raise TypeError(f"Function {name!r}: vjp_tape must be callable, got {vjp_tape!r}")
        self.name = name
        self.forward = forward
        self.backward = backward
        self.vjp = vjp if vjp is not None else _seed_vjp(backward)
        self.vjp_tape = vjp_tape
        self.n_outputs = int(n_outputs)

    def __repr__(self) -> str:
        return f"Function({self.name!r})"

    def _call_text(self, node) -> str:
        """The seed's printed form of a call: ``Name(1,0,fun=...)``."""
        parts = [repr(p.value) for p in node._parents]
        parts += [f"{k}={v!r}" for k, v in node.kwargs.items()]
        return f"{self.name}({','.join(parts)})"

    def __call__(self, *args, **kwargs):
        on_tape = numbers = False
        values = []
        for a in args:
            if isinstance(a, Scalar):
                on_tape = True
                values.append(a.value)
            else:
                numbers = True
                values.append(a)
        if not on_tape:
            out = self.forward(*args, **kwargs)  # floats in, float out: nothing recorded
            return out.value if out.__class__ is Saved else out
        # the parents: the arguments, with plain numbers as constant nodes
        parents = tuple([a if isinstance(a, Scalar) else Scalar(a) for a in args]) if numbers else args
        out = self.forward(*values, **kwargs) if kwargs else self.forward(*values)
        if self.n_outputs == 1:
            if out.__class__ is not Saved:
                return Scalar(out, parents, self, kwargs or None)
            node = _StatefulScalar(out.value, parents, self, kwargs or None)
            node._state = out.state
            return node
        return self._record(out, parents, kwargs or None)

    def _record(self, out, parents, kw):
        """Put the result of a ``forward`` with several outputs on the tape."""
        return items_of(self._joint(out, parents, kw))

    def _joint(self, out, parents, kw) -> "_JointNode":
        """The joint node of a ``forward`` with several outputs (their count checked)."""
        state = None
        if out.__class__ is Saved:
            out, state = out.value, out.state
        values = tuple(out)
        if len(values) != self.n_outputs:
            raise ValueError(f"{self.name}: forward returned {len(values)} values, "
                             f"expected n_outputs={self.n_outputs}")
        return _JointNode(values, parents, self, kw, state)


def items_of(joint: "_JointNode") -> tuple:
    """Fresh item nodes of a joint (a vjp_tape may need the outputs of its own call as nodes)."""
    return tuple([_ItemNode(v, joint, i) for i, v in enumerate(joint.value)])


def record(fn: Function, value, parents: tuple, state=None):
    """Put a node of ``fn`` with a known ``value`` on the tape, without calling its forward.

    ``value`` is a number (one output) or a tuple (``fn.n_outputs`` outputs, returned
    as item nodes); ``state`` is what the vjp reads as ``node.state``.  For code that
    already has the forward's result (an implicit layer's saved solution).
    """
    if fn.n_outputs > 1:
        return items_of(_JointNode(tuple(value), tuple(parents), fn, None, state))
    node = _StatefulScalar(value, tuple(parents), fn, None)
    node._state = state
    return node


# -- multiple outputs --------------------------------------------------------
# A k-output call is one hidden joint node (value: the tuple) and k item nodes.
# Items add their cotangent into the joint's buffer; the joint comes after all
# its items in reverse topological order and calls the vjp once.

def _joint_buffer(joint) -> list:
    buf = joint._buffer
    if buf is None:
        buf = joint._buffer = [0.0] * len(joint.value)
    return buf


def _item_vjp(g, node):
    _joint_buffer(node._parents[0])[node._index] += g  # the joint's cotangent, component i
    return _NO_COTANGENT


def _item_vjp_tape(g, node):
    buf = _joint_buffer(node._parents[0])
    i = node._index
    buf[i] = _accumulate(buf[i], g)
    return _NO_COTANGENT


class _ItemFunction(Function):
    """The Function of item nodes: ``joint.value[i]``, printed as the call with ``[i]``."""

    __slots__ = ()

    def _call_text(self, node) -> str:
        joint = node._parents[0]
        return f"{joint._fn._call_text(joint)}[{node._index}]"


def _accumulate(total, c):
    """total + c, without a node for adding to an exact zero."""
    if total.__class__ is not Scalar and total == 0:
        return c
    if c.__class__ is not Scalar and c == 0:
        return total
    return total + c


_NO_COTANGENT = ()  # zip() with it yields nothing: the joint's buffer already has the cotangent
_ITEM = _ItemFunction("Item", lambda v, i: v[i], vjp=_item_vjp, vjp_tape=_item_vjp_tape)


# The walks (trace, backward, grad, reset_grad) live in symimplicit.tape.walks; they are
# re-exported here, after everything they use is defined, for code that imports them from here.
from symimplicit.tape.walks import _postorder, backward, grad, reset_grad, trace  # noqa: E402
