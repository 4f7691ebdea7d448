"""The eCosPro VirtIO layer in Python: ``cyg_vio_driver``, ``VIO_QUEUE``, ``cyg_vio_tfr``.

:class:`VioDriver` is one legacy virtio-mmio device with its queues. It does
start-up negotiation (``init``), posts transfers (``submit``), finds completions
and runs callbacks (``poll``), exactly as the C layer does; interrupts belong to
the class driver above it, which reads InterruptStatus, acknowledges, and polls
(see :mod:`vio.drivers.base`).

The driver trusts nothing it reads back from the device: completions are checked
against a private shadow of what was posted (hostile-input cases 25-29).
"""

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from . import constants as C
from .errors import (
    VioConfigError,
    VioDeviceBroken,
    VioNoDevice,
    VioNotSupported,
    VioQueueBroken,
    VioQueueFull,
    VioTimeout,
)
from .hal import VioHal
from .ring import Desc, VringLayout, is_pow2, u16, unpack_used_elem, vring_need_event, vring_size

log = logging.getLogger(__name__)

VIO_IOV_MAX = 8
VIO_IOV_FLAGS_WRITE = 1
VIO_HEAD_DONE = 0xFFFF
RESET_TIMEOUT_NS = 1_000_000


@dataclass
class VioIov:
    """One ``iov[]`` entry: a guest buffer, its size, and VIO_IOV_FLAGS_WRITE when
    the device writes it (hypervisor to VM)."""

    buffer: int
    size: int
    flags: int = 0


def _desc_write(v: VioIov) -> int:
    return C.VRING_DESC_F_WRITE if v.flags & VIO_IOV_FLAGS_WRITE else 0


Callback = Callable[["VioTransfer"], Awaitable[None] | None]


class VioTransfer:
    """``cyg_vio_tfr``: one request, handed to submit and returned via its callback.

    ``iov`` may be longer than VIO_IOV_MAX, as the seed allows for an embedding
    object. ``head`` is 0xFFFF while the transfer is not in flight.
    """

    def __init__(
        self,
        queue: int = 0,
        iov: Sequence[VioIov | tuple[int, int] | tuple[int, int, int]] = (),
        callback: Callback | None = None,
        priv: object = None,
        iov_len: int | None = None,
    ):
        self.queue = queue
        self.head = VIO_HEAD_DONE
        self.iov = [x if isinstance(x, VioIov) else VioIov(*x) for x in iov]
        self.iov_len = len(self.iov) if iov_len is None else iov_len
        self.actual = 0
        self.callback = callback
        self.priv = priv

    @property
    def done(self) -> bool:
        return self.head == VIO_HEAD_DONE

    def __repr__(self) -> str:
        return f"VioTransfer(queue={self.queue}, head={self.head:#x}, iov_len={self.iov_len}, actual={self.actual})"


@dataclass
class _Posted:
    """The driver's private record of a posted chain (case 29: never re-read)."""

    tfr: VioTransfer
    descs: list[int]
    writable: int
    indirect_table: int | None


class VioQueue:
    """``VIO_QUEUE(name, size)``: a queue description plus its run-time state.

    ``interrupts=False`` asks the device not to interrupt for this queue
    (NO_INTERRUPT, or a far-away used_event with EVENT_IDX): poll it instead.
    ``indirect``: None uses an indirect table for multi-buffer transfers when
    negotiated, True for every transfer when negotiated, False never.
    """

    def __init__(self, name: str, size: int, *, interrupts: bool = True, indirect: bool | None = None):
        if not is_pow2(size) or size > 32768:
            raise VioConfigError(f"VIO_QUEUE({name}, {size}): size must be a power of two <= 32768")
        self.name = name
        self.size = size
        self.interrupts = interrupts
        self.indirect = indirect
        self.index = -1
        self.ready = False
        self.num = 0
        self.layout: VringLayout | None = None
        self.broken: str | None = None
        self.len_clamped = 0  # completions whose used.len exceeded the writable size (case 28)
        self.posted: dict[int, _Posted] = {}
        self._free: list[int] = []
        self.avail_idx = 0
        self.last_used = 0

    @property
    def num_free(self) -> int:
        return len(self._free)

    def __repr__(self) -> str:
        return f"VioQueue({self.name!r}, {self.size}, index={self.index}, ready={self.ready})"


