"""QEMU, the reference device and the RTL on the same scenarios
(``vio.differential``: each personality's scenario and Linux's probe order):
QEMU's observations are recorded here and handed to the cocotb module
tb/test_differential.py, which runs the scenarios on the RTL and on the
reference device and compares all three. Entropy builds also check the reset
table (``vio.reset_table``) on the RTL.

``make test`` runs one small build (entropy on Icarus); ``make qemu-check``
sets ``VIO_QEMU_CHECK=1`` and runs every personality on Verilator and Icarus.
"""

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tb.env import DEFAULT_MEM_SIZE, personality_parameters  # noqa: E402
from tb.runner import SimulationError, build_and_test  # noqa: E402
from vio.differential import QUEUE_NUM_MAX, SCENARIO_SETS, make_backend, run_scenario  # noqa: E402
from vio.qemu.target import QemuTarget  # noqa: E402

TEST_MODULE = "tb.test_differential"
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
        """The tests of tb/test_differential.py this build runs: the scenario,
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
            TEST_MODULE,
            test_filter=rf"\.({'|'.join(build.cocotb_tests)})$",
            extra_env={"VIO_DIFF_QEMU": str(tmp_path), "VIO_DIFF_GAPS": build.gaps or "0,0"},
        )
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    assert not failed, "\n".join(failed)
    assert sorted(name.rsplit(".", 1)[-1] for name, _ in results) == sorted(build.cocotb_tests)
