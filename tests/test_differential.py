"""The differential scenarios of ``vio.differential`` on the RTL: the same
driver-model operations as on QEMU and on the reference device, and what the
driver observed compared with both (the allowed differences are declared in
``vio.differential.ALLOWED_DIFFERENCES``, nowhere else): the personality's
scenario (``differential_*``) and Linux's probe order (``linux_probe_*``); on
the entropy build also the reset table (``reset_table_entropy``).

The cocotb tests, then their pytest runner: one build per personality; only
the tests of the build's personality run (the runner's test filter). QEMU's
observations are recorded by the pytest test just before the simulation and
arrive as JSON files in the directory named by ``VIO_DIFF_QEMU``; the
reference device runs in the simulator's Python. ``VIO_DIFF_GAPS=pause,latency``
runs the RTL with random gaps on every channel and memory latency: what the
driver observes must not change.

``make test`` runs one small build (entropy on Icarus); ``make qemu-check``
sets ``VIO_QEMU_CHECK=1`` and runs every personality on Verilator and Icarus.
Collected only where QEMU is installed (tests/conftest.py).
"""

import asyncio
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cocotb
import pytest

from tb.runner import ROOT, SimulationError, build_and_test
from tb.top import virtio_env
from vio.cocotb.env import DEFAULT_MEM_SIZE, personality_parameters
from vio.device.console import ConsoleBackend
from vio.differential import (
    CONSOLE_PORTS, QUEUE_NUM_MAX, SCENARIO_SETS, BackendTarget, Observation, check_same, make_backend, run_model, run_scenario,
)  # fmt: skip
from vio.qemu.target import QemuTarget
from vio.reset_table import check as check_reset_table

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

QEMU_ENV = "VIO_DIFF_QEMU"  # a directory: <scenario set>.json per set QEMU ran
GAPS_ENV = "VIO_DIFF_GAPS"  # "pause,mem_latency": random gaps on every channel and memory latency
TIMEOUT_NS = 5_000_000  # bound of every wait of a class driver, in simulated time
TEST_TIMEOUT_MS = 100


async def _differential(dut, personality: str, scenario_set: str = "default") -> None:
    backend = make_backend(personality)
    pause, latency = (float(x) for x in os.environ.get(GAPS_ENV, "0,0").split(","))
    env = virtio_env(dut, backend, pause=pause or None, mem_latency=int(latency), seed=int(os.environ.get("VIO_SEED", "1")))
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
    env = virtio_env(dut, backend)
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


# ------------------------------------------------------------------ runner
FULL = os.environ.get("VIO_QEMU_CHECK", "0") == "1"


@dataclass(frozen=True)
class Build:
    sim: str
    personality: str
    width: int
    gaps: str = ""  # "pause,mem_latency" for the RTL run (VIO_DIFF_GAPS)

    @property
    def parameters(self) -> dict[str, int]:
        params = personality_parameters(make_backend(self.personality))
        params.update(AXI_DATA_WIDTH=self.width, QUEUE_NUM_MAX=QUEUE_NUM_MAX, DMA_SIZE=DEFAULT_MEM_SIZE)
        return params

    @property
    def cocotb_tests(self) -> list[str]:
        """The cocotb tests above this build runs: the scenario,
        Linux's probe order, and on an entropy build the reset table (vio.reset_table)."""
        tests = [f"differential_{self.personality}", f"linux_probe_{self.personality}"]
        return tests + (["reset_table_entropy"] if self.personality == "entropy" else [])

    @property
    def id(self) -> str:
        return f"{self.sim}-{self.personality}-dw{self.width}"

    @property
    def test_id(self) -> str:
        return self.id + (f"-gaps{self.gaps.replace(',', '-')}" if self.gaps else "")


SMALL = [Build("icarus", "entropy", 32)]
BUILDS = [
    Build("verilator", "block", 64),
    Build("verilator", "console", 32),
    Build("verilator", "entropy", 128),
    Build("icarus", "block", 32),
    Build("icarus", "console", 64),
    *SMALL,
    # with random gaps (20 % per clock on every channel) and 8 cycles of memory latency: Icarus,
    # whose builds take seconds (each needs its own directory: results.xml lives there)
    Build("icarus", "block", 32, "0.2,8"),
    Build("icarus", "console", 64, "0.2,8"),
    Build("icarus", "entropy", 32, "0.2,8"),
] if FULL else SMALL  # fmt: skip


@pytest.mark.parametrize("build", BUILDS, ids=[b.test_id for b in BUILDS])
def test_qemu_model_rtl(build: Build, tmp_path: Path):
    for name, scenarios in SCENARIO_SETS.items():
        with QemuTarget(build.personality) as qemu:
            observed = asyncio.run(run_scenario(build.personality, qemu, scenarios[build.personality]))
        (tmp_path / f"{name}.json").write_text(observed.to_json())
    try:
        results = build_and_test(
            build.sim,
            build.parameters,
            ROOT / "build" / "differential" / build.test_id,
            __name__,
            test_filter=rf"\.({'|'.join(build.cocotb_tests)})$",
            extra_env={"VIO_DIFF_QEMU": str(tmp_path), "VIO_DIFF_GAPS": build.gaps or "0,0"},
        )
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    assert not failed, "\n".join(failed)
