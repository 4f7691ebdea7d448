"""The driver API (vio.driver, vio.cyg) against the reference device: the eCosPro
seed's contract for init, avail/queue_ready, submit, poll and callbacks."""

import pytest

import vio.cyg as cyg
from vio import (
    VIO_HEAD_DONE,
    VIO_IOV_FLAGS_WRITE,
    VIO_IOV_MAX,
    GuestMemory,
    ModelHal,
    VioConfigError,
    VioDriver,
    VioIov,
    VioNoDevice,
    VioNotSupported,
    VioQueue,
    VioQueueBroken,
    VioQueueFull,
    VioTransfer,
)
from vio import constants as C
from vio.device import ReferenceDevice
from vio.device.backend import Backend
from vio.device.loopback import LoopbackBackend, loopback_answer
from vio.ring import DESC_SIZE, Desc

from .rig import ALL_RING_FEATURES, BASE, MEM_SIZE, make_rig, run

W = VIO_IOV_FLAGS_WRITE
INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX


class PatchedDevice(ReferenceDevice):
    """A reference device whose chosen registers read other values."""

    def __init__(self, *args, overrides: dict[int, int], **kw):
        super().__init__(*args, **kw)
        self.overrides = overrides

    def read(self, offset: int, size: int = 4) -> int:
        if offset in self.overrides and size == 4:
            return self.overrides[offset]
        return super().read(offset, size)


def patched_rig(overrides: dict[int, int], backend: Backend | None = None, queues=(("q0", 16),)):
    mem = GuestMemory(MEM_SIZE)
    hal = ModelHal(mem)
    dev = hal.attach(BASE, PatchedDevice(backend or LoopbackBackend(len(queues)), mem, overrides=overrides))
    drv = VioDriver(BASE, queue=[VioQueue(*q) for q in queues], hal=hal)
    return mem, hal, dev, drv


def bufs(mem: GuestMemory, *sizes: int) -> list[int]:
    return [mem.alloc(n) for n in sizes]


def simple_tfr(mem: GuestMemory, queue: int = 0, rd: bytes = b"ping", wr: int = 8, callback=None) -> VioTransfer:
    a, b = bufs(mem, len(rd), wr)
    mem.write(a, rd)
    return VioTransfer(queue, [(a, len(rd)), (b, wr, W)], callback=callback)


def count_notifies(rig) -> list[int]:
    """Wrap the HAL: the queue index of every QueueNotify write, in order."""
    notifies: list[int] = []
    write = rig.hal.write

    async def recording_write(addr, value, size=4):
        if addr == rig.drv.base + C.VIRTIO_MMIO_QUEUE_NOTIFY:
            notifies.append(value)
        await write(addr, value, size)

    rig.hal.write = recording_write
    return notifies


def check_loopback(mem, tfr: VioTransfer, readable: bytes) -> None:
    """The writable iovs hold loopback_answer in order; actual is its length."""
    writable = [v for v in tfr.iov[: tfr.iov_len] if v.flags & W]
    answer = loopback_answer(tfr.queue, readable, sum(v.size for v in writable))
    assert tfr.actual == len(answer)
    got = b"".join(mem.read(v.buffer, v.size) for v in writable)
    assert got[: len(answer)] == answer


# ------------------------------------------------------------ construction


def test_pci_is_not_supported():
    hal = ModelHal(GuestMemory(4096))
    with pytest.raises(VioNotSupported, match=r"PCI devices are not supported \(pci=1\)"):
        VioDriver(BASE, pci=1, queue=[VioQueue("q", 4)], hal=hal)


def test_non_legacy_is_not_supported():
    hal = ModelHal(GuestMemory(4096))
    with pytest.raises(VioNotSupported, match=r"only legacy devices are supported \(legacy=0\)"):
        VioDriver(BASE, legacy=0, queue=[VioQueue("q", 4)], hal=hal)


def test_queue_count_must_match_the_queues():
    hal = ModelHal(GuestMemory(4096))
    with pytest.raises(VioConfigError, match="queue_count 3 does not match the 2 queues"):
        VioDriver(BASE, queue=[VioQueue("a", 4), VioQueue("b", 4)], queue_count=3, hal=hal)
    drv = VioDriver(BASE, queue=[VioQueue("a", 4), VioQueue("b", 4)], queue_count=2, hal=hal)
    assert drv.queue_count == 2
    assert [q.index for q in drv.queue] == [0, 1]


def test_no_queues_and_bad_page_sizes_are_refused():
    hal = ModelHal(GuestMemory(4096))
    with pytest.raises(VioConfigError, match="no queues"):
        VioDriver(BASE, queue=[], hal=hal)
    with pytest.raises(VioConfigError, match="powers of two"):
        VioDriver(BASE, queue=[VioQueue("a", 4)], hal=hal, page_size=3000)


