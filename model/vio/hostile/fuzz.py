"""Random corruption (rust-vmm style), judged notify by notify.

A :class:`FuzzRun` is a seeded sequence of operations: a register-level driver
init, valid chains (direct and indirect, readable then writable buffers) with
or without a notify, and corruption mixed in: random descriptor fields, avail
ring entries and avail.idx, used_event and avail.flags, random register writes
(QueueSel/Num/Align/PFN, Status, features, InterruptACK, page size, unmapped
and read-only offsets), notifies of any queue, answers held and released.

The sequence is a pure function of the seed (it never looks at what a device
did), so the same operations run on the reference device and, when given, on
another target over an identical copy of memory. After every operation:

- on the reference device, the invariants: no guest byte changed outside the
  used rings of live queues and the buffers a descriptor marks writable (or
  the writable buffers of chains in flight); no unbounded walk (an access
  budget per register access); DEVICE_ERROR is 0 or a known cause, and Status
  shows NEEDS_RESET exactly when it is not 0;
- with a second target (the RTL), QEMU's oracle made exact: DEVICE_ERROR,
  Status, InterruptStatus and the IRQ line equal, every byte of guest memory
  equal, the backend asked for the same chains in the same order.

Plain Python and asyncio: ``tests/test_hostile_rtl.py`` runs it on the RTL,
``tests/test_fuzz_hostile.py`` runs it (and hypothesis) on the model.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

from .. import constants as C
from ..constants import Cause
from ..device.mmio import TRANSPORT_FEATURES
from ..oracle import Region, ShadowMemory, allowed_regions
from ..ring import DESC_SIZE, Desc, VringLayout, u16
from .target import MEM_SIZE, ModelTarget, Target

RING_BASE = 0x4000  # queue q's ring at RING_BASE * (q + 1): 4 pages each
TABLES = (0x10000, 0x20000)  # indirect tables
DATA = (0x20000, 0x80000)  # data buffers
STEPS = int(os.environ.get("HOSTILE_STEPS", "60"))
REPRODUCE = "HOSTILE_SEED={seed} HOSTILE_SEEDS=1 .venv/bin/python -m pytest -q tests/test_hostile_rtl.py"
REPRODUCE_MODEL = "HOSTILE_SEED={seed} HOSTILE_SEEDS=1 .venv/bin/python -m pytest -q tests/test_fuzz_hostile.py -k seeded"


def fuzz_seeds() -> range:
    """Seeds from the environment: HOSTILE_SEEDS (count, default 3) from
    HOSTILE_SEED (default: the count's slice of the run's seed VIO_SEED, so the
    runs of a regression, seeds 1, 2, ..., fuzz disjoint seed ranges)."""
    count = int(os.environ.get("HOSTILE_SEEDS", "3"))
    first = int(os.environ.get("HOSTILE_SEED") or 1 + (int(os.environ.get("VIO_SEED", "1")) - 1) * count)
    return range(first, first + count)


@dataclass
class Op:
    """One operation: memory writes (address, bytes), then register writes
    (offset, value), then notifies; ``hold`` sets the backends' holding first
    (None: unchanged; False releases held answers)."""

    what: str
    mem: list[tuple[int, bytes]] = field(default_factory=list)
    regs: list[tuple[int, int]] = field(default_factory=list)
    hold: bool | None = None

    def __str__(self) -> str:
        regs = ", ".join(f"[{o:#x}]={v:#x}" for o, v in self.regs)
        mem = ", ".join(f"{a:#x}:{d.hex()}" for a, d in self.mem[:6]) + (" ..." if len(self.mem) > 6 else "")
        return f"{self.what}" + (f" regs {regs}" if regs else "") + (f" mem {mem}" if mem else "") + (f" hold={self.hold}" if self.hold is not None else "")


class FuzzDriver:
    """A sloppy driver that writes rings and registers without reading anything
    back: the source of the operations."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.num = [16, 16]
        self.idx = [0, 0]
        self.next_desc = [0, 0]
        self.features = 0
        self.table_slot = 0
        self.last_chain: list[list[int]] = [[], []]  # descriptor addresses of each queue's last chain

    def layout(self, q: int) -> VringLayout:
        return VringLayout(RING_BASE * (q + 1), self.num[q], 4096)

    def init(self) -> Op:
        rng = self.rng
        op = Op("init")
        self.features = TRANSPORT_FEATURES & rng.getrandbits(32)
        op.regs += [(C.VIRTIO_MMIO_STATUS, 0), (C.VIRTIO_MMIO_STATUS, 3), (C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)]
        op.regs += [(C.VIRTIO_MMIO_DRIVER_FEATURES, self.features), (C.VIRTIO_MMIO_GUEST_PAGE_SIZE, 4096)]
        for q in (0, 1):
            self.num[q] = rng.choice((2, 4, 8, 16, 16))
            self.idx[q] = self.next_desc[q] = 0
            op.mem.append((RING_BASE * (q + 1), bytes(RING_BASE)))
            op.regs += [(C.VIRTIO_MMIO_QUEUE_SEL, q), (C.VIRTIO_MMIO_QUEUE_NUM, self.num[q]), (C.VIRTIO_MMIO_QUEUE_ALIGN, 4096)]
            op.regs += [(C.VIRTIO_MMIO_QUEUE_PFN, RING_BASE * (q + 1) // 4096)]
        op.regs.append((C.VIRTIO_MMIO_STATUS, 7))
        return op

    def _buffer(self, length: int) -> int:
        return self.rng.randrange(DATA[0], DATA[1] - length) & ~self.rng.choice((0, 3, 15))

    def post(self) -> Op:
        """A valid chain (as far as the driver knows) on a random queue."""
        rng = self.rng
        q = rng.randrange(2)
        lay = self.layout(q)
        n_read, n_write = rng.randrange(3), rng.randrange(3)
        n_read += n_read + n_write == 0
        bufs = [(self._buffer(64), rng.randrange(1, 64), 0) for _ in range(n_read)]
        bufs += [(self._buffer(64), rng.randrange(1, 64), C.VRING_DESC_F_WRITE) for _ in range(n_write)]
        op = Op(f"post q{q} {len(bufs)} buffer(s)")
        for addr, length, _ in bufs[:n_read]:
            op.mem.append((addr, bytes(rng.getrandbits(8) for _ in range(length))))
        indirect = self.features >> C.VIRTIO_RING_F_INDIRECT_DESC & 1 and rng.random() < 0.3
        if indirect:
            table = TABLES[0] + DESC_SIZE * 4 * (self.table_slot % ((TABLES[1] - TABLES[0]) // 64))
            self.table_slot += 1
            for i, (addr, length, flags) in enumerate(bufs):
                more = i + 1 < len(bufs)
                op.mem.append((table + DESC_SIZE * i, Desc(addr, length, flags | (C.VRING_DESC_F_NEXT if more else 0), i + 1 if more else 0).pack()))
            head = self.next_desc[q] % lay.num
            self.next_desc[q] += 1
            op.mem.append((lay.desc_addr(head), Desc(table, DESC_SIZE * len(bufs), C.VRING_DESC_F_INDIRECT, 0).pack()))
            self.last_chain[q] = [lay.desc_addr(head)] + [table + DESC_SIZE * i for i in range(len(bufs))]
        else:
            idxs = [(self.next_desc[q] + i) % lay.num for i in range(len(bufs))]
            self.next_desc[q] += len(bufs)
            head = idxs[0]
            self.last_chain[q] = [lay.desc_addr(i) for i in idxs]
            for i, (addr, length, flags) in enumerate(bufs):
                more = i + 1 < len(bufs)
                op.mem.append((lay.desc_addr(idxs[i]), Desc(addr, length, flags | (C.VRING_DESC_F_NEXT if more else 0), idxs[i + 1] if more else 0).pack()))
        op.mem.append((lay.avail_ring(self.idx[q] % lay.num), head.to_bytes(2, "little")))
        self.idx[q] = u16(self.idx[q] + 1)
        op.mem.append((lay.avail_idx, self.idx[q].to_bytes(2, "little")))
        if rng.random() < 0.6:
            op.regs.append((C.VIRTIO_MMIO_QUEUE_NOTIFY, q))
        return op

    def corrupt_desc(self) -> Op:
        rng = self.rng
        q = rng.randrange(2)
        lay = self.layout(q)
        if self.last_chain[q] and rng.random() < 0.6:  # most often the chain about to be walked
            addr = rng.choice(self.last_chain[q])
        elif rng.random() < 0.7:
            addr = lay.desc_addr(rng.randrange(lay.num))
        else:  # or an entry of an indirect table
            addr = TABLES[0] + DESC_SIZE * rng.randrange(64)
        which = rng.choice(("addr", "len", "flags", "next"))
        if which == "addr":
            value = rng.choice((self._buffer(64), MEM_SIZE + rng.randrange(0x1000), 1 << 40, (1 << 64) - 8, lay.desc, 0))
            op = Op(f"corrupt addr q{q}", [(addr, value.to_bytes(8, "little"))])
        elif which == "len":
            value = rng.choice((0, 1, rng.randrange(1, 200), 0xFFFFFFFF, DESC_SIZE * rng.randrange(0, 20), 0x80000000))
            op = Op(f"corrupt len q{q}", [(addr + 8, value.to_bytes(4, "little"))])
        elif which == "flags":
            op = Op(f"corrupt flags q{q}", [(addr + 12, rng.randrange(8).to_bytes(2, "little"))])
        else:
            op = Op(f"corrupt next q{q}", [(addr + 14, rng.choice((rng.randrange(20), 0xFFFF)).to_bytes(2, "little"))])
        if rng.random() < 0.5:
            op.regs.append((C.VIRTIO_MMIO_QUEUE_NOTIFY, q))
        return op

    def corrupt_avail(self) -> Op:
        rng = self.rng
        q = rng.randrange(2)
        lay = self.layout(q)
        if rng.random() < 0.5:
            self.idx[q] = u16(self.idx[q] + rng.choice((-1, 2, 3, lay.num, lay.num + 1, 0x8000)))
            op = Op(f"corrupt avail.idx q{q}", [(lay.avail_idx, self.idx[q].to_bytes(2, "little"))])
        else:
            slot = rng.randrange(lay.num)
            op = Op(f"corrupt avail slot q{q}", [(lay.avail_ring(slot), rng.choice((rng.randrange(20), 0xFFFF)).to_bytes(2, "little"))])
        if rng.random() < 0.6:
            op.regs.append((C.VIRTIO_MMIO_QUEUE_NOTIFY, q))
        return op

    def events(self) -> Op:
        rng = self.rng
        q = rng.randrange(2)
        lay = self.layout(q)
        if rng.random() < 0.5:
            return Op(f"used_event q{q}", [(lay.used_event, rng.getrandbits(16).to_bytes(2, "little"))])
        return Op(f"avail.flags q{q}", [(lay.avail_flags, rng.randrange(2).to_bytes(2, "little"))])

    def register(self) -> Op:
        rng = self.rng
        q = rng.randrange(3)
        off, value = rng.choice(
            (
                (C.VIRTIO_MMIO_QUEUE_SEL, q),
                (C.VIRTIO_MMIO_QUEUE_NUM, rng.choice((0, 1, 2, 3, 4, 8, 16, 32))),
                (C.VIRTIO_MMIO_QUEUE_ALIGN, rng.choice((16, 4096, 3))),
                (C.VIRTIO_MMIO_QUEUE_PFN, rng.choice((0, RING_BASE * (q + 1) // 4096, rng.randrange(0x10, 0x80), 0xFFFFF))),
                (C.VIRTIO_MMIO_INTERRUPT_ACK, rng.randrange(4)),
                (C.VIRTIO_MMIO_STATUS, rng.choice((0, 0xF, 1))),
                (C.VIRTIO_MMIO_DRIVER_FEATURES, rng.getrandbits(32)),
                (C.VIRTIO_MMIO_GUEST_PAGE_SIZE, rng.choice((4096, 8192, 5))),
                (C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, rng.randrange(3)),
                (C.VIO_MMIO_DEVICE_ERROR, rng.getrandbits(32)),
                (C.VIRTIO_MMIO_INTERRUPT_STATUS, 0),
                (0x44, rng.getrandbits(32)),
                (C.VIRTIO_MMIO_QUEUE_NOTIFY, rng.choice((0, 1, 2, 0xFFFF))),
            )
        )
        return Op("register", regs=[(off, value)])

    def next_op(self) -> Op:
        r = self.rng.random()
        if r < 0.40:
            return self.post()
        if r < 0.52:
            return self.corrupt_desc()
        if r < 0.60:
            return self.corrupt_avail()
        if r < 0.65:
            return self.events()
        if r < 0.80:
            return self.register()
        if r < 0.90:
            q = self.rng.randrange(3)
            return Op(f"notify {q}", regs=[(C.VIRTIO_MMIO_QUEUE_NOTIFY, q)])
        if r < 0.94:
            return Op("hold" if self.rng.random() < 0.5 else "release", hold=self.rng.random() < 0.5)
        return self.init()


def ops(seed: int, steps: int = STEPS) -> list[Op]:
    """The operations of ``seed``: an init, then ``steps`` random ones."""
    drv = FuzzDriver(random.Random(seed))
    return [drv.init()] + [drv.next_op() for _ in range(steps)]


def writable_regions(target: Target, dev) -> list[Region]:
    """Where the reference device may write in the next step: the used rings and
    in-flight writable buffers it knows of, and every buffer that a descriptor
    of a live ring, or of an indirect table one of them points at, marks
    writable (the device may accept any of those chains)."""
    mem = target.mem
    regions = list(allowed_regions(dev))
    tables = [(dq.layout.desc, dq.layout.num, True) for dq in dev.queues if dq.live and dq.layout is not None]
    while tables:
        base, count, direct = tables.pop()
        for i in range(min(count, 4096)):
            if not mem.contains(base + DESC_SIZE * i, DESC_SIZE):
                break
            d = Desc.unpack(mem.read(base + DESC_SIZE * i, DESC_SIZE))
            if d.is_indirect and direct:
                tables.append((d.addr, d.len // DESC_SIZE, False))
            elif d.is_write_only and d.len:
                regions.append(Region.sized(d.addr, d.len, f"writable descriptor {i} of the table at {base:#x}"))
    return regions


class FuzzRun:
    """``ops(seed)`` on the reference device, checked for the invariants, and,
    if ``other`` is given, on it too, compared after every operation."""

    def __init__(self, seed: int, other: Target | None = None, steps: int = STEPS):
        self.seed = seed
        self.other = other
        self.model = ModelTarget()
        self.ops = ops(seed, steps)
        self.notifies = 0
        self.broken_seen: set[int] = set()

    def _fail(self, step: int, op: Op, text: str) -> AssertionError:
        how = getattr(self.other, "reproduce", REPRODUCE) if self.other is not None else REPRODUCE_MODEL
        return AssertionError(f"fuzz seed {self.seed}, step {step} ({op}): {text}\nreproduce: {how.format(seed=self.seed)}")

    async def _apply(self, t: Target, op: Op) -> None:
        if op.hold is not None:
            if op.hold:
                t.backend.hold = True
            else:
                t.backend.release()
        for addr, data in op.mem:
            t.mem.write(addr, data)
        for off, value in op.regs:
            await t.hal.write(t.base + off, value)
        await t.settle()

    @staticmethod
    async def _state(t: Target) -> tuple[int, int, int, bool]:
        regs = [await t.hal.read(t.base + off) for off in (C.VIO_MMIO_DEVICE_ERROR, C.VIRTIO_MMIO_STATUS, C.VIRTIO_MMIO_INTERRUPT_STATUS)]
        return (*regs, t.hal.irq(0))

    async def run(self) -> "FuzzRun":
        m, other = self.model, self.other
        if other is not None:
            other.mem.fill(0, MEM_SIZE)
            other.backend.release()
            other.backend.received.clear()
        for step, op in enumerate(self.ops):
            for addr, data in op.mem:  # the driver's own writes come first
                m.mem.write(addr, data)
            shadow = ShadowMemory(m.mem, writable_regions(m, m.dev))
            try:
                await self._apply(m, Op(op.what, [], op.regs, op.hold))
            except AssertionError as err:  # the access budget: an unbounded walk
                raise self._fail(step, op, f"reference device: {err}") from err
            shadow.allow_regions(writable_regions(m, m.dev))  # rings the step activated
            try:
                shadow.check("reference device")
            except AssertionError as err:
                raise self._fail(step, op, str(err)) from err
            want = await self._state(m)
            err_reg, status = want[0], want[1]
            if err_reg & 0xFF not in Cause._value2member_map_ or (err_reg != 0) != bool(status & C.VIRTIO_CONFIG_S_NEEDS_RESET):
                raise self._fail(step, op, f"reference device: DEVICE_ERROR {err_reg:#x} with Status {status:#x}")
            if err_reg:
                self.broken_seen.add(err_reg & 0xFF)
            self.notifies += sum(1 for off, _ in op.regs if off == C.VIRTIO_MMIO_QUEUE_NOTIFY)
            if other is None:
                continue
            await self._apply(other, op)
            got = await self._state(other)
            if got != want:
                raise self._fail(step, op, f"(DEVICE_ERROR, Status, InterruptStatus, irq): {other.name} {self._show(got)} != reference device {self._show(want)}")
            if other.backend.received != m.backend.received:
                raise self._fail(step, op, f"backend requests differ: {other.name} {other.backend.received[-3:]} != reference device {m.backend.received[-3:]}")
            a, b = other.mem.read(0, MEM_SIZE), m.mem.read(0, MEM_SIZE)
            if a != b:
                diff = [i for i in range(MEM_SIZE) if a[i] != b[i]]
                shown = ", ".join(f"{i:#x}: {a[i]:#04x} (reference {b[i]:#04x})" for i in diff[:8])
                raise self._fail(step, op, f"guest memory differs in {len(diff)} byte(s): {shown}")
        return self

    @staticmethod
    def _show(state: tuple) -> str:
        return f"({state[0]:#x}, {state[1]:#x}, {state[2]:#x}, {state[3]})"
