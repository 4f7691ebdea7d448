"""Shared test scaffolding of the model tests: a reference device on an
in-process HAL.

Tests are plain pytest; coroutines run with ``run(...)`` (asyncio.run), since
the model HAL needs no event loop of its own.
"""

import asyncio
from dataclasses import dataclass

from vio import GuestMemory, ModelHal, VioDriver, VioQueue
from vio import constants as C
from vio.device import ReferenceDevice
from vio.device.backend import Backend
from vio.device.loopback import LoopbackBackend

BASE = 0x0A000000
MEM_SIZE = 1 << 22
ALL_RING_FEATURES = (
    1 << C.VIRTIO_F_NOTIFY_ON_EMPTY
    | 1 << C.VIRTIO_F_ANY_LAYOUT
    | 1 << C.VIRTIO_RING_F_INDIRECT_DESC
    | 1 << C.VIRTIO_RING_F_EVENT_IDX
)


def run(coro):
    return asyncio.run(coro)


class ForgetsThePageSize(ReferenceDevice):
    """The reference device as it was: Status=0 put GuestPageSize back to 4096
    (Linux writes it before its reset: docs/linux.md)."""

    def _reset(self) -> None:
        super()._reset()
        self.page_size = 4096


@dataclass
class Rig:
    mem: GuestMemory
    hal: ModelHal
    dev: ReferenceDevice
    backend: Backend
    drv: VioDriver


def make_rig(
    backend: Backend | None = None,
    queues=(("q0", 16), ("q1", 16)),
    drv_features: int = 0,
    queue_num_max: int = 16,
    ring_index_base: int = 0,
    init: bool = True,
    **device_kw,
) -> Rig:
    """A driver bound to a reference device at BASE; initialised unless init=False."""
    mem = GuestMemory(MEM_SIZE)
    hal = ModelHal(mem)
    backend = backend or LoopbackBackend(len(queues))
    dev = hal.attach(
        BASE, ReferenceDevice(backend, mem, queue_num_max=queue_num_max, ring_index_base=ring_index_base, **device_kw)
    )
    qs = [q if isinstance(q, VioQueue) else VioQueue(*q) for q in queues]
    drv = VioDriver(BASE, drv_features=drv_features, queue=qs, hal=hal, ring_index_base=ring_index_base)
    if init:
        run(drv.init())
    return Rig(mem, hal, dev, backend, drv)