@pytest.mark.parametrize("size", [0, 3, 12, 65536])
def test_vio_queue_size_must_be_a_power_of_two_up_to_32768(size):
    with pytest.raises(VioConfigError, match="power of two"):
        VioQueue("q", size)


# -------------------------------------------------------------------- init


def test_init_against_no_device_magic():
    mem, hal, dev, drv = patched_rig({C.VIRTIO_MMIO_MAGIC_VALUE: 0})
    accesses = []
    write = hal.write

    async def recording_write(addr, value, size=4):
        accesses.append(addr - BASE)
        await write(addr, value, size)

    hal.write = recording_write
    with pytest.raises(VioNoDevice, match="no virtio-mmio device at 0xa000000: MagicValue 0x00000000"):
        run(drv.init())
    assert accesses == [] and dev.status == 0  # it wrote nothing, not even Status
    assert not any(q.live for q in dev.queues)
    assert not drv.driver_ok and not drv.queue_ready(0)


def test_init_with_nothing_on_the_bus():
    mem = GuestMemory(MEM_SIZE)
    drv = VioDriver(BASE, queue=[VioQueue("q", 4)], hal=ModelHal(mem))
    with pytest.raises(VioNoDevice, match="no device answers"):
        run(drv.init())


def test_init_against_device_id_zero():
    backend = LoopbackBackend(1)
    backend.device_id = 0
    mem, hal, dev, drv = patched_rig({}, backend=backend)
    with pytest.raises(VioNoDevice, match=r"has no device \(DeviceID 0\)"):
        run(drv.init())
    assert not any(q.live for q in dev.queues) and dev.status == 0


def test_init_against_version_2():
    mem, hal, dev, drv = patched_rig({C.VIRTIO_MMIO_VERSION: 2})
    with pytest.raises(VioNotSupported, match=r"is Version 2; only legacy \(1\) is supported"):
        run(drv.init())
    assert not any(q.live for q in dev.queues) and dev.status == 0


def test_init_against_a_missing_queue_sets_failed():
    mem, hal, dev, drv = patched_rig({C.VIRTIO_MMIO_QUEUE_NUM_MAX: 0})
    with pytest.raises(VioNoDevice, match="QueueNumMax is 0"):
        run(drv.init())
    assert dev.read(C.VIRTIO_MMIO_STATUS) & C.VIRTIO_CONFIG_S_FAILED
    assert not dev.read(C.VIRTIO_MMIO_STATUS) & C.VIRTIO_CONFIG_S_DRIVER_OK


def test_init_result():
    rig = make_rig(drv_features=ALL_RING_FEATURES)
    assert rig.drv.driver_ok
    assert rig.dev.read(C.VIRTIO_MMIO_STATUS) == 7
    assert rig.drv.device_id == rig.backend.device_id
    assert rig.drv.vendor_id == rig.dev.vendor_id
    for q in rig.drv.queue:
        dq = rig.dev.queues[q.index]
        assert dq.live and dq.layout == q.layout


class RecordingHal(ModelHal):
    """A ModelHal that notes every register access as (r/w, offset, value)."""

    def __init__(self, mem: GuestMemory):
        super().__init__(mem)
        self.log: list[tuple[str, int, int]] = []

    async def read(self, addr: int, size: int = 4) -> int:
        value = await super().read(addr, size)
        self.log.append(("r", addr - BASE, value))
        return value

    async def write(self, addr: int, value: int, size: int = 4) -> None:
        self.log.append(("w", addr - BASE, value))
        await super().write(addr, value, size)


