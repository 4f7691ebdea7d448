"""The split virtqueue in its legacy layout: addresses, element formats, event index.

One source of truth shared by the driver model and the reference device; the
formulas are those of Linux ``vring_size`` / ``vring_init`` and of the spec.
"""

import struct
from dataclasses import dataclass

from .constants import VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE

DESC_SIZE = 16
USED_ELEM_SIZE = 8
_DESC = struct.Struct("<QIHH")
_USED_ELEM = struct.Struct("<II")


def align_up(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


def is_pow2(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def u16(value: int) -> int:
    return value & 0xFFFF


def vring_need_event(event_idx: int, new_idx: int, old_idx: int) -> bool:
    """True when moving an index from old to new passes event_idx (spec 2.7.10)."""
    return u16(new_idx - event_idx - 1) < u16(new_idx - old_idx)


def vring_size(num: int, align: int) -> int:
    """Bytes of a legacy ring of num entries whose used ring is aligned to align."""
    return align_up(DESC_SIZE * num + 2 * (3 + num), align) + 6 + USED_ELEM_SIZE * num


@dataclass(frozen=True)
class VringLayout:
    """Where each part of a legacy ring lives, from its base address."""

    base: int
    num: int
    align: int

    @property
    def desc(self) -> int:
        return self.base

    @property
    def avail(self) -> int:
        return self.base + DESC_SIZE * self.num

    @property
    def avail_flags(self) -> int:
        return self.avail

    @property
    def avail_idx(self) -> int:
        return self.avail + 2

    def avail_ring(self, slot: int) -> int:
        return self.avail + 4 + 2 * slot

    @property
    def used_event(self) -> int:
        return self.avail + 4 + 2 * self.num

    @property
    def used(self) -> int:
        return align_up(self.avail + 2 * (3 + self.num), self.align)

    @property
    def used_flags(self) -> int:
        return self.used

    @property
    def used_idx(self) -> int:
        return self.used + 2

    def used_ring(self, slot: int) -> int:
        return self.used + 4 + USED_ELEM_SIZE * slot

    @property
    def avail_event(self) -> int:
        return self.used + 4 + USED_ELEM_SIZE * self.num

    @property
    def size(self) -> int:
        return vring_size(self.num, self.align)

    @property
    def end(self) -> int:
        """One past the used ring's last byte (avail_event). Not base + size when
        base is not aligned to ``align``: the used ring is aligned absolutely."""
        return self.avail_event + 2

    def desc_addr(self, index: int) -> int:
        return self.base + DESC_SIZE * index


@dataclass(frozen=True)
class Desc:
    """One descriptor: {u64 addr, u32 len, u16 flags, u16 next}."""

    addr: int
    len: int
    flags: int = 0
    next: int = 0

    @classmethod
    def unpack(cls, raw: bytes) -> "Desc":
        return cls(*_DESC.unpack(raw))

    def pack(self) -> bytes:
        return _DESC.pack(self.addr, self.len, self.flags, self.next)

    @property
    def has_next(self) -> bool:
        return bool(self.flags & VRING_DESC_F_NEXT)

    @property
    def is_write_only(self) -> bool:
        return bool(self.flags & VRING_DESC_F_WRITE)

    @property
    def is_indirect(self) -> bool:
        return bool(self.flags & VRING_DESC_F_INDIRECT)


def pack_used_elem(head: int, length: int) -> bytes:
    return _USED_ELEM.pack(head, length)


def unpack_used_elem(raw: bytes) -> tuple[int, int]:
    return _USED_ELEM.unpack(raw)
