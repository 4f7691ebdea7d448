"""Hostile guest input against the reference device: docs/verification.md cases 1-24.

The cases are the scenarios of ``vio.hostile`` (one list, run here on the
reference device at the end of this file and by tests/test_hostile_rtl.py on
the RTL). The tests before them are the model-only checks the scenarios
cannot express: configurations the shared targets do not have (a DMA window
smaller than memory or beyond 4 GiB, INDIRECT_MAX 4, ring indices near the
wrap, a device that does not offer INDIRECT), the exact number of accesses a
walk makes and the order of the device's writes, and the reference device's
own state.

Pattern of every test: a normal driver init, then rings written by hand straight
into guest memory (descriptors, avail entries, avail.idx), then QueueNotify
through the HAL. Each step runs under the shadow-memory oracle (nothing may
change outside the used rings and the writable buffers of accepted chains) and
an access log with a budget (a walk that does not stop fails instead of hanging).
Then the expected outcome: the used entries, or "broken" with the exact cause,
queue and info in DEVICE_ERROR, NEEDS_RESET in Status, InterruptStatus bit 1 and
the IRQ line high. Every broken device is then recovered: Status=0, a fresh
driver init and a normal transfer.

Case 21 (SLVERR/DECERR on a DMA access) is the RTL's; the model's nearest
equivalent, a DMA window larger than guest memory, is a scenario.
"""

import pytest

from vio import VIO_IOV_FLAGS_WRITE, VioTransfer
from vio import constants as C
from vio.constants import Cause
from vio.device.loopback import LoopbackBackend, loopback_answer
from vio.drivers.base import ClassDriver
from vio.oracle import (
    AccessLog,
    OracleViolation,
    Region,
    ShadowMemory,
    allowed_regions,
    landmark_regions,
    used_ring_region,
)
from vio.hostile import SCENARIOS, ModelTarget
from vio.hostile.chains import CASES as CHAINS
from vio.hostile.chains import corrupt
from vio.hostile.cases import READ_ONLY, UNMAPPED, WRITE_ONLY
from vio.hostile.session import HandRing
from vio.ring import DESC_SIZE, VringLayout, u16, unpack_used_elem

from .rig import BASE, MEM_SIZE, Rig, make_rig, run


R = 0  # readable descriptor
NEXT = C.VRING_DESC_F_NEXT
W = C.VRING_DESC_F_WRITE
IND = C.VRING_DESC_F_INDIRECT
INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
NUM = 16  # QueueNum of the default rig's queues
BUDGET = 2_000  # memory accesses one step may make; the largest legal step here makes < 200
STATUS = C.VIRTIO_MMIO_STATUS
ISR = C.VIRTIO_MMIO_INTERRUPT_STATUS
ERROR = C.VIO_MMIO_DEVICE_ERROR
INT_VRING = C.VIRTIO_MMIO_INT_VRING
INT_CONFIG = C.VIRTIO_MMIO_INT_CONFIG


# ------------------------------------------------------------------ helpers


class ConfigBackend(LoopbackBackend):
    """Loopback with eight bytes of config space."""

    CONFIG = bytes([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])

    def config(self) -> bytes:
        return self.CONFIG


def reg_read(r: Rig, offset: int, size: int = 4) -> int:
    return run(r.hal.read(BASE + offset, size))


def reg_write(r: Rig, offset: int, value: int, size: int = 4) -> None:
    run(r.hal.write(BASE + offset, value, size))


def notify(r: Rig, queue: int) -> None:
    reg_write(r, C.VIRTIO_MMIO_QUEUE_NOTIFY, queue)


def select(r: Rig, queue: int) -> None:
    reg_write(r, C.VIRTIO_MMIO_QUEUE_SEL, queue)


def pfn_of(r: Rig, queue: int) -> int:
    select(r, queue)
    return reg_read(r, C.VIRTIO_MMIO_QUEUE_PFN)


def buf(r: Rig, data: bytes | int, fill: int = 0) -> int:
    """A fresh guest buffer holding ``data`` (bytes), or ``data`` bytes of ``fill``."""
    raw = data if isinstance(data, bytes) else bytes([fill]) * data
    addr = r.mem.alloc(len(raw), 16)
    r.mem.write(addr, raw)
    return addr


def step(r: Rig, action, *, allow: tuple[Region, ...] = (), name: str = "step", budget: int = BUDGET) -> AccessLog:
    """Run ``action`` under the oracle: snapshot, access log with a budget, then
    every changed byte and every single write must be inside the used rings, the
    driver's posted writable buffers or ``allow``."""
    shadow = ShadowMemory(r.mem, allowed=allowed_regions(r.drv) + list(allow), landmarks=landmark_regions(r.drv))
    with AccessLog(r.mem, budget=budget) as log:
        action()
    shadow.check(name)
    log.check_writes(shadow, name)
    return log


def expect_broken(r: Rig, cause: Cause, queue: int, info: int) -> None:
    """Broken as hostile-input.md defines it, with exactly this DEVICE_ERROR."""
    err = reg_read(r, ERROR)
    raw = err & 0xFF
    got = (Cause(raw) if raw in Cause._value2member_map_ else raw, err >> 8 & 0xFF, err >> 16)
    assert got == (cause, queue, info & 0xFFFF), f"DEVICE_ERROR {err:#010x}"
    assert reg_read(r, STATUS) & C.VIRTIO_CONFIG_S_NEEDS_RESET
    assert reg_read(r, ISR) & INT_CONFIG
    assert r.hal.irq(0)


def expect_healthy(r: Rig) -> None:
    assert reg_read(r, ERROR) == 0
    assert not reg_read(r, STATUS) & C.VIRTIO_CONFIG_S_NEEDS_RESET


def transfer_works(r: Rig, queue: int = 0) -> None:
    """A normal transfer through the driver model; its completion under the oracle
    (the chain is held while the driver writes, then released inside the step)."""
    data = b"recovered!"
    rd = buf(r, data)
    wr = buf(r, 24, fill=0xEE)
    tfr = VioTransfer(queue, [(rd, len(data)), (wr, 24, VIO_IOV_FLAGS_WRITE)])
    r.backend.hold = True
    run(r.drv.submit(tfr))
    step(r, r.backend.release, name="completion of a normal transfer")
    run(ClassDriver(r.drv, timeout_ns=100_000).wait(tfr))
    assert tfr.done and tfr.actual == 24
    assert r.mem.read(wr, 24) == loopback_answer(queue, data, 24)


