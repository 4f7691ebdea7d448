"""A model :class:`~vio.device.backend.Backend` behind a device's backend ports.

The RTL talks to its device personality over the protocol of docs/rtl.md
("Backend protocol"); :class:`BackendStreams` turns that back into the calls
the reference device makes, so one backend object (console, block, entropy,
loopback) serves either device unchanged. The ports are bound by prefix, as
cocotbext-axi binds a bus: the request and answer streams by their
``AxiStreamBus`` prefixes, the rest (:class:`BackendBus`) by an optional
prefix before the names below:

=========================================  =====================================
device (virtio_mmio's names)               Backend
=========================================  =====================================
request packet (``m_axis``: tdest q,       ``request(q, readable, writable_len)``
tuser len)
answer packet (``s_axis``: tdest q)        its answer, now or via ``take(q)``
``backend_ready[q]``                       ``ready(q)``, re-evaluated after every
                                           request, answer and ``wake``
``backend_reset`` pulse                    ``reset()``
``config_changed`` pulse                   the backend's ``config_changed``
                                           callback (``attach``)
config port (word offset + strobes)        ``config()`` / ``config_write()``
=========================================  =====================================

Request packets are read with ``recv(compact=False)`` so that a packet with no
readable bytes (one beat, tkeep 0) keeps its tdest and tuser; an aborted
packet (tuser[32] on its closing null beat) is dropped unanswered. Each packet
is checked against the protocol: tdest and writable_len constant over the
packet, abort only on the last beat, tkeep full except a last beat contiguous
from lane 0 (a violation raises :class:`ProtocolError` and fails the test).

Answers keep per-queue request order: an immediate answer waits behind earlier
deferred ones of its queue, as the reference device's ``_deliver`` does. An
empty answer is one beat with tkeep 0 and tlast. Fault hook: the answers
named in ``drop`` ((queue, request number since the last backend_reset)) are
taken from the backend and never sent, as a backend that loses them would. ``backend_ready`` is written
right after the event that changed it (for a request, in the clock cycle after
its tlast handshake), which docs/rtl.md allows: the device samples it no
earlier than the second edge after that handshake.
"""

from collections import deque
from collections.abc import Iterator

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import RisingEdge
from cocotb_bus.bus import Bus
from cocotbext.axi import AxiStreamBus, AxiStreamFrame

from vio.device.backend import Backend

from .axis_beats import BeatSink, BeatSource
from .gaps import Gaps
from .waits import high

ABORT = 1 << 32  # tuser[32] of a request packet
LEN_MASK = 0xFFFFFFFF  # tuser[31:0]: the chain's writable length
CONFIG_STROBES = {0b0001, 0b0010, 0b0100, 0b1000, 0b0011, 0b1100, 0b1111}  # what the RTL forwards
CONFIG_PORT = ["cfg_req_addr", "cfg_req_write", "cfg_req_wdata", "cfg_req_wstrb", "cfg_req_valid", "cfg_req_ready", "cfg_rsp_rdata", "cfg_rsp_valid"]


class BackendBus(Bus):
    """The backend's signals beside the two streams: ``backend_ready`` (one
    bit per queue) and ``backend_reset``; optional ``config_changed`` and the
    config port ``cfg_req_*``/``cfg_rsp_*`` (a device without them has no
    config space). ``from_entity(dut)``: these names; ``from_prefix(dut,
    "dev0")``: ``dev0_backend_ready``... (cocotb-bus's ``Bus``, as
    cocotbext-axi's buses)."""

    _signals = ["backend_ready", "backend_reset"]
    _optional_signals = ["config_changed", *CONFIG_PORT]

    def __init__(self, entity=None, prefix=None, **kwargs):
        super().__init__(entity, prefix, self._signals, optional_signals=self._optional_signals, **kwargs)
        present = [s for s in CONFIG_PORT if hasattr(self, s)]
        if present and len(present) != len(CONFIG_PORT):
            missing = sorted(set(CONFIG_PORT) - set(present))
            raise ValueError(f"{prefix or 'the DUT'}: a config port needs all of {CONFIG_PORT}; missing {missing}")

    @classmethod
    def from_entity(cls, entity, **kwargs):
        return cls(entity, **kwargs)

    @classmethod
    def from_prefix(cls, entity, prefix, **kwargs):
        return cls(entity, prefix, **kwargs)

    @property
    def has_config_port(self) -> bool:
        return hasattr(self, "cfg_req_valid")


class ProtocolError(AssertionError):
    """The RTL broke the backend protocol of docs/rtl.md."""


