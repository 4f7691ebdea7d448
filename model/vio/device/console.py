"""The console personality (virtio-serial as QEMU has it): ports with a receive
and a transmit queue each, the MULTIPORT control handshake, emergency write.

Tests and examples play the host through ``host_open``/``host_close``,
``host_write``/``host_read``; ``log`` keeps every control message that crossed
the control queues, both ways, in order.
"""

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import constants as C
from ..console_proto import CONFIG, CONTROL, CONTROL_RXQ, CONTROL_TXQ, ControlMsg, rx_queue
from ..errors import DeviceModelError
from .backend import Backend

log = logging.getLogger(__name__)

EMERG_WR = 8  # offset of emerg_wr in config space
CONSOLE_PORT_ID = 0  # QEMU reserves port 0 for the console (virtconsole)


@dataclass
class Port:
    """One port. ``host_open`` and the host's data survive a reset; the
    guest-side flags do not."""

    name: str | None = None
    host_open: bool = False
    guest_ready: bool = False
    guest_open: bool = False
    to_guest: bytearray = field(default_factory=bytearray)
    from_guest: bytearray = field(default_factory=bytearray)


class ConsoleBackend(Backend):
    """A console with ``nr_ports`` ports (1 without ``multiport``).

    ``size`` offers VIRTIO_CONSOLE_F_SIZE (then :meth:`resize` raises a config
    interrupt). With MULTIPORT a port's data waits until the guest has opened
    the port, as QEMU does. The backend does not see the negotiated features:
    ports 1.. have queues only under MULTIPORT, and port 0 is held back only
    once a DEVICE_READY since the last reset says MULTIPORT is in use.
    """

    device_id = C.VIRTIO_ID_CONSOLE

    def __init__(
        self,
        nr_ports: int = 2,
        multiport: bool = True,
        cols: int = 80,
        rows: int = 25,
        names: Sequence[str | None] | None = None,
        emerg_write: bool = True,
        *,
        size: bool = False,
    ):
        super().__init__()
        if nr_ports < 1:
            raise DeviceModelError(f"a console needs at least one port, got nr_ports={nr_ports}")
        self.multiport = multiport
        self.nr_ports = nr_ports if multiport else 1
        self.cols, self.rows = cols, rows
        self.emerg_write = emerg_write
        self.size = size
        self.device_features = (
            int(multiport) << C.VIRTIO_CONSOLE_F_MULTIPORT
            | int(emerg_write) << C.VIRTIO_CONSOLE_F_EMERG_WRITE
            | int(size) << C.VIRTIO_CONSOLE_F_SIZE
        )
        self.num_queues = 2 * (self.nr_ports + 1) if multiport else 2
        names = list(names or [])
        self.ports = [Port(names[p] if p < len(names) else None) for p in range(self.nr_ports)]
        self.pending: deque[ControlMsg] = deque()  # control messages waiting for a buffer
        self.log: list[ControlMsg] = []
        self.truncated: list[ControlMsg] = []  # messages cut to fit a too-small buffer
        self.handshake = False  # DEVICE_READY(1) seen since the last reset

    # ------------------------------------------------------------- host side
    def _port(self, port: int) -> Port:
        if not 0 <= port < self.nr_ports:
            raise DeviceModelError(f"console has no port {port} (ports 0..{self.nr_ports - 1})")
        return self.ports[port]

    def host_open(self, port: int) -> None:
        """Connect the host end; the driver learns it at once if the port is ready."""
        p = self._port(port)
        if not p.host_open:
            p.host_open = True
            if p.guest_ready:
                self._send(port, C.VIRTIO_CONSOLE_PORT_OPEN, 1)

    def host_close(self, port: int) -> None:
        p = self._port(port)
        if p.host_open:
            p.host_open = False
            if p.guest_ready:
                self._send(port, C.VIRTIO_CONSOLE_PORT_OPEN, 0)

    def host_write(self, port: int, data: bytes) -> None:
        """Bytes towards the driver; delivered as receive buffers allow."""
        self._port(port).to_guest += data
        self._wake(rx_queue(port))

    def host_read(self, port: int) -> bytes:
        """Everything the driver wrote to the port since the last call."""
        p = self._port(port)
        data = bytes(p.from_guest)
        p.from_guest.clear()
        return data

    def guest_open(self, port: int) -> bool:
        return self._port(port).guest_open

    def resize(self, cols: int, rows: int) -> None:
        """New console size; a config interrupt tells the driver when SIZE is offered."""
        self.cols, self.rows = cols, rows
        if self.size:
            self._config_changed()

    # ---------------------------------------------------------- device side
    def _role(self, queue: int) -> tuple[int | None, bool]:
        """(port, is_receive) of a queue; port None for the control queues."""
        if self.multiport and queue in (CONTROL_RXQ, CONTROL_TXQ):
            return None, queue == CONTROL_RXQ
        return (0 if queue < 2 else queue // 2 - 1), queue % 2 == 0

    def _send(self, port: int, event: int, value: int, data: bytes = b"") -> None:
        if self.multiport:
            self.pending.append(ControlMsg("device", port, event, value, data))
            self._wake(CONTROL_RXQ)

    def ready(self, queue: int) -> bool:
        port, rx = self._role(queue)
        if not rx:
            return True
        if port is None:
            return bool(self.pending)
        p = self.ports[port]
        return bool(p.to_guest) and (p.guest_open or port == 0 and not self.handshake)

    def request(self, queue: int, readable: bytes, writable_len: int) -> bytes | None:
        port, rx = self._role(queue)
        if port is None:
            return self._deliver_control(writable_len) if rx else self._control(readable)
        p = self.ports[port]
        if not rx:
            p.from_guest += readable
            return b""
        data = bytes(p.to_guest[:writable_len])
        del p.to_guest[:writable_len]
        return data

    def _deliver_control(self, writable_len: int) -> bytes:
        """One message per buffer; a buffer too small gets the message cut."""
        if not self.pending:
            return b""
        msg = self.pending.popleft()
        self.log.append(msg)
        raw = msg.pack()
        if len(raw) > writable_len:
            self.truncated.append(msg)
            log.warning("console: control message %s cut to the buffer's %d bytes", msg, writable_len)
        return raw[:writable_len]

    def _control(self, raw: bytes) -> bytes:
        """A control message from the driver: QEMU's handle_control_message."""
        if len(raw) < CONTROL.size:
            log.warning("console: control message of %d bytes ignored (needs %d)", len(raw), CONTROL.size)
            return b""
        pid, event, value = CONTROL.unpack_from(raw)
        self.log.append(ControlMsg("driver", pid, event, value))
        if event == C.VIRTIO_CONSOLE_DEVICE_READY:
            if value != 1:
                log.warning("console: the driver failed to initialise the device (DEVICE_READY %d)", value)
                return b""
            self.handshake = True
            for port in range(self.nr_ports):
                self._send(port, C.VIRTIO_CONSOLE_PORT_ADD, 1)
        elif not 0 <= pid < self.nr_ports:
            log.warning("console: control event %d for unknown port %d ignored", event, pid)
        elif event == C.VIRTIO_CONSOLE_PORT_READY:
            p = self.ports[pid]
            p.guest_ready = value == 1
            if not p.guest_ready:
                log.warning("console: the driver failed to add port %d", pid)
                return b""
            if pid == CONSOLE_PORT_ID:
                self._send(pid, C.VIRTIO_CONSOLE_CONSOLE_PORT, 1)
            if p.name:
                # with its NUL, as QEMU sends it (found by the differential run against QEMU)
                self._send(pid, C.VIRTIO_CONSOLE_PORT_NAME, 1, p.name.encode() + b"\0")
            if p.host_open:
                self._send(pid, C.VIRTIO_CONSOLE_PORT_OPEN, 1)
        elif event == C.VIRTIO_CONSOLE_PORT_OPEN:
            self.ports[pid].guest_open = bool(value)
            if value:
                self._wake(rx_queue(pid))
        return b""

    def config(self) -> bytes:
        return CONFIG.pack(self.cols, self.rows, self.nr_ports, 0)

    def config_write(self, offset: int, data: bytes) -> None:
        """Only emerg_wr is writable: its low byte goes out on port 0 (a zero
        byte is no character, as in QEMU, so the upper bytes of a byte-wise
        u32 write do nothing)."""
        if self.emerg_write and offset <= EMERG_WR < offset + len(data) and data[EMERG_WR - offset]:
            self.ports[0].from_guest.append(data[EMERG_WR - offset])

    def reset(self) -> None:
        for p in self.ports:
            p.guest_ready = p.guest_open = False
        self.pending.clear()
        self.handshake = False
