"""Compiled replay (``value_and_grad(fn, compile=True)``) against the plain tape and closed forms.

The plain tape is the reference: on random programs (elementary primitives, shared
sub-expressions, branches on comparisons) the replay must give the same numbers bit for
bit (compared through ``repr``, so the sign of a zero counts), re-record exactly when a
guard's outcome changes, and raise the tape's typed errors.  Loops and implicit layers are
checked against their closed-form derivatives (the implicit function theorem).
"""
from __future__ import annotations

import math

import mpmath as mp
import pytest
import sympy as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from symimplicit import FixedPoint  # noqa: E402
from symimplicit.errors import ArgumentError, DomainError, NonFiniteError, SymimplicitError  # noqa: E402
from symimplicit.seed import SeedFixedPoint, cosaxb, iterativefixedpoint  # noqa: E402
from symimplicit.tape import ELEMENTARY, Function, Saved, Scalar, value_and_grad  # noqa: E402

UNARY = ["Neg", "Abs", "Cos", "Sin", "Tan", "Exp", "Log", "Sqrt", "Tanh", "Atan", "Sinh", "Cosh",
         "Log1p", "Expm1", "Asin", "Acos", "Asinh", "Acosh", "Atanh", "Erf"]
BINARY = ["Plus", "Minus", "Times", "Divide"]
N_INPUTS = 3

step = st.one_of(
    st.tuples(st.just("unary"), st.sampled_from(UNARY), st.integers(0, 10**6)),
    st.tuples(st.just("binary"), st.sampled_from(BINARY), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("pow"), st.sampled_from([2, 3, -1, 0.5, 1.5]), st.integers(0, 10**6)),
    st.tuples(st.just("sum"), st.lists(st.integers(0, 10**6), min_size=1, max_size=4)),
    st.tuples(st.just("const"), st.floats(-3, 3), st.integers(0, 10**6)),
    # if vals[i] > vals[j]: vals[i] * vals[j] else: vals[i] - vals[j]  (a guard)
    st.tuples(st.just("branch"), st.integers(0, 10**6), st.integers(0, 10**6)),
)
programs = st.lists(step, min_size=1, max_size=10)
points = st.lists(st.tuples(*[st.floats(-2.5, 2.5) for _ in range(N_INPUTS)]), min_size=1, max_size=6)


def make_fn(program):
    def fn(*xs):
        vals = list(xs)
        for instruction in program:
            kind, n = instruction[0], len(vals)
            if kind == "unary":
                vals.append(ELEMENTARY[instruction[1]](vals[instruction[2] % n]))
            elif kind == "binary":
                vals.append(ELEMENTARY[instruction[1]](vals[instruction[2] % n], vals[instruction[3] % n]))
            elif kind == "pow":
                vals.append(vals[instruction[2] % n] ** instruction[1])
            elif kind == "sum":
                vals.append(ELEMENTARY["Sum"](*[vals[k % n] for k in instruction[1]]))
            elif kind == "const":
                vals.append(instruction[1] * vals[instruction[2] % n] + 0.25)
            else:
                u, v = vals[instruction[1] % n], vals[instruction[2] % n]
                vals.append(u * v if u > v else u - v)
        # every value reaches the result: the replay skips dead code (documented), so a
        # domain error in a value nothing uses would be the tape's alone
        return ELEMENTARY["Sum"](*vals) * vals[-1]
    return fn


def outcome(f, point):
    """repr of (value, grads), or the error type: bit-exact comparison, -0.0 included."""
    try:
        return repr(f(*point))
    except SymimplicitError as exc:
        return type(exc)


@settings(max_examples=150, deadline=None)
@given(programs, points)
def test_random_programs_compiled_equals_tape_bit_for_bit(program, pts):
    fn = make_fn(program)
    compiled = value_and_grad(fn, compile=True)
    plain = value_and_grad(fn)
    for point in pts + pts:  # the second round replays what the first recorded
        assert outcome(compiled, point) == outcome(plain, point)


def test_iteration_count_is_a_guard_and_matches_the_implicit_function_theorem():
    fn = value_and_grad(lambda a, b: iterativefixedpoint(a, b, fun=cosaxb), compile=True)
    plain = value_and_grad(lambda a, b: iterativefixedpoint(a, b, fun=cosaxb))
    fn(0.5, 0.2)
    assert fn.recordings == 1
    for point in [(0.5, 0.2), (0.5000001, 0.2)]:                 # same number of iterations
        assert repr(fn(*point)) == repr(plain(*point))
    assert fn.recordings == 1
    x, (da, db) = fn(0.2, 0.5)                                   # another number of iterations
    assert fn.recordings == 2 and repr((x, (da, db))) == repr(plain(0.2, 0.5))
    fn(0.5, 0.2)                                                 # the first program again
    assert fn.recordings == 2
    # x = cos(ax + b): dx/da = -s x / (1 + a s), dx/db = -s / (1 + a s), s = sin(ax + b)
    mp.mp.dps = 30
    xs = mp.findroot(lambda t: t - mp.cos(0.2 * t + 0.5), 0.8)
    s = mp.sin(0.2 * xs + 0.5)
    assert abs(da - float(-s * xs / (1 + 0.2 * s))) < 1e-5      # the seed's loop stops at 1e-7
    assert abs(db - float(-s / (1 + 0.2 * s))) < 1e-5


