"""Hostile chains written straight into a live ring in the middle of traffic
(the driver model would never post one), one per device-side cause of
``vio.constants.Cause``: the form of the hostile scenarios (``vio.hostile``)
that random traffic can carry.

Used by the model tests (tests/test_hostile_device.py: each breaks the
reference device with its cause), the co-simulation (tests/test_cosim.py: the
RTL's DEVICE_ERROR against the reference device's) and the pyuvm hostile
sequence (tb/uvm/sequences.py). ``corrupt`` writes through the driver's guest
memory, so a predictor mirroring that memory sees the same ring. The
``BUS_ERROR`` chains point past the end of guest memory but inside the DMA
window, where the memory answers SLVERR (the reference device: an access
guest memory refuses).
"""

from dataclasses import dataclass

from vio import constants as C
from vio.driver import VioQueue
from vio.memory import GuestMemory
from vio.ring import Desc

NOTIFY_ON_EMPTY = 1 << C.VIRTIO_F_NOTIFY_ON_EMPTY
ANY_LAYOUT = 1 << C.VIRTIO_F_ANY_LAYOUT
INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
ALL_RING = NOTIFY_ON_EMPTY | ANY_LAYOUT | INDIRECT | EVENT_IDX

NEXT, WRITE, IND = C.VRING_DESC_F_NEXT, C.VRING_DESC_F_WRITE, C.VRING_DESC_F_INDIRECT


@dataclass(frozen=True)
class Hostile:
    """A broken chain, the cause the device must report, the features it needs."""

    name: str
    cause: C.Cause
    features: int = ALL_RING
    window: str = "any"  # "mem": needs the DMA window = guest memory; "full": a window past guest memory (>= 4 GiB - 1)
    in_flight: bool = False  # needs a legitimate chain of queue 0 held in flight first (its head is re-offered)


CASES = [
    Hostile("avail_idx_jump", C.Cause.AVAIL_IDX_JUMP),
    Hostile("head_range", C.Cause.HEAD_RANGE),
    Hostile("next_range", C.Cause.NEXT_RANGE),
    Hostile("chain_loop", C.Cause.CHAIN_LOOP),
    Hostile("zero_length", C.Cause.ZERO_LENGTH),
    Hostile("read_after_write", C.Cause.READ_AFTER_WRITE),
    Hostile("indirect_not_negotiated", C.Cause.INDIRECT_NOT_NEGOTIATED, ANY_LAYOUT),
    Hostile("indirect_size", C.Cause.INDIRECT_SIZE),
    Hostile("indirect_nested", C.Cause.INDIRECT_NESTED),
    Hostile("indirect_with_next", C.Cause.INDIRECT_WITH_NEXT),
    Hostile("outside_dma_window", C.Cause.DMA_WINDOW, window="mem"),
    Hostile("window_wrap", C.Cause.DMA_WINDOW, window="full"),
    Hostile("length_overflow", C.Cause.LENGTH_OVERFLOW, window="full"),
    Hostile("head_in_flight", C.Cause.HEAD_IN_FLIGHT, in_flight=True),
    Hostile("indirect_window", C.Cause.DMA_WINDOW, window="full"),
    Hostile("ring_window", C.Cause.DMA_WINDOW),
    Hostile("bus_error", C.Cause.BUS_ERROR, window="full"),
    Hostile("bus_error_read", C.Cause.BUS_ERROR, window="full"),
    Hostile("bus_error_indirect", C.Cause.BUS_ERROR, window="full"),
]
# where the bus-error cases point: inside the DMA window, past guest memory
BUS_ERROR_OFFSET = 0x100
BY_NAME = {h.name: h for h in CASES}
# the six of the first co-simulation (tests/test_cosim.py, DMA window = guest memory)
SEED_CASES = [BY_NAME[n] for n in ("head_range", "next_range", "zero_length", "indirect_not_negotiated", "avail_idx_jump", "outside_dma_window")]


