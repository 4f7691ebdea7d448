"""The pyuvm tests (the cocotb test module of the regression, tb/regress.py).

Each test is selected by its class name (the runner's test filter) on a build
of the matching personality: the ``Loopback*`` tests on a loopback build,
``BlockTest`` on a block build, ``ConsoleTest`` on a console build. Bus
pressure (random gaps on every channel, memory latency) is drawn from the
seed (``VIO_SEED``, read when the test starts: tb/batch.py runs several runs,
each with its seed, in one simulator process). At the end of a test the
functional coverage of the run (its own hits, :func:`coverage.start_run`) is
written to ``functional_coverage.yml`` in the run directory and printed.

``LoopbackUsedLenFaultTest`` is meant to fail: a factory override replaces the
driver component by one that corrupts a used.len in the DUT's memory, and the
completion scoreboard must say so (tests/test_regress.py checks the message).
"""

import os
import random
import warnings
from pathlib import Path

import cocotb
import pyuvm
from pyuvm import ConfigDB, uvm_factory, uvm_test

from vio.ring import u16

from . import coverage as cov
from .bench import Bench
from .components import VirtioDriverComponent, VirtioUvmEnv
from .sequences import (
    FEATURE_SETS,
    BackendLimitsSeq,
    BlockSeq,
    ConsoleSeq,
    CrossSweepSeq,
    DirectedResetSeq,
    HostileSeq,
    InterruptRulesSeq,
    RandomTrafficSeq,
    RegisterSeq,
    ResetSeq,
    ResetSweepSeq,
    RingLimitsSeq,
    StormStallSeq,
    StreamHoldSeq,
    VirtioSequence,
)

# cocotbext-axi 0.1.28 still calls APIs cocotb 2.1 deprecates (Task.kill, Event.data)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

PAUSES = (0.0, 0.1, 0.4)
LATENCIES = (0, 4, 32)
TIMEOUT_MS = 400  # simulated time after which a test fails (a hang, not a slow test)
COVERAGE_FILE = "functional_coverage.yml"


def seed() -> int:
    """This run's seed (``VIO_SEED``; tb/batch.py sets it before each run)."""
    return int(os.environ.get("VIO_SEED", "1"))


class VirtioBaseTest(uvm_test):
    """Builds the bench (pressure from the seed) and the env; runs ``SEQUENCES``
    ((class, keywords) in order) after the first init; the last session is
    checked in full at the end."""

    SEQUENCES: list = []
    FEATURES = FEATURE_SETS[-1]

    def build_phase(self):
        cov.start_run()
        self.seed = seed()
        rng = random.Random(f"{self.seed}-{type(self).__name__}")  # each test of a seed gets its own pressure
        self.pause, self.latency = rng.choice(PAUSES), rng.choice(LATENCIES)
        self.bench = Bench(cocotb.top, self.seed, pause=self.pause, mem_latency=self.latency)
        ConfigDB().set(None, "*", "BENCH", self.bench)
        self.env = VirtioUvmEnv("env", self)

    async def run_phase(self):
        self.raise_objection()
        bench = self.bench
        await bench.start()
        await bench.open(self.FEATURES)
        cov.sample_pressure(*cov.pressure_bins(self.pause, self.latency))
        for cls, kw in self.SEQUENCES:
            await cls(cls.__name__, **kw).start(self.env.seqr)
        await Finish("finish").start(self.env.seqr)
        bench.close("full")
        self.drop_objection()

    def extract_phase(self):  # before check_phase, so that a failing run keeps its coverage too
        cov.export(Path(COVERAGE_FILE))

    def report_phase(self):
        """This run's functional coverage, in the log and in functional_coverage.txt."""
        tmp = Path(COVERAGE_FILE + ".tmp")
        text, _ = cov.report(cov.merge([Path(COVERAGE_FILE)], tmp), f"functional coverage of {type(self).__name__}, seed {self.seed}")
        tmp.unlink()
        Path(COVERAGE_FILE).with_suffix(".txt").write_text(text + "\n")
        self.logger.info("%s: %d session(s) checked\n%s", type(self).__name__, self.env.scoreboard.sessions, text)


