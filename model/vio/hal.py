"""The HAL seam: what the driver model needs from the platform under it.

Implement :class:`VioHal` to put the driver model in front of any device: the
reference device (:class:`vio.model_hal.ModelHal`), the RTL under cocotb
(``tb/``), or your own RTL. Register access and waiting are coroutines, so the
same driver code runs with simulated time passing between bus transactions;
guest memory is a synchronous :class:`~vio.memory.GuestMemory` (the back door).
"""

from abc import ABC, abstractmethod

from .memory import GuestMemory


class VioHal(ABC):
    """Bus access to one or more virtio-mmio register windows plus guest memory.

    Addresses given to ``read``/``write`` are absolute (``driver.base + offset``),
    as a CPU would issue them. ``size`` is 1, 2 or 4 bytes; registers below 0x100
    are 32-bit, config space (0x100 and up) may be accessed at any of the three.
    """

    mem: GuestMemory

    @abstractmethod
    async def read(self, addr: int, size: int = 4) -> int:
        """One register read; returns the value zero-extended."""

    @abstractmethod
    async def write(self, addr: int, value: int, size: int = 4) -> None:
        """One register write; complete when the device has taken it."""

    @abstractmethod
    def irq(self, vector: int) -> bool:
        """The level of interrupt line ``vector`` (the driver's ``vector``) now."""

    @abstractmethod
    async def wait_irq(self, vector: int, timeout_ns: int) -> bool:
        """Wait until line ``vector`` is high or ``timeout_ns`` has passed.

        Returns the line's level. Must let at least some time pass when the line
        is low, so that a polling loop advances.
        """

    @abstractmethod
    def now_ns(self) -> int:
        """The platform's notion of time, used to bound every wait."""
