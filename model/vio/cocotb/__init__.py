"""The cocotb kit: the driver model and the reference device in front of a
virtio-mmio device's RTL (``pip install 'virtio-mmio-kit[cocotb]'``).

Every part binds to the DUT by signal prefix and clock, as cocotbext-axi
does (``AxiStreamBus.from_prefix(dut, "m_axis")``), so it drives any RTL with
the same kinds of ports, whatever its names:

- :mod:`~vio.cocotb.hal`: ``CocotbHal``, the driver model's HAL over an
  AXI4-Lite master and an interrupt line;
- :mod:`~vio.cocotb.guest_ram`: ``GuestRam``, guest memory served to the
  DUT's AXI4 master (bounds, latency, the fault hook, access hooks);
- :mod:`~vio.cocotb.faults`: the fault hook and ``FaultPlan``, bus errors on
  chosen beats;
- :mod:`~vio.cocotb.backend_stream`: ``BackendStreams``, any ``vio.device``
  backend behind the device's request/answer streams and sideband;
- :mod:`~vio.cocotb.predictor`, :mod:`~vio.cocotb.monitors`,
  :mod:`~vio.cocotb.scoreboards`: the reference device as predictor, the
  bus and interrupt monitors, the four scoreboards;
- :mod:`~vio.cocotb.axi_protocol`: ``AxiProtocolChecker``;
- :mod:`~vio.cocotb.env`: ``VirtioEnv``, which wires them; and
  :mod:`~vio.cocotb.session`: ``CheckedSession``, the scoreboards on an env;
- :mod:`~vio.cocotb.axis_beats`, :mod:`~vio.cocotb.gaps`,
  :mod:`~vio.cocotb.waits`, :mod:`~vio.cocotb.clock`: the stream models,
  random gaps, waits that sleep while nothing moves, the clock.

docs/cocotb-kit.md shows how to put it in front of your own RTL.
"""

from .axi_protocol import AxiProtocolChecker
from .backend_stream import BackendBus, BackendStreams, ProtocolError
from .clock import CycleClock, start_clock
from .env import VirtioEnv, personality_parameters
from .faults import Fault, FaultHook, FaultPlan, ring_ranges
from .guest_ram import GuestRam
from .hal import CocotbHal
from .predictor import MirroredMemory, PredictedHal, Predictor
from .scoreboards import Scoreboards
from .session import CheckedSession

__all__ = [
    "AxiProtocolChecker",
    "BackendBus",
    "BackendStreams",
    "CheckedSession",
    "CocotbHal",
    "CycleClock",
    "Fault",
    "FaultHook",
    "FaultPlan",
    "GuestRam",
    "MirroredMemory",
    "PredictedHal",
    "Predictor",
    "ProtocolError",
    "Scoreboards",
    "VirtioEnv",
    "personality_parameters",
    "ring_ranges",
    "start_clock",
]
