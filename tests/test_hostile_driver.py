"""A misbehaving device against the driver model: docs/verification.md cases 25-32.

The reference device is synchronous and well behaved, so the misbehaviour is
forged: transfers are submitted with ``LoopbackBackend.hold`` set (the device
pops them and keeps them in flight, writing nothing), then the test writes what
a bad device would have written (used elements, used.idx, scribbles on the
descriptor table) and lets the driver poll. The last section runs the same
cases through ``vio.device.misbehaving.MisbehavingDevice``, a reference device
with one real fault per mode; tests/test_hostile_rtl.py runs 25-28 and 31 on the
RTL, with its used ring corrupted behind its back.
"""

import logging

import pytest

from vio import (
    VIO_HEAD_DONE,
    VIO_IOV_FLAGS_WRITE,
    GuestMemory,
    ModelHal,
    VioConfigError,
    VioDeviceBroken,
    VioDriver,
    VioNoDevice,
    VioQueue,
    VioQueueBroken,
    VioTimeout,
    VioTransfer,
)
from vio import constants as C
from vio.device import ReferenceDevice
from vio.device.loopback import LoopbackBackend, loopback_answer
from vio.drivers.base import POLL_INTERVAL_NS, ClassDriver
from vio.oracle import AccessLog, ShadowMemory
from vio.ring import Desc, pack_used_elem, u16

from .rig import BASE, Rig, make_rig, run

NUM = 16
W = VIO_IOV_FLAGS_WRITE


# ------------------------------------------------------------------ helpers


def buf(r: Rig, data: bytes | int) -> int:
    raw = data if isinstance(data, bytes) else bytes(data)
    addr = r.mem.alloc(len(raw), 16)
    r.mem.write(addr, raw)
    return addr


class Calls:
    """A callback that records the transfers it was called with."""

    def __init__(self) -> None:
        self.seen: list[VioTransfer] = []

    def __call__(self, tfr: VioTransfer) -> None:
        self.seen.append(tfr)


def held(r: Rig, queue: int, *iovs: list, callback=None) -> list[VioTransfer]:
    """Submit one transfer per iov list; the device pops them and keeps them in flight."""
    r.backend.hold = True
    tfrs = []
    for iov in iovs:
        t = VioTransfer(queue, iov, callback=callback)
        run(r.drv.submit(t))
        tfrs.append(t)
    assert len(r.dev.queues[queue].in_flight) >= len(iovs)
    return tfrs


def small(r: Rig, wlen: int = 8) -> list:
    """A readable 4-byte buffer and a writable one of ``wlen`` bytes."""
    return [(buf(r, b"ping"), 4), (buf(r, wlen), wlen, W)]


def forge(r: Rig, queue: int, entries: list[tuple[int, int]], advance: int | None = None) -> None:
    """Write used elements after the driver's last_used, then move used.idx by
    ``advance`` (default: the number of elements), as a bad device would."""
    q = r.drv.queue[queue]
    lay = q.layout
    for i, (head, length) in enumerate(entries):
        r.mem.write(lay.used_ring((q.last_used + i) % q.num), pack_used_elem(head, length))
    r.mem.write16(lay.used_idx, u16(q.last_used + (len(entries) if advance is None else advance)))


def driver_state(drv: VioDriver) -> tuple:
    return (
        drv.driver_ok,
        tuple(
            (q.ready, q.broken, q.avail_idx, q.last_used, tuple(sorted(q.posted)), tuple(sorted(q._free)), q.len_clamped)
            for q in drv.queue
        ),
    )


def reg(r: Rig, offset: int) -> int:
    return run(r.hal.read(BASE + offset))


def transfer_works(r: Rig, queue: int = 0) -> None:
    r.backend.hold = False
    wr = buf(r, 12)
    t = VioTransfer(queue, [(buf(r, b"fine"), 4), (wr, 12, W)])
    assert run(ClassDriver(r.drv, timeout_ns=100_000).transfer(t)) == 12
    assert r.mem.read(wr, 12) == loopback_answer(queue, b"fine", 12)


