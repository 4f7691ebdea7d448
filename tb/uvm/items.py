"""Sequence items: what a sequence asks of the virtio driver component.

- :class:`TransferItem`: one virtio transfer (queue, iov layout and sizes,
  directions, direct or indirect, what the backend is expected to do with it).
  ``randomize`` draws it under the constraints of the queue it goes to.
- :class:`ControlItem`: everything else a driver does to a device: notify and
  collect (``kick``), reset and init again, notify storms, backend stalls,
  host-side console actions, block requests, hostile rings, bus pressure.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pyuvm import uvm_sequence_item

# chain length buckets of the coverage (descriptors in the chain)
LENGTH_BUCKETS = {"1": (1, 1), "2-3": (2, 3), "4-8": (4, 8), "9+": (9, 1 << 16)}
DIRECTIONS = ("out", "in", "both")  # driver->device only, device->driver only, both
SIZES = (1, 2, 3, 7, 8, 15, 16, 17, 31, 64, 100, 255, 256, 300, 511, 1000, 1500, 4100)


def length_bucket(n: int) -> str:
    return next(name for name, (lo, hi) in LENGTH_BUCKETS.items() if lo <= n <= hi)


class TransferItem(uvm_sequence_item):
    """One transfer: ``segments`` = [(size, writable)], readable ones first."""

    def __init__(self, name: str = "transfer", queue: int = 0, segments: list[tuple[int, bool]] | None = None, indirect: bool | None = None):
        super().__init__(name)
        self.queue = queue
        self.segments: list[tuple[int, bool]] = segments or [(16, True)]
        self.indirect = indirect  # True / False forces it; None: the driver's rule (indirect when > 1 buffer)
        self.expect = "answer"  # the backend answers ("answer") or holds it until released ("hold")
        # filled in by the driver component
        self.accepted = False  # False: the queue had no room (ring full)
        self.used_indirect = False
        self.actual: int | None = None

    @property
    def direction(self) -> str:
        writable = [w for _, w in self.segments]
        return "both" if any(writable) and not all(writable) else ("in" if all(writable) else "out")

    @property
    def chain_length(self) -> int:
        return len(self.segments)

    def randomize(self, rng: random.Random, queue: int, max_len: int, *, bucket: str | None = None, direction: str | None = None, indirect: bool | None = None) -> "TransferItem":
        """A random layout on ``queue``: a chain length in ``bucket`` (random
        bucket if None) capped by ``max_len``, the ``direction`` asked for,
        sizes from SIZES (small ones for long chains)."""
        self.queue = queue
        buckets = [b for b, (lo, _) in LENGTH_BUCKETS.items() if lo <= max_len]
        bucket = bucket if bucket in buckets else rng.choice(buckets)
        lo, hi = LENGTH_BUCKETS[bucket]
        n = rng.randint(lo, min(hi, max_len))
        direction = direction or rng.choice(DIRECTIONS)
        if direction == "both" and n == 1:
            direction = rng.choice(("out", "in"))
        if direction == "out":
            n_read = n
        elif direction == "in":
            n_read = 0
        else:
            n_read = rng.randint(1, n - 1)
        sizes = SIZES if n <= 8 else SIZES[:10]
        self.segments = [(rng.choice(sizes), i >= n_read) for i in range(n)]
        self.indirect = rng.choice((None, True, False)) if indirect is None else indirect
        return self

    def __str__(self) -> str:
        return f"{self.get_name()}: queue {self.queue}, {self.chain_length} buffer(s) {self.direction}, indirect {self.indirect}, {self.segments}"


@dataclass
class ControlArgs:
    """Arguments of a ControlItem, by kind (unused ones stay at their defaults)."""

    ack: bool = True  # kick: read and acknowledge InterruptStatus before polling
    count: int = 0  # storm: notifies; reset: cycles of traffic before the reset (-1: at a quiescent point)
    queues: list[int] = field(default_factory=list)
    port: int = 0  # console
    data: bytes = b""  # console, block
    sector: int = 0  # block
    sectors: int = 1
    cause: str = ""  # hostile: a name of tb.hostile_chains.CASES
    pause: float = 0.0  # pressure: gap probability on every channel


class ControlItem(uvm_sequence_item):
    """A driver-side action other than posting a transfer.

    kinds: ``kick`` (the held notifies, settle, InterruptStatus, poll),
    ``config`` (a config-change interrupt), ``registers`` (random register
    accesses on a reset device),
    ``reset`` (Status=0, then init: a new session), ``storm`` (notifies with
    nothing new), ``hold`` / ``release`` (the backend defers / delivers its
    answers), ``gate`` / ``open`` (backend_ready low / high), ``pressure``
    (random gaps on every channel), ``hostile`` (a broken ring, then the
    driver's recovery), console ``host_open`` / ``host_close`` / ``guest_open``
    / ``guest_close`` / ``write`` / ``echo``, block ``read`` / ``write_blocks``
    / ``flush`` / ``get_id`` / ``read_past_end``.
    """

    def __init__(self, name: str = "control", kind: str = "kick", **args):
        super().__init__(name)
        self.kind = kind
        self.args = ControlArgs(**args)
        self.result: object = None

    def __str__(self) -> str:
        return f"{self.get_name()}: {self.kind} {self.args}"
