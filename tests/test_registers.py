"""Register semantics of the reference device (docs/verification.md cases 15-18, 23).

Every register test runs twice: on ReferenceDevice.read/write directly and
through the ModelHal at BASE, as the driver sees it.
"""

import pytest

from vio import GuestMemory, ModelHal
from vio import constants as C
from vio.constants import Cause
from vio.device import DEFAULT_VENDOR_ID, TRANSPORT_FEATURES, ReferenceDevice
from vio.device.mmio import DEFAULT_INDIRECT_MAX
from vio.errors import DeviceModelError
from vio.device.backend import Backend
from vio.device.loopback import LOOPBACK_DEVICE_ID, LoopbackBackend
from vio.ring import Desc, VringLayout

from .rig import ALL_RING_FEATURES, BASE, MEM_SIZE, make_rig, run

NUM_MAX = 16
PAGE = 4096
# offset -> (readable, writable) of every legacy register and our extension
MAPPED = {
    C.VIRTIO_MMIO_MAGIC_VALUE: "R",
    C.VIRTIO_MMIO_VERSION: "R",
    C.VIRTIO_MMIO_DEVICE_ID: "R",
    C.VIRTIO_MMIO_VENDOR_ID: "R",
    C.VIRTIO_MMIO_DEVICE_FEATURES: "R",
    C.VIRTIO_MMIO_DEVICE_FEATURES_SEL: "W",
    C.VIRTIO_MMIO_DRIVER_FEATURES: "W",
    C.VIRTIO_MMIO_DRIVER_FEATURES_SEL: "W",
    C.VIRTIO_MMIO_GUEST_PAGE_SIZE: "W",
    C.VIRTIO_MMIO_QUEUE_SEL: "W",
    C.VIRTIO_MMIO_QUEUE_NUM_MAX: "R",
    C.VIRTIO_MMIO_QUEUE_NUM: "W",
    C.VIRTIO_MMIO_QUEUE_ALIGN: "W",
    C.VIRTIO_MMIO_QUEUE_PFN: "RW",
    C.VIRTIO_MMIO_QUEUE_NOTIFY: "W",
    C.VIRTIO_MMIO_INTERRUPT_STATUS: "R",
    C.VIRTIO_MMIO_INTERRUPT_ACK: "W",
    C.VIRTIO_MMIO_STATUS: "RW",
    C.VIO_MMIO_DEVICE_ERROR: "R",
}
WRITE_ONLY = [off for off, d in MAPPED.items() if d == "W"]
READ_ONLY = [off for off, d in MAPPED.items() if d == "R"]
UNMAPPED = [off for off in range(0, C.VIRTIO_MMIO_CONFIG, 4) if off not in MAPPED]
CONFIG = bytes(range(0x11, 0x11 + 12))  # 12 bytes of recognisable config space


class ConfigBackend(LoopbackBackend):
    """Loopback with a config space and a record of config writes."""

    def __init__(self, num_queues: int = 2, device_features: int = 0):
        super().__init__(num_queues, device_features)
        self.config_writes: list[tuple[int, bytes]] = []

    def config(self) -> bytes:
        return CONFIG

    def config_write(self, offset: int, data: bytes) -> None:
        self.config_writes.append((offset, data))


class Bus:
    """Register access to one device, either directly or through the HAL."""

    def __init__(self, via: str, backend: Backend | None = None, **device_kw):
        self.via = via
        self.mem = GuestMemory(MEM_SIZE)
        self.backend = backend or ConfigBackend(2)
        self.dev = ReferenceDevice(self.backend, self.mem, queue_num_max=NUM_MAX, **device_kw)
        self.hal = ModelHal(self.mem)
        self.hal.attach(BASE, self.dev)

    def rd(self, offset: int, size: int = 4) -> int:
        if self.via == "direct":
            return self.dev.read(offset, size)
        return run(self.hal.read(BASE + offset, size))

    def wr(self, offset: int, value: int, size: int = 4) -> None:
        if self.via == "direct":
            self.dev.write(offset, value, size)
        else:
            run(self.hal.write(BASE + offset, value, size))

    @property
    def irq(self) -> bool:
        return self.dev.irq if self.via == "direct" else self.hal.irq(0)

    def pfn(self, queue: int) -> int:
        self.wr(C.VIRTIO_MMIO_QUEUE_SEL, queue)
        return self.rd(C.VIRTIO_MMIO_QUEUE_PFN)

    def activate(self, queue: int, pfn: int, num: int | None = None, align: int = PAGE) -> VringLayout:
        """Program and start one queue as a driver does (page size PAGE)."""
        self.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, PAGE)
        self.wr(C.VIRTIO_MMIO_QUEUE_SEL, queue)
        if num is not None:
            self.wr(C.VIRTIO_MMIO_QUEUE_NUM, num)
        self.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, align)
        self.wr(C.VIRTIO_MMIO_QUEUE_PFN, pfn)
        return VringLayout(pfn * PAGE, num or NUM_MAX, align)

    def post(self, lay: VringLayout, head: int, descs: list[Desc], queue: int) -> None:
        """Write a chain at descriptors head.., offer it, notify."""
        for i, d in enumerate(descs):
            self.mem.write(lay.desc_addr(head + i), d.pack())
        idx = self.mem.read16(lay.avail_idx)
        self.mem.write16(lay.avail_ring(idx % lay.num), head)
        self.mem.write16(lay.avail_idx, idx + 1)
        self.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, queue)

    def snapshot(self) -> dict:
        """Every readable register (QueueNumMax/PFN of every QueueSel value)."""
        sel = self.dev.queue_sel
        regs = {off: self.dev.read(off) for off in range(0, C.VIRTIO_MMIO_CONFIG, 4)}
        for q in range(len(self.dev.queues) + 1):
            self.dev.write(C.VIRTIO_MMIO_QUEUE_SEL, q)
            regs[("q", q)] = (self.dev.read(C.VIRTIO_MMIO_QUEUE_NUM_MAX), self.dev.read(C.VIRTIO_MMIO_QUEUE_PFN))
        self.dev.write(C.VIRTIO_MMIO_QUEUE_SEL, sel)
        regs["state"] = (
            self.dev.page_size,
            tuple(self.dev.guest_features),
            self.dev.host_features_sel,
            self.dev.guest_features_sel,
            tuple((q.num, q.align, q.pfn) for q in self.dev.queues),
        )
        return regs


