"""Issue 16: the CLI's help and JSON outputs against closed forms, the warning on
low-precision Floats in a statement, and the statements package's import paths."""
from __future__ import annotations

import argparse
import json
import pickle
import warnings
from pathlib import Path

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit.cli import build_parser, main
from symimplicit.errors import LowPrecisionFloatWarning, StatementError

ROOT = Path(__file__).resolve().parents[1]
x, y, a, b = sp.symbols("x y a b")


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def rel(value, truth) -> float:
    """|value - truth| / |truth| at 60 digits (value: a float or a decimal string)."""
    with mpmath.workdps(60):
        return float(abs((mpmath.mpf(value) - truth) / truth))


def cube_root_truth(value, dps=60):
    """x³ = a: x = a^(1/3), dx/da = 1/(3 a^(2/3)) (closed forms, mpmath at 60 digits)."""
    with mpmath.workdps(dps):
        value = mpmath.mpf(value)
        return mpmath.cbrt(value), 1 / (3 * mpmath.cbrt(value) ** 2)


# --------------------------------------------------------------------------- #
# --help: every option, each with a one-line help                               #
# --------------------------------------------------------------------------- #
def _subparsers(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


COMMANDS = ["derive", "verify", "study", "certify", "demo"]


def test_every_command_is_listed_with_a_help_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert sorted(_subparsers(build_parser())) == sorted(COMMANDS)
    listed = {line.split()[0]: line for line in out.splitlines()
              if line.startswith("    ") and line.split()[0] in COMMANDS}
    assert sorted(listed) == sorted(COMMANDS)
    assert all(len(line.split()) > 2 for line in listed.values())   # name + a help text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_a_one_line_help_and_is_listed(command, capsys):
    parser = _subparsers(build_parser())[command]
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and out.startswith(f"usage: symimplicit {command}")
    for action in parser._actions:
        assert action.help and action.help.strip(), (command, action.option_strings)
        assert "\n" not in action.help, (command, action.option_strings)
        for option in action.option_strings or [action.metavar]:
            assert option in out, (command, option)


# --------------------------------------------------------------------------- #
# JSON outputs against closed forms                                             #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("value", ["2", "0.001", "1e6"])
def test_verify_json_against_the_cube_root(value, capsys):
    status, out, err = run(["verify", "x^3 - a", "-u", "x", "--at", f"a={value}",
                            "--x0", "1", "--format", "json"], capsys)
    data = json.loads(out)
    assert status == 0 and not err and data["ok"] is True
    assert data["at"] == {"a": float(value)}
    truths = cube_root_truth(float(value))                      # at the float64 a given
    assert [r["name"] for r in data["rows"]] == ["x", "∂x/∂a"]
    for row, truth in zip(data["rows"], truths):
        assert rel(row["reference"], truth) < 1e-45             # 50 digits of reference
        assert rel(row["value"], truth) < 2 * 2 ** -53          # float64, within ~an ulp
        assert row["ok"] is True


def test_certify_json_encloses_the_cube_root(capsys):
    status, out, _ = run(["certify", "x^3 - a", "-u", "x", "--at", "a=2", "--x0", "1",
                          "--format", "json"], capsys)
    data = json.loads(out)
    assert status == 0 and data["certified"] is True
    with mpmath.workdps(80):
        for row, truth in zip(data["rows"], cube_root_truth(2, 80)):
            lo, hi = (mpmath.mpf(v) for v in row["enclosure"])
            assert lo <= truth <= hi and (hi - lo) < 1e-40 * abs(truth)


def test_study_json_log_spacing_against_the_cube_root(capsys):
    status, out, _ = run(["study", "x^3 - a", "-u", "x", "--over", "a=1e-6:1e6:5:log",
                          "--x0", "1", "--dps", "25", "--format", "json"], capsys)
    data = json.loads(out)
    columns = data["columns"]
    assert status == 0 and data["points"] == 5 and data["swept"] == ["a"]
    assert columns["a"][0] == 1e-6 and columns["a"][-1] == 1e6  # the ends exact
    for k, value in enumerate(columns["a"]):                   # 10^(-6 + 3k): log spacing
        assert rel(value, mpmath.mpf(10) ** (-6 + 3 * k)) < 4e-16
    for value, root in zip(columns["a"], columns["x"]):
        assert rel(root, cube_root_truth(value)[0]) < 2 * 2 ** -53
    assert max(columns["implicit_error"]) < 1e-15


def test_study_spacing_is_lin_by_default(capsys):
    status, out, _ = run(["study", "x^3 - a", "-u", "x", "--over", "a=1:4:4", "--x0", "1",
                          "--dps", "20", "--format", "json"], capsys)
    columns = json.loads(out)["columns"]
    assert status == 0 and columns["a"] == [1.0, 2.0, 3.0, 4.0]
    for value, root in zip(columns["a"], columns["x"]):
        assert rel(root, cube_root_truth(value)[0]) < 2 * 2 ** -53


@pytest.mark.parametrize("argv", [
    ["study", "x^3 - a", "-u", "x", "--over", "a=1:2:2", "--csv", "{missing}/t.csv"],
    ["study", "x^3 - a", "-u", "x", "--over", "a=1:2:2", "--plot", "{missing}/t.png"],
    ["derive", "x^3 - a", "-u", "x", "--pdf", "{missing}/t.pdf"],
])
def test_output_into_a_missing_directory_is_one_line_status_2(argv, capsys, tmp_path):
    missing = tmp_path / "absent"
    status, out, err = run([v.format(missing=missing) for v in argv], capsys)
    assert status == 2 and out == "" and "Traceback" not in err
    assert err.startswith("symimplicit: error: cannot write --") and err.count("\n") == 1
    assert "does not exist" in err and not missing.exists()


def test_a_decimal_in_the_text_is_exact_and_warns_not(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LowPrecisionFloatWarning)
        status, out, err = run(["derive", "x = 0.1*cos(x)", "--format", "json"], capsys)
    assert status == 0 and not err
    assert json.loads(out)["derivatives"] == []                 # no parameters
    assert "cos(x)/10" in json.loads(out)["statement"]          # 1/10, not 0.1000...


# --------------------------------------------------------------------------- #
# the warning on low-precision Floats                                           #
# --------------------------------------------------------------------------- #
def caught(build):
    """(result, the LowPrecisionFloatWarnings ``build()`` emitted)."""
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        result = build()
    return result, [r for r in records if issubclass(r.category, LowPrecisionFloatWarning)]


def test_a_float_in_a_root_warns_once_naming_it_and_its_rational():
    from symimplicit import Root
    statement, found = caught(lambda: Root(x - 0.1 * a, x, (a,)))
    assert len(found) == 1 and issubclass(LowPrecisionFloatWarning, UserWarning)
    message = str(found[0].message)
    assert "0.100000000000000" in message and "sp.Rational('0.1')" in message
    assert found[0].message.floats == (sp.Float(0.1),)
    assert found[0].filename == __file__                        # points at the user's line
    assert statement.derive().derivative(a) == sp.Float(0.1)    # the statement still works


@pytest.mark.parametrize("build, floats", [
    (lambda: __import__("symimplicit").FixedPoint(0.5 * sp.cos(a * x) + 0.25, x, (a,)),
     ["0.25", "0.5"]),
    (lambda: __import__("symimplicit").Minimize((x - a) ** 2 + (y - 0.3) ** 2, [x, y], (a,),
                                                constraints=[x + 0.7 * y - a]),
     ["0.3", "0.7"]),
    (lambda: __import__("symimplicit").Minimize((x - a) ** 2, x, (a,), constraints=[x >= 0.2]),
     ["0.2"]),
    (lambda: __import__("symimplicit").Root([x + y - 1.5 * a, x - y - sp.Float("1e-7")],
                                            [x, y], (a,)),
     ["1e-07", "1.5"]),
])
def test_every_kind_warns_once_with_all_its_floats(build, floats):
    _, found = caught(build)
    assert len(found) == 1
    for text in floats:
        assert f"sp.Rational('{text}')" in str(found[0].message)


@pytest.mark.parametrize("build", [
    lambda: __import__("symimplicit").Root(x - sp.Float("0.1", 30) * a, x, (a,)),   # 30 digits
    lambda: __import__("symimplicit").Root(x - sp.Float("0.1", 16) * a, x, (a,)),   # 16 digits
    lambda: __import__("symimplicit").Root(x - sp.Rational(1, 10) * a, x, (a,)),
    lambda: __import__("symimplicit").Root(x ** 2.0 - 3 * a, x, (a,)),   # 2.0 is exact
    lambda: __import__("symimplicit").parse("x = 0.1*cos(a*x) + 0.25"),   # read exactly
    lambda: __import__("symimplicit").parse("(x - 0.3)^2", unknown="x", kind="minimize",
                                            constraints=["x >= 0.1"]),
])
def test_no_warning_without_low_precision_floats(build):
    _, found = caught(build)
    assert found == []


def test_parse_reads_the_decimal_exactly():
    from symimplicit import parse
    statement, found = caught(lambda: parse("x = 0.1*cos(x)"))
    assert found == [] and statement.expression == sp.Rational(1, 10) * sp.cos(statement.unknown)


def test_a_refused_statement_does_not_warn():
    from symimplicit import Root
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        with pytest.raises(StatementError, match="shapes must match"):
            Root([x - 0.1 * a, x + 0.2], x, (a,))
    assert not [r for r in records if issubclass(r.category, LowPrecisionFloatWarning)]


def test_the_library_does_not_warn_again_when_it_restates_the_statement():
    """derive(active=...), the layers and verify restate the user's Minimize / Root: the
    one warning was the user's construction."""
    from symimplicit import Minimize, verify
    statement, found = caught(lambda: Minimize((x - a) ** 2, x, (a,), constraints=[x >= 0.5]))
    assert len(found) == 1

    def use():
        d = statement.derive(active=[0])
        layer = statement.primitive()
        return d.derivative(a), layer(0.0), verify(statement, at={a: 0.0}, dps=30)
    (da, solution, report), again = caught(use)
    assert again == [] and da == 0 and solution == 0.5 and report.ok


@settings(max_examples=40, deadline=None)
@given(st.floats(1e-300, 1e300).filter(lambda v: v != int(v)))
def test_the_suggested_rational_rounds_to_the_float(value):
    from symimplicit import Root
    from symimplicit.statements.floats import rational_text
    _, found = caught(lambda: Root(x - sp.Float(value) * a, x, (a,)))
    assert len(found) == 1
    suggestion = rational_text(sp.Float(value))
    assert suggestion in str(found[0].message)
    exact = sp.Rational(suggestion[len("sp.Rational('"):-2])
    assert float(exact) == value                                # the float's shortest decimal


# --------------------------------------------------------------------------- #
# the statements package: every import path, one concern a module              #
# --------------------------------------------------------------------------- #
def test_public_import_paths_are_the_same_objects():
    import symimplicit
    import symimplicit.statements as statements
    from symimplicit.statements import FixedPoint, Minimize, Root, Statement, _as_expr
    assert (Root, FixedPoint, Minimize, Statement) == (symimplicit.Root, symimplicit.FixedPoint,
                                                        symimplicit.Minimize, symimplicit.Statement)
    assert sorted(statements.__all__) == ["FixedPoint", "Minimize", "Root", "Statement"]
    assert all(issubclass(k, Statement) for k in (Root, FixedPoint, Minimize))
    assert _as_expr(sp.Eq(x, a), "F") == x - a


def test_statements_pickle_and_compare_after_the_split():
    from symimplicit.statements import Minimize, Root
    for statement in (Root(x ** 3 - a, x, (a,)),
                      Minimize((x - a) ** 2 + y ** 2, [x, y], (a,), constraints=[x + y - 1])):
        again = pickle.loads(pickle.dumps(statement))
        assert again == statement and hash(again) == hash(statement)
        assert again.derive().derivative(a) == statement.derive().derivative(a)


def test_each_statements_module_is_small():
    modules = sorted((ROOT / "symimplicit" / "statements").glob("*.py"))
    assert {m.name for m in modules} >= {"__init__.py", "arguments.py", "floats.py", "base.py",
                                         "equations.py", "minimize.py"}
    assert not (ROOT / "symimplicit" / "statements.py").exists()
    assert max(len(m.read_text(encoding="utf-8").splitlines()) for m in modules) < 250
