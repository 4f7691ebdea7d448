"""cocotbext-axi's AXI4-Stream sink and source, a beat at a time.

The library's loops read (sink) or build (source) every signal once per byte
lane of every beat: the sink reads ``tdata``, ``tkeep``, ``tdest`` and
``tuser`` sixteen times for one beat of a 128-bit stream. These subclasses
run the same loops, handshakes, pauses and frames (byte for byte the same
:class:`AxiStreamFrame` fields), with each signal read once per beat, a
signal written only when its value changes, and the handshake signal the
model drives itself (the sink's ``tready``, the source's ``tvalid``) known
without reading it back.
"""

from __future__ import annotations

from cocotb.triggers import RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiStreamFrame, AxiStreamSink, AxiStreamSource


class BeatSink(AxiStreamSink):
    """``AxiStreamSink`` reading each signal once per beat."""

    async def _run(self):
        frame = None
        self.active = False
        bus = self.bus
        has_tready, has_tvalid, has_tlast = hasattr(bus, "tready"), hasattr(bus, "tvalid"), hasattr(bus, "tlast")
        has_tkeep, has_tid, has_tdest, has_tuser = (hasattr(bus, s) for s in ("tkeep", "tid", "tdest", "tuser"))
        lanes, size, mask = self.byte_lanes, self.byte_size, self.byte_mask
        edge = RisingEdge(self.clock)
        wake_event = self.wake_event.wait()
        ready = False  # tready as this loop drives it (0 after reset)

        while True:
            pause_sample = bool(self.pause)
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
                    self.log.info("RX frame: %s", frame)
                    self.queue_occupancy_bytes += len(frame)
                    self.queue_occupancy_frames += 1
                    self.queue.put_nowait(frame)
                    self.active_event.set()
                    frame = None
            else:
                self.active = bool(frame)

            if has_tready:
                paused = self.full() or pause_sample
                if ready is paused:
                    ready = not paused
                    bus.tready.value = ready
                if (not tvalid_sample or paused) and (pause_sample == bool(self.pause)):
                    self.wake_event.clear()
                    await wake_event
            elif not tvalid_sample:
                self.wake_event.clear()
                await wake_event


class BeatSource(AxiStreamSource):
    """``AxiStreamSource`` building each signal's value once per beat."""

    async def _run(self):
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
                    self.dequeue_event.set()
                    self.queue_occupancy_bytes -= len(frame)
                    self.queue_occupancy_frames -= 1
                    self.current_frame = frame
                    frame.sim_time_start = get_sim_time()
                    frame.sim_time_end = None
                    self.log.info("TX frame: %s", frame)
                    frame.normalize()
                    self.active = True
                    offset = 0

                if frame and not self.pause:
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
                        self.idle_event.set()
                        self.active_event.clear()
                        await self.active_event.wait()
