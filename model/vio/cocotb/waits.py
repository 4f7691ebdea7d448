"""Waiting on the DUT without looking at every clock edge.

A coroutine that awaits each rising edge costs about as much as a trivial
simulation (see tb/bench_speed.py), so the test bench's monitors and waits
sleep on the signal that can wake them and look at the clock only while there
is something to see. The helpers keep the cycle semantics of a loop that
samples at every rising edge (the values before the edge): they return at the
same edge such a loop would have.

Edges of one signal are watched by one coroutine however many waiters there
are (:func:`on_edge`, :func:`until_edge`): cocotb's ``First`` would start a
task per trigger at every wait.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import Event, FallingEdge, First, RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_time


async def within(awaitable: Awaitable[object], timeout_ns: float, failure: str) -> None:
    """Await ``awaitable``; AssertionError(``failure``) if it takes longer than ``timeout_ns``."""
    try:
        await with_timeout(awaitable, timeout_ns, "ns")
    except SimTimeoutError:
        raise AssertionError(failure) from None


def high(signal: SimHandleBase) -> bool:
    """A one-bit signal is 1 now (X and Z count as 0)."""
    return str(signal.value) == "1"


class _Watch:
    """One coroutine awaiting every ``edge`` of ``signal``; each calls the
    callbacks registered at that moment. It ends at the first edge that finds
    no callback (a watch of a READY that toggles with random gaps would
    otherwise wake at every rise for nobody); :func:`on_edge` starts a new one
    when a callback comes (the new task awaits the edge before the simulator
    moves on: cocotb runs it in the same scheduling pass)."""

    def __init__(self, signal: SimHandleBase, edge: type):
        self.trigger = edge(signal)
        self.callbacks: dict[int, Callable[[], None]] = {}
        self.task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        while True:
            await self.trigger
            if not self.callbacks:
                return
            for fn in list(self.callbacks.values()):
                fn()


_watches: dict[tuple[SimHandleBase, type], _Watch] = {}


def on_edge(signal: SimHandleBase, edge: type, fn: Callable[[], None]) -> Callable[[], None]:
    """Call ``fn()`` at every ``edge`` (RisingEdge or FallingEdge) of
    ``signal`` (in the time step of the edge) until the returned function is
    called. One coroutine per watched edge, however many callbacks."""
    w = _watches.get((signal, edge))
    if w is None or w.task.done():  # (cocotb ends every task with its test)
        w = _watches[signal, edge] = _Watch(signal, edge)
    key = id(fn)
    w.callbacks[key] = fn
    return lambda: w.callbacks.pop(key, None)


def on_reset(signal: SimHandleBase, active_level: bool, fn: Callable[[bool], None]) -> None:
    """Call ``fn(True)`` when ``signal`` enters its ``active_level`` and
    ``fn(False)`` when it leaves it (as cocotbext-axi's models follow their
    reset; X and Z change nothing). Starts out of reset, as they do."""
    state = [False]

    def edge(level: bool) -> None:
        active = level == active_level
        if active != state[0]:
            state[0] = active
            fn(active)

    on_edge(signal, RisingEdge, lambda: edge(True))
    on_edge(signal, FallingEdge, lambda: edge(False))


async def until_edge(signals: Sequence[SimHandleBase], edge: type = RisingEdge, timeout: Timer | None = None) -> bool:
    """Until an ``edge`` (RisingEdge or FallingEdge) of one of ``signals``, or
    ``timeout`` (a Timer); True if an edge came first."""
    return await until_any([(s, edge) for s in signals], timeout)


async def until_any(edges: Sequence[tuple[SimHandleBase, type]], timeout: Timer | None = None) -> bool:
    """Until one of ``edges`` ((signal, RisingEdge or FallingEdge) pairs), or
    ``timeout`` (a Timer); True if an edge came first."""
    event = Event()
    cancels = [on_edge(s, edge, event.set) for s, edge in edges]
    try:
        if timeout is None:
            await event.wait()
            return True
        return await First(event.wait(), timeout) is not timeout
    finally:
        for cancel in cancels:
            cancel()


async def until_rise(signals: Sequence[SimHandleBase]) -> None:
    """Sleep while every one of ``signals`` is 0; returns at once if one is 1
    already. For a monitor that has just sampled them all low at a clock edge:
    the next edge that can see one high is the first edge after this returns."""
    if not any(high(s) for s in signals):
        await until_edge(signals)


async def until_quiet(
    clock: SimHandleBase,
    signals: Sequence[SimHandleBase],
    cycles: int,
    *,
    period_ns: int,
    idle: Sequence[SimHandleBase] = (),
    busy: Callable[[], bool] | None = None,
    timeout_ns: int | None = None,
) -> None:
    """Until ``cycles`` consecutive rising edges of ``clock`` (period
    ``period_ns``) at which none of ``signals`` is 1, each of ``idle`` (the
    DUT's own "nothing in progress", e.g. engine_idle) is 1, and ``busy()``
    (the test bench's own state, e.g. a frame queued but not yet on the bus)
    is false.

    Returns at the edge where a loop sampling every edge would return. While a
    signal is high (an ``idle`` signal low) it sleeps until it falls (rises);
    a quiet stretch costs its first edge, one timer and its last edge; a rise
    of ``signals`` or fall of ``idle`` in it wakes the wait, and the next edge
    says whether the count goes on or starts again (a change undone between
    two edges may make it return an edge later than the loop, never earlier).
    ``busy()`` is looked at on the first and last edge (and at each edge while
    it alone holds the wait): state it reports that never shows on
    ``signals`` or ``idle`` in between is not seen. ``timeout_ns``:
    AssertionError when not quiet by then.
    """
    busy = busy or (lambda: False)
    wait = _quiet(clock, signals, idle, cycles, period_ns, busy)
    if timeout_ns is None:
        return await wait
    try:
        await within(wait, timeout_ns, "")
    except AssertionError:
        why = [s._name for s in signals if high(s)] + [f"{s._name} low" for s in idle if not high(s)]  # (cocotb's public _name)
        why += ["the test bench busy"] if busy() else []
        raise AssertionError(f"the DUT did not settle: not quiet for {cycles} cycles within {timeout_ns} ns (now: {', '.join(why) or 'quiet'})") from None


async def _quiet(
    clock: SimHandleBase, signals: Sequence[SimHandleBase], idle: Sequence[SimHandleBase], cycles: int, period_ns: int, busy: Callable[[], bool]
) -> None:
    edge = RisingEdge(clock)
    wakes = [(s, RisingEdge) for s in signals] + [(s, FallingEdge) for s in idle]

    def active() -> bool:
        return busy() or any(high(s) for s in signals) or not all(high(s) for s in idle)

    quiet = 0  # quiet edges in a row so far
    while True:
        if not quiet:  # asleep while busy: a VALID high, an idle signal low
            up = next((s for s in signals if high(s)), None)
            if up is not None:
                await FallingEdge(up)
                continue
            working = next((s for s in idle if not high(s)), None)
            if working is not None:
                await RisingEdge(working)
                continue
        await edge
        if active():
            quiet = 0
            continue
        quiet += 1
        if quiet == cycles:
            return
        # asleep until just before the count's last edge, or a change: the
        # edges before the change saw nothing, the next edge decides (a change
        # between edges, e.g. of a combinational idle signal, may be undone);
        # an edge in the change's own time step is counted as busy
        since = get_sim_time(unit="ns")
        if await until_any(wakes, timeout=Timer(period_ns * (cycles - quiet) - period_ns // 2, "ns")):
            quiet += max(0, -(-int(get_sim_time(unit="ns") - since) // period_ns) - 1)
        else:
            quiet = cycles - 1