class Finish(VirtioSequence):
    """Collect what is outstanding (answers released, gate open)."""

    async def body(self):
        if self.bench.personality == "loopback":
            await self.control("release")
            await self.control("open")
            await self.control("kick")


# ------------------------------------------------------------ loopback
@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackRandomTest(VirtioBaseTest):
    """Random traffic over all queues, the queue x length x direction x indirect
    sweep, new pressure and re-inits with other feature sets on the way."""

    SEQUENCES = [(CrossSweepSeq, {}), (RandomTrafficSeq, {"rounds": 10})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackRingTest(VirtioBaseTest):
    """Long chains up to the ring size, ring full, ring empty."""

    SEQUENCES = [(RingLimitsSeq, {}), (RandomTrafficSeq, {"rounds": 3, "reinit": 0})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackInterruptTest(VirtioBaseTest):
    """EVENT_IDX suppression, NO_INTERRUPT polling, NOTIFY_ON_EMPTY, per feature set."""

    SEQUENCES = [(InterruptRulesSeq, {})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackStormTest(VirtioBaseTest):
    """Notify storms, backend stalls, held answers and bursts, a paused request stream."""

    SEQUENCES = [(StormStallSeq, {}), (StreamHoldSeq, {}), (RandomTrafficSeq, {"rounds": 3, "reinit": 0})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackResetTest(VirtioBaseTest):
    """Resets in the middle of traffic, then new inits."""

    SEQUENCES = [(ResetSeq, {}), (ResetSweepSeq, {})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackDirectedResetTest(VirtioBaseTest):
    """Resets aimed at the engine's short activities (a chain's data read, an
    interrupt decision's read, an answer drained, a request packet's abort),
    then new inits."""

    SEQUENCES = [(DirectedResetSeq, {})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackBackendLimitsTest(VirtioBaseTest):
    """Answers longer than the writable buffers; the segment buffer full."""

    SEQUENCES = [(BackendLimitsSeq, {})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackHostileTest(VirtioBaseTest):
    """Every hostile ring the build allows, with recovery."""

    SEQUENCES = [(HostileSeq, {})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackRegisterTest(VirtioBaseTest):
    """Random register accesses (every offset, width, alignment) against the reference device."""

    SEQUENCES = [(RegisterSeq, {})]


class UsedLenCorruptingDriver(VirtioDriverComponent):
    """Fault injection: once, after the DUT has written a used element and
    before the driver reads it, its len is decremented in the DUT's memory
    only (neither the bus nor the predictor sees it)."""

    corrupted = False

    async def collect(self, ack: bool = True) -> int:
        await self.close_batch()
        vio, store = self.bench.vio, self.bench.env.store
        for q in vio.queue:
            if self.corrupted or q.layout is None:
                continue
            used_idx = int.from_bytes(store[q.layout.used_idx : q.layout.used_idx + 2], "little")
            if u16(used_idx - q.last_used):
                addr = q.layout.used_ring(q.last_used % q.num) + 4
                length = int.from_bytes(store[addr : addr + 4], "little")
                if length:
                    store[addr : addr + 4] = (length - 1).to_bytes(4, "little")
                    self.corrupted = True
                    self.logger.info("fault injected: queue %d used.len %d -> %d in the DUT's memory", q.index, length, length - 1)
        return await super().collect(ack)


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class LoopbackUsedLenFaultTest(VirtioBaseTest):
    """Meant to fail: the scoreboard catches a used.len corrupted behind the driver's back."""

    SEQUENCES = [(RandomTrafficSeq, {"rounds": 3, "reinit": 0})]

    def build_phase(self):
        uvm_factory().set_type_override_by_type(VirtioDriverComponent, UsedLenCorruptingDriver)
        super().build_phase()


# ---------------------------------------------------- other personalities
@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class BlockTest(VirtioBaseTest):
    """Block reads and writes with data checked against the disk image."""

    FEATURES = FEATURE_SETS[2]
    SEQUENCES = [(BlockSeq, {})]


@pyuvm.test(timeout_time=TIMEOUT_MS, timeout_unit="ms")
class ConsoleTest(VirtioBaseTest):
    """Console multiport: ports opened and closed at both ends, data each way."""

    SEQUENCES = [(ConsoleSeq, {})]
