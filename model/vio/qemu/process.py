"""Starting and stopping one QEMU ``virt`` machine under qtest, with one
virtio-mmio device, as a context manager.

The CPU runs an 8-byte firmware ``wfi; b .-4`` (generated here, never
committed) so that it sleeps; the VM is left running (not ``-S``), because
with the VM stopped entropy and console-receive requests never complete.
QEMU does not exit when its qtest socket closes, so :meth:`QemuMachine.stop`
ends the process it started, by its id, always (also when start-up failed).
"""

import ctypes
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from .qtest import QemuError, QtestClient

QEMU_ENV = "VIO_QEMU"  # overrides the executable
QEMU_BINARY = "qemu-system-aarch64"
QEMU_PACKAGE = "qemu-system-arm"  # the Debian package that provides it
# the virt machine: 32 virtio-mmio transports of 0x200 bytes from 0x0a000000; a
# single -device lands on the last one; RAM starts at 0x40000000
VIRT_MMIO_BASE = 0x0A000000
VIRT_MMIO_STRIDE = 0x200
VIRT_MMIO_COUNT = 32
LAST_TRANSPORT = VIRT_MMIO_BASE + (VIRT_MMIO_COUNT - 1) * VIRT_MMIO_STRIDE  # 0x0a003e00
VIRT_MMIO_FIRST_SPI = 16  # transport n raises SPI 16 + n: GIC input 16 + n
RAM_BASE = 0x40000000
RAM_MB = 128
PR_SET_PDEATHSIG = 1
WFI_IMAGE = struct.pack("<II", 0xD503207F, 0x17FFFFFF)  # wfi; b .-4


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the process that started QEMU
    dies (Linux), so that not even a killed test run leaves a QEMU behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: stop() is the only guard


def qemu_binary() -> str | None:
    """The QEMU executable to use, or None when there is none."""
    explicit = os.environ.get(QEMU_ENV)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which(QEMU_BINARY)


def rng_device() -> list[str]:
    return ["-device", "virtio-rng-device"]


def block_device(image: str | Path, serial: str | None = None) -> list[str]:
    extra = f",serial={serial}" if serial else ""
    return ["-drive", f"if=none,id=d0,file={image},format=raw", "-device", f"virtio-blk-device,drive=d0{extra}"]


def console_device(chardev_socket: str | Path, max_ports: int | None = None) -> list[str]:
    """virtio-serial with a virtconsole (port 0) on a Unix socket QEMU serves.
    QEMU offers MULTIPORT only when ``max_ports`` (31 by default) is over 1."""
    ports = f",max_ports={max_ports}" if max_ports is not None else ""
    return [
        "-device", f"virtio-serial-device{ports}",
        "-chardev", f"socket,id=c0,path={chardev_socket},server=on,wait=off",
        "-device", "virtconsole,chardev=c0",
    ]  # fmt: skip


def serial_port(chardev_socket: str | Path, nr: int, name: str | None = None) -> list[str]:
    """One more port ``nr`` of the virtio-serial device (after console_device)."""
    named = f",name={name}" if name else ""
    return [
        "-chardev", f"socket,id=c{nr},path={chardev_socket},server=on,wait=off",
        "-device", f"virtserialport,chardev=c{nr},nr={nr}{named}",
    ]  # fmt: skip


class QemuMachine:
    """``with QemuMachine(rng_device()) as vm:`` gives ``vm.qtest`` (a
    :class:`QtestClient`), ``vm.base`` (the device's transport) and
    ``vm.workdir`` (a temporary directory for sockets and images).

    ``devices`` may be a callable taking the work directory, for devices whose
    arguments name files in it (the console's chardev socket).
    """

    def __init__(
        self, devices, *, timeout_s: float = 10.0, start_timeout_s: float = 20.0, extra_args: tuple[str, ...] = ()
    ):
        self.devices = devices
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self.extra_args = list(extra_args)
        self.base = LAST_TRANSPORT
        self.irq_line = VIRT_MMIO_FIRST_SPI + VIRT_MMIO_COUNT - 1
        self.proc: subprocess.Popen | None = None
        self.qtest: QtestClient | None = None
        self.workdir: Path | None = None
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._stderr = None

    # ------------------------------------------------------------ lifetime
    def __enter__(self) -> "QemuMachine":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _describe(self) -> str:
        if self._stderr is None:
            return ""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=0.5)  # an error on our side often means QEMU is exiting: let it say why
            except subprocess.TimeoutExpired:
                pass
        try:
            self._stderr.flush()
            text = Path(self._stderr.name).read_text(errors="replace").strip()
        except OSError:
            return ""
        alive = "" if self.proc is None or self.proc.poll() is None else f"; QEMU exited with {self.proc.returncode}"
        return f"{alive}{'; its stderr: ' + text[-800:] if text else ''}"

    def start(self) -> None:
        binary = qemu_binary()
        if binary is None:
            where = os.environ.get(QEMU_ENV) or f"{QEMU_BINARY} on PATH"
            raise QemuError(f"QEMU not found ({where}): install the Debian package {QEMU_PACKAGE} (make setup does as root)")
        self.workdir = Path(tempfile.mkdtemp(prefix="vio-qemu-"))
        firmware = self.workdir / "wfi.bin"
        firmware.write_bytes(WFI_IMAGE)
        qtest_path = self.workdir / "qtest.sock"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(qtest_path))
        self._listener.listen(1)
        devices = self.devices(self.workdir) if callable(self.devices) else list(self.devices)
        argv = [
            binary, "-M", "virt", "-cpu", "cortex-a57", "-m", str(RAM_MB), "-display", "none", "-nodefaults",
            "-accel", "tcg", "-qtest", f"unix:{qtest_path}", "-qtest-log", "/dev/null", "-bios", str(firmware),
            *devices, *self.extra_args,
        ]  # fmt: skip
        self._stderr = open(self.workdir / "stderr.txt", "w+b")
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr, preexec_fn=_die_with_parent
            )
        except OSError as err:
            raise QemuError(f"QEMU could not be started ({binary}): {err}") from err
        deadline = time.monotonic() + self.start_timeout_s
        self._listener.settimeout(0.05)
        while self._conn is None:
            try:
                self._conn, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                if self.proc.poll() is not None:
                    raise QemuError(f"QEMU failed to start: {' '.join(argv)}{self._describe()}") from None
                if time.monotonic() > deadline:
                    raise QemuError(
                        f"QEMU did not connect to its qtest socket within {self.start_timeout_s} s{self._describe()}"
                    ) from None
        self._conn.setblocking(True)
        self.qtest = QtestClient(self._conn, self.timeout_s, self._describe)
        try:
            magic = self.qtest.read(self.base, 4)
        except QemuError as err:  # QEMU connects before it creates the devices, then may exit
            raise QemuError(f"QEMU failed to start: {' '.join(argv)}: {err}") from err
        if magic != 0x74726976:
            raise QemuError(f"no virtio-mmio transport at {self.base:#x}: MagicValue {magic:#x}{self._describe()}")

    def connect(self, path: str | Path, timeout_s: float | None = None) -> socket.socket:
        """A client connection to a socket QEMU serves (a chardev), bounded."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
                return sock
            except OSError as err:
                sock.close()
                if time.monotonic() > deadline or (self.proc is not None and self.proc.poll() is not None):
                    raise QemuError(f"could not connect to QEMU's socket {path}: {err}{self._describe()}") from err
                time.sleep(0.02)

    def stop(self) -> None:
        """End the QEMU process this object started (by its id) and clean up."""
        for s in (self._conn, self._listener):
            if s is not None:
                s.close()
        self._conn = self._listener = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