def recover(r: Rig) -> None:
    """Status=0 clears the broken state; then a fresh init and a transfer work."""
    reg_write(r, STATUS, 0)
    assert reg_read(r, STATUS) == 0
    assert reg_read(r, ERROR) == 0
    assert reg_read(r, ISR) == 0 and not r.hal.irq(0)
    assert all(pfn_of(r, i) == 0 for i in range(len(r.dev.queues)))
    if isinstance(r.backend, LoopbackBackend):
        r.backend.hold = False
        r.backend.limit = None
    run(r.drv.init())
    expect_healthy(r)
    transfer_works(r, 0)


def notify_broken(r: Rig, ring: HandRing, cause: Cause, info: int, *, allow: tuple[Region, ...] = ()) -> AccessLog:
    """Notify ``ring``'s queue and expect broken with (cause, info): no used entry,
    no write at all, the backend never asked."""
    used_before = ring.used_idx
    received = len(r.backend.received)
    log = step(r, lambda: notify(r, ring.queue), allow=allow, name=f"notify expecting {cause.name}")
    expect_broken(r, cause, ring.queue, info)
    assert ring.used_idx == used_before
    assert log.writes == [], "a broken chain must not cause any write"
    assert len(r.backend.received) == received, "a broken chain must not reach the backend"
    return log


def notify_ok(r: Rig, ring: HandRing, *completions: tuple[int, int], allow: tuple[Region, ...] = ()) -> AccessLog:
    """Notify and expect these (head, used.len) entries, in order, and a healthy device."""
    used_before = ring.used_idx
    log = step(r, lambda: notify(r, ring.queue), allow=allow, name="notify of a legal ring")
    expect_healthy(r)
    assert u16(ring.used_idx - used_before) == len(completions)
    assert [ring.used(used_before + i) for i in range(len(completions))] == list(completions)
    return log


# ------------------------------------------------------------------ case 1


@pytest.mark.parametrize("index_base", [0, 0xFFF8], ids=["from0", "wrapping"])
@pytest.mark.parametrize("jump", [NUM + 1, 0x8000, 0xFFFF], ids=["num+1", "half", "backwards"])
def test_case01_avail_idx_jump_breaks_before_any_pop(index_base, jump):
    r = make_rig(ring_index_base=index_base)
    ring = HandRing(r)
    data = buf(r, b"abcd")
    for i in range(NUM):  # every slot and descriptor valid: only the jump is wrong
        ring.desc(i, data, 4)
        r.mem.write16(ring.layout.avail_ring(i), i)
    ring.set_avail_idx(index_base + jump)
    log = notify_broken(r, ring, Cause.AVAIL_IDX_JUMP, u16(index_base + jump))
    assert log.touching(*ring.table) == [], "nothing may be popped"
    assert log.touching(ring.layout.avail_ring(0), ring.layout.used_event) == [], "no avail entry may be read"
    recover(r)


@pytest.mark.parametrize("index_base", [0, 0xFFF8], ids=["from0", "wrapping"])
def test_case01_avail_idx_exactly_queue_num_ahead_is_legal(index_base):
    r = make_rig(ring_index_base=index_base)
    ring = HandRing(r)
    for i in range(NUM):
        ring.desc(i, buf(r, bytes([i]) * 4), 4)
    ring.offer(*range(NUM))
    notify_ok(r, ring, *[(i, 0) for i in range(NUM)])
    assert [rd for _, rd, _ in r.backend.received] == [bytes([i]) * 4 for i in range(NUM)]


# ------------------------------------------------------------------ case 4


@pytest.mark.parametrize(
    "head,links",
    [
        (0, {i: (i + 1) % NUM for i in range(NUM)}),  # QueueNum + 1: 0 -> 1 -> ... -> 15 -> 0
        (5, {5: 5}),  # a descriptor that points at itself
        (3, {3: 4, 4: 3}),
    ],
    ids=["whole-table", "self", "pair"],
)
def test_case04_loop_is_stopped_after_queue_num_descriptors(head, links):
    r = make_rig()
    ring = HandRing(r)
    rd = buf(r, b"L")
    for index, nxt in links.items():
        ring.desc(index, rd, 1, NEXT, nxt)
    ring.offer(head)
    log = notify_broken(r, ring, Cause.CHAIN_LOOP, head)
    assert len(log.touching(*ring.table, kind="r")) == NUM, "the walk must stop after QueueNum descriptors"
    recover(r)


# ------------------------------------------------------------------ case 7


def _rogue_features(r: Rig, extra: int) -> None:
    """Make the driver write GuestFeatures with ``extra`` set, whatever was offered."""
    write = r.hal.write

    async def rogue(addr: int, value: int, size: int = 4) -> None:
        if addr == BASE + C.VIRTIO_MMIO_DRIVER_FEATURES:
            value |= extra
        await write(addr, value, size)

    r.hal.write = rogue


def test_case07_indirect_not_offered_but_written_by_a_rogue_driver():
    """The device does not offer INDIRECT (a configuration the shared targets
    do not have), a rogue driver writes the bit anyway: still broken."""
    r = make_rig(init=False, transport_features=0)
    _rogue_features(r, INDIRECT)
    run(r.drv.init())
    assert not r.dev.features & INDIRECT
    ring = HandRing(r)
    rd = buf(r, b"data")
    table = buf(r, DESC_SIZE)
    ring.desc(0, rd, 4, table=table)
    ring.desc(0, rd, 4, NEXT, 1)
    ring.desc(1, table, DESC_SIZE, IND)
    ring.offer(0)
    log = notify_broken(r, ring, Cause.INDIRECT_NOT_NEGOTIATED, 1)
    assert log.touching(table, table + DESC_SIZE) == [], "the table of a refused INDIRECT must not be read"
    del r.hal.write  # the honest driver again
    recover(r)


# ------------------------------------------------------------------ case 8

INDIRECT_MAX = 4


