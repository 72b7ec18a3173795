"""Every public callable exported by the package's front modules documents itself with a
SymPy-style ``Examples`` section holding at least one ``>>>`` line (run by ``--doctest-modules``)."""
import importlib
import inspect
import re

import pytest

FRONT = ["symimplicit", "symimplicit.tape", "symimplicit.lower", "symimplicit.precision",
         "symimplicit.report"]


def public_callables():
    seen = {}
    for modname in FRONT:
        mod = importlib.import_module(modname)
        names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            seen.setdefault(id(obj), (f"{modname}.{name}", obj))
    return sorted(seen.values(), key=lambda pair: pair[0])


def has_examples(doc: str) -> bool:
    # an "Examples" heading (underlined) followed, somewhere after it, by a ">>> " line
    m = re.search(r"^Examples\n[=-]{3,}\n", doc, flags=re.M)
    return bool(m) and re.search(r"^>>> \S", doc[m.end():], flags=re.M) is not None


def test_has_examples_detects_missing():
    assert has_examples("Summary.\n\nExamples\n========\n\n>>> 1 + 1\n2\n")
    assert not has_examples("Summary.\n\n>>> 1 + 1\n2\n")
    assert not has_examples("Summary.\n\nExamples\n========\n\nnone here\n")


def test_front_modules_export_callables():
    assert len(public_callables()) > 50


@pytest.mark.parametrize("qualname,obj", public_callables(), ids=lambda v: v if isinstance(v, str) else "")
def test_public_docstring_has_examples(qualname, obj):
    doc = inspect.getdoc(obj) or ""
    assert has_examples(doc), f"{qualname} has no 'Examples' section with a '>>> ' line"
