"""pytest configuration: the seed notebook's cells are run by tests/test_seed.py, not imported
(with --doctest-modules every .py would be collected as a module)."""
collect_ignore_glob = ["seed/*.py"]