@pytest.fixture(params=["direct", "hal"])
def bus(request) -> Bus:
    return Bus(request.param)


@pytest.fixture(params=["direct", "hal"])
def via(request) -> str:
    return request.param


RING0 = 0x10  # pfn of queue 0's ring
RING1 = 0x20
BUF = 0x40000


def break_device(bus: Bus, queue: int = 1, head: int = 100) -> VringLayout:
    """Offer head >= QueueNum on ``queue``: case 2, cause HEAD_RANGE, info = head."""
    lay = bus.activate(queue, RING1 if queue else RING0, num=8)
    bus.mem.write16(lay.avail_ring(0), head)
    bus.mem.write16(lay.avail_idx, 1)
    bus.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, queue)
    return lay


# ------------------------------------------------------------- identity


def test_identity_registers(bus):
    assert bus.rd(C.VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976
    assert bus.rd(C.VIRTIO_MMIO_MAGIC_VALUE).to_bytes(4, "little") == b"virt"
    assert bus.rd(C.VIRTIO_MMIO_VERSION) == 1
    assert bus.rd(C.VIRTIO_MMIO_DEVICE_ID) == LOOPBACK_DEVICE_ID
    assert bus.rd(C.VIRTIO_MMIO_VENDOR_ID) == DEFAULT_VENDOR_ID


def test_vendor_and_device_id_come_from_the_device_and_backend(via):
    backend = ConfigBackend(1)
    backend.device_id = C.VIRTIO_ID_CONSOLE
    bus = Bus(via, backend, vendor_id=0x554D4551)
    assert bus.rd(C.VIRTIO_MMIO_DEVICE_ID) == 3
    assert bus.rd(C.VIRTIO_MMIO_VENDOR_ID) == 0x554D4551


def test_healthy_device_reads_zero_status_error_and_interrupts(bus):
    assert bus.rd(C.VIRTIO_MMIO_STATUS) == 0
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) == 0
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == 0
    assert not bus.irq


# ------------------------------------------------------------ case 23


@pytest.mark.parametrize("offset", sorted(MAPPED))
@pytest.mark.parametrize("size", [1, 2])
def test_narrow_reads_of_registers_read_zero(bus, offset, size):
    bus.wr(C.VIRTIO_MMIO_STATUS, C.VIRTIO_CONFIG_S_ACKNOWLEDGE)
    for sub in range(0, 4, size):
        assert bus.rd(offset + sub, size) == 0
    assert bus.rd(C.VIRTIO_MMIO_MAGIC_VALUE) == C.MAGIC_VALUE  # the device still answers


@pytest.mark.parametrize("offset", [1, 2, 3, 0x71, 0x72, 0x35, 0x0F2])
def test_unaligned_word_reads_read_zero(bus, offset):
    assert bus.rd(offset, 4) == 0


@pytest.mark.parametrize("size", [1, 2])
def test_narrow_writes_are_ignored(bus, size):
    before = bus.snapshot()
    for offset in sorted(MAPPED):
        for sub in range(0, 4, size):
            bus.wr(offset + sub, 0xFFFF if size == 2 else 0xFF, size)
    assert bus.snapshot() == before
    assert bus.rd(C.VIRTIO_MMIO_STATUS) == 0


