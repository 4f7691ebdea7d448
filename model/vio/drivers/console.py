"""The console class driver: the seed's ``console_vio_driver`` configuration on
:class:`~vio.driver.VioDriver`, with the MULTIPORT control handshake as Linux's
virtio_console answers it.

Every receive queue holds ``rx_buffers`` buffers; each is one transfer whose
callback keeps the data and resubmits the same transfer (the seed allows it:
only ``head`` and ``actual`` changed). Callbacks only record; control messages
are acted on outside ``poll``, because answering one needs a transfer of its own.
"""

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .. import constants as C
from ..console_proto import CONTROL, CONTROL_RXQ, CONTROL_TXQ, ControlMsg, tx_queue
from ..driver import VIO_IOV_FLAGS_WRITE, VioDriver, VioIov, VioQueue, VioTransfer
from ..errors import VioConfigError, VioNotSupported, VioTimeout
from ..hal import VioHal
from .base import DEFAULT_TIMEOUT_NS, POLL_INTERVAL_NS, ClassDriver

log = logging.getLogger(__name__)

BAD_ID = 0xFFFFFFFF  # the id of DEVICE_READY, which is about no port (Linux)
CONSOLE_QUEUE_SIZE = 128
CONSOLE_FEATURES = 1 << C.VIRTIO_F_NOTIFY_ON_EMPTY | 1 << C.VIRTIO_F_ANY_LAYOUT | 1 << C.VIRTIO_CONSOLE_F_MULTIPORT
TX_CHUNK = 4096  # bytes per transmit buffer, a page as in Linux


def console_queues(nr_ports: int = 2, size: int = CONSOLE_QUEUE_SIZE, multiport: bool = True) -> list[VioQueue]:
    """The seed's VIO_QUEUE list: port 0, control, then ports 1.. in queue order."""
    names = ["virtual_console_rxq0", "virtual_console_txq0"]
    if multiport:
        names += ["virtual_control_rxq", "virtual_control_txq"]
        for p in range(1, nr_ports):
            names += [f"virtual_console_rxq{p}", f"virtual_console_txq{p}"]
    return [VioQueue(name, size) for name in names]


@dataclass
class ConsolePort:
    """A port the device added: what the handshake told us about it."""

    id: int
    name: str | None = None
    console: bool = False
    host_open: bool = False
    guest_open: bool = False


