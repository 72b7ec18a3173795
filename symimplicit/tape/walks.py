"""The walks of the tape: topological order, ``backward`` and ``grad`` (any order).

:func:`backward` walks the graph once in reverse topological order and applies each
node's vjp, accumulating into ``.grad``; :func:`grad` returns the derivatives as a tuple
without touching ``.grad``.  With ``create_graph=True`` the walk is a separate loop
(:func:`_tape_walk`) that calls each node's ``vjp_tape``, so the cotangents are Scalars
and derivatives of derivatives follow; the first-order loops stay on floats.

Nothing here is recursive (a chain of a million nodes differentiates) and nothing is
quadratic: the topological sort marks nodes with a pass number instead of searching lists.
"""
from __future__ import annotations

from symimplicit.errors import ArgumentError, DomainError, NonFiniteError, SymimplicitError
from symimplicit.tape.engine import _MATH_ERRORS, Scalar, _JointNode, _accumulate

__all__ = ["trace", "backward", "grad", "reset_grad"]

# -- graph walks ----------------------------------------------------------------
_pass_counter = [0]


def _postorder(root: Scalar, leaves: bool = True) -> list:
    """Depth-first post-order of the graph of ``root`` (parents before children).

    Iterative, linear: a node is expanded once, when first on top of the
    stack, and emitted once, when it comes back to the top.  With
    ``leaves=False`` only interior nodes are listed (the backward pass writes
    leaf gradients directly and never needs to visit them).  Every listed
    node's cotangent ``_g`` is set to 0.
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
            for p in reversed(node._parents):  # first parent on top
                # marks only grow: an older mark means unseen in this pass
                if p._mark < expanded and (leaves or p._parents):
                    push(p)
    return order


def trace(x: Scalar) -> list:
    """Every node of ``x``'s graph in topological order: ``x`` first, parents to its right.

    Examples
    ========
    >>> from symimplicit.tape import Scalar, trace
    >>> a = Scalar(3.0)
    >>> [node.value for node in trace(a * a + 1)]    # a·a + 1, the constant 1, a·a, a
    [10.0, 1, 9.0, 3.0]
    >>> trace(2.0)
    Traceback (most recent call last):
    ...
    TypeError: trace() needs a Scalar, got float
    """
    if not isinstance(x, Scalar):
        raise TypeError(f"trace() needs a Scalar, got {type(x).__name__}")
    order = _postorder(x)
    order.reverse()
    return [n for n in order if n.__class__ is not _JointNode] if _has_joint(order) else order


def _has_joint(order) -> bool:
    for n in order:
        if n.__class__ is _JointNode:
            return True
    return False


def _check_output(x, who: str) -> None:
    if not isinstance(x, Scalar):
        raise TypeError(f"{who}() needs a Scalar, got {type(x).__name__}")
    if x.value - x.value != 0:  # t - t is 0 for every finite t, NaN for NaN and ±inf
        raise NonFiniteError(f"{who}() from a non-finite value: {x!r}; the forward "
                             "arithmetic overflowed or met NaN, so no derivative exists there")


def _domain(node, exc) -> DomainError:
    return DomainError(f"the derivative of {node._fn._call_text(node)} does not exist "
                       f"there: {exc}")


def _clear_buffers(order) -> None:
    """After a walk that raised: no joint keeps a half-filled buffer."""
    for n in order:
        if n.__class__ is _JointNode:
            n._buffer = None


def backward(x: Scalar, grad=1, *, create_graph: bool = False) -> None:
    """Accumulate d``x``/d(node) into ``node.grad`` for every node of ``x``'s graph.

    ``x.grad`` receives ``grad`` (1 by default).  Calling it twice adds the
    derivatives twice, as in the seed; :func:`reset_grad` clears them.  With
    ``create_graph=True`` the gradients are Scalars on the tape (see :func:`grad`).

    Examples
    ========
    >>> from symimplicit.tape import Scalar, backward
    >>> a = Scalar(3.0)
    >>> b = a * a
    >>> backward(b)
    >>> a.grad
    6.0
    >>> backward(b)                               # a second pass adds, as in the seed
    >>> a.grad
    12.0
    """
    _check_output(x, "backward")
    if create_graph:
        order = _tape_walk(x, grad)
        for node in order:
            if node.__class__ is not _JointNode:
                g = _as_node(node._g)
                node.grad = g if node.grad is None else node.grad + g
        return
    if not x._parents:  # a leaf: nothing to propagate
        x.grad = grad if x.grad is None else x.grad + grad
        return
    order = _postorder(x, leaves=False)
    x._g = grad
    node = x
    try:
        for node in reversed(order):  # reverse topological order
            fn = node._fn
            if node.__class__ is _JointNode:
                g = node._take_cotangent()
            else:
                g = node._g
                total = node.grad
                node.grad = g if total is None else total + g
            # ∂L/∂parent += vjp: interior parents wait for their turn, leaves take it now
            for p, c in zip(node._parents, fn.vjp(g, node)):
                if p._parents:
                    p._g += c
                elif p.grad is None:
                    p.grad = c
                else:
                    p.grad += c
    except SymimplicitError:
        _clear_buffers(order)
        raise
    except _MATH_ERRORS as exc:
        _clear_buffers(order)
        raise _domain(node, exc) from exc


def grad(y: Scalar, wrt, grad_output=1, *, create_graph: bool = False) -> tuple:
    """The derivatives of ``y`` with respect to each Scalar of ``wrt``, as a tuple.

    Nothing is written into ``.grad``.  A Scalar that ``y`` does not depend on
    gets 0.0.  With ``create_graph=True`` the derivatives are Scalars recorded on
    the tape, so ``grad`` of a derivative is a second derivative, and so on.

    Parameters
    ==========
    y : Scalar
        The output to differentiate.
    wrt : Scalar or sequence of Scalars
        The nodes (leaves or interior) to differentiate with respect to.
    grad_output : number or Scalar
        The cotangent of ``y`` (1 by default): the result is ``grad_output``·dy/dw.
    create_graph : bool
        Record the backward pass on the tape (needed for higher derivatives).

    Examples
    ========
    >>> from symimplicit.tape import Scalar, grad
    >>> x = Scalar(3.0)
    >>> y = x * x * x
    >>> (dy,) = grad(y, [x], create_graph=True)
    >>> dy.value, grad(dy, [x])[0]          # 3x², 6x
    (27.0, 18.0)

    See Also
    ========
    backward : the seed-style pass into ``.grad``.
    """
    _check_output(y, "grad")
    single = isinstance(wrt, Scalar)
    nodes = (wrt,) if single else tuple(wrt)
    for w in nodes:
        if not isinstance(w, Scalar):
            raise ArgumentError(f"grad(): wrt must hold Scalars, got {type(w).__name__}")
        if w.__class__ is _JointNode:
            raise ArgumentError("grad(): wrt holds a hidden joint node; use its outputs")
    done = _pass_counter[0] + 3  # the mark the walk's _postorder gives a node it reaches (a
    for w in nodes:              # vjp that runs walks of its own, as the seed's do, moves the counter)
        if not w._parents:       # the leaves asked for: tagged, so that the walk skips all others
            w._mark = done
            w._g = 0
    if create_graph:
        _tape_walk(y, grad_output, done)
    else:
        _float_walk(y, grad_output, done)
    out = tuple([w._g if w._mark == done else 0.0 for w in nodes])
    if create_graph:
        out = tuple([_as_node(g) for g in out])
    return out


def _float_walk(y: Scalar, g_out, tag) -> list:
    """The first-order walk into ``_g`` (``.grad`` untouched).

    Interior nodes are listed and visited; of the leaves only those tagged with the pass mark
    ``tag`` (the ones :func:`grad` was asked for) accumulate: constant leaves are never
    visited (a third of a typical graph).
    """
    order = _postorder(y, leaves=False)
    y._g = g_out
    node = y
    try:
        for node in reversed(order):
            fn = node._fn
            if fn is None:
                continue
            g = node._take_cotangent() if node.__class__ is _JointNode else node._g
            for p, c in zip(node._parents, fn.vjp(g, node)):
                if p._parents or p._mark == tag:
                    p._g += c
    except SymimplicitError:
        _clear_buffers(order)
        raise
    except _MATH_ERRORS as exc:
        _clear_buffers(order)
        raise _domain(node, exc) from exc
    return order


def _tape_walk(y: Scalar, g_out, tag=None) -> list:
    """The walk with ``create_graph``: every cotangent is built with tape operations.

    Each node's ``vjp_tape`` records its chain rule as new nodes (which this walk
    does not visit); a cotangent that stays a plain number (a constant) is kept as
    one, so constant branches cost nothing.  With a ``tag`` only the leaves carrying
    it accumulate (as in :func:`_float_walk`); without, every leaf is listed.
    """
    order = _postorder(y, leaves=tag is None)
    y._g = g_out
    node = y
    try:
        for i in range(len(order) - 1, -1, -1):
            node = order[i]
            fn = node._fn
            if fn is None:
                continue
            if node.__class__ is _JointNode:
                g = node._take_cotangent()
            else:
                g = node._g
                if g.__class__ is not Scalar and g == 0:
                    continue  # nothing reaches this node: its parents get nothing from it
            rule = fn.vjp_tape
            if rule is None:
                raise SymimplicitError(
                    f"create_graph: {fn.name} has no vjp in tape operations (vjp_tape), so its "
                    f"derivative cannot be differentiated again; give Function(..., vjp_tape=...) "
                    f"or build it from tape primitives (node {node!r})")
            kept = getattr(rule, "kept", None)                   # elementary: only what is kept
            if kept is not None:
                for p, c in kept(g, node, tag):
                    p._g = _accumulate(p._g, c)
                continue
            for p, c in zip(node._parents, rule(g, node)):
                if tag is None or p._parents or p._mark == tag:
                    p._g = _accumulate(p._g, c)
    except SymimplicitError:
        _clear_buffers(order)
        raise
    except _MATH_ERRORS as exc:
        _clear_buffers(order)
        raise _domain(node, exc) from exc
    return order


def _as_node(g):
    """A cotangent of a create_graph walk as a Scalar (a constant becomes a leaf)."""
    return g if isinstance(g, Scalar) else Scalar(float(g))


def reset_grad(x: Scalar) -> None:
    """Set ``grad`` back to ``None`` on every node of ``x``'s graph.

    Examples
    ========
    >>> from symimplicit.tape import Scalar, backward, reset_grad
    >>> a = Scalar(3.0)
    >>> b = a * a
    >>> backward(b)
    >>> reset_grad(b)
    >>> a.grad is None, b.grad is None
    (True, True)
    """
    for node in _postorder(x):
        node.grad = None
