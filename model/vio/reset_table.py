"""The reset table: what Status=0 and a power-on reset do to each register,
here (the reference device and the RTL) and on QEMU, each row checked on a
running device by what a driver can see (docs/linux.md shows the table).

Every check runs on a :class:`vio.differential.Target` with the entropy
personality (one receive queue: a posted buffer comes back filled, on QEMU's
virtio-rng as on ours). Registers that read back are read; the others are
seen through a ring: a driver that does not write the register again places
its ring as the table says, and the device must find it (used.idx moves), or
EVENT_IDX must be in effect or not (the device writes avail_event after a
pop only with EVENT_IDX).

``await check(target, "ours")`` (or ``"qemu"``) returns the rows where the
device does not do what the table says, one line each; the target must be
fresh (nothing written since power-on), as the power-on column is checked
first.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from . import constants as C
from .ring import Desc, VringLayout, vring_size

FLAVOURS = ("ours", "qemu")  # the reference device and the RTL; QEMU 7.2's virtio-mmio (legacy)
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
DRIVER_READY = C.VIRTIO_CONFIG_S_ACKNOWLEDGE | C.VIRTIO_CONFIG_S_DRIVER


@dataclass(frozen=True)
class Row:
    """One register (or piece of state): its value after Status=0 and after
    power-on, here and on QEMU (docs/linux.md gives the reasons)."""

    register: str
    ours_status0: str
    ours_power_on: str
    qemu_status0: str
    qemu_power_on: str

    def expected(self, flavour: str, reset: str) -> str:
        return getattr(self, f"{flavour}_{reset}")


RESET_TABLE: list[Row] = [
    Row("Status", "0", "0", "0", "0"),
    Row("InterruptStatus", "0", "0", "0", "0"),
    Row("DeviceError (0x0f0) and the broken state", "0, cleared", "0, cleared", "0, cleared", "0, cleared"),
    Row("HostFeaturesSel", "0", "0", "kept", "0"),
    Row("GuestFeaturesSel", "0", "0", "kept", "0"),
    Row("GuestFeatures", "0", "0", "0", "0"),
    Row("GuestPageSize", "kept", "4096", "kept", "1"),
    Row("QueueSel", "0", "0", "0", "0"),
    Row("QueueNum", "QueueNumMax", "QueueNumMax", "8", "8"),  # QEMU: virtio-rng's own queue size
    Row("QueueAlign", "4096", "4096", "kept", "4096"),
    Row("QueuePFN", "0", "0", "0", "0"),
    Row("ring indices", "0", "0", "0", "0"),
]

# What else resets: QueuePFN = 0 on a live queue (Linux writes it in
# vm_del_vq(), after its reset, and when a queue setup fails)
QUEUE_STOP = Row("QueuePFN = 0 on a live queue", "that queue stops, Status kept", "-", "the whole device resets (Status 0)", "-")


class _Probe:
    """A hand-made driver of one entropy queue on a Target."""

    def __init__(self, target):
        self.t = target
        self.hal, self.base, self.mem = target.hal, target.base, target.hal.mem

    async def rd(self, offset: int) -> int:
        return await self.hal.read(self.base + offset)

    async def wr(self, offset: int, value: int) -> None:
        await self.hal.write(self.base + offset, value)

    async def reset(self) -> None:
        await self.wr(C.VIRTIO_MMIO_STATUS, 0)
        deadline = self.hal.now_ns() + self.t.timeout_ns
        while await self.rd(C.VIRTIO_MMIO_STATUS) != 0:  # the RTL answers once idle
            if self.hal.now_ns() > deadline:
                raise TimeoutError(f"{self.t.name}: Status=0 did not finish")

    async def offer(self, *, page: int | None, num: int | None, align: int | None, features: int | None = 0,
                    geometry: tuple[int, int, int] | None = None) -> tuple[VringLayout, list[int]]:  # fmt: skip
        """Set up queue 0, offer one 16-byte writable buffer and notify. A
        register given as None is not written, and ``geometry`` (page, num,
        align) is then what the driver assumes for the layout. Returns the
        layout and the blocks to free once the device has let go (a reset)."""
        page_, num_, align_ = geometry if geometry else (page, num, align)
        await self.wr(C.VIRTIO_MMIO_STATUS, DRIVER_READY)
        if features is not None:
            await self.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)
            await self.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, features)
        for offset, value in ((C.VIRTIO_MMIO_GUEST_PAGE_SIZE, page), (C.VIRTIO_MMIO_QUEUE_SEL, 0),
                              (C.VIRTIO_MMIO_QUEUE_NUM, num), (C.VIRTIO_MMIO_QUEUE_ALIGN, align)):  # fmt: skip
            if value is not None:
                await self.wr(offset, value)
        size = vring_size(num_, align_)
        base = self.mem.alloc(size, max(page_, align_, 16))
        buf = self.mem.alloc(16)
        self.mem.fill(base, size)
        lay = VringLayout(base, num_, align_)
        self.mem.write16(lay.avail_event, 0xFFFF)
        self.mem.write(lay.desc_addr(0), Desc(buf, 16, C.VRING_DESC_F_WRITE).pack())
        self.mem.write16(lay.avail_ring(0), 0)
        self.mem.write16(lay.avail_idx, 1)
        await self.wr(C.VIRTIO_MMIO_QUEUE_PFN, base // page_)
        await self.wr(C.VIRTIO_MMIO_STATUS, DRIVER_READY | C.VIRTIO_CONFIG_S_DRIVER_OK)
        await self.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
        return lay, [base, buf]

    async def completed(self, lay: VringLayout) -> bool:
        done = await self._until(lambda: self.mem.read16(lay.used_idx) == 1)
        await self.t.settle()
        return done

    async def release(self, blocks: list[int]) -> None:
        await self.reset()  # the device lets go of the ring before it is freed
        for block in blocks:
            self.mem.free(block)

    async def ring(self, **kw) -> tuple[bool, bool]:
        """``offer``, then (the device completed it, it wrote avail_event:
        EVENT_IDX was in effect); the device is reset afterwards."""
        lay, blocks = await self.offer(**kw)
        try:
            return await self.completed(lay), self.mem.read16(lay.avail_event) != 0xFFFF
        finally:
            await self.release(blocks)

    async def _until(self, cond: Callable[[], bool]) -> bool:
        deadline = self.hal.now_ns() + self.t.timeout_ns
        while not cond():
            if self.hal.now_ns() > deadline:
                return False
            await self.rd(C.VIRTIO_MMIO_MAGIC_VALUE)  # lets time pass on every back end
        return True

    async def works(self, **kw) -> bool:
        return (await self.ring(**kw))[0]

    async def queue_num_max(self) -> int:
        await self.wr(C.VIRTIO_MMIO_QUEUE_SEL, 0)
        return await self.rd(C.VIRTIO_MMIO_QUEUE_NUM_MAX)

    async def host_words(self) -> tuple[int, int]:
        words = []
        for sel in (0, 1):
            await self.wr(C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel)
            words.append(await self.rd(C.VIRTIO_MMIO_DEVICE_FEATURES))
        return words[0], words[1]


PAGE, ALIGN = 4096, 4096
PREPARED_PAGE, PREPARED_NUM, PREPARED_ALIGN = 16384, 4, 16384  # values no reset gives


def _selector(value: int, words: tuple[int, int]) -> str:
    if words[0] == words[1]:
        raise ValueError(f"HostFeatures words 0 and 1 are both {value:#x}: the selector cannot be seen")
    return "0" if value == words[0] else "kept" if value == words[1] else f"{value:#x}"


async def _num_value(p: _Probe, expected: str) -> int:
    return await p.queue_num_max() if expected == "QueueNumMax" else int(expected)


# --------------------------------------------------------------- Status=0
# Each: (prepare, observe). prepare makes the register differ from any reset
# value; observe runs after Status=0 and returns the value as the table shows it.
async def _status0_checks(p: _Probe, expected: Callable[[str], str]) -> dict[str, Callable[[], Awaitable[str]]]:
    async def status():
        await p.wr(C.VIRTIO_MMIO_STATUS, DRIVER_READY | C.VIRTIO_CONFIG_S_DRIVER_OK)
        await p.reset()
        return str(await p.rd(C.VIRTIO_MMIO_STATUS))

    async def interrupt_status():
        lay, blocks = await p.offer(page=PAGE, num=8, align=ALIGN)
        pending = await p.completed(lay) and await p.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS)
        await p.release(blocks)
        return str(await p.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS)) if pending else "no interrupt was pending"

    async def broken():
        # a head past QueueNum breaks the device (QEMU: virtio_error "Guest says index 100 is available")
        await p.wr(C.VIRTIO_MMIO_STATUS, DRIVER_READY)
        await p.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, PAGE)
        base = p.mem.alloc(vring_size(8, ALIGN), PAGE)
        p.mem.fill(base, vring_size(8, ALIGN))
        lay = VringLayout(base, 8, ALIGN)
        p.mem.write16(lay.avail_ring(0), 100)
        p.mem.write16(lay.avail_idx, 1)
        await p.wr(C.VIRTIO_MMIO_QUEUE_SEL, 0)
        await p.wr(C.VIRTIO_MMIO_QUEUE_NUM, 8)
        await p.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, ALIGN)
        await p.wr(C.VIRTIO_MMIO_QUEUE_PFN, base // PAGE)
        await p.wr(C.VIRTIO_MMIO_STATUS, DRIVER_READY | C.VIRTIO_CONFIG_S_DRIVER_OK)
        await p.wr(C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
        await p.t.settle()
        await p.release([base])
        error = await p.rd(C.VIO_MMIO_DEVICE_ERROR)
        works = await p.works(page=PAGE, num=8, align=ALIGN)
        return f"{error}, {'cleared' if works else 'still broken'}"

    async def host_features_sel():
        words = await p.host_words()  # leaves the selector at 1
        await p.reset()
        return _selector(await p.rd(C.VIRTIO_MMIO_DEVICE_FEATURES), words)

    async def guest_features_sel():
        await p.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)
        await p.reset()
        # GuestFeatures written without the selector: into word 0 only if it is 0
        await p.wr(C.VIRTIO_MMIO_STATUS, DRIVER_READY)
        await p.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, EVENT_IDX)
        _, event_idx = await p.ring(page=PAGE, num=8, align=ALIGN, features=None)
        return "0" if event_idx else "kept"

    async def guest_features():
        await p.wr(C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)
        await p.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, EVENT_IDX)
        await p.reset()
        _, event_idx = await p.ring(page=PAGE, num=8, align=ALIGN, features=None)
        return "kept" if event_idx else "0"

    async def guest_page_size():
        await p.wr(C.VIRTIO_MMIO_GUEST_PAGE_SIZE, PREPARED_PAGE)
        await p.reset()
        kept = await p.works(page=None, num=8, align=ALIGN, geometry=(PREPARED_PAGE, 8, ALIGN))
        return "kept" if kept else "not kept"

    async def queue_sel():
        await p.wr(C.VIRTIO_MMIO_QUEUE_SEL, 1)  # no queue 1: QueueNumMax reads 0
        await p.reset()
        return "0" if await p.rd(C.VIRTIO_MMIO_QUEUE_NUM_MAX) else "kept"

    async def queue_num():
        await p.wr(C.VIRTIO_MMIO_QUEUE_SEL, 0)
        await p.wr(C.VIRTIO_MMIO_QUEUE_NUM, PREPARED_NUM)
        await p.reset()
        want = expected("QueueNum")
        num = await _num_value(p, want)
        if await p.works(page=PAGE, num=None, align=ALIGN, geometry=(PAGE, num, ALIGN)):
            return want
        kept = await p.works(page=PAGE, num=None, align=ALIGN, geometry=(PAGE, PREPARED_NUM, ALIGN))
        return "kept" if kept else f"neither {want} nor kept"

    async def queue_align():
        await p.wr(C.VIRTIO_MMIO_QUEUE_SEL, 0)
        await p.wr(C.VIRTIO_MMIO_QUEUE_ALIGN, PREPARED_ALIGN)
        await p.reset()
        # the table's value first: a wrong guess waits for the bound
        candidates = {"kept": PREPARED_ALIGN, str(ALIGN): ALIGN}
        want = expected("QueueAlign")
        for name in sorted(candidates, key=lambda name: name != want):
            if await p.works(page=PAGE, num=8, align=None, geometry=(PAGE, 8, candidates[name])):
                return name
        return "neither"

    async def queue_pfn():
        lay, blocks = await p.offer(page=PAGE, num=8, align=ALIGN)
        live = await p.rd(C.VIRTIO_MMIO_QUEUE_PFN)
        await p.release(blocks)
        return "not live before" if live == 0 else str(await p.rd(C.VIRTIO_MMIO_QUEUE_PFN))

    async def ring_indices():
        # one chain completed (indices at 1), then a new ring must complete its first chain at used.idx 1
        return "0" if await p.works(page=PAGE, num=8, align=ALIGN) else "kept"

    return {
        "Status": status,
        "InterruptStatus": interrupt_status,
        "DeviceError (0x0f0) and the broken state": broken,
        "HostFeaturesSel": host_features_sel,
        "GuestFeaturesSel": guest_features_sel,
        "GuestFeatures": guest_features,
        "GuestPageSize": guest_page_size,
        "QueueSel": queue_sel,
        "QueueNum": queue_num,
        "QueueAlign": queue_align,
        "QueuePFN": queue_pfn,
        "ring indices": ring_indices,
    }


# --------------------------------------------------------------- power-on
async def _power_on(p: _Probe, expected: Callable[[str], str]) -> dict[str, str]:
    """Every row on a fresh device, before anything writes the registers it
    reads: plain reads first, then one ring that writes none of GuestPageSize,
    QueueNum, QueueAlign and GuestFeaturesSel (and assumes the table's values)."""
    seen = {
        "Status": str(await p.rd(C.VIRTIO_MMIO_STATUS)),
        "InterruptStatus": str(await p.rd(C.VIRTIO_MMIO_INTERRUPT_STATUS)),
    }
    host = await p.rd(C.VIRTIO_MMIO_DEVICE_FEATURES)  # selector as power-on left it
    seen["QueueSel"] = "0" if await p.rd(C.VIRTIO_MMIO_QUEUE_NUM_MAX) else "not 0"
    seen["QueuePFN"] = str(await p.rd(C.VIRTIO_MMIO_QUEUE_PFN))
    error = await p.rd(C.VIO_MMIO_DEVICE_ERROR)
    seen["HostFeaturesSel"] = _selector(host, await p.host_words()).replace("kept", "1")
    page = int(expected("GuestPageSize"))
    num = await _num_value(p, expected("QueueNum"))
    align = int(expected("QueueAlign"))
    await p.wr(C.VIRTIO_MMIO_STATUS, DRIVER_READY)
    await p.wr(C.VIRTIO_MMIO_DRIVER_FEATURES, EVENT_IDX)  # no selector written
    works, event_idx = await p.ring(page=None, num=None, align=None, features=None, geometry=(page, num, align))
    layout = ["GuestPageSize", "QueueNum", "QueueAlign"]
    for name in layout:
        seen[name] = expected(name) if works else f"not the ({', '.join(layout)}) assumed"
    seen["GuestFeaturesSel"] = "0" if event_idx else "not 0"
    seen["GuestFeatures"] = "0"  # only the word written above is in effect: GuestFeaturesSel's check
    # the rest on a ring with every register written
    works = await p.works(page=PAGE, num=8, align=ALIGN)
    seen["DeviceError (0x0f0) and the broken state"] = f"{error}, {'cleared' if works else 'not working'}"
    seen["ring indices"] = "0" if works else "not 0"
    return seen


async def _queue_stop(p: _Probe) -> str:
    lay, blocks = await p.offer(page=PAGE, num=8, align=ALIGN)
    await p.completed(lay)
    await p.wr(C.VIRTIO_MMIO_QUEUE_PFN, 0)
    status = await p.rd(C.VIRTIO_MMIO_STATUS)
    await p.release(blocks)
    if status == DRIVER_READY | C.VIRTIO_CONFIG_S_DRIVER_OK:
        return QUEUE_STOP.ours_status0
    return QUEUE_STOP.qemu_status0 if status == 0 else f"Status {status:#x}"


async def check(target, flavour: str) -> list[str]:
    """Every row of the table on ``target`` (fresh from power-on), against the
    ``flavour`` column ("ours" or "qemu"); returns the rows that differ."""
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")
    p = _Probe(target)
    rows = {row.register: row for row in RESET_TABLE}
    diffs = []

    def report(reset: str, seen: dict[str, str]) -> None:
        for name, row in rows.items():
            want = row.expected(flavour, reset)
            if seen.get(name) != want:
                diffs.append(f"{target.name}, {name} after {reset}: {seen.get(name)}, the table says {want}")

    report("power_on", await _power_on(p, lambda name: rows[name].expected(flavour, "power_on")))
    checks = await _status0_checks(p, lambda name: rows[name].expected(flavour, "status0"))
    seen = {}
    for name, observe in checks.items():
        await p.reset()
        seen[name] = await observe()
    report("status0", seen)
    stop = await _queue_stop(p)
    if stop != QUEUE_STOP.expected(flavour, "status0"):
        diffs.append(f"{target.name}, {QUEUE_STOP.register}: {stop}, the table says {QUEUE_STOP.expected(flavour, 'status0')}")
    return diffs
