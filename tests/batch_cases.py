"""pyuvm tests of tests/test_regress_batch.py (a cocotb test module, not a
pytest file): runs that pass, fail, fail only after another run in the same
simulator process, and kill the simulator process, for the regression's
batches (tb/batch.py, tb/regress.py ``run_batch``)."""

import os
from pathlib import Path

import pyuvm
from cocotb.triggers import Timer
from pyuvm import uvm_test

TIMEOUT_MS = 1  # tb/batch.py gives each run its module's TIMEOUT_MS
_RUNS_IN_THIS_PROCESS = []  # what a test leaves behind in the process


class _Run(uvm_test):
    """100 ns of simulated time, then a file ``ran`` in the run's directory
    with the seed the run saw."""

    async def run_phase(self):
        self.raise_objection()
        await Timer(100, "ns")
        Path("ran").write_text(os.environ["VIO_SEED"])
        _RUNS_IN_THIS_PROCESS.append(type(self).__name__)
        self.drop_objection()


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class BatchPassTest(_Run):
    """Passes."""


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class BatchFailTest(_Run):
    """Fails in its check phase, as a scoreboard does."""

    def check_phase(self):
        raise AssertionError("injected failure: the scoreboard disagrees")


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class BatchLeakTest(_Run):
    """Fails when another run ran before it in the same process (state one
    run leaves to the next), passes alone."""

    def check_phase(self):
        others = [t for t in _RUNS_IN_THIS_PROCESS if t != type(self).__name__]
        assert not others, f"injected leak: runs before this one in the process: {others}"


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class BatchCrashTest(_Run):
    """Kills the simulator process in the middle of the run (no results.xml,
    no coverage.dat), as a crash of the simulator would."""

    async def run_phase(self):
        self.raise_objection()
        await Timer(50, "ns")
        os._exit(71)
