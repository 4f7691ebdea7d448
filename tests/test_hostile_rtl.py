"""The hostile-input campaign on the RTL: builds and runs tb/test_hostile_rtl.py
on Verilator and on Icarus (one small build each, in build/hostile/<id>).

Each run executes every scenario of ``vio.hostile`` the RTL can take (each on
the RTL and on the reference device, compared) and the fuzzing of
``vio.hostile.fuzz`` for ``HOSTILE_SEEDS`` seeds from ``HOSTILE_SEED``
(default: 3 seeds from 1; ``make regress`` runs many more). A failing fuzz
seed is named in the failure with the command that reproduces it.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tb/ for the simulator's Python too (the runner passes sys.path on)

from tb.runner import SimulationError, build_and_test  # noqa: E402
from vio.hostile import SCENARIOS  # noqa: E402
from vio.hostile import target as T  # noqa: E402

TEST_MODULE = "tb.test_hostile_rtl"
# the hostile targets' device: loopback personality, 2 queues of 16, DMA
# window = the whole 32-bit space (past guest memory: SLVERR)
PARAMS = {"NUM_QUEUES": T.NUM_QUEUES, "QUEUE_NUM_MAX": T.QUEUE_NUM_MAX, "AXI_DATA_WIDTH": 32}
EXPECTED = sum(1 for s in SCENARIOS.values() if s.model_only is None) + 2  # + the settle bound's own test, the fuzz test
FUZZ_ENV = {k: os.environ[k] for k in ("HOSTILE_SEEDS", "HOSTILE_SEED", "HOSTILE_STEPS") if k in os.environ}


@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_hostile_rtl(sim):
    build_dir = ROOT / "build" / "hostile" / f"{sim}-dw32-nq2-qmax16"
    try:
        results = build_and_test(sim, PARAMS, build_dir, TEST_MODULE, extra_env=FUZZ_ENV)
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    assert not failed, f"{len(failed)} of {len(results)} cocotb tests failed:\n" + "\n".join(failed)
    assert len(results) == EXPECTED, f"{len(results)} cocotb tests ran, {EXPECTED} expected"