def corrupt(case: Hostile, mem: GuestMemory, q: VioQueue, *, held_head: int | None = None) -> None:
    """Write ``case``'s chain into ``q``'s ring through ``mem`` and make it
    available (avail.idx moved; no notify). Uses the last descriptor slot
    (and slot 0 as a second one), which the driver leaves free at this point.
    ``held_head``: a head in flight (for ``head_in_flight``)."""
    lay, num = q.layout, q.num
    buf = mem.alloc(64)
    head = num - 1
    name = case.name

    def desc(index: int, d: Desc) -> None:
        mem.write(lay.desc_addr(index), d.pack())

    if name == "head_range":
        head = num
    elif name == "next_range":
        desc(head, Desc(buf, 16, NEXT, num))
    elif name == "chain_loop":
        desc(head, Desc(buf, 16, NEXT, 0))
        desc(0, Desc(buf + 16, 16, NEXT, head))
    elif name == "zero_length":
        desc(head, Desc(buf, 16, NEXT, 0))
        desc(0, Desc(buf + 16, 0, WRITE, 0))
    elif name == "read_after_write":
        desc(head, Desc(buf, 16, WRITE | NEXT, 0))
        desc(0, Desc(buf + 16, 16, 0, 0))
    elif name in ("indirect_not_negotiated", "indirect_nested"):
        inner = Desc(buf + 32, 16, IND, 0) if name == "indirect_nested" else Desc(buf + 32, 8, 0, 0)
        mem.write(buf, inner.pack())
        desc(head, Desc(buf, 16, IND, 0))
    elif name == "indirect_size":
        mem.write(buf, Desc(buf + 32, 8, 0, 0).pack())
        desc(head, Desc(buf, 12, IND, 0))
    elif name == "indirect_with_next":
        mem.write(buf, Desc(buf + 32, 8, 0, 0).pack())
        desc(head, Desc(buf, 16, IND | NEXT, 0))
        desc(0, Desc(buf + 48, 8, 0, 0))
    elif name == "outside_dma_window":  # the window ends with guest memory
        desc(head, Desc(mem.size - 4, 8, WRITE, 0))
    elif name == "window_wrap":  # past 4 GiB: the end of a 32-bit window
        desc(head, Desc(0xFFFF_FFF8, 16, WRITE, 0))
    elif name == "length_overflow":  # two writable halves of 2 GiB: 2^32 bytes in all
        desc(head, Desc(buf, 0x8000_0000, WRITE | NEXT, 0))
        desc(0, Desc(buf, 0x8000_0000, WRITE, 0))
    elif name == "indirect_window":  # an indirect table across 4 GiB
        desc(head, Desc(0xFFFF_FFF0, 32, IND, 0))
    elif name == "ring_window":  # queue 0 stopped, then activated with its ring past the window
        raise ValueError("ring_window is a register sequence (tb/uvm/components.py), not a chain")
    elif name == "bus_error":  # inside the window, past guest memory: SLVERR on the answer's write
        desc(head, Desc(mem.size + BUS_ERROR_OFFSET, 8, WRITE, 0))
    elif name == "bus_error_read":  # SLVERR on the readable buffer's read
        desc(head, Desc(mem.size + BUS_ERROR_OFFSET, 8, 0, 0))
    elif name == "bus_error_indirect":  # SLVERR on the indirect table's read
        desc(head, Desc(mem.size + BUS_ERROR_OFFSET, 32, IND, 0))
    elif name == "head_in_flight":
        assert held_head is not None, "head_in_flight needs a head in flight"
        head = held_head
    # avail_idx_jump: only avail.idx moves, by more than QueueNum
    mem.write16(lay.avail_ring(q.avail_idx % num), head)
    step = num + 1 if name == "avail_idx_jump" else 1
    q.avail_idx = (q.avail_idx + step) & 0xFFFF
    mem.write16(lay.avail_idx, q.avail_idx)
