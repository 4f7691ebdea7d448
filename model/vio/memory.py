"""Guest memory: the bytes the driver and the device share, and an allocator.

Access is synchronous on purpose: it is the back door (as ``AxiRam.read`` is
under cocotb), while register access through the HAL is awaited. A different
store (cocotbext-axi's ``AxiRam``, a qtest socket) plugs in by subclassing
:class:`GuestMemory` and overriding :meth:`read` and :meth:`write`.
"""

import struct

from .errors import VioConfigError
from .ring import align_up, is_pow2


class GuestMemory:
    """``size`` bytes of little-endian memory seen at guest addresses ``base``...

    ``alloc`` is a first-fit allocator over the whole range, so rings and
    buffers of the driver model never overlap; ``free`` returns a block.
    """

    def __init__(self, size: int, base: int = 0, store: bytearray | None = None):
        if size <= 0:
            raise VioConfigError(f"guest memory size must be positive, got {size}")
        self.base = base
        self.size = size
        self.data = store if store is not None else bytearray(size)
        # address 0 is never handed out: it is NULL to a driver, and QueuePFN 0
        # means "no ring"
        self._free: list[tuple[int, int]] = [(max(base, 16), base + size)]
        self._blocks: dict[int, int] = {}

    # --- raw access ---
    def _offset(self, addr: int, length: int) -> int:
        off = addr - self.base
        if off < 0 or length < 0 or off + length > self.size:
            raise IndexError(
                f"guest access [{addr:#x}, {addr + length:#x}) outside memory "
                f"[{self.base:#x}, {self.base + self.size:#x})"
            )
        return off

    def contains(self, addr: int, length: int) -> bool:
        return self.base <= addr and addr + length <= self.base + self.size

    def read(self, addr: int, length: int) -> bytes:
        off = self._offset(addr, length)
        return bytes(self.data[off : off + length])

    def write(self, addr: int, data: bytes) -> None:
        off = self._offset(addr, len(data))
        self.data[off : off + len(data)] = data

    # --- typed helpers (little-endian, as legacy virtio on our guests) ---
    def read16(self, addr: int) -> int:
        return struct.unpack("<H", self.read(addr, 2))[0]

    def read32(self, addr: int) -> int:
        return struct.unpack("<I", self.read(addr, 4))[0]

    def write16(self, addr: int, value: int) -> None:
        self.write(addr, struct.pack("<H", value & 0xFFFF))

    def write32(self, addr: int, value: int) -> None:
        self.write(addr, struct.pack("<I", value & 0xFFFFFFFF))

    def fill(self, addr: int, length: int, value: int = 0) -> None:
        self.write(addr, bytes([value]) * length)

    # --- allocation ---
    def alloc(self, size: int, align: int = 16) -> int:
        """Reserve ``size`` bytes aligned to ``align``; returns the guest address."""
        if size <= 0 or not is_pow2(align):
            raise VioConfigError(f"bad allocation: size {size}, align {align}")
        for i, (start, end) in enumerate(self._free):
            addr = align_up(start, align)
            if addr + size <= end:
                pieces = [(start, addr), (addr + size, end)]
                self._free[i : i + 1] = [(a, b) for a, b in pieces if b > a]
                self._blocks[addr] = size
                return addr
        raise MemoryError(f"guest memory: no {size} bytes free at alignment {align}")

    def free(self, addr: int) -> None:
        size = self._blocks.pop(addr, None)
        if size is None:
            raise VioConfigError(f"free of {addr:#x}, which alloc did not return")
        self._free.append((addr, addr + size))
        self._free.sort()
        merged: list[tuple[int, int]] = []
        for start, end in self._free:
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        self._free = merged