def test_unaligned_word_writes_are_ignored(bus):
    before = bus.snapshot()
    for offset in (0x71, 0x72, 0x73, 0x29, 0x31, 0x39, 0x41, 0x21):
        bus.wr(offset, 0x0000_1000 if offset != 0x71 else 0x7, 4)
    assert bus.snapshot() == before


@pytest.mark.parametrize("offset", WRITE_ONLY)
def test_write_only_registers_read_zero(bus, offset):
    value = {
        C.VIRTIO_MMIO_QUEUE_SEL: 1,
        C.VIRTIO_MMIO_QUEUE_NUM: 4,
        C.VIRTIO_MMIO_GUEST_PAGE_SIZE: 8192,
        C.VIRTIO_MMIO_QUEUE_ALIGN: 256,
        C.VIRTIO_MMIO_QUEUE_NOTIFY: 7,
    }.get(offset, 1)
    bus.wr(offset, value)
    assert bus.rd(offset) == 0


def test_write_only_registers_take_their_value_although_they_read_zero(bus):
    bus.wr(C.VIRTIO_MMIO_QUEUE_SEL, 1)
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, 4)
    bus.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 8192)
    assert bus.rd(C.VIRTIO_MMIO_QUEUE_SEL) == 0
    assert (bus.dev.queue_sel, bus.dev.queues[1].num, bus.dev.page_size) == (1, 4, 8192)


@pytest.mark.parametrize("offset", READ_ONLY)
def test_writes_to_read_only_registers_are_ignored(bus, offset):
    bus.wr(C.VIRTIO_MMIO_STATUS, C.VIRTIO_CONFIG_S_ACKNOWLEDGE)
    bus.backend._config_changed()  # InterruptStatus = 2, so a write of 0 could show
    before = bus.snapshot()
    assert before[C.VIRTIO_MMIO_INTERRUPT_STATUS] == C.VIRTIO_MMIO_INT_CONFIG
    for value in (0, 0xFFFFFFFF, 0x1234):
        bus.wr(offset, value)
    assert bus.snapshot() == before


def test_write_to_device_error_is_ignored_while_broken(bus):
    break_device(bus)
    error = bus.rd(C.VIO_MMIO_DEVICE_ERROR)
    assert error != 0
    bus.wr(C.VIO_MMIO_DEVICE_ERROR, 0)
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) == error


@pytest.mark.parametrize("offset", UNMAPPED)
def test_unmapped_offsets_read_zero_and_ignore_writes(bus, offset):
    bus.wr(C.VIRTIO_MMIO_STATUS, C.VIRTIO_CONFIG_S_ACKNOWLEDGE)
    before = bus.snapshot()
    bus.wr(offset, 0xFFFFFFFF)
    assert bus.rd(offset) == 0
    assert bus.snapshot() == before


def test_version2_registers_are_not_mapped(bus):
    for offset in (0x044, 0x080, 0x084, 0x090, 0x094, 0x0A0, 0x0A4, 0x0AC, 0x0B0, 0x0B8, 0x0FC):
        assert offset in UNMAPPED
        bus.wr(offset, 1)
        assert bus.rd(offset) == 0


# --------------------------------------------------------- DEVICE_ERROR


def test_device_error_layout_and_needs_reset(bus):
    bus.wr(C.VIRTIO_MMIO_STATUS, C.VIRTIO_CONFIG_S_ACKNOWLEDGE | C.VIRTIO_CONFIG_S_DRIVER)
    break_device(bus, queue=1, head=0x1234)
    error = bus.rd(C.VIO_MMIO_DEVICE_ERROR)
    assert error == 0x1234 << 16 | 1 << 8 | Cause.HEAD_RANGE
    assert (error >> 16, error >> 8 & 0xFF, error & 0xFF) == (0x1234, 1, 2)
    assert bus.rd(C.VIRTIO_MMIO_STATUS) == 3 | C.VIRTIO_CONFIG_S_NEEDS_RESET
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == C.VIRTIO_MMIO_INT_CONFIG
    assert bus.irq


def test_needs_reset_stays_set_while_broken_and_cannot_be_written(bus):
    break_device(bus)
    bus.wr(C.VIRTIO_MMIO_INTERRUPT_ACK, 0xFFFFFFFF)
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == 0
    for status in (C.VIRTIO_CONFIG_S_ACKNOWLEDGE, C.VIRTIO_CONFIG_S_DRIVER_OK | 3):
        bus.wr(C.VIRTIO_MMIO_STATUS, status)
        assert bus.rd(C.VIRTIO_MMIO_STATUS) == status | C.VIRTIO_CONFIG_S_NEEDS_RESET
    bus.wr(C.VIRTIO_MMIO_STATUS, 0)
    assert bus.rd(C.VIRTIO_MMIO_STATUS) == 0
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) == 0


def test_needs_reset_is_not_writable_by_the_driver(bus):
    bus.wr(C.VIRTIO_MMIO_STATUS, C.VIRTIO_CONFIG_S_NEEDS_RESET | C.VIRTIO_CONFIG_S_ACKNOWLEDGE)
    assert bus.rd(C.VIRTIO_MMIO_STATUS) == C.VIRTIO_CONFIG_S_ACKNOWLEDGE