@pytest.mark.parametrize("page", [4096, 65536])
def test_linux_probe_order_is_linux_6_1s(page):
    """virtio_mmio_probe(): identity, GuestPageSize; register_virtio_device():
    Status=0, ACKNOWLEDGE; virtio_dev_probe(): DRIVER, feature words high
    first (read, then written); vm_setup_vq() per queue: QueueSel, QueuePFN
    read, QueueNumMax read, QueueNum, QueueAlign = PAGE_SIZE, QueuePFN =
    address >> PAGE_SHIFT; then DRIVER_OK. GuestPageSize is written once."""
    mem = GuestMemory(MEM_SIZE)
    hal = RecordingHal(mem)
    dev = hal.attach(BASE, ReferenceDevice(LoopbackBackend(2), mem, queue_num_max=16))
    drv = VioDriver(BASE, drv_features=INDIRECT, queue=[VioQueue("a", 16), VioQueue("b", 8)], hal=hal)
    drv.use_linux_probe_order(page)
    run(drv.init())
    writes = [(off, value) for op, off, value in hal.log if op == "w"]
    host = dev.host_features
    status = C.VIRTIO_MMIO_STATUS
    pfn = [q.layout.base // page for q in drv.queue]
    assert [q.layout.base % page for q in drv.queue] == [0, 0]
    assert writes == [
        (C.VIRTIO_MMIO_GUEST_PAGE_SIZE, page),
        (status, 0),
        (status, C.VIRTIO_CONFIG_S_ACKNOWLEDGE),
        (status, C.VIRTIO_CONFIG_S_ACKNOWLEDGE | C.VIRTIO_CONFIG_S_DRIVER),
        (C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1),
        (C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0),
        (C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1),
        (C.VIRTIO_MMIO_DRIVER_FEATURES, 0),
        (C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0),
        (C.VIRTIO_MMIO_DRIVER_FEATURES, host & INDIRECT),
        *[w for q in range(2) for w in (
            (C.VIRTIO_MMIO_QUEUE_SEL, q), (C.VIRTIO_MMIO_QUEUE_NUM, (16, 8)[q]),
            (C.VIRTIO_MMIO_QUEUE_ALIGN, page), (C.VIRTIO_MMIO_QUEUE_PFN, pfn[q]))],
        (status, 7),
    ]  # fmt: skip
    assert [(op, off) for op, off, _ in hal.log[:4]] == [("r", C.VIRTIO_MMIO_MAGIC_VALUE), ("r", C.VIRTIO_MMIO_VERSION),
                                                          ("r", C.VIRTIO_MMIO_DEVICE_ID), ("r", C.VIRTIO_MMIO_VENDOR_ID)]  # fmt: skip
    assert dev.page_size == page and all(dq.layout.base == q.layout.base for dq, q in zip(dev.queues, drv.queue))


def test_linux_probe_order_needs_a_power_of_two_page():
    drv = VioDriver(BASE, queue=[VioQueue("a", 4)], hal=ModelHal(GuestMemory(MEM_SIZE)))
    with pytest.raises(VioConfigError, match="page_size 12288 must be a power of two"):
        drv.use_linux_probe_order(12288)


def test_queue_num_max_smaller_than_the_queue_shrinks_the_ring():
    rig = make_rig(queues=(("big", 64), ("small", 2)), queue_num_max=8)
    big, small = rig.drv.queue
    assert (big.size, big.num, small.num) == (64, 8, 2)
    assert rig.dev.queues[0].layout.num == 8 and rig.dev.queues[1].layout.num == 2
    assert rig.drv.avail(0) == 8 and rig.drv.avail(1) == 2
    # and the shrunk ring works, to its full depth
    tfrs = [simple_tfr(rig.mem) for _ in range(4)]
    for t in tfrs:
        run(rig.drv.submit(t))
    assert rig.drv.avail(0) == 0
    assert run(rig.drv.poll()) == 4
    for t in tfrs:
        check_loopback(rig.mem, t, b"ping")
    assert rig.drv.avail(0) == 8


# ------------------------------------------------------ avail / queue_ready


def test_avail_and_queue_ready_follow_the_queue_state():
    rig = make_rig(drv_features=ALL_RING_FEATURES, init=False)
    assert rig.drv.avail(0) == 0 and not rig.drv.queue_ready(0)
    run(rig.drv.init())
    assert rig.drv.avail(0) == 16 and rig.drv.queue_ready(0) and rig.drv.queue_ready(1)
    m = rig.mem
    a, b, c = bufs(m, 4, 4, 4)
    run(rig.drv.submit(VioTransfer(0, [(a, 4), (b, 4), (c, 4, W)])))  # indirect: one descriptor
    assert rig.drv.avail(0) == 15
    rig.drv.queue[0].indirect = False
    run(rig.drv.submit(VioTransfer(0, [(a, 4), (b, 4), (c, 4, W)])))  # direct: three
    assert rig.drv.avail(0) == 12 and rig.drv.avail(1) == 16
    assert run(rig.drv.poll()) == 2
    assert rig.drv.avail(0) == 16
    run(rig.drv.reset())
    assert rig.drv.avail(0) == 0 and not rig.drv.queue_ready(0)


def test_avail_and_queue_ready_of_a_missing_queue_raise():
    rig = make_rig()
    for bad in (2, -1):
        with pytest.raises(VioConfigError, match=f"has no queue {bad}"):
            rig.drv.avail(bad)
        with pytest.raises(VioConfigError, match=f"has no queue {bad}"):
            rig.drv.queue_ready(bad)


def test_broken_queue_is_not_ready_and_refuses_submits():
    rig = make_rig()
    t = simple_tfr(rig.mem)
    run(rig.drv.submit(t))
    q = rig.drv.queue[0]
    rig.mem.write16(q.layout.used_idx, q.last_used + 5)  # more than in flight: case 27
    with pytest.raises(VioQueueBroken, match="advanced by 5 with only 1 in flight"):
        run(rig.drv.poll())
    assert not rig.drv.queue_ready(0) and rig.drv.avail(0) == 0
    assert rig.drv.queue_ready(1)
    with pytest.raises(VioQueueBroken, match="is broken"):
        run(rig.drv.submit(simple_tfr(rig.mem)))


# ------------------------------------------------------------ submit checks


def _rejects(rig, tfr, exc, match):
    """submit raises ``exc`` and has touched neither memory, registers nor state."""
    q = rig.drv.queue[tfr.queue]
    mem_before = bytes(rig.mem.data)
    state_before = (list(q._free), dict(q.posted), q.avail_idx, q.last_used, rig.hal.accesses)
    tfr_before = (tfr.head, tfr.actual)
    with pytest.raises(exc, match=match):
        run(rig.drv.submit(tfr))
    assert bytes(rig.mem.data) == mem_before
    assert (list(q._free), dict(q.posted), q.avail_idx, q.last_used, rig.hal.accesses) == state_before
    assert (tfr.head, tfr.actual) == tfr_before


@pytest.mark.parametrize("features", [0, ALL_RING_FEATURES])
def test_submit_rejects_bad_transfers_before_touching_the_ring(features):
    rig = make_rig(drv_features=features)
    m = rig.mem
    a, b = bufs(m, 64, 64)
    _rejects(rig, VioTransfer(0, []), VioConfigError, "iov_len 0 with 0 iov entries")
    _rejects(rig, VioTransfer(0, [(a, 4)], iov_len=0), VioConfigError, "iov_len 0 with 1 iov entries")
    _rejects(rig, VioTransfer(0, [(a, 4)], iov_len=2), VioConfigError, "iov_len 2 with 1 iov entries")
    _rejects(rig, VioTransfer(0, [(a, 4), (b, 0, W)]), VioConfigError, r"iov\[1\] size 0")
    _rejects(rig, VioTransfer(0, [(a, 1 << 32)]), VioConfigError, r"iov\[0\] size 4294967296")
    _rejects(rig, VioTransfer(0, [(a, 4, W), (b, 4)]), VioConfigError, r"iov\[1\] is readable after a writable entry")
    _rejects(rig, VioTransfer(0, [(a, 4), (b, 4, 0x10)]), VioConfigError, r"iov\[1\] has unknown flags 0x10")
    _rejects(rig, VioTransfer(0, [(a, 4), (MEM_SIZE - 8, 16, W)]), VioConfigError, r"iov\[1\] .* is not in guest memory")
    _rejects(rig, VioTransfer(0, [(1 << 40, 16)]), VioConfigError, r"iov\[0\] .* is not in guest memory")
    mem_before = bytes(m.data)
    with pytest.raises(VioConfigError, match="has no queue 5"):
        run(rig.drv.submit(VioTransfer(5, [(a, 4)])))
    assert bytes(m.data) == mem_before
    assert rig.drv.avail(0) == 16
    assert rig.backend.received == []


def test_submit_rejects_a_transfer_in_flight():
    rig = make_rig()
    t = simple_tfr(rig.mem)
    run(rig.drv.submit(t))
    head = t.head
    assert head != VIO_HEAD_DONE
    # the device has answered, but until poll the transfer is still in flight
    _rejects(rig, t, VioConfigError, f"already in flight \\(head {head}\\)")
    assert run(rig.drv.poll()) == 1
    run(rig.drv.submit(t))  # fine once done
    assert run(rig.drv.poll()) == 1
    assert len(rig.backend.received) == 2


@pytest.mark.parametrize("features", [0, ALL_RING_FEATURES])
def test_full_queue_raises_queue_full_before_touching_the_ring(features):
    rig = make_rig(queues=(("q0", 4),), drv_features=features)
    tfrs = [simple_tfr(rig.mem) for _ in range(5)]
    per = 1 if features & INDIRECT else 2
    n = 4 // per
    for t in tfrs[:n]:
        run(rig.drv.submit(t))
    assert rig.drv.avail(0) == 0
    _rejects(rig, tfrs[n], VioQueueFull, f"{per} descriptors needed, 0 free")
    assert tfrs[n].done
    run(rig.drv.poll())
    run(rig.drv.submit(tfrs[n]))


def test_queue_full_with_some_room_left():
    rig = make_rig(queues=(("q0", 4),))
    m = rig.mem
    run(rig.drv.submit(simple_tfr(m)))  # 2 of 4 used
    a, b, c = bufs(m, 4, 4, 4)
    _rejects(rig, VioTransfer(0, [(a, 4), (b, 4), (c, 4, W)]), VioQueueFull, "3 descriptors needed, 2 free")


def test_submit_before_init_refused():
    rig = make_rig(init=False)
    t = simple_tfr(rig.mem)
    with pytest.raises(VioConfigError, match="is not initialised"):
        run(rig.drv.submit(t))
    assert t.done


# ------------------------------------------------------- callback semantics


def test_callbacks_run_only_inside_poll():
    rig = make_rig()
    calls = []
    t = simple_tfr(rig.mem, callback=calls.append)
    run(rig.drv.submit(t))
    # the device completed the chain during the notify...
    q = rig.drv.queue[0]
    assert rig.mem.read16(q.layout.used_idx) == 1
    assert rig.backend.received == [(0, b"ping", 8)]
    # ...but the transfer is reported only by poll
    assert calls == [] and t.head != VIO_HEAD_DONE and t.actual == 0
    assert run(rig.drv.poll()) == 1
    assert calls == [t] and t.done and t.actual == 8
    assert run(rig.drv.poll()) == 0
    assert calls == [t]


def test_callback_sees_only_head_and_actual_changed():
    rig = make_rig(drv_features=ALL_RING_FEATURES)
    m = rig.mem
    a, b, c = bufs(m, 5, 7, 9)
    m.write(a, b"hello")
    seen = {}
    priv = object()

    def callback(tfr):
        seen["state"] = snapshot(tfr)

    def snapshot(tfr):
        return {k: (list(map(vars, v)) if k == "iov" else v) for k, v in vars(tfr).items()}

    t = VioTransfer(1, [(a, 5), (b, 7, W), (c, 9, W)], callback=callback, priv=priv)
    extra = VioIov(a, 1)
    t.iov.append(extra)  # an entry beyond iov_len: not part of the transfer
    t.iov_len = 3
    t.actual = 12345
    before = snapshot(t)
    run(rig.drv.submit(t))
    run(rig.drv.poll())
    after = seen["state"]
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"actual"}  # head was 0xFFFF before submit and is 0xFFFF again
    assert after["head"] == VIO_HEAD_DONE and after["actual"] == 16
    assert t.iov[3] is extra and t.priv is priv
    assert rig.backend.received == [(1, b"hello", 16)]
    check_loopback(m, t, b"hello")


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("features", [0, ALL_RING_FEATURES])
def test_callback_may_resubmit_the_same_transfer(kind, features):
    rig = make_rig(drv_features=features)
    m = rig.mem
    log = []

    def sync_cb(tfr):
        log.append((tfr.head, tfr.actual, m.read(tfr.iov[1].buffer, 8)))
        if len(log) < 3:
            m.write(tfr.iov[0].buffer, b"ro%02d" % len(log))
            return rig.drv.submit(tfr)  # a plain function handing back the awaitable
        return None

    async def async_cb(tfr):
        log.append((tfr.head, tfr.actual, m.read(tfr.iov[1].buffer, 8)))
        if len(log) < 3:
            m.write(tfr.iov[0].buffer, b"ro%02d" % len(log))
            assert await rig.drv.submit(tfr) == 0

    t = simple_tfr(m, callback=sync_cb if kind == "sync" else async_cb)
    run(rig.drv.submit(t))
    counts = [run(rig.drv.poll()) for _ in range(4)]
    assert counts == [1, 1, 1, 0]
    expected_data = [loopback_answer(0, rd, 8) for rd in (b"ping", b"ro01", b"ro02")]
    assert log == [(VIO_HEAD_DONE, 8, d) for d in expected_data]
    assert [r[1] for r in rig.backend.received] == [b"ping", b"ro01", b"ro02"]
    assert t.done and rig.drv.avail(0) == 16


