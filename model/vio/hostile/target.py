"""What a hostile scenario runs on: a device behind a HAL, its guest memory,
its backend, and a way to let it settle.

:class:`Target` is the interface; :class:`ModelTarget` is the reference device
in-process (every register write is handled to the end, so settling is a no-op).
The RTL's target lives in ``tests/test_hostile_rtl.py`` (settling there waits,
bounded in clock cycles, until no bus or stream is busy).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager

from ..device.loopback import LoopbackBackend
from ..device.mmio import DEFAULT_INDIRECT_MAX, TRANSPORT_FEATURES, ReferenceDevice
from ..hal import VioHal
from ..memory import GuestMemory
from ..model_hal import ModelHal
from ..oracle import AccessLog

BASE = 0x0A000000  # the register window, as vio.cocotb.env and the examples
MEM_SIZE = 1 << 20  # guest memory of every target (vio.cocotb.env's default)
# The DMA window of every target: the whole 32-bit space (the RTL's default for
# AXI_ADDR_WIDTH 32). Past the end of guest memory, inside the window, an access
# is a bus error (SLVERR on the RTL, IndexError on the model: case 21); past
# 2^32 it is outside the window (case 11); chains of gigabytes fit (case 12).
DMA_WINDOW = (0, 1 << 32)
QUEUE_NUM_MAX = 16
INDIRECT_MAX = DEFAULT_INDIRECT_MAX  # the RTL's default: case 8 judges what a default build accepts
NUM_QUEUES = 2
# memory accesses one register access may cause on the model: its "no hang"
# bound (the largest legal step of the scenarios makes < 200)
ACCESS_BUDGET = 2_000


class HostileBackend(LoopbackBackend):
    """The loopback personality with eight bytes of config space (case 23),
    answering at most a page: a fuzzed length of gigabytes then costs a page
    (on the RTL, a page of stream beats, drained well inside the settle bound)."""

    answer_max = 4096  # the scenarios' and valid fuzz chains' writable parts are far shorter
    CONFIG = bytes([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])

    def __init__(self, num_queues: int = NUM_QUEUES):
        super().__init__(num_queues)
        self._config = bytearray(self.CONFIG)
        self.closed: set[int] = set()  # queues the backend is not ready for

    def ready(self, queue: int) -> bool:
        return super().ready(queue) and queue not in self.closed

    def close(self, queue: int) -> None:
        """Not ready for ``queue`` (as a receive queue without data)."""
        self.closed.add(queue)
        self._wake(queue)  # on the RTL: backend_ready[queue] drops

    def open(self, queue: int) -> None:
        """Ready again: the device may look at the queue without a notify."""
        self.closed.discard(queue)
        self._wake(queue)

    def reset(self) -> None:
        super().reset()
        self.closed.clear()

    def config(self) -> bytes:
        return bytes(self._config)

    def config_write(self, offset: int, data: bytes) -> None:
        pass  # read-only config: a write must change nothing


class Target(ABC):
    """A device under a hostile campaign.

    ``hal`` reaches the registers at ``base``; ``mem`` is guest memory (the back
    door); ``backend`` is the :class:`HostileBackend` that answers its chains.
    ``exact_subword_reads``: a byte or half-word read of a register below 0x100
    gives 0 (the model); False where the bus reads whole words (the RTL, see
    docs/rtl.md "Known differences"). ``name`` appears in messages.
    """

    name = "target"
    base = BASE
    num_queues = NUM_QUEUES
    queue_num_max = QUEUE_NUM_MAX
    indirect_max = INDIRECT_MAX
    dma_window = DMA_WINDOW
    exact_subword_reads = True
    hal: VioHal
    mem: GuestMemory
    backend: HostileBackend

    dma_reads: list[tuple[int, int]]  # (address, length) of every device read of guest memory

    async def settle(self) -> None:
        """Return once the device has finished reacting to what was done (bounded)."""

    @abstractmethod
    def device_writes(self) -> "contextmanager[list[tuple[int, int]]]":
        """A context manager whose list holds, once the block ends, (address,
        length) of every write the device made to guest memory inside it (as
        a bus monitor sees them: a write the memory refused counts on the
        model, which tries it; on the RTL the refused burst writes nothing)."""

    @abstractmethod
    def interrupts(self) -> int:
        """Rising edges of the IRQ line so far."""


class BoundedModelHal(ModelHal):
    """A ModelHal whose every register access may make at most ``budget``
    guest memory accesses: a walk that does not stop fails instead of hanging."""

    def __init__(self, mem: GuestMemory, budget: int = ACCESS_BUDGET):
        super().__init__(mem)
        self.budget = budget
        self.dma_reads: list[tuple[int, int]] = []  # the device's reads, as a bus monitor sees them

    async def read(self, addr: int, size: int = 4) -> int:
        with AccessLog(self.mem, budget=self.budget) as log:
            try:
                return await super().read(addr, size)
            finally:
                self.dma_reads += log.reads

    async def write(self, addr: int, value: int, size: int = 4) -> None:
        with AccessLog(self.mem, budget=self.budget) as log:
            try:
                await super().write(addr, value, size)
            finally:
                self.dma_reads += log.reads


class ModelTarget(Target):
    """The reference device, with the parameters every target shares."""

    name = "reference device"

    def __init__(self) -> None:
        self.mem = GuestMemory(MEM_SIZE)
        self.hal = BoundedModelHal(self.mem)
        self.backend = HostileBackend(self.num_queues)
        self.dev = self.hal.attach(
            self.base,
            ReferenceDevice(
                self.backend,
                self.mem,
                queue_num_max=self.queue_num_max,
                transport_features=TRANSPORT_FEATURES,
                dma_window=self.dma_window,
                indirect_max=self.indirect_max,
            ),
        )

    @property
    def dma_reads(self) -> list[tuple[int, int]]:
        return self.hal.dma_reads

    @contextmanager
    def device_writes(self) -> Iterator[list[tuple[int, int]]]:
        writes: list[tuple[int, int]] = []
        with AccessLog(self.mem) as log:  # (in a step only the device writes memory)
            yield writes
        writes += log.writes

    def interrupts(self) -> int:
        return self.dev.interrupts_raised
