"""Random loopback traffic and its check, byte for byte: shared by the
co-simulation (tests/test_cosim.py) and the bus-fault tests
(tests/test_faults.py). Plain driver-model code: it runs on any HAL."""

import random
from dataclasses import dataclass

from vio import VIO_IOV_FLAGS_WRITE, VioIov, VioQueue, VioTransfer
from vio.device.loopback import loopback_answer
from vio.drivers.base import ClassDriver
from vio.memory import GuestMemory

GUARD = 8  # bytes of 0xAA around every buffer, checked untouched
TIMEOUT_NS = 5_000_000  # bound of every wait of a class driver


@dataclass
class Posted:
    """A transfer of random layout and what the loopback device must answer."""

    tfr: VioTransfer
    blocks: list[int]  # allocations to free
    readable: bytes
    writable: list[VioIov]
    guards: list[tuple[int, bytes]]  # (address, bytes) that must stay as they are


class LoopbackTraffic:
    """Random transfers for a loopback device, and the check of each."""

    SIZES = (1, 2, 3, 7, 8, 15, 16, 17, 31, 64, 100, 255, 256, 300, 511, 1000, 1500, 4100)

    def __init__(self, mem: GuestMemory, rng: random.Random):
        self.mem = mem
        self.rng = rng

    def _buffer(self, size: int, fill: bytes, blocks: list[int], guards: list[tuple[int, bytes]]) -> int:
        rng, mem = self.rng, self.mem
        skew = rng.randrange(16)
        block = mem.alloc(size + skew + 2 * GUARD, rng.choice((1, 2, 4, 16, 64)))
        blocks.append(block)
        addr = block + GUARD + skew
        mem.write(block, b"\xaa" * (GUARD + skew))
        mem.write(addr, fill)
        mem.write(addr + size, b"\xaa" * GUARD)
        guards += [(block, b"\xaa" * (GUARD + skew)), (addr + size, b"\xaa" * GUARD)]
        return addr

    def transfer(self, queue: int, max_iov: int) -> Posted:
        rng = self.rng
        while True:
            n_read, n_write = rng.randint(0, 3), rng.randint(0, 3)
            if 1 <= n_read + n_write <= max_iov:
                break
        blocks: list[int] = []
        guards: list[tuple[int, bytes]] = []
        iov: list[VioIov] = []
        readable = b""
        for _ in range(n_read):
            size = rng.choice(self.SIZES)
            data = rng.randbytes(size)
            addr = self._buffer(size, data, blocks, guards)
            guards.append((addr, data))  # the device never writes a readable buffer
            iov.append(VioIov(addr, size))
            readable += data
        writable = []
        for _ in range(n_write):
            size = rng.choice(self.SIZES)
            v = VioIov(self._buffer(size, b"\x55" * size, blocks, guards), size, VIO_IOV_FLAGS_WRITE)
            iov.append(v)
            writable.append(v)
        return Posted(VioTransfer(queue, iov), blocks, readable, writable, guards)

    def check(self, p: Posted) -> None:
        mem, tfr = self.mem, p.tfr
        where = f"queue {tfr.queue}, {len(p.readable)} readable bytes, writable {[v.size for v in p.writable]}"
        expect = loopback_answer(tfr.queue, p.readable, sum(v.size for v in p.writable))
        assert tfr.done, f"{where}: not completed"
        assert tfr.actual == len(expect), f"{where}: used.len {tfr.actual}, expected {len(expect)}"
        pos = 0
        for v in p.writable:
            got = mem.read(v.buffer, v.size)
            want = expect[pos : pos + v.size]
            want += b"\x55" * (v.size - len(want))  # past used.len: untouched
            assert got == want, f"{where}: writable buffer at {v.buffer:#x} differs at byte {_first_diff(got, want)}"
            pos += v.size
        for addr, data in p.guards:
            got = mem.read(addr, len(data))
            assert got == data, f"{where}: bytes at {addr:#x} (a guard or readable buffer) changed at {_first_diff(got, data)}"
        for block in p.blocks:
            mem.free(block)


def _first_diff(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def loopback_queues(params: dict, size: int = 64) -> list[VioQueue]:
    """One VioQueue per device queue; the second one polled (interrupts off)."""
    return [VioQueue(f"q{i}", size, interrupts=i != 1) for i in range(params["NUM_QUEUES"])]


async def loopback_rounds(vio_drv: ClassDriver, traffic: LoopbackTraffic, rounds: int) -> int:
    """``rounds`` batches: 1..3 random transfers on every queue (layout, direct
    or indirect at random), all in flight together, then every byte checked."""
    vio, rng = vio_drv.vio, traffic.rng
    done = 0
    for _ in range(rounds):
        batch = []
        for q in vio.queue:
            q.indirect = rng.choice((None, True, False))
            for _ in range(rng.randint(1, 3)):
                p = traffic.transfer(q.index, max_iov=min(6, q.num))
                await vio.submit(p.tfr)
                batch.append(p)
        await vio_drv.wait(*(p.tfr for p in batch), timeout_ns=TIMEOUT_NS)
        for p in batch:
            traffic.check(p)
        done += len(batch)
    return done