@pytest.mark.parametrize("length", [0, 8, 24, DESC_SIZE * INDIRECT_MAX + 8, DESC_SIZE * (INDIRECT_MAX + 1)])
def test_case08_indirect_table_size(length):
    r = make_rig(drv_features=INDIRECT, indirect_max=INDIRECT_MAX)
    ring = HandRing(r)
    rd = buf(r, b"x")
    entries = INDIRECT_MAX + 1
    table = buf(r, DESC_SIZE * entries)
    for i in range(entries):  # valid entries: only the length is wrong
        ring.desc(i, rd, 1, NEXT if i + 1 < entries else 0, i + 1, table=table)
    ring.desc(2, table, length, IND)
    ring.offer(2)
    log = notify_broken(r, ring, Cause.INDIRECT_SIZE, 2)
    assert log.touching(table, table + DESC_SIZE * entries) == [], "the table must not be read"
    recover(r)


def test_case08_indirect_table_at_the_limit_is_legal():
    r = make_rig(drv_features=INDIRECT, indirect_max=INDIRECT_MAX)
    ring = HandRing(r)
    table = buf(r, DESC_SIZE * INDIRECT_MAX)
    for i in range(INDIRECT_MAX):
        last = i + 1 == INDIRECT_MAX
        ring.desc(i, buf(r, bytes([0x30 + i])), 1, 0 if last else NEXT, 0 if last else i + 1, table=table)
    ring.desc(0, table, DESC_SIZE * INDIRECT_MAX, IND)
    ring.offer(0)
    notify_ok(r, ring, (0, 0))
    assert r.backend.received == [(0, b"0123", 0)]


# ------------------------------------------------------------------ case 9


@pytest.mark.parametrize("entries,links", [(1, {0: 0}), (3, {0: 1, 1: 2, 2: 0}), (3, {0: 1, 1: 2, 2: 1})])
def test_case09_loop_inside_indirect_table_bounded_by_table_length(entries, links):
    r = make_rig(drv_features=INDIRECT)
    ring = HandRing(r)
    rd = buf(r, b"L")
    table = buf(r, DESC_SIZE * entries)
    for index, nxt in links.items():
        ring.desc(index, rd, 1, NEXT, nxt, table=table)
    ring.desc(7, table, DESC_SIZE * entries, IND)
    ring.offer(7)
    log = notify_broken(r, ring, Cause.CHAIN_LOOP, 7)
    reads = log.touching(table, table + DESC_SIZE * entries, kind="r")
    assert len(reads) == entries, f"{len(reads)} table reads: the bound is the table's {entries} entries, not QueueNum"
    recover(r)


# ------------------------------------------------------------------ case 11

WINDOW = (0, 0x100000)  # the first MiB of the 4 MiB memory; the driver's rings sit low in it
WIN_END = WINDOW[0] + WINDOW[1]


@pytest.mark.parametrize(
    "addr,length,writable",
    [
        ((1 << 64) - 8, 16, True),  # wraps the address space
        ((1 << 64) - 16, 16, True),  # ends exactly at 2^64: still outside the window
        (0x200000, 16, True),  # in memory, outside the window
        (WIN_END - 8, 16, True),  # straddles the end of the window
        (0x180000, 4, False),  # a readable buffer outside
        (MEM_SIZE, 4, False),  # outside memory altogether
    ],
    ids=["wrap", "to-2^64", "outside", "straddle", "readable-outside", "past-memory"],
)
def test_case11_buffer_outside_dma_window_breaks_before_any_access(addr, length, writable):
    r = make_rig(dma_window=WINDOW)
    ring = HandRing(r)
    rd = buf(r, b"first")
    ring.desc(0, rd, 5, NEXT, 1)
    ring.desc(1, addr, length, W if writable else R)
    ring.offer(0)
    log = notify_broken(r, ring, Cause.DMA_WINDOW, 1)
    assert log.touching(rd, rd + 5) == [], "the readable buffer must not be read before the chain is validated"
    recover(r)


def test_case11_buffer_at_the_window_end_is_legal():
    r = make_rig(dma_window=WINDOW)
    ring = HandRing(r)
    ring.desc(0, WIN_END - 16, 16, W)
    ring.offer(0)
    notify_ok(r, ring, (0, 16), allow=(Region.sized(WIN_END - 16, 16, "last 16 bytes of the window"),))
    assert r.mem.read(WIN_END - 16, 16) == loopback_answer(0, b"", 16)


def test_case11_indirect_table_outside_dma_window():
    r = make_rig(dma_window=WINDOW, drv_features=INDIRECT)
    ring = HandRing(r)
    ring.desc(3, 0x200000, 2 * DESC_SIZE, IND)
    ring.offer(3)
    log = notify_broken(r, ring, Cause.DMA_WINDOW, 3)
    assert log.touching(0x200000, 0x200000 + 2 * DESC_SIZE) == []
    recover(r)


def _manual_queue_setup(r: Rig, queue: int, ring_base: int, num: int = NUM) -> None:
    """Status=0 and a register-level set-up of one queue whose ring is at ring_base."""
    reg_write(r, STATUS, 0)
    reg_write(r, STATUS, C.VIRTIO_CONFIG_S_ACKNOWLEDGE | C.VIRTIO_CONFIG_S_DRIVER)
    reg_write(r, C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096)
    select(r, queue)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_NUM, num)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_ALIGN, 4096)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, ring_base // 4096)


@pytest.mark.parametrize(
    "ring_base",
    [0x200000, WIN_END - 0x1000, BASE, MEM_SIZE],
    ids=["outside", "straddle", "register-window", "past-memory"],
)
def test_case11_ring_outside_dma_window_at_queue_pfn(ring_base):
    r = make_rig(dma_window=WINDOW)
    with AccessLog(r.mem) as log:
        _manual_queue_setup(r, 1, ring_base)
    expect_broken(r, Cause.DMA_WINDOW, 1, 0)
    assert pfn_of(r, 1) == 0, "the queue must not be activated"
    assert log.entries == [], "no DMA for a ring outside the window"
    recover(r)


def test_case11_used_ring_placed_past_the_window_by_absolute_alignment():
    """base 0xfef20 (GuestPageSize 16) is not QueueAlign-aligned: base + vring_size
    ends inside the window, but the used ring, aligned absolutely, starts at
    0x100000, the window's end. The check must use the used ring as placed."""
    r = make_rig(dma_window=WINDOW)
    layout = VringLayout(0xFEF20, NUM, 4096)
    assert layout.base + layout.size <= WIN_END < layout.end
    with AccessLog(r.mem) as log:
        reg_write(r, STATUS, 0)
        reg_write(r, STATUS, C.VIRTIO_CONFIG_S_ACKNOWLEDGE | C.VIRTIO_CONFIG_S_DRIVER)
        reg_write(r, C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 16)
        select(r, 0)
        reg_write(r, C.VIRTIO_MMIO_QUEUE_NUM, NUM)
        reg_write(r, C.VIRTIO_MMIO_QUEUE_ALIGN, 4096)
        reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, 0xFEF20 // 16)
    expect_broken(r, Cause.DMA_WINDOW, 0, 0)
    assert pfn_of(r, 0) == 0 and log.entries == []
    recover(r)


