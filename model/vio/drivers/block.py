"""The virtio-blk class driver: read, write, flush and get-id over one request
queue, each request a single transfer {header, data..., status}, as Linux's
``virtio_blk`` sends them."""

import struct

from .. import constants as C
from ..driver import VIO_IOV_FLAGS_WRITE, VioDriver, VioIov, VioQueue, VioTransfer
from ..errors import VioConfigError, VioError
from ..hal import VioHal
from .base import DEFAULT_TIMEOUT_NS, ClassDriver

BLOCK_FEATURES = (
    1 << C.VIRTIO_BLK_F_BLK_SIZE | 1 << C.VIRTIO_BLK_F_FLUSH | 1 << C.VIRTIO_BLK_F_RO | 1 << C.VIRTIO_BLK_F_SEG_MAX
)
REQUEST_NAMES = {C.VIRTIO_BLK_T_IN: "IN", C.VIRTIO_BLK_T_OUT: "OUT", C.VIRTIO_BLK_T_FLUSH: "FLUSH", C.VIRTIO_BLK_T_GET_ID: "GET_ID"}
STATUS_NAMES = {C.VIRTIO_BLK_S_OK: "OK", C.VIRTIO_BLK_S_IOERR: "IOERR", C.VIRTIO_BLK_S_UNSUPP: "UNSUPP"}
NO_STATUS = 0xFF  # put in the status byte before submitting: a device that never writes it is caught
_HEADER = struct.Struct("<IIQ")


class BlockError(VioError):
    """The device completed a request with a status other than OK."""

    def __init__(self, base: int, kind: int, sector: int, status: int):
        self.kind, self.sector, self.status = kind, sector, status
        self.errno = 95 if status == C.VIRTIO_BLK_S_UNSUPP else 5  # EOPNOTSUPP / EIO
        name = REQUEST_NAMES.get(kind, f"type {kind}")
        got = "no status written" if status == NO_STATUS else STATUS_NAMES.get(status, "unknown status")
        super().__init__(f"block device at {base:#x}: {name} at sector {sector} failed: status {status} ({got})")


