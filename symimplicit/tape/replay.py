"""Compiled replay of a recorded tape: :func:`value_and_grad` with ``compile=True``.

The first call runs ``fn`` on tape Scalars (the reference: the plain tape gives the
numbers of that call) and turns the recorded graph into one straight-line Python
function: the forward pass, then the reverse pass in the very order and with the very
formulas the tape's walk uses, so the numbers agree bit for bit.  Elementary primitives
are inlined as ``math`` arithmetic; any other node (an explicit Function, an implicit
layer, a multi-output call) replays as one call of its Function and one of its vjp.  A
k-output call of a plain Function (``layer.map``) keeps its joint node only: the outputs are
read from its tuple, no k item nodes are made, and its constant arguments are Scalars made
once.  A cotangent passed on unchanged (+, Σ, the left of -) to a node that receives nothing
else is the same variable, not a copy (seed fit, 100 instances: 297 lines fewer).

Values that left the tape while recording (``<``, ``<=``, ``>``, ``>=``, ``bool()``,
``float()``, ``int()`` of a Scalar) are *guards*: the generated code re-checks each
outcome and gives up when one changes (another number of iterations, another branch);
the call then records again and keeps both programs (the cache is keyed by outcomes).

Safety: no user string reaches the generated source.  Names in it are slot numbers
(``v12``, ``g12``, ``k3``); numbers, keyword dictionaries and Functions are handed in
as a list and bound to generated names, never printed.
"""
from __future__ import annotations

import gc
import math
import re

from symimplicit.errors import ArgumentError
from symimplicit.tape import engine
from symimplicit.tape.engine import Function, Scalar, _ItemNode, _JointNode
from symimplicit.tape.ops import ELEMENTARY
from symimplicit.tape.walks import grad

__all__ = ["value_and_grad"]

_MAX_PROGRAMS = 32  # programs kept per arity (one per pattern of guard outcomes)

# name -> (forward, (vjp of each argument)); {0}, {1}: argument values, {o}: the output,
# {g}: its cotangent, {p}: the keyword constant.  Each line is the text of the lambda in
# ops.py with its variables renamed, so the replay does the same float operations.
_TEMPLATES = {
    "Plus": ("{0} + {1}", ("{g}", "{g}")),
    "Minus": ("{0} - {1}", ("{g}", "-{g}")),
    "Neg": ("-{0}", ("-{g}",)),
    "Times": ("{0} * {1}", ("{g} * {1}", "{g} * {0}")),
    "Divide": ("{0} / {1}", ("{g} / {1}", "-{g} * {o} / {1}")),
    "Abs": ("_abs({0})", ("{g} * (({0} > 0) - ({0} < 0))",)),
    "Cos": ("_cos({0})", ("{g} * -_sin({0})",)),
    "Sin": ("_sin({0})", ("{g} * _cos({0})",)),
    "Tan": ("_tan({0})", ("{g} * (1 + {o} * {o})",)),
    "Exp": ("_exp({0})", ("{g} * {o}",)),
    "Log": ("_log({0})", ("{g} / {0}",)),
    "Sqrt": ("_sqrt({0})", ("{g} / (2 * {o})",)),
    "Tanh": ("_tanh({0})", ("{g} * (1 - {o} * {o})",)),
    "Atan": ("_atan({0})", ("{g} / (1 + {0} ** 2)",)),
    "Sinh": ("_sinh({0})", ("{g} * _cosh({0})",)),
    "Cosh": ("_cosh({0})", ("{g} * _sinh({0})",)),
    "Log1p": ("_log1p({0})", ("{g} / (1 + {0})",)),
    "Expm1": ("_expm1({0})", ("{g} * ({o} + 1)",)),
    "Asin": ("_asin({0})", ("{g} / _sqrt(1 - {0} ** 2)",)),
    "Acos": ("_acos({0})", ("-{g} / _sqrt(1 - {0} ** 2)",)),
    "Asinh": ("_asinh({0})", ("{g} / _sqrt({0} ** 2 + 1)",)),
    "Acosh": ("_acosh({0})", ("{g} / _sqrt({0} ** 2 - 1)",)),
    "Atanh": ("_atanh({0})", ("{g} / (1 - {0} ** 2)",)),
    "Erf": ("_erf({0})", ("{g} * 2 / _sqrt(_pi) * _exp(-{0} ** 2)",)),
    # x ** p and x mod m with a constant keyword (the one-argument forms)
    "Pow": ("{0} ** {p}", ("{g} * ({p} * {0} ** {q})",)),          # {q}: p - 1, computed once
    "Mod": ("{0} % {p}", ("{g}",)),
}
_BY_FUNCTION = {ELEMENTARY[name]: name for name in _TEMPLATES}
_SUM = ELEMENTARY["Sum"]
_POW = ELEMENTARY["Pow"]
_KEYWORD = {"Pow": "p", "Mod": "m"}
_PASSED = re.compile(r"\([gd]\d+\)")  # a contribution that is a cotangent variable itself
_GUARD_TEXT = {"<": "{0} < {1}", "<=": "{0} <= {1}", ">": "{0} > {1}", ">=": "{0} >= {1}",
               "==": "{0} == {1}", "bool": "{0}"}


