"""``make linux-check`` on the RTL: Linux 6.1's own ``virtio_ring.c`` (built
by vio.linux.build, loaded into the simulator's Python) drives virtio_mmio
through the register sequences of ``virtio_mmio.c`` (vio.linux.mmio), with
every completion checked byte for byte and token for token (vio.linux.check).

Run by tests/test_linux_rtl.py on builds of the default parameters (the
loopback personality, 2 queues of 16, INDIRECT_MAX 32), some with the ring
indices started near the wrap (RING_INDEX_BASE; the ring code is brought
there first, vio.linux.ring.Virtqueue.advance): ``VIO_LINUX_LIB`` names the
library, ``VIO_LINUX_GAPS=pause,latency`` adds random gaps on every channel
and memory latency.
"""

import os
import warnings
from pathlib import Path

import cocotb
from cocotb import Param
from cocotb.triggers import Timer

from vio.device.loopback import LoopbackBackend
from vio.differential import BackendTarget
from vio.hal import VioHal
from vio.linux.check import CASES, DeviceStall, LinuxCheck, LostInterrupt
from vio.linux.ring import KernelRing, guest_store

from .env import VirtioEnv, rtl_parameters

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

LIB_ENV = "VIO_LINUX_LIB"
GAPS_ENV = "VIO_LINUX_GAPS"
MEM_SIZE = 4 << 20
TIMEOUT_NS = 2_000_000  # a wait with nothing happening for this long is a stall or a lost interrupt
DIAGNOSIS_NS = 100_000  # the waits that must run out, in the test that shows their diagnosis
TEST_TIMEOUT_MS = 60_000


async def rtl_env(dut) -> VirtioEnv:
    backend = LoopbackBackend(rtl_parameters()["NUM_QUEUES"])
    pause, latency = (float(x) for x in os.environ.get(GAPS_ENV, "0,0").split(","))
    env = VirtioEnv(dut, backend, store=guest_store(MEM_SIZE), pause=pause or None, mem_latency=int(latency),
                    seed=int(os.environ.get("VIO_SEED", "1")))  # fmt: skip
    await env.start()
    return env


def linux_check(env: VirtioEnv, hal: VioHal | None = None, timeout_ns: int = TIMEOUT_NS) -> LinuxCheck:
    """The ring code (VIO_LINUX_LIB) as the driver of the RTL behind ``env``."""
    ring = KernelRing(Path(os.environ[LIB_ENV]), env.mem)
    target = BackendTarget("rtl", hal or env.hal, env.base, env.backend, timeout_ns, settle=env.quiesce)
    seed = int(os.environ.get("VIO_SEED", "1"))
    return LinuxCheck(target, ring, seed=seed, index_base=rtl_parameters()["RING_INDEX_BASE"])


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
@cocotb.parametrize(case=[Param(name, name) for name in CASES])
async def linux(dut, case):
    check = linux_check(await rtl_env(dut))
    await CASES[case](check)
    cocotb.log.info(f"{case}: {check.completions} completions checked, {check.interrupts} interrupts")


class DeafHal(VioHal):
    """The RTL's HAL with its interrupt line cut: an interrupt lost on the way."""

    def __init__(self, hal: VioHal):
        self.hal, self.mem = hal, hal.mem

    async def read(self, addr: int, size: int = 4) -> int:
        return await self.hal.read(addr, size)

    async def write(self, addr: int, value: int, size: int = 4) -> None:
        await self.hal.write(addr, value, size)

    def irq(self, vector: int) -> bool:
        return False

    async def wait_irq(self, vector: int, timeout_ns: int) -> bool:
        await Timer(max(timeout_ns, 1), unit="ns")
        return False

    def now_ns(self) -> int:
        return self.hal.now_ns()


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def linux_lost_interrupt_or_stall(dut):
    """The waits of vio.linux.check tell the two apart on the RTL: the line
    cut (the device did post, an interrupt was due) and the answers held (the
    device posted nothing)."""
    env = await rtl_env(dut)
    check = linux_check(env, DeafHal(env.hal), timeout_ns=DIAGNOSIS_NS)
    await check.start(4096, features=0)
    check.request(0, [[4]], [[4]])
    await check.kick(0)
    try:
        await check.drain()
    except LostInterrupt as err:
        assert "an interrupt was due for" in str(err), err
    else:
        raise AssertionError("no LostInterrupt with the interrupt line cut")
    await check.remove()
    check = linux_check(env, timeout_ns=DIAGNOSIS_NS)
    check.backend.hold = True
    await check.start(4096, features=0)
    check.request(0, [[4]], [[4]])
    await check.kick(0)
    try:
        await check.drain()
    except DeviceStall as err:
        assert "used.idx" in str(err) and "1 request(s) outstanding" in str(err), err
    else:
        raise AssertionError("no DeviceStall with the answers held")
