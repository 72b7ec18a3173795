"""certify on inequality-constrained argmins: the active set is proved (μ > 0 on it, h < 0 off
it, over the box) with the KKT point of its reduced system; enclosures hold the closed form
of the disk projection, computed here in mpmath; wrong values and weak points never certify."""
import math

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symimplicit import Minimize, certify
from symimplicit.tape import Scalar

x, y, a, b = sp.symbols("x y a b")
DISK = Minimize((x - a)**2 + (y - b)**2, (x, y), (a, b),
                constraints=[x**2 + y**2 <= 1, x >= -5])


def disk_truth(av, bv):
    """(x, y) = (a, b)/r outside the disk, and ∂(x, y)/∂(a, b) = (I - u uᵀ)/r, u = (a, b)/r."""
    with mp.workdps(60):
        A, B = mp.mpf(av), mp.mpf(bv)
        r = mp.sqrt(A * A + B * B)
        r3 = r**3                                     # (I - u uᵀ)/r = [[b², -ab], [-ab, a²]]/r³
        return [A / r, B / r], [[B * B / r3, -A * B / r3], [-A * B / r3, A * A / r3]]


outside = st.tuples(st.floats(-3, 3), st.floats(-3, 3)).filter(lambda p: math.hypot(*p) > 1.1)


@settings(max_examples=15, deadline=None)
@given(outside)
def test_enclosures_hold_the_closed_form_outside_the_disk(p):
    av, bv = p
    report = certify(DISK.primitive(), at={a: av, b: bv})
    assert report.certified and report.ok, str(report)
    assert any("active set ['x**2 + y**2 <= 1'] proved" in n for n in report.notes)
    sol, jac = disk_truth(av, bv)
    for name, truth in [("x", sol[0]), ("y", sol[1]), ("∂x/∂a", jac[0][0]),
                        ("∂x/∂b", jac[0][1]), ("∂y/∂a", jac[1][0]), ("∂y/∂b", jac[1][1])]:
        row = report.row(name)
        assert row.contains(truth), (name, row.enclosure_text(), truth)
        assert row.relative_width < 1e-40 or row.width < 1e-45
    assert report.proved_digits >= 15


def test_inside_the_disk_no_constraint_is_active():
    report = certify(DISK, at={a: 0.3, b: -0.2})
    assert report.certified and report.row("∂x/∂a").contains(1)
    assert any("active set [] proved" in n and "inactive constraint < 0" in n for n in report.notes)


def test_a_wrong_gradient_is_never_certified():
    layer = DISK.primitive()

    def wrong(A, B):                                  # right solution, a gradient 1 % off in a
        X, Y = layer(A, B)
        return X + 0.01 * (A - A.value) * X.value, Y

    report = certify(wrong, at={a: 2.0, b: 1.0}, against=DISK)
    assert report.certified and not report.ok         # the enclosure is proved; the value is not in it
    assert report.row("∂x/∂a").digits < 3


def test_a_weakly_active_constraint_is_not_certified():
    report = certify(DISK.primitive(side="right"), at={a: 0.6, b: 0.8})
    assert not report.certified
    assert report.failure is not None


def test_the_active_set_of_the_layer_is_checked_not_assumed():
    # a point just outside the disk: the multiplier is tiny but positive, and provably so
    report = certify(DISK, at={a: 1 + 1e-9, b: 0.0})
    assert report.certified, str(report)
    assert report.row("x").contains(1)