def test_case11_ring_inside_dma_window_is_accepted():
    r = make_rig(dma_window=WINDOW)
    ring_base = WIN_END - 0x2000  # 0x2000 >= vring_size(16, 4096) = 4230
    r.mem.fill(ring_base, 0x2000)
    _manual_queue_setup(r, 1, ring_base)
    expect_healthy(r)
    assert pfn_of(r, 1) == ring_base // 4096


# ------------------------------------------------------------------ case 12

BIG_WINDOW = (0, 1 << 40)  # room for gigabyte buffers; they lie past memory but are never touched


@pytest.mark.parametrize(
    "lengths,bad_index",
    [
        ((4, 0x7FFFFFFF, 0x7FFFFFFC), None),  # exactly 2^32 - 1: legal
        ((4, 0x7FFFFFFF, 0x7FFFFFFD), 2),  # 2^32, reached at the last descriptor
        ((4, 0xFFFFFFFF, 0xFFFFFFFF), 1),  # past it already at the second
    ],
    ids=["2^32-1", "2^32", "2x4G"],
)
def test_case12_chain_length_sum_past_4g(lengths, bad_index):
    r = make_rig(backend=LoopbackBackend(limit=0), dma_window=BIG_WINDOW)
    ring = HandRing(r)
    rd = buf(r, b"head")
    ring.desc(0, rd, lengths[0], NEXT, 1)
    ring.desc(1, 1 << 36, lengths[1], W | NEXT, 2)
    ring.desc(2, 1 << 37, lengths[2], W)
    ring.offer(0)
    if bad_index is None:
        notify_ok(r, ring, (0, 0))
        assert r.backend.received == [(0, b"head", lengths[1] + lengths[2])]
    else:
        notify_broken(r, ring, Cause.LENGTH_OVERFLOW, bad_index)
        recover(r)


# ------------------------------------------------------------------ case 14


class GuardedBuffers:
    """Buffers surrounded by 16 guard bytes of 0xaa each side."""

    GUARD = 16

    def __init__(self, r: Rig):
        self.r = r
        self.blocks: list[tuple[int, int]] = []

    def make(self, data: bytes) -> int:
        addr = buf(self.r, b"\xaa" * self.GUARD + data + b"\xaa" * self.GUARD) + self.GUARD
        self.blocks.append((addr, len(data)))
        return addr

    def guards_intact(self) -> bool:
        g = self.GUARD
        return all(self.r.mem.read(a - g, g) == b"\xaa" * g and self.r.mem.read(a + n, g) == b"\xaa" * g for a, n in self.blocks)


@pytest.mark.parametrize("limit", [None, 9, 0], ids=["full", "short", "empty"])
@pytest.mark.parametrize("indirect", [False, True], ids=["direct", "indirect"])
def test_case14_device_writes_only_writable_bytes_and_reports_them(limit, indirect):
    """Never the readable buffer, the descriptor table or the indirect table, not
    even with the bytes already there; at most the writable length; used.len is
    exactly the number of bytes written."""
    r = make_rig(backend=LoopbackBackend(limit=limit), drv_features=INDIRECT)
    r.drv.queue[0].indirect = indirect  # True: always an indirect table; False: never
    g = GuardedBuffers(r)
    rd = g.make(b"READ-ME!")
    w1 = g.make(b"\x11" * 5)
    w2 = g.make(b"\x22" * 7)
    tfr = VioTransfer(0, [(rd, 8), (w1, 5, VIO_IOV_FLAGS_WRITE), (w2, 7, VIO_IOV_FLAGS_WRITE)])
    r.backend.hold = True
    run(r.drv.submit(tfr))  # the driver's writes happen here; the device pops and holds the chain
    lay = r.drv.queue[0].layout
    table = r.drv.queue[0].posted[tfr.head].indirect_table
    assert (table is not None) == indirect
    protected = [(lay.desc, lay.avail - lay.desc), (rd, 8)] + ([(table, 3 * DESC_SIZE)] if table else [])
    before = [r.mem.read(a, n) for a, n in protected]
    shadow = ShadowMemory.around(r.drv)  # used rings, w1 and w2, from the driver's private record
    assert {(x.start, len(x)) for x in shadow.allowed} >= {(w1, 5), (w2, 7)}
    with AccessLog(r.mem, budget=BUDGET) as log:
        r.backend.release()
    shadow.check("completion")
    log.check_writes(shadow, "completion")
    for a, n in protected:
        assert log.touching(a, a + n, kind="w") == [], f"write into the protected bytes at {a:#x}"
    assert [r.mem.read(a, n) for a, n in protected] == before
    assert g.guards_intact()
    expected = loopback_answer(0, b"READ-ME!", 12 if limit is None else min(limit, 12))
    written = sum(n for a, n in log.writes if w1 <= a < w1 + 5 or w2 <= a < w2 + 7)
    assert written == len(expected)
    assert unpack_used_elem(r.mem.read(lay.used_ring(0), 8)) == (tfr.head, len(expected)), "used.len = bytes written"
    data = r.mem.read(w1, 5) + r.mem.read(w2, 7)
    assert data[: len(expected)] == expected
    assert data[len(expected) :] == (b"\x11" * 5 + b"\x22" * 7)[len(expected) :], "bytes past used.len must be untouched"
    assert run(r.drv.poll()) == 1 and tfr.actual == len(expected)


