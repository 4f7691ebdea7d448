"""Differential runs: one scenario of driver-model operations on several back
ends (QEMU's devices, the reference device, the RTL), and the comparison of
what the driver observed on each.

A scenario is a list of steps (tuples, see :data:`SCENARIOS`). A back end is a
:class:`Target`: a HAL and a register base, plus the host side of the device
(the disk, the console's far end). :func:`run_scenario` drives the class
drivers of ``vio.drivers`` unchanged through it and records per step:

- ``used``: the used elements the driver collected, per queue: (the number
  of the submission it answers, len);
- ``isr``: the InterruptStatus bits the driver's interrupt handler read, ORed
  with what is pending once the step is over and the device has settled
  (read and acknowledged then), so the OR does not depend on timing: the
  driver may find a completion by polling before the interrupt (the RTL
  raises InterruptStatus some cycles after its used.idx write lands;
  QEMU and the reference device do both at once);
  (``isr(EVENT_IDX)`` when EVENT_IDX was negotiated: see ALLOWED_DIFFERENCES);
- ``data``: what the operation returned (block data, console bytes, the
  serial; entropy: its bytes);
- ``regs``: register reads of a probe (identity, queue sizes, what reset
  clears, write-only and unmapped offsets).

It also checks each back end against its own host side as it goes: block
writes land in the disk image, reads return it; console bytes arrive at the
host end in both directions; entropy reads return the count asked for.

:func:`compare` then reports every difference that :data:`ALLOWED_DIFFERENCES`
(the one place where allowed differences are declared, each with its reason)
does not excuse. No cocotb here: tests/test_differential.py runs the same code on
the RTL, tests/test_qemu.py on QEMU and the model.
"""

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from . import constants as C
from .device.backend import Backend
from .device.block import DEFAULT_SERIAL, BlockBackend
from .device.console import ConsoleBackend
from .device.entropy import EntropyBackend
from .device.mmio import ReferenceDevice
from .driver import VIO_IOV_FLAGS_WRITE, VioIov, VioTransfer
from .drivers.base import ClassDriver
from .drivers.block import BLOCK_FEATURES, BlockDriver, BlockError
from .drivers.console import CONSOLE_FEATURES, ConsoleDriver
from .drivers.entropy import EntropyDriver
from .hal import VioHal
from .memory import GuestMemory
from .model_hal import ModelHal

PERSONALITIES = ("block", "entropy", "console")
DISK_SECTORS = 512  # 256 KiB
DISK_SEED = 7
QUEUE_NUM_MAX = 128  # of the reference device and the RTL builds (QEMU's legacy transport says 1024)
BLOCK_SEG_MAX = 254  # what QEMU's virtio-blk offers (queue-size 256 - 2): the model offers the same
CONSOLE_PORTS = 2  # QEMU: virtio-serial-device,max_ports=2, a virtconsole (port 0) and a virtserialport
PORT1_NAME = "org.example.port1"  # the name of port 1, as in the seed's example
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC


class DifferentialError(AssertionError):
    """A back end disagreed with its own host side, or with another back end."""


def initial_disk() -> bytes:
    return random.Random(DISK_SEED).randbytes(DISK_SECTORS * C.SECTOR_SIZE)


def payload(seed: int, length: int) -> bytes:
    return random.Random(seed).randbytes(length)


