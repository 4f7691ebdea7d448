"""Property tests: the driver model against the reference device with the
loopback personality, over random iov layouts, ring sizes, wrapping indices
and feature sets; every byte of every transfer is checked."""

import random
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vio import VIO_HEAD_DONE, VIO_IOV_FLAGS_WRITE, VioQueue, VioQueueFull, VioTransfer
from vio import constants as C
from vio.device.loopback import LoopbackBackend, loopback_answer

from .rig import make_rig, run

GUARD = 16
GUARD_BYTE = 0xAA
FRESH_BYTE = 0x5A  # what writable buffers hold before the device writes them
RING_SIZES = [2, 4, 8, 16, 32, 64, 128, 256]
MODES = ["eager", "hold", "gate"]  # how the device answers during a batch

PROPERTY_SETTINGS = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Plan:
    queue: int
    sizes: list[int]
    n_read: int
    seed: int


@dataclass
class Config:
    ring_sizes: tuple[int, int]
    index_base: int
    indirect: bool  # RING_INDIRECT_DESC asked for (the device offers it)
    queue_indirect: bool | None  # VioQueue(indirect=...)
    event_idx: bool
    notify_on_empty: bool
    interrupts: bool
    batches: list[tuple[str, list[Plan]]]

    @property
    def features(self) -> int:
        return (
            (1 << C.VIRTIO_RING_F_INDIRECT_DESC if self.indirect else 0)
            | (1 << C.VIRTIO_RING_F_EVENT_IDX if self.event_idx else 0)
            | (1 << C.VIRTIO_F_NOTIFY_ON_EMPTY if self.notify_on_empty else 0)
            | 1 << C.VIRTIO_F_ANY_LAYOUT
        )

    def descriptors(self, plan: Plan) -> int:
        """Descriptors the transfer takes in the ring (1 with an indirect table)."""
        n = len(plan.sizes)
        if self.indirect and (self.queue_indirect is True or (self.queue_indirect is None and n > 1)):
            return 1
        return n


@st.composite
def configs(draw) -> Config:
    ring_sizes = (draw(st.sampled_from(RING_SIZES)), draw(st.sampled_from(RING_SIZES)))
    cfg = Config(
        ring_sizes=ring_sizes,
        # near 65535 so the free-running u16 indices wrap during the run
        index_base=draw(st.one_of(st.just(0), st.integers(65500, 65535), st.integers(65530, 65535))),
        indirect=draw(st.booleans()),
        queue_indirect=draw(st.sampled_from([None, True, False])),
        event_idx=draw(st.booleans()),
        notify_on_empty=draw(st.booleans()),
        interrupts=draw(st.booleans()),
        batches=[],
    )
    for _ in range(draw(st.integers(1, 4))):
        mode = draw(st.sampled_from(MODES))
        plans = []
        for _ in range(draw(st.integers(1, 6))):
            queue = draw(st.integers(0, 1))
            # a direct chain must fit an empty ring; through an indirect table any length does
            probe = Plan(queue, [1, 1], 0, 0)
            limit = 20 if cfg.descriptors(probe) == 1 else min(20, ring_sizes[queue])
            sizes = draw(st.lists(st.integers(1, 5000), min_size=1, max_size=limit))
            plans.append(Plan(queue, sizes, draw(st.integers(0, len(sizes))), draw(st.integers(0, 2**32 - 1))))
        cfg.batches.append((mode, plans))
    return cfg


class Item:
    """One transfer of the run, with everything needed to check it."""

    def __init__(self, mem, plan: Plan):
        self.plan = plan
        rnd = random.Random(plan.seed)
        self.blocks = []
        iov = []
        self.readable = b""
        for i, size in enumerate(plan.sizes):
            block = mem.alloc(size + 2 * GUARD)
            self.blocks.append(block)
            mem.fill(block, GUARD, GUARD_BYTE)
            mem.fill(block + GUARD + size, GUARD, GUARD_BYTE)
            addr = block + GUARD
            if i < plan.n_read:
                data = rnd.randbytes(size)
                self.readable += data
                iov.append((addr, size))
            else:
                data = bytes([FRESH_BYTE]) * size
                iov.append((addr, size, VIO_IOV_FLAGS_WRITE))
            mem.write(addr, data)
        self.completions = 0
        self.tfr = VioTransfer(plan.queue, iov, callback=self.callback, priv=self)

    def callback(self, tfr: VioTransfer) -> None:
        assert tfr is self.tfr and tfr.head == VIO_HEAD_DONE
        self.completions += 1

    def check(self, mem) -> None:
        tfr = self.tfr
        assert self.completions == 1, f"completed {self.completions} times"
        assert tfr.done
        writable = [v for v in tfr.iov if v.flags & VIO_IOV_FLAGS_WRITE]
        answer = loopback_answer(tfr.queue, self.readable, sum(v.size for v in writable))
        assert tfr.actual == len(answer)
        pos = 0
        for v in tfr.iov:
            got = mem.read(v.buffer, v.size)
            if v.flags & VIO_IOV_FLAGS_WRITE:
                part = answer[pos : pos + v.size]
                pos += len(part)
                assert got == part + bytes([FRESH_BYTE]) * (v.size - len(part))
            assert mem.read(v.buffer - GUARD, GUARD) == bytes([GUARD_BYTE]) * GUARD
            assert mem.read(v.buffer + v.size, GUARD) == bytes([GUARD_BYTE]) * GUARD
        readable = b"".join(mem.read(v.buffer, v.size) for v in tfr.iov if not v.flags & VIO_IOV_FLAGS_WRITE)
        assert readable == self.readable

    def free(self, mem) -> None:
        for block in self.blocks:
            mem.free(block)


