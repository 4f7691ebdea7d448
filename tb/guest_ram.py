"""Guest memory on the DUT's AXI4 master port: cocotbext-axi's ``AxiRam`` over
a bytearray, with bounds, latency, bus faults and hooks on what the DUT does.

:class:`GuestRam` serves ``m_axi`` from ``mem`` (the driver model's
:class:`~vio.memory.GuestMemory` shares the same bytes):

- bounds: an access past the end of ``mem`` answers SLVERR instead of
  wrapping around;
- ``latency`` (cycles, changeable later through ``read_if.latency`` and
  ``write_if.latency``): a read burst's first data beat comes no earlier than
  ``latency`` cycles after its AR handshake, a write burst's B no earlier than
  ``latency`` cycles after its last W beat. Bursts in flight overlap their
  latency (a pipelined memory). The AR handshake's time comes from the AR
  channel's bus, which stamps every request it samples (:class:`_StampedARBus`;
  the R channel's bus writes only the signals that change, :class:`_RBus`);
- ``faults``, a :class:`tb.faults.FaultPlan`, consulted on every beat: a read
  beat it hits answers its response with poison data; a write burst with a
  hit beat answers its response on B and writes none of its bytes;
- hooks: ``on_read`` (address, length) for every bus word the DUT reads
  (as a bus monitor sees it: past the end and faulted ones too), ``on_write``
  (address, bytes) for every run of strobed bytes written, and
  :meth:`GuestRam.until`, which waits for a condition on memory looked at after
  every write the DUT makes (no polling at every clock edge).

The burst loops replace those of cocotbext-axi's ``AxiSlaveRead`` and
``AxiSlaveWrite`` (subclassed, as cocotbext-axi's own ``AxiRam`` does) and keep
their checks: INCR bursts no wider than the bus that do not cross 4 KiB,
WLAST on the last beat.
"""

from __future__ import annotations

from collections.abc import Callable

import cocotb
from cocotb.queue import Queue
from cocotb.triggers import Event, RisingEdge, Timer
from cocotb.utils import get_sim_time
from cocotbext.axi.axi_channels import AxiARBus, AxiBTransaction, AxiRBus, AxiReadBus, AxiRTransaction, AxiWriteBus
from cocotbext.axi.axi_ram import AxiRamRead, AxiRamWrite
from cocotbext.axi.constants import AxiBurstType, AxiResp
from cocotbext.axi.memory import Memory

POISON = 0xA5  # data of a read beat a fault hits: the DUT must not use it


class _StampedARBus(AxiARBus):
    """The AR channel's signals; every request sampled (at its handshake) gets
    ``accepted_ns``, the simulation time of that handshake."""

    def sample(self, obj, strict=False):
        super().sample(obj, strict)
        obj.accepted_ns = get_sim_time(unit="ns")


class _RBus(AxiRBus):
    """The R channel's signals; ``drive`` writes a signal only when its value
    changes (the memory model is their only driver): RID and RRESP stay put
    over a burst, RLAST changes twice."""

    PAYLOAD = ("rid", "rdata", "rlast", "rresp", "ruser")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.driven: dict[str, object] = {}

    def drive(self, obj, strict=False):
        driven = self.driven
        for name in self.PAYLOAD:
            if hasattr(self, name):
                value = getattr(obj, name)
                if driven.get(name, self) != value:
                    driven[name] = value
                    getattr(self, name).value = value


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


class GuestRamRead(AxiRamRead):
    """Reads of guest memory (see the module docstring)."""

    def __init__(self, bus, clock, reset, mem: bytearray, *, period_ns: int, latency: int = 0, plan=None, on_read=None):
        super().__init__(bus, clock, reset, mem=mem)
        self._latency = _Latency(clock, period_ns, latency)
        self.plan = plan
        self.on_read: list[Callable[[int, int], None]] = on_read if on_read is not None else []

    @property
    def latency(self) -> int:
        return self._latency.latency

    @latency.setter
    def latency(self, cycles: int) -> None:
        self._latency.latency = cycles

    async def _process_read(self) -> None:
        lanes, plan, r_channel = self.byte_lanes, self.plan, self.r_channel
        while True:
            ar = await self.ar_channel.recv()
            arid, addr, beats = int(ar.arid), int(ar.araddr), int(ar.arlen) + 1
            size, burst = int(ar.arsize), AxiBurstType(int(ar.arburst))
            step = 1 << size
            cur = addr - addr % step
            # what cocotbext-axi's slave asserts, and INCR only (the DUT issues nothing else)
            assert burst == AxiBurstType.INCR, f"read burst type {burst!r} at {addr:#x}"
            assert step <= lanes, f"read burst at {addr:#x}: beat size {step} on a {lanes}-byte bus"
            assert 0x1000 - (cur & 0xFFF) >= step * beats, f"read burst at {addr:#x} of {beats} beats crosses 4 KiB"
            if self.latency:
                await self._latency.until(ar.accepted_ns + self.latency * self._latency.period_ns)
            for n in range(beats):
                word = cur - cur % lanes
                for fn in self.on_read:
                    fn(word, lanes)
                resp = AxiResp.OKAY if plan is None else plan.hit("read", word, lanes, n, beats) or AxiResp.OKAY
                if resp != AxiResp.OKAY:
                    data = bytes([POISON]) * lanes
                elif word + lanes > self.size:  # past guest memory
                    data, resp = bytes(lanes), AxiResp.SLVERR
                else:
                    data = self.read(word, lanes)
                r = AxiRTransaction(rid=arid, rdata=int.from_bytes(data, "little"), rlast=n == beats - 1, rresp=resp)
                await r_channel.send(r)
                cur += step


