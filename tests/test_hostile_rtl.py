"""The hostile-input campaign on the RTL (cocotb): every scenario of
``vio.hostile`` that the RTL's register semantics allow, each run on the RTL
and on the reference device and compared observation by observation, and the
random-corruption fuzzing of ``vio.hostile.fuzz`` judged notify by notify against
the reference device.

"No hang" is a bound in clock cycles: every settling (after a notify, a
register write, a release of held answers) must reach quiescence within
``SETTLE_BOUND`` cycles plus the time to stream all of guest memory once (a
readable buffer of gigabytes that starts in guest memory is legally read, and
streamed to the backend, up to the end of memory, where SLVERR stops it), or
the scenario fails. ``HOSTILE_SEEDS`` (number of fuzz seeds, default 3) and
``HOSTILE_SEED`` (the first seed, default 1) choose the fuzzing (``make
regress`` runs many more); a failing fuzz seed is named in the failure with
the command that reproduces it.

The cocotb tests, then their pytest runner: one small build per simulator
(Verilator and Icarus) with the hostile targets' parameters, in
build/hostile/<id>.
"""

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import cocotb
import pytest
from cocotb import Param

from tb.runner import ROOT, SimulationError, build_and_test
from tb.top import rtl_parameters, virtio_env
from vio.cocotb.env import VirtioEnv
from vio.constants import Cause
from vio.hostile import SCENARIOS, HostileBackend, ModelTarget, Target
from vio.hostile import target as hostile_target
from vio.hostile.fuzz import REPRODUCE, FuzzRun, fuzz_seeds

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

SETTLE_BOUND = 10_000  # cycles; the longest legal settling measured: 1 189 in the scenarios, 4 353 in fuzz seeds 1-15 (100 steps) but for reads of gigabytes
QUIET_CYCLES = 12  # no valid signal for this long = settled
RTL_SCENARIOS = sorted(name for name, s in SCENARIOS.items() if s.model_only is None)
TEST_TIMEOUT_MS = 20


class RtlTarget(Target):
    """The DUT in a :class:`VirtioEnv`, as a hostile-scenario target."""

    name = "RTL"
    exact_subword_reads = False  # docs/rtl.md: AXI4-Lite reads whole words

    def __init__(self, env: VirtioEnv):
        self.env = env
        self.hal = env.hal
        self.mem = env.mem
        self.backend = env.backend
        self.max_settle = 0  # longest settling seen, in cycles
        # one beat a cycle through all of guest memory, on top of a step's own work
        self.settle_bound = SETTLE_BOUND + env.mem.size // (env.params["AXI_DATA_WIDTH"] // 8)
        sim = "icarus" if "icarus" in cocotb.SIM_NAME.lower() else "verilator"
        self.reproduce = f"{REPRODUCE} -k {sim}"  # the line a failing fuzz seed prints
        self.dma_reads: list[tuple[int, int]] = []  # every bus word the DUT reads
        env.ram.on_read.append(lambda address, length: self.dma_reads.append((address, length)))

    async def settle(self, bound: int | None = None) -> None:
        """Until no bus or stream is busy and the engine is idle for
        QUIET_CYCLES (held answers may stay owed), within ``bound`` cycles
        (default ``settle_bound``): a longer activity is a hang."""
        bound = self.settle_bound if bound is None else bound
        env, streams = self.env, self.env.streams
        start = env.cycle
        try:
            await env.until_quiet(QUIET_CYCLES, busy=lambda: not streams.source.idle() or streams.sink.active, timeout_cycles=bound + QUIET_CYCLES)
        except AssertionError:
            raise AssertionError(f"the RTL is still busy {bound} cycles after the last step: a hang") from None
        self.max_settle = max(self.max_settle, env.cycle - start - QUIET_CYCLES)

    def interrupts(self) -> int:
        return len(self.env.irq_cycles)

    @contextmanager
    def device_writes(self) -> Iterator[list[tuple[int, int]]]:
        writes: list[tuple[int, int]] = []

        def note(address: int, data: bytes) -> None:
            writes.append((address, len(data)))

        self.env.ram.on_write.append(note)  # (every run of strobed bytes the DUT wrote)
        try:
            yield writes
        finally:
            self.env.ram.on_write.remove(note)