# ------------------------------------------------------------------ scenarios
# Steps: ("probe",) register reads; ("start", ring_features) the class driver's
# start() (("linux", page_size, ring_features): in Linux's order, LINUX_PROBE); ("pending",) one request submitted and completed without the
# interrupt handler, InterruptStatus read but not acknowledged; ("reset",) the
# driver's reset, then a probe of what it cleared. Per personality:
# block ("get_id",) ("write", sector, sectors, seed) ("read", sector, sectors)
# (past the end: must fail) ("flush",) ("request", type) (must fail);
# entropy ("entropy", n); console ("open", port) ("send", port, n, seed) driver ->
# host, ("receive", port, n, seed) host -> driver, ("emerg", n, seed) emergency write.
SCENARIOS: dict[str, list[tuple]] = {
    "block": [
        ("probe",),
        ("start", 0),
        ("get_id",),
        ("read", 0, 1),
        ("write", 3, 1, 11),
        ("read", 2, 3),
        ("write", 16, 8, 12),
        ("read", 16, 8),
        ("flush",),
        ("read", DISK_SECTORS - 4, 4),
        ("read", DISK_SECTORS - 1, 2),  # past the end: IOERR
        ("request", 99),  # an unknown request type: UNSUPP
        ("pending",),
        ("reset",),
        ("start", EVENT_IDX | INDIRECT),
        ("write", 40, 16, 13),
        ("read", 36, 24),
        ("get_id",),
        ("flush",),
    ],
    "entropy": [
        ("probe",),
        ("start", 0),
        ("entropy", 64),
        ("entropy", 5000),
        ("pending",),
        ("reset",),
        ("start", EVENT_IDX),
        ("entropy", 1),
        ("entropy", 300),
    ],
    "console": [
        ("probe",),
        ("start", 0),
        ("open", 0),
        ("send", 0, 11, 21),
        ("receive", 0, 10, 22),
        ("receive", 0, 600, 23),
        ("send", 0, 5000, 24),
        ("open", 1),
        ("send", 1, 100, 27),
        ("receive", 1, 50, 28),
        ("emerg", 3, 29),
        ("pending",),
        ("reset",),
        ("start", EVENT_IDX),
        ("open", 0),
        ("receive", 0, 40, 25),
        ("send", 0, 40, 26),
    ],
}


# Linux's probe order (Linux 6.1: virtio_mmio_probe() writes GuestPageSize,
# register_virtio_device() resets, virtio_dev_probe() negotiates, vm_setup_vq()
# places rings aligned to the page) with pages of 4, 16 and 64 KiB, each
# followed by traffic; ("linux", page_size, ring_features) starts the class
# driver so. Each probe after the first comes after a reset with the previous
# page size still in the device: a device whose Status=0 forgets the page size
# passes the 4 KiB part only.
PAGE_SIZES = (4096, 16384, 65536)
LINUX_PROBE: dict[str, list[tuple]] = {
    "block": [
        ("probe",),
        ("linux", PAGE_SIZES[0], 0),
        ("write", 3, 1, 11),
        ("read", 2, 3),
        ("reset",),
        ("linux", PAGE_SIZES[1], EVENT_IDX | INDIRECT),
        ("write", 16, 8, 12),
        ("read", 16, 8),
        ("get_id",),
        ("reset",),
        ("linux", PAGE_SIZES[2], INDIRECT),
        ("write", 40, 16, 13),
        ("read", 36, 24),
        ("flush",),
    ],
    "entropy": [
        ("probe",),
        ("linux", PAGE_SIZES[0], 0),
        ("entropy", 64),
        ("reset",),
        ("linux", PAGE_SIZES[1], EVENT_IDX),
        ("entropy", 300),
        ("reset",),
        ("linux", PAGE_SIZES[2], EVENT_IDX | INDIRECT),
        ("entropy", 5000),
    ],
    "console": [
        ("probe",),
        ("linux", PAGE_SIZES[0], 0),
        ("open", 0),
        ("send", 0, 11, 21),
        ("receive", 0, 10, 22),
        ("reset",),
        ("linux", PAGE_SIZES[1], EVENT_IDX),
        ("open", 0),
        ("receive", 0, 600, 23),
        ("send", 0, 100, 24),
        ("reset",),
        ("linux", PAGE_SIZES[2], EVENT_IDX),
        ("open", 1),
        ("send", 1, 100, 27),
        ("receive", 1, 50, 28),
    ],
}
SCENARIO_SETS = {"default": SCENARIOS, "linux_probe": LINUX_PROBE}


