"""Bus faults and resets on the RTL: the device survives them (hostile cases
18, 19, 21). The cocotb tests, then their pytest runner: one loopback build
per simulator (2 queues, QueueNumMax 16, 32 bits), in build/faults/<id>,
whose DMA window is twice the guest memory, so that a buffer past the
memory's end is inside the window and answers SLVERR, as the reference
device's case 21. ``FAULT_FULL=1`` adds a 128-bit Verilator build (where a
descriptor is one beat), ``WAVES=1`` records waves.

- ``faults_read`` / ``faults_write``: the fault matrix. Each case injects one
  SLVERR or DECERR (the kit's fault hook, vio.cocotb.faults) on a chosen word of one access class of a
  chain (descriptor, indirect table, avail.idx, avail ring entry, used_event,
  readable buffer; used element, used.idx, avail_event, writable buffer) and
  checks: every burst the device issued is finished (the protocol checker
  has nothing outstanding and saw no violation), no used entry for the chain,
  DEVICE_ERROR = BUS_ERROR with the queue and info 0 (read) / 1 (write),
  NEEDS_RESET in Status, InterruptStatus = config change only, then silence
  (no m_axi request, no interrupt, no backend request) for QUIET cycles while
  the driver notifies every queue and the backend wakes them, and recovery:
  Status=0, a new init and a transfer checked byte for byte.
- ``faults_match_reference``: a buffer past the end of guest memory (read and
  write) breaks the RTL exactly as the reference device (DEVICE_ERROR,
  Status, InterruptStatus, used.idx).
- ``reset_status_random`` / ``reset_pfn_random``: Status=0, or QueuePFN=0 on a
  live queue, at a random cycle of sustained traffic (random gaps, memory
  latency, answers held or not), per seed of ``FAULT_SEEDS``.
- ``protocol_checker_catches``: the AXI protocol checker reports a response
  no burst asked for (it can fail a test).

``FAULT_SEEDS``: seeds of the reset tests, "1,2,5" or "1-20" (default: seed
``VIO_SEED``, or ``FAULT_SEEDS_PER_RUN`` seeds from its slice, as `make regress` runs it).
"""

import os
import random
import warnings
from dataclasses import dataclass

import cocotb
import pytest
from cocotb import Param
from cocotb.triggers import RisingEdge, SimTimeoutError, with_timeout
from cocotbext.axi.axi_channels import AxiBTransaction
from cocotbext.axi.constants import AxiResp

from tb.runner import ROOT, SimulationError, build_and_test
from tb.top import rtl_parameters, virtio_env
from vio import VioDriver, VioIov, VioTransfer
from vio import constants as C
from vio.cocotb.clock import DEFAULT_PERIOD_NS as CLOCK_PERIOD_NS
from vio.cocotb.env import DEFAULT_MEM_SIZE, personality_parameters
from vio.cocotb.faults import Fault, FaultPlan, ring_ranges
from vio.cocotb.guest_ram import POISON
from vio.cocotb.waits import within
from vio.device.loopback import LoopbackBackend, loopback_answer
from vio.drivers.base import ClassDriver
from vio.ring import DESC_SIZE, Desc

from .loopback_traffic import LoopbackTraffic, loopback_queues, loopback_rounds

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
ANY_LAYOUT = 1 << C.VIRTIO_F_ANY_LAYOUT
NOTIFY_ON_EMPTY = 1 << C.VIRTIO_F_NOTIFY_ON_EMPTY
# no NOTIFY_ON_EMPTY in the matrix: with it the interrupt decision of a lone
# chain reads nothing, and the used_event case needs that read
FEATURES = ANY_LAYOUT | INDIRECT | EVENT_IDX
ALL_RING = FEATURES | NOTIFY_ON_EMPTY
TIMEOUT_NS = 5_000_000
TEST_TIMEOUT_MS = 10  # simulated; a whole matrix takes about 0.6 ms: a hang, not a slow test
SETTLE = 20_000  # cycles within which the buses must fall quiet
QUIET = 1000  # cycles of silence demanded of a broken device, and after a reset
BREAK_BOUND = 5000  # cycles from the fault to the interrupt, at most
BUS_ERROR = int(C.Cause.BUS_ERROR)
READ_BYTES = 200  # the readable buffer: several bursts at 32 bits
WRITE_BYTES = 200
SKEW = 3  # buffers start 3 bytes into a bus word: partial first and last beats


