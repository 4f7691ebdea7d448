"""Bus faults and resets on the RTL: builds and runs tb/test_faults.py.

One loopback build per simulator (2 queues, QueueNumMax 16, 32 bits; its DMA
window is twice the guest memory so that a buffer past the memory's end is
a bus error, not a window error), in build/faults/<id>. Each pytest entry
runs all the cocotb tests of the module and fails if any failed or fewer ran.

Environment: ``FAULT_SEEDS`` (seeds of the random reset tests: "1,4" or
"1-20"; default "1"), ``FAULT_FULL=1`` (adds a 128-bit Verilator build, where a
descriptor is one beat), ``WAVES=1``.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tb.env import DEFAULT_MEM_SIZE, personality_parameters  # noqa: E402
from tb.runner import SimulationError, build_and_test  # noqa: E402
from vio.device.loopback import LoopbackBackend  # noqa: E402

TEST_MODULE = "tb.test_faults"
FULL = os.environ.get("FAULT_FULL", "0") == "1"
WAVES = os.environ.get("WAVES", "0") == "1"

# cocotb tests of TEST_MODULE: faults_read, faults_write, faults_match_reference
# (read, write), reset_status_random, reset_pfn_random, protocol_checker_catches
EXPECTED_TESTS = 7
BUILDS = [("verilator", 32), ("icarus", 32)] + ([("verilator", 128)] if FULL else [])


def parameters(width: int) -> dict[str, int]:
    params = personality_parameters(LoopbackBackend(2))
    params.update(AXI_DATA_WIDTH=width, QUEUE_NUM_MAX=16, DMA_SIZE=2 * DEFAULT_MEM_SIZE)
    return params


@pytest.mark.parametrize("build", BUILDS, ids=[f"{s}-dw{w}" for s, w in BUILDS])
def test_faults(build):
    sim, width = build
    build_dir = ROOT / "build" / "faults" / f"{sim}-dw{width}{'-waves' if WAVES else ''}"
    env = {"FAULT_SEEDS": os.environ.get("FAULT_SEEDS", "1")}
    try:
        results = build_and_test(sim, parameters(width), build_dir, TEST_MODULE, waves=WAVES, extra_env=env)
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{n}: {text}" for n, text in results if text is not None]
    assert not failed, f"{len(failed)} of {len(results)} cocotb tests failed:\n" + "\n".join(failed)
    assert len(results) == EXPECTED_TESTS, f"{len(results)} cocotb tests ran, {EXPECTED_TESTS} expected: {[n for n, _ in results]}"