# ------------------------------------------------------------------ back ends
class Target:
    """One back end: the driver model reaches it through ``hal`` at ``base``;
    the host side is reached through the methods below."""

    name: str
    hal: VioHal
    base: int
    timeout_ns: int  # bound of every wait of the class drivers, in the HAL's time

    async def settle(self) -> None:
        """Return once the device has finished what it started (default: it
        always has, as the reference device and QEMU, whose completions and
        interrupt decisions happen at once)."""

    def disk(self) -> bytes:
        raise NotImplementedError(f"{self.name} has no disk")

    def host_write(self, port: int, data: bytes) -> None:
        raise NotImplementedError(f"{self.name} has no console")

    def host_read(self, port: int, n: int) -> bytes:
        """Exactly ``n`` bytes from the host end of console port ``port`` (bounded)."""
        raise NotImplementedError(f"{self.name} has no console")


def make_backend(personality: str, disk: bytes | None = None) -> Backend:
    """The reference device's backend set up as QEMU's device of the personality."""
    if personality == "block":
        return BlockBackend(bytearray(initial_disk() if disk is None else disk), serial=DEFAULT_SERIAL, seg_max=BLOCK_SEG_MAX)
    if personality == "entropy":
        return EntropyBackend(seed=1)
    if personality == "console":
        # QEMU's virtconsole: no SIZE (cols = rows = 0), EMERG_WRITE, port 0 unnamed
        return ConsoleBackend(nr_ports=CONSOLE_PORTS, cols=0, rows=0, names=[None, PORT1_NAME])
    raise ValueError(f"unknown personality {personality!r}; known: {PERSONALITIES}")


class BackendTarget(Target):
    """A back end whose host side is a Python ``vio.device`` backend: the
    reference device behind a ModelHal, or the RTL behind tb/'s CocotbHal."""

    def __init__(self, name: str, hal: VioHal, base: int, backend: Backend, timeout_ns: int, settle=None):
        self.name, self.hal, self.base, self.backend, self.timeout_ns = name, hal, base, backend, timeout_ns
        self._settle = settle  # a coroutine function: the RTL's quiescence (vio.cocotb.env.VirtioEnv.quiesce)

    async def settle(self) -> None:
        if self._settle is not None:
            await self._settle()

    def disk(self) -> bytes:
        assert isinstance(self.backend, BlockBackend) and self.backend.disk is not None
        return bytes(self.backend.disk)

    def host_write(self, port: int, data: bytes) -> None:
        assert isinstance(self.backend, ConsoleBackend)
        self.backend.host_write(port, data)

    def host_read(self, port: int, n: int) -> bytes:
        assert isinstance(self.backend, ConsoleBackend)
        data = self.backend.host_read(port)
        if len(data) != n:
            raise DifferentialError(f"{self.name}: the console's host end got {len(data)} byte(s), {n} expected")
        return data


MODEL_BASE = 0x0A000000


def model_target(
    personality: str,
    mem_size: int = 1 << 20,
    backend: Backend | None = None,
    device_class: type[ReferenceDevice] = ReferenceDevice,
    timeout_ns: int = 10_000_000,
) -> BackendTarget:
    """The reference device (ModelHal, virtual time) set up as QEMU's device
    (or with ``backend`` or a ``device_class`` of its own, to see a difference caught)."""
    backend = make_backend(personality) if backend is None else backend
    mem = GuestMemory(mem_size)
    hal = ModelHal(mem)
    hal.attach(MODEL_BASE, device_class(backend, mem, queue_num_max=QUEUE_NUM_MAX))
    if personality == "console":
        for port in range(CONSOLE_PORTS):
            backend.host_open(port)  # QEMU's chardevs are connected before the driver starts
    return BackendTarget("model", hal, MODEL_BASE, backend, timeout_ns=timeout_ns)


# ------------------------------------------------------------------ running
@dataclass
class Observation:
    """What the driver saw on one back end: one record per scenario step."""

    target: str
    personality: str
    steps: list[dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"target": self.target, "personality": self.personality, "steps": self.steps})

    @classmethod
    def from_json(cls, text: str) -> "Observation":
        raw = json.loads(text)
        return cls(raw["target"], raw["personality"], raw["steps"])