def test_status_reads_back_what_was_written(bus):
    for status in (1, 3, 7, 0x83):
        bus.wr(C.VIRTIO_MMIO_STATUS, status)
        assert bus.rd(C.VIRTIO_MMIO_STATUS) == status


# ----------------------------------------------------------- queue select


@pytest.mark.parametrize("sel", [2, 3, 255, 0xFFFFFFFF])
def test_queue_sel_out_of_range_reads_zero_and_ignores_writes(bus, sel):
    bus.activate(0, RING0, num=8)
    before = bus.snapshot()
    bus.wr(C.VIRTIO_MMIO_QUEUE_SEL, sel)
    assert bus.rd(C.VIRTIO_MMIO_QUEUE_NUM_MAX) == 0
    assert bus.rd(C.VIRTIO_MMIO_QUEUE_PFN) == 0
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, 4)
    bus.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, 16)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING1)
    assert bus.rd(C.VIRTIO_MMIO_QUEUE_PFN) == 0
    after = bus.snapshot()
    before.pop(C.VIRTIO_MMIO_QUEUE_PFN)  # the registers of the selected queue differ, as QueueSel does
    after.pop(C.VIRTIO_MMIO_QUEUE_PFN)
    before.pop(C.VIRTIO_MMIO_QUEUE_NUM_MAX)
    after.pop(C.VIRTIO_MMIO_QUEUE_NUM_MAX)
    assert after == before
    assert [q.live for q in bus.dev.queues] == [True, False]


def test_queue_num_max_and_pfn_follow_queue_sel(bus):
    assert bus.rd(C.VIRTIO_MMIO_QUEUE_NUM_MAX) == NUM_MAX  # QueueSel 0 after reset
    bus.activate(1, RING1)
    bus.wr(C.VIRTIO_MMIO_QUEUE_SEL, 0)
    assert (bus.rd(C.VIRTIO_MMIO_QUEUE_NUM_MAX), bus.rd(C.VIRTIO_MMIO_QUEUE_PFN)) == (NUM_MAX, 0)
    bus.wr(C.VIRTIO_MMIO_QUEUE_SEL, 1)
    assert (bus.rd(C.VIRTIO_MMIO_QUEUE_NUM_MAX), bus.rd(C.VIRTIO_MMIO_QUEUE_PFN)) == (NUM_MAX, RING1)


# ------------------------------------------------------------- QueueNum


def test_queue_num_starts_at_queue_num_max(bus):
    bus.activate(0, RING0)  # no QueueNum write
    assert bus.dev.queues[0].layout.num == NUM_MAX
    # a chain at the last descriptor of a NUM_MAX ring is accepted
    lay = VringLayout(RING0 * PAGE, NUM_MAX, PAGE)
    bus.post(lay, NUM_MAX - 1, [Desc(BUF, 4, C.VRING_DESC_F_WRITE)], 0)
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) == 0
    assert bus.mem.read16(lay.used_idx) == 1
    assert bus.mem.read32(lay.used_ring(0)) == NUM_MAX - 1


def test_queue_num_returns_to_queue_num_max_on_reset(bus):
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, 4)
    assert bus.dev.queues[0].num == 4
    bus.wr(C.VIRTIO_MMIO_STATUS, 0)
    assert [q.num for q in bus.dev.queues] == [NUM_MAX, NUM_MAX]


@pytest.mark.parametrize("bad", [0, 3, 6, 12, NUM_MAX * 2, NUM_MAX + 1, 0xFFFFFFFF, 1 << 31])
def test_bad_queue_num_writes_are_ignored(bus, bad):
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, 8)
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, bad)
    assert bus.dev.queues[0].num == 8
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING0)
    assert bus.dev.queues[0].layout.num == 8


@pytest.mark.parametrize("good", [1, 2, 4, 8, NUM_MAX])
def test_good_queue_num_writes_take(bus, good):
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, good)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING0)
    assert bus.dev.queues[0].layout.num == good


# ------------------------------------------------- writes to a live queue


def test_queue_num_and_align_ignored_while_the_queue_is_live(bus):
    bus.activate(0, RING0, num=8, align=PAGE)
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, 4)
    bus.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, 16)
    q = bus.dev.queues[0]
    assert (q.num, q.align, q.layout) == (8, PAGE, VringLayout(RING0 * PAGE, 8, PAGE))
    # once stopped, they can be written again
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, 0)
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, 4)
    bus.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, 16)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING0)
    assert bus.dev.queues[0].layout == VringLayout(RING0 * PAGE, 4, 16)


def test_queue_align_must_be_a_power_of_two(bus):
    bus.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, 256)
    for bad in (0, 3, 100):
        bus.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, bad)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING0)
    assert bus.dev.queues[0].layout.align == 256