def seeds() -> list[int]:
    """FAULT_SEEDS ("1,4" or "1-20"); unset: FAULT_SEEDS_PER_RUN seeds (default
    1) from the run's seed VIO_SEED's slice, as a regression's runs need."""
    per_run = int(os.environ.get("FAULT_SEEDS_PER_RUN", "1"))
    first = 1 + (int(os.environ.get("VIO_SEED", "1")) - 1) * per_run
    text = os.environ.get("FAULT_SEEDS") or f"{first}-{first + per_run - 1}"
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


# ---------------------------------------------------------------- the matrix
@dataclass(frozen=True)
class Case:
    """Where the fault hits: an access class of the chain, a word of it, a response."""

    where: str
    beat: str
    resp: AxiResp

    @property
    def direction(self) -> str:
        return "write" if self.where in ("used_elem", "used_idx", "avail_event", "buf_write") else "read"

    @property
    def name(self) -> str:
        return f"{self.where}-{self.beat}-{self.resp.name}"

    @property
    def posts_used(self) -> bool:
        """used_event is read for the interrupt decision, after used.idx: the chain is published."""
        return self.where == "used_event"

    @property
    def reaches_backend(self) -> bool:
        """The request packet went out whole before the fault (the answer's write fails)."""
        return self.where in ("buf_write", "used_elem", "used_idx", "used_event")


BEATS_OF = {
    "desc": ("first", "middle", "last"),  # the head descriptor, 16 bytes
    "indirect": ("first", "middle", "last"),  # a 3-entry table, 48 bytes
    "avail_idx": ("first",),
    "avail_ring": ("first",),
    "used_event": ("first",),
    "buf_read": ("first", "middle", "last", "all"),
    "used_elem": ("first", "last"),  # 8 bytes
    "used_idx": ("first",),
    "avail_event": ("first",),
    "buf_write": ("first", "middle", "last", "all"),
}


def matrix(direction: str) -> list[Case]:
    cases = [Case(where, beat, resp) for where, beats in BEATS_OF.items() for beat in beats for resp in (AxiResp.SLVERR, AxiResp.DECERR)]
    return [case for case in cases if case.direction == direction]


class QueueGatedLoopback(LoopbackBackend):
    """A loopback backend whose queues can also be closed one by one
    (``backend_ready[q]`` low), to leave a notified chain waiting."""

    def __init__(self, num_queues: int):
        super().__init__(num_queues)
        self.closed: set[int] = set()

    def ready(self, queue: int) -> bool:
        return super().ready(queue) and queue not in self.closed

    def open(self, queue: int) -> None:
        self.closed.discard(queue)
        self._wake(queue)


class FaultRig:
    """One DUT with a fault plan, the protocol checker and a loopback backend."""

    def __init__(self, dut, *, pause=None, mem_latency=0, seed=1):
        self.params = rtl_parameters()
        self.plan = FaultPlan()
        self.backend = QueueGatedLoopback(self.params["NUM_QUEUES"])
        self.env = virtio_env(dut, self.backend, pause=pause, mem_latency=mem_latency, seed=seed, faults=self.plan, protocol=True)
        self.check = self.env.protocol
        self.rng = random.Random(seed)
        self.traffic = LoopbackTraffic(self.env.mem, random.Random(seed + 1))
        self.figures: list[tuple[str, str, int]] = []

    async def reg(self, offset: int) -> int:
        return await self.env.hal.read(self.env.base + offset)

    async def set_reg(self, offset: int, value: int) -> None:
        await self.env.hal.write(self.env.base + offset, value)

    def driver(self, features: int = FEATURES) -> ClassDriver:
        return ClassDriver(self.env.vio_driver(loopback_queues(self.params, 16), features), timeout_ns=TIMEOUT_NS)

    async def until(self, cond, wake, what: str, bound: int) -> None:
        """Until ``cond()`` holds, looked at again whenever ``wake()`` (an
        awaitable) fires, within ``bound`` cycles."""

        async def wait() -> None:
            while not cond():
                await wake()

        await within(wait(), bound * CLOCK_PERIOD_NS, f"{what}: not within {bound} cycles")

    async def settle(self) -> None:
        """Quiet buses (within SETTLE cycles), and nothing left in flight on m_axi."""
        try:
            await with_timeout(self.env.quiesce(), SETTLE * CLOCK_PERIOD_NS, "ns")
        except SimTimeoutError:
            raise AssertionError(
                f"not quiet after {SETTLE} cycles: {self.check.reads_outstanding} reads, "
                f"{self.check.writes_outstanding} writes outstanding, engine_idle {int(self.env.device_idle())}"
            ) from None
        assert self.check.idle(), (
            f"bursts left unfinished: {self.check.reads_outstanding} reads, {self.check.writes_outstanding} writes"
        )

    async def recovered(self, drv: ClassDriver) -> None:
        """Transfers after an init work, byte for byte: a random one, and one
        whose buffers straddle 4 KiB boundaries (bursts must split there; the
        protocol checker watches)."""
        mem = self.env.mem
        p = self.traffic.transfer(0, max_iov=4)
        await drv.vio.submit(p.tfr)
        block = mem.alloc(3 * 4096, 4096)
        src, dst = block + 4096 - 37, block + 2 * 4096 - 45
        data = self.rng.randbytes(100)
        mem.write(src, data)
        mem.write(dst, b"\x55" * 100)
        across = VioTransfer(0, [VioIov(src, 100), VioIov(dst, 100, 1)])
        await drv.vio.submit(across)
        await drv.wait(p.tfr, across, timeout_ns=TIMEOUT_NS)
        self.traffic.check(p)
        assert across.actual == 100 and mem.read(dst, 100) == loopback_answer(0, data, 100), "a transfer across 4 KiB"
        mem.free(block)


