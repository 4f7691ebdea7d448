"""The device-side cases of docs/verification.md (1-24), and the driver-side
ones a corrupted used ring reaches (25-28, 31), as scenarios over any target.

``SCENARIOS`` maps a name (``c04_loop_pair``) to a :class:`Scenario`: its case
number, what it shows, and ``run(target)``, a coroutine that raises
``AssertionError`` on a wrong outcome and returns the observations (what the
device showed at each check) for the model-versus-RTL comparison.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .. import constants as C
from ..constants import Cause
from ..device.loopback import loopback_answer
from ..driver import VIO_IOV_FLAGS_WRITE, VioTransfer
from ..drivers.base import ClassDriver
from ..errors import VioDeviceBroken, VioQueueBroken, VioTimeout
from ..oracle import Region, ShadowMemory, used_ring_region
from ..ring import DESC_SIZE, pack_used_elem
from .session import (
    ERROR,
    EVENT_IDX,
    IND,
    INDIRECT,
    INT_CONFIG,
    INT_VRING,
    ISR,
    NEXT,
    STATUS,
    WAIT_NS,
    R,
    Session,
    W,
)
from .target import MEM_SIZE, Target


@dataclass(frozen=True)
class Scenario:
    name: str
    case: int
    what: str
    body: Callable[[Target], Awaitable[Session]]
    model_only: str | None = None  # why it cannot run on the RTL, if so

    async def run(self, target: Target) -> list[tuple]:
        s = await self.body(target)
        await target.settle()
        s.note("end", await s.device_state())
        return s.observations


SCENARIOS: dict[str, Scenario] = {}


def scenario(case: int, name: str, what: str, model_only: str | None = None):
    def register(body):
        full = f"c{case:02d}_{name}"
        assert full not in SCENARIOS, full
        SCENARIOS[full] = Scenario(full, case, what, body, model_only)
        return body

    return register


async def session(t: Target, features: int = 0, sizes=None) -> Session:
    return await Session(t, features, sizes).init()


# ------------------------------------------------------------------ case 1
for _name, _jump in (("num+1", 17), ("half", 0x8000), ("backwards", 0xFFFF)):

    @scenario(1, f"avail_idx_jump_{_name}", "avail.idx moved more than QueueNum: broken before any pop")
    async def _c01(t: Target, jump=_jump) -> Session:
        s = await session(t)
        ring = s.ring()
        data = s.buf(b"abcd")
        for i in range(ring.num):  # every slot and descriptor valid: only the jump is wrong
            ring.desc(i, data, 4)
            s.mem.write16(ring.layout.avail_ring(i), i)
        ring.set_avail_idx(ring.idx + jump)
        nothing = [(*ring.table, "the descriptor table"), (ring.layout.avail_ring(0), ring.layout.used_event, "the avail ring")]
        await s.notify_broken(ring, Cause.AVAIL_IDX_JUMP, ring.idx, unread=nothing)
        await s.recover()
        return s


@scenario(1, "avail_idx_exactly_queue_num_is_legal", "avail.idx exactly QueueNum ahead: all popped")
async def _c01_legal(t: Target) -> Session:
    s = await session(t)
    ring = s.ring()
    for i in range(ring.num):
        ring.desc(i, s.buf(bytes([i]) * 4), 4)
    ring.offer(*range(ring.num))
    await s.notify_ok(ring, *[(i, 0) for i in range(ring.num)])
    assert [rd for _, rd, _ in s.backend.received] == [bytes([i]) * 4 for i in range(ring.num)]
    return s


# ------------------------------------------------------------------ case 2
for _name, _size, _head in (("num", 16, 16), ("ffff", 16, 0xFFFF), ("q8_8", 8, 8), ("q8_15", 8, 15)):

    @scenario(2, f"head_out_of_range_{_name}", "head >= QueueNum (not QueueNumMax): broken, nothing fetched")
    async def _c02(t: Target, size=_size, head=_head) -> Session:
        s = await session(t, sizes=[size, 16])
        ring = s.ring()
        data = s.buf(b"data")
        for i in range(ring.num):
            ring.desc(i, data, 4)
        ring.offer(head)
        await s.notify_broken(ring, Cause.HEAD_RANGE, head, unread=[(*ring.table, "the descriptor table")])
        await s.recover()
        return s


@scenario(2, "last_head_is_legal", "head QueueNum-1 is legal")
async def _c02_legal(t: Target) -> Session:
    s = await session(t)
    ring = s.ring()
    wr = s.buf(8)
    ring.desc(ring.num - 1, wr, 8, W)
    ring.offer(ring.num - 1)
    await s.notify_ok(ring, (ring.num - 1, 8), allow=(Region.sized(wr, 8, "w"),))
    return s


# ------------------------------------------------------------------ case 3
for _name, _size, _next in (("num", 16, 16), ("ffff", 16, 0xFFFF), ("q8_8", 8, 8)):

    @scenario(3, f"next_out_of_range_{_name}", "next >= QueueNum: broken")
    async def _c03(t: Target, size=_size, bad=_next) -> Session:
        s = await session(t, sizes=[size, 16])
        ring = s.ring()
        rd = s.buf(b"read")
        ring.desc(0, rd, 4, NEXT, 1)
        ring.desc(1, rd, 4, NEXT, bad)
        ring.offer(0)
        await s.notify_broken(ring, Cause.NEXT_RANGE, bad, unread=[(rd, rd + 4, "the readable buffer")])
        await s.recover()
        return s


@scenario(3, "next_out_of_range_of_indirect_table", "next >= the indirect table's length: broken")
async def _c03_ind(t: Target) -> Session:
    s = await session(t, INDIRECT)
    ring = s.ring()
    rd = s.buf(b"read")
    table = s.buf(2 * DESC_SIZE)
    ring.desc(0, rd, 4, NEXT, 1, table=table)
    ring.desc(1, rd, 4, NEXT, 2, table=table)
    ring.desc(3, table, 2 * DESC_SIZE, IND)
    ring.offer(3)
    await s.notify_broken(ring, Cause.NEXT_RANGE, 2)
    await s.recover()
    return s


@scenario(3, "last_index_is_legal", "next = QueueNum-1, and the last index of an indirect table, are legal")
async def _c03_legal(t: Target) -> Session:
    s = await session(t, INDIRECT)
    ring = s.ring()
    rd = s.buf(b"xy")
    table = s.buf(2 * DESC_SIZE)
    ring.desc(0, rd, 2, NEXT, ring.num - 1)
    ring.desc(ring.num - 1, rd, 2)
    ring.desc(0, rd, 2, NEXT, 1, table=table)
    ring.desc(1, rd, 2, 0, 0, table=table)
    ring.desc(2, table, 2 * DESC_SIZE, IND)
    ring.offer(0, 2)
    await s.notify_ok(ring, (0, 0), (2, 0))
    assert [r for _, r, _ in s.backend.received] == [b"xyxy", b"xyxy"]
    return s


# ------------------------------------------------------------------ case 4
@scenario(4, "chain_of_queue_num_is_legal", "a chain of exactly QueueNum descriptors is legal")
async def _c04_legal(t: Target) -> Session:
    s = await session(t)
    ring = s.ring()
    for i in range(ring.num):
        last = i == ring.num - 1
        ring.desc(i, s.buf(bytes([0x40 + i])), 1, 0 if last else NEXT, 0 if last else i + 1)
    ring.offer(0)
    await s.notify_ok(ring, (0, 0))
    assert s.backend.received == [(0, bytes(range(0x40, 0x40 + ring.num)), 0)]
    return s


for _name, _head, _links in (
    ("whole_table", 0, {i: (i + 1) % 16 for i in range(16)}),  # QueueNum + 1 descriptors
    ("self", 5, {5: 5}),
    ("pair", 3, {3: 4, 4: 3}),
):

    @scenario(4, f"loop_{_name}", "a looping chain: stopped after QueueNum descriptors, broken")
    async def _c04(t: Target, head=_head, links=_links) -> Session:
        s = await session(t)
        ring = s.ring()
        rd = s.buf(b"L")
        for index, nxt in links.items():
            ring.desc(index, rd, 1, NEXT, nxt)
        ring.offer(head)
        await s.notify_broken(ring, Cause.CHAIN_LOOP, head)
        await s.recover()
        return s


# ------------------------------------------------------------------ case 5
for _where in ("head", "middle_writable", "indirect"):

    @scenario(5, f"zero_length_{_where}", "a zero-length descriptor: broken")
    async def _c05(t: Target, where=_where) -> Session:
        s = await session(t, INDIRECT)
        ring = s.ring()
        rd = s.buf(b"data")
        wr = s.buf(8)
        if where == "head":
            ring.desc(0, rd, 0)
            ring.offer(0)
            info = 0
        elif where == "middle_writable":
            ring.desc(0, rd, 4, NEXT, 7)
            ring.desc(7, wr, 0, W | NEXT, 8)
            ring.desc(8, wr, 8, W)
            ring.offer(0)
            info = 7
        else:
            table = s.buf(3 * DESC_SIZE)
            ring.desc(0, rd, 4, NEXT, 1, table=table)
            ring.desc(1, wr, 0, W | NEXT, 2, table=table)
            ring.desc(2, wr, 8, W, table=table)
            ring.desc(4, table, 3 * DESC_SIZE, IND)
            ring.offer(4)
            info = 1
        await s.notify_broken(ring, Cause.ZERO_LENGTH, info)
        await s.recover()
        return s


# ------------------------------------------------------------------ case 6
for _indirect in (False, True):

    @scenario(6, "read_after_write_" + ("indirect" if _indirect else "direct"), "a readable descriptor after a writable one: broken")
    async def _c06(t: Target, indirect=_indirect) -> Session:
        s = await session(t, INDIRECT)
        ring = s.ring()
        rd = s.buf(b"data")
        wr = s.buf(8)
        table = s.buf(3 * DESC_SIZE) if indirect else None
        ring.desc(0, rd, 4, NEXT, 1, table=table)
        ring.desc(1, wr, 8, W | NEXT, 2, table=table)
        ring.desc(2, rd, 4, R, table=table)
        if indirect:
            ring.desc(9, table, 3 * DESC_SIZE, IND)
            ring.offer(9)
        else:
            ring.offer(0)
        await s.notify_broken(ring, Cause.READ_AFTER_WRITE, 2)
        assert s.mem.read(wr, 8) == bytes(8)
        await s.recover()
        return s


@scenario(6, "readables_then_writables_is_legal", "readables then writables: legal, answer spread over the writables")
async def _c06_legal(t: Target) -> Session:
    s = await session(t)
    ring = s.ring()
    rd1, rd2, w1, w2 = s.buf(b"ab"), s.buf(b"cd"), s.buf(3), s.buf(5)
    ring.desc(0, rd1, 2, NEXT, 1)
    ring.desc(1, rd2, 2, NEXT, 2)
    ring.desc(2, w1, 3, W | NEXT, 3)
    ring.desc(3, w2, 5, W)
    ring.offer(0)
    await s.notify_ok(ring, (0, 8), allow=(Region.sized(w1, 3, "w1"), Region.sized(w2, 5, "w2")))
    assert s.mem.read(w1, 3) + s.mem.read(w2, 5) == loopback_answer(0, b"abcd", 8)
    return s


# ------------------------------------------------------------------ case 7
@scenario(7, "indirect_not_negotiated", "INDIRECT offered but not accepted: broken, the table not read")
async def _c07(t: Target) -> Session:
    s = await session(t, 0)
    ring = s.ring()
    rd = s.buf(b"data")
    table = s.buf(DESC_SIZE)
    ring.desc(0, rd, 4, table=table)
    ring.desc(0, rd, 4, NEXT, 1)
    ring.desc(1, table, DESC_SIZE, IND)
    ring.offer(0)
    await s.notify_broken(ring, Cause.INDIRECT_NOT_NEGOTIATED, 1, unread=[(table, table + DESC_SIZE, "the refused table")])
    await s.recover()
    return s


@scenario(7, "indirect_when_negotiated_is_legal", "INDIRECT when negotiated: legal")
async def _c07_legal(t: Target) -> Session:
    s = await session(t, INDIRECT)
    ring = s.ring()
    rd = s.buf(b"data")
    table = s.buf(DESC_SIZE)
    ring.desc(0, rd, 4, table=table)
    ring.desc(0, table, DESC_SIZE, IND)
    ring.offer(0)
    await s.notify_ok(ring, (0, 0))
    assert s.backend.received == [(0, b"data", 0)]
    return s


# ------------------------------------------------------------------ case 8
# table lengths in bytes, of the target's INDIRECT_MAX
for _name, _len in (("0", lambda m: 0), ("8", lambda m: 8), ("24", lambda m: 24),
                    ("max+8", lambda m: DESC_SIZE * m + 8), ("max+16", lambda m: DESC_SIZE * (m + 1))):  # fmt: skip

    @scenario(8, f"indirect_size_{_name}", "indirect table length 0, not x16 or over INDIRECT_MAX: broken")
    async def _c08(t: Target, table_len=_len) -> Session:
        s = await session(t, INDIRECT)
        ring = s.ring()
        rd = s.buf(b"x")
        length = table_len(t.indirect_max)
        entries = t.indirect_max + 1
        table = s.buf(DESC_SIZE * entries)
        for i in range(entries):  # valid entries: only the length is wrong
            ring.desc(i, rd, 1, NEXT if i + 1 < entries else 0, i + 1, table=table)
        ring.desc(2, table, length, IND)
        ring.offer(2)
        await s.notify_broken(ring, Cause.INDIRECT_SIZE, 2, unread=[(table, table + DESC_SIZE * entries, "the table")])
        await s.recover()
        return s


@scenario(8, "indirect_table_at_the_limit_is_legal", "an indirect table of INDIRECT_MAX entries is legal")
async def _c08_legal(t: Target) -> Session:
    s = await session(t, INDIRECT)
    ring = s.ring()
    n = t.indirect_max
    table = s.buf(DESC_SIZE * n)
    for i in range(n):
        last = i + 1 == n
        ring.desc(i, s.buf(bytes([0x30 + i])), 1, 0 if last else NEXT, 0 if last else i + 1, table=table)
    ring.desc(0, table, DESC_SIZE * n, IND)
    ring.offer(0)
    await s.notify_ok(ring, (0, 0))
    assert s.backend.received == [(0, bytes(range(0x30, 0x30 + n)), 0)]
    return s


# ------------------------------------------------------------------ case 9
@scenario(9, "nested_indirect", "INDIRECT inside an indirect table: broken")
async def _c09_nested(t: Target) -> Session:
    s = await session(t, INDIRECT)
    ring = s.ring()
    rd = s.buf(b"data")
    inner = s.buf(DESC_SIZE)
    outer = s.buf(2 * DESC_SIZE)
    ring.desc(0, rd, 4, table=inner)
    ring.desc(0, rd, 4, NEXT, 1, table=outer)
    ring.desc(1, inner, DESC_SIZE, IND, table=outer)
    ring.desc(6, outer, 2 * DESC_SIZE, IND)
    ring.offer(6)
    await s.notify_broken(ring, Cause.INDIRECT_NESTED, 1, unread=[(inner, inner + DESC_SIZE, "the nested table")])
    await s.recover()
    return s


for _name, _entries, _links in (("self", 1, {0: 0}), ("cycle3", 3, {0: 1, 1: 2, 2: 0}), ("tail", 3, {0: 1, 1: 2, 2: 1})):

    @scenario(9, f"loop_in_indirect_table_{_name}", "a loop inside an indirect table: bounded by the table's length")
    async def _c09_loop(t: Target, entries=_entries, links=_links) -> Session:
        s = await session(t, INDIRECT)
        ring = s.ring()
        rd = s.buf(b"L")
        table = s.buf(DESC_SIZE * entries)
        for index, nxt in links.items():
            ring.desc(index, rd, 1, NEXT, nxt, table=table)
        ring.desc(7, table, DESC_SIZE * entries, IND)
        ring.offer(7)
        await s.notify_broken(ring, Cause.CHAIN_LOOP, 7)
        await s.recover()
        return s


for _name, _qsize, _entries in (("table_longer_than_queue", 4, 8), ("full_table", 16, 16)):

    @scenario(9, f"indirect_chain_{_name}_is_legal", "the indirect counter is its own, bounded by the table's length")
    async def _c09_legal(t: Target, queue_size=_qsize, entries=_entries) -> Session:
        s = await session(t, INDIRECT, sizes=[queue_size, 16])
        ring = s.ring()
        table = s.buf(DESC_SIZE * entries)
        for i in range(entries):
            last = i + 1 == entries
            ring.desc(i, s.buf(bytes([0x41 + i])), 1, 0 if last else NEXT, 0 if last else i + 1, table=table)
        ring.desc(queue_size - 1, table, DESC_SIZE * entries, IND)
        ring.offer(queue_size - 1)
        await s.notify_ok(ring, (queue_size - 1, 0))
        assert s.backend.received == [(0, bytes(range(0x41, 0x41 + entries)), 0)]
        return s


# ------------------------------------------------------------------ case 10
@scenario(10, "indirect_with_next", "INDIRECT with NEXT: broken (our documented choice)")
async def _c10(t: Target) -> Session:
    s = await session(t, INDIRECT)
    ring = s.ring()
    rd = s.buf(b"data")
    table = s.buf(DESC_SIZE)
    ring.desc(0, rd, 4, table=table)
    ring.desc(0, table, DESC_SIZE, IND | NEXT, 1)
    ring.desc(1, rd, 4)
    ring.offer(0)
    await s.notify_broken(ring, Cause.INDIRECT_WITH_NEXT, 0, unread=[(table, table + DESC_SIZE, "the table")])
    await s.recover()
    return s


@scenario(10, "write_flag_on_indirect_pointer_ignored", "WRITE on an indirect pointer is ignored: the table is not written")
async def _c10_write(t: Target) -> Session:
    s = await session(t, INDIRECT)
    ring = s.ring()
    rd = s.buf(b"readable")
    wr = s.buf(12, fill=0x55)
    table = s.buf(2 * DESC_SIZE)
    ring.desc(0, rd, 8, NEXT, 1, table=table)
    ring.desc(1, wr, 12, W, table=table)
    ring.desc(0, table, 2 * DESC_SIZE, IND | W)
    ring.offer(0)
    await s.notify_ok(ring, (0, 12), allow=(Region.sized(wr, 12, "wr"),))
    assert s.backend.received == [(0, b"readable", 12)]
    assert s.mem.read(wr, 12) == loopback_answer(0, b"readable", 12)
    return s


# ------------------------------------------------------------------ case 11
for _name, _addr, _len, _writable in (
    ("wraps_2^64", (1 << 64) - 8, 16, True),
    ("ends_at_2^64", (1 << 64) - 16, 16, True),
    ("straddles_window_end", (1 << 32) - 8, 16, True),
    ("above_window", 1 << 40, 4, False),
):

    @scenario(11, f"buffer_outside_window_{_name}", "a buffer that wraps or leaves the DMA window: broken before any access")
    async def _c11(t: Target, addr=_addr, length=_len, writable=_writable) -> Session:
        s = await session(t)
        ring = s.ring()
        rd = s.buf(b"first")
        ring.desc(0, rd, 5, NEXT, 1)
        ring.desc(1, addr, length, W if writable else R)
        ring.offer(0)
        await s.notify_broken(ring, Cause.DMA_WINDOW, 1, unread=[(rd, rd + 5, "the readable buffer of the refused chain")])
        await s.recover()
        return s


@scenario(11, "indirect_table_outside_window", "an indirect table outside the DMA window: broken, not read")
async def _c11_ind(t: Target) -> Session:
    s = await session(t, INDIRECT)
    ring = s.ring()
    ring.desc(3, (1 << 32) - DESC_SIZE, 2 * DESC_SIZE, IND)
    ring.offer(3)
    await s.notify_broken(ring, Cause.DMA_WINDOW, 3)
    await s.recover()
    return s


@scenario(11, "ring_outside_window_at_queue_pfn", "a ring leaving the DMA window: broken at the QueuePFN write, queue not live")
async def _c11_ring(t: Target) -> Session:
    s = await session(t)
    await s.wreg(STATUS, 0)
    await s.t.settle()
    await s.wreg(STATUS, C.VIRTIO_CONFIG_S_ACKNOWLEDGE | C.VIRTIO_CONFIG_S_DRIVER)
    await s.wreg(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096)
    await s.select(1)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_NUM, 16)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_ALIGN, 4096)
    shadow = ShadowMemory(s.mem)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, ((1 << 32) - 0x1000) // 4096)  # vring_size(16) > one page
    await s.t.settle()
    shadow.check(f"{t.name}: QueuePFN of a ring outside the window")
    await s.expect_broken(Cause.DMA_WINDOW, 1, 0)
    assert await s.pfn_of(1) == 0, "the queue must not be activated"
    await s.recover()
    return s


# ------------------------------------------------------------------ case 12
for _name, _lengths, _bad in (
    ("2^32-1_is_legal", (4, 0x7FFFFFFF, 0x7FFFFFFC), None),
    ("2^32", (4, 0x7FFFFFFF, 0x7FFFFFFD), 2),
    ("2x4G", (4, 0xFFFFFFFF, 0xFFFFFFFF), 1),
):

    @scenario(12, f"length_sum_{_name}", "a chain whose lengths add up past 2^32-1: broken")
    async def _c12(t: Target, lengths=_lengths, bad=_bad) -> Session:
        s = await session(t)
        s.backend.limit = 0  # answers empty: the gigabyte buffers (past memory) are never touched
        ring = s.ring()
        rd = s.buf(b"head")
        ring.desc(0, rd, lengths[0], NEXT, 1)
        # inside the 32-bit window, past guest memory (never touched: empty answers)
        big = lengths[1] > 0x7FFFFFFF
        ring.desc(1, 0 if big else 0x10000000, lengths[1], W | NEXT, 2)
        ring.desc(2, 0 if big else 0x80000000, lengths[2], W)
        ring.offer(0)
        if bad is None:
            await s.notify_ok(ring, (0, 0))
            assert s.backend.received == [(0, b"head", lengths[1] + lengths[2])]
            s.backend.limit = None
        else:
            await s.notify_broken(ring, Cause.LENGTH_OVERFLOW, bad)
            await s.recover()
        return s


@scenario(12, "gigabyte_writable_answered_with_a_page", "a writable buffer of 2 GiB from inside guest memory: legal; the answer (a page) is written there")
async def _c12_big_writable(t: Target) -> Session:
    # the answer's length is the backend's, not the descriptor's: a backend
    # that filled 2 GiB (the fuzz once did) ran the simulator out of memory
    s = await session(t)
    page = s.backend.answer_max
    ring = s.ring()
    rd = s.buf(b"page")
    wr = s.buf(2 * page, fill=0xEE)
    ring.desc(0, rd, 4, NEXT, 1)
    ring.desc(1, wr, 0x80000000, W)
    ring.offer(0)
    await s.notify_ok(ring, (0, page), allow=[Region.sized(wr, page, "the page answered")])
    assert s.backend.received == [(0, b"page", 0x80000000)]
    assert s.mem.read(wr, page) == loopback_answer(0, b"page", page)
    assert s.mem.read(wr + page, page) == bytes([0xEE]) * page, "written past the answer"
    return s


# ------------------------------------------------------------------ case 13
@scenario(13, "head_offered_again_in_flight", "a head offered again while in flight: broken; its answer posts nothing")
async def _c13(t: Target) -> Session:
    s = await session(t)
    (tfr,) = await s.held(1)
    ring = s.ring()
    ring.offer(tfr.head)
    await s.notify_broken(ring, Cause.HEAD_IN_FLIGHT, tfr.head, unread=[(*ring.table, "the duplicate's descriptors")])
    s.backend.release()  # the held answer must not produce a used entry now
    await t.settle()
    assert ring.used_idx == 0
    await s.recover()
    return s


@scenario(13, "more_than_queue_num_outstanding", "a 17th chain while 16 are outstanding: broken")
async def _c13_many(t: Target) -> Session:
    s = await session(t)
    tfrs = await s.held(16)
    ring = s.ring()
    ring.offer(7)
    await s.notify_broken(ring, Cause.HEAD_IN_FLIGHT, 7)
    s.backend.release()
    await t.settle()
    assert ring.used_idx == 0 and all(not x.done for x in tfrs)
    await s.recover()
    return s


# ------------------------------------------------------------------ case 14
GUARD = 16

for _limit in (None, 9, 0):
    for _indirect in (False, True):

        @scenario(
            14,
            f"writes_only_writable_{'indirect' if _indirect else 'direct'}_{'full' if _limit is None else _limit}",
            "only writable bytes written, at most the writable length, used.len = bytes written",
        )
        async def _c14(t: Target, limit=_limit, indirect=_indirect) -> Session:
            s = await session(t, INDIRECT)
            s.backend.limit = limit
            s.drv.queue[0].indirect = indirect
            blocks = []

            def guarded(data: bytes) -> int:
                addr = s.buf(b"\xaa" * GUARD + data + b"\xaa" * GUARD) + GUARD
                blocks.append((addr, len(data)))
                return addr

            rd = guarded(b"READ-ME!")
            w1 = guarded(b"\x11" * 5)
            w2 = guarded(b"\x22" * 7)
            tfr = VioTransfer(0, [(rd, 8), (w1, 5, VIO_IOV_FLAGS_WRITE), (w2, 7, VIO_IOV_FLAGS_WRITE)])
            s.backend.hold = True
            await s.drv.submit(tfr)
            await t.settle()
            table = s.drv.queue[0].posted[tfr.head].indirect_table
            assert (table is not None) == indirect
            shadow = ShadowMemory.around(s.drv)  # used rings, w1 and w2 only
            s.backend.release()
            await t.settle()
            shadow.check(f"{t.name}: completion")
            g = GUARD
            assert all(s.mem.read(a - g, g) == b"\xaa" * g and s.mem.read(a + n, g) == b"\xaa" * g for a, n in blocks)
            expected = loopback_answer(0, b"READ-ME!", 12 if limit is None else min(limit, 12))
            used = s.ring().used(0)
            s.note("used", used)
            assert used == (tfr.head, len(expected)), "used.len = bytes written"
            data = s.mem.read(w1, 5) + s.mem.read(w2, 7)
            assert data[: len(expected)] == expected
            assert data[len(expected) :] == (b"\x11" * 5 + b"\x22" * 7)[len(expected) :], "bytes past used.len untouched"
            assert await s.drv.poll() == 1 and tfr.actual == len(expected)
            s.backend.limit = None
            return s


@scenario(14, "device_keeps_its_own_used_idx", "the device publishes used.idx from its own copy, not from memory")
async def _c14_used_idx(t: Target) -> Session:
    s = await session(t)
    lay = s.drv.queue[0].layout
    wr = s.buf(4)
    first = VioTransfer(0, [(wr, 4, VIO_IOV_FLAGS_WRITE)])
    await s.drv.submit(first)
    await t.settle()
    await s.drv.poll()
    assert first.done and first.actual == 4
    s.mem.write16(lay.used_idx, 0x1234)  # the guest scribbles on used.idx
    second = VioTransfer(0, [(wr, 4, VIO_IOV_FLAGS_WRITE)])
    await s.drv.submit(second)
    await t.settle()
    s.note("used.idx", s.mem.read16(lay.used_idx), s.ring().used(1))
    assert s.mem.read16(lay.used_idx) == 2
    assert s.ring().used(1) == (second.head, 4)
    return s


# ------------------------------------------------------------------ cases 15-18
async def _queue_regs(s: Session) -> list[tuple[int, int]]:
    out = []
    for q in range(s.t.num_queues + 1):
        await s.select(q)
        out.append((await s.reg(C.VIRTIO_MMIO_QUEUE_NUM_MAX), await s.reg(C.VIRTIO_MMIO_QUEUE_PFN)))
    return out


for _bad in (0, 12, 32, 0xFFFFFFFF, 3):

    @scenario(15, f"bad_queue_num_{_bad:x}_ignored", "QueueNum 0, > max or not 2^n: the write is ignored")
    async def _c15(t: Target, bad=_bad) -> Session:
        s = await session(t, sizes=[8, 16])
        pfn = await s.pfn_of(0)
        await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, 0)  # stop q0 so that QueueNum is writable again
        await t.settle()
        await s.wreg(C.VIRTIO_MMIO_QUEUE_NUM, bad)
        await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, pfn)  # the ring of 8 becomes live again
        await t.settle()
        await s.expect_healthy()
        for _ in range(9):  # past the end of the ring: a wrong QueueNum would pick the wrong slot
            await s.transfer_works(0)
        return s


@scenario(16, "queue_sel_out_of_range", "QueueSel out of range: reads 0, writes ignored")
async def _c16_sel(t: Target) -> Session:
    s = await session(t)
    before = await _queue_regs(s)
    for sel in (t.num_queues, 0xFF, 0xFFFFFFFF):
        await s.select(sel)
        assert await s.reg(C.VIRTIO_MMIO_QUEUE_NUM_MAX) == 0
        assert await s.reg(C.VIRTIO_MMIO_QUEUE_PFN) == 0
        shadow = ShadowMemory(s.mem)
        for off, value in ((C.VIRTIO_MMIO_QUEUE_NUM, 4), (C.VIRTIO_MMIO_QUEUE_ALIGN, 16), (C.VIRTIO_MMIO_QUEUE_PFN, 0x20), (C.VIRTIO_MMIO_QUEUE_PFN, 0)):
            await s.wreg(off, value)
        await t.settle()
        shadow.check(f"{t.name}: queue registers with QueueSel {sel:#x}")
        assert await _queue_regs(s) == before
        await s.expect_healthy()
    s.note("queue regs", before)
    await s.transfer_works(0)
    await s.transfer_works(1)
    return s


@scenario(16, "notify_of_missing_or_inactive_queue", "notify of a missing or stopped queue: ignored, no DMA")
async def _c16_notify(t: Target) -> Session:
    s = await session(t)
    ring = s.ring(1)
    await s.select(1)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, 0)
    await t.settle()
    ring.desc(0, s.buf(8), 8, W)
    ring.offer(0)
    shadow = ShadowMemory(s.mem)
    for value in (1, 2, 0xFFFF, 0xFFFFFFFF):
        await s.notify(value)
    shadow.check(f"{t.name}: notify of an inactive queue")
    assert s.backend.received == [] and await s.reg(ISR) == 0
    await s.expect_healthy()
    await s.transfer_works(0)
    return s


@scenario(16, "answer_pops_nothing_without_a_kick", "an answer arriving completes its chain but pops nothing offered without a notify")
async def _c16_no_kick(t: Target) -> Session:
    s = await session(t)
    (held,) = await s.held(1)
    ring = s.ring()
    ring.desc(5, s.buf(b"later"), 5)
    ring.offer(5)  # offered, not notified
    s.backend.release()
    await t.settle()
    assert held.head != 0xFFFF and ring.used_idx == 1 and ring.used(0) == (held.head, 4)
    assert len(s.backend.received) == 1, "the chain offered without a notify must stay in the avail ring"
    await s.notify_ok(ring, (5, 0))
    return s


@scenario(17, "queue_registers_ignored_while_live", "QueueNum/QueueAlign/QueuePFN/GuestPageSize while live: ignored")
async def _c17(t: Target) -> Session:
    s = await session(t)
    pfn0 = await s.pfn_of(0)
    await s.select(0)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_NUM, 4)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_ALIGN, 16)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, pfn0 + 1)
    await s.wreg(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 8192)
    await t.settle()
    assert await s.pfn_of(0) == pfn0
    for _ in range(17):  # wraps the ring of 16: a changed QueueNum or alignment would show
        await s.transfer_works(0)
    await s.expect_healthy()
    return s


@scenario(18, "queue_pfn_zero_stops_the_queue", "QueuePFN=0 on a live queue: it stops, chains in flight dropped")
async def _c18(t: Target) -> Session:
    s = await session(t)
    a = VioTransfer(0, [(s.buf(b"AAAA"), 4), (s.buf(8), 8, VIO_IOV_FLAGS_WRITE)])
    b = VioTransfer(1, [(s.buf(b"BBBB"), 4), (s.buf(8), 8, VIO_IOV_FLAGS_WRITE)])
    s.backend.hold = True
    await s.drv.submit(a)
    await s.drv.submit(b)
    await t.settle()
    lay0 = s.drv.queue[0].layout
    pfn0 = await s.pfn_of(0)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, 0)
    await t.settle()
    assert await s.reg(C.VIRTIO_MMIO_QUEUE_PFN) == 0 and await s.pfn_of(1) != 0
    shadow = ShadowMemory(s.mem, [used_ring_region(s.drv.queue[1].layout, 1), Region.sized(b.iov[1].buffer, 8, "b")])
    raised = t.interrupts()
    s.backend.release()
    await t.settle()
    shadow.check(f"{t.name}: release after QueuePFN=0")
    s.note("used", s.mem.read16(lay0.used_idx), s.mem.read16(s.drv.queue[1].layout.used_idx))
    assert s.mem.read16(lay0.used_idx) == 0
    assert s.mem.read16(s.drv.queue[1].layout.used_idx) == 1
    assert t.interrupts() == raised + 1
    assert await s.drv.poll() == 1 and b.done and not a.done
    shadow = ShadowMemory(s.mem)
    await s.notify(0)
    shadow.check(f"{t.name}: notify of a stopped queue")
    s.mem.fill(lay0.base, lay0.size)
    await s.select(0)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, pfn0)
    ring = s.ring(0, idx=0)
    wr = s.buf(8)
    ring.desc(0, s.buf(b"CCCC"), 4, NEXT, 1)
    ring.desc(1, wr, 8, W)
    ring.offer(0)
    s.backend.hold = True
    await s.notify(0)
    s.backend.release()
    await t.settle()
    await s.expect_healthy()
    assert ring.used_idx == 1 and ring.used(0) == (0, 8)
    assert s.mem.read(wr, 8) == loopback_answer(0, b"CCCC", 8), "the dropped chain's answer must not reach the new one"
    return s


# ------------------------------------------------------------------ case 19
@scenario(19, "status_zero_with_chains_in_flight", "Status=0 with chains in flight: all cleared, no write, no interrupt after")
async def _c19(t: Target) -> Session:
    s = await session(t)
    done = VioTransfer(0, [(s.buf(4), 4, VIO_IOV_FLAGS_WRITE)])
    await s.drv.submit(done)
    await t.settle()
    assert await s.reg(ISR) == INT_VRING and s.hal.irq(0)
    s.backend.hold = True
    for q in (0, 0, 1):
        await s.drv.submit(VioTransfer(q, [(s.buf(b"old!"), 4), (s.buf(8), 8, VIO_IOV_FLAGS_WRITE)]))
    await t.settle()
    used = [s.mem.read16(s.drv.queue[i].layout.used_idx) for i in (0, 1)]
    assert used == [1, 0]
    await s.wreg(STATUS, 0)
    await t.settle()
    assert await s.device_state() == (0, 0, 0, False)
    assert await s.pfn_of(0) == 0 and await s.pfn_of(1) == 0
    shadow = ShadowMemory(s.mem)
    raised = t.interrupts()
    s.backend.release()
    await s.notify(0)
    await s.notify(1)
    shadow.check(f"{t.name}: after Status=0")
    assert t.interrupts() == raised and await s.reg(ISR) == 0
    s.note("after reset", used)
    await s.recover()
    return s


# ------------------------------------------------------------------ case 20
@scenario(20, "notify_while_broken_ignored", "notify (and QueuePFN=0) while broken: ignored, the first cause kept")
async def _c20(t: Target) -> Session:
    s = await session(t)
    ring = s.ring()
    ring.desc(0, s.buf(b"data"), 4)
    ring.offer(ring.num)
    await s.notify_broken(ring, Cause.HEAD_RANGE, ring.num)
    error = await s.reg(ERROR)
    raised = t.interrupts()
    received = list(s.backend.received)
    wr = s.buf(8)
    ring.desc(1, wr, 8, W)
    s.mem.write16(ring.layout.avail_ring(0), 1)
    ring1 = s.ring(1)
    ring1.desc(0, s.buf(b"q1"), 2)
    ring1.offer(0xFFFF)
    shadow = ShadowMemory(s.mem)
    reads = len(t.dma_reads)
    for q in (0, 1, 0):
        await s.notify(q)
    await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, 0)
    await t.settle()
    shadow.check(f"{t.name}: notify while broken")
    assert t.dma_reads[reads:] == [], f"{t.name}: DMA reads while broken: {t.dma_reads[reads:]}"
    assert s.backend.received == received
    assert await s.reg(ERROR) == error, "the first cause is kept"
    assert await s.reg(ISR) == INT_CONFIG and t.interrupts() == raised
    assert ring.used_idx == 0 and ring1.used_idx == 0
    await s.recover()
    return s


@scenario(20, "pending_kick_not_served_while_broken", "a queue kicked before the break is not served after it, even when its backend becomes ready")
async def _c20_pending(t: Target) -> Session:
    s = await session(t)
    s.backend.close(1)
    await t.settle()
    ring1 = s.ring(1)
    ring1.desc(0, s.buf(8), 8, W)
    ring1.offer(0)
    await s.notify(1)  # kicked, but the backend is not ready for q1: nothing popped yet
    assert s.backend.received == []
    ring = s.ring()
    ring.offer(ring.num)
    await s.notify_broken(ring, Cause.HEAD_RANGE, ring.num)
    reads = len(t.dma_reads)
    shadow = ShadowMemory(s.mem)
    s.backend.open(1)
    await t.settle()
    shadow.check(f"{t.name}: backend ready while broken")
    assert t.dma_reads[reads:] == [], f"{t.name}: DMA reads while broken: {t.dma_reads[reads:]}"
    assert s.backend.received == [] and ring1.used_idx == 0
    await s.expect_broken(Cause.HEAD_RANGE, 0, ring.num)
    await s.recover()
    return s


# ------------------------------------------------------------------ case 21
@scenario(21, "bus_error_on_read", "SLVERR on a read (past guest memory, inside the window): broken, BUS_ERROR info 0")
async def _c21_read(t: Target) -> Session:
    s = await session(t)
    ring = s.ring()
    ring.desc(0, MEM_SIZE + 0x1000, 64, R)
    ring.offer(0)
    await s.notify_broken(ring, Cause.BUS_ERROR, 0)
    await s.recover()
    return s


@scenario(21, "bus_error_on_write", "SLVERR on the answer's write: broken, BUS_ERROR info 1, no used entry")
async def _c21_write(t: Target) -> Session:
    s = await session(t)
    ring = s.ring()
    rd = s.buf(b"to write")
    ring.desc(0, rd, 8, NEXT, 1)
    ring.desc(1, MEM_SIZE + 0x1000, 64, W)
    ring.offer(0)
    # the chain is accepted: its writable buffer may be written (the memory refuses it)
    past = Region.sized(MEM_SIZE + 0x1000, 64, "the writable buffer past guest memory")
    await s.step(lambda: s.notify(0), allow=[past], name="notify of a chain whose write fails")
    await s.expect_broken(Cause.BUS_ERROR, 0, 1)
    assert ring.used_idx == 0, "no used entry for the chain concerned"
    assert s.backend.received == [(0, b"to write", 64)]
    await s.recover()
    return s


# ------------------------------------------------------------------ case 22
for _name, _off, _len, _kind in (
    ("write_registers", 0, 16, W),
    ("read_notify_register", C.VIRTIO_MMIO_QUEUE_NOTIFY, 4, R),
    ("indirect_table_in_registers", 0, 2 * DESC_SIZE, IND),
):

    @scenario(22, f"descriptor_at_register_window_{_name}", "a descriptor at the register window: no deadlock, registers untouched")
    async def _c22(t: Target, off=_off, length=_len, kind=_kind) -> Session:
        s = await session(t, INDIRECT)
        ring = s.ring()
        ring.desc(2, t.base + off, length, kind)
        ring.offer(2)
        regs_before = (await s.reg(C.VIRTIO_MMIO_MAGIC_VALUE), await s.pfn_of(0), await s.pfn_of(1))
        # the register window is not guest memory: the bus answers SLVERR (a
        # writable buffer: the chain is accepted, its answer's write fails)
        regs = Region.sized(t.base + off, length, "the writable buffer at the register window")  # accepted, refused by the bus
        await s.step(lambda: s.notify(0), allow=[regs] if kind == W else [], name="notify of a descriptor at the register window")
        await s.expect_broken(Cause.BUS_ERROR, 0, 1 if kind == W else 0)
        assert ring.used_idx == 0
        assert s.backend.received == ([(0, b"", length)] if kind == W else [])
        assert (await s.reg(C.VIRTIO_MMIO_MAGIC_VALUE), await s.pfn_of(0), await s.pfn_of(1)) == regs_before
        await s.recover()
        return s


# ------------------------------------------------------------------ case 23
READ_ONLY = [
    C.VIRTIO_MMIO_MAGIC_VALUE,
    C.VIRTIO_MMIO_VERSION,
    C.VIRTIO_MMIO_DEVICE_ID,
    C.VIRTIO_MMIO_VENDOR_ID,
    C.VIRTIO_MMIO_DEVICE_FEATURES,
    C.VIRTIO_MMIO_QUEUE_NUM_MAX,
    C.VIRTIO_MMIO_INTERRUPT_STATUS,
    C.VIO_MMIO_DEVICE_ERROR,
]
WRITE_ONLY = [
    C.VIRTIO_MMIO_DEVICE_FEATURES_SEL,
    C.VIRTIO_MMIO_DRIVER_FEATURES,
    C.VIRTIO_MMIO_DRIVER_FEATURES_SEL,
    C.VIRTIO_MMIO_GUEST_PAGE_SIZE,
    C.VIRTIO_MMIO_QUEUE_SEL,
    C.VIRTIO_MMIO_QUEUE_NUM,
    C.VIRTIO_MMIO_QUEUE_ALIGN,
    C.VIRTIO_MMIO_QUEUE_NOTIFY,
    C.VIRTIO_MMIO_INTERRUPT_ACK,
]
UNMAPPED = [0x018, 0x02C, 0x044, 0x048, 0x054, 0x068, 0x074, 0x080, 0x090, 0x094, 0x0A0, 0x0A4, 0x0AC, 0x0C0, 0x0F4, 0x0FC]
VISIBLE = READ_ONLY + [C.VIRTIO_MMIO_QUEUE_PFN, C.VIRTIO_MMIO_STATUS]


async def _visible(s: Session) -> tuple:
    """Everything a driver can read back, queue 0 and 1 selected in turn."""
    out = []
    for q in (0, 1):
        await s.select(q)
        out.append(tuple([await s.reg(off) for off in VISIBLE]))
    await s.select(1)
    return tuple(out) + (s.hal.irq(0),)


async def _pending(t: Target) -> tuple[Session, object]:
    """InterruptStatus bit 0 set, a chain waiting in q1's avail ring (offered,
    not notified), every write-only register holding something non-zero."""
    s = await session(t)
    await s.drv.submit(VioTransfer(0, [(s.buf(4), 4, VIO_IOV_FLAGS_WRITE)]))
    await t.settle()
    ring = s.ring(1)
    ring.desc(0, s.buf(8), 8, W)
    ring.offer(0)
    await s.wreg(C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0)
    await s.wreg(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)
    assert await s.reg(ISR) == INT_VRING
    return s, ring


@scenario(23, "read_only_writes_ignored", "writes to read-only registers ignored; DEVICE_ERROR not clearable by a write")
async def _c23_ro(t: Target) -> Session:
    s, _ = await _pending(t)
    before = await _visible(s)
    shadow = ShadowMemory(s.mem)
    for off in READ_ONLY:
        for value in (0, 0xFFFFFFFF, 0x40):
            await s.wreg(off, value)
    await t.settle()
    shadow.check(f"{t.name}: writes to read-only registers")
    assert await _visible(s) == before
    s.note("visible", before)
    ring = s.ring()
    ring.offer(0xFFFF)
    await s.notify_broken(ring, Cause.HEAD_RANGE, 0xFFFF)
    await s.wreg(C.VIO_MMIO_DEVICE_ERROR, 0)
    await s.wreg(C.VIRTIO_MMIO_INTERRUPT_STATUS, 0)
    await s.expect_broken(Cause.HEAD_RANGE, 0, 0xFFFF)
    await s.recover()
    return s


@scenario(23, "write_only_reads_zero", "reads of write-only registers give 0")
async def _c23_wo(t: Target) -> Session:
    s, _ = await _pending(t)
    before = await _visible(s)
    values = {off: await s.reg(off) for off in WRITE_ONLY}
    assert values == {off: 0 for off in WRITE_ONLY}, values
    assert await _visible(s) == before
    return s


@scenario(23, "unmapped_offsets", "unmapped offsets read 0 and ignore writes")
async def _c23_unmapped(t: Target) -> Session:
    s, _ = await _pending(t)
    before = await _visible(s)
    shadow = ShadowMemory(s.mem)
    for off in UNMAPPED:
        assert await s.reg(off) == 0, f"offset {off:#x}"
        for value in (0xFFFFFFFF, 1, 0):
            await s.wreg(off, value)
    await t.settle()
    shadow.check(f"{t.name}: unmapped writes")
    assert await _visible(s) == before
    return s


@scenario(23, "wrong_width_writes_ignored", "byte, half-word and unaligned writes below 0x100 ignored")
async def _c23_width(t: Target) -> Session:
    s, _ = await _pending(t)
    before = await _visible(s)
    shadow = ShadowMemory(s.mem)
    for size in (1, 2):
        await s.wreg(STATUS, 0, size)  # would reset
        await s.select(0)
        await s.wreg(C.VIRTIO_MMIO_QUEUE_PFN, 0, size)  # would stop q0
        await s.wreg(C.VIRTIO_MMIO_QUEUE_NOTIFY, 1, size)  # would pop q1's chain
        await s.wreg(C.VIRTIO_MMIO_INTERRUPT_ACK, INT_VRING, size)
        await s.wreg(C.VIRTIO_MMIO_QUEUE_SEL, 1, size)
    await s.select(1)
    for delta in (1, 2, 3):
        await s.wreg(STATUS + delta, 0)
        await s.wreg(C.VIRTIO_MMIO_QUEUE_NOTIFY + delta, 1)
        await s.wreg(C.VIRTIO_MMIO_INTERRUPT_ACK + delta, INT_VRING)
    await t.settle()
    shadow.check(f"{t.name}: ignored writes")
    assert await _visible(s) == before
    assert s.backend.received == [(0, b"", 4)]
    await s.wreg(C.VIRTIO_MMIO_INTERRUPT_ACK, INT_VRING)  # the same writes at the right width act
    assert await s.reg(ISR) == 0
    await s.notify(1)
    assert s.backend.received[-1] == (1, b"", 8)
    return s


@scenario(
    23,
    "wrong_width_reads_zero",
    "byte, half-word and unaligned reads below 0x100 give 0",
    model_only="the RTL's AXI4-Lite reads whole words: a narrow read sees those bytes (docs/rtl.md, known differences)",
)
async def _c23_narrow_reads(t: Target) -> Session:
    s, _ = await _pending(t)
    before = await _visible(s)
    for size, delta in ((1, 0), (2, 0), (1, 1), (2, 2), (4, 1), (4, 2), (4, 3)):
        got = {off: await s.reg(off + delta, size) for off in VISIBLE}
        assert got == {off: 0 for off in VISIBLE}, (size, delta, got)
    assert await _visible(s) == before
    return s


@scenario(23, "config_space_widths", "config space: aligned 8/16/32-bit reads; past the config reads 0; writes to it change nothing")
async def _c23_config(t: Target) -> Session:
    s, _ = await _pending(t)
    cfg = C.VIRTIO_MMIO_CONFIG
    config = s.backend.CONFIG
    assert [await s.reg(cfg + i, 1) for i in range(8)] == list(config)
    assert await s.reg(cfg + 2, 2) == 0x4433
    assert await s.reg(cfg + 4, 4) == 0x88776655
    assert await s.reg(cfg + 8, 4) == 0 and await s.reg(0x1FC, 4) == 0
    await s.wreg(cfg, 0xFFFFFFFF)
    assert await s.reg(cfg, 4) == 0x44332211
    return s


# ------------------------------------------------------------------ case 24
@scenario(24, "interrupt_only_for_used_entries_or_config", "an interrupt only for a new used entry or a config change")
async def _c24(t: Target) -> Session:
    s = await session(t)

    async def quiet(what: str, *actions) -> None:
        raised = t.interrupts()
        for action in actions:
            await action()
        await t.settle()
        assert t.interrupts() == raised and await s.reg(ISR) == 0 and not s.hal.irq(0), what

    async def ack() -> None:
        await s.wreg(C.VIRTIO_MMIO_INTERRUPT_ACK, await s.reg(ISR))
        await t.settle()
        assert not s.hal.irq(0)

    await quiet("notify with nothing offered", lambda: s.notify(0), lambda: s.notify(1), lambda: s.notify(7))
    await quiet("register traffic", lambda: s.select(1), lambda: s.wreg(C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1), lambda: s.reg(STATUS))
    raised = t.interrupts()
    await s.drv.submit(VioTransfer(0, [(s.buf(4), 4, VIO_IOV_FLAGS_WRITE)]))
    await t.settle()
    assert await s.reg(ISR) == INT_VRING and t.interrupts() == raised + 1
    assert await s.drv.poll() == 1
    await ack()
    await quiet("notify again after the entry was consumed", lambda: s.notify(0), lambda: s.notify(1))
    s.backend.hold = True
    t2 = VioTransfer(1, [(s.buf(4), 4, VIO_IOV_FLAGS_WRITE)])
    await quiet("a chain in flight", lambda: s.drv.submit(t2))
    raised = t.interrupts()
    s.backend.release()
    await t.settle()
    assert await s.reg(ISR) == INT_VRING and t.interrupts() == raised + 1
    assert await s.drv.poll() == 1
    await ack()
    raised = t.interrupts()
    s.backend._config_changed()
    await t.settle()
    assert await s.reg(ISR) == INT_CONFIG and t.interrupts() == raised + 1
    await ack()
    await quiet("after all of it", lambda: s.notify(0))
    s.note("interrupts", t.interrupts())
    return s


for _features in (0, EVENT_IDX):

    @scenario(24, "suppressed_" + ("event_idx" if _features else "no_interrupt_flag"), "a suppressed completion raises nothing; re-enabled, the next does")
    async def _c24_suppressed(t: Target, features=_features) -> Session:
        s = await session(t, features)
        q = s.drv.queue[0]
        s.drv._disable_interrupts(q)
        raised = t.interrupts()
        await s.drv.submit(VioTransfer(0, [(s.buf(4), 4, VIO_IOV_FLAGS_WRITE)]))
        await t.settle()
        assert s.mem.read16(q.layout.used_idx) == 1, "the entry is there"
        assert await s.reg(ISR) == 0 and t.interrupts() == raised
        await s.drv.poll()
        if features:
            s.mem.write16(q.layout.used_event, q.last_used)
        else:
            s.mem.write16(q.layout.avail_flags, 0)
        await s.drv.submit(VioTransfer(0, [(s.buf(4), 4, VIO_IOV_FLAGS_WRITE)]))
        await t.settle()
        assert await s.reg(ISR) == INT_VRING and t.interrupts() == raised + 1
        return s


# ------------------------------------------------------------------ driver side: a used ring corrupted behind the device
async def _corrupt_after_completion(t: Target, how: str) -> tuple[Session, VioTransfer, Exception | None]:
    """One transfer completed by the device, then its used element (or used.idx)
    rewritten in memory before the driver polls, as a misbehaving device would."""
    s = await session(t)
    wr = s.buf(8)
    tfr = VioTransfer(0, [(s.buf(b"ping"), 4), (wr, 8, VIO_IOV_FLAGS_WRITE)])
    await s.drv.submit(tfr)
    await t.settle()
    lay = s.drv.queue[0].layout
    assert s.mem.read16(lay.used_idx) == 1
    if how == "id_out_of_range":
        s.mem.write(lay.used_ring(0), pack_used_elem(16, 8))
    elif how == "id_not_in_flight":
        s.mem.write(lay.used_ring(0), pack_used_elem(tfr.head ^ 1, 8))
    elif how == "idx_ahead":
        s.mem.write16(lay.used_idx, 3)
    elif how == "len_over_writable":
        s.mem.write(lay.used_ring(0), pack_used_elem(tfr.head, 0x1000))
    try:
        await s.drv.poll()
        return s, tfr, None
    except VioQueueBroken as err:
        return s, tfr, err


for _case, _how, _text in ((25, "id_out_of_range", "out of range"), (26, "id_not_in_flight", "not a head in flight"), (27, "idx_ahead", "advanced by 3")):

    @scenario(_case, f"driver_used_{_how}", "the driver marks the queue broken, later submits fail")
    async def _c25_27(t: Target, how=_how, text=_text) -> Session:
        s, tfr, err = await _corrupt_after_completion(t, how)
        assert err is not None and text in str(err), err
        s.note("driver", str(err))
        assert not tfr.done
        try:
            await s.drv.submit(VioTransfer(0, [(s.buf(4), 4, VIO_IOV_FLAGS_WRITE)]))
        except VioQueueBroken:
            pass
        else:
            raise AssertionError("a submit on a broken queue must fail")
        await s.recover()
        return s


@scenario(28, "driver_used_len_over_writable_clamped", "used.len over the posted writable length: clamped and counted")
async def _c28(t: Target) -> Session:
    s, tfr, err = await _corrupt_after_completion(t, "len_over_writable")
    assert err is None and tfr.done and tfr.actual == 8 and s.drv.queue[0].len_clamped == 1
    await s.transfer_works(0)
    return s


@scenario(31, "driver_sees_needs_reset_and_resets", "NEEDS_RESET seen by the driver: a clear error naming the cause, the device reset")
async def _c31(t: Target) -> Session:
    s = await session(t)
    ring = s.ring()
    ring.desc(0, s.buf(b"x"), 1, NEXT, 0)  # a loop on itself
    ring.offer(0)
    await s.notify(0)
    try:
        await ClassDriver(s.drv, timeout_ns=WAIT_NS).service()
    except VioDeviceBroken as err:
        assert "CHAIN_LOOP" in str(err) and "queue 0" in str(err), err
        s.note("driver", str(err))
    else:
        raise AssertionError("the driver must raise on NEEDS_RESET")
    await t.settle()
    assert await s.device_state() == (0, 0, 0, False), "the driver reset the device"
    await s.init()
    await s.transfer_works(0)
    return s


@scenario(31, "driver_times_out_without_completion", "no completion in time: a bounded wait, a timeout, a reset")
async def _c31_timeout(t: Target) -> Session:
    s = await session(t)
    s.backend.hold = True
    tfr = VioTransfer(0, [(s.buf(4), 4, VIO_IOV_FLAGS_WRITE)])
    await s.drv.submit(tfr)
    start = s.hal.now_ns()
    try:
        await ClassDriver(s.drv, timeout_ns=50_000).wait(tfr)
    except VioTimeout as err:
        s.note("driver", "timeout")
        assert s.hal.now_ns() - start < 200_000, "the wait must be bounded"
        assert "reset" in str(err), err
    else:
        raise AssertionError("the wait must time out")
    await s.reset_device()
    await s.recover()
    return s


del _name, _features, _limit, _indirect, _bad, _case, _how, _text
