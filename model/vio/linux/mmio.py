"""Linux 6.1's legacy virtio-mmio transport (``drivers/virtio/virtio_mmio.c``)
in Python, register for register, around the kernel's own ring code
(:mod:`vio.linux.ring`): probe, feature negotiation, queue set-up, the
interrupt handler, reset and queue deletion, over any :class:`vio.hal.VioHal`.

Register access is awaited here, while the ring code runs synchronously: a
notify it asks for (``vm_notify``) is written by :meth:`LinuxMmio.flush`,
which every method that may notify calls before it returns.
"""

from collections.abc import Callable

from .. import constants as C
from ..errors import VioNoDevice
from ..hal import VioHal
from .ring import KernelRing, RingDevice, Virtqueue

TRANSPORT_F_START, TRANSPORT_F_END = 28, 41  # VIRTIO_TRANSPORT_F_START/END: kept for the ring code to filter


class LinuxMmio:
    """One legacy virtio-mmio device at ``base``, driven as Linux drives it.
    ``driver_features``: the class driver's feature table; transport bits
    (INDIRECT_DESC, EVENT_IDX...) the device offers are kept as Linux keeps
    them, except those in ``validate_clears`` (what a driver's validate()
    may clear)."""

    def __init__(self, hal: VioHal, base: int, ring: KernelRing, driver_features: int = 0, validate_clears: int = 0,
                 index_base: int = 0):  # fmt: skip
        self.hal, self.base, self.ring = hal, base, ring
        self.index_base = index_base  # the device's ring_index_base: Virtqueue.advance before activation
        self.driver_features = driver_features
        self.validate_clears = validate_clears
        self.dev: RingDevice | None = None
        self.vqs: list[Virtqueue] = []
        self.features = 0
        self.config_changes = 0

    async def rd(self, offset: int) -> int:
        return await self.hal.read(self.base + offset)

    async def wr(self, offset: int, value: int) -> None:
        await self.hal.write(self.base + offset, value)

    async def add_status(self, bits: int) -> None:
        """``virtio_add_status``: read, OR, write."""
        await self.wr(C.VIRTIO_MMIO_STATUS, (await self.rd(C.VIRTIO_MMIO_STATUS) | bits) & 0xFF)

    async def reset(self) -> None:
        """``vm_reset``: Status = 0 (the RTL answers the write once idle)."""
        await self.wr(C.VIRTIO_MMIO_STATUS, 0)

    async def probe(self) -> int:
        """``virtio_mmio_probe`` + ``register_virtio_device`` +
        ``virtio_dev_probe`` up to the class driver's probe: returns the
        negotiated features."""
        magic = await self.rd(C.VIRTIO_MMIO_MAGIC_VALUE)
        if magic != C.MAGIC_VALUE:
            raise VioNoDevice(f"no virtio-mmio device at {self.base:#x}: MagicValue {magic:#010x}")
        version = await self.rd(C.VIRTIO_MMIO_VERSION)
        if version != C.LEGACY_VERSION:
            raise VioNoDevice(f"device at {self.base:#x} is Version {version}: this is the legacy transport")
        if await self.rd(C.VIRTIO_MMIO_DEVICE_ID) == 0:
            raise VioNoDevice(f"virtio-mmio transport at {self.base:#x} has no device")
        await self.rd(C.VIRTIO_MMIO_VENDOR_ID)
        await self.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, self.ring.page_size)
        # register_virtio_device()
        await self.reset()
        await self.add_status(C.VIRTIO_CONFIG_S_ACKNOWLEDGE)
        # virtio_dev_probe()
        await self.add_status(C.VIRTIO_CONFIG_S_DRIVER)
        device = 0
        for sel in (1, 0):  # vm_get_features
            await self.wr(C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel)
            device |= await self.rd(C.VIRTIO_MMIO_DEVICE_FEATURES) << (32 * sel)
        transport = sum(1 << bit for bit in range(TRANSPORT_F_START, TRANSPORT_F_END))
        self.dev = self.ring.device(device & (self.driver_features | transport) & ~self.validate_clears)
        self.features = self.dev.finalize_features()  # vm_finalize_features: vring_transport_features
        for sel in (1, 0):
            await self.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel)
            await self.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, self.features >> (32 * sel) & 0xFFFFFFFF)
        return self.features

    async def find_vqs(self, names: list[str], callbacks: list[Callable[[int], None]]) -> list[Virtqueue]:
        """``vm_find_vqs``: ``vm_setup_vq`` for each queue."""
        assert self.dev is not None, "probe() first"
        page = self.ring.page_size
        for index, (name, callback) in enumerate(zip(names, callbacks)):
            await self.wr(C.VIRTIO_MMIO_QUEUE_SEL, index)
            if await self.rd(C.VIRTIO_MMIO_QUEUE_PFN):
                raise VioNoDevice(f"queue {index} of {self.base:#x} is already set up")
            num = await self.rd(C.VIRTIO_MMIO_QUEUE_NUM_MAX)
            if num == 0:
                raise VioNoDevice(f"queue {index} of {self.base:#x} does not exist")
            vq = self.dev.queue(index, num, page, name, callback)
            if self.index_base:
                vq.advance(self.index_base)
            await self.wr(C.VIRTIO_MMIO_QUEUE_NUM, vq.size)
            pfn = vq.desc_addr // page
            if pfn >> 32:
                raise VioNoDevice(f"queue {index}: ring at {vq.desc_addr:#x} needs a QueuePFN over 32 bits")
            await self.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, page)
            await self.wr(C.VIRTIO_MMIO_QUEUE_PFN, pfn)
            self.vqs.append(vq)
        return self.vqs

    async def ready(self) -> None:
        """``virtio_device_ready``: DRIVER_OK."""
        await self.add_status(C.VIRTIO_CONFIG_S_DRIVER_OK)

    async def flush(self) -> None:
        """Write QueueNotify for every notify the ring code asked for."""
        while self.ring.notified:
            await self.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, self.ring.notified.pop(0))

    async def kick(self, vq: Virtqueue) -> bool:
        """``virtqueue_kick``: prepare, and notify if the device wants it."""
        if vq.kick_prepare():
            vq.notify()
        notified = bool(self.ring.notified)
        await self.flush()
        return notified

    async def interrupt(self) -> bool:
        """``vm_interrupt``: read and acknowledge InterruptStatus, then
        ``vring_interrupt`` for every queue on a used-buffer interrupt (the
        queue callbacks run in it). Returns IRQ_HANDLED."""
        status = await self.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS)
        await self.wr(C.VIRTIO_MMIO_INTERRUPT_ACK, status)
        handled = False
        if status & C.VIRTIO_MMIO_INT_CONFIG:
            self.config_changes += 1
            handled = True
        if status & C.VIRTIO_MMIO_INT_VRING:
            for vq in self.vqs:
                handled |= vq.interrupt()
        await self.flush()  # a callback may have kicked
        return handled

    async def del_vqs(self) -> None:
        """``vm_del_vqs``: per queue, QueueSel, QueuePFN = 0, ``vring_del_virtqueue``."""
        for vq in self.vqs:
            await self.wr(C.VIRTIO_MMIO_QUEUE_SEL, vq.index)
            await self.wr(C.VIRTIO_MMIO_QUEUE_PFN, 0)
            vq.delete()
        self.vqs = []
        if self.dev is not None:
            self.dev.free()
            self.dev = None
