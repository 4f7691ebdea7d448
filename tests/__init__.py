"""The tests of `make test` (pytest). A package, so that the cocotb test
modules among them are importable as ``tests.<module>`` both by pytest and by
the simulator's Python (the runner passes sys.path on)."""