def test_guest_page_size_ignored_while_any_queue_is_live(bus):
    bus.activate(0, RING0)  # page size PAGE
    bus.wr(C.VIRTIO_MMIO_QUEUE_SEL, 1)  # another, not live, queue selected
    bus.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 1024)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING1)
    assert bus.dev.queues[1].layout.base == RING1 * PAGE  # not RING1 * 1024
    # with no queue live it takes
    bus.wr(C.VIRTIO_MMIO_STATUS, 0)
    bus.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 1024)
    bus.wr(C.VIRTIO_MMIO_QUEUE_SEL, 1)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING1)
    assert bus.dev.queues[1].layout.base == RING1 * 1024


def test_guest_page_size_must_be_a_power_of_two(bus):
    bus.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 2048)
    for bad in (0, 3000, 4097):
        bus.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, bad)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING1)
    assert bus.dev.queues[0].layout.base == RING1 * 2048


def test_non_zero_pfn_write_to_a_live_queue_is_ignored(bus):
    lay = bus.activate(0, RING0, num=8)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING1)
    assert bus.rd(C.VIRTIO_MMIO_QUEUE_PFN) == RING0
    assert bus.dev.queues[0].layout == lay
    # and the queue still works at the old place
    bus.post(lay, 0, [Desc(BUF, 4, C.VRING_DESC_F_WRITE)], 0)
    assert bus.mem.read16(lay.used_idx) == 1


# ------------------------------------------------------ QueuePFN=0 (case 18)


def test_pfn_zero_stops_a_live_queue_and_drops_chains_in_flight(bus):
    bus.backend.hold = True  # keep chains in flight
    lay = bus.activate(0, RING0, num=8)
    bus.post(lay, 0, [Desc(BUF, 16, C.VRING_DESC_F_WRITE)], 0)
    assert len(bus.dev.queues[0].in_flight) == 1
    bus.mem.fill(BUF, 16, 0xAA)
    ring_before = bus.mem.read(lay.base, lay.size)

    bus.wr(C.VIRTIO_MMIO_QUEUE_SEL, 0)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, 0)
    assert bus.rd(C.VIRTIO_MMIO_QUEUE_PFN) == 0
    assert not bus.dev.queues[0].in_flight
    bus.backend.release()  # the answer arrives: nothing may be written for it
    assert bus.mem.read(lay.base, lay.size) == ring_before
    assert bus.mem.read(BUF, 16) == b"\xaa" * 16
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == 0
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) == 0
    # a notify of the stopped queue does nothing
    bus.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
    assert bus.mem.read(lay.base, lay.size) == ring_before


def test_stopped_queue_can_be_started_again(bus):
    bus.activate(0, RING0, num=8)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, 0)
    bus.wr(C.VIRTIO_MMIO_QUEUE_NUM, 4)  # allowed again once stopped
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, RING1)
    lay = VringLayout(RING1 * PAGE, 4, PAGE)
    assert bus.dev.queues[0].layout == lay
    bus.post(lay, 0, [Desc(BUF, 4, C.VRING_DESC_F_WRITE)], 0)
    assert bus.mem.read16(lay.used_idx) == 1


def test_pfn_zero_on_an_inactive_queue_is_harmless(bus):
    before = bus.snapshot()
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, 0)
    assert bus.snapshot() == before


# ------------------------------------------------------------- reset


def test_status_zero_resets_everything_but_the_page_size(bus):
    bus.backend.hold = True
    bus.wr(C.VIRTIO_MMIO_STATUS, 3)
    bus.wr(C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, 1 << C.VIRTIO_RING_F_INDIRECT_DESC)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)
    lay0 = bus.activate(0, RING0, num=8, align=64)
    bus.post(lay0, 0, [Desc(BUF, 4, C.VRING_DESC_F_WRITE)], 0)
    break_device(bus, queue=1)
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) and bus.irq and bus.pfn(0) == RING0 and bus.pfn(1) == RING1

    bus.wr(C.VIRTIO_MMIO_STATUS, 0)
    assert bus.rd(C.VIRTIO_MMIO_STATUS) == 0
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) == 0
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == 0
    assert not bus.irq
    d = bus.dev
    assert d.features == 0 and d.guest_features == [0, 0]
    assert (d.host_features_sel, d.guest_features_sel, d.queue_sel) == (0, 0, 0)
    assert bus.pfn(0) == 0 and bus.pfn(1) == 0
    assert [(q.num, q.align, q.live, len(q.in_flight)) for q in d.queues] == [(NUM_MAX, 4096, False, 0)] * 2
    # HostFeaturesSel is back at 0
    assert bus.rd(C.VIRTIO_MMIO_DEVICE_FEATURES) == d.host_features & 0xFFFFFFFF
    # nothing held before the reset completes afterwards
    used_before = bus.mem.read(lay0.used, 4 + 8 * 8)
    bus.backend.release()
    assert bus.mem.read(lay0.used, 4 + 8 * 8) == used_before
    assert not bus.irq


