"""QEMU as a back end of the differential runs (``vio.differential``): the
device of a personality, started as ``virt`` would run it, with its host side
(the disk image file, the console's chardev socket) reachable from Python."""

import select
import time
from pathlib import Path

from ..differential import CONSOLE_PORTS, PORT1_NAME, DifferentialError, Target, initial_disk
from ..device.block import DEFAULT_SERIAL
from .hal import QemuHal
from .process import QemuMachine, block_device, console_device, rng_device, serial_port

TIMEOUT_NS = 2_000_000_000  # wall clock: QEMU's block I/O runs in its threads


def personality_devices(personality: str):
    """The QEMU arguments of a personality (a callable of the work directory,
    which also writes the disk image there)."""

    def devices(workdir: Path) -> list[str]:
        if personality == "block":
            image = workdir / "disk.img"
            image.write_bytes(initial_disk())
            return block_device(image, serial=DEFAULT_SERIAL.decode())
        if personality == "entropy":
            return rng_device()
        if personality == "console":
            args = console_device(workdir / "console0.sock", max_ports=CONSOLE_PORTS)
            return args + serial_port(workdir / "console1.sock", 1, PORT1_NAME)
        raise ValueError(f"unknown personality {personality!r}")

    return devices


class QemuTarget(Target):
    """``with QemuTarget("block") as t:`` starts QEMU with the personality's
    device, connects the console's host end, and stops QEMU at the end."""

    def __init__(self, personality: str, timeout_ns: int = TIMEOUT_NS, intercept: bool = False):
        self.name = "qemu"
        self.personality = personality
        self.intercept = intercept  # QemuHal's interrupt source: GIC interception, else InterruptStatus
        self.timeout_ns = timeout_ns
        self.machine = QemuMachine(personality_devices(personality))
        self.console: list = []

    def __enter__(self) -> "QemuTarget":
        self.machine.__enter__()
        try:
            self.hal = QemuHal(self.machine, intercept=self.intercept)
            self.base = self.machine.base
            if self.personality == "console":
                workdir = self.machine.workdir
                self.console = [self.machine.connect(workdir / f"console{p}.sock") for p in range(CONSOLE_PORTS)]
        except BaseException:
            self.machine.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self.console:
            sock.close()
        self.console = []
        self.machine.stop()

    def disk(self) -> bytes:
        assert self.machine.workdir is not None
        return (self.machine.workdir / "disk.img").read_bytes()

    def host_write(self, port: int, data: bytes) -> None:
        self.console[port].sendall(data)

    def host_read(self, port: int, n: int) -> bytes:
        out = bytearray()
        deadline = time.monotonic() + self.timeout_ns / 1e9
        while len(out) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.console[port]], [], [], remaining)[0]:
                raise DifferentialError(f"qemu: the host end of console port {port} got {len(out)} of {n} byte(s) in time")
            chunk = self.console[port].recv(n - len(out))
            if not chunk:
                raise DifferentialError("qemu: QEMU closed the console socket")
            out += chunk
        return bytes(out)