def test_callback_resubmission_of_every_transfer_keeps_the_ring_busy():
    """Several transfers, each resubmitted from its callback, across ring wrap."""
    rig = make_rig(queues=(("q0", 4),), drv_features=ALL_RING_FEATURES, ring_index_base=0xFFFE)
    m = rig.mem
    done = []

    async def cb(tfr):
        done.append(tfr.priv)
        if sum(1 for p in done if p == tfr.priv) < 5:
            await rig.drv.submit(tfr)

    tfrs = [simple_tfr(m, rd=bytes([i]) * 3, wr=6, callback=cb) for i in range(4)]
    for i, t in enumerate(tfrs):
        t.priv = i
    for t in tfrs:
        run(rig.drv.submit(t))
    total = 0
    while total < 20:
        n = run(rig.drv.poll())
        assert n > 0
        total += n
    assert total == 20 and sorted(done) == sorted(list(range(4)) * 5)
    assert all(t.done for t in tfrs) and rig.drv.avail(0) == 4
    for t in tfrs:
        check_loopback(m, t, bytes([t.priv]) * 3)


# ------------------------------------------------------------- long iovs


@pytest.mark.parametrize("features", [0, INDIRECT])
def test_iov_longer_than_vio_iov_max(features):
    n = 20
    assert n > VIO_IOV_MAX
    rig = make_rig(queues=(("q0", 32),), queue_num_max=32, drv_features=features)
    m = rig.mem
    sizes = [3 + 7 * i for i in range(n)]
    addrs = bufs(m, *sizes)
    nread = 12
    readable = b""
    for i in range(nread):
        data = bytes((i * 31 + j) & 0xFF for j in range(sizes[i]))
        m.write(addrs[i], data)
        readable += data
    iov = [(addrs[i], sizes[i], W if i >= nread else 0) for i in range(n)]
    t = VioTransfer(0, iov)
    run(rig.drv.submit(t))
    assert rig.drv.avail(0) == (31 if features else 32 - n)
    assert run(rig.drv.poll()) == 1
    assert rig.backend.received == [(0, readable, sum(sizes[nread:]))]
    check_loopback(m, t, readable)
    assert rig.drv.avail(0) == 32


