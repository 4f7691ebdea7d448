"""The steps every hostile scenario is made of, over any :class:`Target`.

A :class:`Session` owns one driver model on the target: it initialises it,
hands out guest buffers, writes rings by hand (:class:`HandRing`), and runs
each step under the shadow-memory oracle (only the used rings and the writable
buffers of accepted chains may change). The ``expect_*`` checks read what the
device shows (DEVICE_ERROR, Status, InterruptStatus, the IRQ line, used rings)
and append it to ``observations``, the record a run on the RTL is compared
with (``tests/test_hostile_rtl.py`` runs each scenario on both).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from .. import constants as C
from ..constants import Cause
from ..device.loopback import loopback_answer
from ..driver import VIO_IOV_FLAGS_WRITE, VioDriver, VioQueue, VioTransfer
from ..drivers.base import ClassDriver
from ..oracle import Region, ShadowMemory, allowed_regions, landmark_regions
from ..ring import DESC_SIZE, Desc, VringLayout, u16, unpack_used_elem
from .target import Target

R = 0  # a readable descriptor
NEXT = C.VRING_DESC_F_NEXT
W = C.VRING_DESC_F_WRITE
IND = C.VRING_DESC_F_INDIRECT
INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
STATUS = C.VIRTIO_MMIO_STATUS
ISR = C.VIRTIO_MMIO_INTERRUPT_STATUS
ERROR = C.VIO_MMIO_DEVICE_ERROR
INT_VRING = C.VIRTIO_MMIO_INT_VRING
INT_CONFIG = C.VIRTIO_MMIO_INT_CONFIG
WAIT_NS = 2_000_000  # bound of every driver-side wait (simulated time)


class HandRing:
    """Descriptors and avail entries written straight into a live queue's ring,
    continuing from where the driver left its avail index."""

    def __init__(self, s: "Session", queue: int = 0, layout: VringLayout | None = None, idx: int | None = None):
        q = s.drv.queue[queue]
        self.mem = s.mem
        self.queue = queue
        self.layout = layout if layout is not None else q.layout
        assert self.layout is not None
        self.num = self.layout.num
        self.idx = q.avail_idx if idx is None else idx

    @property
    def table(self) -> tuple[int, int]:
        return self.layout.desc, self.layout.desc + DESC_SIZE * self.num

    def desc(self, index: int, addr: int, length: int, flags: int = 0, next: int = 0, table: int | None = None) -> None:
        base = self.layout.desc if table is None else table
        self.mem.write(base + DESC_SIZE * index, Desc(addr, length, flags, next).pack())

    def offer(self, *heads: int) -> None:
        for head in heads:
            self.mem.write16(self.layout.avail_ring(self.idx % self.num), head)
            self.idx = u16(self.idx + 1)
        self.mem.write16(self.layout.avail_idx, self.idx)

    def set_avail_idx(self, value: int) -> None:
        self.idx = u16(value)
        self.mem.write16(self.layout.avail_idx, self.idx)

    @property
    def used_idx(self) -> int:
        return self.mem.read16(self.layout.used_idx)

    def used(self, idx: int) -> tuple[int, int]:
        return unpack_used_elem(self.mem.read(self.layout.used_ring(idx % self.num), 8))


class Session:
    """One driver model on ``target``; ``features`` are the driver's, ``sizes``
    the requested queue sizes (shrunk to QueueNumMax by the driver)."""

    def __init__(self, target: Target, features: int = 0, sizes: Iterable[int] | None = None):
        self.t = target
        self.mem = target.mem
        self.hal = target.hal
        self.base = target.base
        self.backend = target.backend
        self.features = features
        sizes = list(sizes) if sizes is not None else [target.queue_num_max] * target.num_queues
        self.drv = VioDriver(self.base, drv_features=features, queue=[VioQueue(f"q{i}", n) for i, n in enumerate(sizes)], hal=self.hal)
        self.observations: list[tuple] = []

    # ------------------------------------------------------------ registers
    async def reg(self, offset: int, size: int = 4) -> int:
        return await self.hal.read(self.base + offset, size)

    async def wreg(self, offset: int, value: int, size: int = 4) -> None:
        await self.hal.write(self.base + offset, value, size)

    async def select(self, queue: int) -> None:
        await self.wreg(C.VIRTIO_MMIO_QUEUE_SEL, queue)

    async def pfn_of(self, queue: int) -> int:
        await self.select(queue)
        return await self.reg(C.VIRTIO_MMIO_QUEUE_PFN)

    async def notify(self, queue: int) -> None:
        await self.wreg(C.VIRTIO_MMIO_QUEUE_NOTIFY, queue)
        await self.t.settle()

    async def init(self) -> "Session":
        await self.drv.init()
        await self.t.settle()
        return self

    def note(self, *what) -> None:
        self.observations.append(what)

    # ------------------------------------------------------------ memory
    def buf(self, data: bytes | int, fill: int = 0, align: int = 16) -> int:
        """A fresh guest buffer holding ``data`` (bytes), or ``data`` bytes of ``fill``."""
        raw = data if isinstance(data, bytes) else bytes([fill]) * data
        addr = self.mem.alloc(len(raw), align)
        self.mem.write(addr, raw)
        return addr

    def ring(self, queue: int = 0, **kw) -> HandRing:
        return HandRing(self, queue, **kw)

    def shadow(self, allow: Iterable[Region] = ()) -> ShadowMemory:
        return ShadowMemory(self.mem, allowed=allowed_regions(self.drv) + list(allow), landmarks=landmark_regions(self.drv))

    async def step(self, action: Callable[[], Awaitable[None]], *, allow: Iterable[Region] = (), name: str = "step") -> list[tuple[int, int]]:
        """``action`` then settling, under the oracle: every changed byte, and
        every byte the device wrote (even with the value already there), must
        be inside the used rings, the driver's posted writable buffers or
        ``allow``. Returns the device's writes (address, length)."""
        shadow = self.shadow(allow)
        with self.t.device_writes() as writes:
            await action()
            await self.t.settle()
        shadow.check(f"{self.t.name}: {name}")
        for addr, length in writes:
            shadow.check_write(addr, length, f"{self.t.name}: {name}")
        return writes

    # ------------------------------------------------------------ verdicts
    async def device_state(self) -> tuple[int, int, int, bool]:
        return (await self.reg(ERROR), await self.reg(STATUS), await self.reg(ISR), self.hal.irq(0))

    async def expect_broken(self, cause: Cause, queue: int, info: int) -> None:
        """Broken as hostile-input.md defines it, with exactly this DEVICE_ERROR."""
        err, status, isr, irq = await self.device_state()
        self.note("broken", err, status, isr, irq)
        raw = err & 0xFF
        got = (Cause(raw) if raw in Cause._value2member_map_ else raw, err >> 8 & 0xFF, err >> 16)
        assert got == (cause, queue, info & 0xFFFF), f"{self.t.name}: DEVICE_ERROR {err:#010x}, expected {cause.name} queue {queue} info {info}"
        assert status & C.VIRTIO_CONFIG_S_NEEDS_RESET, f"{self.t.name}: Status {status:#x} without NEEDS_RESET"
        assert isr & INT_CONFIG and irq, f"{self.t.name}: InterruptStatus {isr:#x}, irq {irq}: no config interrupt"

    async def expect_healthy(self) -> None:
        err, status, isr, irq = await self.device_state()
        self.note("healthy", err, status)
        assert err == 0, f"{self.t.name}: DEVICE_ERROR {err:#010x} on a legal input"
        assert not status & C.VIRTIO_CONFIG_S_NEEDS_RESET

    async def notify_broken(
        self, ring: HandRing, cause: Cause, info: int, *, allow: Iterable[Region] = (), unread: Iterable[tuple[int, int, str]] = ()
    ) -> None:
        """Notify ``ring``'s queue and expect broken with (cause, info): no used
        entry, no write at all, the backend never asked, and no device read of
        any ``unread`` range (start, end, what)."""
        used_before = ring.used_idx
        received = len(self.backend.received)
        reads_before = len(self.t.dma_reads)
        writes = await self.step(lambda: self.notify(ring.queue), allow=allow, name=f"notify expecting {cause.name}")
        await self.expect_broken(cause, ring.queue, info)
        assert writes == [], f"{self.t.name}: a broken chain must cause no write, written: {writes}"
        assert ring.used_idx == used_before, "a broken chain must post no used entry"
        assert len(self.backend.received) == received, "a broken chain must not reach the backend"
        reads = self.t.dma_reads[reads_before:]
        for start, end, what in unread:
            hit = [(a, n) for a, n in reads if a < end and start < a + n]
            assert not hit, f"{self.t.name}: {what} [{start:#x}, {end:#x}) must not be read, read at {[hex(a) for a, _ in hit]}"

    async def notify_ok(self, ring: HandRing, *completions: tuple[int, int], allow: Iterable[Region] = ()) -> None:
        """Notify and expect these (head, used.len) entries, in order, and a healthy device."""
        used_before = ring.used_idx
        await self.step(lambda: self.notify(ring.queue), allow=allow, name="notify of a legal ring")
        await self.expect_healthy()
        got = [ring.used(used_before + i) for i in range(u16(ring.used_idx - used_before))]
        self.note("used", got, [(q, bytes(rd), n) for q, rd, n in self.backend.received])
        assert got == list(completions), f"{self.t.name}: used entries {got}, expected {list(completions)}"

    async def transfer_works(self, queue: int = 0) -> None:
        """A normal transfer through the driver model, its completion under the
        oracle (held while the driver writes, released inside the step)."""
        data = b"recovered!"
        rd = self.buf(data)
        wr = self.buf(24, fill=0xEE)
        tfr = VioTransfer(queue, [(rd, len(data)), (wr, 24, VIO_IOV_FLAGS_WRITE)])
        self.backend.hold = True
        await self.drv.submit(tfr)
        await self.t.settle()

        async def release() -> None:
            self.backend.release()

        writes = await self.step(release, name="completion of a normal transfer")
        assert any(wr <= a < wr + 24 for a, _ in writes), f"{self.t.name}: no write of the answer seen: {writes}"
        await ClassDriver(self.drv, timeout_ns=WAIT_NS).wait(tfr)
        assert tfr.done and tfr.actual == 24
        assert self.mem.read(wr, 24) == loopback_answer(queue, data, 24)

    async def reset_device(self) -> None:
        await self.wreg(STATUS, 0)
        await self.t.settle()
        self.backend.hold = False
        self.backend.limit = None

    async def recover(self) -> None:
        """Status=0 clears everything; then a fresh init and a transfer on each queue work."""
        await self.reset_device()
        state = await self.device_state()
        pfns = [await self.pfn_of(i) for i in range(self.t.num_queues)]
        self.note("after reset", state, pfns)
        assert state == (0, 0, 0, False), f"{self.t.name}: after Status=0 (DEVICE_ERROR, Status, ISR, irq) = {state}"
        assert pfns == [0] * self.t.num_queues
        await self.init()
        await self.expect_healthy()
        for q in range(self.t.num_queues):
            await self.transfer_works(q)

    async def held(self, count: int, queue: int = 0) -> list[VioTransfer]:
        """``count`` one-buffer transfers, popped by the device and held in flight."""
        self.backend.hold = True
        tfrs = []
        for _ in range(count):
            tfr = VioTransfer(queue, [(self.buf(4), 4, VIO_IOV_FLAGS_WRITE)])
            await self.drv.submit(tfr)
            tfrs.append(tfr)
        await self.t.settle()
        return tfrs