class ConsoleDriver(ClassDriver):
    """A virtio console with ``nr_ports`` ports, as the seed declares it.

    Falls back to port 0 alone (queues 0 and 1) when either side lacks
    MULTIPORT. ``trace`` receives one line per interrupt, completion and
    control message (the example prints them with the virtual time).
    """

    def __init__(
        self,
        hal: VioHal,
        base: int,
        *,
        nr_ports: int = 2,
        multiport: bool = True,
        queue_size: int = CONSOLE_QUEUE_SIZE,
        features: int = CONSOLE_FEATURES,
        vector: int = 0,
        vector_pri: int = 0xA0,
        rx_buffers: int = 4,
        buf_size: int = 256,
        timeout_ns: int = DEFAULT_TIMEOUT_NS,
        trace: Callable[[str], None] | None = None,
    ):
        if nr_ports < 1 or rx_buffers < 1 or buf_size < CONTROL.size:
            raise VioConfigError(f"console: nr_ports {nr_ports}, rx_buffers {rx_buffers}, buf_size {buf_size} (>= 8)")
        if not multiport:
            features &= ~(1 << C.VIRTIO_CONSOLE_F_MULTIPORT)
            nr_ports = 1
        self.all_queues = console_queues(nr_ports, queue_size, multiport)
        vio = VioDriver(base, vector, vector_pri, priv=self, legacy=1, pci=0, drv_features=features, queue=self.all_queues, hal=hal)
        super().__init__(vio, timeout_ns)
        self.nr_ports = nr_ports
        self.rx_buffers = rx_buffers
        self.buf_size = buf_size
        self.trace = trace
        self.multiport = False
        self.cols = self.rows = 0
        self.max_nr_ports = 1
        self.ports: dict[int, ConsolePort] = {}
        self.control_log: list[ControlMsg] = []
        self._rx: dict[int, bytearray] = {}
        self._ctrl_in: deque[bytes] = deque()
        self._rx_tfrs: dict[int, list[VioTransfer]] = {}

    def _trace(self, text: str) -> None:
        if self.trace is not None:
            self.trace(text)

    @property
    def port_count(self) -> int:
        """Ports with queues on this side: what the driver can add."""
        return len(self.vio.queue) // 2 - 1 if self.multiport else 1

    # ------------------------------------------------------------- start-up
    async def _fit_queues(self) -> None:
        """Keep only the queues the device has, as Linux reads the features and
        max_nr_ports before it creates its queues (a missing one fails init)."""
        vio = self.vio
        await vio.write_reg(C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0)
        offered = await vio.read_reg(C.VIRTIO_MMIO_DEVICE_FEATURES)
        if not vio.drv_features & offered & 1 << C.VIRTIO_CONSOLE_F_MULTIPORT:
            vio.queue = self.all_queues[:2]
            return
        ports = max(1, min(self.nr_ports, await vio.read_config(4, 4)))
        vio.queue = self.all_queues[: 2 * (ports + 1)]

    async def start(self) -> None:
        """Init, read the config, post every receive buffer, then (MULTIPORT)
        DEVICE_READY and the handshake until every port is added and the
        console port is open on our side."""
        await self._fit_queues()
        await self.vio.init()
        self.multiport = self.vio.has_feature(C.VIRTIO_CONSOLE_F_MULTIPORT)
        self.cols = await self.vio.read_config(0, 2)
        self.rows = await self.vio.read_config(2, 2)
        self.max_nr_ports = await self.vio.read_config(4, 4) if self.multiport else 1
        self._trace(f"driver ready: features {self.vio.features:#x}, {self.cols}x{self.rows}, max_nr_ports {self.max_nr_ports}")
        self.ports = {} if self.multiport else {0: ConsolePort(0, console=True, host_open=True, guest_open=True)}
        self.control_log.clear()
        self._ctrl_in.clear()
        self._rx = {p: bytearray() for p in range(self.port_count)}
        mem = self.hal.mem
        for q in self.vio.queue[::2]:
            port = None if self.multiport and q.index == CONTROL_RXQ else (0 if q.index == 0 else q.index // 2 - 1)
            if q.index not in self._rx_tfrs:
                self._rx_tfrs[q.index] = [
                    VioTransfer(q.index, [VioIov(mem.alloc(self.buf_size), self.buf_size, VIO_IOV_FLAGS_WRITE)], self._received, priv=port)
                    for _ in range(min(self.rx_buffers, q.num))
                ]
            for tfr in self._rx_tfrs[q.index]:
                await self.vio.submit(tfr)
        if self.multiport:
            await self._send_control(BAD_ID, C.VIRTIO_CONSOLE_DEVICE_READY, 1)
            wanted = range(min(self.port_count, self.max_nr_ports))
            await self._until(lambda: all(p in self.ports for p in wanted) and self.ports[0].guest_open, "the control handshake")

    async def config_changed(self) -> None:
        """A resize: read the console size again."""
        self.cols = await self.vio.read_config(0, 2)
        self.rows = await self.vio.read_config(2, 2)

    # ---------------------------------------------------------- interrupts
    async def service(self) -> int:
        """The interrupt handler, traced so that each interrupt can be shown."""
        self._trace(f"interrupt #{self.interrupts + 1}")
        return await super().service()

    async def _received(self, tfr: VioTransfer) -> None:
        """Receive callback (inside poll): keep the bytes, give the buffer back."""
        data = self.hal.mem.read(tfr.iov[0].buffer, tfr.actual)
        self._trace(f"completion on {self.vio.queue[tfr.queue].name}: {tfr.actual} byte(s) received")
        if tfr.priv is None:
            self._ctrl_in.append(data)
        else:
            self._rx[tfr.priv] += data
        await self.vio.submit(tfr)

    def _sent(self, tfr: VioTransfer) -> None:
        self._trace(f"completion on {self.vio.queue[tfr.queue].name}: buffer used")

    async def _pump(self) -> None:
        """One pass of the interrupt handler (a poll if the line is low), then
        the control messages it brought."""
        if self.hal.irq(self.vio.vector):
            await self.service()
        else:
            await self.vio.poll()
        await self._handle_control()

    async def _until(self, cond: Callable[[], bool], what: str, timeout_ns: int | None = None) -> None:
        """Service the device until ``cond()`` holds. A timeout raises VioTimeout
        but leaves the device alone: a quiet host is not a broken device."""
        limit = self.timeout_ns if timeout_ns is None else timeout_ns
        deadline = self.hal.now_ns() + limit
        await self._pump()
        while not cond():
            remaining = deadline - self.hal.now_ns()
            if remaining <= 0:
                raise VioTimeout(f"console at {self.vio.base:#x}: {what} did not happen within {limit} ns")
            await self.hal.wait_irq(self.vio.vector, min(POLL_INTERVAL_NS, remaining))
            await self._pump()

    # ------------------------------------------------------- control queue
    async def _send(self, queue: int, data: bytes) -> None:
        """One readable buffer on a transmit queue, waited for (bounded)."""
        mem = self.hal.mem
        buf = mem.alloc(len(data))
        try:
            mem.write(buf, data)
            await self.transfer(VioTransfer(queue, [(buf, len(data))], self._sent))
        finally:
            mem.free(buf)

    async def _send_control(self, pid: int, event: int, value: int) -> None:
        msg = ControlMsg("driver", pid, event, value)
        self.control_log.append(msg)
        self._trace(f"control -> {msg}")
        await self._send(CONTROL_TXQ, CONTROL.pack(pid, event, value))

    async def _handle_control(self) -> None:
        """Act on received control messages in order (Linux handle_control_message)."""
        while self._ctrl_in:
            raw = self._ctrl_in.popleft()
            if len(raw) < CONTROL.size:
                log.warning("console at %#x: control message of %d bytes ignored", self.vio.base, len(raw))
                continue
            msg = ControlMsg("device", *CONTROL.unpack_from(raw), raw[CONTROL.size :])
            self.control_log.append(msg)
            self._trace(f"control <- {msg}")
            port = self.ports.get(msg.id)
            if msg.event == C.VIRTIO_CONSOLE_PORT_ADD:
                ok = msg.id < self.port_count
                if ok and port is None:
                    self.ports[msg.id] = ConsolePort(msg.id)
                await self._send_control(msg.id, C.VIRTIO_CONSOLE_PORT_READY, int(ok))
            elif port is None:
                log.warning("console at %#x: %s for a port not added; ignored", self.vio.base, msg)
            elif msg.event == C.VIRTIO_CONSOLE_PORT_REMOVE:
                del self.ports[msg.id]
            elif msg.event == C.VIRTIO_CONSOLE_CONSOLE_PORT:
                port.console = port.guest_open = True
                await self._send_control(msg.id, C.VIRTIO_CONSOLE_PORT_OPEN, 1)
            elif msg.event == C.VIRTIO_CONSOLE_PORT_OPEN:
                port.host_open = bool(msg.value)
            elif msg.event == C.VIRTIO_CONSOLE_PORT_NAME:
                # a C string: QEMU sends the NUL, a device may leave it out (Linux copes with both)
                port.name = msg.data.split(b"\0", 1)[0].decode(errors="replace")

    # ------------------------------------------------------------ ports
    def _port(self, port: int) -> ConsolePort:
        p = self.ports.get(port)
        if p is None:
            raise VioConfigError(f"console at {self.vio.base:#x}: no port {port} (ports {sorted(self.ports)})")
        return p

    async def open(self, port: int, timeout_ns: int | None = None) -> None:
        """PORT_OPEN(port, 1), then wait (bounded) until the host side is open."""
        p = self._port(port)
        if not p.guest_open:
            await self._send_control(port, C.VIRTIO_CONSOLE_PORT_OPEN, 1)
            p.guest_open = True
        await self._until(lambda: p.host_open, f"the host opening port {port}", timeout_ns)

    async def close(self, port: int) -> None:
        p = self._port(port)
        if self.multiport and p.guest_open:
            await self._send_control(port, C.VIRTIO_CONSOLE_PORT_OPEN, 0)
        p.guest_open = False

    def port_open(self, port: int) -> bool:
        """Both ends open: data flows both ways."""
        p = self._port(port)
        return p.guest_open and p.host_open

    async def write(self, port: int, data: bytes) -> int:
        """Send ``data``, a page per buffer; returns once the device used them all."""
        self._port(port)
        for off in range(0, len(data), TX_CHUNK):
            await self._send(tx_queue(port), data[off : off + TX_CHUNK])
        return len(data)

    async def read(self, port: int, n: int | None = None, timeout_ns: int | None = None) -> bytes:
        """Bytes received so far (``n`` None), or exactly ``n`` bytes once they
        are there; VioTimeout after the bound, the bytes kept for a later read."""
        self._port(port)
        buf = self._rx[port]
        if n is None:
            await self._pump()
            n = len(buf)
        else:
            await self._until(lambda: len(buf) >= n, f"{n} byte(s) arriving on port {port}", timeout_ns)
        data = bytes(buf[:n])
        del buf[:n]
        return data

    async def emerg_write(self, data: bytes) -> None:
        """Write through config space (emerg_wr) a byte at a time: works before
        any queue or port is up."""
        if not self.vio.has_feature(C.VIRTIO_CONSOLE_F_EMERG_WRITE):
            raise VioNotSupported(f"console at {self.vio.base:#x}: EMERG_WRITE was not negotiated")
        for byte in data:
            await self.vio.write_config(8, byte, 4)
