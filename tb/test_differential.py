"""The differential scenarios of ``vio.differential`` on the RTL: the same
driver-model operations as on QEMU and on the reference device, and what the
driver observed compared with both (the allowed differences are declared in
``vio.differential.ALLOWED_DIFFERENCES``, nowhere else).

Run by tests/test_differential.py, one build per personality; only the test
of the build's personality runs (the runner's test filter). The QEMU
observation arrives as a JSON file named by ``VIO_DIFF_QEMU`` (recorded by the
pytest entry just before); the reference device runs here, in-process.
``VIO_DIFF_GAPS=pause,latency`` runs the RTL with random gaps on every channel
and memory latency: what the driver observes must not change.
"""

import os
import warnings
from pathlib import Path

import cocotb

from vio.device.console import ConsoleBackend
from vio.differential import CONSOLE_PORTS, BackendTarget, Observation, check_same, make_backend, run_model, run_scenario
from vio.reset_table import check as check_reset_table

from .env import VirtioEnv

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

QEMU_ENV = "VIO_DIFF_QEMU"
GAPS_ENV = "VIO_DIFF_GAPS"  # "pause,mem_latency": random gaps on every channel and memory latency
TIMEOUT_NS = 5_000_000  # bound of every wait of a class driver, in simulated time
TEST_TIMEOUT_MS = 100


async def _differential(dut, personality: str) -> None:
    backend = make_backend(personality)
    pause, latency = (float(x) for x in os.environ.get(GAPS_ENV, "0,0").split(","))
    env = VirtioEnv(dut, backend, pause=pause or None, mem_latency=int(latency), seed=int(os.environ.get("VIO_SEED", "1")))
    await env.start()
    await env.check_identity()
    if isinstance(backend, ConsoleBackend):
        for port in range(CONSOLE_PORTS):
            backend.host_open(port)  # as QEMU's chardevs, connected before the driver starts
    rtl = await run_scenario(personality, BackendTarget("rtl", env.hal, env.base, backend, TIMEOUT_NS, settle=env.quiesce))
    check_same(await run_model(personality), rtl)
    path = os.environ.get(QEMU_ENV)
    if path:
        check_same(Observation.from_json(Path(path).read_text()), rtl)


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def reset_table_entropy(dut):
    """Every row of vio.reset_table on the RTL (fresh from rst), the column
    of the reference device; QEMU's column is checked in tests/test_qemu.py."""
    backend = make_backend("entropy")
    env = VirtioEnv(dut, backend)
    await env.start()
    await env.check_identity()
    await env.start()  # rst again: the table's power-on column needs a device nothing has written
    diffs = await check_reset_table(BackendTarget("rtl", env.hal, env.base, backend, TIMEOUT_NS, settle=env.quiesce), "ours")
    assert not diffs, "\n".join(diffs)


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def differential_block(dut):
    await _differential(dut, "block")


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def differential_entropy(dut):
    await _differential(dut, "entropy")


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def differential_console(dut):
    await _differential(dut, "console")
