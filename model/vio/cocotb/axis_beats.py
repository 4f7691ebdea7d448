"""An AXI4-Stream sink and source that handle a beat at a time.

cocotbext-axi's ``AxiStreamSink`` and ``AxiStreamSource`` read (sink) or
build (source) every signal once per byte lane of every beat: the sink reads
``tdata``, ``tkeep``, ``tdest`` and ``tuser`` sixteen times for one beat of a
128-bit stream. :class:`BeatSink` and :class:`BeatSource` run the same
handshakes, pauses and frames (byte for byte the same :class:`AxiStreamFrame`
fields), with each signal read once per beat, a signal written only when its
value changes, and the handshake signal the model drives itself (the sink's
``tready``, the source's ``tvalid``) known without reading it back.

They are models of their own on cocotbext-axi's public ``AxiStreamBus`` and
``AxiStreamFrame`` (not subclasses overriding its loops), with the part of
its interface the kit uses: ``recv``/``send_nowait``, ``clear``, ``idle``,
``active``, ``pause`` and ``set_pause_generator`` (so that
:class:`vio.cocotb.gaps.Gaps` drives them like any cocotbext-axi channel),
and a reset that stops the loop and flushes what is in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.queue import Queue
from cocotb.triggers import Event, RisingEdge
from cocotb.types import LogicArray
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame

from .waits import on_edge, on_reset

PAYLOAD = ("tdata", "tlast", "tkeep", "tid", "tdest", "tuser")
log = logging.getLogger(__name__)


class _Beats:
    """What the sink and the source share: the bus, its byte lanes, the pause
    (a generator of gaps or set by hand) and a loop that a reset stops and its
    end starts again."""

    def __init__(self, bus: AxiStreamBus, clock: SimHandleBase, reset: SimHandleBase | None, reset_active_level: bool):
        self.bus = bus
        self.clock = clock
        self.queue: Queue[AxiStreamFrame] = Queue()
        self.active = False
        self.width = len(bus.tdata)
        self.byte_lanes = len(bus.tkeep) if hasattr(bus, "tkeep") else self.width // 8
        self.byte_size = self.width // self.byte_lanes
        self.byte_mask = (1 << self.byte_size) - 1
        self._pause = False
        self._pause_task: cocotb.Task | None = None
        self._task: cocotb.Task | None = None
        self._start()
        if reset is not None:
            on_reset(reset, reset_active_level, self._on_reset)

    # ------------------------------------------------------------ pauses
    @property
    def pause(self) -> bool:
        return self._pause

    @pause.setter
    def pause(self, value: bool) -> None:
        if self._pause != value:
            self._pause = value
            self._pause_changed()

    def _pause_changed(self) -> None:
        pass

    def set_pause_generator(self, generator: Iterator[bool] | None = None) -> None:
        """``pause`` from ``generator``, a value per rising clock edge; None: stop."""
        if self._pause_task is not None:
            self._pause_task.cancel()
            self._pause_task = None
        if generator is not None:
            self._pause_task = cocotb.start_soon(self._run_pause(generator))

    async def _run_pause(self, generator: Iterator[bool]) -> None:
        edge = RisingEdge(self.clock)
        for value in generator:
            self.pause = value
            await edge

    # ------------------------------------------------------------- reset
    def _on_reset(self, active: bool) -> None:
        if active:
            if self._task is not None:
                self._task.cancel()
                self._task = None
            self.active = False
            self._reset()
        else:
            self._start()

    def _reset(self) -> None:
        pass

    def _start(self) -> None:
        if self._task is None:
            self._task = cocotb.start_soon(self._run())

    def empty(self) -> bool:
        return self.queue.empty()

    async def _run(self) -> None:
        raise NotImplementedError


class BeatSink(_Beats):
    """An AXI4-Stream sink on ``bus`` reading each signal once per beat:
    frames come out of :meth:`recv`. ``tready`` falls while ``pause`` is set."""

    def __init__(self, bus: AxiStreamBus, clock: SimHandleBase, reset: SimHandleBase | None = None, reset_active_level: bool = True):
        self.wake = Event()  # tvalid or tready rose, the pause changed, a frame was taken
        super().__init__(bus, clock, reset, reset_active_level)
        for name in ("tvalid", "tready"):  # (cocotbext-axi's monitor wakes on both)
            if hasattr(bus, name):
                on_edge(getattr(bus, name), RisingEdge, self.wake.set)
        if hasattr(bus, "tready"):
            bus.tready.value = 0

    def _pause_changed(self) -> None:
        self.wake.set()

    def _reset(self) -> None:
        if hasattr(self.bus, "tready"):
            self.bus.tready.value = 0

    async def recv(self, compact: bool = True) -> AxiStreamFrame:
        """The next frame received (``compact``: bytes with tkeep 0 dropped)."""
        frame = await self.queue.get()
        self.wake.set()  # the loop looks again: ``active`` ends with the frame
        if compact:
            frame.compact()
        return frame

    def idle(self) -> bool:
        return not self.active

    async def _run(self) -> None:
        frame = None
        self.active = False
        bus = self.bus
        has_tready, has_tvalid, has_tlast = hasattr(bus, "tready"), hasattr(bus, "tvalid"), hasattr(bus, "tlast")
        has_tkeep, has_tid, has_tdest, has_tuser = (hasattr(bus, s) for s in ("tkeep", "tid", "tdest", "tuser"))
        lanes, size, mask = self.byte_lanes, self.byte_size, self.byte_mask
        edge = RisingEdge(self.clock)
        wake = self.wake
        ready = False  # tready as this loop drives it (0 after reset)

        while True:
            pause_sample = self._pause
            await edge
            tready_sample = (not has_tready) or ready
            tvalid_sample = (not has_tvalid) or bus.tvalid.value

            if tready_sample and tvalid_sample:
                if not frame:
                    frame = AxiStreamFrame(bytearray(), [], [], [], []) if size == 8 else AxiStreamFrame([], [], [], [], [])
                    frame.sim_time_start = get_sim_time()
                    self.active = True
                data = int(bus.tdata.value)
                if size == 8:
                    frame.tdata.extend(data.to_bytes(lanes, "little"))
                else:
                    frame.tdata.extend((data >> (i * size)) & mask for i in range(lanes))
                if has_tkeep:
                    keep = int(bus.tkeep.value)
                    frame.tkeep.extend((keep >> i) & 1 for i in range(lanes))
                if has_tid:
                    frame.tid.extend([int(bus.tid.value)] * lanes)
                if has_tdest:
                    frame.tdest.extend([int(bus.tdest.value)] * lanes)
                if has_tuser:
                    frame.tuser.extend([int(bus.tuser.value)] * lanes)

                if not has_tlast or bus.tlast.value:
                    frame.sim_time_end = get_sim_time()
                    log.debug("RX frame: %s", frame)
                    self.queue.put_nowait(frame)
                    frame = None
            else:
                self.active = bool(frame)

            if has_tready:
                paused = pause_sample
                if ready is paused:
                    ready = not paused
                    bus.tready.value = ready
                if (not tvalid_sample or paused) and (pause_sample == self._pause):
                    wake.clear()
                    await wake.wait()
            elif not tvalid_sample:
                wake.clear()
                await wake.wait()


class BeatSource(_Beats):
    """An AXI4-Stream source on ``bus`` building each signal's value once per
    beat: frames go in with :meth:`send_nowait`. No ``tvalid`` while ``pause``
    is set (a frame already started pauses between beats)."""

    def __init__(self, bus: AxiStreamBus, clock: SimHandleBase, reset: SimHandleBase | None = None, reset_active_level: bool = True):
        self.current_frame: AxiStreamFrame | None = None
        self.queued = Event()  # a frame was queued while the loop slept
        super().__init__(bus, clock, reset, reset_active_level)
        if hasattr(bus, "tvalid"):
            bus.tvalid.value = 0
        for name in PAYLOAD:  # X until the first beat: the DUT must not look before tvalid
            if hasattr(bus, name):
                signal = getattr(bus, name)
                signal.value = LogicArray("X" * len(signal))

    def send_nowait(self, frame) -> None:
        """Queue ``frame`` (an AxiStreamFrame, or what one is built from)."""
        self.queue.put_nowait(AxiStreamFrame(frame))
        self.queued.set()

    def clear(self) -> None:
        """Drop the frames not yet started (the one on the wire finishes)."""
        while not self.queue.empty():
            frame = self.queue.get_nowait()
            frame.sim_time_end = None
            frame.handle_tx_complete()

    def idle(self) -> bool:
        """Nothing queued and nothing on the wire."""
        return self.queue.empty() and not self.active

    def _reset(self) -> None:
        bus = self.bus
        for name in ("tvalid",) + PAYLOAD:
            if hasattr(bus, name):
                getattr(bus, name).value = 0
        if self.current_frame:
            log.warning("Flushed transmit frame during reset: %s", self.current_frame)
            self.current_frame.handle_tx_complete()
            self.current_frame = None

    async def _run(self) -> None:
        frame = None
        offset = 0
        self.active = False
        bus = self.bus
        has_tready, has_tvalid, has_tlast = hasattr(bus, "tready"), hasattr(bus, "tvalid"), hasattr(bus, "tlast")
        has_tkeep, has_tid, has_tdest, has_tuser = (hasattr(bus, s) for s in ("tkeep", "tid", "tdest", "tuser"))
        lanes, size, mask = self.byte_lanes, self.byte_size, self.byte_mask
        edge = RisingEdge(self.clock)
        driven: dict[str, int] = {"tvalid": 0, "tlast": 0}  # what this loop drives (0 after reset)

        def drive(name: str, value: int) -> None:
            if driven.get(name) != value:
                driven[name] = value
                getattr(bus, name).value = value

        while True:
            await edge
            tready_sample = (not has_tready) or bus.tready.value
            tvalid_sample = (not has_tvalid) or driven["tvalid"]

            if (tready_sample and tvalid_sample) or not tvalid_sample:
                if not frame and not self.queue.empty():
                    frame = self.queue.get_nowait()
                    self.current_frame = frame
                    frame.sim_time_start = get_sim_time()
                    frame.sim_time_end = None
                    log.debug("TX frame: %s", frame)
                    frame.normalize()
                    self.active = True
                    offset = 0

                if frame and not self._pause:
                    end = min(offset + lanes, len(frame.tdata))
                    last = end == len(frame.tdata)
                    beat = frame.tdata[offset:end]
                    if isinstance(beat, (bytes, bytearray)):
                        data = int.from_bytes(beat, "little")
                    else:
                        data = sum((b & mask) << (i * size) for i, b in enumerate(beat))
                    keep = sum((k & 1) << i for i, k in enumerate(frame.tkeep[offset:end]))
                    tid, tdest, tuser = frame.tid[end - 1], frame.tdest[end - 1], frame.tuser[end - 1]
                    offset = end
                    if last:
                        frame.sim_time_end = get_sim_time()
                        frame.handle_tx_complete()
                        frame = None
                        self.current_frame = None

                    drive("tdata", data)
                    if has_tvalid:
                        drive("tvalid", 1)
                    if has_tlast:
                        drive("tlast", int(last))
                    if has_tkeep:
                        drive("tkeep", keep)
                    if has_tid:
                        drive("tid", tid)
                    if has_tdest:
                        drive("tdest", tdest)
                    if has_tuser:
                        drive("tuser", tuser)
                else:
                    if has_tvalid:
                        drive("tvalid", 0)
                    if has_tlast:
                        drive("tlast", 0)
                    self.active = bool(frame)
                    if not frame and self.queue.empty():
                        self.queued.clear()
                        await self.queued.wait()
