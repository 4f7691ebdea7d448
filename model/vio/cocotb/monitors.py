"""Monitors of the DUT's DMA port and interrupt line; they observe, never predict.

- :class:`AxiWriteMonitor`: the AW, W and B channels (with strobes), each
  burst as an :class:`AxiWrite`, handed to its subscribers;
- :class:`AxiReadMonitor`: AR and the last R beat of each burst;
- :class:`IrqMonitor`: every edge of the interrupt line;
- :class:`UsedRingObserver`: the used elements and used.idx values as the DUT
  writes them, decoded from the write bursts (never read back from memory).

Each binds by prefix and clock (``AxiWriteMonitor(dut, "m_axi", dut.clk,
cycle_clock)``) and sleeps at the edges where no handshake it looks at can
happen: every VALID low, or a VALID high waiting for its READY (and the read
monitor across the R beats before RLAST, which it does not look at); it wakes
on the rise of the signal that holds each one back (:mod:`vio.cocotb.waits`).
"""

from __future__ import annotations

import bisect
import struct
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import RisingEdge
from cocotb.utils import get_sim_time

from vio.ring import USED_ELEM_SIZE, VringLayout, u16

from .clock import CycleClock
from .waits import until_edge, until_rise

__all__ = ["AxiRead", "AxiReadMonitor", "AxiWrite", "AxiWriteMonitor", "IrqMonitor", "ObservedUse", "UsedRingObserver"]


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


class AxiWriteMonitor:
    """Watches the AW, W and B channels of an AXI4 master (``{prefix}_aw*``...) at
    every rising edge where a handshake can happen (asleep while every VALID
    is low or waits for its READY: vio.cocotb.waits); pairs each AW with its
    W beats (W may come first) and with its B, in order (the DUT uses one ID).
    Subscribers get each :class:`AxiWrite` when its data is complete; B
    arrives later on the record. Observes between start() and stop(); the
    monitors started on the same channels share one sampling task
    (:class:`_WriteChannels`), each gets every handshake."""

    def __init__(self, dut: SimHandleBase, prefix: str, clock: SimHandleBase, cycle_clock: CycleClock):
        g = lambda name: getattr(dut, f"{prefix}_{name}")  # noqa: E731
        self.clk = clock
        self.cycle_clock = cycle_clock
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
        self._channels: _WriteChannels | None = None

    def subscribe(self, fn: Callable[[AxiWrite], None]) -> None:
        self.subscribers.append(fn)

    def start(self) -> None:
        if self._channels is None:
            self._channels = _WriteChannels.of(self)
            self._channels.add(self._handshakes)

    def stop(self) -> None:
        if self._channels is not None:
            self._channels.remove(self._handshakes)
            self._channels = None

    def _handshakes(self, aw: tuple[int, int, int] | None, w: tuple[int, int, bool] | None, b: int | None) -> None:
        """The handshakes of one clock edge: AW (address, AWLEN, AWSIZE), W
        (data, strobes, WLAST), B (BRESP); None where there was none."""
        cycle = self.cycle_clock.now()
        if aw is not None:
            self._aw.append((*aw, cycle))
        if w is not None:
            data, strb, last = w
            self._beats.append((data, strb))
            if last:
                self._w.append((self._beats, cycle))
                self._beats = []
        n = self.bytes_per_beat
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
        if b is not None:
            if self._wait_b:
                wr = self._wait_b.popleft()
                wr.b_cycle, wr.bresp = cycle, b
            else:
                self.errors.append(f"B response at cycle {cycle} without a complete write burst before it")


