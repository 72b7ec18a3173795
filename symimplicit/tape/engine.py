"""The tape: a reverse-mode autodiff of Python scalars.

A :class:`Scalar` is a node of a computation graph.  Calling a :class:`Function`
on Scalars records a new node whose ``_parents`` are the positional arguments;
:func:`backward` walks the graph once in reverse topological order and applies
each node's vector-Jacobian product (vjp), accumulating into ``.grad``.

Nothing here is recursive (a chain of a million nodes differentiates) and
nothing is quadratic: the topological sort marks nodes with a pass number
instead of searching lists.  The engine imports neither SymPy nor mpmath.
"""
from __future__ import annotations

from symimplicit.errors import DomainError, NonFiniteError, SymimplicitError

__all__ = ["Scalar", "Function", "Saved", "trace", "backward", "reset_grad", "value_of"]

_NUMBER_TYPES = (int, float)
_MATH_ERRORS = (ValueError, OverflowError, ZeroDivisionError)


class Scalar:
    """A number on the tape.

    ``value`` is the number, ``grad`` the accumulated derivative of the last
    outputs passed to :func:`backward` with respect to it (``None`` until a
    backward pass reaches it).  Arithmetic operators and comparisons work on
    Scalars and plain numbers alike; comparisons compare values.
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

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __hash__(self) -> int:  # identity: Scalars are graph nodes, not values
        return id(self)

    # -- comparisons by value (they record nothing) ---------------------------
    def __eq__(self, other):
        return self.value == value_of(other)

    def __ne__(self, other):
        return self.value != value_of(other)

    def __lt__(self, other):
        return self.value < value_of(other)

    def __le__(self, other):
        return self.value <= value_of(other)

    def __gt__(self, other):
        return self.value > value_of(other)

    def __ge__(self, other):
        return self.value >= value_of(other)

    # -- arithmetic operators are installed by symimplicit.tape.ops -----------


class _StatefulScalar(Scalar):
    """A node that keeps state from its forward pass for its backward pass."""

    __slots__ = ("_state",)

    @property
    def state(self):
        return self._state


class Saved:
    """Returned by a ``forward`` to keep ``state`` on the node for the vjp.

    ``Saved(value, state)``: the call's output is ``value``; ``node.state`` is
    ``state`` in the backward pass (an implicit layer keeps its solution and
    factorised Jacobian there, so the backward pass never solves again).
    """

    __slots__ = ("value", "state")

    def __init__(self, value, state):
        self.value = value
        self.state = state


def value_of(x):
    """The number inside a Scalar, or ``x`` itself."""
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

    Calling the Function with only plain numbers returns a plain number (or a
    tuple); with any Scalar among the positional arguments it returns a Scalar
    (or a tuple of Scalars) recorded on the tape.
    """

    __slots__ = ("name", "forward", "backward", "vjp", "n_outputs", "__dict__")

    def __init__(self, name: str, forward, backward=None, *, vjp=None, n_outputs: int = 1):
        if not callable(forward):
            raise TypeError(f"Function {name!r}: forward must be callable, got {forward!r}")
        if (backward is None) == (vjp is None):
            raise TypeError(f"Function {name!r}: give exactly one of backward (partials) or vjp")
        if int(n_outputs) != n_outputs or n_outputs < 1:
            raise ValueError(f"Function {name!r}: n_outputs must be a positive integer")
        self.name = name
        self.forward = forward
        self.backward = backward
        self.vjp = vjp if vjp is not None else _seed_vjp(backward)
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
        state = None
        if out.__class__ is Saved:
            out, state = out.value, out.state
        values = tuple(out)
        if len(values) != self.n_outputs:
            raise ValueError(f"{self.name}: forward returned {len(values)} values, "
                             f"expected n_outputs={self.n_outputs}")
        joint = _StatefulScalar(values, parents, self, kw)
        joint._state = state
        return tuple(Scalar(v, (joint,), _ITEM, i) for i, v in enumerate(values))


# -- multiple outputs --------------------------------------------------------
# A k-output call is one hidden "joint" node (value: the tuple) and k item
# nodes.  Items write their cotangent into the joint's buffer; the joint comes
# after all its items in reverse topological order and calls the vjp once.

def _item_vjp(g, node):
    joint = node._parents[0]
    buf = joint._g
    if buf.__class__ is not list:
        buf = joint._g = [0.0] * len(joint.value)
    buf[node._kw] += g  # the joint's cotangent, component i
    return _NO_COTANGENT