def make_driver(personality: str, target: Target, ring_features: int) -> ClassDriver:
    kw = dict(ring_features=ring_features, timeout_ns=target.timeout_ns, queue_size=QUEUE_NUM_MAX)
    if personality == "block":
        return BlockDriver(target.hal, target.base, seg_size=C.SECTOR_SIZE * 4, **kw)
    if personality == "entropy":
        return EntropyDriver(target.hal, target.base, **kw)
    features = CONSOLE_FEATURES | 1 << C.VIRTIO_CONSOLE_F_EMERG_WRITE | ring_features
    return ConsoleDriver(target.hal, target.base, nr_ports=CONSOLE_PORTS, features=features,
                         timeout_ns=target.timeout_ns, queue_size=QUEUE_NUM_MAX)  # fmt: skip


class _Recorder:
    """Watches a class driver: used elements as ``poll`` collects them and the
    InterruptStatus values its handler reads. It wraps three methods of the
    driver's VioDriver instance; the driver's code is unchanged.

    A used element's id is recorded as the number of the submission it
    answers (per queue, from 0): which descriptor a recycled receive buffer
    occupies depends on how the driver's polls were batched (timing), while
    the submission a completion answers does not.
    """

    def __init__(self, drv: ClassDriver):
        self.used: dict[str, list[list[int]]] = {}
        self.isr = 0
        self._posts: dict[int, int] = {}  # queue -> submissions so far
        self._submission: dict[tuple[int, int], int] = {}  # (queue, head) -> submission number
        vio = drv.vio
        collect, interrupt_status, submit = vio._collect, vio.interrupt_status, vio.submit

        async def watched_submit(tfr):
            result = await submit(tfr)
            n = self._posts.get(tfr.queue, 0)
            self._submission[(tfr.queue, tfr.head)] = n
            self._posts[tfr.queue] = n + 1
            return result

        def watched_collect(q, done):
            before = q.last_used
            try:
                collect(q, done)
            finally:
                mem = vio.hal.mem
                for i in range((q.last_used - before) & 0xFFFF):
                    at = q.layout.used_ring((before + i) % q.num)
                    head, length = mem.read32(at), mem.read32(at + 4)
                    self.used.setdefault(str(q.index), []).append([self._submission.pop((q.index, head), -1), length])

        async def watched_interrupt_status():
            isr = await interrupt_status()
            self.isr |= isr
            return isr

        vio._collect = watched_collect
        vio.submit = watched_submit
        vio.interrupt_status = watched_interrupt_status

    def take(self) -> tuple[dict, int]:
        used, isr = self.used, self.isr
        self.used, self.isr = {}, 0
        return used, isr


def _handshake_done(drv: ConsoleDriver) -> Callable[[], bool]:
    """Every port added, named as the host names it, and open on the host side
    (both hosts have every chardev connected before the driver starts)."""
    names = {1: PORT1_NAME}
    return lambda: len(drv.ports) == CONSOLE_PORTS and all(
        p.host_open and p.name == names.get(p.id) for p in drv.ports.values()
    )


def _control(drv: ConsoleDriver) -> dict[str, list]:
    """The control messages so far, each direction in its order (how the two
    directions interleave depends on when the driver polls)."""
    out: dict[str, list] = {"device": [], "driver": []}
    for m in drv.control_log:
        out[m.sender].append([m.id, m.event, m.value, m.data.hex()])
    return out


def _digest(data: bytes) -> str:
    return f"{len(data)}:{hashlib.sha256(data).hexdigest()[:16]}"


