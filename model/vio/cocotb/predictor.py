"""The predictor: the reference device fed what the driver does to the DUT.

- :class:`Predictor`: a :class:`vio.device.ReferenceDevice` with its own
  memory and its own backend instance (the same class and inputs as the one
  behind the DUT's streams). It predicts, per queue, the used elements (id,
  len), the bytes written into the writable buffers, the requests its backend
  receives, and the interrupt decision of every used entry (the reference
  device's ``on_used`` hook). It never reads a DUT signal.
- :class:`MirroredMemory`: the driver's guest memory, the DUT's bytes, with
  every driver write mirrored into the predictor's memory.
- :class:`PredictedHal`: the driver's HAL; every register access goes to the
  DUT and, mirrored, to the predictor, logged with its cycles
  (:class:`RegisterAccess`).

Pacing: the reference device handles a notify to the end inside the register
write; the DUT works afterwards. :class:`PredictedHal` therefore waits after
each QueueNotify until the DUT is quiescent (a ``settle`` coroutine supplied
by the test bench) before the driver goes on, and can hold notifies back while
a batch of transfers is posted (:meth:`PredictedHal.batch`: one notify per
queue at the end), so that the DUT sees several chains per notify.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from vio import constants as C
from vio.device.backend import Backend
from vio.device.mmio import ReferenceDevice
from vio.device.virtqueue import Chain, DeviceQueue
from vio.hal import VioHal
from vio.memory import GuestMemory
from vio.oracle import Region, used_ring_region
from vio.ring import VringLayout

from .clock import CycleClock

__all__ = ["MirroredMemory", "PredictedHal", "PredictedUse", "Predictor", "RegisterAccess"]


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


class Predictor:
    """A reference device fed the driver's register writes and memory writes.

    ``backend`` is the predictor's own backend instance (the same class and
    inputs as the one behind the DUT's streams). ``device_kw`` are the
    :class:`ReferenceDevice` keywords matching the DUT's configuration.
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
        self.device = ReferenceDevice(backend, self.mem, **device_kw)
        self.device.on_used.append(self._completed)

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

    def _completed(self, q: DeviceQueue, chain: Chain, interrupt: bool, why: str) -> None:
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
                interrupt=interrupt,
                reason=why,
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
        cycle_clock: CycleClock,
        base: int = 0,
        settle: Callable[[], Awaitable[None]] | None = None,
    ):
        self.dut_hal = dut_hal
        self.predictor = predictor
        self.mem = dut_hal.mem
        self.cycle_clock = cycle_clock
        self.base = base
        self.settle = settle
        self.accesses: list[RegisterAccess] = []
        self._deferred: list[int] | None = None

    async def read(self, addr: int, size: int = 4) -> int:
        offset = addr - self.base
        start = self.cycle_clock.now()
        value = await self.dut_hal.read(addr, size)
        end = self.cycle_clock.now()
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
        start = self.cycle_clock.now()
        await self.dut_hal.write(addr, value, size)
        end = self.cycle_clock.now()
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
