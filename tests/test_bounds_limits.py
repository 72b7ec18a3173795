"""Issue 9, "Bounded work" and "Typed errors": every limit is checked before work starts,
and bad input gets a typed error naming what and where (never a raw TypeError/OSError)."""
from __future__ import annotations

import importlib

import pytest
import sympy as sp

from symimplicit import FixedPoint, Root
from symimplicit.cli import main
from symimplicit.errors import NonFiniteError, OutputError, StatementError, SymimplicitError
from symimplicit.precision import problem_of, reference, study, verify
from symimplicit.precision.limits import MAX_DPS, MAX_STUDY_POINTS, MIN_DPS
from symimplicit.precision.study_table import Study

reference_module = importlib.import_module("symimplicit.precision.reference")

x, a, b = sp.symbols("x a b")
COS = FixedPoint(sp.cos(a * x + b), x, (a, b))
h, A, Ka, C, Kw = sp.symbols("h A K_a C K_w", positive=True)
ACID = Root([h * A - Ka * (C - A), h - A - Kw / h], [h, A], (Ka, C, Kw))   # weak acid in water


@pytest.mark.parametrize("value", [1j, "1", b"1", None, [1.0, 2.0], 2**1100, complex(1, 0)])
def test_verify_refuses_non_real_parameters_with_a_typed_error(value):
    # an int too large for float64 is a NonFiniteError (lower.options), the rest StatementError
    with pytest.raises((StatementError, NonFiniteError), match="parameter a"):
        verify(COS, at={a: value, b: 0.0})


@pytest.mark.parametrize("dps", [0, -5, MIN_DPS - 1, MAX_DPS + 1, 10**6, 30.5, True, "50"])
def test_dps_outside_its_bounds_is_refused(dps):
    with pytest.raises(StatementError, match="dps"):
        verify(COS, at={a: 1.0, b: 0.0}, dps=dps)
    with pytest.raises(StatementError, match="dps"):
        study(COS, over={a: [1.0]}, at={b: 0.0}, dps=dps, progress=False)


def test_study_refuses_text_values_and_grids_past_the_limit():
    with pytest.raises(StatementError, match="parameter a"):
        study(COS, over={a: ["1", 2.0]}, at={b: 0.0}, progress=False)
    side = int(MAX_STUDY_POINTS ** 0.5) + 1
    with pytest.raises(StatementError, match="exceed the limit"):
        study(COS, over={a: [0.5] * side, b: [0.0] * side}, progress=False)


def test_richardson_route_of_a_2x3_system_is_bounded(monkeypatch):
    """The acid equilibrium's Richardson route once took 12 s (steps h ≈ 1e-4 against
    Kₐ = 1.8e-5 left the domain, 90 halvings × 200 Newton steps); now its steps are
    relative to θ and its solves are counted against a stated budget."""
    calls = []
    original = type(problem_of(ACID)).solve

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(problem_of(ACID)), "solve", counting)
    ref = reference(problem_of(ACID), [1.8e-5, 0.1, 1e-14], [1.3e-3, 1.3e-3], 50)
    budget = reference_module.RICHARDSON_MAX_SOLVES * 3
    assert len(calls) <= budget + 3
    assert ref.route_digits is not None and ref.route_digits >= 45 or ref.notes


def test_richardson_budget_exhausted_is_stated(monkeypatch):
    monkeypatch.setattr(reference_module, "RICHARDSON_MAX_SOLVES", 2)
    rep = verify(ACID, at={Ka: 1.8e-5, C: 0.1, Kw: 1e-14}, x0=[1.3e-3, 1.3e-3])
    assert rep.route_digits is None
    assert any("Richardson route abandoned" in n for n in rep.notes), str(rep)


def test_csv_to_a_full_device_and_plot_to_a_missing_directory(tmp_path):
    s = Study({"a": [1.0, 2.0], "kappa": [1.0, 1.0]}, statement=COS, swept=["a"])
    with pytest.raises(OutputError, match="No space left"):
        s.to_csv("/dev/full")
    with pytest.raises(OutputError, match="does not exist"):
        s.plot(tmp_path / "missing" / "p.png")
    assert not (tmp_path / "missing").exists()                    # not created silently


@pytest.mark.parametrize("argv, message", [
    (["derive", "x = cos(a*x)", "--order", "21"], "between 1 and 20"),
    (["derive", "x = cos(a*x)", "--wrt", ",".join("a" * 21)], "order 21"),
    (["derive", "x = cos(a*x)"] + ["--wrt", "a"] * 20, "given 20 times"),
    (["derive", "x = cos(a*x)", "--wrt", "q"], "not among the parameters"),
    (["verify", "x = cos(a*x)", "--at", "a=1", "--dps", "1000000"], "outside"),
    (["study", "x = cos(a*x)", "--over", "a=0:1:100000000"], "exceed the limit"),
    (["study", "x = cos(a*x)", "--over", "a=0:1:2", "--csv", "/no/such/dir/t.csv"],
     "does not exist"),
    (["study", "x = cos(a*x)", "--over", "a=0:1:2", "--plot", "/no/such/dir/p.png"],
     "does not exist"),
    (["derive", "x = cos(a*x)", "--pdf", "/no/such/dir/d.pdf"], "does not exist"),
])
def test_cli_refuses_before_work(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("symimplicit: error: ") and message in err and err.count("\n") == 1


def test_cli_csv_to_a_full_device_is_one_line(capsys):
    assert main(["study", "x = cos(a*x)", "--over", "a=0.5:1:2", "--csv", "/dev/full"]) == 2
    err = capsys.readouterr().err
    assert "No space left" in err and "Traceback" not in err


@pytest.mark.parametrize("value", [1j, "2", None, b"x", (1.0,)])
def test_layers_and_verify_agree_on_what_a_parameter_is(value):
    """The same rule (lower/options.parameter_value) on both sides: a value the layer
    refuses with a typed error, verify refuses too."""
    with pytest.raises(SymimplicitError):
        COS.primitive()(value, 0.0)
    with pytest.raises(SymimplicitError):
        verify(COS, at={a: value, b: 0.0})