def run_config(cfg: Config) -> None:
    backend = LoopbackBackend(2)
    queues = [VioQueue(f"q{i}", n, interrupts=cfg.interrupts, indirect=cfg.queue_indirect) for i, n in enumerate(cfg.ring_sizes)]
    rig = make_rig(backend=backend, queues=queues, drv_features=cfg.features, queue_num_max=256, ring_index_base=cfg.index_base)
    drv, mem, dev = rig.drv, rig.mem, rig.dev
    assert drv.features == cfg.features
    completed = 0

    def poll_all() -> int:
        total = 0
        while n := run(drv.poll()):
            total += n
        return total

    for mode, plans in cfg.batches:
        items = [Item(mem, plan) for plan in plans]
        waiting = list(items)
        while waiting:
            backend.hold = mode == "hold"
            backend.gate = mode == "gate"
            deferred = []
            submitted = []
            seen = len(backend.received)
            for item in waiting:
                q = drv.queue[item.plan.queue]
                needed = cfg.descriptors(item.plan)
                if drv.avail(item.plan.queue) < needed:
                    before = (drv.avail(item.plan.queue), q.avail_idx)
                    try:
                        run(drv.submit(item.tfr))
                    except VioQueueFull:
                        pass
                    else:
                        raise AssertionError("submit accepted a transfer the queue had no room for")
                    assert (drv.avail(item.plan.queue), q.avail_idx) == before and item.tfr.done
                    deferred.append(item)
                    continue
                free = drv.avail(item.plan.queue)
                assert run(drv.submit(item.tfr)) == 0
                assert not item.tfr.done
                assert drv.avail(item.plan.queue) == free - needed
                submitted.append(item)
            if mode == "gate":
                # the device has not looked at the ring yet
                assert len(backend.received) == seen
            else:
                # it pops on notify: every chain reached it, in order, so no needed notify was skipped
                got = backend.received[seen:]
                assert [(q, rd) for q, rd, _ in got] == [(i.plan.queue, i.readable) for i in submitted]
            if mode != "eager" and submitted:
                # nothing is answered while the device holds or has not looked
                assert run(drv.poll()) == 0
                assert not any(i.tfr.done for i in submitted)
                backend.open_gate()  # the device gets round to the ring...
                backend.release()  # ...and delivers the answers it held
            completed += poll_all()
            assert all(i.tfr.done for i in submitted)
            assert submitted, "a transfer that fits an empty ring was refused"
            waiting = deferred
        for item in items:
            item.check(mem)
            item.free(mem)

    assert completed == sum(len(plans) for _, plans in cfg.batches)
    for i, q in enumerate(drv.queue):
        assert drv.avail(i) == q.num == cfg.ring_sizes[i]
        assert not q.posted and q.broken is None and drv.queue_ready(i)
        assert not dev.queues[i].in_flight
        assert q.avail_idx == q.last_used == dev.queues[i].used_idx == dev.queues[i].last_avail
    assert dev.error == 0
    if not cfg.interrupts and not cfg.notify_on_empty:
        assert dev.interrupts_raised == 0
    if cfg.interrupts:
        assert dev.interrupts_raised >= 1 and dev.isr & C.VIRTIO_MMIO_INT_VRING


@PROPERTY_SETTINGS
@given(configs())
def test_loopback_transfers_arrive_byte_exact(cfg):
    run_config(cfg)


@settings(max_examples=25, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ring=st.sampled_from(RING_SIZES),
    base=st.one_of(st.just(0), st.integers(65500, 65535)),
    features=st.sets(st.sampled_from([C.VIRTIO_RING_F_INDIRECT_DESC, C.VIRTIO_RING_F_EVENT_IDX, C.VIRTIO_F_NOTIFY_ON_EMPTY])),
    rounds=st.integers(1, 6),
)
def test_full_ring_rounds_across_index_wrap(ring, base, features, rounds):
    """Fill the ring to the last descriptor, complete, repeat: the indices run
    through 65535 -> 0 and every descriptor is recycled."""
    feats = sum(1 << f for f in features)
    rig = make_rig(queues=(("q", ring),), backend=LoopbackBackend(1), drv_features=feats, queue_num_max=256, ring_index_base=base)
    drv, mem = rig.drv, rig.mem
    bufs = [(mem.alloc(2), mem.alloc(3)) for _ in range(ring)]
    for rnd in range(rounds):
        tfrs = []
        for i, (a, b) in enumerate(bufs[: ring // 2]):
            mem.write(a, bytes([rnd, i]))
            t = VioTransfer(0, [(a, 2), (b, 3, VIO_IOV_FLAGS_WRITE)])
            run(drv.submit(t))
            tfrs.append(t)
        per = 1 if C.VIRTIO_RING_F_INDIRECT_DESC in features else 2
        assert drv.avail(0) == ring - per * len(tfrs)
        if per == 2:
            assert drv.avail(0) == 0  # the ring is full to its last descriptor
        assert run(drv.poll()) == len(tfrs)
        for i, t in enumerate(tfrs):
            assert t.actual == 3
            assert mem.read(t.iov[1].buffer, 3) == loopback_answer(0, bytes([rnd, i]), 3)
        assert drv.avail(0) == ring
    q = drv.queue[0]
    assert q.avail_idx == (base + rounds * (ring // 2)) & 0xFFFF == rig.dev.queues[0].used_idx
    assert rig.dev.error == 0
