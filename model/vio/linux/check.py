"""``make linux-check``: Linux's own ring code drives a device, and every
byte and token is checked.

:class:`LinuxCheck` is a small class driver on the kernel's
``virtio_ring.c`` (through :mod:`vio.linux.ring` and the register sequences
of :mod:`vio.linux.mmio`) for the loopback personality, on any
:class:`vio.differential.BackendTarget` (the reference device behind a
ModelHal, the RTL behind tb/'s CocotbHal). It submits requests of any shape,
waits for them as Linux's drivers do (interrupt-driven, in the callback style
of virtio_blk, of virtio_net's NAPI or of its transmit path), and checks each
completion: the token is the oldest outstanding one of its queue (our device
completes a queue's chains in pop order), used.len and every byte of the
writable buffers are the loopback answer, the bytes past it untouched, and
the backend got exactly the readable bytes.

A wait that runs out is diagnosed: :class:`LostInterrupt` when the device did
post used entries and an interrupt was due for them (the rules of EVENT_IDX or
of avail.flags) but none came; :class:`DeviceStall` when it posted nothing.

:data:`CASES` are the scenarios, each a coroutine function of a LinuxCheck.
"""

import itertools
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .. import constants as C
from ..device.loopback import LoopbackBackend, loopback_answer
from ..ring import u16, vring_need_event
from .mmio import LinuxMmio
from .ring import ADD_INBUF, ADD_OUTBUF, ADD_SGS, KernelRing, Virtqueue

INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
POISON = 0xA5  # what writable buffers hold before the device writes them
QUEUES = 2
INDEX_BASE = 65536 - 16  # the RTL builds' RING_INDEX_BASE: every case crosses the wrap there


class LinuxCheckError(AssertionError):
    """A completion that is not what the request and the loopback say."""


class DeviceStall(LinuxCheckError):
    """Requests outstanding, and the device posted no used entry in time."""


class LostInterrupt(LinuxCheckError):
    """The device posted used entries an interrupt was due for, and none came."""


@dataclass
class Request:
    token: int
    queue: int
    readable: bytes
    out: list[list[tuple[int, int]]]
    into: list[list[tuple[int, int]]]
    answer: bytes
    blocks: list[int] = field(default_factory=list)

    @property
    def writable_len(self) -> int:
        return sum(n for sg in self.into for _, n in sg)