def expect_queue_broken_for_good(r: Rig, queue: int, words: str) -> None:
    """The queue is marked broken with ``words`` in its reason; later submits fail clearly."""
    q = r.drv.queue[queue]
    assert q.broken is not None and words in q.broken
    assert not r.drv.queue_ready(queue) and r.drv.avail(queue) == 0
    with pytest.raises(VioQueueBroken, match=f"queue {queue} .*is broken: .*{words}"):
        run(r.drv.submit(VioTransfer(queue, small(r))))


# ------------------------------------------------------------------ case 25


@pytest.mark.parametrize("bad_id", [NUM, NUM + 1, 0xFFFFFFFF])
def test_case25_used_id_out_of_range(bad_id, caplog):
    r = make_rig()
    calls = Calls()
    (t0,) = held(r, 0, small(r), callback=calls)
    (t1,) = held(r, 1, small(r), callback=calls)
    forge(r, 0, [(bad_id, 0)])
    forge(r, 1, [(t1.head, 8)])  # a valid completion on the other queue in the same poll
    with caplog.at_level(logging.ERROR, logger="vio.driver"):
        with pytest.raises(VioQueueBroken, match=f"used.id {bad_id} out of range \\(QueueNum {NUM}\\)"):
            run(r.drv.poll())
    assert any("out of range" in rec.getMessage() for rec in caplog.records)
    assert calls.seen == [t1] and t1.done and t1.actual == 8, "valid completions still get their callback"
    assert not t0.done
    expect_queue_broken_for_good(r, 0, "out of range")
    with pytest.raises(VioQueueBroken, match="out of range"):
        run(ClassDriver(r.drv, timeout_ns=100_000).wait(t0))
    assert r.drv.queue_ready(1)
    r.backend.release()  # the device's own entry for t1 matches the forged one: nothing new
    assert run(r.drv.poll()) == 0
    transfer_works(r, 1)


# ------------------------------------------------------------------ case 26


@pytest.mark.parametrize("kind", ["duplicate", "never-posted", "already-completed"])
def test_case26_used_id_not_in_flight(kind):
    r = make_rig()
    calls = Calls()
    t0, t1 = held(r, 0, [(buf(r, 8), 8, W)], [(buf(r, 8), 8, W)], callback=calls)
    assert (t0.head, t1.head) == (0, 1)
    if kind == "duplicate":
        forge(r, 0, [(0, 8), (0, 8)])
        expected_done = [t0]
    elif kind == "never-posted":
        forge(r, 0, [(5, 8)])
        expected_done = []
    else:
        forge(r, 0, [(0, 8)])
        assert run(r.drv.poll()) == 1
        forge(r, 0, [(0, 8)])
        expected_done = [t0]
    stale = 5 if kind == "never-posted" else 0
    with pytest.raises(VioQueueBroken, match=f"used.id {stale} is not a head in flight"):
        run(r.drv.poll())
    assert calls.seen == expected_done
    assert not t1.done
    expect_queue_broken_for_good(r, 0, "not a head")


# ------------------------------------------------------------------ case 27


@pytest.mark.parametrize("in_flight,advance", [(1, 2), (0, 1), (2, 0xFFFF), (3, 16)])
def test_case27_used_idx_advanced_past_what_is_in_flight(in_flight, advance):
    r = make_rig()
    tfrs = held(r, 0, *[[(buf(r, 4), 4, W)] for _ in range(in_flight)])
    forge(r, 0, [(t.head, 4) for t in tfrs], advance=advance)  # valid elements, too big a jump
    with pytest.raises(VioQueueBroken, match=f"used.idx {advance} advanced by {advance} with only {in_flight} in flight"):
        run(r.drv.poll())
    assert not any(t.done for t in tfrs), "no element may be consumed from an impossible used.idx"
    assert r.drv.queue[0].last_used == 0
    expect_queue_broken_for_good(r, 0, "advanced by")


# ------------------------------------------------------------------ case 28


