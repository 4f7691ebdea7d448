"""The HAL seam under cocotb: the driver model drives an RTL virtio-mmio device.

Registers go through cocotbext-axi's ``AxiLiteMaster``; guest memory is one
bytearray shared by the driver model's :class:`GuestMemory` (back door) and
the :class:`~vio.cocotb.guest_ram.GuestRam` that serves the DUT's DMA master,
so what the driver writes the DUT reads and vice versa; the interrupt is the
DUT's interrupt output.

To put the driver model in front of your own RTL, build a ``CocotbHal`` with
your register master, interrupt signal and memory: nothing else is needed.
"""

from cocotb.handle import SimHandleBase
from cocotb.triggers import First, RisingEdge, Timer
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteMaster
from cocotbext.axi.constants import AxiResp

from vio.errors import VioNoDevice
from vio.hal import VioHal
from vio.memory import GuestMemory


class CocotbHal(VioHal):
    """Register window of ``axil`` seen at CPU address ``base`` (the driver's
    ``base``), interrupt line ``irq`` (vector 0), guest memory ``mem``.

    The driver model uses absolute addresses (``base + offset``), as a CPU
    would; the AXI4-Lite slave decodes only its own window, so the HAL
    subtracts ``base`` and refuses addresses outside the window (a bus error
    on a real CPU). Every response must be OKAY: the RTL never answers
    anything else, so another response is a device bug and raises.
    """

    def __init__(self, axil: AxiLiteMaster, irq: SimHandleBase, mem: GuestMemory, base: int = 0):
        self.axil = axil
        self.irq_signal = irq
        self.mem = mem
        self.base = base
        self.window = 2**axil.write_if.address_width
        self.reads = 0
        self.writes = 0

    def _offset(self, addr: int, size: int) -> int:
        offset = addr - self.base
        if not 0 <= offset <= self.window - size:
            raise VioNoDevice(
                f"bus error: no device answers at {addr:#x} (register window {self.base:#x}..{self.base + self.window - 1:#x})"
            )
        return offset

    async def read(self, addr: int, size: int = 4) -> int:
        offset = self._offset(addr, size)
        self.reads += 1
        resp = await self.axil.read(offset, size)
        if resp.resp != AxiResp.OKAY:
            raise AssertionError(f"AXI4-Lite read at {addr:#x} answered {resp.resp!r}; the device answers OKAY only")
        return int.from_bytes(resp.data, "little")

    async def write(self, addr: int, value: int, size: int = 4) -> None:
        offset = self._offset(addr, size)
        self.writes += 1
        resp = await self.axil.write(offset, (value & ((1 << 8 * size) - 1)).to_bytes(size, "little"))
        if resp.resp != AxiResp.OKAY:
            raise AssertionError(f"AXI4-Lite write at {addr:#x} answered {resp.resp!r}; the device answers OKAY only")

    def irq(self, vector: int = 0) -> bool:
        return str(self.irq_signal.value) == "1"

    async def wait_irq(self, vector: int, timeout_ns: int) -> bool:
        if not self.irq(vector):
            await First(RisingEdge(self.irq_signal), Timer(max(timeout_ns, 1), unit="ns"))
        return self.irq(vector)

    def now_ns(self) -> int:
        return int(get_sim_time(unit="ns"))
