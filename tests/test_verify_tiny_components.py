"""A gradient component far below the rest of its Jacobian (∂x/∂a = b²/r³ of the disk
projection at b ≈ 1e-80: 7e-161 beside 0.5) is computed from entries of the Jacobian's size,
so verify's two reference routes and certify measure it against that scale: a correct layer
is never a false alarm ("DERIVATION SUSPECT"), and the value still matches the closed form."""
import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import Minimize, certify, verify

x, y, a, b = sp.symbols("x y a b")
DISK = Minimize((x - a)**2 + (y - b)**2, (x, y), (a, b), constraints=[x**2 + y**2 <= 1])
LAYER = DISK.primitive()


@settings(max_examples=12, deadline=None)
@given(st.floats(1.5, 3), st.integers(-300, -20), st.floats(1, 9))
def test_tiny_components_are_no_false_alarm(av, e, m):
    bv = m * 10.0 ** e
    report = verify(LAYER, at={a: av, b: bv})
    assert report.ok and report.route_digits > 40, str(report)
    with mp.workdps(60):
        A, B = mp.mpf(av), mp.mpf(bv)
        truth = B * B / mp.sqrt(A * A + B * B) ** 3               # ∂x/∂a = b²/r³
    row = next(r for r in report.rows if r.name == "∂x/∂a")
    assert float(row.reference) == pytest.approx(float(truth), rel=1e-14, abs=1e-300)
    assert certify(LAYER, at={a: av, b: bv}).ok
