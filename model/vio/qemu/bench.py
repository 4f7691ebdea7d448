"""Figures of the qtest back end: QEMU start, one register access, bulk guest
memory, and the class drivers' transfers on QEMU's devices (wall clock).

    .venv/bin/python -m vio.qemu.bench
"""

import asyncio
import os
import time

from .. import constants as C
from ..drivers.block import BlockDriver
from ..drivers.console import ConsoleDriver
from ..drivers.entropy import EntropyDriver
from .hal import QemuMemory
from .process import QemuMachine, rng_device
from .target import QemuTarget

REPEAT = 200


def _per_op(fn, n: int = REPEAT) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


async def _aper_op(fn, n: int = REPEAT) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await fn()
    return (time.perf_counter() - start) / n


async def _drivers(rows: list[tuple[str, float]]) -> None:
    with QemuTarget("block") as t:
        blk = BlockDriver(t.hal, t.base, timeout_ns=t.timeout_ns)
        await blk.start()
        data = os.urandom(4096)
        rows.append(("block 4 KiB write (BlockDriver.write)", await _aper_op(lambda: blk.write(8, data))))
        rows.append(("block 4 KiB read (BlockDriver.read)", await _aper_op(lambda: blk.read(8, 8))))
        rows.append(("block 64 KiB read", await _aper_op(lambda: blk.read(0, 128), 50)))
        commands = [0, 0]
        for i in range(2):
            before = t.hal.qtest.commands
            await blk.read(8, 8)
            commands[i] = t.hal.qtest.commands - before
        rows.append((f"  qtest commands per 4 KiB read: {min(commands)}-{max(commands)}", float("nan")))
    with QemuTarget("entropy") as t:
        rng = EntropyDriver(t.hal, t.base, timeout_ns=t.timeout_ns)
        await rng.start()
        rows.append(("entropy 4 KiB (EntropyDriver.read)", await _aper_op(lambda: rng.read(4096))))
    with QemuTarget("console") as t:
        con = ConsoleDriver(t.hal, t.base, nr_ports=2, timeout_ns=t.timeout_ns)
        await con.start()
        await con.open(0)
        data = os.urandom(4096)

        async def send():
            await con.write(0, data)
            t.host_read(0, len(data))

        rows.append(("console 4 KiB driver -> host socket", await _aper_op(send, 100)))


def main() -> None:
    rows: list[tuple[str, float]] = []
    start = time.perf_counter()
    with QemuMachine(rng_device()) as vm:
        rows.append(("QEMU start to first register read", time.perf_counter() - start))
        q = vm.qtest
        rows.append(("register read (readl)", _per_op(lambda: q.read(vm.base + C.VIRTIO_MMIO_INTERRUPT_STATUS, 4))))
        rows.append(("register write (writel)", _per_op(lambda: q.write(vm.base + C.VIRTIO_MMIO_QUEUE_SEL, 0, 4))))
        mem = QemuMemory(q)
        buf = mem.alloc(4096)
        page = os.urandom(4096)
        rows.append(("4 KiB guest write (b64write)", _per_op(lambda: mem.write(buf, page))))
        rows.append(("4 KiB guest read (b64read)", _per_op(lambda: mem.read(buf, 4096))))
        rows.append(("4 KiB guest read (hex read)", _per_op(lambda: q.command(f"read {buf:#x} 0x1000"))))
    asyncio.run(_drivers(rows))
    print("qtest back end, wall clock, one process (QEMU 7.2 TCG, virt, cortex-a57)")
    for name, seconds in rows:
        print(f"  {name:<42}" + ("" if seconds != seconds else f"{seconds * 1e6:>10.0f} us"))


if __name__ == "__main__":
    main()