class LinuxCheck:
    """The kernel's ring code as the driver of ``target`` (a loopback device)."""

    def __init__(self, target, ring: KernelRing, *, seed: int = 0, index_base: int = 0):
        self.t = target
        self.index_base = index_base  # where the device's ring indices start (its test hook)
        self.hal, self.mem = target.hal, target.hal.mem
        self.backend: LoopbackBackend = target.backend
        self.ring = ring
        self.rng = random.Random(seed)
        self.tokens = itertools.count(1)
        self.pending: list[deque[Request]] = [deque() for _ in range(QUEUES)]
        self.collected = [0] * QUEUES  # per queue: where the ring code's last_used stands (from the index base)
        self.received = 0  # backend.received entries already checked
        self.completions = 0
        self.interrupts = 0
        self.style = "blk"
        self.budget = 4  # NAPI weight of the napi style
        self.scheduled: set[int] = set()
        self.mmio: LinuxMmio | None = None
        self.vqs: list[Virtqueue] = []

    # ------------------------------------------------------------ set-up
    async def start(self, page_size: int = 4096, features: int = INDIRECT | EVENT_IDX, style: str = "blk") -> int:
        """Probe as Linux does with ``page_size`` pages; ``features``: which of
        INDIRECT and EVENT_IDX the driver keeps (its validate() clears the
        others). Returns the negotiated features."""
        if style not in ("blk", "napi", "delayed"):
            raise ValueError(f"style must be blk, napi or delayed, not {style!r}")
        self.style = style
        self.ring.set_page_size(page_size)
        self.mmio = LinuxMmio(self.hal, self.t.base, self.ring, validate_clears=(INDIRECT | EVENT_IDX) & ~features,
                              index_base=self.index_base)  # fmt: skip
        negotiated = await self.mmio.probe()
        if negotiated & (INDIRECT | EVENT_IDX) != features:
            raise LinuxCheckError(f"negotiated {negotiated:#x}: the device does not offer {features:#x}")
        self.vqs = await self.mmio.find_vqs([f"q{i}" for i in range(QUEUES)], [self._callback] * QUEUES)
        for vq in self.vqs:
            if vq.desc_addr % page_size:
                raise LinuxCheckError(f"queue {vq.index}: ring at {vq.desc_addr:#x} is not aligned to the {page_size}-byte page")
        self.collected = [self.index_base] * QUEUES
        self.scheduled.clear()
        await self.mmio.ready()
        return negotiated

    async def remove(self) -> list[int]:
        """A driver's remove(): reset, ``virtqueue_detach_unused_buf`` until
        empty on every queue, ``del_vqs``. Every outstanding request must come
        back exactly once; returns the tokens detached."""
        assert self.mmio is not None
        await self.mmio.reset()
        detached = []
        for vq, pend in zip(self.vqs, self.pending):
            got = []
            while (token := vq.detach_unused_buf()) is not None:
                got.append(token)
            want = [r.token for r in pend]
            if sorted(got) != sorted(want):
                raise LinuxCheckError(f"queue {vq.index}: detach_unused_buf gave tokens {got}, outstanding were {want}")
            for r in pend:
                self._free(r)
            pend.clear()
            detached += got
        await self.mmio.del_vqs()
        self.vqs = []
        self.received = len(self.backend.received)  # what the device took before the reset is gone with it
        return detached

    # ------------------------------------------------------------ requests
    def request(self, queue: int, out: list[list[int]], into: list[list[int]], *, mode: int = ADD_SGS,
                chain: bool = False) -> Request | None:  # fmt: skip
        """Buffers of the given sizes (readable lists ``out``, writable
        ``into``), each at a random offset in guest memory, readable ones
        filled at random, writable ones poisoned; ``virtqueue_add_*``.
        None when the ring is full (-ENOSPC)."""
        req = Request(next(self.tokens), queue, b"", [], [], b"")
        readable = bytearray()
        for sizes, lists, fill in ((out, req.out, True), (into, req.into, False)):
            for sg in sizes:
                bufs = []
                for n in sg:
                    block = self.mem.alloc(n + 8)
                    addr = block + self.rng.randrange(8)
                    req.blocks.append(block)
                    data = self.rng.randbytes(n) if fill else bytes([POISON]) * n
                    self.mem.write(addr, data)
                    if fill:
                        readable += data
                    bufs.append((addr, n))
                lists.append(bufs)
        req.readable = bytes(readable)
        limit = self.backend.limit
        cap = min(self.backend.answer_max, limit) if limit is not None else self.backend.answer_max
        req.answer = loopback_answer(queue, req.readable, min(req.writable_len, cap))
        err = self.vqs[queue].add(req.out, req.into, req.token, mode=mode, chain=chain)
        if err:
            self._free(req)
            if err == -28:  # -ENOSPC
                return None
            raise LinuxCheckError(f"virtqueue_add on queue {queue}: error {err}")
        self.pending[queue].append(req)
        return req

    async def kick(self, queue: int) -> bool:
        return await self.mmio.kick(self.vqs[queue])

    def _free(self, req: Request) -> None:
        for block in req.blocks:
            self.mem.free(block)
        req.blocks = []

    # ------------------------------------------------------------ completions
    def _complete(self, queue: int, token: int, length: int) -> None:
        pend = self.pending[queue]
        if not pend:
            raise LinuxCheckError(f"queue {queue}: token {token} (len {length}) completed with nothing outstanding")
        req = pend[0]
        if token != req.token:
            raise LinuxCheckError(f"queue {queue}: token {token} completed, the oldest outstanding is {req.token}")
        if length != len(req.answer):
            raise LinuxCheckError(f"queue {queue} token {token}: used.len {length}, the loopback answers {len(req.answer)} bytes")
        pos = 0
        for sg in req.into:
            for addr, n in sg:
                part = req.answer[pos : pos + n]
                want = part + bytes([POISON]) * (n - len(part))
                got = self.mem.read(addr, n)
                if got != want:
                    at = next(i for i in range(n) if got[i] != want[i])
                    raise LinuxCheckError(
                        f"queue {queue} token {token}: byte {pos + at} of the answer, at {addr + at:#x}, "
                        f"is {got[at]:#04x}, not {want[at]:#04x}"
                    )
                pos += n
        got_req = self.backend.received[self.received] if self.received < len(self.backend.received) else None
        if got_req != (queue, req.readable, req.writable_len):
            raise LinuxCheckError(f"queue {queue} token {token}: the backend got {got_req!r:.200}, "
                                  f"not its {len(req.readable)} readable bytes and {req.writable_len} writable")  # fmt: skip
        self.received += 1
        pend.popleft()
        self._free(req)
        self.collected[queue] += 1
        self.completions += 1

    def collect(self, queue: int, budget: int | None = None) -> int:
        """``virtqueue_get_buf`` until empty (or ``budget``), each checked."""
        vq, done = self.vqs[queue], 0
        while budget is None or done < budget:
            buf = vq.get_buf()
            if buf is None:
                break
            self._complete(queue, *buf)
            done += 1
        return done

    def _callback(self, queue: int) -> None:
        """The queue callback, from ``vring_interrupt`` in the interrupt handler."""
        vq = self.vqs[queue]
        if self.style == "blk":  # virtblk_done()
            while True:
                vq.disable_cb()
                self.collect(queue)
                if vq.broken or vq.enable_cb():
                    break
        else:  # virtio_net's skb_recv_done()/skb_xmit_done(): the work is done in the poll
            vq.disable_cb()
            self.scheduled.add(queue)

    def _poll(self, queue: int) -> None:
        """The deferred work of the napi and delayed styles."""
        vq = self.vqs[queue]
        if self.style == "napi":  # virtnet_poll() with virtqueue_napi_complete()
            if self.collect(queue, self.budget) < self.budget:
                opaque = vq.enable_cb_prepare()
                if vq.poll(opaque):
                    vq.disable_cb()  # virtqueue_napi_schedule(): stays scheduled
                else:
                    self.scheduled.discard(queue)
        else:  # free_old_xmit_skbs(), then virtqueue_enable_cb_delayed() as start_xmit() does
            while True:
                self.collect(queue)
                if vq.enable_cb_delayed():
                    self.scheduled.discard(queue)
                    break
                vq.disable_cb()

    async def drain(self, what: str = "the requests") -> None:
        """Wait as a driver does (interrupts, then the style's work) until
        nothing is outstanding; bounded by the target's timeout."""
        deadline = self.hal.now_ns() + self.t.timeout_ns
        while any(self.pending):
            if self.scheduled:
                for queue in sorted(self.scheduled):
                    self._poll(queue)
                continue
            if self.hal.irq(0):
                self.interrupts += 1
                await self.mmio.interrupt()
                self.ring.check("the interrupt handler")
                continue
            remaining = deadline - self.hal.now_ns()
            if remaining <= 0:
                await self._diagnose(what)
            await self.hal.wait_irq(0, remaining)

    async def _diagnose(self, what: str) -> None:
        status = await self.hal.read(self.t.base + C.VIRTIO_MMIO_STATUS)
        error = await self.hal.read(self.t.base + C.VIO_MMIO_DEVICE_ERROR)
        device = f"Status {status:#x}" + (f", DeviceError {error:#010x} (cause {error & 0xFF})" if error else "")
        for vq, pend in zip(self.vqs, self.pending):
            if not pend:
                continue
            used_idx = self.mem.read16(vq.used_addr + 2)
            last = u16(self.collected[vq.index])
            flags = self.mem.read16(vq.avail_addr)
            used_event = self.mem.read16(vq.avail_addr + 4 + 2 * vq.size)
            event_idx = bool(self.mmio.features & EVENT_IDX)
            state = (f"queue {vq.index}: {len(pend)} request(s) outstanding (oldest token {pend[0].token}), "
                     f"used.idx {used_idx}, driver at {last}, avail.flags {flags:#x}, used_event {used_event}; {device}")  # fmt: skip
            posted = u16(used_idx - last)
            if posted:
                due = vring_need_event(used_event, used_idx, last) if event_idx else not flags & C.VRING_AVAIL_F_NO_INTERRUPT
                if due:
                    raise LostInterrupt(f"{what}: {state}: the device posted {posted} used entr(ies) "
                                        f"an interrupt was due for, and none came in {self.t.timeout_ns} ns")  # fmt: skip
                raise DeviceStall(f"{what}: {state}: the device posted {posted} used entr(ies), too few for an "
                                  f"interrupt, then nothing in {self.t.timeout_ns} ns")  # fmt: skip
            raise DeviceStall(f"{what}: {state}: the device posted no used entry in {self.t.timeout_ns} ns")
        raise LinuxCheckError(f"{what}: nothing outstanding, yet the wait ran out")

    async def until(self, cond: Callable[[], bool], what: str) -> None:
        """Register reads (time passes on every back end) until ``cond``, bounded."""
        deadline = self.hal.now_ns() + self.t.timeout_ns
        while not cond():
            if self.hal.now_ns() > deadline:
                raise DeviceStall(f"{what}: not within {self.t.timeout_ns} ns")
            await self.hal.read(self.t.base + C.VIRTIO_MMIO_MAGIC_VALUE)

    async def idle(self, reads: int = 100) -> None:
        """Let the device run a while (``reads`` register reads): to see it do nothing."""
        for _ in range(reads):
            await self.hal.read(self.t.base + C.VIRTIO_MMIO_MAGIC_VALUE)

    async def traffic(self, queue: int, shapes: list[tuple[list[list[int]], list[list[int]]]], *,
                      mode: int = ADD_SGS, chain: bool = False, batch: int | None = None) -> None:  # fmt: skip
        """Submit ``shapes`` (out sizes, in sizes) on ``queue`` in batches of
        ``batch`` (or as many as fit), kick after each batch, drain."""
        todo = deque(shapes)
        while todo:
            n = 0
            while todo and (batch is None or n < batch):
                if self.request(queue, *todo[0], mode=mode, chain=chain) is None:
                    break
                todo.popleft()
                n += 1
            if n == 0 and not any(self.pending):
                raise LinuxCheckError(f"queue {queue}: a request of {todo[0]} does not fit an empty ring")
            await self.kick(queue)
            await self.drain(f"queue {queue}, {n} request(s)")


