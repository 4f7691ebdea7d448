"""cocotb module of tb/bench_speed.py on tb/speed_counter.v: the ceiling.

One coroutine awaits every rising edge of the test bench's clock (the kit's start_clock,
the same cocotb ``Clock``) for ``VIO_SPEED_CYCLES`` cycles: the least a test
bench that looks at every cycle can cost. cocotb's results.xml has the
simulated time and the wall-clock time.
"""

import os

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from vio.cocotb.clock import start_clock

CYCLES = int(os.environ.get("VIO_SPEED_CYCLES", "200000"))


@cocotb.test()
async def ceiling(dut):
    start_clock(dut.clk)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    edge = RisingEdge(dut.clk)
    await edge  # out of reset: counting from here
    first = dut.count.value.to_unsigned()
    for _ in range(CYCLES):
        await edge
    assert dut.count.value.to_unsigned() - first == CYCLES  # one count per edge awaited