def test_case14_used_element_before_used_idx_and_device_keeps_its_own_used_idx():
    r = make_rig()
    q = r.drv.queue[0]
    lay = q.layout
    wr = buf(r, 4)
    first = VioTransfer(0, [(wr, 4, VIO_IOV_FLAGS_WRITE)])
    with AccessLog(r.mem) as log:
        run(r.drv.submit(first))
    writes = [(a, n) for k, a, n in log.entries if k == "w" and lay.used <= a < lay.avail_event + 2]
    assert writes == [(lay.used_ring(0), 8), (lay.used_idx, 2)], "used element first, then used.idx"
    run(r.drv.poll())
    assert first.done and first.actual == 4
    # the guest scribbles on used.idx: the device must publish from its own copy
    r.mem.write16(lay.used_idx, 0x1234)
    second = VioTransfer(0, [(wr, 4, VIO_IOV_FLAGS_WRITE)])
    run(r.drv.submit(second))
    assert r.mem.read16(lay.used_idx) == 2
    assert unpack_used_elem(r.mem.read(lay.used_ring(1), 8)) == (second.head, 4)
    run(r.drv.poll())
    assert second.done and second.actual == 4


# ------------------------------------------------------------------ cases 15-18


def _dev_queue_state(r: Rig) -> list[tuple]:
    return [(q.num, q.align, q.pfn, q.last_avail, q.used_idx, len(q.in_flight)) for q in r.dev.queues]


@pytest.mark.parametrize("bad", [0, 12, 32, 0xFFFFFFFF, 3])
def test_case15_bad_queue_num_is_ignored(bad):
    """Documented choice: the write is ignored and the queue keeps its QueueNum
    (QueueNumMax after a reset, else the last good value), so it still starts."""
    r = make_rig(queues=(("q0", 8), ("q1", 16)))
    pfn = pfn_of(r, 0)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, 0)  # stop q0 so that QueueNum is writable again
    reg_write(r, C.VIRTIO_MMIO_QUEUE_NUM, bad)
    assert r.dev.queues[0].num == 8
    reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, pfn)  # the driver's ring of 8, still zero, becomes live again
    assert r.dev.queues[0].live and r.dev.queues[0].num == 8
    for _ in range(9):  # past the end of the ring: a wrong QueueNum would pick the wrong slot
        transfer_works(r, 0)
    # after a reset QueueNum is QueueNumMax, and a bad write leaves it so
    reg_write(r, STATUS, 0)
    select(r, 1)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_NUM, bad)
    assert r.dev.queues[1].num == 16


def test_case16_queue_sel_out_of_range():
    r = make_rig()
    before = _dev_queue_state(r)
    for sel in (2, 0xFF, 0xFFFFFFFF):
        select(r, sel)
        assert reg_read(r, C.VIRTIO_MMIO_QUEUE_NUM_MAX) == 0
        assert reg_read(r, C.VIRTIO_MMIO_QUEUE_PFN) == 0
        with AccessLog(r.mem) as log:
            reg_write(r, C.VIRTIO_MMIO_QUEUE_NUM, 4)
            reg_write(r, C.VIRTIO_MMIO_QUEUE_ALIGN, 16)
            reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, 0x200)
            reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, 0)
        assert log.entries == []
        assert _dev_queue_state(r) == before
        expect_healthy(r)
    transfer_works(r, 0)
    transfer_works(r, 1)


def test_case16_notify_of_missing_or_inactive_queue_is_ignored():
    r = make_rig()
    # q1 stopped, then a perfectly valid chain written into its old ring
    ring = HandRing(r, 1)
    select(r, 1)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, 0)
    ring.desc(0, buf(r, 8), 8, W)
    ring.offer(0)
    for value in (1, 2, 0xFFFF, 0xFFFFFFFF):
        with AccessLog(r.mem) as log:
            notify(r, value)
        assert log.entries == [], f"notify {value:#x} must cause no DMA"
    assert r.backend.received == [] and reg_read(r, ISR) == 0
    expect_healthy(r)
    # a queue never activated (fresh device, before any set-up)
    r2 = make_rig(init=False)
    with AccessLog(r2.mem) as log:
        notify(r2, 0)
    assert log.entries == [] and r2.backend.received == []


def test_case17_queue_registers_ignored_while_live():
    r = make_rig()
    pfn0 = pfn_of(r, 0)
    before = _dev_queue_state(r)
    select(r, 0)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_NUM, 4)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_ALIGN, 16)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, pfn0 + 1)  # a second non-zero PFN while live
    reg_write(r, C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 8192)
    assert _dev_queue_state(r) == before
    assert r.dev.page_size == 4096
    assert pfn_of(r, 0) == pfn0
    for _ in range(NUM + 1):  # wraps the ring: a changed QueueNum would show
        transfer_works(r, 0)


def test_case18_queue_pfn_zero_stops_the_queue():
    """Documented choice: the queue is forgotten at once; chains in flight are
    dropped without a used entry; the other queues go on; the queue can be set
    up again and then gets answers to its new chains only."""
    r = make_rig()
    rd_a = buf(r, b"AAAA")
    a = VioTransfer(0, [(rd_a, 4), (buf(r, 8), 8, VIO_IOV_FLAGS_WRITE)])
    b = VioTransfer(1, [(buf(r, b"BBBB"), 4), (buf(r, 8), 8, VIO_IOV_FLAGS_WRITE)])
    r.backend.hold = True
    run(r.drv.submit(a))
    run(r.drv.submit(b))
    lay0 = r.drv.queue[0].layout
    pfn0 = pfn_of(r, 0)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, 0)
    assert reg_read(r, C.VIRTIO_MMIO_QUEUE_PFN) == 0 and pfn_of(r, 1) != 0
    # the answers arrive: q1 completes, q0 gets nothing
    shadow = ShadowMemory(r.mem, [used_ring_region(r.drv.queue[1].layout, 1), Region.sized(b.iov[1].buffer, 8, "b")])
    raised = r.dev.interrupts_raised
    r.backend.release()
    shadow.check("release after QueuePFN=0")
    assert r.mem.read16(lay0.used_idx) == 0
    assert r.mem.read16(r.drv.queue[1].layout.used_idx) == 1
    assert r.dev.interrupts_raised == raised + 1
    assert run(r.drv.poll()) == 1 and b.done and not a.done
    with AccessLog(r.mem) as log:
        notify(r, 0)
    assert log.entries == [], "a stopped queue takes no notify"
    # set the queue up again on a zeroed ring; its new chain gets its own answer
    r.mem.fill(lay0.base, lay0.size)
    select(r, 0)
    reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, pfn0)
    ring = HandRing(r, 0, idx=0)
    wr = buf(r, 8)
    ring.desc(0, buf(r, b"CCCC"), 4, NEXT, 1)
    ring.desc(1, wr, 8, W)
    ring.offer(0)
    r.backend.hold = True
    notify(r, 0)
    r.backend.release()
    expect_healthy(r)
    assert ring.used_idx == 1 and ring.used(0) == (0, 8)
    assert r.mem.read(wr, 8) == loopback_answer(0, b"CCCC", 8), "the dropped chain's answer must not reach the new one"


