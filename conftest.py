"""Doctest collection (``--doctest-modules`` over ``symimplicit``): modules that need an
optional extra are left out when the extra is not installed, instead of failing to import."""
import importlib.util

# module path (relative to this file) -> the import it needs
_OPTIONAL = {
    "symimplicit/lower/jax.py": "jax",
    "symimplicit/precision/jax_target.py": "jax",
}

collect_ignore = [path for path, extra in _OPTIONAL.items() if importlib.util.find_spec(extra) is None]
# the seed notebook's cells, run by tests/test_seed.py in its own namespace: not an importable module
collect_ignore.append("tests/seed/seed_cells.py")


_DOCTESTS: set = set()


def pytest_collection_modifyitems(items):
    from _pytest.doctest import DoctestItem

    _DOCTESTS.update(item.nodeid for item in items if isinstance(item, DoctestItem))


def pytest_terminal_summary(terminalreporter):
    """The doctest count, printed by every run (issue 16): how many docstrings ran and passed."""
    if not _DOCTESTS:
        return
    passed = sum(1 for r in terminalreporter.stats.get("passed", []) if r.nodeid in _DOCTESTS)
    terminalreporter.write_line(f"doctests: {passed} of {len(_DOCTESTS)} passed "
                                "(docstring Examples of symimplicit/, run with --doctest-modules)")
