"""`symimplicit certify` (text, JSON, exit statuses) and study(..., certify=True)."""
from __future__ import annotations

import json
import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from symimplicit import FixedPoint, study
from symimplicit.cli import main

SEED = "x = cos(a*x + b)"


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def _truth():
    with mp.workdps(60):
        return mp.findroot(lambda t: t - mp.cos(t), mp.mpf("0.7"))


def test_certify_text(capsys):
    status, out, err = run(["certify", SEED, "--at", "a=1,b=0"], capsys)
    assert status == 0 and not err
    assert "CERTIFIED: every value proved within tol" in out
    assert "0.73908513321516064166 ±" in out and "∂x/∂a" in out


def test_certify_json_is_machine_readable_and_holds_the_truth(capsys):
    status, out, _ = run(["certify", SEED, "--at", "a=1,b=0", "--format", "json",
                          "--wrt", "a,a"], capsys)
    data = json.loads(out)
    assert status == 0 and data["certified"] and data["ok"] and data["proved_digits"] > 15
    row = data["rows"][0]
    with mp.workdps(80):                                       # the decimal ends enclose it
        lo, hi = (mp.mpf(v) for v in row["enclosure"])
        assert lo <= _truth() <= hi and row["relative_width"] < 1e-40
    assert [r["name"] for r in data["rows"]] == ["x", "∂x/∂a", "∂x/∂b", "∂^2x/∂a^2"]


def test_certify_markdown_and_latex(capsys):
    assert "| x |" in run(["certify", SEED, "--at", "a=1,b=0", "-f", "markdown"], capsys)[1]
    assert r"\begin{array}" in run(["certify", SEED, "--at", "a=1,b=0", "-f", "latex"], capsys)[1]


def test_certify_exit_status_1_when_not_certified(capsys):
    status, out, _ = run(["certify", "x = a*tanh(x)", "--at", "a=1", "--x0", "0.1"], capsys)
    assert status == 1 and "NOT CERTIFIED (singular)" in out
    status, out, _ = run(["certify", "x = a*tanh(x)", "--at", "a=1", "--x0", "0.1",
                          "--format", "json"], capsys)
    data = json.loads(out)                                     # NaN-free JSON
    assert status == 1 and data["failure"] == "singular" and data["rows"][0]["value"] is None


@pytest.mark.parametrize("argv, message", [
    (["certify", SEED, "--at", "a=1"], "must give exactly the parameters"),
    (["certify", SEED, "--at", "a=1,b=0", "--dps", "5"], "--dps must be at least 15"),
    (["certify", SEED, "--at", "a=1,b=0", "--wrt", "q"], "wrt"),
    (["certify", SEED, "--at", "a=1,,b"], "NAME=VALUE"),
    (["certify", "x = cos(", "--at", "a=1"], ""),
])
def test_certify_bad_input_exits_2(argv, message, capsys):
    status, out, err = run(argv, capsys)
    assert status == 2 and not out and err.startswith("symimplicit: error:") and message in err
    assert "Traceback" not in err


def test_certify_in_a_real_subprocess():
    proc = subprocess.run([sys.executable, "-m", "symimplicit", "certify", SEED, "--at",
                           "a=1,b=0", "--format", "json"], capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["certified"]
    assert "certify" in subprocess.run([sys.executable, "-m", "symimplicit", "--help"],
                                       capture_output=True, text=True).stdout


def test_study_records_proved_digits_next_to_measured_ones(tmp_path):
    x, a = sp.symbols("x a")
    result = study(FixedPoint(a * sp.tanh(x), x, (a,)), over={a: 1 + np.logspace(-9, -1, 5)},
                   x0=1.0, certify=True, progress=False)
    assert {"certified", "proved_error", "proved_digits"} <= set(result.columns)
    ok = result["certified"] == 1
    assert ok.all()
    # the proved bound is a bound: never below the error measured against mpmath
    assert np.all(result["proved_error"][ok] >= result["implicit_error"][ok] * (1 - 1e-6))
    assert np.all(np.diff(result["proved_digits"]) > 0)          # digits fall as a → 1⁺
    pytest.importorskip("matplotlib")
    result.plot(tmp_path / "tanh.png")
    assert (tmp_path / "tanh.png").read_bytes()[:4] == b"\x89PNG"