class BlockDriver(ClassDriver):
    """A virtio-blk disk at ``base``: builds its VioDriver with one queue
    "requestq" and offers BLK_SIZE, FLUSH, RO and SEG_MAX plus ``ring_features``.

    Data buffers are split into iov entries of ``seg_size`` bytes so that large
    transfers travel as longer chains (or indirect tables, when negotiated and
    ``indirect`` allows), never more entries than the queue or seg_max permit.
    """

    def __init__(
        self,
        hal: VioHal,
        base: int,
        *,
        vector: int = 0,
        ring_features: int = 0,
        queue_size: int = 128,
        indirect: bool | None = None,
        seg_size: int = 4096,
        timeout_ns: int = DEFAULT_TIMEOUT_NS,
    ):
        if seg_size < C.SECTOR_SIZE or seg_size % C.SECTOR_SIZE:
            raise VioConfigError(f"seg_size {seg_size} must be a positive multiple of {C.SECTOR_SIZE}")
        queue = VioQueue("requestq", queue_size, indirect=indirect)
        vio = VioDriver(base, vector, priv=self, drv_features=BLOCK_FEATURES | ring_features, queue=[queue], hal=hal)
        super().__init__(vio, timeout_ns)
        self.seg_size = seg_size
        self._capacity = 0
        self.blk_size = C.SECTOR_SIZE
        self.seg_max = 0  # 0: the device set no limit

    async def start(self) -> None:
        """Init, then the geometry from config space (only fields whose feature was negotiated)."""
        await super().start()
        self._capacity = await self.vio.read_config(0, 8)
        if self.vio.has_feature(C.VIRTIO_BLK_F_SEG_MAX):
            self.seg_max = await self.vio.read_config(12, 4)
        if self.vio.has_feature(C.VIRTIO_BLK_F_BLK_SIZE):
            self.blk_size = await self.vio.read_config(20, 4)

    @property
    def capacity(self) -> int:
        """Disk size in 512-byte sectors, as read at start()."""
        return self._capacity

    @property
    def read_only(self) -> bool:
        return self.vio.has_feature(C.VIRTIO_BLK_F_RO)

    # --- operations ---
    async def read(self, sector: int, count: int = 1) -> bytes:
        if count < 1:
            raise VioConfigError(f"block read of {count} sectors at {sector}: at least one is needed")
        return await self.request(C.VIRTIO_BLK_T_IN, sector, in_len=count * C.SECTOR_SIZE)

    async def write(self, sector: int, data: bytes) -> None:
        if not data or len(data) % C.SECTOR_SIZE:
            raise VioConfigError(f"block write of {len(data)} bytes at {sector}: must be a positive multiple of {C.SECTOR_SIZE}")
        await self.request(C.VIRTIO_BLK_T_OUT, sector, out=bytes(data))

    async def flush(self) -> None:
        """Without FLUSH the device's cache is write-through: nothing to send."""
        if self.vio.has_feature(C.VIRTIO_BLK_F_FLUSH):
            await self.request(C.VIRTIO_BLK_T_FLUSH)

    async def get_id(self) -> bytes:
        """The serial: up to its NUL, which ends it when shorter than 20 bytes.
        QEMU writes only the string and its NUL and leaves the rest of the
        buffer as it was (the driver's 0xFF fill), so stripping is not enough."""
        return (await self.request(C.VIRTIO_BLK_T_GET_ID, in_len=C.VIRTIO_BLK_ID_BYTES)).split(b"\0", 1)[0]

    async def request(self, kind: int, sector: int = 0, *, out: bytes = b"", in_len: int = 0) -> bytes:
        """One raw request as one transfer: header and ``out`` readable, then
        ``in_len`` bytes and the status writable. Returns the ``in_len`` bytes
        or raises BlockError. The typed methods above are built on it."""
        if not 0 <= kind <= 0xFFFFFFFF or not 0 <= sector < 1 << 64 or in_len < 0:
            raise VioConfigError(f"block request type {kind}, sector {sector}, in_len {in_len}: out of range")
        total = _HEADER.size + len(out) + in_len + 1
        if total > 0xFFFFFFFF:
            raise VioConfigError(f"block request of {total} bytes is over 2^32-1 bytes")
        mem = self.hal.mem
        buf = mem.alloc(total)
        data, status = buf + _HEADER.size, buf + total - 1
        try:
            mem.write(buf, _HEADER.pack(kind, 0, sector) + out + bytes([NO_STATUS]) * (in_len + 1))
            seg = self._segment(len(out) + in_len, parts=2 if out and in_len else 1)
            iov = [VioIov(buf, _HEADER.size)]
            iov += _split(data, len(out), seg, 0) + _split(data + len(out), in_len, seg, VIO_IOV_FLAGS_WRITE)
            iov.append(VioIov(status, 1, VIO_IOV_FLAGS_WRITE))
            await self.transfer(VioTransfer(0, iov))
            result = mem.read(status, 1)[0]
            if result != C.VIRTIO_BLK_S_OK:
                raise BlockError(self.vio.base, kind, sector, result)
            return mem.read(data + len(out), in_len)
        finally:
            mem.free(buf)

    def _segment(self, data_len: int, parts: int) -> int:
        """The iov entry size: seg_size, grown (in whole sectors) when the data
        would otherwise need more entries than the queue or seg_max allow
        (``parts`` directions each may round up by one entry)."""
        limit = self.vio.queue[0].num - 2
        if self.seg_max:
            limit = min(limit, self.seg_max)
        need = -(-data_len // max(1, limit - parts + 1))
        return max(self.seg_size, -(-need // C.SECTOR_SIZE) * C.SECTOR_SIZE)


def _split(addr: int, length: int, seg: int, flags: int) -> list[VioIov]:
    return [VioIov(addr + off, min(seg, length - off), flags) for off in range(0, length, seg)]
