"""Random gaps on the bus models' channels, drawn by one coroutine for all.

cocotbext-axi pauses a channel (no VALID from a source, READY low at a sink)
while its public ``pause`` is true; ``set_pause_generator`` would start one
coroutine per channel to set it at every clock edge. :class:`Gaps` sets the
``pause`` of every channel it drives from a single coroutine instead: at every
rising edge it takes the next value of each channel's generator (the same
values, in the same order, as cocotbext-axi's own loop would). The kit's
stream models (:mod:`vio.cocotb.axis_beats`) have the same two attributes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge, RisingEdge
from cocotbext.axi import AxiStreamSink
from cocotbext.axi.stream import StreamSink

from .axis_beats import BeatSink
from .waits import high, on_edge


def gaps(rng: random.Random, probability: float) -> Iterator[bool]:
    """A pause generator: True (a gap) with ``probability`` at each clock."""
    while True:
        yield rng.random() < probability


def _valid_of_sink(channel) -> SimHandleBase | None:
    """The VALID a receiving channel waits for; None for a sending one."""
    if isinstance(channel, (AxiStreamSink, BeatSink)):
        return channel.bus.tvalid
    if isinstance(channel, StreamSink):
        return channel.valid
    return None


class Gaps:
    """Pauses of cocotbext-axi channels on ``clock``, from one coroutine.

    A receiving channel (a sink) wakes up at every change of its ``pause`` to
    drive READY; while its VALID is low that READY has no effect, so its
    draws are kept instead of set, and the latest one is set when VALID rises
    (the edge the sink wakes on anyway)."""

    def __init__(self, clock: SimHandleBase):
        self.clock = clock
        self.generators: dict[object, Iterator[bool]] = {}
        self.held: set[object] = set()
        self.latest: dict[object, bool] = {}  # each channel's last draw
        self.idle: dict[object, bool] = {}  # sinks: VALID low
        self._task: cocotb.Task | None = None

    def set(self, channel, generator: Iterator[bool] | None) -> None:
        """Gaps on ``channel`` from ``generator`` (True: a gap), None: no gaps."""
        channel.set_pause_generator(None)  # this object drives its pause
        if generator is None:
            self.generators.pop(channel, None)
            channel.pause = channel in self.held
            return
        valid = _valid_of_sink(channel)
        if valid is not None and channel not in self.idle:
            self.idle[channel] = not high(valid)
            on_edge(valid, RisingEdge, lambda: self._valid(channel, True))
            on_edge(valid, FallingEdge, lambda: self._valid(channel, False))
        self.generators[channel] = generator
        if self._task is None or self._task.done():
            self._task = cocotb.start_soon(self._run())

    def _valid(self, channel, level: bool) -> None:
        self.idle[channel] = not level
        if level and channel in self.generators and channel not in self.held and channel in self.latest:
            channel.pause = self.latest[channel]

    def random(self, channels: list, probability: float | None, seed: int = 0) -> None:
        """Gaps with ``probability`` per clock on each of ``channels``, each from
        its own generator seeded from ``seed``; None or 0: no gaps."""
        rng = random.Random(seed)
        for channel in channels:
            self.set(channel, gaps(random.Random(rng.random()), probability) if probability else None)

    def hold(self, channel) -> None:
        """Pause ``channel`` until :meth:`release` (its gaps are not drawn meanwhile)."""
        self.held.add(channel)
        channel.pause = True

    def release(self, channel) -> None:
        """Back to ``channel``'s gaps (or to no pause)."""
        self.held.discard(channel)
        channel.pause = False

    async def _run(self) -> None:
        edge = RisingEdge(self.clock)
        idle, latest = self.idle, self.latest
        while self.generators:
            for channel, generator in list(self.generators.items()):
                latest[channel] = gap = next(generator)
                if channel not in self.held and not idle.get(channel):
                    channel.pause = gap
            await edge