def _item_call_text(node) -> str:
    joint = node._parents[0]
    return f"{joint._fn._call_text(joint)}[{node._kw}]"


_NO_COTANGENT = ((),)  # `joint._g += ()` leaves the buffer (a list) as it is
_ITEM = Function("Item", lambda v, i: v[i], vjp=_item_vjp)
_ITEM._call_text = _item_call_text


def _joint_cotangent(g, n_outputs):
    """A joint node's buffer as the tuple its vjp receives."""
    if g.__class__ is list:
        return tuple(g)
    return (0.0,) * n_outputs  # reached by no output (cannot happen from items)


# -- graph walks ----------------------------------------------------------------
_pass_counter = [0]


def _postorder(root: Scalar, leaves: bool = True) -> list:
    """Depth-first post-order of the graph of ``root`` (parents before children).

    Iterative, linear: a node is expanded once, when first on top of the
    stack, and emitted once, when it comes back to the top.  With
    ``leaves=False`` only interior nodes are listed (the backward pass writes
    leaf gradients directly and never needs to visit them).
    """
    _pass_counter[0] += 2
    expanded = _pass_counter[0]
    done = expanded + 1
    order = []
    append = order.append
    stack = [root]
    push = stack.append
    pop = stack.pop
    while stack:
        node = stack[-1]
        mark = node._mark
        if mark == done:
            pop()
        elif mark == expanded:
            pop()
            node._mark = done
            append(node)
        else:
            node._mark = expanded
            node._g = 0
            parents = node._parents
            for i in range(len(parents) - 1, -1, -1):  # first parent on top
                p = parents[i]
                # marks only grow: an older mark means unseen in this pass
                if p._mark < expanded and (leaves or p._parents):
                    push(p)
    return order


def trace(x: Scalar) -> list:
    """Every node of ``x``'s graph in topological order: ``x`` first, parents to its right."""
    if not isinstance(x, Scalar):
        raise TypeError(f"trace() needs a Scalar, got {type(x).__name__}")
    order = _postorder(x)
    order.reverse()
    return [n for n in order if not (n._fn is not None and n._fn.n_outputs > 1)] \
        if _has_joint(order) else order


def _has_joint(order) -> bool:
    for n in order:
        fn = n._fn
        if fn is not None and fn.n_outputs > 1:
            return True
    return False


def backward(x: Scalar, grad=1) -> None:
    """Accumulate d``x``/d(node) into ``node.grad`` for every node of ``x``'s graph.

    ``x.grad`` receives ``grad`` (1 by default).  Calling it twice adds the
    derivatives twice, as in the seed; :func:`reset_grad` clears them.
    """
    if not isinstance(x, Scalar):
        raise TypeError(f"backward() needs a Scalar, got {type(x).__name__}")
    if x.value - x.value != 0:  # t - t is 0 for every finite t, NaN for NaN and ±inf
        raise NonFiniteError(f"backward() from a non-finite value: {x!r}; the forward "
                             "arithmetic overflowed or met NaN, so no derivative exists there")
    if not x._parents:  # a leaf: nothing to propagate
        x.grad = grad if x.grad is None else x.grad + grad
        return
    order = _postorder(x, leaves=False)
    x._g = grad
    node = x
    try:
        for i in range(len(order) - 1, -1, -1):  # reverse topological order
            node = order[i]
            g = node._g
            fn = node._fn
            if fn.n_outputs > 1:
                g = _joint_cotangent(g, fn.n_outputs)
                node._g = 0
            else:
                node.grad = g if node.grad is None else node.grad + g
            # ∂L/∂parent += vjp: interior parents wait for their turn, leaves take it now
            for p, c in zip(node._parents, fn.vjp(g, node)):
                if p._parents:
                    p._g += c
                elif p.grad is None:
                    p.grad = c
                else:
                    p.grad += c
    except SymimplicitError:
        raise
    except _MATH_ERRORS as exc:
        raise DomainError(f"the derivative of {node._fn._call_text(node)} does not exist "
                          f"there: {exc}") from exc


def reset_grad(x: Scalar) -> None:
    """Set ``grad`` back to ``None`` on every node of ``x``'s graph."""
    for node in _postorder(x):
        node.grad = None