# ------------------------------------------------------------------ case 19


def test_case19_status_zero_with_chains_in_flight():
    r = make_rig()
    done = VioTransfer(0, [(buf(r, 4), 4, VIO_IOV_FLAGS_WRITE)])
    run(r.drv.submit(done))  # completes: InterruptStatus bit 0 stays set (not acknowledged)
    assert reg_read(r, ISR) == INT_VRING and r.hal.irq(0)
    r.backend.hold = True
    held = [VioTransfer(q, [(buf(r, b"old!"), 4), (buf(r, 8), 8, VIO_IOV_FLAGS_WRITE)]) for q in (0, 0, 1)]
    for t in held:
        run(r.drv.submit(t))
    used = [r.mem.read16(r.drv.queue[i].layout.used_idx) for i in (0, 1)]
    assert used == [1, 0]
    reg_write(r, STATUS, 0)
    assert reg_read(r, STATUS) == 0
    assert reg_read(r, ISR) == 0 and not r.hal.irq(0)
    assert pfn_of(r, 0) == 0 and pfn_of(r, 1) == 0
    assert all(not q.in_flight for q in r.dev.queues)
    # the backend answers later: nothing may be written, no interrupt
    shadow = ShadowMemory(r.mem)
    raised = r.dev.interrupts_raised
    with AccessLog(r.mem) as log:
        r.backend.release()
        notify(r, 0)
        notify(r, 1)
    shadow.check("after Status=0")
    assert log.entries == []
    assert r.dev.interrupts_raised == raised and reg_read(r, ISR) == 0
    assert [r.mem.read16(r.drv.queue[i].layout.used_idx) for i in (0, 1)] == used
    # a fresh init: new chains get their own answers, never the dropped ones'
    r.backend.hold = True
    run(r.drv.init())
    wr = buf(r, 8)
    fresh = VioTransfer(0, [(buf(r, b"new!"), 4), (wr, 8, VIO_IOV_FLAGS_WRITE)])
    run(r.drv.submit(fresh))
    r.backend.release()
    assert run(r.drv.poll()) == 1 and fresh.actual == 8
    assert r.mem.read(wr, 8) == loopback_answer(0, b"new!", 8)
    transfer_works(r, 1)


# ------------------------------------------------------------------ case 20


def test_case20_notify_while_broken_is_ignored():
    r = make_rig()
    ring = HandRing(r)
    ring.desc(0, buf(r, b"data"), 4)
    ring.offer(NUM)  # head out of range
    notify_broken(r, ring, Cause.HEAD_RANGE, NUM)
    error = reg_read(r, ERROR)
    raised = r.dev.interrupts_raised
    received = list(r.backend.received)
    # now a valid chain on each queue, and a second fault that must not overwrite the first
    wr = buf(r, 8)
    ring.desc(1, wr, 8, W)
    r.mem.write16(ring.layout.avail_ring(0), 1)
    ring1 = HandRing(r, 1)
    ring1.desc(0, buf(r, b"q1"), 2)
    ring1.offer(0xFFFF)
    shadow = ShadowMemory(r.mem)
    with AccessLog(r.mem) as log:
        for q in (0, 1, 0):
            notify(r, q)
        reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, 0)  # also ignored while broken
    shadow.check("notify while broken")
    assert log.entries == [], "a broken device issues no DMA"
    assert r.backend.received == received
    assert reg_read(r, ERROR) == error, "the first cause is kept"
    assert reg_read(r, ISR) == INT_CONFIG and r.dev.interrupts_raised == raised
    assert ring.used_idx == 0 and ring1.used_idx == 0
    recover(r)


# ------------------------------------------------------------------ case 22


@pytest.mark.parametrize(
    "addr,length,kind",
    [(BASE, 16, W), (BASE + C.VIRTIO_MMIO_QUEUE_NOTIFY, 4, R), (BASE, 2 * DESC_SIZE, IND), (MEM_SIZE - 2, 4, W)],
    ids=["write-registers", "read-notify-register", "indirect-table-in-registers", "past-memory"],
)
def test_case22_descriptor_at_the_register_window(addr, length, kind):
    """The register window is not in the DMA window: no access, no deadlock, no corruption."""
    r = make_rig(drv_features=INDIRECT)
    ring = HandRing(r)
    ring.desc(2, addr, length, kind)
    ring.offer(2)
    regs_before = (reg_read(r, C.VIRTIO_MMIO_MAGIC_VALUE), pfn_of(r, 0), pfn_of(r, 1))
    notify_broken(r, ring, Cause.DMA_WINDOW, 2)
    assert (reg_read(r, C.VIRTIO_MMIO_MAGIC_VALUE), pfn_of(r, 0), pfn_of(r, 1)) == regs_before
    recover(r)


def test_case22_last_byte_of_memory_is_legal():
    r = make_rig()
    ring = HandRing(r)
    r.mem.write(MEM_SIZE - 1, b"Z")
    ring.desc(2, MEM_SIZE - 1, 1)
    ring.offer(2)
    notify_ok(r, ring, (2, 0))
    assert r.backend.received == [(0, b"Z", 0)]


# ------------------------------------------------------------------ case 23



def _dev_state(r: Rig) -> tuple:
    d = r.dev
    regs = tuple(d.read(off) for off in READ_ONLY + [C.VIRTIO_MMIO_STATUS])
    return (
        regs,
        d.status,
        d.isr,
        d.error,
        d.host_features_sel,
        d.guest_features_sel,
        tuple(d.guest_features),
        d.page_size,
        d.queue_sel,
        tuple(_dev_queue_state(r)),
    )


def _pending_interrupt_rig() -> Rig:
    """An initialised rig with InterruptStatus bit 0 set and one chain waiting in
    q1's avail ring (offered, not notified)."""
    r = make_rig(backend=ConfigBackend(2))
    run(r.drv.submit(VioTransfer(0, [(buf(r, 4), 4, VIO_IOV_FLAGS_WRITE)])))
    ring = HandRing(r, 1)
    ring.desc(0, buf(r, 8), 8, W)
    ring.offer(0)
    reg_write(r, C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0)  # the low word of HostFeatures is non-zero
    assert r.dev.isr == INT_VRING
    return r


