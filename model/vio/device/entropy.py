"""The entropy (virtio-rng) personality: deterministic bytes, so that a test or
a scoreboard can predict every byte the device writes."""

import random

from .. import constants as C
from ..errors import DeviceModelError
from .backend import Backend


def entropy_stream(seed: int, length: int) -> bytes:
    """The first ``length`` bytes an :class:`EntropyBackend` of ``seed`` produces,
    however its requests were sized."""
    return random.Random(seed).randbytes(-(-length // 4) * 4)[:length]


class EntropyBackend(Backend):
    """Fills each chain's writable part from ``random.Random(seed)``.

    ``chunk`` caps the bytes of one answer (the spec promises only at least
    one), to exercise drivers that must loop on used.len. The stream is drawn in
    whole 32-bit words and buffered, because ``randbytes`` of a length that is
    not a multiple of 4 drops the rest of its last word; so the bytes do not
    depend on how the requests were sized. ``produced`` counts bytes answered.
    """

    device_id = C.VIRTIO_ID_RNG
    num_queues = 1

    def __init__(self, seed: int = 0, chunk: int | None = None):
        super().__init__()
        if chunk is not None and chunk < 1:
            raise DeviceModelError(f"chunk must be at least 1 byte, got {chunk}")
        self.seed = seed
        self.chunk = chunk
        self.produced = 0
        self.requests = 0
        self._rng = random.Random(seed)
        self._spare = b""

    def request(self, queue: int, readable: bytes, writable_len: int) -> bytes:
        self.requests += 1
        n = writable_len if self.chunk is None else min(writable_len, self.chunk)
        if len(self._spare) < n:
            self._spare += self._rng.randbytes(-(-(n - len(self._spare)) // 4) * 4)
        answer, self._spare = self._spare[:n], self._spare[n:]
        self.produced += n
        return answer