@pytest.mark.parametrize(
    "writable,used_len,actual,clamped",
    [
        (8, 1000, 8, 1),
        (8, 0xFFFFFFFF, 8, 1),
        (8, 9, 8, 1),
        (8, 8, 8, 0),  # exactly the writable size: fine
        (0, 4, 0, 1),  # a readable-only chain cannot have written anything
    ],
)
def test_case28_used_len_over_writable_is_clamped_and_reported(writable, used_len, actual, clamped, caplog):
    r = make_rig()
    iov = [(buf(r, b"ping"), 4)] + ([(buf(r, writable), writable, W)] if writable else [])
    calls = Calls()
    (t,) = held(r, 0, iov, callback=calls)
    forge(r, 0, [(t.head, used_len)])
    with caplog.at_level(logging.WARNING, logger="vio.driver"):
        assert run(r.drv.poll()) == 1
    assert calls.seen == [t] and t.done and t.actual == actual
    q = r.drv.queue[0]
    assert q.len_clamped == clamped and q.broken is None
    warnings = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    if clamped:
        assert len(warnings) == 1 and "clamped" in warnings[0] and f"used.len {used_len}" in warnings[0]
    else:
        assert warnings == []
    assert q.num_free == NUM, "a clamped completion still returns its descriptors"


# ------------------------------------------------------------------ case 29


def _scribble_table(r: Rig, queue: int) -> None:
    """Garbage over the whole descriptor table: every entry NEXT to a neighbour
    (a loop through the table), bogus addresses and lengths."""
    lay = r.drv.queue[queue].layout
    for i in range(NUM):
        r.mem.write(lay.desc_addr(i), Desc(0xDEAD0000 + i, 0x7777, C.VRING_DESC_F_NEXT | C.VRING_DESC_F_INDIRECT, (i + 5) % NUM).pack())


@pytest.mark.parametrize("indirect", [False, True], ids=["direct", "indirect"])
def test_case29_driver_trusts_only_its_shadow_of_what_it_posted(indirect):
    r = make_rig(drv_features=1 << C.VIRTIO_RING_F_INDIRECT_DESC)
    r.drv.queue[0].indirect = indirect
    wr = buf(r, 8)
    big = VioTransfer(0, [(buf(r, b"a"), 1), (buf(r, b"b"), 1), (wr, 8, W)])
    one = VioTransfer(0, [(buf(r, 4), 4, W)])
    r.backend.hold = True
    run(r.drv.submit(big))
    run(r.drv.submit(one))
    q = r.drv.queue[0]
    table = q.posted[big.head].indirect_table
    assert (table is not None) == indirect
    assert q.num_free == NUM - (2 if indirect else 4)
    _scribble_table(r, 0)
    if table is not None:
        r.mem.write(table, Desc(0xBAD, 1, C.VRING_DESC_F_NEXT, 2).pack() * 3)
    r.backend.release()  # the device completes both from what it read at pop time
    lay = q.layout
    with AccessLog(r.mem, budget=200) as log:
        assert run(r.drv.poll()) == 2
    assert log.touching(lay.desc, lay.avail, kind="r") == [], "the driver must not read the descriptor table back"
    assert big.actual == 8 and one.actual == 4
    assert sorted(q._free) == list(range(NUM)), "every descriptor back exactly once"
    if table is not None:
        with pytest.raises(VioConfigError, match="which alloc did not return"):
            r.mem.free(table)  # the driver already freed it, from its record
    # every descriptor is usable: NUM one-buffer transfers at once
    r.backend.hold = True
    many = [VioTransfer(0, [(buf(r, 2), 2, W)]) for _ in range(NUM)]
    for t in many:
        run(r.drv.submit(t))
    assert q.num_free == 0
    r.backend.release()
    assert run(r.drv.poll()) == NUM and all(t.done and t.actual == 2 for t in many)


# ------------------------------------------------------------------ case 30


