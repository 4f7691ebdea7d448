"""Scoreboards for the RTL virtio-mmio device: the reference device predicts,
monitors observe the RTL, scoreboards compare (docs/architecture.md).

Layers, as pyuvm's TinyALU (without pyuvm):

- stimulus: the driver model (:class:`vio.VioDriver`) over a :class:`PredictedHal`,
  which sends every register access to the DUT and, mirrored, to the
  :class:`Predictor`; the driver's guest memory is a :class:`MirroredMemory`
  whose writes also land in the predictor's own memory.
- predictor: a :class:`vio.device.ReferenceDevice` with its own memory and its
  own backend instance (same class, same inputs). It predicts, per queue, the
  used elements (id, len), the bytes written into the writable buffers, the
  requests its backend receives, and the interrupt decision of every used entry.
  It never reads a DUT signal.
- monitors, which never predict: :class:`AxiWriteMonitor` (m_axi AW/W/B, with
  strobes), :class:`UsedRingObserver` (used elements and used.idx as the DUT
  writes them, decoded from the write bursts), :class:`IrqMonitor` (every edge
  of ``irq``), plus the RTL backend's own log of what arrived over m_axis.
- scoreboards, compared in ``check()``: :class:`CompletionScoreboard`,
  :class:`DataScoreboard`, :class:`MemoryScoreboard`,
  :class:`InterruptScoreboard`; :class:`Scoreboards` builds and wires all four.

Pacing: the reference device handles a notify to the end inside the register
write; the RTL works afterwards. :class:`PredictedHal` therefore waits after each
QueueNotify until the DUT is quiescent (a ``settle`` coroutine supplied by the
bench) before the driver goes on, and can hold notifies back while a batch of
transfers is posted (:meth:`PredictedHal.batch`: one notify per queue at the end),
so that the RTL sees several chains per notify. Within a batch the RTL is free
to interleave queues and to pop ahead of answers; the comparisons are per queue
and the interrupt timeline follows the order the DUT wrote its used.idx values.

Usage::

    predictor = Predictor(LoopbackBackend(nq), mem_size, queue_num_max=16, ...)
    mem = MirroredMemory(mem_size, store=ram_bytes, mirror=predictor.mem)
    hal = PredictedHal(CocotbHal(axil, dut.irq, mem), predictor, clock=clock, settle=bench.settle)
    sb = Scoreboards(dut, predictor, clock=clock)
    sb.start()
    drv = VioDriver(0, drv_features=..., queue=..., hal=hal)
    sb.attach(hal, drv, rtl_backend.received)
    ... await drv.init(); traffic ...
    sb.check()              # AssertionError naming every discrepancy of every scoreboard
"""

from __future__ import annotations

import bisect
import contextlib
import struct
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import RisingEdge
from cocotb.utils import get_sim_time

from vio import constants as C
from vio.device.backend import Backend
from vio.device.mmio import ReferenceDevice
from vio.device.virtqueue import Chain, DeviceQueue
from vio.driver import VIO_IOV_FLAGS_WRITE, VioDriver, VioTransfer
from vio.hal import VioHal
from vio.memory import GuestMemory
from vio.oracle import OracleViolation, Region, ShadowMemory, landmark_regions, used_ring_region
from vio.ring import USED_ELEM_SIZE, VringLayout, u16

from .waits import until_rise

__all__ = [
    "AxiRead",
    "AxiReadMonitor",
    "AxiWrite",
    "AxiWriteMonitor",
    "CompletionScoreboard",
    "CycleClock",
    "DataScoreboard",
    "InterruptScoreboard",
    "IrqMonitor",
    "MemoryScoreboard",
    "MirroredMemory",
    "ObservedUse",
    "PredictedHal",
    "PredictedUse",
    "Predictor",
    "RegisterAccess",
    "Scoreboards",
    "UsedRingObserver",
    "RISE_BOUND_CYCLES",
    "DROP_BOUND_CYCLES",
]

# Interrupt timing bounds, in clock cycles (measured: see tests/test_scoreboards.py
# and the clean run's log line "interrupt latencies").
# rise: irq high this many cycles after the decision's last input at the latest:
#   the B response of the used.idx write, or the response of the decision read
#   that follows it (used_event or avail.flags; none when NOTIFY_ON_EMPTY decides).
#   Reads issued earlier (the engine reads ahead for other chains) may hold the
#   decision read up on the in-order R channel: that wait is the bus's, not the
#   decision's, and is not counted.
RISE_BOUND_CYCLES = 4
# issue: the decision read is among the first reads asked for after that B: at
#   most this many ARs before it (the one the bus may be holding back when the B
#   comes and one issued in that cycle); the read engine serves the decision
#   first. Counted in ARs, not cycles, so the bus's own AR backpressure does not count.
ISSUE_BOUND_ARS = 2
# drop: from the cycle the InterruptACK write's response reached the driver to irq low.
DROP_BOUND_CYCLES = 2

_SHOWN = 12  # lines per kind of discrepancy spelled out in a message


def _cap(lines: list[str], shown: int = _SHOWN) -> list[str]:
    if len(lines) <= shown:
        return lines
    return lines[:shown] + [f"... and {len(lines) - shown} more"]


class CycleClock:
    """Clock cycles since time 0, from simulation time (rising edges at multiples of the period)."""

    def __init__(self, period_ns: int = 10):
        self.period_ns = period_ns

    def now(self) -> int:
        return int(get_sim_time(unit="ns")) // self.period_ns


# =========================================================== the predictor


@dataclass
class PredictedUse:
    """One used entry as the reference device publishes it."""

    queue: int
    seq: int  # k-th used entry of this queue
    head: int
    length: int  # used.len
    writable: list[tuple[int, int]]  # the chain's writable buffers (addr, len)
    contents: list[bytes]  # each writable buffer, byte for byte, after the device's write
    used_idx: int  # used.idx after this entry
    interrupt: bool  # the interrupt decision for this entry
    reason: str  # why (the rule that decided)
    isr_after: int  # InterruptStatus after this entry


@dataclass
class _Accepted:
    queue: int
    head: int
    chain: Chain


