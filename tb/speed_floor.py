"""cocotb module of tb/bench_speed.py on tb/speed_axi_master.v: the bus-model floor.

An AXI4 master in HDL keeps its channels busy (``VIO_FLOOR_MODE``: the
master's MODE, 1 reads, 2 writes, 3 both) and a memory model in Python serves
it (``VIO_FLOOR_MODEL``: ``axiram``, cocotbext-axi's ``AxiRam`` as the library
ships it, or ``guestram``, the kit's :class:`vio.cocotb.guest_ram.GuestRam`).
No other coroutine runs: the test sleeps on one timer for ``VIO_SPEED_CYCLES``
cycles. The cycles per second are the most any test bench can reach whose
memory is that model, on a bus moving a beat at every cycle.
"""

import os

import cocotb
from cocotb.triggers import ClockCycles, Timer
from cocotbext.axi import AxiBus, AxiRam

from vio.cocotb.clock import DEFAULT_PERIOD_NS, start_clock
from vio.cocotb.guest_ram import GuestRam

CYCLES = int(os.environ.get("VIO_SPEED_CYCLES", "200000"))
MODEL = os.environ.get("VIO_FLOOR_MODEL", "axiram")
MODELS = ("axiram", "guestram")
MODE = int(os.environ.get("VIO_FLOOR_MODE", "1"))
SIZE = 1 << 16


@cocotb.test()
async def floor(dut):
    assert MODEL in MODELS, f"VIO_FLOOR_MODEL={MODEL!r}: one of {', '.join(MODELS)}"
    start_clock(dut.clk)
    if MODEL == "axiram":
        AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    else:
        GuestRam(dut, "m_axi", dut.clk, dut.rst, mem=bytearray(SIZE), period_ns=DEFAULT_PERIOD_NS)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await Timer(CYCLES * DEFAULT_PERIOD_NS, unit="ns")
    # the bus was busy: each direction the master drives moved a beat in at least 90 % of the cycles
    for bit, name in ((1, "r_beats"), (2, "w_beats")):
        beats = getattr(dut, name).value.to_unsigned()
        assert beats >= 0.9 * CYCLES if MODE & bit else beats == 0, f"{name}: {beats} in {CYCLES} cycles (MODE {MODE})"
    assert dut.errors.value.to_unsigned() == 0, f"{dut.errors.value.to_unsigned()} R or B responses not OKAY or RLAST misplaced"