class GuestRamWrite(AxiRamWrite):
    """Writes of guest memory (see the module docstring)."""

    def __init__(self, bus, clock, reset, mem: bytearray, *, period_ns: int, latency: int = 0, plan=None, on_write=None):
        self._responses: Queue | None = None  # (due ns, B) while latency holds them back
        super().__init__(bus, clock, reset, mem=mem)
        self._latency = _Latency(clock, period_ns, latency)
        self.plan = plan
        self.on_write: list[Callable[[int, bytes], None]] = on_write if on_write is not None else []
        self.written = Event()  # set at every write the DUT makes (GuestRam.until)
        self._responses = Queue()
        self._forward_task = cocotb.start_soon(self._forward())

    @property
    def latency(self) -> int:
        return self._latency.latency

    @latency.setter
    def latency(self, cycles: int) -> None:
        self._latency.latency = cycles

    def _handle_reset(self, state: bool) -> None:
        super()._handle_reset(state)
        if state and self._responses is not None:  # (None while the base class is being built)
            self._forward_task.cancel()  # responses of bursts the reset cancelled
            self._responses = Queue()
            self._forward_task = cocotb.start_soon(self._forward())

    def _store(self, address: int, data: bytes) -> bool:
        """Write ``data`` at ``address``; False (SLVERR) past guest memory."""
        if address + len(data) > self.size:
            return False
        self.write(address, data)
        for fn in self.on_write:
            fn(address, data)
        self.written.set()
        return True

    async def _process_write(self) -> None:
        lanes, plan = self.byte_lanes, self.plan
        while True:
            aw = await self.aw_channel.recv()
            awid, addr, beats = int(aw.awid), int(aw.awaddr), int(aw.awlen) + 1
            size, burst = int(aw.awsize), AxiBurstType(int(aw.awburst))
            step = 1 << size
            cur = addr - addr % step
            assert burst == AxiBurstType.INCR, f"write burst type {burst!r} at {addr:#x}"
            assert step <= lanes, f"write burst at {addr:#x}: beat size {step} on a {lanes}-byte bus"
            assert 0x1000 - (cur & 0xFFF) >= step * beats, f"write burst at {addr:#x} of {beats} beats crosses 4 KiB"
            resp = AxiResp.OKAY
            held: list[tuple[int, bytes]] = []  # with a fault plan: written once the burst is known to be clean
            for n in range(beats):
                word = cur - cur % lanes
                w = await self.w_channel.recv()
                assert int(w.wlast) == (n == beats - 1), f"WLAST {int(w.wlast)} on beat {n} of {beats} at {addr:#x}"
                data = int(w.wdata).to_bytes(lanes, "little")
                for start, end in _runs(int(w.wstrb) if self.wstrb_present else self.strb_mask, lanes):
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
    """cocotbext-axi's ``AxiRam`` over ``mem`` (a bytearray) on the ``prefix``
    AXI4 port of ``dut``, with
    bounds, ``latency``, ``faults`` and hooks (see the module docstring)."""

    def __init__(self, dut, prefix: str, clock, reset, mem: bytearray, *, period_ns: int, latency: int = 0, faults=None):
        super().__init__(len(mem), mem)
        self.on_read: list[Callable[[int, int], None]] = []
        self.on_write: list[Callable[[int, bytes], None]] = []
        read_bus = AxiReadBus.from_channels(_StampedARBus.from_prefix(dut, prefix), _RBus.from_prefix(dut, prefix))
        kw = dict(period_ns=period_ns, latency=latency, plan=faults)
        self.write_if = GuestRamWrite(AxiWriteBus.from_prefix(dut, prefix), clock, reset, self.mem, on_write=self.on_write, **kw)
        self.read_if = GuestRamRead(read_bus, clock, reset, self.mem, on_read=self.on_read, **kw)

    def channels(self) -> list:
        w, r = self.write_if, self.read_if
        return [w.aw_channel, w.w_channel, w.b_channel, r.ar_channel, r.r_channel]

    async def until(self, condition: Callable[[], bool]) -> None:
        """Until ``condition()`` holds, looked at now and after every write the
        DUT makes into guest memory."""
        written = self.write_if.written
        while not condition():
            written.clear()
            await written.wait()