def _call(fn, kw, values):
    """Replay a non-inlined node: call its Function on fresh leaves (a node with state for its vjp)."""
    args = [Scalar(v) for v in values]
    return fn(*args, **kw) if kw else fn(*args)


def _joint_call(fn, kw, parents):
    """Replay a k-output call of a plain :class:`Function`: its joint node only.

    ``Function.__call__`` with ``_record``, minus the k item nodes: the program reads the
    outputs from the joint's tuple (``w{k}[i]``) and hands the joint to the vjp, so the items
    (100 nodes for a 100-instance ``layer.map``) would only be garbage.  ``parents`` are
    Scalars: fresh leaves for the values that change, the recording's constants made once."""
    values = [p.value for p in parents]
    out = fn.forward(*values, **kw) if kw else fn.forward(*values)
    return fn._joint(out, parents, kw)


def _plain_joint(fn) -> bool:
    """``fn`` is called and recorded exactly as :class:`Function` does (no subclass hook)."""
    cls = type(fn)
    return cls.__call__ is Function.__call__ and cls._record is Function._record


class _Complex(ArithmeticError):
    """A power turned complex in a replay: the tape, run instead, raises the typed error."""


def _complex():
    raise _Complex


_GLOBALS = {
    "_abs": abs, "_sum": sum, "_call": _call, "_joint_call": _joint_call, "_S": Scalar,
    "_complex": _complex, "_pi": math.pi,
    **{f"_{n}": getattr(math, n) for n in (
        "cos", "sin", "tan", "exp", "log", "sqrt", "tanh", "atan", "sinh", "cosh", "log1p",
        "expm1", "asin", "acos", "asinh", "acosh", "atanh", "erf")},
}


def _postorder(roots):
    """The tape walk's depth-first post-order (same visiting rule), over several roots."""
    state = {}  # node -> 1 expanded, 2 emitted
    order = []
    for root in roots:
        if root in state:
            continue
        stack = [root]
        while stack:
            node = stack[-1]
            s = state.get(node, 0)
            if s == 2:
                stack.pop()
            elif s == 1:
                stack.pop()
                state[node] = 2
                order.append(node)
            else:
                state[node] = 1
                parents = node._parents
                for i in range(len(parents) - 1, -1, -1):
                    if state.get(parents[i], 0) == 0:
                        stack.append(parents[i])
    return order


