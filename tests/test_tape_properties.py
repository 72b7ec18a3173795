"""Property tests: on random expression graphs the tape's gradients equal SymPy's diff.

A random program is a list of steps; each step applies one elementary
primitive to earlier values (so sub-expressions are shared and nodes are used
twice).  The same program is run on the tape and, through the SymPy twins, as
a SymPy expression; the gradient from one ``backward`` must equal
``sympy.diff`` of the twin evaluated at 30 digits, to 1e-12 relative.
"""
from __future__ import annotations

import pytest
import sympy as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from symimplicit.tape import ELEMENTARY, Scalar, backward, reset_grad  # noqa: E402
from symimplicit.twins import TWINS, from_sympy, to_sympy  # noqa: E402

# unary primitives with the part of their domain the generator stays inside
UNARY_DOMAIN = {
    "Neg": lambda v: True, "Abs": lambda v: abs(v) > 1e-3,
    "Cos": lambda v: abs(v) < 50, "Sin": lambda v: abs(v) < 50, "Tan": lambda v: abs(v) < 1.2,
    "Exp": lambda v: abs(v) < 5, "Log": lambda v: v > 0.05, "Sqrt": lambda v: v > 0.05,
    "Tanh": lambda v: abs(v) < 5, "Atan": lambda v: True, "Sinh": lambda v: abs(v) < 5,
    "Cosh": lambda v: abs(v) < 5, "Log1p": lambda v: v > -0.9, "Expm1": lambda v: abs(v) < 5,
    "Asin": lambda v: abs(v) < 0.9, "Acos": lambda v: abs(v) < 0.9, "Asinh": lambda v: True,
    "Acosh": lambda v: v > 1.1, "Atanh": lambda v: abs(v) < 0.9, "Erf": lambda v: abs(v) < 3,
}
BINARY = ["Plus", "Minus", "Times", "Divide"]
VARIABLES = sp.symbols("u v w", real=True)

step = st.one_of(
    st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY_DOMAIN)), st.integers(0, 10**6)),
    st.tuples(st.just("binary"), st.sampled_from(BINARY), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("pow"), st.sampled_from([2, 3, -1, 0.5, 1.5]), st.integers(0, 10**6)),
    st.tuples(st.just("sum"), st.lists(st.integers(0, 10**6), min_size=1, max_size=4)),
)


def run_program(program, inputs):
    """Apply ``program`` to ``inputs`` (Scalars or SymPy symbols) with the given ops table."""
    tape_vals = [Scalar(x) for x in inputs]
    sym_vals = list(VARIABLES)
    for instruction in program:
        kind, n = instruction[0], len(tape_vals)
        if kind == "unary":
            _, name, i = instruction
            i %= n
            assume(UNARY_DOMAIN[name](tape_vals[i].value))
            tape_vals.append(ELEMENTARY[name](tape_vals[i]))
            sym_vals.append(TWINS[name](sym_vals[i]))
        elif kind == "binary":
            _, name, i, j = instruction
            i, j = i % n, j % n
            assume(name != "Divide" or abs(tape_vals[j].value) > 0.05)
            tape_vals.append(ELEMENTARY[name](tape_vals[i], tape_vals[j]))
            sym_vals.append(TWINS[name](sym_vals[i], sym_vals[j]))
        elif kind == "pow":
            _, p, i = instruction
            i %= n
            v = tape_vals[i].value
            assume(abs(v) > 0.05 and (v > 0 or float(p).is_integer()))
            tape_vals.append(ELEMENTARY["Pow"](tape_vals[i], p=p))
            sym_vals.append(TWINS["Pow"](sym_vals[i], p=sp.nsimplify(p)))
        else:
            _, idx = instruction
            idx = [k % n for k in idx]
            tape_vals.append(ELEMENTARY["Sum"](*[tape_vals[k] for k in idx]))
            sym_vals.append(TWINS["Sum"](*[sym_vals[k] for k in idx]))
        assume(abs(tape_vals[-1].value) < 1e6)
    return tape_vals, sym_vals


programs = st.lists(step, min_size=1, max_size=8)
points = st.tuples(*[st.floats(0.3, 2.0) for _ in VARIABLES])


def reference_gradient(expr, point):
    subs = {s: sp.Float(repr(x), 40) for s, x in zip(VARIABLES, point)}
    return [complex(sp.diff(expr, s).evalf(30, subs=subs)) for s in VARIABLES]


@settings(max_examples=300, deadline=None)
@given(program=programs, point=points)
def test_tape_gradient_equals_sympy_diff(program, point):
    tape_vals, sym_vals = run_program(program, point)
    out, expr = tape_vals[-1], sym_vals[-1]
    backward(out)
    want = reference_gradient(expr, point)
    scale = max(1.0, max(abs(w) for w in want))
    for leaf, w in zip(tape_vals[:3], want):
        got = 0.0 if leaf.grad is None else leaf.grad
        assert w.imag == 0
        # 1e-12 relative, measured against the gradient's own scale
        assert abs(got - w.real) <= 1e-12 * scale, (program, point, got, w)
    # the value too, to a few ulps of the inputs' scale
    assert float(expr.evalf(30, subs=dict(zip(VARIABLES, point)))) == pytest.approx(out.value, rel=1e-12, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(program=programs, point=points)
def test_lift_to_sympy_and_lower_back_round_trip(program, point):
    tape_vals, sym_vals = run_program(program, point)
    leaves, out = tape_vals[:3], tape_vals[-1]
    lifted = to_sympy(out, dict(zip(leaves, VARIABLES)))
    # the lifted expression is the twin expression
    values = dict(zip(VARIABLES, point))
    assert float(lifted.evalf(30, subs=values)) == pytest.approx(out.value, rel=1e-12, abs=1e-12)
    # lowering it again gives the same gradient on a fresh tape
    fresh = [Scalar(x) for x in point]
    again = from_sympy(lifted, dict(zip(VARIABLES, fresh)))
    if not isinstance(again, Scalar):  # the program folded to a constant
        return
    backward(again)
    reset_grad(out)
    backward(out)
    for a, b in zip(fresh, leaves):
        ga, gb = a.grad or 0.0, b.grad or 0.0
        assert ga == pytest.approx(gb, rel=1e-11, abs=1e-11 * max(1.0, abs(gb)))


def test_every_primitive_has_a_twin_that_agrees_with_it():
    x = sp.Symbol("x", real=True)
    for name, fn in ELEMENTARY.items():
        if name in BINARY or name in ("Sum", "Pow", "Mod"):
            continue
        at = 1.5 if name == "Acosh" else 0.4
        value = fn(at)
        twin = TWINS[name](x)
        assert float(twin.subs(x, at)) == pytest.approx(value, rel=1e-15), name
        node = Scalar(at)
        backward(fn(node))
        assert node.grad == pytest.approx(float(sp.diff(twin, x).subs(x, at)), rel=1e-14), name
