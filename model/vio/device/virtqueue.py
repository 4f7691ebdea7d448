"""Device side of one split virtqueue: state, chain walking with every hostile
input check, and used-ring publication. The RTL's ring engine implements the same
checks in the same order, so that both report the same cause for the same ring.
"""

from collections import deque
from dataclasses import dataclass, field

from ..constants import Cause
from ..memory import GuestMemory
from ..ring import DESC_SIZE, Desc, VringLayout, pack_used_elem, u16


class Broken(Exception):
    """Raised inside the walker; the device turns it into its broken state."""

    def __init__(self, cause: Cause, queue: int, info: int, detail: str):
        super().__init__(f"{cause.name} on queue {queue}: {detail}")
        self.cause = cause
        self.queue = queue
        self.info = info & 0xFFFF


@dataclass
class Chain:
    """A popped descriptor chain: where its readable and writable bytes are."""

    head: int
    readable: list[tuple[int, int]] = field(default_factory=list)
    writable: list[tuple[int, int]] = field(default_factory=list)
    answer: bytes | None = None

    @property
    def writable_len(self) -> int:
        return sum(length for _, length in self.writable)


@dataclass
class DmaWindow:
    """The guest addresses the device may touch: [base, base + size)."""

    base: int
    size: int

    def check(self, addr: int, length: int, queue: int, info: int, what: str) -> None:
        end = addr + length
        if end > 1 << 64 or addr < self.base or end > self.base + self.size:
            raise Broken(
                Cause.DMA_WINDOW,
                queue,
                info,
                f"{what} [{addr:#x}, +{length:#x}) is outside the DMA window "
                f"[{self.base:#x}, {self.base + self.size:#x})",
            )


class DeviceQueue:
    """State the device keeps for one queue between register writes."""

    def __init__(self, index: int, num_max: int):
        self.index = index
        self.num_max = num_max
        self.ready_seen = False  # backend.ready(index) when last looked at (a wire: no reset)
        self.reset()

    def reset(self) -> None:
        self.num = self.num_max  # as QEMU: QueueNum starts at QueueNumMax
        self.align = 4096
        self.pfn = 0
        self.layout: VringLayout | None = None
        self.last_avail = 0
        self.shadow_avail = 0  # avail.idx as last read
        self.used_idx = 0  # the device's own copy (hostile-input case 14)
        self.in_flight: deque[Chain] = deque()
        self.owed = 0  # deferred answers the backend still owes to chains stop() dropped
        self.kick = False  # a notify (or the backend becoming ready) not yet used up

    @property
    def live(self) -> bool:
        return self.pfn != 0

    def activate(self, pfn: int, page_size: int, window: DmaWindow, index_base: int) -> None:
        layout = VringLayout(pfn * page_size, self.num, self.align)
        window.check(layout.base, layout.end - layout.base, self.index, 0, "ring")
        self.pfn = pfn
        self.layout = layout
        self.last_avail = self.shadow_avail = self.used_idx = u16(index_base)

    def stop(self) -> None:
        """QueuePFN=0 on a live queue: forget it; chains in flight are dropped
        (no used entry is written for them), as after a reset. The backend does
        not know: each dropped chain it deferred still gets its answer through
        take(), which must be swallowed, not given to the queue's next chain."""
        self.pfn = 0
        self.layout = None
        self.kick = False
        self.owed += sum(1 for c in self.in_flight if c.answer is None)
        self.in_flight.clear()

    # --- avail side ---
    def read_avail_idx(self, mem: GuestMemory) -> int:
        """Fetch avail.idx and check it (case 1); returns how many chains wait."""
        assert self.layout is not None
        idx = mem.read16(self.layout.avail_idx)
        waiting = u16(idx - self.last_avail)
        if waiting > self.num:
            raise Broken(
                Cause.AVAIL_IDX_JUMP,
                self.index,
                idx,
                f"avail.idx {idx} is {waiting} past last_avail {self.last_avail} (QueueNum {self.num})",
            )
        self.shadow_avail = idx
        return waiting

    def pop(self, mem: GuestMemory, window: DmaWindow, indirect_ok: bool, indirect_max: int) -> Chain:
        """Take the next head from the avail ring and walk its chain."""
        assert self.layout is not None
        slot = self.last_avail % self.num
        head = mem.read16(self.layout.avail_ring(slot))
        if head >= self.num:
            raise Broken(Cause.HEAD_RANGE, self.index, head, f"head {head} >= QueueNum {self.num} at avail slot {slot}")
        if len(self.in_flight) >= self.num or any(c.head == head for c in self.in_flight):
            raise Broken(Cause.HEAD_IN_FLIGHT, self.index, head, f"head {head} offered while {len(self.in_flight)} chains are in flight")
        chain = walk_chain(mem, window, self.layout.desc, self.num, head, self.index, indirect_ok, indirect_max)
        self.last_avail = u16(self.last_avail + 1)
        self.in_flight.append(chain)
        return chain

    def avail_empty(self) -> bool:
        return self.last_avail == self.shadow_avail

    # --- used side ---
    def publish(self, mem: GuestMemory, chain: Chain, written: int) -> tuple[int, int]:
        """Write the used element, then used.idx; returns (old, new) idx."""
        assert self.layout is not None
        slot = self.used_idx % self.num
        mem.write(self.layout.used_ring(slot), pack_used_elem(chain.head, written))
        old = self.used_idx
        self.used_idx = u16(old + 1)
        mem.write16(self.layout.used_idx, self.used_idx)
        return old, self.used_idx


