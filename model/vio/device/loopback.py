"""A loopback personality: every chain is answered with its own readable bytes,
then a counting pattern, up to the chain's writable size (at most
``answer_max`` bytes: that size is the driver's word, up to 4 GiB - 1, and an
answer is built in memory and streamed to the RTL). Generic enough for
property tests of the ring machinery (any iov layout, any queue), and able to
defer its answers (``hold``) to keep chains in flight, or to pop nothing at
all (``gate``), as a device that has not got round to the ring yet."""

from collections import deque

from .. import constants as C
from .backend import Backend

LOOPBACK_DEVICE_ID = C.VIO_ID_LOOPBACK
# the longest answer by default: the largest guest memory of the project's tests
# and benches (16 MiB), far less than the 4 GiB - 1 a chain may claim
ANSWER_MAX = 1 << 24


_RAMP = bytes(range(256))


def loopback_answer(queue: int, readable: bytes, writable_len: int) -> bytes:
    """readable, then bytes (queue * 16 + i) & 0xFF, cut to writable_len."""
    fill = max(0, writable_len - len(readable))
    start = queue * 16 & 0xFF
    ramp = _RAMP[start:] + _RAMP[:start]
    return (readable + ramp * (fill // 256 + 1))[:writable_len]


class LoopbackBackend(Backend):
    device_id = LOOPBACK_DEVICE_ID
    answer_max = ANSWER_MAX  # bytes; used.len tells the driver how many were written

    def __init__(self, num_queues: int = 2, device_features: int = 0, limit: int | None = None):
        super().__init__()
        self.num_queues = num_queues
        self.device_features = device_features
        self.hold = False  # True: defer every answer until release()
        self.gate = False  # True: pop nothing until open_gate()
        self.limit = limit  # answers cut to this many bytes (None: the whole writable part)
        self.received: list[tuple[int, bytes, int]] = []
        self._held: list[deque[bytes]] = [deque() for _ in range(num_queues)]

    def ready(self, queue: int) -> bool:
        return not self.gate

    def close_gate(self) -> None:
        """Pop nothing from now on (the device is told at once)."""
        self.gate = True
        for queue in range(self.num_queues):
            self._wake(queue)

    def open_gate(self) -> None:
        """Let the device pop again, and wake every queue."""
        self.gate = False
        for queue in range(self.num_queues):
            self._wake(queue)

    def request(self, queue: int, readable: bytes, writable_len: int) -> bytes | None:
        self.received.append((queue, readable, writable_len))
        # never builds more than answer_max (or limit) bytes, so chains of gigabytes are cheap
        cap = self.answer_max if self.limit is None else min(self.limit, self.answer_max)
        n = min(writable_len, cap)
        answer = loopback_answer(queue, readable, n)
        if self.hold:
            self._held[queue].append(answer)
            return None
        return answer

    def take(self, queue: int) -> bytes | None:
        return self._held[queue].popleft() if self._held[queue] and not self.hold else None

    def release(self) -> None:
        """Stop holding; deliver every held answer in order."""
        self.hold = False
        for queue in range(self.num_queues):
            if self._held[queue]:
                self._wake(queue)

    def reset(self) -> None:
        for held in self._held:
            held.clear()