def test_case23_reads_of_write_only_registers_give_zero():
    r = _pending_interrupt_rig()
    reg_write(r, C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1)
    reg_write(r, C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)
    select(r, 1)  # every write-only register now holds something non-zero
    before = _dev_state(r)
    with AccessLog(r.mem) as log:
        values = {off: reg_read(r, off) for off in WRITE_ONLY}
    assert values == {off: 0 for off in WRITE_ONLY}
    assert log.entries == [] and _dev_state(r) == before


@pytest.mark.parametrize("size,delta", [(1, 0), (2, 0), (1, 1), (2, 2), (4, 1), (4, 2), (4, 3)])
def test_case23_wrong_width_or_unaligned_reads_give_zero(size, delta):
    r = _pending_interrupt_rig()
    offsets = READ_ONLY + [C.VIRTIO_MMIO_QUEUE_PFN, C.VIRTIO_MMIO_STATUS]
    assert all(reg_read(r, off) != 0 for off in offsets if off not in (C.VIO_MMIO_DEVICE_ERROR,))
    before = _dev_state(r)
    assert {off: reg_read(r, off + delta, size) for off in offsets} == {off: 0 for off in offsets}
    assert _dev_state(r) == before


def test_case23_writes_to_read_only_registers_are_ignored():
    r = _pending_interrupt_rig()
    before = _dev_state(r)
    with AccessLog(r.mem) as log:
        for off in READ_ONLY:
            for value in (0, 0xFFFFFFFF, 0x40):
                reg_write(r, off, value)
    assert log.entries == [] and _dev_state(r) == before
    assert r.hal.irq(0)
    # DEVICE_ERROR cannot be cleared by writing it: only Status=0 does
    ring = HandRing(r)
    ring.offer(0xFFFF)
    notify_broken(r, ring, Cause.HEAD_RANGE, 0xFFFF)
    reg_write(r, C.VIO_MMIO_DEVICE_ERROR, 0)
    reg_write(r, C.VIRTIO_MMIO_INTERRUPT_STATUS, 0)
    expect_broken(r, Cause.HEAD_RANGE, 0, 0xFFFF)
    recover(r)


def test_case23_unmapped_offsets_read_zero_and_ignore_writes():
    r = _pending_interrupt_rig()
    before = _dev_state(r)
    with AccessLog(r.mem) as log:
        for off in UNMAPPED:
            assert reg_read(r, off) == 0, f"offset {off:#x}"
            for value in (0xFFFFFFFF, 1, 0):
                reg_write(r, off, value)
    assert log.entries == [] and _dev_state(r) == before


def test_case23_wrong_width_or_unaligned_writes_are_ignored():
    r = _pending_interrupt_rig()
    before = _dev_state(r)
    with AccessLog(r.mem) as log:
        for size in (1, 2):
            reg_write(r, STATUS, 0, size)  # would reset
            select(r, 0)
            reg_write(r, C.VIRTIO_MMIO_QUEUE_PFN, 0, size)  # would stop q0
            reg_write(r, C.VIRTIO_MMIO_QUEUE_NOTIFY, 1, size)  # would pop q1's chain
            reg_write(r, C.VIRTIO_MMIO_INTERRUPT_ACK, INT_VRING, size)  # would clear the interrupt
            reg_write(r, C.VIRTIO_MMIO_QUEUE_SEL, 1, size)
        for delta in (1, 2, 3):
            reg_write(r, STATUS + delta, 0)
            reg_write(r, C.VIRTIO_MMIO_QUEUE_NOTIFY + delta, 1)
            reg_write(r, C.VIRTIO_MMIO_INTERRUPT_ACK + delta, INT_VRING)
        select(r, before[8])
    assert log.entries == [], "no ignored write may start DMA"
    assert _dev_state(r) == before
    assert r.backend.received == [(0, b"", 4)]
    # the same writes at the right width do act
    reg_write(r, C.VIRTIO_MMIO_INTERRUPT_ACK, INT_VRING)
    assert reg_read(r, ISR) == 0
    notify(r, 1)
    assert r.backend.received[-1] == (1, b"", 8)


def test_case23_config_space_width_and_alignment():
    r = _pending_interrupt_rig()
    cfg = C.VIRTIO_MMIO_CONFIG
    assert [reg_read(r, cfg + i, 1) for i in range(8)] == list(ConfigBackend.CONFIG)
    assert reg_read(r, cfg + 2, 2) == 0x4433
    assert reg_read(r, cfg + 4, 4) == 0x88776655
    for off, size in [(1, 2), (3, 2), (2, 4), (1, 4), (0, 3), (0, 8)]:
        assert reg_read(r, cfg + off, size) == 0, f"config +{off} size {size}"
    assert reg_read(r, cfg + 8, 4) == 0 and reg_read(r, 0x1FC, 4) == 0  # past the config


# ------------------------------------------------------------------ case 24


def test_case24_interrupt_only_for_new_used_entries_or_config_change():
    r = make_rig()
    dev = r.dev

    def quiet(action, what: str) -> None:
        raised = dev.interrupts_raised
        action()
        assert dev.interrupts_raised == raised and reg_read(r, ISR) == 0 and not r.hal.irq(0), what

    def ack() -> None:
        reg_write(r, C.VIRTIO_MMIO_INTERRUPT_ACK, reg_read(r, ISR))
        assert not r.hal.irq(0)

    quiet(lambda: (notify(r, 0), notify(r, 1), notify(r, 7)), "notify with nothing offered")
    quiet(lambda: (select(r, 1), reg_write(r, C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1), reg_read(r, STATUS)), "register traffic")
    # one new used entry: one interrupt, bit 0
    raised = dev.interrupts_raised
    t = VioTransfer(0, [(buf(r, 4), 4, VIO_IOV_FLAGS_WRITE)])
    run(r.drv.submit(t))
    assert reg_read(r, ISR) == INT_VRING and dev.interrupts_raised == raised + 1
    assert run(r.drv.poll()) == 1
    ack()
    quiet(lambda: (notify(r, 0), notify(r, 1)), "notify again after the entry was consumed")
    # popped but not answered: nothing; the answer: one interrupt
    r.backend.hold = True
    t2 = VioTransfer(1, [(buf(r, 4), 4, VIO_IOV_FLAGS_WRITE)])
    quiet(lambda: run(r.drv.submit(t2)), "a chain in flight")
    raised = dev.interrupts_raised
    r.backend.release()
    assert reg_read(r, ISR) == INT_VRING and dev.interrupts_raised == raised + 1
    assert run(r.drv.poll()) == 1
    ack()
    # a config change: bit 1
    raised = dev.interrupts_raised
    r.backend._config_changed()
    assert reg_read(r, ISR) == INT_CONFIG and dev.interrupts_raised == raised + 1
    ack()
    quiet(lambda: notify(r, 0), "after all of it")


