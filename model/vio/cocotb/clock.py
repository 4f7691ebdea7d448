"""The test bench's clock and its cycle count.

Every part of the kit that reports a cycle (fault hits, protocol violations,
scoreboard messages) counts it the same way, from simulation time and the
clock period: rising edges at odd multiples of half a period after time 0, as
:func:`start_clock` makes them.
"""

from __future__ import annotations

from cocotb.clock import Clock
from cocotb.handle import SimHandleBase
from cocotb.utils import get_sim_time

DEFAULT_PERIOD_NS = 10


class CycleClock:
    """Clock cycles since time 0, from simulation time."""

    def __init__(self, period_ns: int = DEFAULT_PERIOD_NS):
        if period_ns <= 0:
            raise ValueError(f"clock period {period_ns} ns: must be positive")
        self.period_ns = period_ns

    def now(self) -> int:
        return int(get_sim_time(unit="ns")) // self.period_ns


def start_clock(signal: SimHandleBase, period_ns: int = DEFAULT_PERIOD_NS) -> Clock:
    """A clock on ``signal``, started: cocotb's clock in C++ (``impl="gpi"``;
    on Icarus the default is a Python coroutine, two task resumes a cycle),
    started low so that the first rising edge comes half a period after time
    0, when a reset written at time 0 has reached the DUT and the bus models."""
    clock = Clock(signal, period_ns, unit="ns", impl="gpi")
    clock.start(start_high=False)
    return clock