async def rtl_target(dut) -> RtlTarget:
    params = rtl_parameters()
    want = {
        "NUM_QUEUES": hostile_target.NUM_QUEUES,
        "QUEUE_NUM_MAX": hostile_target.QUEUE_NUM_MAX,
        "INDIRECT_MAX": hostile_target.INDIRECT_MAX,
        "DMA_BASE": hostile_target.DMA_WINDOW[0],
        "DMA_SIZE": hostile_target.DMA_WINDOW[1],
    }
    assert {k: params[k] for k in want} == want, f"the build must have the hostile targets' parameters {want}"
    env = virtio_env(dut, HostileBackend(params["NUM_QUEUES"]), mem_size=hostile_target.MEM_SIZE)
    await env.start()
    return RtlTarget(env)


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
@cocotb.parametrize(name=[Param(n, n) for n in RTL_SCENARIOS])
async def hostile(dut, name):
    """One scenario on the RTL, then on the reference device: both must pass
    its checks, and what each showed must be the same."""
    target = await rtl_target(dut)
    got = await SCENARIOS[name].run(target)
    want = await SCENARIOS[name].run(ModelTarget())
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"observation {i}: RTL {g} != reference device {w}"
    assert len(got) == len(want), f"RTL made {len(got)} observations, the reference device {len(want)}"
    target.env.say(f"{name}: longest settling {target.max_settle} cycles")


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def hostile_settle_bound_catches_a_hang(dut):
    """The "no hang" check can fail: bus activity that does not stop (here the
    register bus kept busy) fails settle() at its bound, and settles once it stops."""
    target = await rtl_target(dut)
    hal = target.hal
    busy = True

    async def hammer() -> None:
        while busy:
            await hal.read(hal.base + 0x70)

    task = cocotb.start_soon(hammer())
    try:
        await target.settle(bound=300)
    except AssertionError as err:
        assert "300 cycles after the last step: a hang" in str(err), err
    else:
        raise AssertionError("settle() returned while the bus was busy")
    busy = False
    await task
    await target.settle(bound=300)


@cocotb.test(timeout_time=2_000, timeout_unit="ms")
async def hostile_fuzz(dut):
    """Random valid traffic mixed with random descriptor, avail-ring, used-event
    and register writes, on the RTL and the reference device over identical
    memories, compared after every operation (vio.hostile.fuzz)."""
    target = await rtl_target(dut)
    for seed in fuzz_seeds():
        run = await FuzzRun(seed, target).run()
        causes = ", ".join(Cause(c).name for c in sorted(run.broken_seen)) or "none"
        target.env.say(f"fuzz seed {seed}: {len(run.ops)} operations, {run.notifies} notifies, causes seen: {causes}; longest settling {target.max_settle} cycles")


# ------------------------------------------------------------------ runner
# the hostile targets' device: loopback personality, 2 queues of 16, DMA
# window = the whole 32-bit space (past guest memory: SLVERR)
PARAMS = {"NUM_QUEUES": hostile_target.NUM_QUEUES, "QUEUE_NUM_MAX": hostile_target.QUEUE_NUM_MAX, "AXI_DATA_WIDTH": 32}
FUZZ_ENV = {k: os.environ[k] for k in ("HOSTILE_SEEDS", "HOSTILE_SEED", "HOSTILE_STEPS") if k in os.environ}


@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_hostile_rtl(sim):
    build_dir = ROOT / "build" / "hostile" / f"{sim}-dw32-nq2-qmax16"
    try:
        results = build_and_test(sim, PARAMS, build_dir, __name__, extra_env=FUZZ_ENV)
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    assert not failed, f"{len(failed)} of {len(results)} cocotb tests failed:\n" + "\n".join(failed)
