"""The pyuvm regression environment around virtio_mmio (see docs/regression.md, "The pyuvm
regression"): items, sequences, components (driver, monitors, scoreboard,
coverage, env), the bench and sessions under them, and the tests."""