def test_branch_on_bool_and_reverse_comparison_re_record():
    def fn(a, b):
        return a * b if 0.5 < a else (a - b if b else a + b)
    compiled, plain = value_and_grad(fn, compile=True), value_and_grad(fn)
    for point in [(1.0, 2.0), (1.5, 2.0), (0.1, 2.0), (0.1, 0.0), (0.2, 3.0), (2.0, 1.0)]:
        assert repr(compiled(*point)) == repr(plain(*point))
    assert compiled.recordings == 3


def test_an_implicit_layer_replays_as_one_call_and_matches_the_closed_form():
    a, b, x = sp.symbols("a b x")
    layer = FixedPoint(sp.cos(a * x + b), x, (a, b)).primitive()
    compiled = value_and_grad(lambda p, q: layer(p, q) * p, compile=True)
    plain = value_and_grad(lambda p, q: layer(p, q) * p)
    compiled(0.3, 0.1)
    source = compiled.source
    assert source.count("_call(") == 1 and source.count(".vjp(") == 1
    for p, q in [(0.3, 0.1), (0.7, -0.4), (1.2, 0.5)]:
        value, (dp, dq) = compiled(p, q)
        assert repr((value, (dp, dq))) == repr(plain(p, q))
        mp.mp.dps = 30
        xs = mp.findroot(lambda t: t - mp.cos(p * t + q), 0.5)
        s = mp.sin(p * xs + q)
        assert abs(value - float(p * xs)) < 1e-12
        assert abs(dp - float(xs + p * (-s * xs / (1 + p * s)))) < 1e-12   # d(p x)/dp
        assert abs(dq - float(p * (-s / (1 + p * s)))) < 1e-12
    assert compiled.recordings == 1


def test_seed_function_and_multi_output_nodes_replay_as_calls():
    def split_forward(u, v):
        return Saved((u * v, u + v), ("state",))

    def split_vjp(g, node):
        u, v = node.inputs
        assert node.state == ("state",)
        return (g[0] * v + g[1], g[0] * u + g[1])       # d(uv, u+v)

    split = Function("Split", split_forward, vjp=split_vjp, n_outputs=2)

    def fn(a, b):
        p, s = split(a, b)
        return SeedFixedPoint(a, b, fun=cosaxb) * p + Cos_sq(s)

    def Cos_sq(t):
        return ELEMENTARY["Cos"](t) ** 2

    compiled, plain = value_and_grad(fn, compile=True), value_and_grad(fn)
    for point in [(0.5, 0.2), (0.6, 0.1), (0.5, 0.2)]:
        assert repr(compiled(*point)) == repr(plain(*point))
    assert compiled.source.count("_call(") == 2
    assert compiled.recordings == 1


def test_only_the_used_item_of_a_multi_output_call_gets_a_cotangent():
    pair = Function("Pair", lambda u: (u * u, 3 * u),
                    vjp=lambda g, n: (2 * n.inputs[0] * g[0] + 3 * g[1],), n_outputs=2)
    compiled = value_and_grad(lambda a: pair(a)[1] * a, compile=True)
    for a in [1.0, 2.0, -0.5]:
        value, (da,) = compiled(a)
        assert (value, da) == (3 * a * a, 6 * a)


def test_no_user_string_reaches_the_generated_source():
    evil = "__import__('os').system('echo pwned')"
    weird = Function(evil, lambda u, **kw: 2 * u, lambda u, **kw: [2.0])
    compiled = value_and_grad(lambda a: weird(a, tag=evil) + a ** 2, compile=True)
    assert compiled(1.5) == (5.25, (5.0,)) == compiled(1.5)   # 2u + u², 2 + 2u
    assert evil not in compiled.source and "pwned" not in compiled.source
    assert "1.5" not in compiled.source                       # no number is printed


def test_errors_are_the_tapes_typed_errors_also_on_replay():
    compiled = value_and_grad(lambda a: ELEMENTARY["Log"](a) + ELEMENTARY["Exp"](a * 1000.0),
                              compile=True)
    assert compiled(0.5)[0] == math.log(0.5) + math.exp(500.0)
    with pytest.raises(DomainError):
        compiled(-1.0)                                       # log of a negative number
    with pytest.raises((NonFiniteError, DomainError)):
        compiled(1.0)                                        # e^1000 overflows
    with pytest.raises(ArgumentError):
        compiled("one")
    powered = value_and_grad(lambda a: (a - 1.0) ** 0.5, compile=True)
    assert powered(2.0) == (1.0, (0.5,))
    with pytest.raises(DomainError):
        powered(0.0)                                         # (-1) ** 0.5 is complex


def test_constant_results_and_bad_results():
    assert value_and_grad(lambda a, b: 2.0, compile=True)(1.0, 2.0) == (2.0, (0.0, 0.0))
    with pytest.raises(ArgumentError):
        value_and_grad(lambda a: "x", compile=True)(1.0)
    with pytest.raises(ArgumentError):
        value_and_grad(3.0)
