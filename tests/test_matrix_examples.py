"""The matrix examples run as scripts, print their matrix-form derivation, and the gradient
they check against mpmath (computed inside the script at 30 digits) agrees to < 1e-10."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def max_error(text: str) -> float:
    found = re.findall(r"^max error:\s*([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)\s*$", text, flags=re.M)
    assert len(found) == 1, f"no single 'max error:' line in:\n{text}"
    return float(found[0])


def test_max_error_parser():
    assert max_error("a\nmax error: 2.220e-16\n") == pytest.approx(2.22e-16)
    assert max_error("max error: 3.5e-04\n") > 1e-10                   # a bad run would fail
    with pytest.raises(AssertionError):
        max_error("max error: nan\n")


@pytest.mark.parametrize("name,steps", [
    ("deq_matrix", ["statement:    z = tanh(W*z + b)", "collect dz:", "F_z = -diag(", "W_bar ="]),
    ("ridge_matrix", ["F_w = (2*lam)*I + 2*X.T*X", "d²w/dλ² =", "second order:"]),
    ("constrained_least_squares", ["K = [2*A.T*A, C.T; C, 0]", "Lagrangian:", "C_bar = "]),
])
def test_example(name, steps):
    out = run(name)
    for s in steps:
        assert s in out, f"{s!r} not printed by {name}"
    err = max_error(out)
    assert 0 <= err < 1e-10, f"{name}: max error {err}"
