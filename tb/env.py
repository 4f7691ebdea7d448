"""The co-simulation environment: the driver model, unchanged, in front of the RTL.

:class:`VirtioEnv` puts together everything a test needs around ``virtio_mmio``:
a clock and reset, cocotbext-axi's ``AxiLiteMaster`` on ``s_axil`` behind a
:class:`~tb.hal.CocotbHal`, guest memory served to ``m_axi`` by a
:class:`~tb.guest_ram.GuestRam` (an ``AxiRam`` over the same bytearray as the
driver's :class:`~vio.memory.GuestMemory`), a model backend on the streams
through :class:`~tb.backend_stream.BackendStreams`, an interrupt monitor, and
factories for the driver model objects.

Two knobs stress the RTL's handshakes:

- ``pause``: probability of a gap per clock on every AXI channel (both
  directions of AXI4-Lite and AXI4) and both streams: valid gaps where the
  testbench drives, ready gaps where it receives. Seeded by ``seed``.
- ``mem_latency``: cycles of memory latency (tb/guest_ram.py). A read
  burst's first data beat comes no earlier than ``mem_latency`` cycles after
  its AR handshake, and a write burst's B no earlier than ``mem_latency``
  cycles after its last W beat. Bursts in flight overlap their latency (a
  pipelined memory), so the RTL's outstanding bursts matter. Gaps from
  ``pause`` come on top. A test may change it later
  (``env.ram.read_if.latency``, ``env.ram.write_if.latency``).

Parameters of the build reach the test module in the environment variable
``VIO_PARAMS`` (JSON, set by the runner); :func:`rtl_parameters` reads them and
fills in the defaults of hdl/README.md. Building and running is tb/runner.py.
"""

import json
import logging
import os

import cocotb
from cocotb.clock import Clock
from cocotb.handle import SimHandleBase
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from vio import constants as C
from vio.device.backend import Backend
from vio.device.mmio import DEFAULT_INDIRECT_MAX, TRANSPORT_FEATURES, ReferenceDevice
from vio.driver import VioDriver, VioQueue
from vio.memory import GuestMemory
from vio.model_hal import ModelHal

from .backend_stream import BackendStreams
from .gaps import Gaps
from .guest_ram import GuestRam
from .hal import CocotbHal
from .waits import until_quiet, within

CLOCK_PERIOD_NS = 10
BASE = 0x0A000000  # where QEMU's virt machine puts its first virtio-mmio transport, as the example
DEFAULT_MEM_SIZE = 1 << 20
PARAMS_ENV = "VIO_PARAMS"

# hdl/README.md, "Parameters of virtio_mmio" (those a test may need to know)
RTL_DEFAULTS = {
    "DEVICE_ID": 0xFFF0,
    "VENDOR_ID": 0x4B4F4956,
    "HOST_FEATURES": TRANSPORT_FEATURES,
    "NUM_QUEUES": 2,
    "QUEUE_NUM_MAX": 16,
    "INDIRECT_MAX": DEFAULT_INDIRECT_MAX,
    "RING_INDEX_BASE": 0,
    "AXI_DATA_WIDTH": 32,
    "AXI_ADDR_WIDTH": 32,
    "DMA_BASE": 0,
}


def rtl_parameters() -> dict[str, int]:
    """The parameters the DUT was built with: ``VIO_PARAMS`` over the RTL's defaults."""
    params = dict(RTL_DEFAULTS)
    params.update(json.loads(os.environ.get(PARAMS_ENV, "{}")))
    params.setdefault("DMA_SIZE", 1 << params["AXI_ADDR_WIDTH"])
    return params


def start_clock(signal: SimHandleBase) -> Clock:
    """The test bench's clock on ``signal``, started: cocotb's clock in C++
    (``impl="gpi"``; on Icarus the default is a Python coroutine, two task
    resumes a cycle), started low so that the first rising edge comes half a
    period after time 0, when the reset written at time 0 has reached the DUT
    and the bus models."""
    clock = Clock(signal, CLOCK_PERIOD_NS, unit="ns", impl="gpi")
    clock.start(start_high=False)
    return clock


def personality_parameters(backend: Backend) -> dict[str, int]:
    """The build parameters that make the RTL the device ``backend`` is the
    personality of: its id, its queues, its features plus the transport's."""
    return {
        "DEVICE_ID": backend.device_id,
        "NUM_QUEUES": backend.num_queues,
        "HOST_FEATURES": backend.device_features | TRANSPORT_FEATURES,
    }