class _Program:
    """The generated source of one recording, and the objects it is handed."""

    def __init__(self, y, leaves, guards):
        self.lines, self.objects, self.names = [], [], {}
        self.slots = {}      # node -> its index k in the forward order (names v{k}, g{k})
        self.called = set()  # nodes replayed as a call of their Function (their vjp is called too)
        self.joints = set()  # joints replayed by _joint_call: no item nodes, outputs in w{k}
        self.leaves = {}     # constant node -> the name of a Scalar made once for it (a parent)
        self.inputs = {leaf: i for i, leaf in enumerate(leaves)}
        guard_nodes = [n for g in guards for n in (g[0], g[2]) if isinstance(n, Scalar)]
        order = _postorder([y] + guard_nodes)
        self.depends = self._dependence(order)
        self.source = self._generate(y, leaves, guards, order)

    def _dependence(self, order) -> set:
        """The nodes whose value depends on an input (all others replay as constants)."""
        depends = set(n for n in order if n in self.inputs)
        for n in order:
            for p in n._parents:
                if p in depends:
                    depends.add(n)
                    break
        return depends

    def hand_in(self, obj) -> str:
        """A generated name bound to ``obj`` (passed in, never printed)."""
        self.objects.append(obj)
        return f"k{len(self.objects) - 1}"

    def value(self, node) -> str:
        """The name of a node's value in the generated code."""
        name = self.names.get(node)
        if name is None:  # a constant: its recorded value
            if node.__class__ is _JointNode:
                raise _NotCompilable
            name = self.names[node] = self.hand_in(node.value)
        return name

    def parent(self, node) -> str:
        """A Scalar holding a parent's value: ``_S(v)`` when it changes, else one made once."""
        if node in self.depends:
            return f"_S({self.value(node)})"
        name = self.leaves.get(node)
        if name is None:
            if node.__class__ is _JointNode:
                raise _NotCompilable
            name = self.leaves[node] = self.hand_in(Scalar(node.value))
        return name

    def _generate(self, y, leaves, guards, order) -> str:
        for i, leaf in enumerate(leaves):
            self.names[leaf] = f"x{i}"
        body = self.lines
        pending = {}  # index in order after which a guard's operands all exist
        position = {n: k for k, n in enumerate(order)}
        for guard in guards:
            node, op, other, outcome = guard
            operands = [n for n in (node, other) if isinstance(n, Scalar)]
            if not any(n in self.depends for n in operands):
                continue  # a constant comparison (e.g. inside a Function's own forward)
            at = max(position[n] for n in operands)
            pending.setdefault(at, []).append(guard)
        for k, node in enumerate(order):
            if node in self.depends and node not in self.inputs:
                self._forward(k, node)
            for guard in pending.get(k, ()):
                self._guard(guard)
        self._check_finite(y)
        self._backward(y, leaves)
        head = [f"def _make({', '.join(f'k{j}' for j in range(len(self.objects)))}):",
                f"    def run({', '.join(f'x{i}' for i in range(len(leaves)))}):"]
        return "\n".join(head + ["        " + line for line in body]
                         + ["    return run", ""])

    def _forward(self, k, node):
        fn, parents, out = node._fn, node._parents, f"v{k}"
        if node.__class__ is _ItemNode:
            self.names[node] = out
            joint = parents[0]
            if joint in self.joints:
                self.lines.append(f"{out} = w{self.slots[joint]}[{node._index}]")
            else:
                self.lines.append(f"{out} = n{self.slots[joint]}[{node._index}].value")
            self.slots[node] = k
            return
        name = _BY_FUNCTION.get(fn)
        kw = node._kw
        if name is not None and (name not in _KEYWORD) == (kw is None) and (
                kw is None or (len(parents) == 1 and list(kw) == [_KEYWORD[name]])):
            forward = _TEMPLATES[name][0]
            p = self.hand_in(kw[_KEYWORD[name]]) if kw else None
            text = forward.format(*[self.value(q) for q in parents], p=p)
            self.lines.append(f"{out} = {text}")
            if fn is _POW:
                self.lines.append(f"if {out}.__class__ is complex: _complex()")
        elif fn is _SUM and kw is None:
            self.lines.append(f"{out} = _sum(({''.join(self.value(q) + ', ' for q in parents)}))")
        elif node.__class__ is _JointNode and _plain_joint(fn):
            # the joint alone (its items are the w{k}[i] reads); a parent that changes is a
            # fresh leaf per call, a constant one a Scalar made here once
            f_name, kw_name = self.hand_in(fn), self.hand_in(kw)
            args = "".join(self.parent(q) + ", " for q in parents)
            self.lines.append(f"{out} = _joint_call({f_name}, {kw_name}, ({args}))")
            self.lines.append(f"w{k} = {out}.value")
            self.called.add(node)
            self.joints.add(node)
        else:  # one call of the node's own Function: forward now, its vjp in the backward pass
            f_name, kw_name = self.hand_in(fn), self.hand_in(kw)
            args = "".join(self.value(q) + ", " for q in parents)
            self.lines.append(f"n{k} = _call({f_name}, {kw_name}, ({args}))")
            self.called.add(node)
            if node.__class__ is not _JointNode:
                self.lines.append(f"{out} = n{k}.value")
            else:
                self.lines.append(f"{out} = n{k}[0]._parents[0]")  # the joint, for its vjp
        self.names[node] = out
        self.slots[node] = k

    def _guard(self, guard):
        node, op, other, outcome = guard
        rhs = self.value(other) if isinstance(other, Scalar) else (
            None if op == "bool" else self.hand_in(other))
        test = _GUARD_TEXT[op].format(self.value(node), rhs)
        # the program holds only while each comparison comes out as it did when recorded
        self.lines.append(f"if {'not ' if outcome else ''}({test}): return None")

    def _check_finite(self, y):
        vy = self.value(y)
        self.lines.append(f"if {vy} - {vy} != 0: _complex()")  # non-finite: the tape says why

    def _backward(self, y, leaves):
        """The reverse pass, in the order of the tape's walk (reverse post-order of y's graph)."""
        order = [n for n in _postorder([y]) if n._parents]
        live = set(n for n in order if n in self.depends)
        cot = {}  # node -> name of its cotangent once something reached it
        joint_parts = {}
        lines = self.lines
        uses = {}  # node -> how many contributions it receives (one per edge from a live node)
        for node in order:
            if node in live and node.__class__ is not _ItemNode:
                for p in node._parents:
                    if p in self.depends:
                        uses[p] = uses.get(p, 0) + 1
        cot[y] = "1"
        for node in reversed(order):
            if node not in live:
                continue
            k = self.slots[node]
            g = cot.get(node)
            if node.__class__ is _JointNode:
                parts = joint_parts.get(node, {})
                width = len(node.value)
                terms = ["0.0" if i not in parts else " + ".join(["0.0"] + parts[i])
                         for i in range(width)]
                g = f"h{k}"
                lines.append(f"{g} = ({''.join('(' + t + '), ' for t in terms)})")
            elif g is None:
                g = "0"
            if node.__class__ is _ItemNode:  # its cotangent goes into the joint's buffer
                joint_parts.setdefault(node._parents[0], {}).setdefault(node._index, []).append(g)
                continue
            contributions = self._vjp(k, node, g)
            for p, c in zip(node._parents, contributions):
                if p not in self.depends or c is None:
                    continue
                target = cot.get(p)
                if target is None:
                    if uses[p] == 1 and _PASSED.fullmatch(c):
                        # p's one contribution is a cotangent variable passed on (+, Σ, mod, the
                        # left of -): a variable is 0 + c or such a sum, never -0.0, so 0 + it is
                        # itself; and as p gets nothing more, nothing adds to the shared name
                        cot[p] = c[1:-1]
                        continue
                    target = cot[p] = f"g{self.slots[p]}" if p in self.slots else \
                        f"d{self.inputs[p]}"
                    lines.append(f"{target} = 0 + {c}")  # the walk's _g starts at 0
                else:
                    lines.append(f"{target} += {c}")
        grads = [cot.get(leaf, "0") for leaf in leaves]
        lines.append(f"return {self.value(y)}, ({''.join(d + ', ' for d in grads)})")

    def _vjp(self, k, node, g):
        """Expressions of the cotangent of each argument (None where it is not needed)."""
        fn, parents = node._fn, node._parents
        if node in self.called:  # the joint (v{k}) or the single-output node (n{k}) goes to the vjp
            target = f"v{k}" if node.__class__ is _JointNode else f"n{k}"
            self.lines.append(f"t{k} = tuple({self.hand_in(fn)}.vjp({g}, {target}))")
            return [f"t{k}[{i}]" if q in self.depends else None for i, q in enumerate(parents)]
        if fn is _SUM:
            return [f"({g})"] * len(parents)
        name = _BY_FUNCTION[fn]
        rules = _TEMPLATES[name][1]
        p = q = None
        if node._kw:
            p = self.hand_in(node._kw[_KEYWORD[name]])
            if fn is _POW:
                q = self.hand_in(node._kw["p"] - 1)   # the same number `p - 1` gives every call
        values = [self.value(v) for v in parents]
        return [None if v not in self.depends else
                "(" + rule.format(*values, g=g, o=self.value(node), p=p, q=q) + ")"
                for v, rule in zip(parents, rules)]