class _PredictingDevice(ReferenceDevice):
    """The reference device, unchanged, with a record of every completion and decision."""

    def __init__(self, predictor: "Predictor", *args, **kwargs):
        self._predictor = predictor
        self._decision: tuple[bool, str] | None = None
        super().__init__(*args, **kwargs)

    def _complete(self, q: DeviceQueue, chain: Chain) -> None:
        self._decision = None
        super()._complete(q, chain)
        self._predictor._completed(q, chain, self._decision)

    def _should_interrupt(self, q: DeviceQueue, old: int, new: int) -> bool:
        result = super()._should_interrupt(q, old, new)
        assert q.layout is not None
        noe = self._has(C.VIRTIO_F_NOTIFY_ON_EMPTY)
        if noe and not q.in_flight and q.avail_empty():
            why = "NOTIFY_ON_EMPTY: nothing in flight and the avail ring used up"
        else:
            if self._has(C.VIRTIO_RING_F_EVENT_IDX):
                event = self.mem.read16(q.layout.used_event)
                why = f"EVENT_IDX: used_event {event}, used.idx {old} -> {new}" + (" passes it" if result else " does not pass it")
            else:
                flag = self.mem.read16(q.layout.avail_flags) & C.VRING_AVAIL_F_NO_INTERRUPT
                why = "avail.flags NO_INTERRUPT " + ("set" if flag else "clear")
            if noe:
                why = (
                    f"NOTIFY_ON_EMPTY not met: {len(q.in_flight)} more in flight, "
                    f"avail ring {'used up' if q.avail_empty() else 'not used up'}; " + why
                )
        self._decision = (result, why)
        return result


class Predictor:
    """A reference device fed the driver's register writes and memory writes.

    ``backend`` is the predictor's own backend instance (the same class and
    inputs as the one behind the RTL's streams). ``device_kw`` are the
    :class:`ReferenceDevice` keywords matching the RTL's parameters.
    """

    def __init__(self, backend: Backend, mem_size: int, *, mem_base: int = 0, **device_kw):
        self.backend = backend
        self.mem = GuestMemory(mem_size, mem_base)
        self.uses: dict[int, list[PredictedUse]] = defaultdict(list)
        self.requests: dict[int, list[tuple[bytes, int]]] = defaultdict(list)
        self.accepted: list[_Accepted] = []
        self.version = 0  # bumped whenever the allowed regions change
        self.listeners: list[Callable[[int, VringLayout | None, int], None]] = []  # (queue, layout or None, used_idx)
        self._live: dict[int, VringLayout] = {}
        request = backend.request

        def logged_request(queue: int, readable: bytes, writable_len: int) -> bytes | None:
            self.requests[queue].append((bytes(readable), writable_len))
            return request(queue, readable, writable_len)

        backend.request = logged_request  # type: ignore[method-assign]
        self.device = _PredictingDevice(self, backend, self.mem, **device_kw)

    # --- inputs: what the driver does ---
    def mirror(self, addr: int, data: bytes) -> None:
        """A driver write into guest memory."""
        self.mem.write(addr, data)

    def read(self, offset: int, size: int = 4) -> int:
        """The register value the reference device gives now (no side effects)."""
        return self.device.read(offset, size)

    def write(self, offset: int, value: int, size: int = 4) -> None:
        """A driver register write."""
        dev = self.device
        if size == 4 and offset == C.VIRTIO_MMIO_STATUS and value == 0:
            self.accepted.clear()  # after a reset the device owns no buffer
            self.version += 1
        elif size == 4 and offset == C.VIRTIO_MMIO_QUEUE_PFN and value == 0:
            sel = dev.queue_sel
            self.accepted = [a for a in self.accepted if a.queue != sel]
            self.version += 1
        dev.write(offset, value, size)
        self._scan()

    # --- outputs ---
    @property
    def isr(self) -> int:
        return self.device.isr

    @property
    def use_count(self) -> int:
        return sum(len(v) for v in self.uses.values())

    def layouts(self) -> dict[int, VringLayout]:
        return dict(self._live)

    def allowed_regions(self) -> list[Region]:
        """Where the device may write now: the used rings of live queues and the
        writable buffers of the chains it accepted that the driver has not taken back."""
        regions = [used_ring_region(layout, q) for q, layout in sorted(self._live.items())]
        for acc in self.accepted:
            for i, (addr, length) in enumerate(acc.chain.writable):
                regions.append(Region.sized(addr, length, f"writable buffer {i} of head {acc.head}, queue {acc.queue}"))
        return regions

    def release(self, queue: int, head: int) -> None:
        """The driver took back the buffers of the chain ``head`` of ``queue``."""
        for i, acc in enumerate(self.accepted):
            if acc.queue == queue and acc.head == head:
                del self.accepted[i]
                self.version += 1
                return

    # --- internals ---
    def _accept(self, queue: int, chain: Chain) -> None:
        if not any(a.chain is chain for a in self.accepted):
            self.accepted.append(_Accepted(queue, chain.head, chain))
            self.version += 1

    def _completed(self, q: DeviceQueue, chain: Chain, decision: tuple[bool, str] | None) -> None:
        assert decision is not None, "the reference device published a used entry without an interrupt decision"
        self._accept(q.index, chain)
        uses = self.uses[q.index]
        uses.append(
            PredictedUse(
                queue=q.index,
                seq=len(uses),
                head=chain.head,
                length=len(chain.answer or b""),
                writable=list(chain.writable),
                contents=[self.mem.read(a, n) for a, n in chain.writable],
                used_idx=q.used_idx,
                interrupt=decision[0],
                reason=decision[1],
                isr_after=self.device.isr,
            )
        )

    def _scan(self) -> None:
        """Chains held in flight count as accepted; report queues going live or idle."""
        for dq in self.device.queues:
            for chain in dq.in_flight:
                self._accept(dq.index, chain)
            live = dq.layout if dq.live else None
            if live != self._live.get(dq.index):
                if live is None:
                    del self._live[dq.index]
                else:
                    self._live[dq.index] = live
                self.version += 1
                for listener in self.listeners:
                    listener(dq.index, live, dq.used_idx)


class MirroredMemory(GuestMemory):
    """The driver's guest memory: the DUT's bytes (``store``, shared with the
    AxiRam) with every driver write mirrored into ``mirror`` (the predictor's)."""

    def __init__(self, size: int, base: int = 0, store: bytearray | None = None, mirror: GuestMemory | None = None):
        super().__init__(size, base, store)
        self.mirror = mirror

    def write(self, addr: int, data: bytes) -> None:
        super().write(addr, data)
        if self.mirror is not None:
            self.mirror.write(addr, data)


@dataclass
class RegisterAccess:
    """One register access of the driver, as both sides saw it."""

    kind: str  # "read" or "write"
    offset: int
    size: int
    value: int  # read: what the DUT returned; write: what was written
    start: int  # cycle the bus access began
    end: int  # cycle the driver had the response
    predicted: int | None  # read: the reference device's value
    isr_before: int  # predicted InterruptStatus around the access
    isr_after: int
    uses: int  # predicted used entries the access produced (notify)


