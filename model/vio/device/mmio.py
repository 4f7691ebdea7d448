"""The reference device: a legacy virtio-mmio register block in front of the
generic ring walker, with the device personality in a :class:`Backend`.

Deterministic and free of timing: every register write is handled to the end
before the call returns, so the same writes, memory and backend input always
give the same used rings, data and interrupt decisions. The RTL is judged
against it.
"""

import logging
from collections.abc import Callable
from contextlib import contextmanager

from .. import constants as C
from ..constants import Cause
from ..errors import DeviceModelError
from ..memory import GuestMemory
from ..ring import is_pow2, vring_need_event
from .backend import Backend, BackendError
from .virtqueue import Broken, Chain, DeviceQueue, DmaWindow

log = logging.getLogger(__name__)

DEFAULT_VENDOR_ID = C.VIO_VENDOR_ID
DEFAULT_INDIRECT_MAX = C.VIO_INDIRECT_MAX
BUS_INFO_READ, BUS_INFO_WRITE = C.VIO_BUS_INFO_READ, C.VIO_BUS_INFO_WRITE  # DEVICE_ERROR info of a BUS_ERROR
TRANSPORT_FEATURES = C.VIO_TRANSPORT_FEATURES


class ReferenceDevice:
    """A legacy (Version 1) virtio-mmio device over ``mem``, served by ``backend``.

    ``dma_window`` (base, size) bounds every address the device touches; it
    defaults to the whole of ``mem``. ``ring_index_base`` starts avail/used
    indices somewhere other than 0 (a test hook: it lets u16 wrap-around be
    reached without 65536 transfers; the driver model has the same hook).
    """

    def __init__(
        self,
        backend: Backend,
        mem: GuestMemory,
        *,
        vendor_id: int = DEFAULT_VENDOR_ID,
        queue_num_max: int = 256,
        transport_features: int = TRANSPORT_FEATURES,
        dma_window: tuple[int, int] | None = None,
        indirect_max: int = DEFAULT_INDIRECT_MAX,
        ring_index_base: int = 0,
    ):
        if not is_pow2(queue_num_max) or queue_num_max > 32768:
            raise DeviceModelError(f"queue_num_max must be a power of two <= 32768, got {queue_num_max}")
        if not 1 <= indirect_max <= 32768:
            raise DeviceModelError(f"indirect_max must be 1..32768, got {indirect_max}")
        self.backend = backend
        self.mem = mem
        self.vendor_id = vendor_id
        self.host_features = backend.device_features | transport_features
        base, size = dma_window if dma_window is not None else (mem.base, mem.size)
        self.window = DmaWindow(base, size)
        self.indirect_max = indirect_max
        self.ring_index_base = ring_index_base
        self.queues = [DeviceQueue(i, queue_num_max) for i in range(backend.num_queues)]
        for q in self.queues:
            q.ready_seen = backend.ready(q.index)
        self.interrupts_raised = 0  # count of 0 -> 1 edges of the IRQ line
        # told of every used entry published: (queue, chain, interrupts, why);
        # the co-simulation's predictor records them (vio.cocotb.predictor)
        self.on_used: list[Callable[[DeviceQueue, Chain, bool, str], None]] = []
        backend.attach(self._wake, self._config_changed)
        # only a power-on reset sets it: Status=0 keeps it, as QEMU (Linux writes
        # it once, before its Status=0; docs/linux.md, the reset table)
        self.page_size = 4096
        self._reset()

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        """Status=0: everything but GuestPageSize back to its reset value."""
        self.status = 0
        self.isr = 0
        self.host_features_sel = 0
        self.guest_features_sel = 0
        self.guest_features = [0, 0]
        self.queue_sel = 0
        self.error = 0  # DEVICE_ERROR register: {info, queue, cause}
        for q in self.queues:
            q.reset()

    @property
    def broken(self) -> bool:
        return self.error != 0

    @property
    def cause(self) -> Cause:
        return Cause(self.error & 0xFF)

    @property
    def features(self) -> int:
        """What the driver accepted of what the device offers."""
        return (self.guest_features[0] | self.guest_features[1] << 32) & self.host_features

    def _has(self, bit: int) -> bool:
        return bool(self.features >> bit & 1)

    @property
    def irq(self) -> bool:
        return self.isr != 0

    def _raise(self, bits: int) -> None:
        if not self.isr:
            self.interrupts_raised += 1
        self.isr |= bits

    def _break(self, err: Broken) -> None:
        log.warning("device broken: %s", err)
        self.error = err.info << 16 | (err.queue & 0xFF) << 8 | int(err.cause)
        for q in self.queues:
            q.in_flight.clear()
        self._raise(C.VIRTIO_MMIO_INT_CONFIG)

    # -------------------------------------------------------------- registers
    def read(self, offset: int, size: int = 4) -> int:
        """A register read; wrong widths and unmapped offsets read 0 (case 23)."""
        if offset >= C.VIRTIO_MMIO_CONFIG:
            cfg = self.backend.config()
            off = offset - C.VIRTIO_MMIO_CONFIG
            raw = cfg[off : off + size] if size in (1, 2, 4) and off % size == 0 else b""
            return int.from_bytes(raw.ljust(size, b"\0"), "little") if raw else 0
        if size != 4 or offset % 4:
            return 0
        q = self._selected()
        regs = {
            C.VIRTIO_MMIO_MAGIC_VALUE: C.MAGIC_VALUE,
            C.VIRTIO_MMIO_VERSION: C.LEGACY_VERSION,
            C.VIRTIO_MMIO_DEVICE_ID: self.backend.device_id,
            C.VIRTIO_MMIO_VENDOR_ID: self.vendor_id,
            C.VIRTIO_MMIO_DEVICE_FEATURES: self._feature_word(self.host_features, self.host_features_sel),
            C.VIRTIO_MMIO_QUEUE_NUM_MAX: q.num_max if q else 0,
            C.VIRTIO_MMIO_QUEUE_PFN: q.pfn if q else 0,
            C.VIRTIO_MMIO_INTERRUPT_STATUS: self.isr,
            C.VIRTIO_MMIO_STATUS: self.status | (C.VIRTIO_CONFIG_S_NEEDS_RESET if self.broken else 0),
            C.VIO_MMIO_DEVICE_ERROR: self.error,
        }
        return regs.get(offset, 0)

    @staticmethod
    def _feature_word(features: int, sel: int) -> int:
        return features >> (32 * sel) & 0xFFFFFFFF if sel < 2 else 0

    def _selected(self) -> DeviceQueue | None:
        return self.queues[self.queue_sel] if self.queue_sel < len(self.queues) else None

    def write(self, offset: int, value: int, size: int = 4) -> None:
        """A register write; wrong widths, read-only and unmapped offsets are ignored."""
        if offset >= C.VIRTIO_MMIO_CONFIG:
            if size in (1, 2, 4) and offset % size == 0:
                self.backend.config_write(offset - C.VIRTIO_MMIO_CONFIG, (value & ((1 << 8 * size) - 1)).to_bytes(size, "little"))
            return
        if size != 4 or offset % 4:
            return
        value &= 0xFFFFFFFF
        q = self._selected()
        any_live = any(x.live for x in self.queues)
        if offset == C.VIRTIO_MMIO_STATUS:
            if value == 0:
                self._reset()
                self.backend.reset()
            else:
                self.status = value & ~C.VIRTIO_CONFIG_S_NEEDS_RESET & 0xFF
        elif offset == C.VIRTIO_MMIO_DEVICE_FEATURES_SEL:
            self.host_features_sel = value
        elif offset == C.VIRTIO_MMIO_DRIVER_FEATURES_SEL:
            self.guest_features_sel = value
        elif offset == C.VIRTIO_MMIO_DRIVER_FEATURES:
            # frozen once DRIVER_OK is set: the walker's rules must not change under it
            if self.guest_features_sel < 2 and not self.status & C.VIRTIO_CONFIG_S_DRIVER_OK:
                self.guest_features[self.guest_features_sel] = value
        elif offset == C.VIRTIO_MMIO_GUEST_PAGE_SIZE:
            if is_pow2(value) and not any_live:  # case 17
                self.page_size = value
        elif offset == C.VIRTIO_MMIO_QUEUE_SEL:
            self.queue_sel = value
        elif offset == C.VIRTIO_MMIO_QUEUE_NUM:
            if q and not q.live and is_pow2(value) and value <= q.num_max:  # cases 15, 17
                q.num = value
        elif offset == C.VIRTIO_MMIO_QUEUE_ALIGN:
            if q and not q.live and is_pow2(value):
                q.align = value
        elif offset == C.VIRTIO_MMIO_QUEUE_PFN:
            self._write_pfn(q, value)
        elif offset == C.VIRTIO_MMIO_QUEUE_NOTIFY:
            if value < len(self.queues):
                q = self.queues[value]
                self._sample_ready(q)
                if q.live and not self.broken:
                    q.kick = True
                self._service(q)
        elif offset == C.VIRTIO_MMIO_INTERRUPT_ACK:
            self.isr &= ~value

    def _write_pfn(self, q: DeviceQueue | None, pfn: int) -> None:
        if q is None or self.broken:
            return
        if pfn == 0:
            q.stop()  # case 18
        elif not q.live:
            try:
                q.activate(pfn, self.page_size, self.window, self.ring_index_base)
            except Broken as err:
                self._break(err)

    # ------------------------------------------------------------ the walker
    def _wake(self, queue: int) -> None:
        """The backend has more to say about ``queue``: finish what it answers,
        and if it has just become ready (the RTL's rising ``backend_ready``),
        look at the avail ring again without a notify."""
        if 0 <= queue < len(self.queues):
            q = self.queues[queue]
            self._sample_ready(q)
            self._service(q)

    def _sample_ready(self, q: DeviceQueue) -> None:
        """Track ``backend.ready(q)``: a rise kicks a live queue, as a notify
        does (an answer arriving does not: the RTL pops only on a kick)."""
        ready = self.backend.ready(q.index)
        if ready and not q.ready_seen and q.live and not self.broken:
            q.kick = True
        q.ready_seen = ready

    def _config_changed(self) -> None:
        if not self.broken:
            self._raise(C.VIRTIO_MMIO_INT_CONFIG)

    def _service(self, q: DeviceQueue) -> None:
        """Run queue ``q`` as far as it goes: deliver deferred answers, then pop
        and answer chains while the backend is ready (notify ignored while
        broken or on an inactive queue: case 16, 20)."""
        if self.broken or not q.live:
            return
        try:
            self._deliver(q)
            indirect_ok = self._has(C.VIRTIO_RING_F_INDIRECT_DESC)
            while q.kick and not self.broken and self.backend.ready(q.index):
                # avail.idx is fetched only when the last value read is used
                # up; nothing new there uses the kick up
                if q.avail_empty() and not q.read_avail_idx(self.mem):
                    q.kick = False
                    break
                chain = q.pop(self.mem, self.window, indirect_ok, self.indirect_max)
                if self._has(C.VIRTIO_RING_F_EVENT_IDX):
                    with self._writing(q):
                        self.mem.write16(q.layout.avail_event, q.last_avail)
                readable = b"".join(self.mem.read(a, n) for a, n in chain.readable)
                chain.answer = self.backend.request(q.index, readable, chain.writable_len)
                self._sample_ready(q)
                self._deliver(q)
        except Broken as err:
            self._break(err)
        except IndexError as err:  # a read memory did not answer: the model's SLVERR/DECERR
            self._break(Broken(Cause.BUS_ERROR, q.index, BUS_INFO_READ, str(err)))

    @contextmanager
    def _writing(self, q: DeviceQueue):
        """Memory writes inside: one that memory does not answer is a BUS_ERROR
        with info 1 (the RTL's: 0 for a read, 1 for a write)."""
        try:
            yield
        except IndexError as err:
            raise Broken(Cause.BUS_ERROR, q.index, BUS_INFO_WRITE, str(err)) from err

    def _deliver(self, q: DeviceQueue) -> None:
        """Complete in-flight chains of ``q`` in pop order, as answers arrive."""
        while q.owed:  # answers to chains dropped by QueuePFN=0 come first (case 18)
            if self.backend.take(q.index) is None:
                return
            q.owed -= 1
        while q.in_flight:
            chain = q.in_flight[0]
            if chain.answer is None:
                chain.answer = self.backend.take(q.index)
                if chain.answer is None:
                    return
            q.in_flight.popleft()
            self._complete(q, chain)

    def _complete(self, q: DeviceQueue, chain: Chain) -> None:
        answer = chain.answer or b""
        if len(answer) > chain.writable_len:
            raise BackendError(
                f"backend answered {len(answer)} bytes for a chain of {chain.writable_len} writable bytes (queue {q.index}, head {chain.head})"
            )
        pos = 0
        for addr, length in chain.writable:
            if pos >= len(answer):
                break
            part = answer[pos : pos + length]
            with self._writing(q):
                self.mem.write(addr, part)
            pos += len(part)
        with self._writing(q):
            old, new = q.publish(self.mem, chain, len(answer))
        interrupt, why = self.interrupt_decision(q, old, new)
        if interrupt:
            self._raise(C.VIRTIO_MMIO_INT_VRING)
        for listener in self.on_used:
            listener(q, chain, interrupt, why)

    def interrupt_decision(self, q: DeviceQueue, old: int, new: int) -> tuple[bool, str]:
        """Whether the used entry that moved used.idx of ``q`` from ``old`` to
        ``new`` interrupts, and the rule that decided (spec 2.7.7 / 2.7.10;
        NOTIFY_ON_EMPTY as QEMU)."""
        assert q.layout is not None
        noe = self._has(C.VIRTIO_F_NOTIFY_ON_EMPTY)
        if noe and not q.in_flight and q.avail_empty():
            return True, "NOTIFY_ON_EMPTY: nothing in flight and the avail ring used up"
        if self._has(C.VIRTIO_RING_F_EVENT_IDX):
            event = self.mem.read16(q.layout.used_event)
            result = vring_need_event(event, new, old)
            why = f"EVENT_IDX: used_event {event}, used.idx {old} -> {new}" + (" passes it" if result else " does not pass it")
        else:
            flag = self.mem.read16(q.layout.avail_flags) & C.VRING_AVAIL_F_NO_INTERRUPT
            result = not flag
            why = "avail.flags NO_INTERRUPT " + ("set" if flag else "clear")
        if noe:
            why = f"NOTIFY_ON_EMPTY not met: {len(q.in_flight)} more in flight, avail ring {'used up' if q.avail_empty() else 'not used up'}; " + why
        return result, why
