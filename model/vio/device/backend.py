"""The narrow interface between generic ring walking and a device's personality.

The reference device calls a backend directly; under cocotb the RTL's data
streams reach the same backend objects through ``tb/``. A chain is presented as
its readable bytes and the size of its writable part; the backend answers with
the bytes to write into the writable part (``len`` of them becomes used.len).
"""

from collections.abc import Callable

Wake = Callable[[int], None]


class BackendError(Exception):
    """A backend broke its own contract (answer longer than the writable part...)."""


class Backend:
    """Base class of device personalities. Override what the device needs."""

    device_id: int = 0
    device_features: int = 0
    num_queues: int = 1

    def __init__(self) -> None:
        self._wake: Wake = lambda queue: None
        self._config_changed: Callable[[], None] = lambda: None

    # --- called by whoever hosts the backend (reference device or RTL adapter) ---
    def attach(self, wake: Wake, config_changed: Callable[[], None]) -> None:
        """``wake(queue)``: ready() or take() may now say more for that queue."""
        self._wake = wake
        self._config_changed = config_changed

    def ready(self, queue: int) -> bool:
        """May the device pop a chain of this queue now? (False keeps a receive
        queue's buffers in the avail ring until there is data for them.)"""
        return True

    def request(self, queue: int, readable: bytes, writable_len: int) -> bytes | None:
        """A chain was popped. Return its answer now, or None to answer later
        through ``wake(queue)`` and :meth:`take` (answers keep chain order)."""
        return b""

    def take(self, queue: int) -> bytes | None:
        """The answer to the oldest chain of ``queue`` that request() deferred."""
        return None

    def config(self) -> bytes:
        """The device-specific config space, as the driver reads it at 0x100."""
        return b""

    def config_write(self, offset: int, data: bytes) -> None:
        """A driver write into config space (ignored unless a device defines it)."""

    def reset(self) -> None:
        """The driver reset the device: forget guest-side state."""