class PredictedHal(VioHal):
    """A HAL that forwards the driver's register accesses to the DUT's HAL and
    to the predictor, and logs them with their cycles.

    Writes reach the predictor first (so it has accepted the chains before the
    DUT can write their buffers), except Status=0 and QueuePFN=0, which reach it
    when the DUT has finished them (the DUT may finish bursts already issued).
    After a QueueNotify the HAL awaits ``settle()`` (the DUT quiescent).
    """

    def __init__(
        self,
        dut_hal: VioHal,
        predictor: Predictor,
        *,
        clock: CycleClock,
        base: int = 0,
        settle: Callable[[], Awaitable[None]] | None = None,
    ):
        self.dut_hal = dut_hal
        self.predictor = predictor
        self.mem = dut_hal.mem
        self.clock = clock
        self.base = base
        self.settle = settle
        self.accesses: list[RegisterAccess] = []
        self._deferred: list[int] | None = None

    async def read(self, addr: int, size: int = 4) -> int:
        offset = addr - self.base
        start = self.clock.now()
        value = await self.dut_hal.read(addr, size)
        end = self.clock.now()
        isr = self.predictor.isr
        self.accesses.append(RegisterAccess("read", offset, size, value, start, end, self.predictor.read(offset, size), isr, isr, 0))
        return value

    async def write(self, addr: int, value: int, size: int = 4) -> None:
        offset = addr - self.base
        if offset == C.VIRTIO_MMIO_QUEUE_NOTIFY and size == 4 and self._deferred is not None:
            if value not in self._deferred:
                self._deferred.append(value)
            return
        await self._write(addr, value, size)
        if offset == C.VIRTIO_MMIO_QUEUE_NOTIFY and self.settle is not None:
            await self.settle()

    async def _write(self, addr: int, value: int, size: int) -> None:
        offset = addr - self.base
        late = size == 4 and value == 0 and offset in (C.VIRTIO_MMIO_STATUS, C.VIRTIO_MMIO_QUEUE_PFN)
        isr_before, uses_before = self.predictor.isr, self.predictor.use_count
        if not late:
            self.predictor.write(offset, value, size)
        start = self.clock.now()
        await self.dut_hal.write(addr, value, size)
        end = self.clock.now()
        if late:
            self.predictor.write(offset, value, size)
        self.accesses.append(
            RegisterAccess("write", offset, size, value, start, end, None, isr_before, self.predictor.isr, self.predictor.use_count - uses_before)
        )

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Hold QueueNotify writes back while transfers are posted; on exit write
        one notify per queue (in first-notified order) and settle once."""
        if self._deferred is not None:
            raise RuntimeError("PredictedHal.batch() does not nest")
        self._deferred = []
        try:
            yield
        finally:
            queues, self._deferred = self._deferred, None
            for q in queues:
                await self._write(self.base + C.VIRTIO_MMIO_QUEUE_NOTIFY, q, 4)
            if queues and self.settle is not None:
                await self.settle()

    def irq(self, vector: int = 0) -> bool:
        return self.dut_hal.irq(vector)

    async def wait_irq(self, vector: int, timeout_ns: int) -> bool:
        return await self.dut_hal.wait_irq(vector, timeout_ns)

    def now_ns(self) -> int:
        return self.dut_hal.now_ns()


# ============================================================== monitors


@dataclass
class AxiWrite:
    """One AXI4 write burst as seen on the bus: AW, its W beats, its B."""

    index: int
    awaddr: int
    awlen: int
    awsize: int
    aw_cycle: int
    beats: list[tuple[int, int, int]]  # (beat address, data, strobes)
    data_cycle: int  # cycle of the last W handshake
    bytes_per_beat: int
    b_cycle: int | None = None
    bresp: int | None = None
    runs: list[tuple[int, bytes]] = field(default_factory=list)  # strobed bytes, as contiguous runs

    @property
    def cycle(self) -> int:
        """The cycle the write is complete on the bus (AW and the last W beat handshaken)."""
        return max(self.aw_cycle, self.data_cycle)

    def describe(self) -> str:
        return f"write burst #{self.index} (awaddr {self.awaddr:#x}, {len(self.beats)} beat(s), on the bus at cycle {self.cycle})"


def _runs(beats: Iterable[tuple[int, int, int]], nbytes: int) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytearray]] = []
    for beat_addr, data, strb in beats:
        base = beat_addr - beat_addr % nbytes
        raw = data.to_bytes(nbytes, "little")
        for lane in range(nbytes):
            if strb >> lane & 1:
                addr = base + lane
                if out and out[-1][0] + len(out[-1][1]) == addr:
                    out[-1][1].append(raw[lane])
                else:
                    out.append((addr, bytearray([raw[lane]])))
    return [(a, bytes(b)) for a, b in out]


class _Monitor(ABC):
    """A monitor that observes in a background task between start() and stop()."""

    _task = None

    def start(self) -> None:
        if self._task is None:
            self._on_start()
            self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _on_start(self) -> None:
        """What to note just before observing starts."""

    @abstractmethod
    async def _run(self) -> None:
        """Observe until cancelled."""


class AxiWriteMonitor(_Monitor):
    """Watches the AW, W and B channels of an AXI4 master (``{prefix}_aw*``...) at
    every rising edge where one of their VALIDs is high (asleep while all are
    low: tb/waits.py); pairs each AW with its W beats (W may come first) and
    with its B, in order (the DUT uses one ID). Subscribers get each
    :class:`AxiWrite` when its data is complete; B arrives later on the record."""

    def __init__(self, dut, prefix: str, clock: CycleClock, clk=None):
        g = lambda name: getattr(dut, f"{prefix}_{name}")  # noqa: E731
        self.clk = clk if clk is not None else dut.clk
        self.clock = clock
        self.awvalid, self.awready, self.awaddr, self.awlen, self.awsize = g("awvalid"), g("awready"), g("awaddr"), g("awlen"), g("awsize")
        self.wvalid, self.wready, self.wdata, self.wstrb, self.wlast = g("wvalid"), g("wready"), g("wdata"), g("wstrb"), g("wlast")
        self.bvalid, self.bready, self.bresp = g("bvalid"), g("bready"), g("bresp")
        self.bytes_per_beat = len(self.wstrb)
        self.writes: list[AxiWrite] = []
        self.subscribers: list[Callable[[AxiWrite], None]] = []
        self.errors: list[str] = []
        self._aw: deque[tuple[int, int, int, int]] = deque()
        self._w: deque[tuple[list[tuple[int, int]], int]] = deque()
        self._beats: list[tuple[int, int]] = []
        self._wait_b: deque[AxiWrite] = deque()

    def subscribe(self, fn: Callable[[AxiWrite], None]) -> None:
        self.subscribers.append(fn)

    async def _run(self) -> None:
        n = self.bytes_per_beat
        edge = RisingEdge(self.clk)
        valids = (self.awvalid, self.wvalid, self.bvalid)
        while True:
            await edge
            aw, w, b = (v.value for v in valids)
            if not (aw or w or b):  # no handshake before one of them rises
                await until_rise(valids)
                continue
            cycle = self.clock.now()
            if aw and self.awready.value:
                self._aw.append((self.awaddr.value.to_unsigned(), self.awlen.value.to_unsigned(), self.awsize.value.to_unsigned(), cycle))
            if w and self.wready.value:
                self._beats.append((self.wdata.value.to_unsigned(), self.wstrb.value.to_unsigned()))
                if self.wlast.value:
                    self._w.append((self._beats, cycle))
                    self._beats = []
            while self._aw and self._w:
                addr, awlen, awsize, aw_cycle = self._aw.popleft()
                beats, data_cycle = self._w.popleft()
                step = 1 << awsize
                if len(beats) != awlen + 1:
                    self.errors.append(f"burst at {addr:#x}: AWLEN {awlen} but {len(beats)} W beat(s) up to WLAST (cycle {data_cycle})")
                aligned = addr - addr % step
                placed = [(addr if i == 0 else aligned + i * step, d, s) for i, (d, s) in enumerate(beats)]
                wr = AxiWrite(len(self.writes), addr, awlen, awsize, aw_cycle, placed, data_cycle, n)
                wr.runs = _runs(placed, n)
                self.writes.append(wr)
                self._wait_b.append(wr)
                for fn in self.subscribers:
                    fn(wr)
            if b and self.bready.value:
                if self._wait_b:
                    wr = self._wait_b.popleft()
                    wr.b_cycle, wr.bresp = cycle, self.bresp.value.to_unsigned()
                else:
                    self.errors.append(f"B response at cycle {cycle} without a complete write burst before it")


@dataclass
class AxiRead:
    """One AXI4 read burst: its AR handshake and its last R beat."""

    addr: int
    arlen: int
    ar_cycle: int
    last_cycle: int | None = None


class AxiReadMonitor(_Monitor):
    """Watches the AR and R channels of an AXI4 master (``{prefix}_ar*``,
    ``{prefix}_r*``) at every rising edge where one of their VALIDs is high
    (asleep while both are low: tb/waits.py); pairs each burst's AR with its
    last R beat, in order (the DUT uses one ID)."""

    def __init__(self, dut, prefix: str, clock: CycleClock, clk=None):
        g = lambda name: getattr(dut, f"{prefix}_{name}")  # noqa: E731
        self.clk = clk if clk is not None else dut.clk
        self.clock = clock
        self.arvalid, self.arready, self.araddr, self.arlen = g("arvalid"), g("arready"), g("araddr"), g("arlen")
        self.rvalid, self.rready, self.rlast = g("rvalid"), g("rready"), g("rlast")
        self.reads: list[AxiRead] = []
        self._open: deque[AxiRead] = deque()

    async def _run(self) -> None:
        edge = RisingEdge(self.clk)
        valids = (self.arvalid, self.rvalid)
        while True:
            await edge
            ar, r = (v.value for v in valids)
            if not (ar or r):  # no handshake before one of them rises
                await until_rise(valids)
                continue
            cycle = self.clock.now()
            if ar and self.arready.value:
                rd = AxiRead(self.araddr.value.to_unsigned(), self.arlen.value.to_unsigned(), cycle)
                self.reads.append(rd)
                self._open.append(rd)
            if r and self.rready.value and self.rlast.value and self._open:
                self._open.popleft().last_cycle = cycle

    def first_after(self, addrs: set[int], start: int, reads_before: int | None = None) -> AxiRead | None:
        """The first read of one of ``addrs`` (its bus word) whose AR came at or
        after ``start``, if at most ``reads_before`` other ARs came before it."""
        i = bisect.bisect_left([r.ar_cycle for r in self.reads], start)
        for n, rd in enumerate(self.reads[i:]):
            if any(rd.addr <= a < rd.addr + 16 for a in addrs):
                return rd
            if reads_before is not None and n >= reads_before:
                return None
        return None


class IrqMonitor(_Monitor):
    """Every edge of the interrupt line, with its cycle (level from that cycle on)."""

    def __init__(self, signal, clock: CycleClock):
        self.signal = signal
        self.clock = clock
        self.start_cycle = 0
        self.start_level = 0
        self.cycles: list[int] = []
        self.levels: list[int] = []

    def _on_start(self) -> None:
        self.start_cycle = self.clock.now()
        self.start_level = 1 if str(self.signal.value) == "1" else 0

    async def _run(self) -> None:
        while True:
            await self.signal.value_change
            level = 1 if str(self.signal.value) == "1" else 0
            cycle = self.clock.now()
            if self.cycles and self.cycles[-1] == cycle:  # two changes in one step: keep the last
                self.levels[-1] = level
            elif level != (self.levels[-1] if self.levels else self.start_level):
                self.cycles.append(cycle)
                self.levels.append(level)

    def level_at(self, cycle: int) -> int:
        i = bisect.bisect_right(self.cycles, cycle) - 1
        return self.levels[i] if i >= 0 else self.start_level

    def first(self, level: int, start: int, end: int | None = None) -> int | None:
        """The first cycle in [start, end) (end None: unbounded) where the line is at ``level``."""
        if self.level_at(start) == level:
            return start
        i = bisect.bisect_right(self.cycles, start)
        while i < len(self.cycles):
            c = self.cycles[i]
            if end is not None and c >= end:
                return None
            if self.levels[i] == level:
                return c
            i += 1
        return None

    def levels_in(self, start: int, end: int) -> set[int]:
        """The levels the line had at some cycle of [start, end]."""
        seen = {self.level_at(start)}
        i = bisect.bisect_right(self.cycles, start)
        while i < len(self.cycles) and self.cycles[i] <= end:
            seen.add(self.levels[i])
            i += 1
        return seen


@dataclass
class ObservedUse:
    """One used entry as the DUT published it on the bus."""

    queue: int
    seq: int
    head: int
    length: int
    used_idx: int  # the used.idx value that published it
    cycle: int  # the cycle the used.idx write was on the bus
    burst: int
    decision_addrs: tuple[int, int] = (0, 0)  # used_event, avail.flags of its queue


class _RingWatch:
    def __init__(self, layout: VringLayout, used_idx: int):
        self.layout = layout
        self.last = used_idx
        self.lo, self.hi = layout.used, layout.avail_event + 2
        self.shadow = bytearray(self.hi - self.lo)
        self.written: dict[int, set[int]] = defaultdict(set)  # slot -> element bytes written since published


class UsedRingObserver:
    """Decodes the used rings from the DUT's write bursts only (never from memory):
    used elements per slot, and, at each used.idx write, the entries it publishes.

    Ring places come from the predictor's view of the queues (the registers the
    driver wrote), not from the DUT."""

    def __init__(self) -> None:
        self._rings: dict[int, _RingWatch] = {}
        self.uses: dict[int, list[ObservedUse]] = defaultdict(list)
        self.anomalies: list[str] = []
        self.listeners: list[Callable[[ObservedUse], None]] = []

    def queue_changed(self, queue: int, layout: VringLayout | None, used_idx: int) -> None:
        if layout is None:
            self._rings.pop(queue, None)
        else:
            self._rings[queue] = _RingWatch(layout, used_idx)

    def observe(self, wr: AxiWrite) -> None:
        for q, ring in list(self._rings.items()):
            idx_lo = ring.layout.used_idx
            ring_lo, ring_hi = ring.layout.used_ring(0), ring.layout.used_ring(ring.layout.num)
            touched = False
            for addr, data in wr.runs:
                s, e = max(addr, ring.lo), min(addr + len(data), ring.hi)
                if s >= e:
                    continue
                ring.shadow[s - ring.lo : e - ring.lo] = data[s - addr : e - addr]
                for a in range(max(s, ring_lo), min(e, ring_hi)):
                    ring.written[(a - ring_lo) // USED_ELEM_SIZE].add((a - ring_lo) % USED_ELEM_SIZE)
                if s < idx_lo + 2 and e > idx_lo:
                    touched = True
            if touched:
                self._publish(q, ring, wr)

    def _publish(self, q: int, ring: _RingWatch, wr: AxiWrite) -> None:
        off = ring.layout.used_idx - ring.lo
        new = struct.unpack_from("<H", ring.shadow, off)[0]
        steps = u16(new - ring.last)
        num = ring.layout.num
        if steps == 0:
            self.anomalies.append(f"queue {q}: {wr.describe()} rewrote used.idx with its current value {new}")
            return
        if steps > num:
            self.anomalies.append(f"queue {q}: {wr.describe()} moved used.idx from {ring.last} to {new}, more than QueueNum {num}")
            ring.last = new
            return
        for i in range(steps):
            slot = (ring.last + i) % num
            if len(ring.written[slot]) != USED_ELEM_SIZE:
                self.anomalies.append(
                    f"queue {q}: used.idx {new} written ({wr.describe()}) publishes slot {slot} before its used element was written"
                )
            head, length = struct.unpack_from("<II", ring.shadow, ring.layout.used_ring(slot) - ring.lo)
            ring.written[slot].clear()
            use = ObservedUse(q, len(self.uses[q]), head, length, u16(ring.last + i + 1), wr.cycle, wr.index,
                              (ring.layout.used_event, ring.layout.avail_flags))
            self.uses[q].append(use)
            for fn in self.listeners:
                fn(use)
        ring.last = new


# ============================================================ scoreboards


@dataclass
class PostedChain:
    """A transfer as the driver posted it (the driver's view, never re-read)."""

    queue: int
    seq: int  # k-th transfer posted on this queue
    head: int
    iov: list[tuple[int, int, int]]  # (buffer, size, flags)


@dataclass
class Reaped:
    """A transfer as the driver completed it: the head, used.len and the bytes of
    its writable buffers as the driver reads them."""

    posted: PostedChain
    actual: int
    buffers: list[tuple[int, bytes]]  # (addr, bytes) of every writable iov


class _Scoreboard(ABC):
    name = "scoreboard"

    @abstractmethod
    def errors(self) -> list[str]:
        """Every discrepancy found so far, one message each."""

    def check(self) -> None:
        errs = self.errors()
        if errs:
            raise AssertionError(f"{self.name} scoreboard: {len(errs)} discrepancy(ies)\n" + "\n".join("  " + e for e in errs))


class CompletionScoreboard(_Scoreboard):
    """Every posted chain used exactly once, with the right id and len, in the
    per-queue order the reference device predicts: in the used ring as the DUT
    wrote it (bus), and as the driver reaped it."""

    name = "completion"

    def __init__(self, predictor: Predictor, observer: UsedRingObserver):
        self.predictor = predictor
        self.observer = observer
        self.posted: dict[int, list[PostedChain]] = defaultdict(list)
        self.reaped: dict[int, dict[int, list[Reaped]]] = defaultdict(lambda: defaultdict(list))

    def note_posted(self, chain: PostedChain) -> None:
        self.posted[chain.queue].append(chain)

    def note_reaped(self, r: Reaped) -> None:
        self.reaped[r.posted.queue][r.posted.seq].append(r)

    def errors(self) -> list[str]:
        errs = [f"used ring: {a}" for a in _cap(self.observer.anomalies)]
        queues = sorted(set(self.posted) | set(self.predictor.uses) | set(self.observer.uses))
        for q in queues:
            posted, pred, obs = self.posted.get(q, []), self.predictor.uses.get(q, []), self.observer.uses.get(q, [])
            lines: list[str] = []
            for chain in posted:
                if chain.seq >= len(pred):
                    lines.append(f"queue {q}: posted chain #{chain.seq} (head {chain.head}) has no predicted used entry (the reference device did not use it)")
                elif pred[chain.seq].head != chain.head:
                    lines.append(f"queue {q}: the reference device uses head {pred[chain.seq].head} for posted chain #{chain.seq} (head {chain.head})")
            if len(pred) > len(posted):
                lines.append(f"queue {q}: the reference device used {len(pred)} chains, {len(posted)} were posted")
            # the DUT's used ring against the prediction, entry by entry
            for k in range(max(len(pred), len(obs))):
                if k < len(pred) and k < len(obs):
                    p, o = pred[k], obs[k]
                    if (o.head, o.length) != (p.head, p.length):
                        lines.append(
                            f"queue {q}: used entry #{k} (used.idx {o.used_idx}, published at cycle {o.cycle}): "
                            f"DUT wrote id {o.head} len {o.length}, predicted id {p.head} len {p.length}"
                        )
                elif k < len(pred):
                    p = pred[k]
                    lines.append(
                        f"queue {q}: posted chain #{k} (head {p.head}, predicted len {p.length}) never appeared in the used ring "
                        f"(the DUT published {len(obs)} of {len(pred)} predicted used entries)"
                    )
                else:
                    o = obs[k]
                    lines.append(f"queue {q}: extra used entry #{k} (id {o.head} len {o.length}) published at cycle {o.cycle}, not predicted")
            # the driver's view: each posted chain completed exactly once, with the predicted len
            for chain in posted:
                got = self.reaped.get(q, {}).get(chain.seq, [])
                if not got:
                    lines.append(f"queue {q}: posted chain #{chain.seq} (head {chain.head}) was never completed to the driver")
                    continue
                if len(got) > 1:
                    lines.append(f"queue {q}: posted chain #{chain.seq} (head {chain.head}) completed {len(got)} times to the driver")
                if chain.seq < len(pred) and got[0].actual != pred[chain.seq].length:
                    lines.append(
                        f"queue {q}: the driver reaped used.len {got[0].actual} for posted chain #{chain.seq} (head {chain.head}), "
                        f"predicted {pred[chain.seq].length}"
                    )
            errs += _cap(lines)
        return errs

    def summary(self) -> str:
        return (
            f"completion: {sum(len(v) for v in self.posted.values())} posted, "
            f"{sum(len(v) for v in self.predictor.uses.values())} predicted, "
            f"{sum(len(v) for v in self.observer.uses.values())} used entries observed"
        )


class DataScoreboard(_Scoreboard):
    """Byte-exact data in both directions: what the driver reads in its writable
    buffers equals what the reference device left there (the answer, and the
    untouched rest); what the RTL's backend received over m_axis (readable bytes
    and writable length, per queue in order) equals the reference device's requests."""

    name = "data"

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self.observed_requests: list[tuple[int, bytes, int]] = []
        self.reaped: dict[int, list[Reaped]] = defaultdict(list)

    def attach_backend_log(self, received: list[tuple[int, bytes, int]]) -> None:
        """The RTL backend's log of requests: (queue, readable bytes, writable_len)."""
        self.observed_requests = received

    def note_reaped(self, r: Reaped) -> None:
        self.reaped[r.posted.queue].append(r)

    @staticmethod
    def _first_diff(a: bytes, b: bytes) -> int:
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return i
        return min(len(a), len(b))

    def errors(self) -> list[str]:
        errs: list[str] = []
        # driver <- device
        lines: list[str] = []
        for q in sorted(self.reaped):
            pred = self.predictor.uses.get(q, [])
            for r in self.reaped[q]:
                seq, head = r.posted.seq, r.posted.head
                if seq >= len(pred):
                    lines.append(f"queue {q} chain #{seq} (head {head}): completed to the driver but no used entry is predicted for it")
                    continue
                p = pred[seq]
                if [(a, len(b)) for a, b in r.buffers] != p.writable:
                    lines.append(f"queue {q} chain #{seq} (head {head}): writable buffers {[(hex(a), len(b)) for a, b in r.buffers]}, predicted {[(hex(a), n) for a, n in p.writable]}")
                    continue
                for i, ((addr, seen), want) in enumerate(zip(r.buffers, p.contents)):
                    if seen != want:
                        off = self._first_diff(seen, want)
                        ndiff = sum(1 for x, y in zip(seen, want) if x != y)
                        lines.append(
                            f"queue {q} chain #{seq} (head {head}) writable buffer {i} at {addr:#x}: {ndiff} byte(s) differ, first at "
                            f"+{off} ({addr + off:#x}): the driver reads {seen[off]:#04x}, the reference device wrote {want[off]:#04x}"
                        )
        errs += _cap(lines)
        # device <- driver (m_axis)
        lines = []
        observed: dict[int, list[tuple[bytes, int]]] = defaultdict(list)
        for q, data, wlen in self.observed_requests:
            observed[q].append((bytes(data), wlen))
        for q in sorted(set(observed) | set(self.predictor.requests)):
            obs, pred = observed.get(q, []), self.predictor.requests.get(q, [])
            for k in range(min(len(obs), len(pred))):
                (od, ow), (pd, pw) = obs[k], pred[k]
                if od != pd:
                    off = self._first_diff(od, pd)
                    if off < min(len(od), len(pd)):
                        what = f"first difference at byte {off}: the backend received {od[off]:#04x}, the driver's readable buffers hold {pd[off]:#04x}"
                    else:
                        what = "one is a prefix of the other"
                    lines.append(f"queue {q} request #{k}: the backend received {len(od)} readable byte(s), predicted {len(pd)}; {what}")
                if ow != pw:
                    lines.append(f"queue {q} request #{k}: the backend received writable length {ow}, predicted {pw}")
            if len(obs) != len(pred):
                lines.append(f"queue {q}: the backend received {len(obs)} request(s), the reference device predicts {len(pred)}")
        errs += _cap(lines)
        return errs

    def summary(self) -> str:
        n = sum(len(v) for v in self.reaped.values())
        nbytes = sum(len(b) for v in self.reaped.values() for r in v for _, b in r.buffers)
        return f"data: {n} completions ({nbytes} writable bytes) and {len(self.observed_requests)} backend requests compared"


class MemoryScoreboard(_Scoreboard):
    """Every byte the DUT writes on m_axi (strobed) must lie in a used ring of a
    live queue or a writable buffer of a chain the device accepted and the driver
    has not taken back, as the predictor sees them (ShadowMemory.check_write)."""

    name = "memory"

    def __init__(self, predictor: Predictor, landmarks: Callable[[], list[Region]] | None = None):
        self.predictor = predictor
        self.landmarks = landmarks
        self.shadow = ShadowMemory(predictor.mem)
        self.violations: list[str] = []
        self.writes = 0
        self.bytes = 0
        self._version = -1
        self._intervals: list[tuple[int, int]] = []

    def _allowed(self) -> list[tuple[int, int]]:
        if self._version != self.predictor.version:
            self._version = self.predictor.version
            self.shadow.allowed = self.predictor.allowed_regions()
            merged: list[list[int]] = []
            for r in sorted(self.shadow.allowed, key=lambda r: r.start):
                if merged and r.start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], r.end)
                else:
                    merged.append([r.start, r.end])
            self._intervals = [(a, b) for a, b in merged]
        return self._intervals

    def observe(self, wr: AxiWrite) -> None:
        self.writes += 1
        intervals = self._allowed()
        starts = [a for a, _ in intervals]
        for addr, data in wr.runs:
            self.bytes += len(data)
            end = addr + len(data)
            i = bisect.bisect_right(starts, addr) - 1
            if i >= 0 and intervals[i][1] >= end:
                continue  # the whole run inside one allowed interval
            if self.landmarks is not None:
                self.shadow.landmarks = self.landmarks()
            try:
                self.shadow.check_write(addr, len(data), f"DMA {wr.describe()}")
            except OracleViolation as err:
                self.violations.append(str(err))

    def errors(self) -> list[str]:
        return _cap(self.violations, 6)

    def summary(self) -> str:
        return f"memory: {self.writes} write bursts, {self.bytes} strobed bytes checked"