@pytest.mark.parametrize("page", [4096, 16384, 65536])
def test_status_zero_keeps_the_guest_page_size(bus, page):
    """Linux writes GuestPageSize once, before its Status=0 (docs/linux.md):
    the reset keeps it, so QueuePFN counts in the guest's pages afterwards."""
    bus.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 8192)
    bus.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, page)
    bus.wr(C.VIRTIO_MMIO_STATUS, 0)
    assert bus.dev.page_size == page
    pfn = 0x80000 // page  # a ring at 512 KiB in every page size
    bus.wr(C.VIRTIO_MMIO_QUEUE_SEL, 0)
    bus.wr(C.VIRTIO_MMIO_QUEUE_PFN, pfn)
    lay = VringLayout(pfn * page, NUM_MAX, PAGE)
    bus.post(lay, 0, [Desc(BUF, 4), Desc(BUF + 4, 4, C.VRING_DESC_F_WRITE)], 0)
    assert bus.mem.read16(lay.used_idx) == 1


def test_power_on_page_size_is_4096(via):
    assert Bus(via).dev.page_size == 4096


# -------------------------------------------------------- INDIRECT_MAX


def test_default_indirect_max_takes_a_linux_virtio_net_table_on_a_ring_of_16(bus):
    """virtio-net sends MAX_SKB_FRAGS + 2 = 19 entries in one table, whatever
    the ring size: the default INDIRECT_MAX (32, docs/linux.md) takes it, while
    QueueNumMax is 16."""
    assert bus.dev.indirect_max == DEFAULT_INDIRECT_MAX == 32 and NUM_MAX == 16
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, 1 << C.VIRTIO_RING_F_INDIRECT_DESC)
    lay = bus.activate(0, RING0)
    table = BUF + 0x1000
    for i in range(19):
        last = i == 18
        flags = (0 if last else C.VRING_DESC_F_NEXT) | (C.VRING_DESC_F_WRITE if last else 0)
        bus.mem.write(table + 16 * i, Desc(BUF + 8 * i, 8, flags, 0 if last else i + 1).pack())
    bus.post(lay, 0, [Desc(table, 16 * 19, C.VRING_DESC_F_INDIRECT)], 0)
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) == 0 and bus.mem.read16(lay.used_idx) == 1


@pytest.mark.parametrize("bad", [0, 32769])
def test_indirect_max_out_of_range_is_refused(bad):
    with pytest.raises(DeviceModelError, match=f"indirect_max must be 1..32768, got {bad}"):
        ReferenceDevice(ConfigBackend(1), GuestMemory(4096), indirect_max=bad)


def test_reset_clears_every_queue_pfn_of_an_initialised_driver(via):
    rig = make_rig(queues=(("a", 16), ("b", 8), ("c", 4)), drv_features=ALL_RING_FEATURES)
    bus = Bus.__new__(Bus)
    bus.via, bus.dev, bus.hal, bus.mem = via, rig.dev, rig.hal, rig.mem
    pfns = [bus.pfn(i) for i in range(3)]
    assert all(pfns) and len(set(pfns)) == 3
    bus.wr(C.VIRTIO_MMIO_STATUS, 0)
    assert [bus.pfn(i) for i in range(3)] == [0, 0, 0]
    assert not any(q.live for q in rig.dev.queues)


def test_driver_reset_clears_every_queue_pfn():
    rig = make_rig(queues=(("a", 16), ("b", 8)))
    assert all(q.live for q in rig.dev.queues)
    run(rig.drv.reset())
    assert not any(q.live for q in rig.dev.queues)
    for i in range(2):
        rig.dev.write(C.VIRTIO_MMIO_QUEUE_SEL, i)
        assert rig.dev.read(C.VIRTIO_MMIO_QUEUE_PFN) == 0


# -------------------------------------------------------- interrupts


def test_interrupt_ack_clears_only_the_written_bits(bus):
    lay = bus.activate(0, RING0, num=8)
    bus.post(lay, 0, [Desc(BUF, 4, C.VRING_DESC_F_WRITE)], 0)
    bus.backend._config_changed()
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == 3
    assert bus.irq
    bus.wr(C.VIRTIO_MMIO_INTERRUPT_ACK, 0)
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == 3
    bus.wr(C.VIRTIO_MMIO_INTERRUPT_ACK, C.VIRTIO_MMIO_INT_VRING)
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == C.VIRTIO_MMIO_INT_CONFIG
    assert bus.irq  # the line follows InterruptStatus != 0
    bus.wr(C.VIRTIO_MMIO_INTERRUPT_ACK, C.VIRTIO_MMIO_INT_VRING)  # already clear: no change
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == C.VIRTIO_MMIO_INT_CONFIG
    bus.wr(C.VIRTIO_MMIO_INTERRUPT_ACK, C.VIRTIO_MMIO_INT_CONFIG)
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == 0
    assert not bus.irq


