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