def test_case30_interrupt_with_no_work_changes_nothing():
    r = make_rig()
    cd = ClassDriver(r.drv)
    (t,) = held(r, 0, small(r))
    assert reg(r, C.VIRTIO_MMIO_INTERRUPT_STATUS) == 0
    before = driver_state(r.drv)
    shadow = ShadowMemory(r.mem)  # nothing may change: not even the driver may write
    assert run(cd.service()) == 0
    shadow.check("interrupt with InterruptStatus 0")
    assert driver_state(r.drv) == before and not t.done
    assert (cd.spurious_interrupts, cd.interrupts) == (1, 0)
    assert reg(r, C.VIRTIO_MMIO_STATUS) == 7


def test_case30_used_interrupt_for_work_already_collected_changes_nothing():
    r = make_rig()
    cd = ClassDriver(r.drv)
    t = VioTransfer(0, small(r))
    run(r.drv.submit(t))  # completes at once; InterruptStatus bit 0 set
    assert run(r.drv.poll()) == 1 and t.done  # collected by a poll before the handler ran
    before = driver_state(r.drv)
    shadow = ShadowMemory(r.mem)
    assert run(cd.service()) == 0
    shadow.check("interrupt for work already collected")
    assert driver_state(r.drv) == before
    assert cd.interrupts == 1 and reg(r, C.VIRTIO_MMIO_INTERRUPT_STATUS) == 0


