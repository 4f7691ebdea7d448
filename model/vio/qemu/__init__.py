"""QEMU as a third back end of the driver model: its ``virt`` machine's
virtio-mmio devices, driven over the qtest protocol (see docs/verification.md, "QEMU: the
third back end"). Plain Python: no cocotb."""

from .hal import QemuHal, QemuMemory
from .process import LAST_TRANSPORT, QemuMachine, block_device, console_device, qemu_binary, rng_device, serial_port
from .qtest import QemuError, QtestClient

__all__ = [
    "LAST_TRANSPORT", "QemuError", "QemuHal", "QemuMachine", "QemuMemory", "QtestClient",
    "block_device", "console_device", "qemu_binary", "rng_device", "serial_port",
]  # fmt: skip
