"""The package's surface: lazy top-level names, and what imports what."""
from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import symimplicit


def test_every_top_level_name_is_the_object_not_a_module():
    # Import every submodule first: a submodule named like an export would
    # otherwise shadow the lazily exported object on the package.
    for info in pkgutil.walk_packages(symimplicit.__path__, "symimplicit."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    for name in symimplicit.__all__:
        obj = getattr(symimplicit, name)
        assert not isinstance(obj, types.ModuleType), name
        assert callable(obj), name


def test_core_imports_without_optional_dependencies():
    blocked = ["matplotlib", "tqdm", "dask", "distributed", "gmpy2"]
    code = (
        "import sys\n"
        f"for m in {blocked!r}: sys.modules[m] = None  # importing it raises ImportError\n"
        "import symimplicit, sympy as sp\n"
        "from symimplicit import FixedPoint, verify\n"
        "x, a = sp.symbols('x a')\n"
        "r = verify(FixedPoint(sp.cos(a*x), x, (a,)), at={a: 1.0})\n"
        "assert r.ok, r\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
