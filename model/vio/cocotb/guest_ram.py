"""Guest memory on the DUT's AXI4 master port: a bytearray served over
cocotbext-axi's AXI4 channel models, with bounds, latency, bus faults and
hooks on what the DUT does.

:class:`GuestRam` serves the AXI4 port ``{prefix}_*`` of a DUT from ``mem``
(the driver model's :class:`~vio.memory.GuestMemory` shares the same bytes):

- bounds: an access past the end of ``mem`` answers SLVERR instead of
  wrapping around;
- ``latency`` (cycles, changeable later through ``read_if.latency`` and
  ``write_if.latency``): a read burst's first data beat comes no earlier than
  ``latency`` cycles after its AR handshake, a write burst's B no earlier than
  ``latency`` cycles after its last W beat. Bursts in flight overlap their
  latency (a pipelined memory): the memory holds up to ``reads_in_flight``
  read bursts (default ``READS_IN_FLIGHT``, 16), like an AXI slave's read
  acceptance capability, so that a DUT with enough reads outstanding sees
  the bus's throughput, not the latency's. A burst counts from its AR
  handshake until its last beat is on the bus. Write bursts are taken at
  once; only their B is held back. The AR handshake's time comes from the AR
  channel's bus, which stamps every request it samples (:class:`_StampedARBus`;
  the R channel's bus writes only the signals that change, :class:`_RBus`);
- ``faults``, the fault hook (:class:`vio.cocotb.faults.FaultHook`, e.g. a
  :class:`~vio.cocotb.faults.FaultPlan`), asked on every beat: a read beat it
  hits answers its response with poison data; a write burst with a hit beat
  answers its response on B and writes none of its bytes;
- hooks: ``on_read`` (address, length) for every bus word the DUT reads
  (as a bus monitor sees it: past the end and faulted ones too), ``on_write``
  (address, bytes) for every run of strobed bytes written, and
  :meth:`GuestRam.until`, which waits for a condition on memory looked at after
  every write the DUT makes, or every write into a given span (no polling at
  every clock edge).

The burst loops are this module's own, on cocotbext-axi's public channel
models (``AxiARSink``, ``AxiRSource``, ``AxiAWSink``, ``AxiWSink``,
``AxiBSource``), rather than an override of ``AxiRam``'s: latency per burst,
poison data, a refused write burst and DECERR have no place in ``AxiRam``'s
public interface (its ``target`` read and write calls see one word at a time
and can only fail as SLVERR). They keep its checks: INCR bursts no wider than
the bus that do not cross 4 KiB, WLAST on the last beat.
"""

from __future__ import annotations

from collections.abc import Callable

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.queue import Queue
from cocotb.triggers import Event, RisingEdge, Timer
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiWriteBus
from cocotbext.axi.axi_channels import (
    AxiARBus,
    AxiARSink,
    AxiAWSink,
    AxiBSource,
    AxiBTransaction,
    AxiRBus,
    AxiRSource,
    AxiRTransaction,
    AxiWSink,
)
from cocotbext.axi.constants import AxiBurstType, AxiResp
from cocotbext.axi.memory import Memory

from .faults import FaultHook
from .waits import on_reset

POISON = 0xA5  # data of a read beat a fault hits: the DUT must not use it
QUEUE_LIMIT = 2  # requests each channel model takes ahead (as cocotbext-axi's AxiRam)
READS_IN_FLIGHT = 16  # read bursts the memory holds (AR taken, last beat not yet answered)


class _StampedARBus(AxiARBus):
    """The AR channel's signals; every request sampled (at its handshake) gets
    ``accepted_ns``, the simulation time of that handshake."""

    def sample(self, obj, strict=False):
        super().sample(obj, strict)
        obj.accepted_ns = get_sim_time(unit="ns")


class _RBus(AxiRBus):
    """The R channel's signals; ``drive`` writes a signal only when its value
    changes (the memory model is their only driver): RID and RRESP stay put
    over a burst, RLAST changes twice. ``on_last`` is called as a burst's last
    beat goes on the bus."""

    PAYLOAD = ("rid", "rdata", "rlast", "rresp", "ruser")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.driven: dict[str, object] = {}
        self.on_last: Callable[[], None] = lambda: None

    def drive(self, obj, strict=False):
        driven = self.driven
        for name in self.PAYLOAD:
            if hasattr(self, name):
                value = getattr(obj, name)
                if driven.get(name, self) != value:
                    driven[name] = value
                    getattr(self, name).value = value
        if obj.rlast:
            self.on_last()