# ------------------------------------------------------------------ cases
def _sizes(rng: random.Random, count: int, small: int = 200) -> list[int]:
    return [rng.choice((1, 2, 3, 7, 16, 64, rng.randrange(1, small), 513)) for _ in range(count)]


async def out_in_mixed(c: LinuxCheck) -> None:
    """Readable-only, writable-only and mixed requests, one or several
    scatterlists (chained ones too), through add_sgs, add_outbuf and
    add_inbuf; direct descriptors (no INDIRECT), 4 KiB pages."""
    await c.start(4096, features=0, style="blk")
    r = c.rng
    await c.traffic(0, [([_sizes(r, r.randrange(1, 4))], []) for _ in range(12)], mode=ADD_OUTBUF)
    await c.traffic(1, [([], [_sizes(r, r.randrange(1, 4))]) for _ in range(12)], mode=ADD_INBUF)
    blk_like = [([[16], _sizes(r, r.randrange(1, 5))], [[1]]) for _ in range(8)]  # header, data | status
    read_like = [([[16]], [_sizes(r, r.randrange(1, 5)), [1]]) for _ in range(8)]
    await c.traffic(0, blk_like + read_like, chain=True)
    await c.traffic(1, [([_sizes(r, 2)], [_sizes(r, 3)]) for _ in range(20)], batch=3)
    await c.remove()


