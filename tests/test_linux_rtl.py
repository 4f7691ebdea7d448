"""``make linux-check`` on the RTL: Linux 6.1's own ``virtio_ring.c`` (built
by vio.linux.build, loaded into the simulator's Python) drives virtio_mmio
through the register sequences of ``virtio_mmio.c`` (vio.linux.mmio), with
every completion checked byte for byte and token for token (vio.linux.check).

The cocotb tests, then their pytest runner, on builds of the default
parameters (the loopback personality, 2 queues of 16, INDIRECT_MAX 32) in
build/linux/rtl-<sim>-<index base>, some with the ring indices started near
the wrap (RING_INDEX_BASE; the ring code is brought there first,
vio.linux.ring.Virtqueue.advance): ``VIO_LINUX_LIB`` names the library,
``VIO_LINUX_GAPS=pause,latency`` adds random gaps on every channel and memory
latency.

On Verilator every case but index_wrap from index 0 (65 836 requests are the
reference device's: tests/test_linux.py); on Icarus every case with the ring
indices started 16 short of the wrap, so that each crosses it, and again with
random gaps on every channel (20 % per clock) and 8 cycles of memory latency.
Each run also shows a lost interrupt told apart from a stall on the RTL.
``make linux-check`` (VIO_LINUX_CHECK=1) runs them all; ``make test`` the
Icarus build with the cases of SMALL.
"""

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cocotb
import pytest
from cocotb import Param
from cocotb.triggers import Timer

from tb.runner import ROOT, SimulationError, build, run
from tb.top import rtl_parameters, virtio_env
from vio.cocotb.env import VirtioEnv
from vio.device.loopback import LoopbackBackend
from vio.differential import BackendTarget
from vio.hal import VioHal
from vio.linux.build import library
from vio.linux.check import CASES, INDEX_BASE, DeviceStall, LinuxCheck, LostInterrupt
from vio.linux.ring import KernelRing, guest_store

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
    env = virtio_env(dut, backend, store=guest_store(MEM_SIZE), pause=pause or None, mem_latency=int(latency),
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


# ------------------------------------------------------------------ runner
FULL = os.environ.get("VIO_LINUX_CHECK", "0") == "1"
SMALL = ["out_in_mixed", "reset_in_flight", "index_wrap"]


@dataclass(frozen=True)
class Run:
    sim: str
    index_base: int
    cases: tuple[str, ...]
    gaps: str = ""  # "pause,mem_latency"

    @property
    def id(self) -> str:
        return f"{self.sim}-base{self.index_base}" + ("-gaps" if self.gaps else "")


RUNS = [
    Run("verilator", 0, tuple(c for c in CASES if c != "index_wrap")),
    Run("icarus", INDEX_BASE, tuple(CASES)),
    Run("icarus", INDEX_BASE, tuple(CASES), "0.2,8"),
] if FULL else [Run("icarus", INDEX_BASE, tuple(SMALL))]  # fmt: skip


@pytest.mark.parametrize("r", RUNS, ids=[r.id for r in RUNS])
def test_linux_ring_code_on_the_rtl(r: Run):
    lib = library(ROOT / "build" / "linux")
    params = {"RING_INDEX_BASE": r.index_base}
    build_dir = ROOT / "build" / "linux" / f"rtl-{r.sim}-base{r.index_base}"
    try:
        build(r.sim, params, build_dir)
        results = run(r.sim, params, build_dir, __name__, test_dir=build_dir / ("run-gaps" if r.gaps else "run"),
                      test_filter=rf"\.(linux/case=({'|'.join(r.cases)})|linux_lost_interrupt_or_stall)$",
                      extra_env={"VIO_LINUX_LIB": str(lib), "VIO_LINUX_GAPS": r.gaps or "0,0"})  # fmt: skip
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    assert not failed, "\n".join(failed)
