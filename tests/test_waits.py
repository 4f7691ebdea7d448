"""Runs tb/test_waits.py (the waits of tb/waits.py against a loop that samples
every rising edge) on tb/speed_counter.v, under Icarus and Verilator."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tb/ for the simulator's Python (the runner passes sys.path on)

from tb.runner import build, run  # noqa: E402

TOP = "speed_counter"


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_waits(sim):
    build_dir = ROOT / "build" / "waits" / sim
    build(sim, {}, build_dir, sources=[ROOT / "tb" / "speed_counter.v"], top=TOP)
    results = dict(run(sim, {}, build_dir, "tb.test_waits", top=TOP))
    assert results, f"{sim}: no cocotb test ran (log: {build_dir})"
    bad = {name: text for name, text in results.items() if text}
    assert not bad, f"{sim}: failed cocotb tests (log: {build_dir}):\n" + "\n".join(f"{k}: {v}" for k, v in bad.items())