@pytest.mark.parametrize("trouble", ["config-change", "needs-reset", "used-ring"])
def test_case30_interrupt_before_driver_ok_changes_nothing(trouble):
    r = make_rig(init=False)
    cd = ClassDriver(r.drv)
    dev = r.dev
    if trouble == "config-change":
        r.backend._config_changed()
    elif trouble == "needs-reset":  # a device that broke during a set-up the driver has not finished
        dev.write(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096)
        dev.write(C.VIRTIO_MMIO_QUEUE_PFN, (BASE // 4096))  # a ring in the register window
        assert dev.broken
    else:  # a used-ring interrupt left over from a previous life
        dev._raise(C.VIRTIO_MMIO_INT_VRING)
    assert r.hal.irq(0)
    status, error = dev.status, dev.error
    before = driver_state(r.drv)
    shadow = ShadowMemory(r.mem)
    assert run(cd.service()) == 0
    assert run(r.drv.poll()) == 0
    shadow.check("interrupt before DRIVER_OK")
    assert driver_state(r.drv) == before and not r.drv.driver_ok
    assert (dev.status, dev.error) == (status, error), "no reset, no status write before DRIVER_OK"
    assert cd.spurious_interrupts == 1
    run(r.drv.init())
    transfer_works(r)


def test_case30_interrupt_during_init_before_driver_ok_changes_nothing():
    """Queues set up, DRIVER_OK not yet written, and the device raises an
    interrupt over a bogus used entry: the handler and poll leave it alone."""
    r = make_rig(init=False)
    cd = ClassDriver(r.drv)
    write = r.hal.write
    seen: dict[str, object] = {}

    async def hook(addr: int, value: int, size: int = 4) -> None:
        if addr == BASE + C.VIRTIO_MMIO_STATUS and value & C.VIRTIO_CONFIG_S_DRIVER_OK and not seen:
            q = r.drv.queue[0]
            assert q.ready and not r.drv.driver_ok
            r.mem.write16(q.layout.used_idx, 1)  # an entry nobody posted
            r.dev._raise(C.VIRTIO_MMIO_INT_VRING)
            before = driver_state(r.drv)
            shadow = ShadowMemory(r.mem)
            seen["service"] = await cd.service()
            seen["poll"] = await r.drv.poll()
            shadow.check("interrupt during init")
            seen["unchanged"] = driver_state(r.drv) == before
            r.mem.write16(q.layout.used_idx, 0)
        await write(addr, value, size)

    r.hal.write = hook
    run(r.drv.init())
    del r.hal.write
    assert seen == {"service": 0, "poll": 0, "unchanged": True}
    assert r.drv.driver_ok and cd.spurious_interrupts == 1
    transfer_works(r)


# ------------------------------------------------------------------ case 31


def test_case31_no_completion_in_time_times_out_and_resets():
    r = make_rig()
    calls = Calls()
    t = VioTransfer(0, small(r), callback=calls)
    r.backend.hold = True  # the device takes the chain and never answers
    cd = ClassDriver(r.drv, timeout_ns=50_000)
    start = r.hal.now_ns()
    with pytest.raises(VioTimeout, match=rf"device at {BASE:#x}: 1 transfer\(s\) not done after 50000 ns .*device reset"):
        run(cd.transfer(t))
    elapsed = r.hal.now_ns() - start
    assert 50_000 <= elapsed <= 50_000 + POLL_INTERVAL_NS + 1_000, f"bounded wait, took {elapsed} ns"
    assert reg(r, C.VIRTIO_MMIO_STATUS) == 0, "the device was reset"
    assert all(q.pfn == 0 for q in r.dev.queues)
    assert not r.drv.driver_ok and not r.drv.queue_ready(0)
    assert t.head == VIO_HEAD_DONE and t.actual == 0 and calls.seen == [], "abandoned, no callback"
    run(r.drv.init())
    transfer_works(r)


def test_case31_wait_bounded_when_interrupts_never_come():
    """Interrupts off for the queue and a device that never answers: the poll
    loop is bounded all the same."""
    r = make_rig(queues=(VioQueue("quiet", 16, interrupts=False), VioQueue("q1", 16)))
    t = VioTransfer(0, small(r))
    r.backend.hold = True
    with pytest.raises(VioTimeout, match="not done after 20000 ns"):
        run(ClassDriver(r.drv, timeout_ns=20_000).transfer(t))
    assert reg(r, C.VIRTIO_MMIO_STATUS) == 0


def _break_device(r: Rig, head: int = 99) -> None:
    """A bad head offered behind the driver's back, then notified: HEAD_RANGE."""
    q = r.drv.queue[0]
    r.mem.write16(q.layout.avail_ring(q.avail_idx % q.num), head)
    r.mem.write16(q.layout.avail_idx, u16(q.avail_idx + 1))
    r.dev.write(C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
    assert r.dev.broken


def test_case31_needs_reset_raises_device_broken_naming_the_cause():
    r = make_rig()
    calls = Calls()
    (t,) = held(r, 0, small(r), callback=calls)
    _break_device(r)
    cd = ClassDriver(r.drv, timeout_ns=1_000_000)
    start = r.hal.now_ns()
    with pytest.raises(VioDeviceBroken, match=rf"device at {BASE:#x} needs a reset \(cause HEAD_RANGE, queue 0, info 99\)"):
        run(cd.wait(t))
    assert r.hal.now_ns() - start < 1_000_000, "NEEDS_RESET must end the wait at once, not at the timeout"
    assert reg(r, C.VIRTIO_MMIO_STATUS) == 0 and reg(r, C.VIO_MMIO_DEVICE_ERROR) == 0
    assert not r.dev.broken and not r.hal.irq(0)
    assert t.head == VIO_HEAD_DONE and t.actual == 0 and calls.seen == []
    run(r.drv.init())
    transfer_works(r)


def test_case31_device_breaking_on_the_transfer_itself():
    """The device rejects the chain (a buffer outside its DMA window): the
    blocking transfer ends with VioDeviceBroken naming DMA_WINDOW."""
    r = make_rig(dma_window=(0, 0x10000))
    outside = 0x200000
    t = VioTransfer(0, [(buf(r, b"ping"), 4), (outside, 8, W)])
    with pytest.raises(VioDeviceBroken, match=r"cause DMA_WINDOW, queue 0, info 1\)"):
        run(ClassDriver(r.drv, timeout_ns=1_000_000).transfer(t))
    assert reg(r, C.VIRTIO_MMIO_STATUS) == 0
    assert r.mem.read(outside, 8) == bytes(8)


# ------------------------------------------------------------------ case 32


def test_case32_queue_num_max_zero_is_unavailable():
    r = make_rig(init=False)
    r.dev.queues[1].num_max = 0  # a device whose second queue does not exist
    with pytest.raises(VioNoDevice, match=rf"queue 1 \(q1\) of device at {BASE:#x} is unavailable: QueueNumMax is 0"):
        run(r.drv.init())
    status = reg(r, C.VIRTIO_MMIO_STATUS)
    assert status & C.VIRTIO_CONFIG_S_FAILED and not status & C.VIRTIO_CONFIG_S_DRIVER_OK
    assert not r.drv.driver_ok and r.dev.queues[1].pfn == 0


def test_case32_ring_the_device_refuses_fails_init():
    """The device breaks at QueuePFN (ring outside its DMA window): init must not
    report success with DRIVER_OK on a broken device."""
    r = make_rig(init=False, dma_window=(0x200000, 0x100000))
    with pytest.raises(VioDeviceBroken, match="cause DMA_WINDOW, queue 0"):
        run(r.drv.init())
    assert not r.drv.driver_ok
    assert reg(r, C.VIRTIO_MMIO_STATUS) == 0  # the driver reset it


def test_case32_queue_pfn_already_set_is_unavailable():
    r = make_rig(init=False)
    dev = r.dev
    plain_read = dev.read

    def sticky_read(offset: int, size: int = 4) -> int:  # QueuePFN of queue 1 survives the reset
        if offset == C.VIRTIO_MMIO_QUEUE_PFN and dev.queue_sel == 1:
            return 0x40
        return plain_read(offset, size)

    dev.read = sticky_read
    with pytest.raises(VioNoDevice, match=r"queue 1 \(q1\) .* is unavailable: QueuePFN is already set"):
        run(r.drv.init())
    status = reg(r, C.VIRTIO_MMIO_STATUS)
    assert status & C.VIRTIO_CONFIG_S_FAILED and not status & C.VIRTIO_CONFIG_S_DRIVER_OK
    assert dev.queues[1].pfn == 0 and dev.queues[1].num == dev.queues[1].num_max, "queue 1 was not touched"


def _high_rig(mem_base: int, page_size: int = 4096) -> Rig:
    mem = GuestMemory(1 << 20, base=mem_base)
    hal = ModelHal(mem)
    backend = LoopbackBackend(2)
    dev = hal.attach(BASE, ReferenceDevice(backend, mem, queue_num_max=16))
    drv = VioDriver(BASE, queue=[VioQueue("q0", 16), VioQueue("q1", 16)], hal=hal, page_size=page_size)
    return Rig(mem, hal, dev, backend, drv)


def test_case32_ring_needing_a_pfn_over_32_bits():
    r = _high_rig(1 << 44)  # the first page is PFN 2^32
    with pytest.raises(VioConfigError, match=r"queue 0 \(q0\).*ring at 0x100000000000 cannot be given as a 32-bit QueuePFN of page size 4096"):
        run(r.drv.init())
    status = reg(r, C.VIRTIO_MMIO_STATUS)
    assert status & C.VIRTIO_CONFIG_S_FAILED and not status & C.VIRTIO_CONFIG_S_DRIVER_OK
    assert all(q.pfn == 0 for q in r.dev.queues), "no truncated PFN may reach the device"
    r.mem.alloc(1 << 20, 4096)  # the refused ring was given back: the whole memory is free


@pytest.mark.parametrize("mem_base,page_size", [((1 << 44) - (1 << 20), 4096), (1 << 44, 1 << 16)], ids=["just-below", "bigger-page"])
def test_case32_high_ring_within_32_bit_pfn_works(mem_base, page_size):
    r = _high_rig(mem_base, page_size)
    run(r.drv.init())
    assert r.dev.queues[0].pfn == r.drv.queue[0].layout.base // page_size <= 0xFFFFFFFF
    transfer_works(r)


# ------------------------------------------------------------------ a device that really misbehaves

from vio.device.misbehaving import MODES, MisbehavingDevice  # noqa: E402


def misbehaving_rig(mode: str, init: bool = True) -> Rig:
    """The default rig, with a MisbehavingDevice in ``mode`` instead of the reference device."""
    mem = GuestMemory(1 << 22)
    hal = ModelHal(mem)
    backend = LoopbackBackend(2)
    dev = hal.attach(BASE, MisbehavingDevice(backend, mem, mode=mode, queue_num_max=NUM))
    drv = VioDriver(BASE, queue=[VioQueue("q0", NUM), VioQueue("q1", NUM)], hal=hal)
    if init:
        run(drv.init())
    return Rig(mem, hal, dev, backend, drv)


@pytest.mark.parametrize(
    "mode,words",
    [("used_id_out_of_range", "out of range"), ("used_id_not_in_flight", "not a head in flight"), ("used_idx_jump", "advanced by 2")],
)
def test_case25_to_27_through_a_misbehaving_device(mode, words):
    r = misbehaving_rig(mode)
    t = VioTransfer(0, small(r))
    with pytest.raises(VioQueueBroken, match=words):
        run(ClassDriver(r.drv, timeout_ns=100_000).transfer(t))
    assert not t.done
    expect_queue_broken_for_good(r, 0, words)


def test_case28_through_a_misbehaving_device():
    r = misbehaving_rig("used_len_over")
    wr = buf(r, 8)
    t = VioTransfer(0, [(buf(r, b"ping"), 4), (wr, 8, W)])
    assert run(ClassDriver(r.drv, timeout_ns=100_000).transfer(t)) == 8
    assert r.drv.queue[0].len_clamped == 1


def test_case29_through_a_misbehaving_device():
    r = misbehaving_rig("scribble_descriptors")
    for _ in range(2 * NUM):  # every descriptor is recycled from the driver's record, never from the junk
        transfer_works(r, 0)
    assert r.drv.queue[0].num_free == NUM


def test_case30_through_a_misbehaving_device():
    r = misbehaving_rig("spurious_interrupt")
    cd = ClassDriver(r.drv)
    r.backend.hold = True
    t = VioTransfer(0, small(r))
    run(r.drv.submit(t))  # the notify raises a used-buffer interrupt with no used entry
    before = driver_state(r.drv)
    assert run(cd.service()) == 0
    assert driver_state(r.drv) == before and not t.done
    r.backend.release()
    assert run(r.drv.poll()) == 1 and t.done


def test_case31_silent_device_through_a_misbehaving_device():
    r = misbehaving_rig("silent")
    t = VioTransfer(0, small(r))
    start = r.hal.now_ns()
    with pytest.raises(VioTimeout, match="not done after 50000 ns.*device reset"):
        run(ClassDriver(r.drv, timeout_ns=50_000).transfer(t))
    assert r.hal.now_ns() - start < 60_000
    assert reg(r, C.VIRTIO_MMIO_STATUS) == 0


def test_case31_needs_reset_through_a_misbehaving_device():
    r = misbehaving_rig("break_on_notify")
    t = VioTransfer(0, small(r))
    with pytest.raises(VioDeviceBroken, match="CHAIN_LOOP, queue 0"):
        run(ClassDriver(r.drv, timeout_ns=100_000).transfer(t))
    assert reg(r, C.VIRTIO_MMIO_STATUS) == 0 and reg(r, C.VIO_MMIO_DEVICE_ERROR) == 0


@pytest.mark.parametrize("mode,words", [("queue_num_max_zero", "QueueNumMax is 0"), ("pfn_preset", "QueuePFN is already set")])
def test_case32_through_a_misbehaving_device(mode, words):
    r = misbehaving_rig(mode, init=False)
    with pytest.raises(VioNoDevice, match=words):
        run(r.drv.init())
    assert reg(r, C.VIRTIO_MMIO_STATUS) & C.VIRTIO_CONFIG_S_FAILED


def test_every_misbehaviour_has_a_test():
    tested = {"used_id_out_of_range", "used_id_not_in_flight", "used_idx_jump", "used_len_over", "scribble_descriptors"}
    tested |= {"spurious_interrupt", "silent", "break_on_notify", "queue_num_max_zero", "pfn_preset"}
    assert tested == set(MODES)
    with pytest.raises(ValueError, match="unknown misbehaviour"):
        misbehaving_rig("polite")
