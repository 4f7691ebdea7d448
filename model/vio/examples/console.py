"""The seed's console example, run against the reference device.

    python -m vio.examples.console

A ``ConsoleDriver`` (the seed's ``console_vio_driver``: two ports and the
control channel) starts on a reference device with a ``ConsoleBackend``; the
MULTIPORT handshake adds both ports, the host opens them, the driver writes a
line on each, the host echoes the bytes back and the driver reads them. Every
step, completion, control message and interrupt is printed with the virtual
time. Exit status 0 on success, 1 with a message on failure.

``console_example(hal, host, say)`` runs the same flow on another device:
``tb/sim_console.py`` passes the RTL's HAL, the ``console_host()`` it put
behind the RTL's streams, and a printer that stamps clock cycles.
"""

import asyncio
import sys
from collections.abc import Callable

from vio import GuestMemory, ModelHal, VioError, VioHal
from vio.device import ReferenceDevice
from vio.device.console import ConsoleBackend
from vio.drivers.console import ConsoleDriver

BASE = 0x0A000000  # where QEMU's virt machine puts its first virtio-mmio transport
MESSAGES = {0: b"hello from the console port\n", 1: b"hello from port 1\n"}


def console_host() -> ConsoleBackend:
    """The host end of the example: two ports, port 1 named."""
    return ConsoleBackend(nr_ports=2, names=[None, "org.example.port1"])


async def console_example(
    hal: VioHal | None = None, host: ConsoleBackend | None = None, say: Callable[[str], None] | None = None
) -> None:
    """The example on ``hal`` (a device at BASE whose backend is ``host``);
    by default on a reference device, printing the virtual time."""
    if host is None:
        host = console_host()
    if hal is None:
        mem = GuestMemory(1 << 20)
        hal = ModelHal(mem)
        hal.attach(BASE, ReferenceDevice(host, mem))
    if say is None:

        def say(text: str) -> None:
            print(f"{hal.now_ns():>9} ns  {text}")

    console = ConsoleDriver(hal, BASE, nr_ports=2, trace=say)

    say("step 1: cyg_vio_driver_init and the control handshake")
    await console.start()
    for port in console.ports.values():
        say(f"port {port.id}: name {port.name!r}, console {port.console}, guest open {port.guest_open}")

    say("step 2: the host opens both ports")
    for p in MESSAGES:
        host.host_open(p)
        await console.open(p)
        say(f"port {p} open at both ends: {console.port_open(p)}")

    say("step 3: the driver writes on both ports")
    for p, text in MESSAGES.items():
        await console.write(p, text)

    say("step 4: the host echoes what it received")
    for p, text in MESSAGES.items():
        got = host.host_read(p)
        if got != text:
            raise RuntimeError(f"host received {got!r} on port {p}, expected {text!r}")
        host.host_write(p, got)

    say("step 5: the driver reads the echoes")
    for p, text in MESSAGES.items():
        got = await console.read(p, len(text))
        if got != text:
            raise RuntimeError(f"driver read {got!r} on port {p}, expected {text!r}")
        say(f"port {p} echoed {got!r}")
    say(f"done: {console.interrupts} interrupts, {len(console.control_log)} control messages")


def main() -> int:
    try:
        asyncio.run(console_example())
    except (VioError, RuntimeError) as err:
        print(f"console example FAILED: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