def walk_chain(
    mem: GuestMemory,
    window: DmaWindow,
    table: int,
    num: int,
    head: int,
    queue: int,
    indirect_ok: bool,
    indirect_max: int,
) -> Chain:
    """Follow a chain from ``head``; every check of hostile-input cases 3-12.

    Order of checks for one descriptor (the RTL follows it): index range,
    loop bound, indirect rules, zero length, DMA window, direction, total length.
    """
    chain = Chain(head)
    table_len = num
    index = head
    seen = 0
    total = 0
    nested = False
    while True:
        if index >= table_len:
            raise Broken(Cause.NEXT_RANGE, queue, index, f"next {index} >= table length {table_len} in chain of head {head}")
        seen += 1
        if seen > table_len:
            raise Broken(Cause.CHAIN_LOOP, queue, head, f"chain of head {head} exceeds {table_len} descriptors (loop)")
        desc = Desc.unpack(mem.read(table + DESC_SIZE * index, DESC_SIZE))
        if desc.is_indirect:
            if nested:
                raise Broken(Cause.INDIRECT_NESTED, queue, index, f"indirect descriptor {index} inside an indirect table (head {head})")
            if not indirect_ok:
                raise Broken(Cause.INDIRECT_NOT_NEGOTIATED, queue, index, f"descriptor {index} is INDIRECT but RING_INDIRECT_DESC was not negotiated")
            if desc.has_next:
                raise Broken(Cause.INDIRECT_WITH_NEXT, queue, index, f"descriptor {index} sets both INDIRECT and NEXT")
            if desc.len == 0 or desc.len % DESC_SIZE or desc.len // DESC_SIZE > indirect_max:
                raise Broken(Cause.INDIRECT_SIZE, queue, index, f"indirect table of {desc.len} bytes (must be 16..{16 * indirect_max}, a multiple of 16)")
            window.check(desc.addr, desc.len, queue, index, f"indirect table of descriptor {index}")
            table, table_len, index, seen, nested = desc.addr, desc.len // DESC_SIZE, 0, 0, True
            continue
        if desc.len == 0:
            raise Broken(Cause.ZERO_LENGTH, queue, index, f"descriptor {index} of head {head} has length 0")
        window.check(desc.addr, desc.len, queue, index, f"buffer of descriptor {index}")
        if desc.is_write_only:
            chain.writable.append((desc.addr, desc.len))
        elif chain.writable:
            raise Broken(Cause.READ_AFTER_WRITE, queue, index, f"readable descriptor {index} follows a writable one (head {head})")
        else:
            chain.readable.append((desc.addr, desc.len))
        total += desc.len
        if total > 0xFFFFFFFF:
            raise Broken(Cause.LENGTH_OVERFLOW, queue, index, f"chain of head {head} is longer than 2^32-1 bytes")
        if not desc.has_next:
            return chain
        index = desc.next
