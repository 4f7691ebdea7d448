"""The HAL seam over qtest: the driver model, unchanged, in front of QEMU's
own virtio-mmio devices.

Register accesses are qtest ``readl``/``writel`` commands; guest memory is
QEMU's RAM, read and written with ``b64read``/``b64write`` (synchronous, as
the driver model's back door is), and the allocator hands out addresses in it.
Time is wall-clock time: QEMU's devices run on their own (block I/O in QEMU's
threads, entropy from the host), so a wait polls InterruptStatus until the
line is up or the bound has passed.
"""

import asyncio
import time

from .. import constants as C
from ..hal import VioHal
from ..memory import GuestMemory
from .process import RAM_BASE, RAM_MB, QemuMachine
from .qtest import QtestClient

# the allocator's part of RAM: clear of the device tree QEMU puts at its start
POOL_BASE = RAM_BASE + (1 << 20)
POOL_SIZE = 16 << 20
POLL_S = 20e-6  # between two InterruptStatus reads while waiting
# the GIC of the virt machine with one CPU (the CPU is device[0]); transport n
# raises its input 16 + n (QemuMachine.irq_line)
GIC_QOM_PATH = "/machine/unattached/device[1]"


class QemuMemory(GuestMemory):
    """Guest memory that lives in QEMU: every access is a qtest command."""

    def __init__(self, qtest: QtestClient, base: int = POOL_BASE, size: int = POOL_SIZE):
        if base < RAM_BASE or base + size > RAM_BASE + (RAM_MB << 20):
            raise ValueError(f"pool [{base:#x}, +{size:#x}) is outside QEMU's RAM")
        super().__init__(size, base, store=bytearray(0))  # no local copy: QEMU holds the bytes
        self.qtest = qtest

    def read(self, addr: int, length: int) -> bytes:
        self._offset(addr, length)
        return self.qtest.memread(addr, length)

    def write(self, addr: int, data: bytes) -> None:
        self._offset(addr, len(data))
        self.qtest.memwrite(addr, bytes(data))

    def fill(self, addr: int, length: int, value: int = 0) -> None:
        self._offset(addr, length)
        self.qtest.memset(addr, length, value)


class QemuHal(VioHal):
    """One QEMU virtio-mmio transport at ``machine.base`` (or several, by
    address: reads and writes are absolute).

    ``irq(vector)`` is the level of the transport's interrupt line. By
    default it is InterruptStatus != 0, read now (one qtest round trip per
    look). With ``intercept=True`` the GIC's inputs are intercepted
    (``irq_intercept_in``) and the level comes from the ``IRQ raise/lower``
    lines QEMU sends by itself: no register read per look, and ``wait_irq``
    sleeps in ``select`` until the line rises.
    """

    def __init__(self, machine: QemuMachine, mem: QemuMemory | None = None, *, intercept: bool = False):
        assert machine.qtest is not None, "start the QemuMachine first"
        self.machine = machine
        self.qtest = machine.qtest
        self.mem = mem if mem is not None else QemuMemory(self.qtest)
        self.accesses = 0
        self.intercept = intercept
        if intercept:
            self.qtest.irq_intercept_in(GIC_QOM_PATH)

    async def read(self, addr: int, size: int = 4) -> int:
        self.accesses += 1
        return self.qtest.read(addr, size)

    async def write(self, addr: int, value: int, size: int = 4) -> None:
        self.accesses += 1
        self.qtest.write(addr, value, size)

    def irq(self, vector: int) -> bool:
        if self.intercept:
            self.qtest.pump()
            return self.qtest.irq_level.get(self.machine.irq_line, False)
        return self.qtest.read(self.machine.base + C.VIRTIO_MMIO_INTERRUPT_STATUS, 4) != 0

    async def wait_irq(self, vector: int, timeout_ns: int) -> bool:
        deadline = time.monotonic_ns() + max(timeout_ns, 1)
        if self.intercept:
            while not self.irq(vector) and time.monotonic_ns() < deadline:
                self.qtest.pump((deadline - time.monotonic_ns()) / 1e9)
            return self.irq(vector)
        while True:
            if self.irq(vector):
                return True
            if time.monotonic_ns() >= deadline:
                return False
            await asyncio.sleep(POLL_S)

    def now_ns(self) -> int:
        return time.monotonic_ns()