class BackendStreams:
    """Serves ``backend`` to ``dut`` on ``clock``: requests from the stream
    ``requests`` (an ``AxiStreamBus`` prefix, the device's output), answers
    into ``answers`` (the device's input), the rest on the :class:`BackendBus`
    with prefix ``sideband`` (None: the names alone). The stream models
    follow ``reset`` (active at ``reset_active_level``). Optional gaps on the
    request and answer streams are drawn by ``gaps`` (a
    :class:`vio.cocotb.gaps.Gaps`, or one of its own).

    Counters for tests: ``requests``, ``answers``, ``aborted`` (packets
    dropped), ``resets`` (backend_reset pulses seen), ``config_reads``,
    ``config_writes``, ``config_changes``. ``log`` keeps (queue, readable,
    writable_len) of every request, in arrival order. ``drop`` is the fault
    hook of the module docstring.
    """

    def __init__(
        self,
        dut: SimHandleBase,
        backend: Backend,
        clock: SimHandleBase,
        reset: SimHandleBase | None = None,
        *,
        requests: str,
        answers: str,
        sideband: str | None = None,
        reset_active_level: bool = True,
        request_gaps: Iterator[bool] | None = None,
        answer_gaps: Iterator[bool] | None = None,
        gaps: Gaps | None = None,
    ):
        self.backend = backend
        self.clock = clock
        self.ports = ports = BackendBus(dut, sideband)
        self.num_queues = len(ports.backend_ready)
        self.gaps = gaps if gaps is not None else Gaps(clock)
        self.sink = BeatSink(AxiStreamBus.from_prefix(dut, requests), clock, reset, reset_active_level)
        self.source = BeatSource(AxiStreamBus.from_prefix(dut, answers), clock, reset, reset_active_level)
        self.lanes = self.sink.byte_lanes
        self.name = requests  # the request stream, in protocol errors
        self.requests = self.answers = self.aborted = self.resets = 0
        self.config_reads = self.config_writes = self.config_changes = 0
        self.log: list[tuple[int, bytes, int]] = []
        self.drop: set[tuple[int, int]] = set()
        # per queue, in request order: [request number, the answer or None while deferred]
        self._owed: list[deque[list]] = [deque() for _ in range(self.num_queues)]
        self._numbers = [0] * self.num_queues
        self._ready = 0
        self._pulse_task: cocotb.Task | None = None
        ports.backend_ready.value = 0
        if hasattr(ports, "config_changed"):
            ports.config_changed.value = 0
        if ports.has_config_port:
            ports.cfg_req_ready.value = 1
            ports.cfg_rsp_valid.value = 0
            ports.cfg_rsp_rdata.value = 0
        backend.attach(self._wake, self.config_changed)
        self._tasks = [cocotb.start_soon(self._serve_requests()), cocotb.start_soon(self._watch_backend_reset())]
        if ports.has_config_port:
            self._tasks.append(cocotb.start_soon(self._serve_config()))
        self.set_pause_generators(request_gaps, answer_gaps)
        self.refresh()

    # ----------------------------------------------------------- pauses
    def set_pause_generators(self, request: Iterator[bool] | None, answer: Iterator[bool] | None) -> None:
        """Gaps in m_axis tready (``request``) and s_axis tvalid (``answer``):
        a generator yields True for a cycle with a gap; None: no gaps."""
        self.gaps.set(self.sink, request)
        self.gaps.set(self.source, answer)

    def idle(self) -> bool:
        """Nothing owed to the device and nothing on either stream."""
        return self.source.idle() and not self.sink.active and not any(self._owed)

    # ------------------------------------------------------- backend_ready
    def refresh(self) -> None:
        """Drive backend_ready from ``backend.ready(q)`` (bits of queues the
        backend does not have stay 0). Called after every request, answer and
        wake; call it after changing a backend's state by hand without a wake."""
        value = 0
        for q in range(min(self.num_queues, self.backend.num_queues)):
            if self.backend.ready(q):
                value |= 1 << q
        if value != self._ready:
            self._ready = value
            self.ports.backend_ready.value = value

    # ------------------------------------------------------------ requests
    async def _serve_requests(self) -> None:
        while True:
            frame = await self.sink.recv(compact=False)
            queue, tuser = self._check_request(frame)
            if tuser & ABORT:
                self.aborted += 1
                continue
            readable = bytes(b for b, keep in zip(frame.tdata, frame.tkeep) if keep)
            self._request(queue, readable, tuser & LEN_MASK)

    def _check_request(self, frame: AxiStreamFrame) -> tuple[int, int]:
        """(tdest, tuser) of a request packet, after the protocol checks."""
        tdest, tuser = frame.tdest[-1], frame.tuser[-1]
        if any(d != tdest for d in frame.tdest) or any(u & LEN_MASK != tuser & LEN_MASK for u in frame.tuser):
            raise ProtocolError(f"{self.name}: tdest/writable_len change inside a packet: {sorted(set(frame.tdest))}, {sorted(set(frame.tuser))}")
        if any(u & ABORT for u in frame.tuser[: -self.lanes]):
            raise ProtocolError(f"{self.name}: abort (tuser[32]) set before the closing beat")
        if not 0 <= tdest < self.num_queues:
            raise ProtocolError(f"{self.name}: tdest {tdest} is not a queue (NUM_QUEUES {self.num_queues})")
        keep = frame.tkeep
        beats = [keep[i : i + self.lanes] for i in range(0, len(keep), self.lanes)]
        if tuser & ABORT:
            if any(beats[-1]):
                raise ProtocolError(f"{self.name}: an abort must close the packet with a null beat, got tkeep {beats[-1]}")
            return tdest, tuser
        for n, beat in enumerate(beats):
            count = sum(beat)
            if beat != [1] * count + [0] * (self.lanes - count):
                raise ProtocolError(f"{self.name}: beat {n} tkeep {beat} is not contiguous from lane 0")
            if n + 1 < len(beats) and count != self.lanes:
                raise ProtocolError(f"{self.name}: beat {n} of {len(beats)} is not full (tkeep {beat})")
        if len(beats) > 1 and not any(beats[-1]):
            raise ProtocolError(f"{self.name}: a null beat ends a packet that is not aborted")
        return tdest, tuser

    def _request(self, queue: int, readable: bytes, writable_len: int) -> None:
        self.requests += 1
        self.log.append((queue, readable, writable_len))
        answer = self.backend.request(queue, readable, writable_len)
        self._owed[queue].append([self._numbers[queue], answer])
        self._numbers[queue] += 1
        self._deliver(queue)
        self.refresh()

    def _deliver(self, queue: int) -> None:
        """Send answers of ``queue`` in request order, taking deferred ones."""
        owed = self._owed[queue]
        while owed:
            number, answer = owed[0]
            if answer is None:
                answer = owed[0][1] = self.backend.take(queue)
                if answer is None:
                    return
            owed.popleft()
            if (queue, number) not in self.drop:
                self._send(queue, answer)

    def _send(self, queue: int, answer: bytes) -> None:
        self.answers += 1
        if answer:
            self.source.send_nowait(AxiStreamFrame(answer, tdest=queue))
        else:  # an empty answer: one null beat that ends the packet
            self.source.send_nowait(AxiStreamFrame(b"\0", tkeep=[0], tdest=queue))

    def _wake(self, queue: int) -> None:
        if 0 <= queue < self.num_queues:
            self._deliver(queue)
        self.refresh()

    # ------------------------------------------------------- reset, config
    async def _watch_backend_reset(self) -> None:
        pulse = RisingEdge(self.ports.backend_reset)
        while True:
            await pulse
            self.resets += 1
            self.backend.reset()
            for owed in self._owed:
                owed.clear()
            self._numbers = [0] * self.num_queues
            self.source.clear()  # answers not started; one on the wire finishes (the device drops it)
            self.refresh()

    def config_changed(self) -> None:
        """The backend's config changed (its own callback, or a test's fault):
        a one-cycle config_changed pulse."""
        self.config_changes += 1
        if not hasattr(self.ports, "config_changed"):
            return
        if self._pulse_task is None or self._pulse_task.done():
            self.ports.config_changed.value = 1
            self._pulse_task = cocotb.start_soon(self._end_pulse())

    async def _end_pulse(self) -> None:
        await RisingEdge(self.clock)
        self.ports.config_changed.value = 0

    async def _serve_config(self) -> None:
        """cfg_req_ready is always high; each request is answered by a
        cfg_rsp_valid pulse in the cycle after its handshake."""
        port = self.ports
        edge = RisingEdge(self.clock)
        request = RisingEdge(port.cfg_req_valid)
        while True:
            await edge
            if not high(port.cfg_req_valid):
                await request
                continue
            addr = port.cfg_req_addr.value.to_unsigned()
            rdata = 0
            if high(port.cfg_req_write):
                self.config_writes += 1
                strobes = port.cfg_req_wstrb.value.to_unsigned()
                data = port.cfg_req_wdata.value.to_unsigned().to_bytes(4, "little")
                if strobes not in CONFIG_STROBES:
                    raise ProtocolError(f"config port: write strobes {strobes:04b} (only 1, 2 or 4 aligned bytes are forwarded)")
                lanes = [i for i in range(4) if strobes >> i & 1]
                self.backend.config_write(addr + lanes[0], data[lanes[0] : lanes[-1] + 1])
            else:
                self.config_reads += 1
                rdata = int.from_bytes(self.backend.config()[addr : addr + 4].ljust(4, b"\0"), "little")
            port.cfg_rsp_rdata.value = rdata
            port.cfg_rsp_valid.value = 1
            await edge
            port.cfg_rsp_valid.value = 0
            self.refresh()  # a config write may change what the backend is ready for