class _NotCompilable(Exception):
    """The recorded graph has a shape the replay does not generate (the tape is used instead)."""



def _floats(args, who="value_and_grad") -> list:
    values = []
    for i, a in enumerate(args):
        try:
            values.append(float(a))
        except (TypeError, ValueError) as exc:
            raise ArgumentError(f"{who}: argument {i} must be a real number, got "
                                f"{type(a).__name__}") from exc
    return values


def _on_tape(fn, values, guards=None):
    """Run ``fn`` on fresh leaves and differentiate on the plain tape: (value, grads, y, leaves)."""
    leaves = [Scalar(v) for v in values]
    previous = engine._GUARDS[0]
    engine._GUARDS[0] = guards
    # The cyclic collector is paused while fn records: tape nodes only point at older nodes,
    # so the graph has no cycles and reference counting frees it; yet every 700 node
    # allocations start a collection, and full ones rescan the whole growing graph
    # (CPython 3.11, balanced 10^6-node graph, gc.callbacks timing: 9 full collections cost
    # 3.0 of the 5.6 µs per node of recording; at 10^5, 1 costs 0.8 of 3.4; the backward
    # walk starts none, so it needs no pause).  The previous state is restored.
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            y = fn(*leaves)
        finally:
            engine._GUARDS[0] = previous  # a vjp's own comparisons are not guards
        return _differentiate(y, leaves)
    finally:
        if collecting:
            gc.enable()