class _WriteChannels:
    """The AW, W and B channels of one AXI4 master sampled once for every
    started :class:`AxiWriteMonitor` on them (the pyuvm bench runs two: its
    DMA monitor and each session's scoreboards), at the edges one monitor
    would have sampled on its own; a monitor started in a time step gets the
    edges after it, as its own task, started then, would have."""

    _by_bus: dict[tuple[SimHandleBase, SimHandleBase], _WriteChannels] = {}

    def __init__(self, m: AxiWriteMonitor):
        self.m = m  # the signals
        # each started monitor's handler of an edge's handshakes, and the sim
        # time of its start (None once past it: edges in that step are not its own)
        self.receivers: list[list] = []
        self.task: cocotb.Task | None = None

    @classmethod
    def of(cls, m: AxiWriteMonitor) -> _WriteChannels:
        key = (m.clk, m.awvalid)
        ch = cls._by_bus.get(key)
        if ch is None or ch.task is None or ch.task.done():  # (cocotb ends every task with its test)
            ch = cls._by_bus[key] = cls(m)
        return ch

    def add(self, handshakes: Callable[[tuple[int, int, int] | None, tuple[int, int, bool] | None, int | None], None]) -> None:
        self.receivers.append([handshakes, get_sim_time()])
        if self.task is None:
            self.task = cocotb.start_soon(self._run())

    def remove(self, handshakes: Callable) -> None:
        self.receivers = [r for r in self.receivers if r[0] != handshakes]
        if not self.receivers and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        m = self.m
        edge = RisingEdge(m.clk)
        valids = (m.awvalid, m.wvalid, m.bvalid)
        while True:
            await edge
            aw, w, b = (v.value for v in valids)
            if not (aw or w or b):  # no handshake before one of them rises
                await until_rise(valids)
                continue
            stalled: list[SimHandleBase] = []  # per channel: a signal at 0 that must rise before its next handshake
            aw_hs = w_hs = b_hs = None
            if not aw:
                stalled.append(m.awvalid)
            elif m.awready.value:
                aw_hs = (m.awaddr.value.to_unsigned(), m.awlen.value.to_unsigned(), m.awsize.value.to_unsigned())
            else:
                stalled.append(m.awready)
            if not w:
                stalled.append(m.wvalid)
            elif m.wready.value:
                w_hs = (m.wdata.value.to_unsigned(), m.wstrb.value.to_unsigned(), bool(m.wlast.value))
            else:
                stalled.append(m.wready)
            if not b:
                stalled.append(m.bvalid)
            elif m.bready.value:
                b_hs = m.bresp.value.to_unsigned()
            else:
                stalled.append(m.bready)
            if aw_hs is not None or w_hs is not None or b_hs is not None:
                now = None
                for receiver in list(self.receivers):
                    handshakes, since = receiver
                    if since is not None:
                        now = get_sim_time() if now is None else now
                        if since == now:
                            continue
                        receiver[1] = None
                    handshakes(aw_hs, w_hs, b_hs)
            if len(stalled) == 3:  # no handshake on any channel before one of these rises
                await until_edge(stalled)


@dataclass
class AxiRead:
    """One AXI4 read burst: its AR handshake and its last R beat."""

    addr: int
    arlen: int
    ar_cycle: int
    last_cycle: int | None = None


class AxiReadMonitor(_Monitor):
    """Watches the AR and R channels of an AXI4 master (``{prefix}_ar*``,
    ``{prefix}_r*``) at every rising edge where an AR handshake or the
    handshake of a burst's last R beat can happen (asleep otherwise, the R
    beats before RLAST too: vio.cocotb.waits); pairs each burst's AR with its
    last R beat, in order (the DUT uses one ID)."""

    def __init__(self, dut: SimHandleBase, prefix: str, clock: SimHandleBase, cycle_clock: CycleClock):
        g = lambda name: getattr(dut, f"{prefix}_{name}")  # noqa: E731
        self.clk = clock
        self.cycle_clock = cycle_clock
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
            cycle = self.cycle_clock.now()
            stalled: list[SimHandleBase] = []  # per event: a signal at 0 that must rise before it can happen
            if not ar:
                stalled.append(self.arvalid)
            elif self.arready.value:
                rd = AxiRead(self.araddr.value.to_unsigned(), self.arlen.value.to_unsigned(), cycle)
                self.reads.append(rd)
                self._open.append(rd)
            else:
                stalled.append(self.arready)
            # the R beats before the last are not looked at: asleep until RLAST rises
            if not r:
                stalled.append(self.rvalid)
            elif not self.rready.value:
                stalled.append(self.rready)
            elif not self.rlast.value:
                stalled.append(self.rlast)
            elif self._open:
                self._open.popleft().last_cycle = cycle
            if len(stalled) == 2:  # neither an AR nor a last R beat before one of these rises
                await until_edge(stalled)

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

    def __init__(self, signal: SimHandleBase, cycle_clock: CycleClock):
        self.signal = signal
        self.cycle_clock = cycle_clock
        self.start_cycle = 0
        self.start_level = 0
        self.cycles: list[int] = []
        self.levels: list[int] = []

    def _on_start(self) -> None:
        self.start_cycle = self.cycle_clock.now()
        self.start_level = 1 if str(self.signal.value) == "1" else 0

    async def _run(self) -> None:
        while True:
            await self.signal.value_change
            level = 1 if str(self.signal.value) == "1" else 0
            cycle = self.cycle_clock.now()
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