# ----------------------------------------------------------- indirect use


def _head_desc(rig, t):
    q = rig.drv.queue[t.queue]
    return Desc.unpack(rig.mem.read(q.layout.desc_addr(t.head), DESC_SIZE))


@pytest.mark.parametrize(
    "drv_asks,dev_offers,queue_indirect,iov_len,expect",
    [
        (True, True, None, 3, True),
        (True, True, None, 1, False),  # default: one buffer needs no table
        (True, True, True, 1, True),
        (True, True, False, 3, False),
        (False, True, None, 3, False),
        (True, False, None, 3, False),
        (True, False, True, 3, False),
        (False, False, True, 3, False),
    ],
)
def test_indirect_used_exactly_when_negotiated(drv_asks, dev_offers, queue_indirect, iov_len, expect):
    rig = make_rig(
        backend=LoopbackBackend(2),
        queues=(VioQueue("q0", 16, indirect=queue_indirect),),
        drv_features=INDIRECT if drv_asks else 0,
        transport_features=INDIRECT if dev_offers else 0,
    )
    rig.backend.hold = True
    assert rig.drv.has_feature(C.VIRTIO_RING_F_INDIRECT_DESC) == (drv_asks and dev_offers)
    m = rig.mem
    sizes = [8, 16, 32][:iov_len]
    addrs = bufs(m, *sizes)
    flags = [0, W, W][:iov_len]
    t = VioTransfer(0, list(zip(addrs, sizes, flags)))
    run(rig.drv.submit(t))
    head = _head_desc(rig, t)
    q = rig.drv.queue[0]
    if expect:
        assert head.flags == C.VRING_DESC_F_INDIRECT and head.len == DESC_SIZE * iov_len
        table = [Desc.unpack(m.read(head.addr + DESC_SIZE * i, DESC_SIZE)) for i in range(iov_len)]
        chain = table
        assert rig.drv.avail(0) == 15
        assert all(d.next == i + 1 for i, d in enumerate(table[:-1]))
        assert m.contains(head.addr, head.len) and not q.layout.base <= head.addr < q.layout.end
    else:
        assert not head.flags & C.VRING_DESC_F_INDIRECT
        chain = [head]
        while chain[-1].has_next:
            chain.append(Desc.unpack(m.read(q.layout.desc_addr(chain[-1].next), DESC_SIZE)))
        assert rig.drv.avail(0) == 16 - iov_len
    assert [(d.addr, d.len) for d in chain] == list(zip(addrs, sizes))
    assert [d.flags & C.VRING_DESC_F_WRITE for d in chain] == [C.VRING_DESC_F_WRITE if f else 0 for f in flags]
    assert [d.has_next for d in chain] == [True] * (iov_len - 1) + [False]
    assert not any(d.is_indirect for d in (chain if not expect else table))
    # the device accepted it and the data arrives
    rig.backend.release()
    assert run(rig.drv.poll()) == 1
    check_loopback(m, t, bytes(8))
    assert rig.dev.error == 0