def _differentiate(y, leaves):
    if not isinstance(y, Scalar):
        if isinstance(y, (int, float)) and not isinstance(y, bool):
            return y, (0.0,) * len(leaves), None, leaves   # a constant: every derivative is 0
        raise ArgumentError(f"value_and_grad: the function must return a Scalar or a number, "
                            f"got {type(y).__name__}")
    if y.__class__ is _JointNode:
        raise ArgumentError("value_and_grad: the function returned a hidden joint node")
    return y.value, grad(y, leaves), y, leaves


def _compile(y, leaves, guards):
    """(replay function, its source) of one recording; (None, None) when not compiled."""
    if y is None or not y._parents:
        return None, None
    try:
        program = _Program(y, leaves, guards)
    except _NotCompilable:
        return None, None
    if y not in program.depends:
        return None, None
    namespace = dict(_GLOBALS)
    # the source holds generated names only (x3, v12, k4 ...): objects are passed to _make
    exec(compile(program.source, "<symimplicit.tape.replay>", "exec"), namespace)  # noqa: S102
    return namespace["_make"](*program.objects), program.source


class _Compiled:
    """``value_and_grad(fn, compile=True)``: replay the matching program, or record one."""

    def __init__(self, fn):
        self.fn = fn
        self.programs = {}   # number of arguments -> [run, ...], most recently used first
        self.recordings = 0  # how many times fn ran on the tape (first call + guard changes)
        self.source = None   # the generated source of the latest recording (for reading)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args):
        values = _floats(args)
        runs = self.programs.get(len(values))
        if runs:
            for i, run in enumerate(runs):
                try:
                    out = run(*values)
                except Exception:  # noqa: BLE001  (an error in a replay: the tape judges, below)
                    break
                if out is not None:
                    if i:
                        runs.insert(0, runs.pop(i))
                    return out
        return self._record(values)

    def _record(self, values):
        guards = []
        self.recordings += 1
        value, grads, y, leaves = _on_tape(self.fn, values, guards)
        run, source = _compile(y, leaves, guards)
        if run is not None:
            self.source = source
            runs = self.programs.setdefault(len(values), [])
            runs.insert(0, run)
            del runs[_MAX_PROGRAMS:]
        return value, grads


def value_and_grad(fn, *, compile: bool = False):
    """``fn`` of floats -> ``(value, tuple of derivatives)``, through the tape.

    ``fn`` is called with one tape :class:`Scalar` per argument and returns a Scalar.
    With ``compile=True`` the first call records the tape and generates straight-line
    Python for the forward and reverse passes; later calls replay it (the same numbers
    as the plain tape, bit for bit).  Comparisons of Scalars made while recording
    (``<``, ``<=``, ``>``, ``>=``, ``bool()``, ``float()``, ``int()``) are guards: when
    one comes out differently on a later call (another number of iterations, another
    branch), ``fn`` is recorded again and both programs are kept.  Reading ``.value``
    inside ``fn`` is not guarded: branch on the Scalar itself.  Values that reach neither
    the result nor a guard are not replayed (dead code), so a domain error there is
    raised by the recording only.  ``fn`` must be pure
    (its Functions deterministic) for a replay to equal a fresh recording.

    Parameters
    ==========
    fn : callable
        A function of Scalars returning a Scalar (or a plain number: derivatives 0.0).
    compile : bool
        Replay generated code after the first call (``False``: the plain tape every call).

    Examples
    ========
    >>> from symimplicit.tape import Cos, value_and_grad
    >>> f = value_and_grad(lambda a, b: Cos(a * b) + a, compile=True)
    >>> f(1.0, 0.0)                            # records, then replays
    (2.0, (1.0, 0.0))
    >>> f(2.0, 0.5) == value_and_grad(lambda a, b: Cos(a * b) + a)(2.0, 0.5)
    True

    See Also
    ========
    symimplicit.tape.grad : derivatives of a recorded Scalar.
    """
    if not callable(fn):
        raise ArgumentError(f"value_and_grad: fn must be callable, got {type(fn).__name__}")
    if compile:
        return _Compiled(fn)

    def tape_value_and_grad(*args):
        return _on_tape(fn, _floats(args))[:2]

    tape_value_and_grad.__doc__ = getattr(fn, "__doc__", None)
    return tape_value_and_grad
