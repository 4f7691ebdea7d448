"""The differential scenarios of ``vio.differential`` on the RTL: the same
driver-model operations as on QEMU and on the reference device, and what the
driver observed compared with both (the allowed differences are declared in
``vio.differential.ALLOWED_DIFFERENCES``, nowhere else): the personality's
scenario (``differential_*``) and Linux's probe order (``linux_probe_*``); on
the entropy build also the reset table (``reset_table_entropy``).

Run by tests/test_differential.py, one build per personality; only the test
of the build's personality runs (the runner's test filter). The QEMU
observations arrive as JSON files in the directory named by ``VIO_DIFF_QEMU``
(recorded by the pytest entry just before); the reference device runs here, in-process.
``VIO_DIFF_GAPS=pause,latency`` runs the RTL with random gaps on every channel
and memory latency: what the driver observes must not change.
"""

import os
import warnings
from pathlib import Path

import cocotb

from vio.device.console import ConsoleBackend
from vio.differential import (
    CONSOLE_PORTS, SCENARIO_SETS, BackendTarget, Observation, check_same, make_backend, run_model, run_scenario,
)  # fmt: skip
from vio.reset_table import check as check_reset_table

from .env import VirtioEnv

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

QEMU_ENV = "VIO_DIFF_QEMU"  # a directory: <scenario set>.json per set QEMU ran
GAPS_ENV = "VIO_DIFF_GAPS"  # "pause,mem_latency": random gaps on every channel and memory latency
TIMEOUT_NS = 5_000_000  # bound of every wait of a class driver, in simulated time
TEST_TIMEOUT_MS = 100


async def _differential(dut, personality: str, scenario_set: str = "default") -> None:
    backend = make_backend(personality)
    pause, latency = (float(x) for x in os.environ.get(GAPS_ENV, "0,0").split(","))
    env = VirtioEnv(dut, backend, pause=pause or None, mem_latency=int(latency), seed=int(os.environ.get("VIO_SEED", "1")))
    await env.start()
    await env.check_identity()
    if isinstance(backend, ConsoleBackend):
        for port in range(CONSOLE_PORTS):
            backend.host_open(port)  # as QEMU's chardevs, connected before the driver starts
    scenario = SCENARIO_SETS[scenario_set][personality]
    rtl = await run_scenario(personality, BackendTarget("rtl", env.hal, env.base, backend, TIMEOUT_NS, settle=env.quiesce), scenario)
    check_same(await run_model(personality, scenario), rtl)
    if os.environ.get(QEMU_ENV):
        check_same(Observation.from_json((Path(os.environ[QEMU_ENV]) / f"{scenario_set}.json").read_text()), rtl)


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


# Linux's probe order with 4, 16 and 64 KiB pages (vio.differential.LINUX_PROBE)
@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def linux_probe_block(dut):
    await _differential(dut, "block", "linux_probe")


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def linux_probe_entropy(dut):
    await _differential(dut, "entropy", "linux_probe")


@cocotb.test(timeout_time=TEST_TIMEOUT_MS, timeout_unit="ms")
async def linux_probe_console(dut):
    await _differential(dut, "console", "linux_probe")
