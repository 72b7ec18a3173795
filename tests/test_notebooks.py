"""The example notebooks run in a real Jupyter kernel (nbclient + ipykernel) and their outputs
are right: gradients against mpmath and closed forms, LaTeX display, the fit, a plot."""
from __future__ import annotations

import os
import random
import re
from pathlib import Path

import mpmath
import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (the test extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (the test extra)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (the test extra)")

ROOT = Path(__file__).resolve().parents[1]


def execute(name: str, tmp_path, monkeypatch) -> list:
    """Run examples/<name> in a fresh python3 kernel that imports this checkout's code;
    the executed cells."""
    # the kernel inherits this environment: this checkout first, even from a clean clone
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(ROOT / "examples" / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb.cells


def text_of(cells) -> str:
    return "\n".join(out.get("text", "") for c in cells if c.cell_type == "code"
                     for out in c.outputs if out.output_type == "stream")


def mimes(cells) -> list[set]:
    return [set(out.get("data", {})) for c in cells if c.cell_type == "code"
            for out in c.outputs if out.output_type in ("display_data", "execute_result")]


def floats(tag: str, text: str) -> list[float]:
    line = re.search(rf"^{tag} (.*)$", text, re.M)
    assert line, f"{tag} not printed:\n{text}"
    return [float(v) for v in line.group(1).split() if re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?", v)]


def test_seed_notebook(tmp_path, monkeypatch):
    cells = execute("seed_notebook.ipynb", tmp_path, monkeypatch)
    out = text_of(cells)
    # the fixed point x = cos(x) at a = 1, b = 0 and its IFT gradient, at 50 digits
    with mpmath.workdps(50):
        xs = mpmath.findroot(lambda t: t - mpmath.cos(t), 0.7)
        s = mpmath.sin(xs)
        truth = [xs, -xs * s / (1 + s), -s / (1 + s)]
    for got, want in zip(floats("FIXED", out), truth):
        assert abs(got - float(want)) <= 4e-16 * abs(float(want))
    assert "VERIFIED True" in out
    # argmin a x² + b x at a = 2, b = 0.5: x = -b/(2a), ∂x/∂a = b/(2a²), ∂x/∂b = -1/(2a)
    assert floats("ARGMIN", out) == pytest.approx([-0.125, 0.0625, -0.25], rel=1e-15, abs=0)
    # the fit recovers the seed's true a
    random.seed(314)
    truea = 1 + random.random()
    ahat = floats("FIT", out)[0]
    assert abs(ahat - truea) < 1e-12
    assert any("text/latex" in m for m in mimes(cells))          # statements display as LaTeX


def test_tour_notebook(tmp_path, monkeypatch):
    cells = execute("tour.ipynb", tmp_path, monkeypatch)
    out = text_of(cells)
    assert "DERIVATIVE 1/(-e*cos(E) + 1)" in out
    assert "IDIFF -(x**2 + y**2)/y**3" in out
    assert "VERIFIED True" in out
    kinds = mimes(cells)
    assert sum("text/latex" in m for m in kinds) >= 2            # the statement and the derivation
    assert any("image/png" in m for m in kinds)                  # the study plot
