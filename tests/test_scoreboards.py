"""Builds the RTL and runs the scoreboard tests (tb/test_scoreboards.py) under cocotb.

Icarus and Verilator at AXI_DATA_WIDTH 32, Verilator again at 64; NUM_QUEUES 3
(a queue with interrupts, a polled one, an indirect one). Each parameter set
has its own build directory under build/scoreboards/, so pytest-xdist can run
them side by side. A run fails if any cocotb test failed, was skipped, or did
not run.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tb/ for the simulator's Python (the runner passes sys.path on)

from tb.runner import build_and_test  # noqa: E402

TEST_MODULE = "tb.test_scoreboards"
EXPECTED_TESTS = {
    "test_clean_random_traffic",
    "test_completion_scoreboard_catches_dropped_answer",
    "test_completion_scoreboard_catches_corrupted_used_len",
    "test_data_scoreboard_catches_flipped_bytes",
    "test_memory_scoreboard_catches_write_past_buffer",
    "test_interrupt_scoreboard_catches_spurious_irq",
    "test_interrupt_scoreboard_catches_late_irq",
}

MEM_SIZE = 1 << 20  # tb/test_scoreboards.py's guest memory: the DMA window is all of it
RUNS = {
    "icarus-dw32": ("icarus", {"AXI_DATA_WIDTH": 32, "NUM_QUEUES": 3, "DMA_SIZE": MEM_SIZE}),
    "verilator-dw32": ("verilator", {"AXI_DATA_WIDTH": 32, "NUM_QUEUES": 3, "DMA_SIZE": MEM_SIZE}),
    "verilator-dw64": ("verilator", {"AXI_DATA_WIDTH": 64, "NUM_QUEUES": 3, "DMA_SIZE": MEM_SIZE}),
}


@pytest.mark.parametrize("run", RUNS.keys())
def test_scoreboards(run):
    sim, params = RUNS[run]
    build_dir = ROOT / "build" / "scoreboards" / run
    results = dict(build_and_test(sim, params, build_dir, TEST_MODULE))
    missing = EXPECTED_TESTS - {name.rsplit(".", 1)[-1] for name in results}
    assert not missing, f"{run}: cocotb tests that did not run: {sorted(missing)}"
    bad = {name: text for name, text in results.items() if text}
    assert not bad, f"{run}: failed cocotb tests (log: {build_dir}):\n" + "\n".join(f"{k}: {v}" for k, v in bad.items())
