"""The virtio console's wire format, shared by the class driver and the backend:
queue numbering, the control message, the config layout (virtio_console.h)."""

import struct
from typing import NamedTuple

from . import constants as C

CONTROL = struct.Struct("<IHH")  # struct virtio_console_control {id, event, value}
CONFIG = struct.Struct("<HHII")  # struct virtio_console_config {cols, rows, max_nr_ports, emerg_wr}
CONTROL_RXQ, CONTROL_TXQ = 2, 3
EVENT_NAMES = {
    v: k.removeprefix("VIRTIO_CONSOLE_")
    for k, v in vars(C).items()
    if k.startswith("VIRTIO_CONSOLE_") and not k.startswith("VIRTIO_CONSOLE_F_")
}


def rx_queue(port: int) -> int:
    """Receive queue of a port: 0, then 4, 6, ... (2 and 3 are the control queues)."""
    return 0 if port == 0 else 2 * (port + 1)


def tx_queue(port: int) -> int:
    return rx_queue(port) + 1


class ControlMsg(NamedTuple):
    """A control message; ``sender`` is "device" or "driver"; ``data`` is what
    follows the header (the name of a PORT_NAME)."""

    sender: str
    id: int
    event: int
    value: int
    data: bytes = b""

    def pack(self) -> bytes:
        return CONTROL.pack(self.id, self.event, self.value) + self.data

    def __str__(self) -> str:
        name = EVENT_NAMES.get(self.event, f"event {self.event}")
        extra = f" {self.data.decode(errors='replace')!r}" if self.data else ""
        return f"{name}(id={self.id:#x}, value={self.value}){extra}"