def test_irq_line_is_interrupt_status_non_zero(bus):
    lay = bus.activate(0, RING0, num=8)
    assert not bus.irq
    bus.post(lay, 0, [Desc(BUF, 4, C.VRING_DESC_F_WRITE)], 0)
    assert bus.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS) == C.VIRTIO_MMIO_INT_VRING
    assert bus.irq and bus.hal.irq(0) and bus.dev.irq
    bus.wr(C.VIRTIO_MMIO_INTERRUPT_ACK, 0xFFFFFFFF)
    assert not bus.irq and not bus.hal.irq(0)


# ----------------------------------------------------------- features


def test_host_features_words_by_select(via):
    offered = 1 << 1 | 1 << 5 | 1 << 33 | 1 << 40 | 1 << 63
    bus = Bus(via, ConfigBackend(2, device_features=offered))
    host = offered | TRANSPORT_FEATURES
    for sel, word in ((0, host & 0xFFFFFFFF), (1, host >> 32), (2, 0), (3, 0), (0xFFFFFFFF, 0), (0, host & 0xFFFFFFFF)):
        bus.wr(C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel)
        assert bus.rd(C.VIRTIO_MMIO_DEVICE_FEATURES) == word, sel
    assert host >> 32 != 0


def test_guest_features_by_select_and_frozen_after_driver_ok(bus):
    ring = 1 << C.VIRTIO_RING_F_INDIRECT_DESC | 1 << C.VIRTIO_RING_F_EVENT_IDX
    bus.wr(C.VIRTIO_MMIO_STATUS, 3)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, 0xFFFFFFFF)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2)  # out of range: ignored
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, 0xFFFFFFFF)
    assert bus.dev.guest_features == [0xFFFFFFFF, 0]
    assert bus.dev.features == TRANSPORT_FEATURES  # only what is offered
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, ring)
    bus.wr(C.VIRTIO_MMIO_STATUS, 7)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, 0)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, 0xFFFFFFFF)
    assert bus.dev.guest_features == [ring, 0]
    assert bus.dev.features == ring
    bus.wr(C.VIRTIO_MMIO_STATUS, 0)  # reset thaws (and clears) them
    assert bus.dev.features == 0
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, 1 << C.VIRTIO_F_ANY_LAYOUT)
    assert bus.dev.features == 1 << C.VIRTIO_F_ANY_LAYOUT


def test_frozen_features_decide_the_ring_rules(bus):
    """INDIRECT written after DRIVER_OK does not enable indirect descriptors."""
    bus.wr(C.VIRTIO_MMIO_STATUS, 7)
    bus.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, 1 << C.VIRTIO_RING_F_INDIRECT_DESC)
    lay = bus.activate(0, RING0, num=8)
    table = BUF + 0x1000
    bus.mem.write(table, Desc(BUF, 4, C.VRING_DESC_F_WRITE).pack())
    bus.post(lay, 0, [Desc(table, 16, C.VRING_DESC_F_INDIRECT)], 0)
    assert bus.rd(C.VIO_MMIO_DEVICE_ERROR) & 0xFF == Cause.INDIRECT_NOT_NEGOTIATED


@pytest.mark.parametrize(
    "device_features,transport,drv_features",
    [
        (0, TRANSPORT_FEATURES, ALL_RING_FEATURES),
        (0, TRANSPORT_FEATURES, 0),
        (0, 1 << C.VIRTIO_RING_F_EVENT_IDX, ALL_RING_FEATURES),
        (1 << 0 | 1 << 2, TRANSPORT_FEATURES, 1 << 0 | 1 << 1 | 1 << C.VIRTIO_RING_F_INDIRECT_DESC),
        (1 << 33 | 1 << 40 | 1 << 7, 0, 1 << 33 | 1 << 41 | 1 << 7 | ALL_RING_FEATURES),
        ((1 << 64) - 1 & ~(1 << C.VIRTIO_F_VERSION_1), TRANSPORT_FEATURES, (1 << 64) - 1 & ~(1 << C.VIRTIO_F_VERSION_1)),
    ],
)
def test_negotiated_features_are_host_and_driver_on_both_sides(device_features, transport, drv_features):
    backend = LoopbackBackend(2, device_features=device_features)
    rig = make_rig(backend=backend, drv_features=drv_features, transport_features=transport)
    host = device_features | transport
    assert rig.drv.host_features == rig.dev.host_features == host
    assert rig.drv.features == host & drv_features
    assert rig.dev.features == host & drv_features
    assert rig.dev.guest_features == [rig.drv.features & 0xFFFFFFFF, rig.drv.features >> 32]