class _Latency:
    """Waits until a due time, landing on the clock edge a loop of
    ``ClockCycles`` would (one timer, then that edge)."""

    def __init__(self, clock, period_ns: int, latency: int):
        self.clock = clock
        self.period_ns = period_ns
        self.latency = latency

    async def until(self, due_ns: float) -> None:
        ahead = due_ns - get_sim_time(unit="ns") - self.period_ns // 2
        if ahead > 0:
            await Timer(int(ahead), unit="ns")
        if due_ns > get_sim_time(unit="ns"):
            await RisingEdge(self.clock)


class _AcceptingARSink(AxiARSink):
    """The AR channel of a memory that holds up to ``limit`` read bursts: the
    requests queued here and those taken to be answered whose last beat is
    not yet on the bus (``full`` is cocotbext-axi's public test for dropping
    ARREADY)."""

    def __init__(self, *args, limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit
        self.answering = 0

    def full(self) -> bool:
        return self.count() + self.answering >= self.limit

    def taken(self) -> None:
        self.answering += 1

    def answered(self) -> None:
        self.answering -= 1
        self.wake_event.set()  # ARREADY may rise again

    def clear(self) -> None:
        super().clear()
        self.answering = 0


def _limited(channel):
    """One of cocotbext-axi's channel models, taking ``QUEUE_LIMIT`` requests ahead."""
    channel.queue_occupancy_limit = QUEUE_LIMIT
    return channel


class _Side:
    """What both directions share: the memory, the clock, latency, the fault
    hook, and a burst loop that a reset stops (channels cleared) and its end
    starts again."""

    def __init__(self, mem: Memory, clock, reset, active_level: bool, period_ns: int, latency: int, faults: FaultHook | None):
        self.mem = mem
        self.clock = clock
        self._latency = _Latency(clock, period_ns, latency)
        self.plan = faults
        self._task: cocotb.Task | None = None
        self._reset = reset
        self._active_level = active_level

    def _follow_reset(self) -> None:
        self._start()
        if self._reset is not None:
            on_reset(self._reset, self._active_level, self._on_reset)

    def _on_reset(self, active: bool) -> None:
        if active:
            if self._task is not None:
                self._task.cancel()
                self._task = None
            for channel in self.channels():
                channel.clear()
        else:
            self._start()

    def _start(self) -> None:
        if self._task is None:
            self._task = cocotb.start_soon(self._serve())

    async def _serve(self) -> None:
        raise NotImplementedError

    def channels(self) -> list:
        raise NotImplementedError

    @property
    def latency(self) -> int:
        return self._latency.latency

    @latency.setter
    def latency(self, cycles: int) -> None:
        self._latency.latency = cycles

    def _burst(self, kind: str, addr: int, size: int, burst: int, beats: int, lanes: int) -> int:
        """The aligned start of a burst, after cocotbext-axi's checks (and INCR
        only: the DUT issues nothing else)."""
        step = 1 << size
        cur = addr - addr % step
        assert AxiBurstType(burst) == AxiBurstType.INCR, f"{kind} burst type {AxiBurstType(burst)!r} at {addr:#x}"
        assert step <= lanes, f"{kind} burst at {addr:#x}: beat size {step} on a {lanes}-byte bus"
        assert 0x1000 - (cur & 0xFFF) >= step * beats, f"{kind} burst at {addr:#x} of {beats} beats crosses 4 KiB"
        return cur


class GuestRamRead(_Side):
    """Reads of guest memory (see the module docstring)."""

    def __init__(self, ar_bus, r_bus, clock, reset, mem: Memory, *, active_level: bool, period_ns: int, latency: int = 0,
                 faults: FaultHook | None = None, on_read=None, reads_in_flight: int = READS_IN_FLIGHT):  # fmt: skip
        if reads_in_flight < 1:
            raise ValueError(f"reads_in_flight {reads_in_flight}: the memory must accept at least one read burst")
        super().__init__(mem, clock, reset, active_level, period_ns, latency, faults)
        self.ar_channel = _AcceptingARSink(ar_bus, clock, reset, active_level, limit=reads_in_flight)
        r_bus.on_last = self.ar_channel.answered
        self.r_channel = _limited(AxiRSource(r_bus, clock, reset, active_level))
        self.byte_lanes = len(r_bus.rdata) // 8
        self.on_read: list[Callable[[int, int], None]] = on_read if on_read is not None else []
        self._follow_reset()

    def channels(self) -> list:
        return [self.ar_channel, self.r_channel]

    async def _serve(self) -> None:
        lanes, plan, r_channel, mem = self.byte_lanes, self.plan, self.r_channel, self.mem
        size_limit = mem.size
        while True:
            ar = await self.ar_channel.recv()
            self.ar_channel.taken()
            arid, addr, beats = int(ar.arid), int(ar.araddr), int(ar.arlen) + 1
            size = int(ar.arsize)
            cur = self._burst("read", addr, size, int(ar.arburst), beats, lanes)
            step = 1 << size
            if self.latency:
                await self._latency.until(ar.accepted_ns + self.latency * self._latency.period_ns)
            for n in range(beats):
                word = cur - cur % lanes
                for fn in self.on_read:
                    fn(word, lanes)
                resp = AxiResp.OKAY if plan is None else plan.hit("read", word, lanes, n, beats) or AxiResp.OKAY
                if resp != AxiResp.OKAY:
                    data = bytes([POISON]) * lanes
                elif word + lanes > size_limit:  # past guest memory
                    data, resp = bytes(lanes), AxiResp.SLVERR
                else:
                    data = mem.read(word, lanes)
                r = AxiRTransaction(rid=arid, rdata=int.from_bytes(data, "little"), rlast=n == beats - 1, rresp=resp)
                await r_channel.send(r)
                cur += step


class GuestRamWrite(_Side):
    """Writes of guest memory (see the module docstring)."""

    def __init__(self, bus: AxiWriteBus, clock, reset, mem: Memory, *, active_level: bool, period_ns: int, latency: int = 0,
                 faults: FaultHook | None = None, on_write=None):  # fmt: skip
        super().__init__(mem, clock, reset, active_level, period_ns, latency, faults)
        self.aw_channel = _limited(AxiAWSink(bus.aw, clock, reset, active_level))
        self.w_channel = _limited(AxiWSink(bus.w, clock, reset, active_level))
        self.b_channel = _limited(AxiBSource(bus.b, clock, reset, active_level))
        self.byte_lanes = len(bus.w.wdata) // 8
        self.wstrb_present = hasattr(bus.w, "wstrb")
        self.on_write: list[Callable[[int, bytes], None]] = on_write if on_write is not None else []
        self.written = Event()  # set at every write the DUT makes (GuestRam.until)
        self._responses: Queue = Queue()  # (due ns, B) while latency holds them back
        self._forward_task = cocotb.start_soon(self._forward())
        self._follow_reset()

    def channels(self) -> list:
        return [self.aw_channel, self.w_channel, self.b_channel]

    def _on_reset(self, active: bool) -> None:
        super()._on_reset(active)
        if active:  # responses of bursts the reset cancelled
            self._forward_task.cancel()
            self._responses = Queue()
            self._forward_task = cocotb.start_soon(self._forward())

    def _store(self, address: int, data: bytes) -> bool:
        """Write ``data`` at ``address``; False (SLVERR) past guest memory."""
        if address + len(data) > self.mem.size:
            return False
        self.mem.write(address, data)
        for fn in self.on_write:
            fn(address, data)
        self.written.set()
        return True

    async def _serve(self) -> None:
        lanes, plan = self.byte_lanes, self.plan
        all_lanes = (1 << lanes) - 1
        while True:
            aw = await self.aw_channel.recv()
            awid, addr, beats = int(aw.awid), int(aw.awaddr), int(aw.awlen) + 1
            size = int(aw.awsize)
            cur = self._burst("write", addr, size, int(aw.awburst), beats, lanes)
            step = 1 << size
            resp = AxiResp.OKAY
            held: list[tuple[int, bytes]] = []  # with a fault hook: written once the burst is known to be clean
            for n in range(beats):
                word = cur - cur % lanes
                w = await self.w_channel.recv()
                assert int(w.wlast) == (n == beats - 1), f"WLAST {int(w.wlast)} on beat {n} of {beats} at {addr:#x}"
                data = int(w.wdata).to_bytes(lanes, "little")
                for start, end in _runs(int(w.wstrb) if self.wstrb_present else all_lanes, lanes):
                    if plan is not None:
                        held.append((word + start, data[start:end]))
                    elif not self._store(word + start, data[start:end]):
                        resp = AxiResp.SLVERR
                if plan is not None:  # every beat asks (a fault may fire on several); the first hit answers
                    hit = plan.hit("write", word, lanes, n, beats)
                    if hit is not None and resp == AxiResp.OKAY:
                        resp = hit
                cur += step
            if plan is not None and resp == AxiResp.OKAY:
                for at, data in held:
                    if not self._store(at, data):
                        resp = AxiResp.SLVERR
                        break
            b = AxiBTransaction(bid=awid, bresp=resp)
            if self.latency or not self._responses.empty():  # (behind those still held: B stays in order)
                self._responses.put_nowait((get_sim_time(unit="ns") + self.latency * self._latency.period_ns, b))
            else:
                await self.b_channel.send(b)

    async def _forward(self) -> None:
        responses = self._responses
        while True:
            due, b = await responses.get()
            await self._latency.until(due)
            await self.b_channel.send(b)


def _runs(strobes: int, lanes: int) -> list[tuple[int, int]]:
    """[start, end) of every run of set bits in the ``lanes`` low bits of ``strobes``."""
    if strobes == (1 << lanes) - 1:
        return [(0, lanes)]
    runs, start = [], None
    for i in range(lanes + 1):
        on = i < lanes and strobes >> i & 1
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start, i))
            start = None
    return runs