def test_indirect_tables_are_freed_after_completion():
    rig = make_rig(drv_features=INDIRECT)
    m = rig.mem
    t = simple_tfr(m)
    free_before = list(m._free)
    for _ in range(50):
        run(rig.drv.submit(t))
        run(rig.drv.poll())
    assert m._free == free_before


# -------------------------------------------------- notify suppression


@pytest.mark.parametrize("event_idx", [False, True])
def test_event_idx_suppresses_notifies_the_device_does_not_need(event_idx):
    backend = LoopbackBackend(2)
    rig = make_rig(backend=backend, drv_features=EVENT_IDX if event_idx else 0)
    notifies = count_notifies(rig)
    m = rig.mem
    q = rig.drv.queue[0]
    backend.gate = True  # the device does not get round to the ring
    tfrs = [simple_tfr(m, rd=bytes([i]) * 4) for i in range(5)]
    for t in tfrs[:3]:
        run(rig.drv.submit(t))
    # EVENT_IDX: avail_event still says 0, so only the first submit notifies
    assert notifies == ([0] if event_idx else [0, 0, 0])
    backend.open_gate()
    assert len(backend.received) == 3
    if event_idx:
        assert m.read16(q.layout.avail_event) == 3
    for t in tfrs[3:]:
        run(rig.drv.submit(t))  # the device caught up: these must notify
    assert notifies == ([0, 0, 0] if event_idx else [0] * 5)
    assert run(rig.drv.poll()) == 5
    for i, t in enumerate(tfrs):
        check_loopback(m, t, bytes([i]) * 4)


