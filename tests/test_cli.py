"""The symimplicit command: in-process through main(argv), and a few real subprocesses
(exit statuses, no traceback on hostile input)."""
import io
import json
import subprocess
import sys

import pytest

from symimplicit.cli import main

SEED = "x = cos(a*x + b)"


def run(argv, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_derive_text(capsys):
    status, out, err = run(["derive", SEED], capsys)
    assert status == 0 and not err
    assert "∂x/∂a = " in out and "a⋅sin(a⋅x + b) + 1" in out


def test_derive_json_is_machine_readable(capsys):
    status, out, _ = run(["derive", SEED, "--format", "json", "--order", "2"], capsys)
    data = json.loads(out)
    assert status == 0 and data["kind"] == "fixed_point" and data["params"] == ["a", "b"]
    assert [d["wrt"] for d in data["derivatives"]] == [["a"], ["b"], ["a", "a"], ["b", "b"]]
    assert data["derivatives"][0]["expr"] == "-x*sin(a*x + b)/(a*sin(a*x + b) + 1)"
    assert data["conditions"][0]["latex"] == r"a \sin{\left(a x + b \right)} + 1 = 0"


def test_derive_latex_markdown_and_stdin(capsys, monkeypatch):
    status, out, _ = run(["derive", "-", "--format", "latex", "--wrt", "a,b"], capsys,
                         stdin=SEED + "\n", monkeypatch=monkeypatch)
    assert status == 0 and out.startswith(r"\begin{align*}")
    assert r"\frac{\partial^{2} x}{\partial a \partial b}" in out
    status, out, _ = run(["derive", SEED, "--format", "markdown"], capsys)
    assert "$$" in out and r"\begin{aligned}" in out


def test_derive_minimize_with_constraint(capsys):
    status, out, _ = run(["derive", "(x-p)^2 + (y-q)^2", "--unknown", "x,y", "--minimize",
                          "--constraint", "x^2 + 4*y^2 = c", "--format", "json"], capsys)
    data = json.loads(out)
    assert status == 0 and data["multipliers"] == ["lambda_1"]
    assert set(data["derivatives"][0]["components"]) == {"x", "y", "lambda_1"}   # λ too


@pytest.mark.skipif(not __import__("shutil").which("pdflatex"), reason="no pdflatex")
def test_derive_pdf(capsys, tmp_path):
    target = tmp_path / "kepler.pdf"
    status, _, err = run(["derive", "E - e*sin(E) - M", "-u", "E", "--pdf", str(target)], capsys)
    assert status == 0 and target.read_bytes().startswith(b"%PDF") and "wrote" in err


def test_verify_ok_and_failing(capsys):
    status, out, _ = run(["verify", SEED, "--at", "a=1,b=0"], capsys)
    assert status == 0 and "OK" in out and "0.7390851332151607" in out
    status, out, _ = run(["verify", SEED, "--at", "a=1,b=0", "--tol", "1e-30"], capsys)
    assert status == 1 and "MISMATCH" in out


def test_verify_accepts_expressions_and_x0(capsys):
    status, out, _ = run(["verify", "E - e*sin(E) - M", "-u", "E", "--at", "e=0.3,M=pi/3",
                          "--x0", "1", "--dps", "30"], capsys)
    assert status == 0 and "M=1.0471975511965979" in out     # π/3 correctly rounded


def test_study_table_csv_and_plot(capsys, tmp_path):
    csv, png = tmp_path / "s.csv", tmp_path / "s.png"
    status, out, err = run(["study", "x = a*tanh(x)", "--over", "a=1.5:2:3", "--x0", "1",
                            "--dps", "20", "--csv", str(csv), "--plot", str(png)], capsys)
    assert status == 0 and "kappa" in out
    assert len(csv.read_text().strip().splitlines()) == 4
    assert png.read_bytes().startswith(b"\x89PNG")


def test_demo_is_the_default(capsys):
    status, out, _ = run([], capsys)
    assert status == 0 and "seed's fixed point" in out
    assert "126" in out and "-0.29747434150983226" in out
    digits = {line.split()[0]: float(line.split()[-1]) for line in out.splitlines()
              if line.strip().startswith(("implicit", "unrolled", "seed FixedPoint"))}
    assert digits["implicit"] >= 15 and digits["unrolled"] < 8 and digits["seed"] < 9


@pytest.mark.parametrize("argv, message", [
    (["derive", "__import__('os')"], "not allowed"),
    (["derive", "E - e*sin(E) - M"], "--unknown"),
    (["derive", SEED, "--bogus"], "unrecognized arguments"),
    (["verify", SEED, "--at", "a=1"], "missing ['b']"),
    (["verify", SEED, "--at", "a=x"], "not a number"),
    (["study", SEED, "--over", "a=1:2"], "NAME=LO:HI:N"),
    (["derive", SEED, "--order", "0"], "between 1 and 20"),
    (["derive", ""], "empty"),
])
def test_errors_are_one_line_with_status_2(argv, message, capsys):
    status, out, err = run(argv, capsys)
    assert status == 2 and not out
    assert err.startswith("symimplicit: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def _python_m(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "symimplicit", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_subprocess_exit_statuses():
    bad = _python_m("derive", "__import__('os').system('true')")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and not bad.stdout
    failing = _python_m("verify", SEED, "--at", "a=1,b=0", "--tol", "1e-30")
    assert failing.returncode == 1 and "MISMATCH" in failing.stdout
    piped = _python_m("derive", "-", "--format", "json", stdin=SEED)
    assert piped.returncode == 0 and json.loads(piped.stdout)["unknowns"] == ["x"]
    usage = _python_m("--help")
    assert usage.returncode == 0 and "derive" in usage.stdout and "demo" in usage.stdout