class GuestRam(Memory):
    """Guest memory ``mem`` (a bytearray) served on the AXI4 port ``{prefix}_*``
    of ``dut``, clocked by ``clock``, with bounds, ``latency``, the fault hook
    ``faults`` and hooks on every access (see the module docstring). ``reset``
    (active at ``reset_active_level``) clears the bursts in flight."""

    def __init__(
        self,
        dut: SimHandleBase,
        prefix: str,
        clock: SimHandleBase,
        reset: SimHandleBase | None = None,
        *,
        mem: bytearray,
        period_ns: int,
        latency: int = 0,
        faults: FaultHook | None = None,
        reset_active_level: bool = True,
        reads_in_flight: int = READS_IN_FLIGHT,
    ):
        super().__init__(len(mem), mem)
        self.on_read: list[Callable[[int, int], None]] = []
        self.on_write: list[Callable[[int, bytes], None]] = []
        kw = dict(active_level=reset_active_level, period_ns=period_ns, latency=latency, faults=faults)
        self.write_if = GuestRamWrite(AxiWriteBus.from_prefix(dut, prefix), clock, reset, self, on_write=self.on_write, **kw)
        self.read_if = GuestRamRead(_StampedARBus.from_prefix(dut, prefix), _RBus.from_prefix(dut, prefix), clock, reset, self,
                                    on_read=self.on_read, reads_in_flight=reads_in_flight, **kw)  # fmt: skip

    def channels(self) -> list:
        """The five channel models (to pause them: :class:`vio.cocotb.gaps.Gaps`)."""
        return self.write_if.channels() + self.read_if.channels()

    async def until(self, condition: Callable[[], bool], span: tuple[int, int] | None = None) -> None:
        """Until ``condition()`` holds, looked at now and after every write the
        DUT makes into guest memory; with ``span`` ([start, end) of guest
        memory: what ``condition`` reads), after the writes that touch it only
        (the same moments a condition on those bytes can turn true, without a
        wake at every other write)."""
        if span is None:
            written = self.write_if.written
            while not condition():
                written.clear()
                await written.wait()
            return
        if condition():
            return
        start, end = span
        reached = Event()

        def seen(address: int, data: bytes) -> None:
            if address < end and address + len(data) > start and condition():
                reached.set()

        self.on_write.append(seen)
        try:
            await reached.wait()
        finally:
            self.on_write.remove(seen)
