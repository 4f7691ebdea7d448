"""A HAL that puts the driver model in front of reference devices, in-process.

Time is virtual: each register access costs ``access_ns``, and waiting for an
interrupt that is not there jumps the clock to the deadline (nothing in the
reference device moves by itself), so a timeout is reached at once and
deterministically.
"""

from .device.mmio import ReferenceDevice
from .errors import VioNoDevice
from .hal import VioHal
from .memory import GuestMemory

WINDOW_SIZE = 0x200  # bytes of register space per device, as QEMU's virt machine


class ModelHal(VioHal):
    def __init__(self, mem: GuestMemory, access_ns: int = 10):
        self.mem = mem
        self.access_ns = access_ns
        self.time_ns = 0
        self.devices: dict[int, tuple[ReferenceDevice, int]] = {}
        self.accesses = 0

    def attach(self, base: int, device: ReferenceDevice, vector: int = 0) -> ReferenceDevice:
        self.devices[base] = (device, vector)
        return device

    def _find(self, addr: int) -> tuple[ReferenceDevice, int]:
        for base, (device, _) in self.devices.items():
            if base <= addr < base + WINDOW_SIZE:
                return device, addr - base
        raise VioNoDevice(f"bus error: no device answers at {addr:#x}")

    async def read(self, addr: int, size: int = 4) -> int:
        device, offset = self._find(addr)
        self.time_ns += self.access_ns
        self.accesses += 1
        return device.read(offset, size)

    async def write(self, addr: int, value: int, size: int = 4) -> None:
        device, offset = self._find(addr)
        self.time_ns += self.access_ns
        self.accesses += 1
        device.write(offset, value, size)

    def irq(self, vector: int) -> bool:
        return any(dev.irq for dev, vec in self.devices.values() if vec == vector)

    async def wait_irq(self, vector: int, timeout_ns: int) -> bool:
        if not self.irq(vector):
            self.time_ns += max(timeout_ns, 1)
        return self.irq(vector)

    def now_ns(self) -> int:
        return self.time_ns