@dataclass
class _Segment:
    start: int
    end: int
    expected: int
    why: str
    anchor: int  # cycle the expectation refers to (for "N cycles after")


class InterruptScoreboard(_Scoreboard):
    """The interrupt line against InterruptStatus and the reference device's decisions.

    - At every InterruptStatus read: the value equals the prediction, and irq was
      (value != 0) at some cycle of the read.
    - One decision per used.idx write (docs/engine.md, "What may differ from the
      model"): a write that publishes several entries interrupts if the
      reference device interrupts for at least one of them (for EVENT_IDX that
      is vring_need_event(used_event, new, old) of the whole write).
    - After a used.idx write that interrupts: irq high within ``rise_bound``
      cycles of the decision's last input (the write's B, or the response of
      the used_event/avail.flags read among the first ``issue_bound`` + 1
      reads that follow it; decisions are taken in the order of the writes,
      so also the last input of every earlier write's decision), and high from then until an InterruptACK that leaves nothing
      pending.
    - While nothing is pending (after an ACK or reset that clears everything, through
      entries the rules suppress): irq low; an ACK that clears everything takes it
      low within ``drop_bound`` cycles of its response.
    The timeline follows the cycles the DUT wrote its used.idx values (observed),
    with each entry's decision taken from the prediction for that queue's entry.
    """

    name = "interrupt"

    def __init__(
        self,
        predictor: Predictor,
        observer: UsedRingObserver,
        irq: IrqMonitor,
        clock: CycleClock,
        rise_bound: int = RISE_BOUND_CYCLES,
        drop_bound: int = DROP_BOUND_CYCLES,
        writes: AxiWriteMonitor | None = None,
        reads: AxiReadMonitor | None = None,
        issue_bound: int = ISSUE_BOUND_ARS,
    ):
        self.predictor = predictor
        self.observer = observer
        self.irq = irq
        self.clock = clock
        self.rise_bound = rise_bound
        self.drop_bound = drop_bound
        self.writes = writes
        self.reads = reads
        self.issue_bound = issue_bound
        self.accesses: list[RegisterAccess] = []
        self.rise_latencies: list[int] = []  # irq rise after the used.idx write on the bus
        self.decide_latencies: list[int] = []  # irq rise after the decision's last input
        self.drop_latencies: list[int] = []
        self.counts: dict[str, int] = defaultdict(int)

    def _decided(self, o: ObservedUse) -> tuple[int, int]:
        """(the deadline for irq high, the cycle of the decision's last input) for
        the used.idx write that published ``o``: its B response, or the
        response of the decision read that follows it."""
        after = o.cycle
        if self.writes is not None and o.burst < len(self.writes.writes):
            b = self.writes.writes[o.burst].b_cycle
            after = b if b is not None else self.clock.now()
        if self.reads is not None:
            rd = self.reads.first_after(set(o.decision_addrs), after, self.issue_bound)
            if rd is not None:
                after = rd.last_cycle if rd.last_cycle is not None else self.clock.now()
        return after + self.rise_bound, after

    def _late_read(self, o: ObservedUse, after: int) -> str:
        """Where the decision read went, when it came after ``issue_bound``."""
        if self.reads is None or not o.decision_addrs:
            return ""
        if self.reads.first_after(set(o.decision_addrs), after, self.issue_bound) is not None:
            return ""
        rd = self.reads.first_after(set(o.decision_addrs), after)
        if rd is None:
            return ""
        return f" (more than {self.issue_bound} reads asked for before a read of {', '.join(f'{a:#x}' for a in o.decision_addrs)} asked at cycle {rd.ar_cycle}, answered at {rd.last_cycle})"

    def attach_accesses(self, accesses: list[RegisterAccess]) -> None:
        self.accesses = accesses

    def errors(self) -> list[str]:
        self.rise_latencies, self.decide_latencies, self.drop_latencies = [], [], []
        self.counts = defaultdict(int)
        now = self.clock.now()
        errs: list[str] = []
        irq = self.irq
        # 1. every InterruptStatus read
        for a in self.accesses:
            if a.kind != "read" or a.offset != C.VIRTIO_MMIO_INTERRUPT_STATUS or a.size != 4:
                continue
            self.counts["isr_reads"] += 1
            if a.value != a.predicted:
                errs.append(f"InterruptStatus read at cycles {a.start}..{a.end}: the DUT returned {a.value:#x}, the reference device predicts {a.predicted:#x}")
            want = int(a.value != 0)
            if want not in irq.levels_in(a.start, a.end):
                errs.append(f"InterruptStatus read at cycles {a.start}..{a.end} returned {a.value:#x} but irq was {1 - want} throughout the read")
        # 2. the expected level of irq over time: one decision per used.idx write
        events: list[tuple[int, int, str, object]] = []
        for q, pred in self.predictor.uses.items():
            obs = self.observer.uses.get(q, [])
            writes: dict[int, list[tuple[PredictedUse, ObservedUse]]] = {}
            for k, p in enumerate(pred):
                if k < len(obs):
                    writes.setdefault(obs[k].burst, []).append((p, obs[k]))
                else:
                    self.counts["uses_unobserved"] += 1
            for members in writes.values():
                events.append((members[0][1].cycle, 1, "use", members))
        for i, a in enumerate(self.accesses):
            if a.kind != "write" or a.size != 4:
                continue
            if a.offset == C.VIRTIO_MMIO_INTERRUPT_ACK:
                events.append((a.start, 0, "ack", a))
            elif a.offset == C.VIRTIO_MMIO_STATUS and a.value == 0:
                events.append((a.start, 0, "reset", a))
            elif a.isr_after & ~a.isr_before & ~C.VIRTIO_MMIO_INT_VRING:
                # raised by the write itself (broken, config): no bus marker; settle by the next access
                nxt = self.accesses[i + 1].start if i + 1 < len(self.accesses) else now
                events.append((a.start, 0, "async", (a, nxt)))
        events.sort(key=lambda e: (e[0], e[1]))
        # the device takes its decisions in the order of its used.idx writes
        # (docs/engine.md): a decision's last input is also every earlier one's
        decided: dict[int, tuple[int, int]] = {}
        last_input = 0
        for _, _, kind, data in events:
            if kind == "use":
                _, after = self._decided(data[-1][1])  # type: ignore[index]
                last_input = max(last_input, after)
                decided[id(data)] = (last_input + self.rise_bound, last_input)
        segments: list[_Segment] = []
        cur: _Segment | None = None  # the open expectation

        def close(at: int) -> None:
            nonlocal cur
            if cur is not None:
                cur.end = at
                if cur.end > cur.start:
                    segments.append(cur)
                cur = None

        def open_(start: int, level: int, why: str, anchor: int) -> None:
            nonlocal cur
            close(start)
            cur = _Segment(start, now + 1, level, why, anchor)

        for cycle, _, kind, data in events:
            if kind == "use":
                members = data  # type: ignore[assignment]
                first, last = members[0], members[-1]
                o = last[1]
                entries = f"entry #{first[0].seq}" if len(members) == 1 else f"entries #{first[0].seq}..#{last[0].seq}"
                where = f"queue {o.queue} used {entries} (used.idx {o.used_idx}) written at cycle {o.cycle}"
                interrupting = [p for p, _ in members if p.interrupt]
                self.counts["writes"] += 1
                self.counts["uses_batched"] += len(members) - 1
                if interrupting:
                    self.counts["uses_interrupting"] += len(interrupting)
                    if cur is not None and cur.expected == 1:
                        continue  # already pending: stays high
                    deadline, after = decided[id(members)]
                    if cur is not None and cur.expected == 0:
                        rise = irq.first(1, o.cycle)
                        if rise is not None:
                            self.rise_latencies.append(rise - o.cycle)
                            self.decide_latencies.append(rise - after)
                    close(o.cycle)
                    late = irq.first(1, o.cycle)
                    rose = f"it rose {late - after} cycle(s) after that" if late is not None else "it never rose"
                    reason = interrupting[0].reason
                    open_(deadline, 1, f"{where}, which interrupts ({reason}); the decision's last input at cycle {after}, "
                          f"bound {self.rise_bound} cycle(s), {rose}{self._late_read(o, after)}", o.cycle)
                else:
                    self.counts["uses_suppressed"] += len(members)
                    if cur is not None and cur.expected == 0:
                        self.counts["uses_suppressed_checked"] += len(members)
                        open_(o.cycle, 0, f"{where}, which the reference device does not interrupt for ({last[0].reason}), with nothing pending", o.cycle)
            elif kind == "ack":
                a = data  # type: ignore[assignment]
                self.counts["acks"] += 1
                if a.isr_after == 0:
                    if cur is not None and cur.expected == 1:
                        fall = irq.first(0, a.start)
                        if fall is not None:
                            self.drop_latencies.append(max(0, fall - a.end))
                    close(a.start)
                    open_(a.end + self.drop_bound, 0, f"the InterruptACK of {a.value:#x} answered at cycle {a.end} left nothing pending", a.end)
                else:
                    close(a.start)
                    open_(a.end + self.drop_bound, 1, f"InterruptStatus {a.isr_after:#x} still pending after the InterruptACK of {a.value:#x} at cycle {a.end}", a.end)
            elif kind == "reset":
                a = data  # type: ignore[assignment]
                close(a.start)
                open_(a.end + self.drop_bound, 0, f"the Status=0 reset answered at cycle {a.end} cleared InterruptStatus", a.end)
            else:  # async
                a, nxt = data  # type: ignore[misc]
                close(a.start)
                open_(max(nxt, a.start), 1, f"the write of {a.value:#x} at {a.offset:#x} raised InterruptStatus {a.isr_after:#x}", a.start)
        close(now + 1)
        # 3. irq against each expectation
        for seg in segments:
            bad = irq.first(1 - seg.expected, seg.start, seg.end)
            self.counts["segments"] += 1
            if bad is None:
                continue
            if seg.expected == 1:
                errs.append(f"irq still low at cycle {bad}, {bad - seg.anchor} cycle(s) after {seg.why}")
            else:
                errs.append(f"irq high at cycle {bad}, {bad - seg.anchor} cycle(s) after {seg.why}")
        return _cap(errs)

    def summary(self) -> str:
        self.errors()
        c = self.counts
        rise = f"max {max(self.rise_latencies)}" if self.rise_latencies else "none"
        decide = f"max {max(self.decide_latencies)}" if self.decide_latencies else "none"
        drop = f"max {max(self.drop_latencies)}" if self.drop_latencies else "none"
        return (
            f"interrupt: {c['isr_reads']} InterruptStatus reads, {c['uses_interrupting']} interrupting and "
            f"{c['uses_suppressed']} suppressed used entries ({c['uses_suppressed_checked']} with nothing pending), "
            f"{c['writes']} used.idx writes ({c['uses_batched']} entries published by a write with others), "
            f"{c['acks']} ACKs, {c['segments']} expectation intervals; "
            f"interrupt latencies: rise after used.idx write {rise}, after the decision's last input {decide} "
            f"over {len(self.rise_latencies)} (bound {self.rise_bound}), "
            f"drop after ACK response {drop} over {len(self.drop_latencies)} (bound {self.drop_bound})"
        )


