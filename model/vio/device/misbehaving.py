"""A reference device with one deliberate fault: the driver model's side of
docs/verification.md (cases 25-32) tested against a device that really
misbehaves, rather than against memory forged by the test.

``MisbehavingDevice(backend, mem, mode=..., **ReferenceDevice options)``;
``mode`` is one of :data:`MODES`. Everything else is the reference device.
"""

from .. import constants as C
from ..constants import Cause
from ..ring import Desc, pack_used_elem, u16
from .mmio import ReferenceDevice
from .virtqueue import Broken, Chain, DeviceQueue

MODES = {
    "used_id_out_of_range": "25: the used element names id QueueNum",
    "used_id_not_in_flight": "26: the used element names a head that is not in flight",
    "used_idx_jump": "27: used.idx advances by 2 for each completion",
    "used_len_over": "28: used.len is 64 more than the bytes written",
    "scribble_descriptors": "29: the descriptor table is overwritten with junk after each completion",
    "spurious_interrupt": "30: every notify raises the used-buffer interrupt, with or without work",
    "silent": "31: chains are popped and never completed",
    "break_on_notify": "31: the first notify breaks the device (NEEDS_RESET)",
    "queue_num_max_zero": "32: QueueNumMax reads 0",
    "pfn_preset": "32: QueuePFN reads non-zero before the driver sets it",
}


class MisbehavingDevice(ReferenceDevice):
    def __init__(self, *args, mode: str, **kwargs):
        if mode not in MODES:
            raise ValueError(f"unknown misbehaviour {mode!r}; one of {sorted(MODES)}")
        self.mode = mode
        super().__init__(*args, **kwargs)

    def read(self, offset: int, size: int = 4) -> int:
        if self.mode == "queue_num_max_zero" and offset == C.VIRTIO_MMIO_QUEUE_NUM_MAX:
            return 0
        if self.mode == "pfn_preset" and offset == C.VIRTIO_MMIO_QUEUE_PFN and size == 4:
            return super().read(offset, size) or 0x123
        return super().read(offset, size)

    def write(self, offset: int, value: int, size: int = 4) -> None:
        if offset == C.VIRTIO_MMIO_QUEUE_NOTIFY and size == 4 and not self.broken:
            if self.mode == "break_on_notify" and value < len(self.queues):
                self._break(Broken(Cause.CHAIN_LOOP, value, 0, "misbehaving device: broken on notify"))
                return
            if self.mode == "spurious_interrupt":
                self._raise(C.VIRTIO_MMIO_INT_VRING)
        super().write(offset, value, size)

    def _deliver(self, q: DeviceQueue) -> None:
        if self.mode != "silent":
            super()._deliver(q)

    def _complete(self, q: DeviceQueue, chain: Chain) -> None:
        slot = q.used_idx % q.num
        super()._complete(q, chain)
        assert q.layout is not None
        elem = q.layout.used_ring(slot)
        written = min(len(chain.answer or b""), chain.writable_len)
        if self.mode == "used_id_out_of_range":
            self.mem.write(elem, pack_used_elem(q.num, written))
        elif self.mode == "used_id_not_in_flight":
            busy = {c.head for c in q.in_flight} | {chain.head}
            self.mem.write(elem, pack_used_elem(next(i for i in range(q.num) if i not in busy), written))
        elif self.mode == "used_idx_jump":
            q.used_idx = u16(q.used_idx + 1)
            self.mem.write16(q.layout.used_idx, q.used_idx)
        elif self.mode == "used_len_over":
            self.mem.write(elem, pack_used_elem(chain.head, written + 64))
        elif self.mode == "scribble_descriptors":
            for i in range(q.num):
                self.mem.write(q.layout.desc_addr(i), Desc(0xDEAD0000 + i, 0x7777, C.VRING_DESC_F_NEXT, (i + 5) % q.num).pack())
