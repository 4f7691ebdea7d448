"""``vio.cocotb.waits.until_quiet`` returns at the edge a loop sampling every
rising edge would return at, on tb/speed_counter.v (a DUT that costs
nothing), under Icarus and Verilator: the cocotb test and its pytest runner.

The DUT's ``rst`` input plays the watched signal: the test drives it after a
rising edge, as a register of the DUT would change, and knows from its own
schedule which edge the wait must return at. ``rst`` is a VALID (busy while
high) or an idle signal such as the RTL's ``engine_idle`` (busy while low).
"""

import cocotb
import pytest
from cocotb.triggers import RisingEdge
from cocotb.utils import get_sim_time

from tb.runner import ROOT, build, run
from vio.cocotb.clock import DEFAULT_PERIOD_NS as CLOCK_PERIOD_NS
from vio.cocotb.clock import start_clock
from vio.cocotb.waits import until_quiet

QUIET = 8  # quiet edges the wait asks for


def edge_number() -> int:
    """The rising edges so far (start_clock's first one comes at half a period)."""
    return (int(get_sim_time(unit="ns")) + CLOCK_PERIOD_NS // 2) // CLOCK_PERIOD_NS


async def returns_at(dut, schedule: dict[int, int], watch: str) -> int:
    """Drive ``rst`` to ``schedule[k]`` just after the k-th edge from now
    while ``until_quiet`` waits for QUIET quiet edges with ``rst`` as a
    ``watch`` ("valid", "idle", or "none": left out); the edge it returned at,
    counted from now."""
    edge = RisingEdge(dut.clk)
    await edge  # a value written before has reached the DUT
    start = edge_number()
    signals, idle = {"valid": ([dut.rst], []), "idle": ([], [dut.rst]), "none": ([], [])}[watch]

    async def wait() -> int:
        await until_quiet(dut.clk, signals, QUIET, period_ns=CLOCK_PERIOD_NS, idle=idle)
        return edge_number() - start

    task = cocotb.start_soon(wait())
    for k in range(1, max(schedule) + 1):
        await edge
        if k in schedule:
            dut.rst.value = schedule[k]
    return await task


@cocotb.test()
async def until_quiet_returns_where_a_loop_would(dut):
    start_clock(dut.clk)
    dut.rst.value = 0
    # a VALID high on edges 3 and 4: edges 5 to 12 are the quiet ones
    assert await returns_at(dut, {2: 1, 4: 0}, "valid") == 12
    # an idle signal low on edges 1 to 20: the count starts at 21
    assert await returns_at(dut, {20: 1}, "idle") == 28
    # high, then low on edge 4 alone: the count starts again at 5
    assert await returns_at(dut, {3: 0, 4: 1}, "idle") == 12
    # the injected fault: the idle signal left out of the wait (as before the
    # wait knew of idle signals), the busy edges are missed
    dut.rst.value = 0
    assert await returns_at(dut, {20: 1}, "none") == QUIET


# ------------------------------------------------------------------ runner
TOP = "speed_counter"


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_waits(sim):
    build_dir = ROOT / "build" / "waits" / sim
    build(sim, {}, build_dir, sources=[ROOT / "tb" / "speed_counter.v"], top=TOP)
    results = run(sim, {}, build_dir, __name__, top=TOP)
    failed = {name: text for name, text in results if text}
    assert not failed, f"{sim}: failed cocotb tests (log: {build_dir}):\n" + "\n".join(f"{k}: {v}" for k, v in failed.items())