# ========================================================== all of them


class Scoreboards:
    """The four scoreboards with their monitors, wired to one predictor.

    ``start()`` before the driver's first access (the reset must be seen);
    ``attach(hal, driver, rtl_received)`` once the driver exists; ``check()`` at
    the end raises one AssertionError naming every discrepancy of every board.
    """

    def __init__(
        self,
        dut,
        predictor: Predictor,
        *,
        clock: CycleClock,
        prefix: str = "m_axi",
        rise_bound: int = RISE_BOUND_CYCLES,
        drop_bound: int = DROP_BOUND_CYCLES,
    ):
        self.predictor = predictor
        self.clock = clock
        self.writes = AxiWriteMonitor(dut, prefix, clock)
        self.reads = AxiReadMonitor(dut, prefix, clock)
        self.irq = IrqMonitor(dut.irq, clock)
        self.used = UsedRingObserver()
        predictor.listeners.append(self.used.queue_changed)
        for q, layout in predictor.layouts().items():
            self.used.queue_changed(q, layout, predictor.device.queues[q].used_idx)
        self.completion = CompletionScoreboard(predictor, self.used)
        self.data = DataScoreboard(predictor)
        self.memory = MemoryScoreboard(predictor)
        self.interrupts = InterruptScoreboard(predictor, self.used, self.irq, clock, rise_bound, drop_bound, writes=self.writes, reads=self.reads)
        self.writes.subscribe(self.used.observe)
        self.writes.subscribe(self.memory.observe)
        self.driver: VioDriver | None = None

    @property
    def boards(self) -> list[_Scoreboard]:
        return [self.completion, self.data, self.memory, self.interrupts]

    def start(self) -> None:
        self.writes.start()
        self.reads.start()
        self.irq.start()

    def stop(self) -> None:
        self.writes.stop()
        self.reads.stop()
        self.irq.stop()

    def attach(self, hal: PredictedHal, driver: VioDriver, rtl_received: list[tuple[int, bytes, int]]) -> None:
        """Watch the driver's submits and completions, the HAL's register log and
        the RTL backend's request log."""
        self.driver = driver
        self.interrupts.attach_accesses(hal.accesses)
        self.data.attach_backend_log(rtl_received)
        self.memory.landmarks = lambda: landmark_regions(driver)
        submit = driver.submit
        seqs: dict[int, int] = defaultdict(int)

        async def watched_submit(tfr: VioTransfer) -> int:
            result = await submit(tfr)
            q = tfr.queue
            posted = PostedChain(q, seqs[q], tfr.head, [(v.buffer, v.size, v.flags) for v in tfr.iov[: tfr.iov_len]])
            seqs[q] += 1
            self.completion.note_posted(posted)
            callback = getattr(tfr.callback, "_sb_inner", tfr.callback)

            def reaped(t: VioTransfer):
                bufs = [(a, driver.hal.mem.read(a, n)) for a, n, f in posted.iov if f & VIO_IOV_FLAGS_WRITE]
                r = Reaped(posted, t.actual, bufs)
                self.completion.note_reaped(r)
                self.data.note_reaped(r)
                self.predictor.release(posted.queue, posted.head)
                return callback(t) if callback is not None else None

            reaped._sb_inner = callback  # type: ignore[attr-defined]
            tfr.callback = reaped
            return result

        driver.submit = watched_submit  # type: ignore[method-assign]

    def errors(self) -> list[str]:
        out: list[str] = []
        for board in self.boards:
            errs = board.errors()
            if errs:
                out.append(f"{board.name} scoreboard: {len(errs)} discrepancy(ies)")
                out += ["  " + e for e in errs]
        out += [f"AXI write monitor: {e}" for e in _cap(self.writes.errors)]
        return out

    def check(self) -> None:
        errs = self.errors()
        if errs:
            raise AssertionError("\n".join(errs))

    def summary(self) -> str:
        return "; ".join(b.summary() for b in self.boards)  # type: ignore[attr-defined]