def _buffer(mem, size: int, fill: bytes) -> tuple[int, int]:
    """(block, address) of a buffer SKEW bytes into a 64-byte block, with 0xAA around."""
    block = mem.alloc(size + 64 + 64, 64)
    mem.write(block, b"\xaa" * (size + 128))
    mem.write(block + 64 + SKEW, fill)
    return block, block + 64 + SKEW


async def fault_case(rig: FaultRig, case: Case) -> None:
    env, mem, plan, check = rig.env, rig.env.mem, rig.plan, rig.check
    drv = rig.driver()
    vio: VioDriver = drv.vio
    await drv.start()
    q = vio.queue[0]
    q.indirect = case.where == "indirect"
    lay = q.layout
    ranges = ring_ranges(lay)

    # one chain: a readable buffer, a writable one (and a small writable one: 3 descriptors)
    data = rig.rng.randbytes(READ_BYTES)
    rblock, raddr = _buffer(mem, READ_BYTES, data)
    wblock, waddr = _buffer(mem, WRITE_BYTES, b"\x55" * WRITE_BYTES)
    xblock, xaddr = _buffer(mem, 24, b"\x55" * 24)
    iov = [VioIov(raddr, READ_BYTES), VioIov(waddr, WRITE_BYTES, 1), VioIov(xaddr, 24, 1)]
    tfr = VioTransfer(0, iov)
    # a chain on queue 1, notified before the fault, its backend_ready bit low:
    # the broken device must not pop it when the bit rises later
    rig.backend.closed.add(1)
    env.streams.refresh()
    waiting = rig.traffic.transfer(1, max_iov=3)
    await vio.submit(waiting.tfr)
    await rig.set_reg(C.VIRTIO_MMIO_QUEUE_NOTIFY, 1)
    rig.backend.gate = True  # the device pops nothing until the fault is armed
    env.streams.refresh()
    await vio.submit(tfr)
    posted = q.posted[tfr.head]
    used_idx = mem.read16(lay.used_idx)
    slot = lay.used_ring(used_idx % q.num)
    used_elem = mem.read(slot, 8)
    where = {
        "desc": (lay.desc_addr(tfr.head), lay.desc_addr(tfr.head) + DESC_SIZE),
        "indirect": (posted.indirect_table or 0, (posted.indirect_table or 0) + 3 * DESC_SIZE),
        "avail_idx": ranges["avail_idx"],
        "avail_ring": (lay.avail_ring((q.avail_idx - 1) % q.num), lay.avail_ring((q.avail_idx - 1) % q.num) + 2),
        "used_event": ranges["used_event"],
        "buf_read": (raddr, raddr + READ_BYTES),
        "used_elem": (slot, slot + 8),
        "used_idx": ranges["used_idx"],
        "avail_event": ranges["avail_event"],
        "buf_write": (waddr, waddr + WRITE_BYTES),
    }[case.where]
    assert where[0], f"{case.name}: no indirect table was used"
    fault = plan.add(Fault(case.direction, *where, resp=case.resp, beat=case.beat, shots=None if case.beat == "all" else 1, label=case.where))
    requests, aborted, edges = env.streams.requests, env.streams.aborted, len(env.irq_cycles)

    rig.backend.open_gate()  # backend_ready rises: the device looks at the queue
    env.streams.refresh()
    await rig.until(lambda: fault.hits, plan.next_hit, f"{case.name}: the fault never fired ({fault})", 20_000)
    hit = fault.hits[0]
    await rig.until(lambda: env.hal.irq(0), lambda: RisingEdge(env.irq), f"{case.name}: no interrupt after the fault at {hit.where}", BREAK_BOUND)
    rig.figures.append((case.name, hit.where, env.irq_cycles[-1] - hit.cycle))
    plan.clear()
    await rig.settle()

    # what the device shows
    error = await rig.reg(C.VIO_MMIO_DEVICE_ERROR)
    info = 1 if case.direction == "write" else 0
    want = info << 16 | 0 << 8 | BUS_ERROR
    assert error == want, f"{case.name}: DEVICE_ERROR {error:#x}, expected {want:#x} (BUS_ERROR, queue 0, info {info})"
    status = await rig.reg(C.VIRTIO_MMIO_STATUS)
    assert status & C.VIRTIO_CONFIG_S_NEEDS_RESET, f"{case.name}: Status {status:#x} without NEEDS_RESET"
    isr = await rig.reg(C.VIRTIO_MMIO_INTERRUPT_STATUS)
    assert isr == C.VIRTIO_MMIO_INT_CONFIG, f"{case.name}: InterruptStatus {isr:#x}, expected the config change bit only"
    assert len(env.irq_cycles) == edges + 1, f"{case.name}: {len(env.irq_cycles) - edges} interrupts, expected one"
    # the chain: no used entry (used_event: read after publishing, so it has one)
    now_idx = mem.read16(lay.used_idx)
    if case.posts_used:
        assert now_idx == (used_idx + 1) & 0xFFFF, f"{case.name}: used.idx {now_idx}, expected {used_idx + 1}"
    else:
        assert now_idx == used_idx, f"{case.name}: used.idx moved {used_idx} -> {now_idx}: a used entry for the failed chain"
        if case.where != "used_idx":  # the used element is written before used.idx fails
            assert mem.read(slot, 8) == used_elem, f"{case.name}: the used element of the failed chain was written"
    assert mem.read(raddr, READ_BYTES) == data, f"{case.name}: the readable buffer changed"
    for block, size in ((rblock, READ_BYTES), (wblock, WRITE_BYTES), (xblock, 24)):
        around = mem.read(block, 64 + SKEW) + mem.read(block + 64 + SKEW + size, 64 - SKEW)
        assert around == b"\xaa" * 128, f"{case.name}: bytes around a buffer at {block + 64 + SKEW:#x} changed"
    if case.where != "buf_write":
        expect = loopback_answer(0, data, WRITE_BYTES + 24) if case.reaches_backend else b"\x55" * (WRITE_BYTES + 24)
        got = mem.read(waddr, WRITE_BYTES) + mem.read(xaddr, 24)
        assert got == expect, f"{case.name}: the writable buffers hold {got[:16].hex()}..., expected {expect[:16].hex()}..."
    assert bytes([POISON]) * 4 not in mem.read(waddr, WRITE_BYTES), f"{case.name}: poisoned read data reached memory"
    if case.reaches_backend:
        assert env.streams.requests == requests + 1, f"{case.name}: {env.streams.requests - requests} requests, expected 1"
    else:
        assert env.streams.requests == requests, f"{case.name}: the failed chain reached the backend"
    if case.where == "buf_read":
        assert env.streams.aborted == aborted + 1, f"{case.name}: the request packet was not closed with an abort beat"

    # quiet until reset: acknowledged, notified on every queue, the backend
    # waking them (queue 1's chain, notified before the fault, now ready too)
    await rig.set_reg(C.VIRTIO_MMIO_INTERRUPT_ACK, isr)
    assert not env.hal.irq(0), f"{case.name}: irq still high after the acknowledge"
    busy, edges, requests = check.request_cycles, len(env.irq_cycles), env.streams.requests
    p = rig.traffic.transfer(0, max_iov=3)
    await vio.submit(p.tfr)
    rig.backend.open(1)
    env.streams.refresh()
    for qi in range(len(vio.queue)):
        await rig.set_reg(C.VIRTIO_MMIO_QUEUE_NOTIFY, qi)
    rig.backend.gate = True
    env.streams.refresh()
    await env.cycles(10)
    rig.backend.open_gate()
    env.streams.refresh()
    await env.cycles(QUIET)
    assert check.request_cycles == busy, f"{case.name}: the broken device went on the bus ({check.request_cycles - busy} request cycles)"
    assert len(env.irq_cycles) == edges and not env.hal.irq(0), f"{case.name}: an interrupt from the broken device"
    assert env.streams.requests == requests, f"{case.name}: the broken device popped a chain"
    assert await rig.reg(C.VIO_MMIO_DEVICE_ERROR) == want, f"{case.name}: the first cause was not kept"
    for block in (rblock, wblock, xblock, *p.blocks, *waiting.blocks):
        mem.free(block)

    # recovery: Status=0, init, a transfer that works
    await drv.start()
    assert await rig.reg(C.VIO_MMIO_DEVICE_ERROR) == 0
    await rig.recovered(drv)
    await rig.settle()
    check.check()