@pytest.mark.parametrize("features", [0, EVENT_IDX], ids=["no-interrupt-flag", "event-idx"])
def test_case24_suppressed_completion_raises_nothing(features):
    """With NO_INTERRUPT (or used_event far away) a new used entry raises nothing;
    re-enabled, the next one does."""
    r = make_rig(drv_features=features, queues=(("q0", 16), ("q1", 16)))
    q = r.drv.queue[0]
    r.drv._disable_interrupts(q)
    t = VioTransfer(0, [(buf(r, 4), 4, VIO_IOV_FLAGS_WRITE)])
    run(r.drv.submit(t))
    assert r.mem.read16(q.layout.used_idx) == 1, "the entry is there"
    assert reg_read(r, ISR) == 0 and r.dev.interrupts_raised == 0
    run(r.drv.poll())
    if features:
        r.mem.write16(q.layout.used_event, q.last_used)
    else:
        r.mem.write16(q.layout.avail_flags, 0)
    run(r.drv.submit(VioTransfer(0, [(buf(r, 4), 4, VIO_IOV_FLAGS_WRITE)])))
    assert reg_read(r, ISR) == INT_VRING and r.dev.interrupts_raised == 1


# ------------------------------------------------------------------ the oracle itself


def test_oracle_names_every_stray_byte_and_the_nearest_region():
    r = make_rig()
    lay = r.drv.queue[0].layout
    shadow = ShadowMemory.around(r.drv)
    r.mem.write(lay.desc + 3, b"\x01\x02")  # descriptor table: not allowed
    r.mem.write16(lay.used_idx, 5)  # used ring: allowed
    r.mem.write(lay.avail_event + 2, b"\x07")  # the first byte after the used ring
    far = 0x300000
    r.mem.write(far, b"\x09")
    with pytest.raises(OracleViolation) as caught:
        shadow.check("injected")
    bad = caught.value.violations
    assert [(c.addr, c.old, c.new) for c in bad] == [
        (lay.desc + 3, 0, 1),
        (lay.desc + 4, 0, 2),
        (lay.avail_event + 2, 0, 7),
        (far, 0, 9),
    ]
    assert [c.nearest.name for c in bad] == ["descriptor table of queue 0"] * 2 + ["used ring of queue 0", "used ring of queue 1"]
    text = str(caught.value)
    assert f"{lay.desc + 3:#x}: 0x00 -> 0x01 (inside descriptor table of queue 0" in text
    assert f"{lay.avail_event + 2:#x}: 0x00 -> 0x07 (1 byte(s) after used ring of queue 0" in text
    shadow.commit()
    shadow.check("nothing since the commit")
    with pytest.raises(OracleViolation, match="2 byte\\(s\\) written"):
        shadow.check_write(lay.avail_event, 4)  # avail_event is allowed, the 2 bytes after it are not
    shadow.check_write(lay.used, lay.avail_event + 2 - lay.used)


def test_oracle_fails_a_device_that_writes_one_byte_too_many():
    """The scoreboard can fail: a device with an off-by-one after its last
    writable buffer is caught by the snapshot comparison."""
    r = make_rig()
    complete = r.dev._complete

    def sloppy(q, chain):
        complete(q, chain)
        addr, length = chain.writable[-1]
        r.mem.write(addr + length, b"\xff")

    r.dev._complete = sloppy
    with pytest.raises(OracleViolation, match=r"0x00 -> 0xff \(1 byte\(s\) after writable iov\[1\]"):
        transfer_works(r)


def test_oracle_write_log_sees_what_a_snapshot_cannot():
    """A write of the bytes already there (into a readable buffer) leaves no
    trace in a snapshot; the access log still catches it."""
    r = make_rig()
    complete = r.dev._complete

    def rewrites_readable(q, chain):
        for addr, length in chain.readable:
            r.mem.write(addr, r.mem.read(addr, length))
        complete(q, chain)

    r.dev._complete = rewrites_readable
    with pytest.raises(OracleViolation, match=r"written \(inside readable iov\[0\]"):
        transfer_works(r)


# ------------------------------------------------------------------ the shared scenarios


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_on_the_reference_device(name):
    """Every scenario of vio.hostile (the same code tests/test_hostile_rtl.py runs
    on the RTL) on the reference device: its outcome, the oracle, recovery."""
    observations = run(SCENARIOS[name].run(ModelTarget()))
    assert observations[-1][0] == "end", "a scenario records what the device showed"


def test_every_device_case_has_a_scenario_that_runs_on_the_rtl():
    """Cases 1-24 each have at least one scenario tests/test_hostile_rtl.py runs on
    the RTL; the only model-only one says why."""
    on_rtl = {s.case for s in SCENARIOS.values() if s.model_only is None}
    assert set(range(1, 25)) <= on_rtl
    assert [s.name for s in SCENARIOS.values() if s.model_only] == ["c23_wrong_width_reads_zero"]


# the chains of vio.hostile.chains (carried by random traffic on the RTL); ring_window is a register sequence
@pytest.mark.parametrize("case", [c for c in CHAINS if c.name != "ring_window"], ids=lambda c: c.name)
def test_chain_breaks_the_reference_device_with_its_cause(case):
    window = (0, MEM_SIZE) if case.window == "mem" else (0, 1 << 32)
    r = make_rig(drv_features=case.features, dma_window=window, queue_num_max=NUM)
    held = None
    if case.in_flight:
        r.backend.hold = True
        held = VioTransfer(0, [(buf(r, 4), 4, VIO_IOV_FLAGS_WRITE)])
        run(r.drv.submit(held))
    corrupt(case, r.mem, r.drv.queue[0], held_head=None if held is None else held.head)
    notify(r, 0)
    assert r.dev.broken and r.dev.cause == case.cause, f"DEVICE_ERROR {r.dev.error:#x}, expected {case.cause.name}"
    recover(r)