PROBE_REGS = {
    "MagicValue": C.VIRTIO_MMIO_MAGIC_VALUE,
    "Version": C.VIRTIO_MMIO_VERSION,
    "DeviceID": C.VIRTIO_MMIO_DEVICE_ID,
    "VendorID": C.VIRTIO_MMIO_VENDOR_ID,
    "Status": C.VIRTIO_MMIO_STATUS,
    "InterruptStatus": C.VIRTIO_MMIO_INTERRUPT_STATUS,
    # write-only registers read 0 on both (QEMU logs a guest error)
    "QueueNotify(read)": C.VIRTIO_MMIO_QUEUE_NOTIFY,
    "GuestPageSize(read)": C.VIRTIO_MMIO_GUEST_PAGE_SIZE,
    "InterruptACK(read)": C.VIRTIO_MMIO_INTERRUPT_ACK,
    # Version 2 registers and offsets legacy does not map read 0 (ours: DeviceError, 0 while healthy)
    "QueueReady(v2)": C.VIRTIO_MMIO_QUEUE_READY,
    "ConfigGeneration(v2)": C.VIRTIO_MMIO_CONFIG_GENERATION,
    "0x0f0": C.VIO_MMIO_DEVICE_ERROR,
}


async def probe(target: Target, num_queues: int) -> dict[str, int]:
    """Register reads that need no driver: identity, features, queues (every
    queue and the first missing one), and write-only registers."""
    hal, base = target.hal, target.base
    regs = {name: await hal.read(base + off) for name, off in PROBE_REGS.items()}
    for sel in (0, 1):
        await hal.write(base + C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel)
        regs[f"HostFeatures[{sel}]"] = await hal.read(base + C.VIRTIO_MMIO_DEVICE_FEATURES)
    for q in range(num_queues + 1):
        await hal.write(base + C.VIRTIO_MMIO_QUEUE_SEL, q)
        regs[f"QueueNumMax[{q}]"] = await hal.read(base + C.VIRTIO_MMIO_QUEUE_NUM_MAX)
        regs[f"QueuePFN[{q}]"] = await hal.read(base + C.VIRTIO_MMIO_QUEUE_PFN)
    await hal.write(base + C.VIRTIO_MMIO_QUEUE_SEL, 0)
    return regs


def _pending_transfer(personality: str, drv: ClassDriver) -> tuple[VioTransfer, int]:
    """A request of the personality, built by hand: (transfer, its buffer)."""
    mem = drv.hal.mem
    if personality == "entropy":
        buf = mem.alloc(32)
        return VioTransfer(0, [VioIov(buf, 32, VIO_IOV_FLAGS_WRITE)]), buf
    if personality == "block":
        buf = mem.alloc(16 + C.VIRTIO_BLK_ID_BYTES + 1)
        mem.write(buf, C.VIRTIO_BLK_T_GET_ID.to_bytes(4, "little") + bytes(12))
        iov = [
            VioIov(buf, 16),
            VioIov(buf + 16, C.VIRTIO_BLK_ID_BYTES, VIO_IOV_FLAGS_WRITE),
            VioIov(buf + 16 + C.VIRTIO_BLK_ID_BYTES, 1, VIO_IOV_FLAGS_WRITE),
        ]
        return VioTransfer(0, iov), buf
    buf = mem.alloc(8)
    mem.write(buf, b"pending\n")
    return VioTransfer(1, [VioIov(buf, 8)]), buf  # port 0's transmit queue


async def _until(target: Target, cond: Callable[[], bool], what: str) -> None:
    """Poll ``cond`` (guest memory) with a register read in between: a bus
    access lets time pass on every back end, also while the line is high
    (wait_irq would return at once then, and simulated time stand still)."""
    deadline = target.hal.now_ns() + target.timeout_ns
    while not cond():
        if target.hal.now_ns() > deadline:
            raise DifferentialError(f"{target.name}: {what} did not happen within {target.timeout_ns} ns")
        await target.hal.read(target.base + C.VIRTIO_MMIO_MAGIC_VALUE)


