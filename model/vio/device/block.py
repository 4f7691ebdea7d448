"""The block personality: a disk image in a bytearray or a file, answering
virtio-blk requests as QEMU does (``hw/block/virtio-blk.c``).

Every answer fills the chain's whole writable part and puts the status in its
last byte, so used.len is always the writable length, as QEMU reports it. The
backend is pure (bytes in, bytes out), so the RTL's streams can use it too.
"""

import os
import struct
from collections import Counter
from pathlib import Path
from typing import BinaryIO

from .. import constants as C
from ..errors import DeviceModelError
from .backend import Backend

DEFAULT_SERIAL = b"VIOKIT-BLK-0001"
_HEADER = struct.Struct("<IIQ")  # type, reserved (ioprio), sector
_CONFIG = struct.Struct("<QIIHBBI")  # capacity, size_max, seg_max, geometry, blk_size


class BlockBackend(Backend):
    """A virtio-blk device over ``disk``: a bytearray (written in place) or a
    file path (opened ``r+b``, or ``rb`` when ``read_only``; :meth:`close` it).

    ``seg_max`` offers VIRTIO_BLK_F_SEG_MAX with that value. ``requests`` counts
    requests per type and ``statuses`` answers per status, for tests.
    """

    device_id = C.VIRTIO_ID_BLOCK
    num_queues = 1

    def __init__(
        self,
        disk: bytearray | str | Path,
        read_only: bool = False,
        serial: bytes = DEFAULT_SERIAL,
        flush_supported: bool = True,
        seg_max: int | None = None,
    ):
        super().__init__()
        if seg_max is not None and not 1 <= seg_max <= 0xFFFFFFFF:
            raise DeviceModelError(f"seg_max must be 1..2^32-1, got {seg_max}")
        self._file: BinaryIO | None = None
        if isinstance(disk, bytearray):
            self.disk: bytearray | None = disk
            size = len(disk)
        elif isinstance(disk, (str, Path)):
            self.disk = None
            self._file = open(disk, "rb" if read_only else "r+b")
            size = os.fstat(self._file.fileno()).st_size
        else:
            raise DeviceModelError(f"disk must be a bytearray or a file path, got {type(disk).__name__}")
        self.capacity = size // C.SECTOR_SIZE  # a partial last sector is not addressable, as in QEMU
        self.read_only = read_only
        self.serial = serial[: C.VIRTIO_BLK_ID_BYTES].ljust(C.VIRTIO_BLK_ID_BYTES, b"\0")
        self.flush_supported = flush_supported
        self.seg_max = seg_max
        self.device_features = (
            1 << C.VIRTIO_BLK_F_BLK_SIZE
            | (1 << C.VIRTIO_BLK_F_FLUSH if flush_supported else 0)
            | (1 << C.VIRTIO_BLK_F_RO if read_only else 0)
            | (1 << C.VIRTIO_BLK_F_SEG_MAX if seg_max is not None else 0)
        )
        self.requests: Counter[int] = Counter()
        self.statuses: Counter[int] = Counter()

    # --- lifetime of a file-backed disk ---
    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "BlockBackend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the Backend interface ---
    def config(self) -> bytes:
        return _CONFIG.pack(self.capacity, 0, self.seg_max or 0, 0, 0, 0, C.SECTOR_SIZE)

    def request(self, queue: int, readable: bytes, writable_len: int) -> bytes:
        if writable_len == 0:
            return b""  # no status byte to report into; QEMU would call this a broken guest
        data, status = self._serve(readable, writable_len - 1)
        self.statuses[status] += 1
        return data.ljust(writable_len - 1, b"\0")[: writable_len - 1] + bytes([status])

    # --- the personality ---
    def _serve(self, readable: bytes, data_len: int) -> tuple[bytes, int]:
        """(bytes for the writable data part, status) of one request."""
        if len(readable) < _HEADER.size:
            return b"", C.VIRTIO_BLK_S_IOERR
        kind, _, sector = _HEADER.unpack_from(readable)
        self.requests[kind] += 1
        if kind == C.VIRTIO_BLK_T_IN:
            if not self._in_range(sector, data_len):
                return b"", C.VIRTIO_BLK_S_IOERR
            return self._read(sector * C.SECTOR_SIZE, data_len), C.VIRTIO_BLK_S_OK
        if kind == C.VIRTIO_BLK_T_OUT:
            payload = readable[_HEADER.size :]
            if self.read_only or not self._in_range(sector, len(payload)):
                return b"", C.VIRTIO_BLK_S_IOERR
            self._write(sector * C.SECTOR_SIZE, payload)
            return b"", C.VIRTIO_BLK_S_OK
        if kind == C.VIRTIO_BLK_T_FLUSH and self.flush_supported:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
            return b"", C.VIRTIO_BLK_S_OK
        if kind == C.VIRTIO_BLK_T_GET_ID:
            return self.serial, C.VIRTIO_BLK_S_OK
        return b"", C.VIRTIO_BLK_S_UNSUPP

    def _in_range(self, sector: int, length: int) -> bool:
        """Whole sectors, all inside the disk (QEMU's virtio_blk_sect_range_ok)."""
        count, rest = divmod(length, C.SECTOR_SIZE)
        return rest == 0 and sector <= self.capacity and count <= self.capacity - sector

    def _read(self, offset: int, length: int) -> bytes:
        if self._file is None:
            assert self.disk is not None
            return bytes(self.disk[offset : offset + length])
        self._file.seek(offset)
        return self._file.read(length)

    def _write(self, offset: int, data: bytes) -> None:
        if self._file is None:
            assert self.disk is not None
            self.disk[offset : offset + len(data)] = data
        else:
            self._file.seek(offset)
            self._file.write(data)