def test_version_1_is_never_negotiated_by_the_legacy_driver():
    v1 = 1 << C.VIRTIO_F_VERSION_1
    rig = make_rig(backend=LoopbackBackend(2, device_features=v1), drv_features=v1 | ALL_RING_FEATURES)
    assert rig.dev.host_features & v1
    assert not rig.drv.features & v1 and not rig.dev.features & v1
    assert rig.drv.features == rig.dev.features == ALL_RING_FEATURES


# ---------------------------------------------------------------- notify


@pytest.mark.parametrize("queue", [0, 1, 2, 0xFFFF, 0xFFFFFFFF])
def test_notify_of_a_missing_or_inactive_queue_is_ignored(bus, queue):
    # queue 0's ring memory holds an offered chain, but the queue is not live
    lay = VringLayout(RING0 * PAGE, NUM_MAX, PAGE)
    bus.mem.write(lay.desc_addr(0), Desc(BUF, 4, C.VRING_DESC_F_WRITE).pack())
    bus.mem.write16(lay.avail_idx, 1)
    accesses = []
    read, write = bus.mem.read, bus.mem.write
    bus.mem.read = lambda a, n: accesses.append(("r", a)) or read(a, n)
    bus.mem.write = lambda a, d: accesses.append(("w", a)) or write(a, d)
    before = bus.snapshot()
    bus.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, queue)
    assert accesses == []  # no DMA at all
    assert bus.snapshot() == before
    assert not bus.irq


def test_notify_is_ignored_while_broken(bus):
    lay = bus.activate(0, RING0, num=8)
    break_device(bus, queue=1)
    bus.mem.write(lay.desc_addr(0), Desc(BUF, 4, C.VRING_DESC_F_WRITE).pack())
    bus.mem.write16(lay.avail_ring(0), 0)
    bus.mem.write16(lay.avail_idx, 1)
    bus.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
    assert bus.mem.read16(lay.used_idx) == 0
    assert not bus.dev.queues[0].in_flight
    # the same chain completes once the device is reset and set up again
    bus.wr(C.VIRTIO_MMIO_STATUS, 0)
    bus.activate(0, RING0, num=8)
    bus.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
    assert bus.mem.read16(lay.used_idx) == 1


# ---------------------------------------------------------------- config


def test_config_reads_byte_by_byte(bus):
    assert [bus.rd(C.VIRTIO_MMIO_CONFIG + i, 1) for i in range(len(CONFIG))] == list(CONFIG)
    # past the end of the device's config: 0
    assert [bus.rd(C.VIRTIO_MMIO_CONFIG + i, 1) for i in range(len(CONFIG), len(CONFIG) + 8)] == [0] * 8


def test_config_reads_at_every_aligned_width(bus):
    for size in (1, 2, 4):
        for off in range(0, len(CONFIG), size):
            assert bus.rd(C.VIRTIO_MMIO_CONFIG + off, size) == int.from_bytes(CONFIG[off : off + size], "little")
    # a word that runs off the end is padded with zeros
    cfg = CONFIG + b"\0\0\0\0"
    assert bus.rd(C.VIRTIO_MMIO_CONFIG + 8, 4) == int.from_bytes(cfg[8:12], "little")


def test_driver_read_config_matches_the_bytes():
    rig = make_rig(backend=ConfigBackend(2))
    for off in range(0, 8):
        for size in (1, 2, 4):
            assert run(rig.drv.read_config(off, size)) == int.from_bytes(CONFIG[off : off + size], "little")


@pytest.mark.parametrize("offset,size", [(1, 2), (3, 2), (1, 4), (2, 4), (0, 3), (0, 8), (4, 0)])
def test_unaligned_or_odd_width_config_reads_read_zero(bus, offset, size):
    assert bus.rd(C.VIRTIO_MMIO_CONFIG + offset, size) == 0


def test_config_writes_reach_the_backend_only_when_aligned(bus):
    bus.wr(C.VIRTIO_MMIO_CONFIG + 3, 0xAB, 1)
    bus.wr(C.VIRTIO_MMIO_CONFIG + 2, 0xBEEF, 2)
    bus.wr(C.VIRTIO_MMIO_CONFIG + 4, 0x01020304, 4)
    bus.wr(C.VIRTIO_MMIO_CONFIG + 1, 0xBEEF, 2)  # unaligned: ignored
    bus.wr(C.VIRTIO_MMIO_CONFIG + 2, 0x01020304, 4)  # unaligned: ignored
    bus.wr(C.VIRTIO_MMIO_CONFIG + 0, 0x010203, 3)  # odd width: ignored
    assert bus.backend.config_writes == [(3, b"\xab"), (2, b"\xef\xbe"), (4, b"\x04\x03\x02\x01")]


def test_config_write_takes_only_the_bytes_of_its_width(bus):
    bus.wr(C.VIRTIO_MMIO_CONFIG, 0x1234, 1)
    bus.wr(C.VIRTIO_MMIO_CONFIG + 2, 0x123456, 2)
    assert bus.backend.config_writes == [(0, b"\x34"), (2, b"\x56\x34")]
