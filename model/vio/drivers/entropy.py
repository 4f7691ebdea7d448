"""The virtio-rng class driver: one queue of device-writable buffers; the
device fills at least one byte of each and says how many in used.len."""

from ..driver import VIO_IOV_FLAGS_WRITE, VioDriver, VioIov, VioQueue, VioTransfer
from ..errors import VioConfigError, VioError
from ..hal import VioHal
from .base import DEFAULT_TIMEOUT_NS, ClassDriver


class EntropyDriver(ClassDriver):
    """A virtio-rng device at ``base`` with one queue "input"; offers only ``ring_features``.

    ``buf_size`` bounds one request; :meth:`read` loops until it has what was asked.
    """

    def __init__(
        self,
        hal: VioHal,
        base: int,
        *,
        vector: int = 0,
        ring_features: int = 0,
        queue_size: int = 16,
        buf_size: int = 4096,
        timeout_ns: int = DEFAULT_TIMEOUT_NS,
    ):
        if not 0 < buf_size <= 0xFFFFFFFF:
            raise VioConfigError(f"entropy buf_size {buf_size} must be 1..2^32-1")
        vio = VioDriver(base, vector, priv=self, drv_features=ring_features, queue=[VioQueue("input", queue_size)], hal=hal)
        super().__init__(vio, timeout_ns)
        self.buf_size = buf_size

    async def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes, in as many requests as the device needs (it may
        fill less than asked). A completion of 0 bytes breaks the spec's promise
        and would loop for ever, so it raises VioError."""
        if n < 0:
            raise VioConfigError(f"entropy read of {n} bytes")
        if n == 0:
            return b""
        mem = self.hal.mem
        out = bytearray()
        buf = mem.alloc(min(n, self.buf_size))
        try:
            while len(out) < n:
                ask = min(n - len(out), self.buf_size)
                got = await self.transfer(VioTransfer(0, [VioIov(buf, ask, VIO_IOV_FLAGS_WRITE)]))
                if got == 0:
                    raise VioError(f"entropy device at {self.vio.base:#x} completed a {ask}-byte request with 0 bytes")
                out += mem.read(buf, got)
        finally:
            mem.free(buf)
        return bytes(out)
