"""The inequality-constrained examples run as scripts, print their checks, and their derivations
under the active set found compile with pdflatex."""
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = ["box_projection", "nonneg_least_squares", "simplex_projection", "portfolio"]


def run(name: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_box_projection():
    out = run("box_projection")
    assert "x = [0.0, 0.25, 1.0, 0.9]" in out                        # clip([-0.7, .25, 1.6, .9])
    assert "∂Σx/∂(y, lo, hi) = [0.0, 1.0, 0.0, 1.0, 1.0, 1.0]" in out
    assert "NonDifferentiableError" in out and "right = 1.0, left = 0.0" in out
    assert "ok = True" in out


def test_nonneg_least_squares():
    out = run("nonneg_least_squares")
    assert "the same active set is optimal: True" in out
    assert float(re.search(r"vs mpmath, relative to the largest entry = (\S+)", out).group(1)) < 1e-13
    assert "ok = True" in out


def test_simplex_projection():
    out = run("simplex_projection")
    assert "support = [1, 3, 5]" in out and "ok = True" in out


def test_portfolio():
    out = run("portfolio")
    assert "held: [1, 3]" in out and "ok = True" in out


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("name, active", [("box_projection", [0, 5]),
                                          ("simplex_projection", [1, 3])])
def test_derivation_under_the_active_set_compiles(name, active, tmp_path):
    statement = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")["statement"]
    pdf = statement.derive(active=active).pdf(tmp_path / f"{name}.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
