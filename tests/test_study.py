"""study() / tolerance_study(): values checked against known behaviour.

Near the singular point of x = a·tanh(x) (a → 1⁺, κ = 1/|1 - a sech²x| → ∞) the
digits lost grow like log10 κ and the float64 implicit gradient stays within a
small multiple of κ·2⁻⁵³; unrolling the iteration stalls; finite differences fail.
"""
from __future__ import annotations

import csv
import sys
from concurrent.futures import ThreadPoolExecutor

import mpmath
import numpy as np
import pytest
import sympy as sp

from symimplicit.errors import MissingDependencyError
from symimplicit.precision.study import Study, study, tolerance_study, unrolled_gradient
from symimplicit.statements import FixedPoint, Root

x, y, a, b = sp.symbols("x y a b")
TANH = FixedPoint(a * sp.tanh(x), x, (a,))                      # x = a tanh x
COS = FixedPoint(sp.cos(a * x + b), x, (a, b))                   # the seed's problem
EPS = 2.0 ** -53
NEAR_ONE = 1 + 10.0 ** -np.arange(1, 11)                         # κ from 5 to 5e9


@pytest.fixture(scope="module")
def tanh_study():
    return study(TANH, over={a: NEAR_ONE}, dps=30, x0=1.0, progress=False, max_unrolled=400)


def test_kappa_follows_one_over_one_minus_fx(tanh_study):
    for a_, x_, k in zip(NEAR_ONE, tanh_study["x"], tanh_study["kappa"]):
        with mpmath.workdps(40):
            xs = mpmath.findroot(lambda t: t - a_ * mpmath.tanh(t), x_)
            truth = 1 / abs(1 - a_ / mpmath.cosh(xs) ** 2)        # 1/|1 - ∂f/∂x|
        assert float(truth) <= k <= 8 * float(truth)               # plus the formula's roundings
    assert tanh_study["kappa"][-1] > 1e9


def test_digits_lost_grow_with_log10_kappa(tanh_study):
    lost, logk = tanh_study["digits_lost"], np.log10(tanh_study["kappa"])
    assert np.all(lost <= logk + 1.0)                            # never worse than κ allows
    assert np.all(lost >= logk - 2.0)                            # and the loss is real
    slope = np.polyfit(logk, lost, 1)[0]
    assert 0.8 < slope < 1.2, slope


def test_implicit_gradient_within_small_multiple_of_kappa_eps(tanh_study):
    ratio = tanh_study["implicit_error"] / (tanh_study["kappa"] * EPS)
    assert np.all(ratio <= 16), ratio
    np.testing.assert_allclose(tanh_study["bound"], tanh_study["kappa"] * EPS)


def test_unrolled_and_finite_differences_degrade(tanh_study):
    unrolled = tanh_study["unrolled_error"]
    assert unrolled[0] < 1e-11                                  # κ ≈ 5: the iteration converges
    assert np.all(unrolled[4:] > 0.1)                           # κ ≥ 5e4: 400 steps are not enough
    assert tanh_study["unrolled_iterations"][-1] == 400
    fd = tanh_study["fd_error"]
    finite = np.isfinite(fd)
    assert finite[:3].all() and np.all(fd[finite] > tanh_study["implicit_error"][finite])


def test_well_conditioned_sweep_and_vectorised_float64_side():
    s = study(COS, over={a: np.linspace(-0.45, 1.45, 9)}, at={b: 0.25}, dps=30, progress=False)
    assert len(s) == 9 and np.all(s["b"] == 0.25)
    assert np.all(s["kappa"] < 20)
    assert np.all(s["implicit_error"] <= 16 * s["bound"])
    # the iteration contracts fast while |f_x| = |a sin(ax + b)| is well below 1 (a < 1
    # here); at a = 1.45 it does not converge: the IFT gradient does not care, unrolling does
    assert np.all(s["unrolled_error"][:7] < 1e-12)
    assert s["unrolled_error"][-1] > 1
    assert np.all((s["fd_error"] > 1e-13) & (s["fd_error"] < 1e-7))
    assert "implicit_error" in s.table() and "kappa" in str(s)


def test_unrolled_gradient_matches_the_tape_seed_behaviour():
    xs, grads, its = unrolled_gradient(COS, [1.0, 0.0], x0=0.0)
    assert xs[0] == pytest.approx(0.7390851332151607, abs=1e-15)
    assert grads[0][0] == pytest.approx(-0.29747434150983226, rel=1e-12)
    assert 50 < its < 200


def test_vector_root_study_has_no_unrolled_columns():
    circle = Root([x**2 + y**2 - a, y - b * x], [x, y], (a, b))
    s = study(circle, over={b: [0.5, 1.0, 2.0]}, at={a: 2.0}, dps=25, x0=[1.0, 1.0],
              progress=False)
    assert "unrolled_error" not in s.columns
    np.testing.assert_allclose(s["x"], np.sqrt(2.0 / (1 + s["b"] ** 2)), rtol=1e-14)
    assert np.all(s["implicit_error"] <= 16 * s["bound"])