async def run_scenario(personality: str, target: Target, scenario: list[tuple] | None = None) -> Observation:
    """Run ``scenario`` (default: the personality's) on ``target`` with the
    class driver of the personality; returns what the driver observed.
    Raises DifferentialError when the back end disagrees with its host side."""
    steps = SCENARIOS[personality] if scenario is None else scenario
    obs = Observation(target.name, personality)
    hal, base = target.hal, target.base
    disk = bytearray(initial_disk()) if personality == "block" else None  # what the disk must hold
    drv: ClassDriver | None = None
    rec: _Recorder | None = None
    num_queues = {"block": 1, "entropy": 1, "console": 2 * (CONSOLE_PORTS + 1)}[personality]

    def fail(what: str) -> None:
        raise DifferentialError(f"{target.name}, {personality} step {index} {step}: {what}")

    for index, step in enumerate(steps):
        op, args = step[0], step[1:]
        record: dict = {"step": index, "op": " ".join(str(a) for a in step)}
        if op == "probe":
            record["regs"] = await probe(target, num_queues)
        elif op in ("start", "linux"):
            drv = make_driver(personality, target, args[-1])
            if op == "linux":
                drv.vio.use_linux_probe_order(args[0])
            rec = _Recorder(drv)
            await drv.start()
            record["features"] = drv.vio.features
            if personality == "block":
                assert isinstance(drv, BlockDriver)
                record["config"] = {"capacity": drv.capacity, "blk_size": drv.blk_size, "seg_max": drv.seg_max}
                if drv.capacity != DISK_SECTORS:
                    fail(f"capacity {drv.capacity} sectors, the disk has {DISK_SECTORS}")
            if personality == "console":
                assert isinstance(drv, ConsoleDriver)
                # start() returns once port 0 is open; the rest of the handshake (port 1's
                # name, the host ends' state) comes when the device gets to it: wait for it
                # all, so that every back end has seen the same messages at the end of the step
                await drv._until(_handshake_done(drv), "the rest of the control handshake")
                record["config"] = {"cols": drv.cols, "rows": drv.rows, "max_nr_ports": drv.max_nr_ports}
                record["control"] = _control(drv)
        elif drv is None:
            fail("needs a started driver")
        elif op == "get_id":
            record["data"] = (await drv.get_id()).decode(errors="replace")
        elif op == "read" and args[0] + args[1] > DISK_SECTORS:
            try:
                await drv.read(*args)
                fail("a read past the end of the disk succeeded")
            except BlockError as err:
                record["status"] = err.status
        elif op == "request":
            try:
                await drv.request(args[0], in_len=C.SECTOR_SIZE)
                fail(f"request type {args[0]} succeeded")
            except BlockError as err:
                record["status"] = err.status
        elif op == "read":
            sector, count = args
            data = await drv.read(sector, count)
            want = bytes(disk[sector * C.SECTOR_SIZE : (sector + count) * C.SECTOR_SIZE])
            if data != want:
                fail("the data read is not the disk's")
            if target.disk()[sector * C.SECTOR_SIZE : (sector + count) * C.SECTOR_SIZE] != want:
                fail("the disk image does not hold what was written")
            record["data"] = _digest(data)
        elif op == "write":
            sector, count, seed = args
            data = payload(seed, count * C.SECTOR_SIZE)
            await drv.write(sector, data)
            disk[sector * C.SECTOR_SIZE : (sector + count) * C.SECTOR_SIZE] = data
            if target.disk()[sector * C.SECTOR_SIZE : (sector + count) * C.SECTOR_SIZE] != data:
                fail("the written sectors are not in the disk image")
        elif op == "flush":
            await drv.flush()
        elif op == "entropy":
            data = await drv.read(args[0])
            if len(data) != args[0]:
                fail(f"{len(data)} entropy bytes, {args[0]} asked")
            record["data"] = _digest(data)
        elif op == "open":
            await drv.open(args[0])
            record["control"] = _control(drv)
            record["ports"] = {str(p.id): [p.name, p.console, p.host_open, p.guest_open] for p in drv.ports.values()}
        elif op == "send":
            port, n, seed = args
            data = payload(seed, n)
            await drv.write(port, data)
            if target.host_read(port, len(data)) != data:
                fail("the host end received other bytes")
        elif op == "emerg":
            data = bytes(0x20 + b % 0x5F for b in payload(args[1], args[0]))  # printable: a 0 byte is no character
            await drv.emerg_write(data)
            if target.host_read(0, len(data)) != data:
                fail("the host end of port 0 did not get the emergency write")
        elif op == "receive":
            port, n, seed = args
            data = payload(seed, n)
            target.host_write(port, data)
            got = await drv.read(port, len(data))
            if got != data:
                fail("the driver received other bytes than the host sent")
            record["data"] = _digest(got)
        elif op == "pending":
            tfr, buf = _pending_transfer(personality, drv)
            q = drv.vio.queue[tfr.queue]
            await drv.vio.submit(tfr)
            used_idx = q.layout.used_idx
            await _until(target, lambda: hal.mem.read16(used_idx) != q.last_used, "the pending request's completion")
            await target.settle()
            record["regs"] = {"InterruptStatus": await hal.read(base + C.VIRTIO_MMIO_INTERRUPT_STATUS)}
            if personality == "console":
                target.host_read(0, 8)
            hal.mem.free(buf)  # the transfer is abandoned by the reset that follows
        elif op == "reset":
            await drv.vio.reset()
            record["regs"] = await probe(target, num_queues)
            drv = None
        else:
            raise ValueError(f"unknown scenario step {step!r}")
        if rec is not None and op not in ("pending", "reset", "probe"):
            # what is pending after the step: read and acknowledged (see module doc)
            await target.settle()
            isr = await hal.read(base + C.VIRTIO_MMIO_INTERRUPT_STATUS)
            if isr:
                await hal.write(base + C.VIRTIO_MMIO_INTERRUPT_ACK, isr)
            used, seen = rec.take()
            record["used"] = used
            record["isr(EVENT_IDX)" if drv.vio.has_feature(C.VIRTIO_RING_F_EVENT_IDX) else "isr"] = seen | isr
        if op == "reset":
            rec = None
        obs.steps.append(record)
    return obs


