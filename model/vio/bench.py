"""``make bench-model``: how fast the driver model drives the reference device.

Prints transfers per second and MB/s of payload for a few transfer sizes, in
both directions (driver-to-device: readable buffer; device-to-driver: writable
buffer), direct chains and indirect tables. Wall-clock figures of this Python
process; they say how much simulated traffic the model can predict per second.
"""

import asyncio
import time

from . import constants as C
from .device.loopback import LoopbackBackend
from .device.mmio import ReferenceDevice
from .driver import VIO_IOV_FLAGS_WRITE, VioDriver, VioQueue, VioTransfer
from .memory import GuestMemory
from .model_hal import ModelHal

SIZES = (64, 512, 4096, 65536)
SEGMENT = 4096  # one iov entry per 4 KiB, so large transfers are real chains
BASE = 0x10000000


async def _run(size: int, to_device: bool, indirect: bool, seconds: float) -> tuple[int, float]:
    mem = GuestMemory(1 << 24)
    hal = ModelHal(mem)
    hal.attach(BASE, ReferenceDevice(LoopbackBackend(1), mem, queue_num_max=256))
    features = 1 << C.VIRTIO_RING_F_INDIRECT_DESC if indirect else 0
    drv = VioDriver(BASE, drv_features=features, queue=[VioQueue("bench", 256, interrupts=False, indirect=indirect)], hal=hal)
    await drv.init()
    buf = mem.alloc(size)
    flags = 0 if to_device else VIO_IOV_FLAGS_WRITE
    iov = [(buf + off, min(SEGMENT, size - off), flags) for off in range(0, size, SEGMENT)]
    batch_len = min(32, 256 // (1 if indirect else len(iov)))
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = [VioTransfer(0, iov) for _ in range(batch_len)]
        for tfr in batch:
            await drv.submit(tfr)
        while not all(t.done for t in batch):
            await drv.poll()
        count += len(batch)
    return count, time.perf_counter() - start


def main(seconds: float = 0.5) -> None:
    print("driver model + reference device (loopback backend), wall clock, one process")
    print(f"{'size':>7} {'direction':>16} {'chain':>9} {'transfers/s':>12} {'MB/s':>9}")
    for size in SIZES:
        for to_device in (True, False):
            for indirect in (False, True):
                count, elapsed = asyncio.run(_run(size, to_device, indirect, seconds))
                rate = count / elapsed
                direction = "driver->device" if to_device else "device->driver"
                chain = "indirect" if indirect else "direct"
                print(f"{size:>7} {direction:>16} {chain:>9} {rate:>12.0f} {rate * size / 1e6:>9.1f}")


if __name__ == "__main__":
    main()