def test_tolerance_study_implicit_error_follows_the_solution():
    t = tolerance_study(COS, at={a: 1.0, b: 0.0}, tols=[1e-3, 1e-6, 1e-9, 1e-12], dps=30)
    assert list(t["tol"]) == [1e-3, 1e-6, 1e-9, 1e-12]
    imp, sol, unr = t["implicit_error"], t["solution_error"], t["unrolled_error"]
    assert np.all(np.diff(imp) < 0) and np.all(np.diff(unr) < 0)
    assert np.all(imp < 3 * sol + 1e-15)                         # linear in the solution's error
    assert np.all(imp < unr)                                      # unrolling lags behind
    assert np.all(t["implicit_iterations"] > 0)


def test_csv_and_png(tmp_path, tanh_study):
    path = tmp_path / "study.csv"
    tanh_study.to_csv(path)
    with open(path) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == tanh_study.columns and len(rows) == len(tanh_study) + 1
    assert float(rows[3][rows[0].index("kappa")]) == tanh_study["kappa"][2]
    png = tmp_path / "study.png"
    tanh_study.plot(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image as mpimg
    assert mpimg.imread(png).shape[0] > 100


def test_missing_optional_dependencies_are_typed(monkeypatch, tmp_path, tanh_study):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match="matplotlib"):
        tanh_study.plot(tmp_path / "x.png")
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(MissingDependencyError, match="tqdm"):
        study(TANH, over={a: [1.5]}, dps=20, x0=1.0, progress=True)
    assert len(study(TANH, over={a: [1.5]}, dps=20, x0=1.0)) == 1   # auto: no bar, no error


def test_progress_bar_and_thread_executor(capsys, tanh_study):
    with ThreadPoolExecutor(max_workers=2) as pool:
        s = study(TANH, over={a: NEAR_ONE}, dps=30, x0=1.0, progress=True, executor=pool,
                  unrolled=False)
    np.testing.assert_array_equal(s["kappa"], tanh_study["kappa"])
    np.testing.assert_array_equal(s["implicit_error"], tanh_study["implicit_error"])
    assert "mpmath references" in capsys.readouterr().err


def test_dask_distributed_executor(tanh_study):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        s = study(TANH, over={a: NEAR_ONE[:4]}, dps=30, x0=1.0, progress=False,
                  executor=client.get_executor(), unrolled=False)
    np.testing.assert_array_equal(s["kappa"], tanh_study["kappa"][:4])


def test_study_table_rejects_ragged_columns():
    with pytest.raises(ValueError, match="length"):
        Study({"a": [1, 2], "kappa": [1]})


def test_failed_points_are_not_reported_as_fully_accurate():
    """x² = a has no real root at a = -1: the reference fails there (a note), and its row
    holds NaN, including implicit_digits (not the cap); the point a = 4 is exact."""
    sqrt = Root(x**2 - a, x, (a,))
    s = study(sqrt, over={a: [-1.0, 4.0]}, dps=20, x0=1.0, progress=False)
    assert len(s.notes) == 1 and "a': '-1.0'" in s.notes[0]
    assert np.isnan(s["implicit_error"][0]) and np.isnan(s["implicit_digits"][0])
    assert np.isnan(s["digits_lost"][0])
    assert s["x"][1] == 2.0 and s["implicit_digits"][1] == 20 and s["digits_lost"][1] == 0


def test_a_non_finite_float64_value_has_infinite_error_and_no_digits():
    from symimplicit.precision.study import _error
    from symimplicit.precision.study_table import _fmt
    ref = [[mpmath.mpf(1), mpmath.mpf(2)]]
    assert _error([[1.0, 2.0]], ref, 30) == 0.0
    assert _error([[1.0, np.nan]], ref, 30) == np.inf
    assert _error([[np.inf, 2.0]], ref, 30) == np.inf
    assert [_fmt(v) for v in (np.nan, np.inf, 1e-20)] == ["nan", "inf", "1.000e-20"]
    table = Study({"a": [1.0, 2.0], "implicit_error": [np.inf, np.nan]}, swept=["a"]).table()
    assert "inf" in table and "nan" in table


def test_a_row_of_nans_prints_its_reason():
    sqrt = Root(x**2 - a, x, (a,))
    s = study(sqrt, over={a: [-1.0, 4.0]}, dps=20, x0=1.0, progress=False)
    text = str(s)
    assert 0 in s.reasons and 1 not in s.reasons
    line = [ln for ln in text.splitlines() if ln.startswith("row 0 ")]
    assert line and "a=-1.0" in line[0] and ("failed" in line[0]), text