class VirtioEnv:
    """The RTL ``dut`` with ``backend`` behind its streams and guest memory in front.

    Construct one per cocotb test (its bus models run until the test ends),
    then ``await env.start()`` (reset). The
    driver model reaches the device through ``env.hal`` at ``env.base``;
    ``env.mem`` is the guest memory (a back door into the same bytes the DUT
    reads and writes). ``irq_cycles`` lists the cycle of every rising edge of
    ``irq``; ``on_irq`` (a callable taking the cycle) is told of each.
    ``verbose`` keeps the bus models' INFO logs (one line per burst).
    ``faults`` (a :class:`tb.faults.FaultPlan`) injects bus errors into guest
    memory; ``protocol=True`` (or ``env.protocol_checker()``) watches both AXI
    ports with tb/axi_protocol.py. ``store`` gives the bytes of guest memory
    (default: a new bytearray of ``mem_size``), e.g. the 64 KiB-aligned ones
    Linux's ring code needs (vio.linux.ring.guest_store).
    """

    def __init__(
        self,
        dut: SimHandleBase,
        backend: Backend,
        *,
        mem_size: int = DEFAULT_MEM_SIZE,
        pause: float | None = None,
        mem_latency: int = 0,
        seed: int = 0,
        base: int = BASE,
        verbose: bool = False,
        faults=None,
        protocol: bool = False,
        store=None,
    ):
        if mem_latency < 0 or pause is not None and not 0 <= pause < 1:
            raise ValueError(f"mem_latency {mem_latency} must be >= 0 and pause {pause} in [0, 1)")
        if not verbose:
            logging.getLogger(f"cocotb.{dut._name}").setLevel(logging.WARNING)
        self.dut = dut
        self.backend = backend
        self.base = base
        self.params = rtl_parameters()
        self.mem_latency = mem_latency
        self.pause = pause
        self.seed = seed
        dut.rst.value = 1
        self.clock = start_clock(dut.clk)
        self.store = bytearray(mem_size) if store is None else store
        mem_size = len(self.store)
        self.mem = GuestMemory(mem_size, store=self.store)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.faults = faults
        self.ram = GuestRam(dut, "m_axi", dut.clk, dut.rst, self.store, period_ns=CLOCK_PERIOD_NS, latency=mem_latency, faults=faults)
        self.hal = CocotbHal(self.axil, dut.irq, self.mem, base=base)
        self.gaps = Gaps(dut.clk)  # every channel's pauses (tb/gaps.py)
        self.streams = BackendStreams(dut, backend, dut.clk, dut.rst, gaps=self.gaps)
        # the DUT's own "nothing in progress" signal where it has one (this
        # project's RTL: engine_idle): a pipelined engine may walk a chain, or
        # pass a completion from unit to unit, with every bus quiet
        self.idle_signal = getattr(dut, "engine_idle", None)
        self.irq_cycles: list[int] = []
        self.on_irq = None
        self._irq_task = cocotb.start_soon(self._watch_irq())
        self.set_pause(pause, seed)
        self.protocol = None
        if protocol:
            self.protocol_checker()

    def protocol_checker(self):
        """The AXI protocol checker of tb/axi_protocol.py on ``m_axi`` and
        ``s_axil`` (started once; the same object on later calls). A test
        ends with ``env.protocol.check()``."""
        if self.protocol is None:
            from .axi_protocol import AxiProtocolChecker

            self.protocol = AxiProtocolChecker(self.dut, self.dut.clk, self.dut.rst)
        return self.protocol

    async def start(self, reset_cycles: int = 8) -> None:
        """Synchronous reset of the DUT and the bus models, then two idle cycles."""
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, reset_cycles)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

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
        return int(get_sim_time(unit="ns")) // CLOCK_PERIOD_NS

    def say(self, text: str) -> None:
        print(f"cycle {self.cycle:>8}  {text}", flush=True)

    async def cycles(self, n: int) -> None:
        await ClockCycles(self.dut.clk, n)

    async def until_used(self, queue: VioQueue, target: int, bound: int = 100_000) -> int:
        """The cycle at which the DUT's write makes used.idx of ``queue`` equal
        ``target``: guest memory looked at after each write the DUT makes (no
        polling at every clock edge). Fails after ``bound`` cycles."""
        addr = queue.layout.used_idx
        reached = self.ram.until(lambda: self.mem.read16(addr) == target)
        await within(reached, bound * CLOCK_PERIOD_NS, f"used.idx of {queue.name} did not reach {target} in {bound} cycles")
        return self.cycle

    async def _watch_irq(self) -> None:
        edge = RisingEdge(self.dut.irq)
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
        (:meth:`device_idle`) and ``busy()`` false (tb/waits.py: asleep while
        nothing moves). ``timeout_cycles``: AssertionError when not quiet by
        then."""
        names = ["m_axi_arvalid", "m_axi_rvalid", "m_axi_awvalid", "m_axi_wvalid", "m_axi_bvalid", "m_axis_tvalid", "s_axis_tvalid"]
        if register_bus:
            names += ["s_axil_awvalid", "s_axil_arvalid", "s_axil_bvalid", "s_axil_rvalid"]
        timeout = None if timeout_cycles is None else timeout_cycles * CLOCK_PERIOD_NS
        signals = [getattr(self.dut, name) for name in names]
        idle = [] if self.idle_signal is None else [self.idle_signal]
        await until_quiet(self.dut.clk, signals, cycles, period_ns=CLOCK_PERIOD_NS, idle=idle, busy=busy, timeout_ns=timeout)

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
        """A reference device with this build's parameters, on its own guest
        memory of the same size, behind a ModelHal at the same base: the
        prediction to compare the RTL with."""
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
        assert len(self.dut.backend_ready) >= b.num_queues, f"{len(self.dut.backend_ready)} queues, the backend has {b.num_queues}"

