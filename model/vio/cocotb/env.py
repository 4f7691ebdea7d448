"""The co-simulation environment: the driver model, unchanged, in front of a
virtio-mmio device's RTL.

:class:`VirtioEnv` puts together everything a test needs around the DUT: a
clock and reset, cocotbext-axi's ``AxiLiteMaster`` on the register port
behind a :class:`~vio.cocotb.hal.CocotbHal`, guest memory served to the DMA
port by a :class:`~vio.cocotb.guest_ram.GuestRam` (over the same bytearray as
the driver's :class:`~vio.memory.GuestMemory`), a model backend on the
backend streams through :class:`~vio.cocotb.backend_stream.BackendStreams`,
an interrupt monitor, the AXI protocol checker on request, and factories for
the driver model objects. Every port is bound by prefix, as cocotbext-axi
binds a bus (``AxiLiteBus.from_prefix(dut, regs)``...): nothing in the kit
knows the names of this project's top.

Two knobs stress the DUT's handshakes:

- ``pause``: probability of a gap per clock on every AXI channel (both
  directions of AXI4-Lite and AXI4) and both streams: valid gaps where the
  testbench drives, ready gaps where it receives. Seeded by ``seed``.
- ``mem_latency``: cycles of memory latency (:mod:`vio.cocotb.guest_ram`). A
  read burst's first data beat comes no earlier than ``mem_latency`` cycles
  after its AR handshake, and a write burst's B no earlier than
  ``mem_latency`` cycles after its last W beat. Bursts in flight overlap
  their latency (a pipelined memory), so the DUT's outstanding bursts matter;
  the memory accepts up to ``mem_reads_in_flight`` read bursts (default 16)
  before it has answered the oldest. Gaps from ``pause`` come on top. A test may change it later
  (``env.ram.read_if.latency``, ``env.ram.write_if.latency``).

``params`` describes the device the way the reference device needs to
predict it, with the names of virtio_mmio's parameters (the bus widths come
from the ports, :data:`DEVICE_DEFAULTS` fills in the rest of what is not
given).
"""

import logging

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from vio import constants as C
from vio.device.backend import Backend
from vio.device.mmio import DEFAULT_INDIRECT_MAX, DEFAULT_VENDOR_ID, TRANSPORT_FEATURES, ReferenceDevice
from vio.driver import VioDriver, VioQueue
from vio.memory import GuestMemory
from vio.model_hal import ModelHal

from .axi_protocol import AxiProtocolChecker
from .backend_stream import BackendStreams
from .clock import DEFAULT_PERIOD_NS, CycleClock, start_clock
from .faults import FaultHook, FaultPlan
from .gaps import Gaps
from .guest_ram import READS_IN_FLIGHT, GuestRam
from .hal import CocotbHal
from .waits import until_quiet, within

BASE = 0x0A000000  # where QEMU's virt machine puts its first virtio-mmio transport, as the example
DEFAULT_MEM_SIZE = 1 << 20

# The device's configuration, named as virtio_mmio's parameters (docs/rtl.md,
# "Parameters"): what the reference device needs to predict it
DEVICE_DEFAULTS = {
    "DEVICE_ID": 0xFFF0,
    "VENDOR_ID": DEFAULT_VENDOR_ID,
    "HOST_FEATURES": TRANSPORT_FEATURES,
    "NUM_QUEUES": 2,
    "QUEUE_NUM_MAX": 16,
    "INDIRECT_MAX": DEFAULT_INDIRECT_MAX,
    "RING_INDEX_BASE": 0,
    "AXI_DATA_WIDTH": 32,
    "AXI_ADDR_WIDTH": 32,
    "DMA_BASE": 0,
}


def device_parameters(params: dict[str, int] | None = None) -> dict[str, int]:
    """``params`` over :data:`DEVICE_DEFAULTS`; DMA_SIZE defaults to the whole address space."""
    out = dict(DEVICE_DEFAULTS)
    out.update(params or {})
    out.setdefault("DMA_SIZE", 1 << out["AXI_ADDR_WIDTH"])
    return out


