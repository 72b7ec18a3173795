"""The docs site builds with Sphinx, warnings as errors, and has every page and the API."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="sphinx is not installed (pip install -e '.[test]')")
pytest.importorskip("myst_parser", reason="myst-parser is not installed (pip install -e '.[test]')")

ROOT = Path(__file__).resolve().parents[1]


def test_sphinx_build_with_warnings_as_errors(tmp_path):
    out = tmp_path / "html"
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          str(ROOT / "docs"), str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    for page in sorted((ROOT / "docs").glob("*.md")):          # the glob toctree took them all
        assert (out / f"{page.stem}.html").is_file(), page.name
    api = (out / "api.html").read_text(encoding="utf-8")
    for name in ("symimplicit.idiff", "symimplicit.statements.Root", "symimplicit.errors.ParseError",
                 "symimplicit.tape.Scalar"):
        assert f'id="{name}"' in api, name


def test_users_page_examples_run(monkeypatch):
    """docs/users.md: every >>> example gives the output shown."""
    import doctest
    monkeypatch.syspath_prepend(str(ROOT))
    result = doctest.testfile(str(ROOT / "docs" / "users.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0, result