# ------------------------------------------------------------ comparison
def _queue_presence(value: int, personality: str) -> str:
    return "missing (0)" if value == 0 else ("present" if value & (value - 1) == 0 else f"not a power of two: {value}")


# what the class drivers of the scenarios can ask for, per personality
DRIVER_FEATURES = {
    "block": BLOCK_FEATURES | EVENT_IDX | INDIRECT,
    "entropy": EVENT_IDX | INDIRECT,
    "console": CONSOLE_FEATURES | 1 << C.VIRTIO_CONSOLE_F_EMERG_WRITE | EVENT_IDX | INDIRECT,
}


def _known_features(value: int, personality: str) -> int:
    return value & DRIVER_FEATURES[personality]


@dataclass(frozen=True)
class Allowed:
    """One allowed difference: ``normalize(value, personality)`` is compared
    instead of the value; ``only_with`` limits it to comparisons in which one
    side is that back end (None: every comparison)."""

    normalize: Callable
    reason: str
    only_with: str | None = None


# THE list of allowed differences: observed field name -> what is compared instead, and why.
ALLOWED_DIFFERENCES: dict[str, Allowed] = {
    "VendorID": Allowed(
        lambda v, p: "any",
        "each implementer has its own: QEMU 0x554D4551 ('QEMU'), this project 0x4B4F4956 ('VIOK')",
    ),
    "QueueNumMax": Allowed(
        _queue_presence,
        "the size is the implementation's (QEMU's legacy transport says 1024 for every queue; ours is a "
        "parameter); compared is the rule: a power of two for a queue that exists, 0 for one that does not",
    ),
    "HostFeatures": Allowed(
        _known_features,
        "QEMU offers features this project does not implement (virtio-blk GEOMETRY, SCSI, TOPOLOGY, "
        "CONFIG_WCE, DISCARD, WRITE_ZEROES), and its legacy virtio-blk leaves out ANY_LAYOUT, which our device "
        "offers because its backend takes any split of header and data; compared: the bits the class "
        "driver asks for (the negotiated set is compared as it is)",
    ),
    "entropy data": Allowed(
        lambda v, p: v.split(":")[0],
        "random bytes: QEMU's come from the host, the model's from a seed; the count is compared",
    ),
    "isr(EVENT_IDX)": Allowed(
        lambda v, p: v & C.VIRTIO_MMIO_INT_CONFIG,
        "with EVENT_IDX the RTL reads used_event after its used.idx write lands, as the spec asks; the "
        "driver, polling meanwhile, may have collected the entry and moved used_event on, and then no "
        "interrupt is due. QEMU and the reference device decide at once, so between them the bit is "
        "compared; with the RTL only the config bit",
        only_with="rtl",
    ),
}
# Not observed at all, so never compared: time (QEMU runs in wall-clock time,
# the model in virtual time, the RTL in clock cycles), guest addresses
# (QueuePFN of a live queue, buffer addresses), the register base (QEMU's
# last transport 0x0a003e00, ours 0x0a000000), descriptor ids (a used id is
# recorded as the submission it answers) and how many interrupts a step took
# (the OR of the bits is compared).