async def indirect_tables(c: LinuxCheck) -> None:
    """INDIRECT: requests of 2 to INDIRECT_MAX (32) buffers each take one
    descriptor of the ring, whatever its size (virtio-net's 19 included), on
    16 KiB pages."""
    await c.start(16384, features=INDIRECT, style="blk")
    vq = c.vqs[0]
    for n in (2, 3, 19, 31, 32):
        free = vq.num_free
        c.request(0, [[8] * (n // 2)], [[5] * (n - n // 2)])
        if vq.num_free != free - 1:
            raise LinuxCheckError(f"a request of {n} buffers took {free - vq.num_free} descriptors: not indirect")
    await c.kick(0)
    await c.drain("indirect requests")
    r = c.rng
    shapes = [([_sizes(r, r.randrange(1, 16))], [_sizes(r, r.randrange(1, 16))]) for _ in range(3 * vq.size)]
    await c.traffic(1, shapes, chain=True)
    await c.remove()


async def event_idx_napi(c: LinuxCheck) -> None:
    """EVENT_IDX with virtio_net's receive loop (callback disables and
    schedules; the poll takes up to its budget, then enable_cb_prepare + poll)
    on queue 0, and its transmit path (enable_cb_delayed) on queue 1; 64 KiB
    pages."""
    await c.start(65536, features=EVENT_IDX | INDIRECT, style="napi")
    r = c.rng
    await c.traffic(0, [([], [[r.randrange(1, 300)]]) for _ in range(40)])
    c.style = "delayed"
    await c.traffic(1, [([[r.randrange(1, 300), 14]], []) for _ in range(40)])
    await c.remove()


async def event_idx_blk(c: LinuxCheck) -> None:
    """EVENT_IDX with virtio_blk's callback loop (disable_cb, get_buf until
    empty, until enable_cb says nothing came in meanwhile); requests kicked one
    by one and in bursts."""
    await c.start(4096, features=EVENT_IDX, style="blk")
    r = c.rng
    for batch in (1, 5, None):
        await c.traffic(0, [([[16], [r.randrange(1, 600)]], [[1]]) for _ in range(12)], batch=batch)
        await c.traffic(1, [([[16]], [[r.randrange(1, 600)], [1]]) for _ in range(12)], batch=batch)
    await c.remove()


async def reset_in_flight(c: LinuxCheck) -> None:
    """Status = 0 with chains in flight (popped, their answers held) and
    chains not popped: ``detach_unused_buf`` gives every one back exactly
    once, the device writes nothing after the reset, the next probe (another
    page size) works and the ring code's memory is all returned."""
    await c.start(4096, features=INDIRECT | EVENT_IDX, style="blk")
    await c.traffic(0, [([[10]], [[10]]) for _ in range(3)])
    c.backend.hold = True
    for _ in range(5):
        c.request(0, [[32]], [[32, 8]])
    await c.kick(0)
    await c.until(lambda: len(c.backend.received) - c.received == 5, "5 chains reaching the backend")
    c.backend.close_gate()  # queue 1: nothing popped
    for _ in range(4):
        c.request(1, [[4]], [[4]])
    await c.kick(1)
    await c.idle()
    if len(c.backend.received) - c.received != 5:
        raise LinuxCheckError(f"{len(c.backend.received) - c.received} chains reached the backend, 5 expected")
    rings = [(vq.used_addr, c.mem.read(vq.used_addr, 4 + 8 * vq.size)) for vq in c.vqs]
    detached = await c.remove()
    if len(detached) != 9:
        raise LinuxCheckError(f"{len(detached)} requests detached, 9 were outstanding")
    c.backend.release()
    c.backend.open_gate()
    await c.idle()
    for addr, before in rings:  # freed by del_vqs, nothing allocated there since
        if c.mem.read(addr, len(before)) != before:
            raise LinuxCheckError(f"the used ring at {addr:#x} changed after the reset")
    await c.start(16384, features=INDIRECT | EVENT_IDX, style="blk")
    await c.traffic(0, [([[20]], [[30]]) for _ in range(6)])
    await c.traffic(1, [([[5]], [[5]]) for _ in range(6)])
    await c.remove()
    if c.ring.arena_blocks():
        raise LinuxCheckError(f"{c.ring.arena_blocks()} allocations of the ring code left after del_vqs")


async def index_wrap(c: LinuxCheck, past: int = 300) -> None:
    """avail.idx and used.idx past 65535: requests on queue 0 (EVENT_IDX,
    NAPI loop) until the indices are ``past`` beyond 65536, each a 1-byte
    readable and 1-byte writable buffer, a ringful per kick. From index 0 that
    is 65836 requests; with the device's index hook, from where it starts."""
    await c.start(4096, features=EVENT_IDX, style="napi")
    c.budget = 64
    size = c.vqs[0].size
    chains = 65536 + past - c.index_base
    done = 0
    while done < chains:
        n = min(size // 2, chains - done)  # two descriptors each, direct
        for _ in range(n):
            req = c.request(0, [[1]], [[1]])
            if req is None:
                raise LinuxCheckError(f"ring full after {done} requests")
        await c.kick(0)
        await c.drain(f"requests {done}..{done + n}")
        done += n
    used_idx = c.mem.read16(c.vqs[0].used_addr + 2)
    if used_idx != past:
        raise LinuxCheckError(f"used.idx {used_idx} after {chains} requests from {c.index_base}, {past} expected")
    await c.remove()


CASES: dict[str, Callable[[LinuxCheck], Awaitable[None]]] = {
    "out_in_mixed": out_in_mixed,
    "indirect_tables": indirect_tables,
    "event_idx_napi": event_idx_napi,
    "event_idx_blk": event_idx_blk,
    "reset_in_flight": reset_in_flight,
    "index_wrap": index_wrap,
}