def test_event_idx_notify_decision_follows_avail_event():
    rig = make_rig(backend=LoopbackBackend(2), drv_features=EVENT_IDX)
    rig.backend.gate = True
    notifies = count_notifies(rig)
    q = rig.drv.queue[0]
    tfrs = [simple_tfr(rig.mem) for _ in range(6)]
    run(rig.drv.submit(tfrs[0]))  # avail 0 -> 1 passes avail_event 0
    rig.mem.write16(q.layout.avail_event, 3)  # the device asks to be told when idx passes 3
    for t in tfrs[1:]:
        run(rig.drv.submit(t))
    # notified at 0->1 and 3->4 only
    assert notifies == [0, 0]
    rig.backend.open_gate()
    assert run(rig.drv.poll()) == 6


# --------------------------------------------------------- NO_INTERRUPT


@pytest.mark.parametrize("features", [0, EVENT_IDX, EVENT_IDX | INDIRECT])
def test_queue_without_interrupts_completes_by_polling(features):
    rig = make_rig(queues=(VioQueue("quiet", 16, interrupts=False), VioQueue("loud", 16)), drv_features=features)
    m = rig.mem
    quiet = rig.drv.queue[0]
    if features & EVENT_IDX:
        assert m.read16(quiet.layout.used_event) == 0xFFFF
        assert m.read16(quiet.layout.avail_flags) == 0
    else:
        assert m.read16(quiet.layout.avail_flags) == C.VRING_AVAIL_F_NO_INTERRUPT
    for rnd in range(6):  # 36 transfers: past the ring size several times
        tfrs = [simple_tfr(m, rd=bytes([rnd, i])) for i in range(6)]
        for t in tfrs:
            run(rig.drv.submit(t))
        assert not rig.dev.irq and rig.dev.interrupts_raised == 0
        assert run(rig.drv.poll()) == 6
        for i, t in enumerate(tfrs):
            check_loopback(m, t, bytes([rnd, i]))
    assert rig.dev.interrupts_raised == 0
    # the other queue of the same device does interrupt
    run(rig.drv.submit(simple_tfr(m, queue=1)))
    assert rig.dev.irq and rig.dev.read(C.VIRTIO_MMIO_INTERRUPT_STATUS) == C.VIRTIO_MMIO_INT_VRING


@pytest.mark.parametrize("features", [0, EVENT_IDX])
def test_queue_with_interrupts_gets_one(features):
    rig = make_rig(drv_features=features)
    for _ in range(3):
        run(rig.drv.submit(simple_tfr(rig.mem)))
        assert rig.dev.irq
        assert run(rig.drv.interrupt_status()) == C.VIRTIO_MMIO_INT_VRING
        assert not rig.dev.irq
        assert run(rig.drv.poll()) == 1
    assert rig.dev.interrupts_raised == 3


# ------------------------------------------------------------- ordering


@pytest.mark.parametrize("features", [0, INDIRECT, EVENT_IDX, ALL_RING_FEATURES], ids=["plain", "indirect", "event_idx", "all"])
@pytest.mark.parametrize("n_iov", [1, 3])
def test_descriptors_then_ring_entry_then_avail_idx_then_notify(features, n_iov):
    rig = make_rig(drv_features=features, ring_index_base=0xFFFF)
    rig.backend.hold = True
    m = rig.mem
    q = rig.drv.queue[0]
    lay = q.layout
    events: list[tuple[str, int, int]] = []
    mem_write, hal_write = m.write, rig.hal.write

    def rec_mem_write(addr, data):
        events.append(("mem", addr, len(data)))
        mem_write(addr, data)

    async def rec_hal_write(addr, value, size=4):
        events.append(("reg", addr - rig.drv.base, value))
        await hal_write(addr, value, size)

    addrs = bufs(m, *([16] * n_iov))
    for rnd in range(3):  # the second round crosses avail.idx 0xFFFF -> 0
        events.clear()
        m.write = rec_mem_write
        rig.hal.write = rec_hal_write
        t = VioTransfer(0, [(a, 16, W if i == n_iov - 1 else 0) for i, a in enumerate(addrs)])
        old_idx = q.avail_idx
        run(rig.drv.submit(t))
        m.write, rig.hal.write = mem_write, hal_write

        def where(e):
            kind, addr, n = e
            if kind == "reg":
                return "notify" if addr == C.VIRTIO_MMIO_QUEUE_NOTIFY else "reg"
            if lay.desc <= addr < lay.avail:
                return "desc"
            if addr == lay.avail_ring(old_idx % lay.num):
                return "ring"
            if addr == lay.avail_idx:
                return "idx"
            if lay.base <= addr < lay.end:
                return "other-ring"
            return "table"  # the indirect table, outside the ring

        order = [where(e) for e in events]
        notify_at = order.index("notify")
        before = order[:notify_at]  # after the notify the device writes (avail_event)
        assert before.count("ring") == 1 and before.count("idx") == 1, order
        assert "other-ring" not in before and "reg" not in before, order
        ring_at, idx_at = before.index("ring"), before.index("idx")
        table_or_desc = [i for i, w in enumerate(before) if w in ("desc", "table")]
        assert table_or_desc and max(table_or_desc) < ring_at < idx_at < notify_at, order
        assert m.read16(lay.avail_idx) == (old_idx + 1) & 0xFFFF
        assert m.read16(lay.avail_ring(old_idx % lay.num)) == t.head
        assert order.count("table") == (n_iov if (features & INDIRECT and n_iov > 1) else 0)
        rig.backend.release()
        assert run(rig.drv.poll()) == 1
        rig.backend.hold = True