def _allowed_key(name: str, personality: str) -> str | None:
    base = name.split("[")[0]
    if base in ALLOWED_DIFFERENCES:
        return base
    if name == "data" and personality == "entropy":
        return "entropy data"
    return None


def _normalize(obs: Observation, targets: set[str]) -> list[dict]:
    def norm(name: str, value):
        k = _allowed_key(name, obs.personality)
        if k is None or ALLOWED_DIFFERENCES[k].only_with not in (None, *targets):
            return value
        return ALLOWED_DIFFERENCES[k].normalize(value, obs.personality)

    out = []
    for record in obs.steps:
        rec = {}
        for key, value in record.items():
            if key == "regs":
                value = {name: norm(name, v) for name, v in value.items()}
            else:
                value = norm(key, value)
            rec[key] = value
        out.append(rec)
    return out


def _fmt(value) -> str:
    if isinstance(value, int):
        return f"{value:#x}"
    return json.dumps(value) if not isinstance(value, str) else value


def compare(a: Observation, b: Observation) -> list[str]:
    """Every difference between two observations of the same scenario that
    :data:`ALLOWED_DIFFERENCES` does not excuse, one line each."""
    if a.personality != b.personality:
        return [f"{a.target} ran {a.personality}, {b.target} ran {b.personality}"]
    diffs = []
    targets = {a.target, b.target}
    na, nb = _normalize(a, targets), _normalize(b, targets)
    if len(na) != len(nb):
        diffs.append(f"{a.target} has {len(na)} steps, {b.target} {len(nb)}")
    for ra, rb in zip(na, nb):
        where = f"step {ra['step']} ({ra['op']})"
        for key in sorted(set(ra) | set(rb)):
            va, vb = ra.get(key), rb.get(key)
            if key == "regs" and isinstance(va, dict) and isinstance(vb, dict):
                for name in sorted(set(va) | set(vb)):
                    if va.get(name) != vb.get(name):
                        diffs.append(f"{where} {name}: {a.target} {_fmt(va.get(name))}, {b.target} {_fmt(vb.get(name))}")
            elif va != vb:
                diffs.append(f"{where} {key}: {a.target} {_fmt(va)}, {b.target} {_fmt(vb)}")
    return diffs


def check_same(a: Observation, b: Observation) -> None:
    """Raise DifferentialError listing every difference that is not allowed."""
    diffs = compare(a, b)
    if diffs:
        raise DifferentialError(
            f"{a.personality}: {a.target} and {b.target} differ in {len(diffs)} place(s):\n  " + "\n  ".join(diffs)
        )


async def run_model(personality: str, scenario: list[tuple] | None = None) -> Observation:
    return await run_scenario(personality, model_target(personality), scenario)


__all__ = [
    "ALLOWED_DIFFERENCES", "BackendTarget", "DifferentialError", "LINUX_PROBE", "Observation", "PERSONALITIES", "SCENARIOS",
    "Target", "check_same", "compare", "make_backend", "model_target", "run_model", "run_scenario",
]  # fmt: skip