async def run_matrix(dut, direction: str) -> None:
    rig = FaultRig(dut)
    await rig.env.start()
    cases = matrix(direction)
    for case in cases:
        rig.env.say(f"case {case.name}")
        await fault_case(rig, case)
    rig.env.say(f"{len(cases)} {direction} fault cases; cycles from the failing beat to the interrupt:")
    for name, where, cycles in rig.figures:
        print(f"  {name:<28} {cycles:>4}  {where}", flush=True)
    rig.check.check()


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def faults_read(dut):
    """SLVERR/DECERR on reads of each access class and beat: broken, quiet, recovered."""
    await run_matrix(dut, "read")


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def faults_write(dut):
    """SLVERR/DECERR on writes of each access class and beat: broken, quiet, recovered."""
    await run_matrix(dut, "write")


# ------------------------------------------------ against the reference device
async def _past_memory(hal, base: int, writable: bool, params: dict) -> tuple[int, int, int, int]:
    """Init, one chain whose buffer lies past guest memory (inside the DMA
    window), notify; (DEVICE_ERROR, Status, InterruptStatus, used.idx)."""
    vio = VioDriver(base, drv_features=FEATURES, queue=loopback_queues(params, 16), hal=hal)
    await vio.init()
    # by hand: the driver model refuses a buffer outside guest memory
    q, mem = vio.queue[0], hal.mem
    lay = q.layout
    mem.write(lay.desc_addr(0), Desc(mem.size + 0x1000, 64, C.VRING_DESC_F_WRITE if writable else 0, 0).pack())
    mem.write16(lay.avail_ring(q.avail_idx % q.num), 0)
    mem.write16(lay.avail_idx, (q.avail_idx + 1) & 0xFFFF)
    await vio.write_reg(C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
    deadline = hal.now_ns() + 200_000
    while not hal.irq(0) and hal.now_ns() < deadline:
        await hal.wait_irq(0, 1_000)
    shown = [await vio.read_reg(r) for r in (C.VIO_MMIO_DEVICE_ERROR, C.VIRTIO_MMIO_STATUS, C.VIRTIO_MMIO_INTERRUPT_STATUS)]
    used = hal.mem.read16(vio.queue[0].layout.used_idx)
    await vio.reset()
    return (*shown, used)


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
@cocotb.parametrize(writable=[Param(False, "read"), Param(True, "write")])
async def faults_match_reference(dut, writable):
    """Case 21 as the reference device has it: a buffer past the end of guest
    memory answers SLVERR; the RTL shows what the model shows."""
    rig = FaultRig(dut)
    env = rig.env
    assert env.params["DMA_SIZE"] > env.mem.size, "this build's DMA window must reach past guest memory"
    await env.start()
    model_hal, _ = env.reference(LoopbackBackend(rig.params["NUM_QUEUES"]))
    want = await _past_memory(model_hal, env.base, writable, rig.params)
    got = await _past_memory(env.hal, env.base, writable, rig.params)
    assert want[0] & 0xFFFF == BUS_ERROR, f"the reference device says {want}"
    assert got[0] >> 16 == int(writable), f"RTL DEVICE_ERROR {got[0]:#x}: info must be {int(writable)} (0 read, 1 write)"
    assert got == want, (
        f"RTL (DEVICE_ERROR, Status, ISR, used.idx) {got} != reference device {want}"
    )
    await rig.settle()
    drv = rig.driver()
    await drv.start()
    await rig.recovered(drv)
    rig.check.check()


# ----------------------------------------------------------------- resets
async def _traffic(rig: FaultRig, vio: VioDriver, per_queue: int) -> list:
    batch = []
    for q in vio.queue:
        q.indirect = rig.rng.choice((None, True, False))
        for _ in range(per_queue):
            p = rig.traffic.transfer(q.index, max_iov=min(6, q.num))
            await vio.submit(p.tfr)
            batch.append(p)
    return batch


def _untouched(rig: FaultRig, batch: list, what: str) -> None:
    """No device write outside the writable buffers: guards and readable bytes as posted."""
    for p in batch:
        for addr, data in p.guards:
            assert rig.env.mem.read(addr, len(data)) == data, f"{what}: bytes at {addr:#x} (guard or readable buffer) changed"


def _free(rig: FaultRig, batch: list) -> None:
    for p in batch:
        for block in p.blocks:
            rig.env.mem.free(block)


async def reset_rounds(dut, mode: str) -> None:
    """Per seed: sustained traffic with gaps and latency; at a random cycle,
    Status=0 (mode "status") or QueuePFN=0 on a live queue (mode "pfn")."""
    mid_dma = 0
    drains: list[int] = []
    # one environment for all seeds (bus models live as long as the test):
    # each seed sets its gaps, memory latency and traffic, then resets the DUT
    rig = FaultRig(dut, mem_latency=1)
    env, check, mem = rig.env, rig.check, rig.env.mem
    for seed in seeds():
        rng = random.Random(seed * 7919 + len(mode))
        env.set_pause(rng.choice((0.1, 0.25)), seed)
        env.ram.read_if.latency = env.ram.write_if.latency = rng.choice((0, 3, 12))
        rig.rng = random.Random(seed)
        rig.traffic = LoopbackTraffic(mem, random.Random(seed + 1))
        await env.start()
        drv = rig.driver(ALL_RING)
        vio = drv.vio
        for rnd in range(3):
            what = f"seed {seed} round {rnd} ({mode})"
            await drv.start()
            rig.backend.hold = rng.random() < 0.3 and mode == "status"
            batch = await _traffic(rig, vio, rng.randint(1, 3))
            await env.cycles(rng.randrange(1, 700))
            busy = not check.idle()
            mid_dma += busy
            start = env.cycle
            if mode == "status":
                writer = cocotb.start_soon(rig.set_reg(C.VIRTIO_MMIO_STATUS, 0))
                seen = []  # Status reads racing the reset: (value, engine idle when it returned)
                while not writer.done():
                    value = await rig.reg(C.VIRTIO_MMIO_STATUS)
                    seen.append((value, check.idle()))
                await writer
                drains.append(env.cycle - start)
                assert check.idle(), f"{what}: Status=0 answered with bursts in flight"
                assert all(idle for value, idle in seen if value == 0), f"{what}: Status read 0 before the engine was idle: {seen}"
                for reg in (C.VIRTIO_MMIO_STATUS, C.VIRTIO_MMIO_INTERRUPT_STATUS, C.VIO_MMIO_DEVICE_ERROR):
                    assert await rig.reg(reg) == 0, f"{what}: register {reg:#x} not 0 after the reset"
                assert not env.hal.irq(0), f"{what}: irq high after the reset"
                cycles, edges, writes = check.request_cycles, len(env.irq_cycles), len(check.writes)
                await env.cycles(QUIET)
                assert check.request_cycles == cycles, f"{what}: DMA after the reset ({check.request_cycles - cycles} request cycles)"
                assert len(env.irq_cycles) == edges and not env.hal.irq(0), f"{what}: an interrupt after the reset"
                assert len(check.writes) == writes
            else:
                stop = rng.randrange(len(vio.queue))
                q = vio.queue[stop]
                lay = q.layout
                ring = (lay.base, lay.end)
                await rig.set_reg(C.VIRTIO_MMIO_QUEUE_SEL, stop)
                await rig.set_reg(C.VIRTIO_MMIO_QUEUE_PFN, 0)
                stopped_at = env.cycle
                drains.append(stopped_at - start)
                assert await rig.reg(C.VIRTIO_MMIO_QUEUE_PFN) == 0, f"{what}: QueuePFN of queue {stop} not 0 after the stop"
                frozen = mem.read16(lay.used_idx)
                others = [p for p in batch if p.tfr.queue != stop]
                theirs = [p for p in batch if p.tfr.queue == stop]
                await drv.wait(*(p.tfr for p in others), timeout_ns=TIMEOUT_NS)
                for p in others:
                    rig.traffic.check(p)  # the other queues go on, byte for byte (frees their blocks)
                await rig.settle()
                assert mem.read16(lay.used_idx) == frozen, f"{what}: used.idx of the stopped queue {stop} moved"
                spans = [ring] + [(v.buffer, v.buffer + v.size) for p in theirs for v in p.tfr.iov]
                late = [(c, a) for c, a, _ in check.writes + check.reads if c > stopped_at and any(lo <= a < hi for lo, hi in spans)]
                assert not late, f"{what}: DMA on the stopped queue {stop} after QueuePFN=0: {late[:4]}"
                assert await rig.reg(C.VIO_MMIO_DEVICE_ERROR) == 0, f"{what}: the stop broke the device"
                _untouched(rig, theirs, what)
                batch = theirs
            _untouched(rig, batch, what)
            _free(rig, batch)
            rig.backend.hold = False
        await drv.start()
        await loopback_rounds(drv, rig.traffic, rounds=1)
        await rig.settle()
        check.check()
    env.say(f"{mode}: {len(drains)} resets, {mid_dma} during DMA; cycles from the write to its response: "
            f"max {max(drains)}, mean {sum(drains) / len(drains):.0f}")  # fmt: skip
    assert mid_dma, f"no {mode} reset landed while the device was on the bus"


@cocotb.test(timeout_time=TEST_TIMEOUT_MS * len(seeds()), timeout_unit="ms")
async def reset_status_random(dut):
    """Status=0 at random cycles of traffic: no protocol violation, no burst
    left, Status 0 only once idle, no interrupt or DMA afterwards, re-init works."""
    await reset_rounds(dut, "status")


@cocotb.test(timeout_time=TEST_TIMEOUT_MS * len(seeds()), timeout_unit="ms")
async def reset_pfn_random(dut):
    """QueuePFN=0 on a live queue at random cycles of traffic: the queue stops
    (no DMA on it afterwards, used.idx frozen), the others go on, re-init works."""
    await reset_rounds(dut, "pfn")


# ------------------------------------------------------- the checker itself
@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def protocol_checker_catches(dut):
    """The protocol checker fails a test: a B response and an R beat that no
    burst asked for, sent by the memory model on an idle device, are reported."""
    rig = FaultRig(dut)
    env, check = rig.env, rig.check
    await env.start()
    assert check.idle() and not check.errors
    await env.ram.write_if.b_channel.send(AxiBTransaction(bid=0, bresp=AxiResp.OKAY))  # BREADY is always high: taken at once
    await env.cycles(5)
    assert any("B response with no write burst" in e for e in check.errors), check.errors
    try:
        check.check()
        raise AssertionError("check() passed with a violation recorded")
    except AssertionError as err:
        assert "AXI protocol violation" in str(err), err


# ------------------------------------------------------------------ runner
FULL = os.environ.get("FAULT_FULL", "0") == "1"
WAVES = os.environ.get("WAVES", "0") == "1"
BUILDS = [("verilator", 32), ("icarus", 32)] + ([("verilator", 128)] if FULL else [])


def parameters(width: int) -> dict[str, int]:
    params = personality_parameters(LoopbackBackend(2))
    params.update(AXI_DATA_WIDTH=width, QUEUE_NUM_MAX=16, DMA_SIZE=2 * DEFAULT_MEM_SIZE)
    return params


@pytest.mark.parametrize("build", BUILDS, ids=[f"{s}-dw{w}" for s, w in BUILDS])
def test_faults(build):
    sim, width = build
    build_dir = ROOT / "build" / "faults" / f"{sim}-dw{width}{'-waves' if WAVES else ''}"
    env = {"FAULT_SEEDS": os.environ.get("FAULT_SEEDS", "1")}
    try:
        results = build_and_test(sim, parameters(width), build_dir, __name__, waves=WAVES, extra_env=env)
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{n}: {text}" for n, text in results if text is not None]
    assert not failed, f"{len(failed)} of {len(results)} cocotb tests failed:\n" + "\n".join(failed)
