"""verify on inequality-constrained statements: mpmath solves the layer's active-set KKT system."""
import math

import pytest
import sympy as sp

from symimplicit import Minimize, verify
from symimplicit.precision.inequality_reference import _active_set_row, active_set_problem
from symimplicit.precision.reference import reference

x, y, a, b = sp.symbols("x y a b")
ST = Minimize((x - a)**2 + (y - b)**2 + x * y / 3, [x, y], [a, b],
              constraints=[x + y <= 1, x >= 0])


def test_verify_an_active_constraint():
    report = verify(ST, at={"a": 2.0, "b": 0.3})
    assert report.ok and report.digits > 15
    names = [r.name for r in report.rows]
    assert names[:3] == ["x", "y", "active set"]
    row = {r.name: r for r in report.rows}
    assert float(row["∂x/∂a"].reference) == pytest.approx(0.6, rel=1e-30)   # closed form 3/5


def test_verify_interior_point():
    report = verify(ST.primitive(), at={"a": 0.2, "b": 0.1})
    assert report.ok and "active set []" in report.start


def test_wrong_active_set_fails_the_row():
    values = [0.2, 0.1]                                              # interior: nothing active
    problem = active_set_problem(ST, [0])                            # claim x + y ≤ 1 active
    ref = reference(problem, values, [0.5, 0.5, 0.0], 30, richardson=False)
    row, note = _active_set_row(ST, (0,), ref, values)
    assert row.rel_error == math.inf and "x + y <= 1" in note and "≤ 0" in note


def test_strict_passes_on_a_bound():
    st = Minimize((x - a)**2, x, [a], constraints=[x >= 0])
    assert verify(st, at={"a": -1.5}, strict=True).ok                # x = 0 active, ∂x/∂a = 0
    assert verify(st, at={"a": 1.5}, strict=True).ok


def test_cli_verify_with_inequalities(capsys):
    from symimplicit.cli import main
    code = main(["verify", "--minimize", "(x-a)^2 + y^2", "--unknown", "x,y",
                 "--constraint", "x + y <= 1", "--constraint", "y >= 0", "--at", "a=2"])
    out = capsys.readouterr().out
    assert code == 0 and "active set" in out and "OK" in out


def test_exact_zero_derivatives_verify():
    """x held at its bound: ∂y/∂a is exactly 0, and the layer's gradient is 0 to mpmath's eye."""
    report = verify(ST.primitive(), at={"a": -2.0, "b": 0.3})
    assert report.ok, str(report)
