"""Output polish (issue 16): verify/study as JSON judged against mpmath truths computed
here, log-spaced sweeps, --pdf without a text dump, output into a missing directory,
HTML tables for notebooks, and the parameters' call order shown wherever it matters."""
import io
import json
import math
import shutil
import sys
from html.parser import HTMLParser

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from symimplicit.cli import main
from symimplicit.parsing import parse
from symimplicit.precision import Study, verify
from symimplicit.precision.display import dumps, json_number

SEED = "x = cos(a*x + b)"


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity (not JSON, though Python writes them)."""
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def seed_truth(a, b, dps=60):
    """x = cos(ax + b) and its gradient: F = x - cos(ax+b), ∂x/∂θ = -F_θ / F_x."""
    with mpmath.workdps(dps):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        x = mpmath.findroot(lambda x: x - mpmath.cos(a * x + b), 0.7)
        s = mpmath.sin(a * x + b)
        fx = 1 + a * s                                       # F_x
        return x, -x * s / fx, -s / fx                       # x, ∂x/∂a, ∂x/∂b


def tanh_root(a, dps=60):
    """The positive fixed point of x = a·tanh(x) (a > 1)."""
    with mpmath.workdps(dps):
        a = mpmath.mpf(a)
        return mpmath.findroot(lambda x: x - a * mpmath.tanh(x), a)


def rel(value, truth) -> float:
    """|value - truth| / |truth| at 60 digits (value: a float or a decimal string)."""
    with mpmath.workdps(60):
        return float(abs((mpmath.mpf(value) - truth) / truth))


# --------------------------------------------------------------------------- #
# verify --format json                                                          #
# --------------------------------------------------------------------------- #
def test_verify_json_values_against_mpmath(capsys):
    status, out, err = run(["verify", SEED, "--at", "a=1,b=0", "--format", "json"], capsys)
    data = strict_json(out)
    assert status == 0 and not err
    assert data["ok"] is True and data["suspect"] is False
    assert data["params"] == ["a", "b"] and data["at"] == {"a": 1.0, "b": 0.0}
    assert [r["name"] for r in data["rows"]] == ["x", "∂x/∂a", "∂x/∂b"]
    truths = seed_truth(1, 0)
    for row, truth in zip(data["rows"], truths):
        assert rel(row["reference"], truth) < 1e-45          # the reference: all 50 digits
        assert rel(row["value"], truth) < 2 ** -52           # float64: within an ulp or so
        assert row["ok"] is True and row["digits"] >= 15
        assert isinstance(row["value"], float) and isinstance(row["reference"], str)
        assert math.isclose(row["rel_error"], rel(row["value"], truth), rel_tol=1e-6)
    assert data["digits"] == min(r["digits"] for r in data["rows"])


def test_verify_json_mismatch_exits_1(capsys):
    status, out, _ = run(["verify", SEED, "--at", "a=1,b=0", "--tol", "1e-30", "--format",
                          "json"], capsys)
    data = strict_json(out)
    assert status == 1 and data["ok"] is False and data["tol"] == 1e-30
    assert not any(r["ok"] for r in data["rows"] if r["rel_error"] > 1e-30)


def test_verify_json_matches_the_python_report():
    report = verify(parse(SEED), at={"a": 0.5, "b": 0.25}, dps=40)
    data = strict_json(report.to_json())
    assert data["ok"] == report.ok and data["kappa"] == report.kappa
    for row, truth in zip(data["rows"], seed_truth(0.5, 0.25)):
        assert rel(row["reference"], truth) < 1e-35


def test_json_number_and_strict_dumps():
    assert [json_number(v) for v in (1.5, math.inf, -math.inf, math.nan, None)] == \
        [1.5, "inf", "-inf", "nan", None]
    with pytest.raises(ValueError):
        dumps({"x": math.nan})                                # never writes invalid JSON


# --------------------------------------------------------------------------- #
# study --format json, log spacing                                              #
# --------------------------------------------------------------------------- #
def test_study_json_against_mpmath(capsys):
    status, out, err = run(["study", "x = a*tanh(x)", "--over", "a=1.5:2.5:3", "--x0", "2",
                            "--dps", "25", "--format", "json"], capsys)
    data = strict_json(out)
    assert status == 0 and data["points"] == 3 and data["swept"] == ["a"]
    assert data["columns"]["a"] == [1.5, 2.0, 2.5]
    for a, x, digits in zip(data["columns"]["a"], data["columns"]["x"],
                            data["columns"]["implicit_digits"]):
        assert rel(x, tanh_root(a)) < 4 * 2 ** -53
        assert digits >= 13
    assert data["reasons"] == {}


def test_study_log_spacing_and_nan_rows_as_strings(capsys):
    status, out, _ = run(["study", "x = a*tanh(x)", "--over", "a=1e-6:1:5:log", "--dps", "20",
                          "--format", "json"], capsys)
    data = strict_json(out)
    a = data["columns"]["a"]
    assert status == 0 and a[0] == 1e-6 and a[-1] == 1.0      # ends exact
    for k, v in enumerate(a):                                 # 10^(-6 + 1.5k)
        assert math.isclose(v, 10.0 ** (-6 + 1.5 * k), rel_tol=4e-16)
    # at a = 1 the fixed point x = 0 is singular (1 - a·sech²0 = 0): the reference fails
    assert data["columns"]["kappa"][-1] == "nan" and "4" in data["reasons"]
    assert "singular" in data["reasons"]["4"]


@pytest.mark.parametrize("spec, message", [
    ("a=0:1:5:log", "log spacing needs positive ends"),
    ("a=-1:-0.1:5:log", "log spacing needs positive ends"),
    ("a=1:2:3:cubic", "is not 'lin' or 'log'"),
    ("a=1:2:3:log:x", "NAME=LO:HI:N"),
])
def test_study_bad_spacing_is_one_line(spec, message, capsys):
    status, out, err = run(["study", "x = a*tanh(x)", "--over", spec], capsys)
    assert status == 2 and not out and message in err and err.count("\n") == 1


def test_study_lin_spacing_is_explicit_too(capsys):
    status, out, _ = run(["study", "x = a*tanh(x)", "--over", "a=1.5:2.5:3:lin", "--x0", "1",
                          "--dps", "20", "--format", "json"], capsys)
    assert status == 0 and strict_json(out)["columns"]["a"] == [1.5, 2.0, 2.5]


# --------------------------------------------------------------------------- #
# --pdf, missing directories                                                    #
# --------------------------------------------------------------------------- #
@pytest.mark.skipif(not shutil.which("pdflatex"), reason="no pdflatex")
def test_pdf_alone_does_not_dump_the_text(capsys, tmp_path):
    target = tmp_path / "d.pdf"
    status, out, err = run(["derive", SEED, "--pdf", str(target)], capsys)
    assert status == 0 and out == "" and "wrote" in err
    assert target.read_bytes().startswith(b"%PDF")
    status, out, _ = run(["derive", SEED, "--pdf", str(target), "--format", "text"], capsys)
    assert status == 0 and "∂x/∂a = " in out                 # asked for: printed


@pytest.mark.parametrize("argv", [
    ["derive", SEED, "--pdf", "{missing}/d.pdf"],
    ["study", "x = a*tanh(x)", "--over", "a=1.5:2:2", "--csv", "{missing}/s.csv"],
    ["study", "x = a*tanh(x)", "--over", "a=1.5:2:2", "--plot", "{missing}/s.png"],
])
def test_output_into_a_missing_directory_is_refused(argv, capsys, tmp_path):
    missing = tmp_path / "no" / "such"
    status, out, err = run([a.format(missing=missing) for a in argv], capsys)
    assert status == 2 and not out                            # refused before any work
    assert "does not exist" in err and str(missing) in err and err.count("\n") == 1
    assert not (tmp_path / "no").exists()                     # nothing created


# --------------------------------------------------------------------------- #
# HTML for notebooks                                                            #
# --------------------------------------------------------------------------- #
class _Cells(HTMLParser):
    """The text of every <td>/<th> (rows of cells) and of every <p>."""

    def __init__(self):
        super().__init__()
        self.rows, self.paragraphs, self._cell, self._p = [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "p":
            self._p = ""
        else:
            assert tag in ("div", "table", "thead", "tbody"), f"unexpected tag <{tag}>"

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None
        elif tag == "p":
            self.paragraphs.append(self._p)
            self._p = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._p is not None:
            self._p += data


def cells(markup: str) -> _Cells:
    parser = _Cells()
    parser.feed(markup)
    parser.close()
    return parser


def test_verify_html_table_escapes_and_holds_the_rows():
    report = verify(parse(SEED), at={"a": 1, "b": 0}, dps=30)
    report.notes.append('<script>alert("x")</script> & more')
    markup = report._repr_html_()
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    parsed = cells(markup)
    head, *body = parsed.rows
    assert head[:3] == ["quantity", "float64", "reference"]
    assert [b[0] for b in body] == ["x", "∂x/∂a", "∂x/∂b"]
    for b, truth in zip(body, seed_truth(1, 0)):
        assert rel(b[1], truth) < 2 ** -52 and rel(b[2], truth) < 1e-19
    assert any(p.startswith("OK:") for p in parsed.paragraphs)
    assert 'note: <script>alert("x")</script> & more' in parsed.paragraphs
    assert "parameters (in call order): a, b" in parsed.paragraphs


def test_study_html_escapes_and_elides_long_tables():
    n = 100
    s = Study({"a<b": np.arange(n, dtype=float), "k&\"": np.full(n, math.nan)},
              swept=["a<b"], reasons={3: "x < y & 'q'"})
    markup = s._repr_html_()
    assert "a<b" not in markup and "a&lt;b" in markup
    parsed = cells(markup)
    head, *body = parsed.rows
    assert head == ["a<b", 'k&"']
    assert len(body) == 61 and body[30][0] == "… 40 rows …"
    assert [float(r[0]) for r in body[:30] + body[31:]] == list(range(30)) + list(range(70, 100))
    assert all(r[1] == "nan" for r in body[:30])
    assert "row 3 (a<b=3.0): x < y & 'q'" in parsed.paragraphs


def test_short_study_html_has_every_row():
    s = Study({"a": [1.0, 2.0], "err": [1e-17, math.inf]}, swept=["a"])
    body = cells(s._repr_html_()).rows[1:]
    assert body == [["1.0", "1.000e-17"], ["2.0", "inf"]]


# --------------------------------------------------------------------------- #
# the parameters' call order, shown                                             #
# --------------------------------------------------------------------------- #
ORDER = "x = cos(zeta*x + alpha)"


def test_cli_shows_the_call_order(capsys):
    _, out, _ = run(["derive", ORDER], capsys)
    assert out.splitlines()[0] == "parameters (in call order): alpha, zeta"
    _, out, _ = run(["derive", ORDER, "--params", "zeta,alpha"], capsys)
    assert out.splitlines()[0] == "parameters (in call order): zeta, alpha"
    _, out, _ = run(["derive", ORDER, "--format", "markdown"], capsys)
    assert out.startswith("parameters (in call order): alpha, zeta\n")
    status, out, _ = run(["verify", ORDER, "--at", "zeta=1,alpha=0"], capsys)
    assert status == 0 and "parameters (in call order): alpha, zeta" in out.splitlines()
    _, out, _ = run(["verify", ORDER, "--at", "zeta=1,alpha=0", "--format", "markdown"], capsys)
    assert "- parameters (in call order): alpha, zeta" in out
    _, out, _ = run(["study", "x = a*tanh(x)", "--over", "a=1.5:2:2", "--x0", "1", "--dps",
                     "20"], capsys)
    assert out.splitlines()[1] == "parameters (in call order): a"


def test_layer_params_is_the_order_it_is_called_in():
    statement = parse(ORDER)
    layer = statement.primitive()
    assert [p.name for p in layer.params] == ["alpha", "zeta"]
    assert "params=(alpha, zeta)" in repr(statement) and "params=(alpha, zeta)" in repr(layer)
    # layer(alpha, zeta): x = cos(zeta·x + alpha) at alpha = 0.25, zeta = 0.5 is seed_truth(0.5, 0.25)
    x = float(layer.solve(0.25, 0.5))
    assert rel(x, seed_truth(0.5, 0.25)[0]) < 4 * 2 ** -53


_NAMES = ["alpha", "beta", "c", "d2", "kappa_1", "mu", "omega", "p", "q0", "theta", "zeta"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=4, unique=True),
       st.booleans())
def test_shown_order_is_the_statement_order(names, explicit):
    """Whatever the names (and whether --params reorders them), the line the CLI prints,
    the statement's repr and the layer's params all give the same order."""
    text = "x = cos(" + " + ".join(f"{n}*x" if i == 0 else n for i, n in enumerate(names)) + ")"
    order = list(reversed(names)) if explicit else sorted(names)
    statement = parse(text, params=order if explicit else None)
    assert [p.name for p in statement.params] == order
    assert f"params=({', '.join(order)}{',' if len(order) == 1 else ''})" in repr(statement)
    assert [p.name for p in statement.primitive().params] == order
    out = io.StringIO()
    argv = ["derive", text] + (["--params", ",".join(order)] if explicit else [])
    saved, sys.stdout = sys.stdout, out
    try:
        assert main(argv) == 0
    finally:
        sys.stdout = saved
    assert out.getvalue().splitlines()[0] == "parameters (in call order): " + ", ".join(order)


def test_no_parameters_is_said_plainly(capsys):
    status, out, _ = run(["derive", "x = cos(x)"], capsys)
    assert status == 0 and out.splitlines()[0] == "parameters (in call order): none"
