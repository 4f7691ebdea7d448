"""The bus-functional layer under the pyuvm components: the DUT in its
:class:`vio.cocotb.env.VirtioEnv`, the device personality, the current checked
:class:`~vio.cocotb.session.CheckedSession` and the driver model on top of it.

The personality follows the build (DeviceID): ``loopback`` (a bare
``VioDriver`` on three queues: q0 with interrupts, q1 polled with
NO_INTERRUPT / a far used_event, q2 always indirect when negotiated),
``block`` (``BlockDriver`` over a random disk image, a shadow copy checked
byte for byte) or ``console`` (``ConsoleDriver`` with two ports, as the
seed's example).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from cocotb.triggers import Event

from vio import constants as C
from vio.cocotb.env import VirtioEnv
from vio.cocotb.session import CheckedSession, settle
from vio.device.block import BlockBackend
from vio.device.loopback import LOOPBACK_DEVICE_ID, LoopbackBackend
from vio.driver import VioDriver, VioQueue
from vio.drivers.block import BlockDriver
from vio.drivers.console import ConsoleDriver
from vio.examples.console import console_host
from vio.hostile.chains import ALL_RING, EVENT_IDX, INDIRECT

from ..top import rtl_parameters, virtio_env

TIMEOUT_NS = 5_000_000  # bound of every wait of a class driver
DISK_SECTORS = 64


def personality_of(params: dict) -> str:
    return {LOOPBACK_DEVICE_ID: "loopback", C.VIRTIO_ID_BLOCK: "block", C.VIRTIO_ID_CONSOLE: "console"}[params["DEVICE_ID"]]


class OverrunLoopback(LoopbackBackend):
    """The RTL's loopback backend, whose answers can run ``overrun`` bytes past
    the chain's writable length (0: the plain loopback). The RTL writes the
    first writable_len bytes and drops the rest (docs/rtl.md, "Backend
    protocol"), which is what the reference device's plain loopback twin
    (answers of exactly writable_len bytes) predicts; the model's own backend
    contract forbids such answers, so only the RTL's side overruns."""

    overrun = 0

    def request(self, queue: int, readable: bytes, writable_len: int) -> bytes | None:
        answer = super().request(queue, readable, writable_len)
        pad = bytes((0xC3 + i) & 0xFF for i in range(self.overrun))
        if answer is not None:
            return answer + pad
        self._held[queue][-1] += pad
        return None


class Bench:
    """``dut`` with the backend of its personality, random gaps ``pause`` and
    ``mem_latency`` (vio.cocotb.env), seeded by ``seed``."""

    def __init__(self, dut, seed: int, *, pause: float = 0.0, mem_latency: int = 0, queue_size: int | None = None):
        self.params = rtl_parameters()
        self.personality = personality_of(self.params)
        self.rng = random.Random(seed)
        self.seed = seed
        nq = self.params["NUM_QUEUES"]
        if self.personality == "loopback":
            backend = OverrunLoopback(nq)
        elif self.personality == "block":
            self.disk = bytearray(random.Random(seed).randbytes(DISK_SECTORS * C.SECTOR_SIZE))
            self.shadow = bytearray(self.disk)
            backend = BlockBackend(self.disk)
        else:
            backend = console_host()
        self._env_args = (dut, backend, pause, mem_latency, seed)
        self.env: VirtioEnv | None = None
        self.started = Event()  # set once the DUT is out of reset: monitors wait for it
        self.queue_size = queue_size or self.params["QUEUE_NUM_MAX"]
        self.features = ALL_RING
        self.session: CheckedSession | None = None
        self.vio: VioDriver | None = None
        self.cls = None  # the class driver (block, console)
        self.reset_activity: list[frozenset[str]] = []  # what the engine was doing when each reset request (Status=0) reached it (register bus monitor)
        self.on_close: list[Callable[[CheckedSession, str, list[str]], None]] = []

    @property
    def num_queues(self) -> int:
        return self.params["NUM_QUEUES"]

    async def start(self) -> None:
        """The environment (clock, bus models: built in the same time step as
        the reset is asserted, as VirtioEnv requires), reset, identity check."""
        dut, backend, pause, mem_latency, seed = self._env_args
        self.env = virtio_env(dut, backend, pause=pause or None, mem_latency=mem_latency, seed=seed)
        await self.env.start()
        self.started.set()
        await self.env.check_identity()

    # ------------------------------------------------------------ sessions
    def _predictor_backend(self):
        b = self.env.backend
        if self.personality == "loopback":
            twin = LoopbackBackend(self.num_queues)
            twin.hold, twin.gate = b.hold, b.gate
            return twin
        if self.personality == "block":
            return BlockBackend(bytearray(self.disk))
        return console_host()

    async def open(self, features: int | None = None) -> CheckedSession:
        """A new session and the driver model's init on it (the device is reset by init)."""
        if features is not None:
            self.features = features
        s = self.session = CheckedSession(self.env, self._predictor_backend())
        if self.personality == "loopback":
            queues = [VioQueue(f"q{i}", self.queue_size, interrupts=i != 1, indirect=True if i == 2 else None) for i in range(self.num_queues)]
            self.vio = VioDriver(
                self.env.base, drv_features=self.features, queue=queues, hal=s.hal, ring_index_base=self.params["RING_INDEX_BASE"]
            )
            s.attach(self.vio)
            await self.vio.init()
        elif self.personality == "block":
            self.cls = BlockDriver(s.hal, self.env.base, ring_features=self.features & (INDIRECT | EVENT_IDX), seg_size=C.SECTOR_SIZE, queue_size=self.queue_size, timeout_ns=TIMEOUT_NS)
            self.vio = self.cls.vio
            s.attach(self.vio)
            await self.cls.start()
        else:
            self.cls = ConsoleDriver(s.hal, self.env.base, nr_ports=2, timeout_ns=TIMEOUT_NS)
            self.vio = self.cls.vio
            s.attach(self.vio)
            await self.cls.start()
        return s

    def close(self, mode: str = "full") -> list[str]:
        s = self.session
        if s is None:
            return []
        errs = s.close(mode, report=lambda text: None)
        for fn in self.on_close:
            fn(s, mode, errs)
        self.session = None
        return errs

    # ----------------------------------------------------------- backends
    def backends(self):
        """(the predictor's, the RTL's): every backend input goes to both, the predictor's first."""
        assert self.session is not None
        return self.session.predictor.backend, self.env.backend

    async def settle(self) -> None:
        await settle(self.env)