# ---------------------------------------------------------------- vio.cyg


def test_cyg_names_return_zero_or_negative_errno_and_keep_the_last_error():
    rig = make_rig(queues=(cyg.VIO_QUEUE("rxq", 2),), init=False)
    drv, m = rig.drv, rig.mem
    assert cyg.cyg_vio_driver is VioDriver and cyg.cyg_vio_tfr is VioTransfer and cyg.VIO_QUEUE is VioQueue
    assert cyg.cyg_vio_queue_ready(drv, 0) is False and cyg.cyg_vio_avail(drv, 0) == 0
    assert run(cyg.cyg_vio_driver_init(drv)) == cyg.ENOERR == 0
    assert cyg.cyg_vio_queue_ready(drv, 0) is True and cyg.cyg_vio_avail(drv, 0) == 2

    t1 = simple_tfr(m)
    assert run(cyg.cyg_vio_submit(drv, t1)) == 0
    last = cyg.cyg_vio_last_error
    t2 = simple_tfr(m)
    assert run(cyg.cyg_vio_submit(drv, t2)) == -28  # -ENOSPC
    assert isinstance(cyg.cyg_vio_last_error, VioQueueFull) and cyg.cyg_vio_last_error is not last
    full = cyg.cyg_vio_last_error
    assert t2.done

    bad = VioTransfer(0, [(m.alloc(4), 4, W), (m.alloc(4), 4)])
    assert run(cyg.cyg_vio_submit(drv, bad)) == -22  # -EINVAL
    assert isinstance(cyg.cyg_vio_last_error, VioConfigError) and "readable after a writable" in str(cyg.cyg_vio_last_error)
    assert run(cyg.cyg_vio_submit(drv, t1)) == -22  # in flight
    inflight = cyg.cyg_vio_last_error
    assert inflight is not full and "already in flight" in str(inflight)

    assert run(cyg.cyg_vio_poll(drv)) == 1  # number completed
    assert cyg.cyg_vio_last_error is inflight  # kept across successful calls
    assert run(cyg.cyg_vio_submit(drv, t2)) == 0
    assert run(cyg.cyg_vio_poll(drv)) == 1
    assert run(cyg.cyg_vio_poll(drv)) == 0
    assert cyg.cyg_vio_last_error is inflight
    check_loopback(m, t1, b"ping")
    check_loopback(m, t2, b"ping")


def test_cyg_init_of_no_device_returns_enodev():
    mem, hal, dev, drv = patched_rig({C.VIRTIO_MMIO_MAGIC_VALUE: 0x12345678})
    assert run(cyg.cyg_vio_driver_init(drv)) == -19
    assert isinstance(cyg.cyg_vio_last_error, VioNoDevice) and "0x12345678" in str(cyg.cyg_vio_last_error)
    mem, hal, dev, drv = patched_rig({C.VIRTIO_MMIO_VERSION: 2})
    assert run(cyg.cyg_vio_driver_init(drv)) == -95  # -EOPNOTSUPP
    assert isinstance(cyg.cyg_vio_last_error, VioNotSupported)


def test_cyg_poll_of_a_broken_queue_returns_eio():
    rig = make_rig()
    run(cyg.cyg_vio_submit(rig.drv, simple_tfr(rig.mem)))
    q = rig.drv.queue[0]
    rig.mem.write(q.layout.used_ring(q.last_used % q.num), (7).to_bytes(4, "little"))  # not a head in flight
    assert run(cyg.cyg_vio_poll(rig.drv)) == -5  # -EIO
    assert isinstance(cyg.cyg_vio_last_error, VioQueueBroken) and "not a head in flight" in str(cyg.cyg_vio_last_error)
    assert run(cyg.cyg_vio_submit(rig.drv, simple_tfr(rig.mem))) == -5