class VioDriver:
    """``cyg_vio_driver``: one legacy virtio-mmio device and its queues.

    ``queue_count`` may be given as in C; it must then match ``len(queue)``.
    ``hal`` is the platform seam (:class:`vio.hal.VioHal`). ``ring_index_base``
    starts the ring indices elsewhere than 0 and must equal the device's (a test
    hook for u16 wrap-around; real devices start at 0).
    """

    def __init__(
        self,
        base: int,
        vector: int = 0,
        vector_pri: int = 0,
        priv: object = None,
        legacy: int = 1,
        pci: int = 0,
        drv_features: int = 0,
        queue: Sequence[VioQueue] = (),
        queue_count: int | None = None,
        *,
        hal: VioHal,
        page_size: int = 4096,
        queue_align: int = 4096,
        ring_index_base: int = 0,
    ):
        if pci:
            raise VioNotSupported(f"virtio device at {base:#x}: PCI devices are not supported (pci=1)")
        if not legacy:
            raise VioNotSupported(f"virtio device at {base:#x}: only legacy devices are supported (legacy=0)")
        if queue_count is not None and queue_count != len(queue):
            raise VioConfigError(f"queue_count {queue_count} does not match the {len(queue)} queues given")
        if not queue:
            raise VioConfigError(f"virtio device at {base:#x}: no queues given")
        if not is_pow2(page_size) or not is_pow2(queue_align):
            raise VioConfigError(f"page_size {page_size} and queue_align {queue_align} must be powers of two")
        self.base = base
        self.vector = vector
        self.vector_pri = vector_pri
        self.priv = priv
        self.legacy = legacy
        self.pci = pci
        self.drv_features = drv_features
        self.queue = list(queue)
        self.hal = hal
        self.page_size = page_size
        self.queue_align = queue_align
        self.probe_order = "ecos"
        self.ring_index_base = ring_index_base
        self.device_id = 0
        self.vendor_id = 0
        self.host_features = 0
        self.features = 0
        self.driver_ok = False
        for i, q in enumerate(self.queue):
            q.index = i

    @property
    def queue_count(self) -> int:
        return len(self.queue)

    def has_feature(self, bit: int) -> bool:
        return bool(self.features >> bit & 1)

    def __repr__(self) -> str:
        return f"VioDriver(base={self.base:#x}, device_id={self.device_id}, queues={self.queue_count})"

    # ------------------------------------------------------------- registers
    async def read_reg(self, offset: int, size: int = 4) -> int:
        return await self.hal.read(self.base + offset, size)

    async def write_reg(self, offset: int, value: int, size: int = 4) -> None:
        await self.hal.write(self.base + offset, value, size)

    async def read_config(self, offset: int, size: int) -> int:
        """Device config space, byte by byte as Linux does for legacy devices."""
        value = 0
        for i in range(size):
            value |= await self.read_reg(C.VIRTIO_MMIO_CONFIG + offset + i, 1) << (8 * i)
        return value

    async def write_config(self, offset: int, value: int, size: int) -> None:
        for i in range(size):
            await self.write_reg(C.VIRTIO_MMIO_CONFIG + offset + i, value >> (8 * i) & 0xFF, 1)

    async def _set_status(self, bits: int) -> None:
        status = await self.read_reg(C.VIRTIO_MMIO_STATUS)
        await self.write_reg(C.VIRTIO_MMIO_STATUS, (status | bits) & ~C.VIRTIO_CONFIG_S_NEEDS_RESET)

    def use_linux_probe_order(self, page_size: int) -> None:
        """Make ``init`` write the registers in Linux 6.1's order, as a kernel
        of ``page_size`` pages does (virtio_mmio_probe(), register_virtio_device(),
        virtio_dev_probe(), vm_setup_vq()): GuestPageSize before the reset and
        never after it, feature words high first, rings aligned to the page."""
        if not is_pow2(page_size):
            raise VioConfigError(f"page_size {page_size} must be a power of two")
        self.page_size = self.queue_align = page_size
        self.probe_order = "linux"

    # ------------------------------------------------------------------ init
    async def init(self) -> None:
        """``cyg_vio_driver_init``: reset, negotiate, set up every queue, DRIVER_OK
        (in Linux's order after ``use_linux_probe_order``)."""
        magic = await self.read_reg(C.VIRTIO_MMIO_MAGIC_VALUE)
        if magic != C.MAGIC_VALUE:
            raise VioNoDevice(f"no virtio-mmio device at {self.base:#x}: MagicValue {magic:#010x}")
        version = await self.read_reg(C.VIRTIO_MMIO_VERSION)
        if version != C.LEGACY_VERSION:
            raise VioNotSupported(f"virtio device at {self.base:#x} is Version {version}; only legacy (1) is supported")
        self.device_id = await self.read_reg(C.VIRTIO_MMIO_DEVICE_ID)
        if self.device_id == 0:
            raise VioNoDevice(f"virtio-mmio transport at {self.base:#x} has no device (DeviceID 0)")
        self.vendor_id = await self.read_reg(C.VIRTIO_MMIO_VENDOR_ID)
        linux = self.probe_order == "linux"
        if linux:
            await self.write_reg(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, self.page_size)
        await self.reset()
        await self._set_status(C.VIRTIO_CONFIG_S_ACKNOWLEDGE)
        await self._set_status(C.VIRTIO_CONFIG_S_DRIVER)

        host = 0
        words = (1, 0) if linux else (0, 1)
        for sel in words:
            await self.write_reg(C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel)
            host |= await self.read_reg(C.VIRTIO_MMIO_DEVICE_FEATURES) << (32 * sel)
        self.host_features = host
        self.features = host & self.drv_features & ~(1 << C.VIRTIO_F_VERSION_1)
        for sel in words:
            await self.write_reg(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel)
            await self.write_reg(C.VIRTIO_MMIO_DRIVER_FEATURES, self.features >> (32 * sel) & 0xFFFFFFFF)
        if not linux:
            await self.write_reg(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, self.page_size)

        try:
            for q in self.queue:
                await self._setup_queue(q)
        except Exception:
            await self._set_status(C.VIRTIO_CONFIG_S_FAILED)
            raise
        # a ring the device refused (outside its DMA window...) breaks it here
        await self.check_status()
        await self._set_status(C.VIRTIO_CONFIG_S_DRIVER_OK)
        self.driver_ok = True

    async def _setup_queue(self, q: VioQueue) -> None:
        where = f"queue {q.index} ({q.name}) of device at {self.base:#x}"
        await self.write_reg(C.VIRTIO_MMIO_QUEUE_SEL, q.index)
        if await self.read_reg(C.VIRTIO_MMIO_QUEUE_PFN) != 0:
            raise VioNoDevice(f"{where} is unavailable: QueuePFN is already set")
        num_max = await self.read_reg(C.VIRTIO_MMIO_QUEUE_NUM_MAX)
        if num_max == 0:
            raise VioNoDevice(f"{where} is unavailable: QueueNumMax is 0")
        num = q.size
        while num > num_max:
            num //= 2  # as Linux: shrink to what the device offers
        mem = self.hal.mem
        size = vring_size(num, self.queue_align)
        base = mem.alloc(size, max(self.page_size, self.queue_align))
        pfn = base // self.page_size
        if not 0 < pfn <= 0xFFFFFFFF:
            mem.free(base)
            raise VioConfigError(f"{where}: ring at {base:#x} cannot be given as a 32-bit QueuePFN of page size {self.page_size}")
        mem.fill(base, size)
        q.num = num
        q.layout = VringLayout(base, num, self.queue_align)
        q._free = list(range(num - 1, -1, -1))
        q.posted = {}
        q.broken = None
        q.avail_idx = q.last_used = u16(self.ring_index_base)
        mem.write16(q.layout.avail_idx, q.avail_idx)
        mem.write16(q.layout.used_idx, q.last_used)  # the device owns it; start it consistent
        # the event indices too: left at 0 they lie 65536 - base entries away, so
        # with EVENT_IDX and ring_index_base != 0 no notify or interrupt would fire
        mem.write16(q.layout.used_event, q.last_used)
        mem.write16(q.layout.avail_event, q.avail_idx)
        if not q.interrupts:
            self._disable_interrupts(q)
        await self.write_reg(C.VIRTIO_MMIO_QUEUE_NUM, num)
        await self.write_reg(C.VIRTIO_MMIO_QUEUE_ALIGN, self.queue_align)
        await self.write_reg(C.VIRTIO_MMIO_QUEUE_PFN, pfn)
        q.ready = True

    def _disable_interrupts(self, q: VioQueue) -> None:
        assert q.layout is not None
        if self.has_feature(C.VIRTIO_RING_F_EVENT_IDX):
            # used_event just behind last_used: the device passes it only after 65535 entries
            self.hal.mem.write16(q.layout.used_event, u16(q.last_used - 1))
        else:
            self.hal.mem.write16(q.layout.avail_flags, C.VRING_AVAIL_F_NO_INTERRUPT)

    async def reset(self) -> None:
        """Status=0 and wait (bounded) until the device reads back 0; drop all queues."""
        await self.write_reg(C.VIRTIO_MMIO_STATUS, 0)
        deadline = self.hal.now_ns() + RESET_TIMEOUT_NS
        while await self.read_reg(C.VIRTIO_MMIO_STATUS) != 0:
            if self.hal.now_ns() > deadline:
                raise VioTimeout(f"device at {self.base:#x} did not finish its reset within {RESET_TIMEOUT_NS} ns")
        self.driver_ok = False
        for q in self.queue:
            for posted in q.posted.values():
                posted.tfr.head = VIO_HEAD_DONE  # abandoned: actual stays 0, no callback
                posted.tfr.actual = 0
                if posted.indirect_table is not None:
                    self.hal.mem.free(posted.indirect_table)
            q.posted = {}
            q.ready = False
            if q.layout is not None:
                self.hal.mem.free(q.layout.base)
                q.layout = None

    # ----------------------------------------------------------------- queues
    def _queue(self, index: int) -> VioQueue:
        if not 0 <= index < len(self.queue):
            raise VioConfigError(f"device at {self.base:#x} has no queue {index} (queue_count {len(self.queue)})")
        return self.queue[index]

    def avail(self, queue: int) -> int:
        """``cyg_vio_avail``: free descriptors in the queue (0 if not usable)."""
        q = self._queue(queue)
        return q.num_free if q.ready and not q.broken else 0

    def queue_ready(self, queue: int) -> bool:
        """``cyg_vio_queue_ready``: the queue finished initialising and is usable."""
        q = self._queue(queue)
        return q.ready and q.broken is None

    def _use_indirect(self, q: VioQueue, iov_len: int) -> bool:
        if not self.has_feature(C.VIRTIO_RING_F_INDIRECT_DESC) or q.indirect is False:
            return False
        return q.indirect is True or iov_len > 1

    def _check_transfer(self, q: VioQueue, tfr: VioTransfer) -> list[VioIov]:
        where = f"transfer on queue {q.index} ({q.name})"
        if not tfr.done:
            raise VioConfigError(f"{where} is already in flight (head {tfr.head})")
        if not 1 <= tfr.iov_len <= len(tfr.iov):
            raise VioConfigError(f"{where}: iov_len {tfr.iov_len} with {len(tfr.iov)} iov entries")
        iov = tfr.iov[: tfr.iov_len]
        seen_write = False
        for i, v in enumerate(iov):
            if not 0 < v.size <= 0xFFFFFFFF:
                raise VioConfigError(f"{where}: iov[{i}] size {v.size} (must be 1..2^32-1)")
            if v.flags & ~VIO_IOV_FLAGS_WRITE:
                raise VioConfigError(f"{where}: iov[{i}] has unknown flags {v.flags:#x}")
            if v.flags & VIO_IOV_FLAGS_WRITE:
                seen_write = True
            elif seen_write:
                raise VioConfigError(f"{where}: iov[{i}] is readable after a writable entry; virtio needs readable first")
            if not self.hal.mem.contains(v.buffer, v.size):
                raise VioConfigError(f"{where}: iov[{i}] [{v.buffer:#x}, +{v.size:#x}) is not in guest memory")
        if sum(v.size for v in iov) > 0xFFFFFFFF:
            raise VioConfigError(f"{where}: total length over 2^32-1 bytes")
        return iov

    async def submit(self, tfr: VioTransfer) -> int:
        """``cyg_vio_submit``: post the transfer and notify the device if needed.

        Returns 0. Raises VioQueueFull when there is no room (try after poll),
        VioQueueBroken when the queue was broken by the device, VioConfigError
        for a transfer that could never work.
        """
        q = self._queue(tfr.queue)
        if not q.ready:
            raise VioConfigError(f"queue {q.index} ({q.name}) of device at {self.base:#x} is not initialised")
        if q.broken:
            raise VioQueueBroken(f"queue {q.index} ({q.name}) of device at {self.base:#x} is broken: {q.broken}")
        iov = self._check_transfer(q, tfr)
        assert q.layout is not None
        mem = self.hal.mem
        indirect = self._use_indirect(q, len(iov))
        needed = 1 if indirect else len(iov)
        if q.num_free < needed:
            raise VioQueueFull(f"queue {q.index} ({q.name}): {needed} descriptors needed, {q.num_free} free")
        descs = [q._free.pop() for _ in range(needed)]
        table = None
        if indirect:
            table = mem.alloc(16 * len(iov), 16)
            for i, v in enumerate(iov):
                flags = _desc_write(v) | (C.VRING_DESC_F_NEXT if i + 1 < len(iov) else 0)
                mem.write(table + 16 * i, Desc(v.buffer, v.size, flags, i + 1 if i + 1 < len(iov) else 0).pack())
            mem.write(q.layout.desc_addr(descs[0]), Desc(table, 16 * len(iov), C.VRING_DESC_F_INDIRECT).pack())
        else:
            for i, v in enumerate(iov):
                last = i + 1 == len(iov)
                flags = _desc_write(v) | (0 if last else C.VRING_DESC_F_NEXT)
                mem.write(q.layout.desc_addr(descs[i]), Desc(v.buffer, v.size, flags, 0 if last else descs[i + 1]).pack())
        head = descs[0]
        writable = sum(v.size for v in iov if v.flags & VIO_IOV_FLAGS_WRITE)
        q.posted[head] = _Posted(tfr, descs, writable, table)
        tfr.head = head
        tfr.actual = 0
        # descriptors and the ring entry before avail.idx, avail.idx before the notify
        mem.write16(q.layout.avail_ring(q.avail_idx % q.num), head)
        old = q.avail_idx
        q.avail_idx = u16(old + 1)
        mem.write16(q.layout.avail_idx, q.avail_idx)
        if self._should_notify(q, old):
            await self.write_reg(C.VIRTIO_MMIO_QUEUE_NOTIFY, q.index)
        return 0

    def _should_notify(self, q: VioQueue, old: int) -> bool:
        assert q.layout is not None
        mem = self.hal.mem
        if self.has_feature(C.VIRTIO_RING_F_EVENT_IDX):
            return vring_need_event(mem.read16(q.layout.avail_event), q.avail_idx, old)
        return not mem.read16(q.layout.used_flags) & C.VRING_USED_F_NO_NOTIFY

    # ------------------------------------------------------------------- poll
    async def poll(self) -> int:
        """``cyg_vio_poll``: collect completions of every queue, then run callbacks.

        Returns the number of completed transfers. A device that breaks a ring
        rule marks that queue broken (later submits fail) and, after the valid
        completions' callbacks have run, raises VioQueueBroken.
        """
        if not self.driver_ok:
            return 0  # case 30: nothing to look at before DRIVER_OK
        done: list[VioTransfer] = []
        broken: list[str] = []
        for q in self.queue:
            if q.ready and not q.broken:
                try:
                    self._collect(q, done)
                except VioQueueBroken as err:
                    q.broken = str(err)
                    broken.append(str(err))
                    log.error("%s", err)
        for tfr in done:
            if tfr.callback is not None:
                result = tfr.callback(tfr)
                if inspect.isawaitable(result):
                    await result
        if broken:
            raise VioQueueBroken("; ".join(broken))
        return len(done)

    def _collect(self, q: VioQueue, done: list[VioTransfer]) -> None:
        assert q.layout is not None
        mem = self.hal.mem
        where = f"queue {q.index} ({q.name}) of device at {self.base:#x}"
        used_idx = mem.read16(q.layout.used_idx)
        new = u16(used_idx - q.last_used)
        if new > len(q.posted):
            raise VioQueueBroken(f"{where}: used.idx {used_idx} advanced by {new} with only {len(q.posted)} in flight")
        for _ in range(new):
            head, length = unpack_used_elem(mem.read(q.layout.used_ring(q.last_used % q.num), 8))
            if head >= q.num:
                raise VioQueueBroken(f"{where}: used.id {head} out of range (QueueNum {q.num})")
            posted = q.posted.pop(head, None)
            if posted is None:
                raise VioQueueBroken(f"{where}: used.id {head} is not a head in flight")
            if length > posted.writable:
                q.len_clamped += 1
                log.warning("%s: used.len %d for head %d exceeds its %d writable bytes; clamped", where, length, head, posted.writable)
                length = posted.writable
            q._free.extend(posted.descs)
            if posted.indirect_table is not None:
                mem.free(posted.indirect_table)
            q.last_used = u16(q.last_used + 1)
            posted.tfr.actual = length
            posted.tfr.head = VIO_HEAD_DONE
            done.append(posted.tfr)
        if self.has_feature(C.VIRTIO_RING_F_EVENT_IDX):
            if q.interrupts:
                mem.write16(q.layout.used_event, q.last_used)
            else:
                self._disable_interrupts(q)

    # ------------------------------------------------------------ interrupts
    async def interrupt_status(self) -> int:
        """Read and acknowledge InterruptStatus; raise if the device needs a reset.

        The helper every class driver's interrupt handler starts with. On
        NEEDS_RESET it resets the device and raises VioDeviceBroken with the
        device's cause code (our DEVICE_ERROR register; 0 on other devices).
        """
        isr = await self.read_reg(C.VIRTIO_MMIO_INTERRUPT_STATUS)
        if isr:
            await self.write_reg(C.VIRTIO_MMIO_INTERRUPT_ACK, isr)
        if not self.driver_ok:
            return 0  # case 30: no state change before DRIVER_OK
        if isr & C.VIRTIO_MMIO_INT_CONFIG:
            await self.check_status()
        return isr

    async def check_status(self) -> None:
        status = await self.read_reg(C.VIRTIO_MMIO_STATUS)
        if status & C.VIRTIO_CONFIG_S_NEEDS_RESET:
            error = await self.read_reg(C.VIO_MMIO_DEVICE_ERROR)
            # by name: str() of an IntEnum member is its number on Python >= 3.11
            cause = C.Cause(error & 0xFF).name if error & 0xFF in C.Cause._value2member_map_ else error & 0xFF
            detail = f"cause {cause}, queue {error >> 8 & 0xFF}, info {error >> 16}"
            await self.reset()
            raise VioDeviceBroken(f"device at {self.base:#x} needs a reset ({detail}); it has been reset")