def personality_parameters(backend: Backend) -> dict[str, int]:
    """The parameters that make the device the one ``backend`` is the
    personality of: its id, its queues, its features plus the transport's."""
    return {
        "DEVICE_ID": backend.device_id,
        "NUM_QUEUES": backend.num_queues,
        "HOST_FEATURES": backend.device_features | TRANSPORT_FEATURES,
    }


class VirtioEnv:
    """The DUT ``dut`` with ``backend`` behind its streams and guest memory in front.

    Bindings, each by prefix as cocotbext-axi's ``from_prefix``: ``clock``,
    ``reset`` (active at ``reset_active_level``) and ``irq`` are signal
    handles; ``regs`` the AXI4-Lite register port, ``dma`` the AXI4 master,
    ``requests`` and ``answers`` the backend's AXI4-Stream pair (device to
    backend, backend to device), ``sideband`` the prefix of the rest of the
    backend interface (:class:`~vio.cocotb.backend_stream.BackendBus`; None:
    its names alone). ``idle`` is the DUT's own "nothing in progress" signal
    where it has one: a pipelined device may walk a chain, or pass a
    completion from unit to unit, with every bus quiet.

    Construct one per cocotb test (its bus models run until the test ends);
    it starts the clock (``period_ns``) and holds the reset; then ``await
    env.start()`` (reset released). The driver model reaches the device
    through ``env.hal`` at ``env.base``; ``env.mem`` is the guest memory (a
    back door into the same bytes the DUT reads and writes). ``irq_cycles``
    lists the cycle of every rising edge of ``irq``; ``on_irq`` (a callable
    taking the cycle) is told of each. ``verbose`` keeps the bus models' INFO
    logs (one line per burst). ``faults`` (the fault hook of
    :mod:`vio.cocotb.faults`, e.g. a ``FaultPlan``) injects bus errors into
    guest memory; ``protocol=True`` (or ``env.protocol_checker()``) watches
    both AXI ports with :mod:`vio.cocotb.axi_protocol`. ``store`` gives the
    bytes of guest memory (default: a new bytearray of ``mem_size``), e.g. the
    64 KiB-aligned ones Linux's ring code needs (vio.linux.ring.guest_store).
    """

    def __init__(
        self,
        dut: SimHandleBase,
        backend: Backend,
        *,
        clock: SimHandleBase,
        reset: SimHandleBase,
        irq: SimHandleBase,
        regs: str,
        dma: str,
        requests: str,
        answers: str,
        sideband: str | None = None,
        idle: SimHandleBase | None = None,
        reset_active_level: bool = True,
        period_ns: int = DEFAULT_PERIOD_NS,
        params: dict[str, int] | None = None,
        mem_size: int = DEFAULT_MEM_SIZE,
        pause: float | None = None,
        mem_latency: int = 0,
        mem_reads_in_flight: int = READS_IN_FLIGHT,
        seed: int = 0,
        base: int = BASE,
        verbose: bool = False,
        faults: FaultHook | None = None,
        protocol: bool = False,
        store: bytearray | None = None,
    ):
        if mem_latency < 0 or pause is not None and not 0 <= pause < 1:
            raise ValueError(f"mem_latency {mem_latency} must be >= 0 and pause {pause} in [0, 1)")
        if not verbose:  # the bus models log under cocotb.<the DUT's name> (cocotb's public _name)
            logging.getLogger(f"cocotb.{dut._name}").setLevel(logging.WARNING)
        self.dut = dut
        self.backend = backend
        self.base = base
        # what the ports show (widths, queues) unless ``params`` says it
        seen = {"AXI_DATA_WIDTH": len(getattr(dut, f"{dma}_wdata")), "AXI_ADDR_WIDTH": len(getattr(dut, f"{dma}_awaddr"))}
        self.params = device_parameters({**seen, **(params or {})})
        self.mem_latency = mem_latency
        self.pause = pause
        self.seed = seed
        self.clock = clock
        self.reset = reset
        self.irq = irq
        self.prefixes = {"regs": regs, "dma": dma, "requests": requests, "answers": answers}
        self.reset_active_level = reset_active_level
        self.period_ns = period_ns
        self.cycle_clock = CycleClock(period_ns)
        reset.value = int(reset_active_level)
        self.clock_driver = start_clock(clock, period_ns)
        self.store = bytearray(mem_size) if store is None else store
        mem_size = len(self.store)
        self.mem = GuestMemory(mem_size, store=self.store)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, regs), clock, reset, reset_active_level)
        if isinstance(faults, FaultPlan):
            faults.clock = self.cycle_clock
        self.faults = faults
        self.ram = GuestRam(dut, dma, clock, reset, mem=self.store, period_ns=period_ns, latency=mem_latency, faults=faults,
                            reset_active_level=reset_active_level, reads_in_flight=mem_reads_in_flight)  # fmt: skip
        self.hal = CocotbHal(self.axil, irq, self.mem, base=base)
        self.gaps = Gaps(clock)  # every channel's pauses (vio.cocotb.gaps)
        self.streams = BackendStreams(dut, backend, clock, reset, requests=requests, answers=answers, sideband=sideband,
                                      reset_active_level=reset_active_level, gaps=self.gaps)  # fmt: skip
        self.idle_signal = idle
        self.irq_cycles: list[int] = []
        self.on_irq = None
        self._irq_task = cocotb.start_soon(self._watch_irq())
        self.set_pause(pause, seed)
        self.protocol: AxiProtocolChecker | None = None
        if protocol:
            self.protocol_checker()

    def protocol_checker(self) -> AxiProtocolChecker:
        """The AXI protocol checker (:mod:`vio.cocotb.axi_protocol`) on the DMA
        and register ports (started once; the same object on later calls). A
        test ends with ``env.protocol.check()``."""
        if self.protocol is None:
            self.protocol = AxiProtocolChecker(self.dut, self.clock, self.reset, dma=self.prefixes["dma"], regs=self.prefixes["regs"],
                                               cycle_clock=self.cycle_clock, reset_active_level=self.reset_active_level)  # fmt: skip
        return self.protocol

    async def start(self, reset_cycles: int = 8) -> None:
        """Synchronous reset of the DUT and the bus models, then two idle cycles."""
        self.reset.value = int(self.reset_active_level)
        await ClockCycles(self.clock, reset_cycles)
        self.reset.value = int(not self.reset_active_level)
        await ClockCycles(self.clock, 2)

    # ------------------------------------------------------------- knobs
    def channels(self) -> list:
        """Every channel model that can pause: AXI4-Lite, AXI4, both streams."""
        w, r = self.axil.write_if, self.axil.read_if
        lite = [w.aw_channel, w.w_channel, w.b_channel, r.ar_channel, r.r_channel]
        return lite + self.ram.channels() + [self.streams.sink, self.streams.source]

    def set_pause(self, probability: float | None, seed: int = 0) -> None:
        """Random gaps with ``probability`` per clock on every channel; None or 0: none."""
        self.gaps.random(self.channels(), probability, seed)

    # ------------------------------------------------------------- time
    @property
    def cycle(self) -> int:
        """Clock cycles since the start of the simulation."""
        return self.cycle_clock.now()

    def say(self, text: str) -> None:
        print(f"cycle {self.cycle:>8}  {text}", flush=True)

    async def cycles(self, n: int) -> None:
        await ClockCycles(self.clock, n)

    async def until_used(self, queue: VioQueue, target: int, bound: int = 100_000) -> int:
        """The cycle at which the DUT's write makes used.idx of ``queue`` equal
        ``target``: used.idx looked at after each write the DUT makes into it
        (no polling at every clock edge). Fails after ``bound`` cycles."""
        addr = queue.layout.used_idx
        reached = self.ram.until(lambda: self.mem.read16(addr) == target, span=(addr, addr + 2))
        await within(reached, bound * self.period_ns, f"used.idx of {queue.name} did not reach {target} in {bound} cycles")
        return self.cycle

    async def _watch_irq(self) -> None:
        edge = RisingEdge(self.irq)
        while True:
            await edge
            self.irq_cycles.append(self.cycle)
            if self.on_irq is not None:
                self.on_irq(self.cycle)

    def device_idle(self) -> bool:
        """The DUT says it has nothing in progress (always True for a DUT
        without such a signal: the buses' silence is all there is to go by)."""
        return self.idle_signal is None or str(self.idle_signal.value) == "1"

    async def quiesce(self, quiet_cycles: int = 16) -> None:
        """Wait until no valid signal is high on any bus or stream for
        ``quiet_cycles``, the DUT is idle and the backend owes no answer
        (docs/rtl.md: compare at quiescent points)."""
        await self.until_quiet(quiet_cycles, busy=lambda: not self.streams.idle())

    async def until_quiet(self, cycles: int, *, register_bus: bool = True, busy=None, timeout_cycles: int | None = None) -> None:
        """Until ``cycles`` clock edges in a row see no VALID high on the DMA
        bus, the streams (and the register bus), the DUT idle
        (:meth:`device_idle`) and ``busy()`` false (vio.cocotb.waits: asleep
        while nothing moves). ``timeout_cycles``: AssertionError when not
        quiet by then."""
        dut, dma, regs = self.dut, self.prefixes["dma"], self.prefixes["regs"]
        signals = [getattr(dut, f"{dma}_{channel}valid") for channel in ("ar", "r", "aw", "w", "b")]
        signals += [self.streams.sink.bus.tvalid, self.streams.source.bus.tvalid]
        if register_bus:
            signals += [getattr(dut, f"{regs}_{channel}valid") for channel in ("aw", "ar", "b", "r")]
        timeout = None if timeout_cycles is None else timeout_cycles * self.period_ns
        idle = [] if self.idle_signal is None else [self.idle_signal]
        await until_quiet(self.clock, signals, cycles, period_ns=self.period_ns, idle=idle, busy=busy, timeout_ns=timeout)

    # ---------------------------------------------------------- factories
    def vio_driver(self, queues: list[VioQueue], features: int = 0, **kwargs) -> VioDriver:
        """A bare ``VioDriver`` (the seed's cyg_vio_driver) on this device, with
        the build's RING_INDEX_BASE unless ``ring_index_base`` is given."""
        kwargs.setdefault("ring_index_base", self.params["RING_INDEX_BASE"])
        return VioDriver(self.base, drv_features=features, queue=queues, hal=self.hal, **kwargs)

    def class_driver(self, cls, **kwargs):
        """A class driver (ConsoleDriver, BlockDriver, EntropyDriver...) on this device."""
        return cls(self.hal, self.base, **kwargs)

    def reference(self, backend: Backend) -> tuple[ModelHal, ReferenceDevice]:
        """A reference device with this device's parameters, on its own guest
        memory of the same size, behind a ModelHal at the same base: the
        prediction to compare the DUT with."""
        p = self.params
        mem = GuestMemory(self.mem.size)
        hal = ModelHal(mem)
        dev = ReferenceDevice(
            backend,
            mem,
            vendor_id=p["VENDOR_ID"],
            queue_num_max=p["QUEUE_NUM_MAX"],
            transport_features=p["HOST_FEATURES"] & ~backend.device_features,
            dma_window=(p["DMA_BASE"], p["DMA_SIZE"]),
            indirect_max=p["INDIRECT_MAX"],
            ring_index_base=p["RING_INDEX_BASE"],
        )
        hal.attach(self.base, dev)
        return hal, dev

    async def check_identity(self) -> None:
        """The build is the backend's personality: DeviceID and HostFeatures as
        ``personality_parameters`` says (a wrong build fails here, clearly)."""
        hal, b = self.hal, self.backend
        device_id = await hal.read(self.base + C.VIRTIO_MMIO_DEVICE_ID)
        features = 0
        for sel in (0, 1):
            await hal.write(self.base + C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel)
            features |= await hal.read(self.base + C.VIRTIO_MMIO_DEVICE_FEATURES) << (32 * sel)
        want = personality_parameters(b)
        assert device_id == want["DEVICE_ID"], f"DeviceID {device_id:#x}, the backend is {want['DEVICE_ID']:#x}"
        assert features == want["HOST_FEATURES"], f"HostFeatures {features:#x}, the backend needs {want['HOST_FEATURES']:#x}"
        assert self.streams.num_queues >= b.num_queues, f"{self.streams.num_queues} queues, the backend has {b.num_queues}"

