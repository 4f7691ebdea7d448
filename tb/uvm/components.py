"""The pyuvm components: driver, monitors, scoreboard, coverage, env.

Layered as pyuvm's TinyALU: the sequencer hands items to
:class:`VirtioDriverComponent`, which carries them out with the driver model
through the bench (tb/uvm/bench.py); four monitors watch the pins (register
bus, DMA bus, streams, irq) and publish what they see; the
:class:`VirtioScoreboard` collects the verdicts of the co-simulation's
scoreboards (vio.cocotb.scoreboards: the reference device's predictions against
the RTL) for every session and fails the test in ``check_phase``; the
:class:`VirtioCoverage` subscriber samples the cover points of
tb/uvm/coverage.py from everything published.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamFrame
from pyuvm import ConfigDB, uvm_analysis_port, uvm_component, uvm_driver, uvm_env, uvm_sequencer, uvm_subscriber

from vio import constants as C
from vio.cocotb.clock import CycleClock
from vio.cocotb.monitors import AxiWriteMonitor, IrqMonitor
from vio.cocotb.session import CheckedSession
from vio.cocotb.waits import until_edge
from vio.constants import Cause
from vio.driver import VIO_IOV_FLAGS_WRITE, VioIov, VioTransfer
from vio.errors import VioDeviceBroken
from vio.hostile.chains import BUS_ERROR_OFFSET, BY_NAME, corrupt
from vio.ring import Desc

from . import coverage as cov
from .bench import Bench
from .items import ControlItem, TransferItem, length_bucket

REGISTERS = [
    C.VIRTIO_MMIO_MAGIC_VALUE, C.VIRTIO_MMIO_VERSION, C.VIRTIO_MMIO_DEVICE_ID, C.VIRTIO_MMIO_VENDOR_ID,
    C.VIRTIO_MMIO_DEVICE_FEATURES, C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, C.VIRTIO_MMIO_DRIVER_FEATURES,
    C.VIRTIO_MMIO_DRIVER_FEATURES_SEL, C.VIRTIO_MMIO_GUEST_PAGE_SIZE, C.VIRTIO_MMIO_QUEUE_SEL, C.VIRTIO_MMIO_QUEUE_NUM_MAX,
    C.VIRTIO_MMIO_QUEUE_NUM, C.VIRTIO_MMIO_QUEUE_ALIGN, C.VIRTIO_MMIO_QUEUE_PFN, C.VIRTIO_MMIO_QUEUE_READY,
    C.VIRTIO_MMIO_QUEUE_NOTIFY, C.VIRTIO_MMIO_INTERRUPT_STATUS, C.VIRTIO_MMIO_INTERRUPT_ACK, C.VIRTIO_MMIO_STATUS,
    C.VIO_MMIO_DEVICE_ERROR, C.VIRTIO_MMIO_CONFIG_GENERATION, C.VIRTIO_MMIO_CONFIG,
]  # fmt: skip
RTL_CONFIG_SIZE = 0x100  # virtio_mmio's default CONFIG_SIZE: the whole config window 0x100..0x1ff
GUARD = 16  # bytes of 0xEE each side of every buffer (writes there are caught by the memory scoreboard)


# ================================================================ driver
class VirtioDriverComponent(uvm_driver):
    """Carries out sequence items with the driver model on the current session.

    Transfers are posted with their notifies held (PredictedHal.batch) until a
    ``kick``, so that the RTL sees several chains per notify and may
    interleave queues. Every finished item goes out on ``ap``."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.bench: Bench = ConfigDB().get(self, "", "BENCH")

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            if isinstance(item, TransferItem):
                await self.transfer(item)
            else:
                await getattr(self, f"do_{item.kind}")(item)
            self.ap.write(item)
            self.seq_item_port.item_done()

    # ------------------------------------------------------- batching
    @property
    def session(self) -> CheckedSession:
        assert self.bench.session is not None, "no session: the test opens one before its sequences"
        return self.bench.session

    # PredictedHal.batch() as two steps (a batch spans several items): its
    # _deferred list holds the notifies back, _write sends them.
    async def open_batch(self) -> None:
        hal = self.session.hal
        if hal._deferred is None:
            hal._deferred = []

    def take_notifies(self) -> list[int]:
        hal = self.session.hal
        queues, hal._deferred = hal._deferred or [], None
        return queues

    async def close_batch(self) -> None:
        """The held notifies, one per queue, then the DUT quiescent."""
        if self.bench.session is None:
            return
        s = self.session
        queues = self.take_notifies()
        for q in queues:
            await s.hal._write(self.bench.env.base + C.VIRTIO_MMIO_QUEUE_NOTIFY, q, 4)
        if queues:
            await s.settle()

    # ------------------------------------------------------- transfers
    async def transfer(self, item: TransferItem) -> None:
        bench, vio = self.bench, self.bench.vio
        if item.expect == "hold":  # the backend holds answers from this transfer on, until a release
            for b in bench.backends():
                b.hold = True
        q = vio.queue[item.queue]
        q.indirect = item.indirect
        n = item.chain_length
        needed = 1 if vio._use_indirect(q, n) else n
        if vio.avail(item.queue) < needed:
            await self.collect(ack=True)  # room may come back with completions
        if vio.avail(item.queue) < needed:
            item.accepted = False
            return
        mem = self.session.mem
        blocks, iov = [], []
        for size, writable in item.segments:
            block = mem.alloc(size + 2 * GUARD, bench.rng.choice((1, 4, 16, 64)))
            blocks.append(block)
            mem.fill(block, size + 2 * GUARD, 0xEE)
            addr = block + GUARD
            mem.write(addr, b"\x5a" * size if writable else bench.rng.randbytes(size))
            iov.append(VioIov(addr, size, VIO_IOV_FLAGS_WRITE if writable else 0))

        def done(t: VioTransfer) -> None:
            item.actual = t.actual
            for b in blocks:
                mem.free(b)

        await self.open_batch()
        before = q.avail_idx
        await vio.submit(VioTransfer(item.queue, iov, callback=done))
        item.accepted = True
        item.used_indirect = needed == 1 and vio._use_indirect(q, n)
        item.avail_wrapped = q.avail_idx < before

    async def collect(self, ack: bool = True) -> int:
        """Notify what is held, settle, acknowledge InterruptStatus, poll."""
        await self.close_batch()
        vio = self.bench.vio
        if ack:
            await vio.interrupt_status()
        return await vio.poll()

    # --------------------------------------------------------- controls
    async def do_kick(self, item: ControlItem) -> None:
        item.result = await self.collect(item.args.ack)

    async def do_pressure(self, item: ControlItem) -> None:
        env = self.bench.env
        env.set_pause(item.args.pause or None, self.bench.rng.randrange(1 << 30))
        item.result = cov.pressure_bins(item.args.pause, env.mem_latency)

    async def do_hold(self, item: ControlItem) -> None:
        for b in self.bench.backends():
            b.hold = True

    async def do_release(self, item: ControlItem) -> None:
        await self.close_batch()
        pred, rtl = self.bench.backends()
        item.result = sum(len(h) for h in rtl._held)
        pred.release()  # the predictor first: it completes before the DUT writes
        rtl.release()
        await self.bench.settle()
        await self.collect(item.args.ack)

    async def do_stream_hold(self, item: ControlItem) -> None:
        """The held notifies with the request stream (m_axis) paused for
        ``count`` cycles, then released: the engine's queues fill up behind
        it (the entry FIFO, the walk, the data fetch). Back-pressure only:
        the session is checked in full."""
        env = self.bench.env
        channel = env.streams.sink
        env.gaps.hold(channel)

        async def release() -> None:
            await ClockCycles(env.dut.clk, item.args.count)
            env.gaps.release(channel)

        task = cocotb.start_soon(release())
        item.result = await self.collect(item.args.ack)
        await task

    async def do_overrun(self, item: ControlItem) -> None:
        """The RTL's backend answers ``count`` bytes past each chain's writable length from now on."""
        await self.close_batch()
        self.bench.env.backend.overrun = item.args.count

    async def do_gate(self, item: ControlItem) -> None:
        for b in self.bench.backends():
            b.gate = True
        self.bench.env.streams.refresh()

    async def do_open(self, item: ControlItem) -> None:
        await self.close_batch()
        pred, rtl = self.bench.backends()
        item.result = sum(len(q.posted) for q in self.bench.vio.queue)  # chains waiting behind the gate
        pred.open_gate()
        rtl.open_gate()
        await self.bench.settle()
        await self.collect(item.args.ack)

    async def do_config(self, item: ControlItem) -> None:
        """The backend's config changes (config_changed pulse): InterruptStatus
        bit 1 on both devices, read and acknowledged by the driver. The change
        is made while a harmless register write is on the bus, so that the
        interrupt scoreboard sees InterruptStatus rise across that access."""
        await self.close_batch()
        bench = self.bench

        async def change() -> None:
            await RisingEdge(bench.env.dut.clk)
            for b in bench.backends():
                b._config_changed()  # what a backend calls when its config space changes

        cocotb.start_soon(change())
        await self.session.hal.write(bench.env.base + C.VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0)
        await bench.settle()
        item.result = await bench.vio.interrupt_status()

    async def do_storm(self, item: ControlItem) -> None:
        """``count`` notifies of the queues in ``queues`` with nothing new posted."""
        await self.close_batch()
        vio, hal = self.bench.vio, self.session.hal
        busy = any(q.posted for q in vio.queue)
        kinds = set()
        for k in range(item.args.count):
            q = item.args.queues[k % len(item.args.queues)]
            await hal.write(self.bench.env.base + C.VIRTIO_MMIO_QUEUE_NOTIFY, q)
            kinds.add("storm_missing_queue" if q >= len(vio.queue) else ("storm_busy" if busy else "storm_idle"))
            if q < len(vio.queue) and not vio.queue[q].posted:
                kinds.add("empty_notify")
        item.result = sorted(kinds)
        await self.collect(item.args.ack)

    async def do_reset(self, item: ControlItem) -> None:
        """Status=0 then a new init (a new session). ``count`` < 0: at a quiescent
        point (chains may be held in flight); else ``count`` cycles after the
        held notifies, in the middle of the DUT's work."""
        bench, s = self.bench, self.session
        if item.args.count < 0 or not s.hal._deferred:
            await self.close_batch()
            mode, item.result = "full", "quiescent_with_held"
        else:
            for q in self.take_notifies():  # the notifies, without waiting for the DUT
                s.predictor.write(C.VIRTIO_MMIO_QUEUE_NOTIFY, q)
                await s.dut_hal.write(bench.env.base + C.VIRTIO_MMIO_QUEUE_NOTIFY, q)
            await ClockCycles(bench.env.dut.clk, item.args.count)
            mode, item.result = "memory", "during_traffic"
        await self.reset_and_open(item, mode, bench.vio.reset())

    async def reset_and_open(self, item: ControlItem, mode: str, reset, during=None, features: int | None = None) -> None:
        """Await ``reset`` (the driver's Status=0 and its wait for Status 0),
        note what the engine was doing when its request came, close the session (``mode``)
        and open a new one. ``during``: awaited while the reset is under way."""
        bench = self.bench
        k = len(bench.reset_activity)
        task = cocotb.start_soon(reset)
        if during is not None:
            await during
        await task
        item.activity = bench.reset_activity[k] if k < len(bench.reset_activity) else frozenset()
        for b in bench.backends():
            b.hold = b.gate = False  # a fresh start for the backends too
        bench.env.streams.refresh()
        bench.close(mode)
        await bench.open(features if features is not None else item.args.queues[0] if item.args.queues else None)

    # ------------------------------------------- resets timed on the engine
    async def wait_activity(self, name: str, limit: int = 20000) -> None:
        """Until the engine is at ``name`` (engine_activity; fails after ``limit`` cycles)."""
        dut = self.bench.env.dut
        for _ in range(limit):
            if name in engine_activity(dut):
                return
            await RisingEdge(dut.clk)
        raise AssertionError(f"the engine was never at {name} in {limit} cycles")

    async def do_drain_reset(self, item: ControlItem) -> None:
        """An answer of ``count`` bytes on queue ``queues[0]`` that no chain
        waits for, sent on s_axis behind the backend's (and the reference
        device's) back: the RTL must drop it (drain) and write nothing; a reset
        lands while it drains, and the session is checked in full."""
        await self.collect()
        bench = self.bench
        queue = item.args.queues[0] if item.args.queues else 0
        bench.env.streams.source.send_nowait(AxiStreamFrame(bench.rng.randbytes(item.args.count), tdest=queue))
        await self.wait_activity("drain")
        item.result = "during_traffic"
        await self.reset_and_open(item, "full", bench.vio.reset())

    async def do_abort_reset(self, item: ControlItem) -> None:
        """A reset that meets the abort of a break: a one-beat readable buffer
        past guest memory (SLVERR on its read, as the hostile
        ``bus_error_read``) with m_axis stalled, so that the commit unit
        breaks and waits until the request's abort beat is taken. m_axis is
        opened again ``count`` cycles after the Status=0 write starts (its
        request meets the abort or an idle engine depending on ``count`` and
        the register bus latency).
        Only the memory scoreboard holds for the session (the reference
        device has no bus to fail)."""
        bench = self.bench
        features = bench.features
        await self.close_batch()
        await bench.vio.reset()
        bench.close("full")
        s = await bench.open(BY_NAME["bus_error_read"].features)
        q0 = bench.vio.queue[0]
        s.mem.mirror = None
        s.exempt.add(s.mem.size + BUS_ERROR_OFFSET)
        corrupt(BY_NAME["bus_error_read"], s.mem, q0)
        # one beat at any data width: the error beat is the request's last
        s.mem.write(q0.layout.desc_addr(q0.num - 1), Desc(s.mem.size + BUS_ERROR_OFFSET, 4, 0, 0).pack())
        sink = bench.env.streams.sink
        bench.env.gaps.hold(sink)
        await s.dut_hal.write(bench.env.base + C.VIRTIO_MMIO_QUEUE_NOTIFY, 0)
        await self.wait_activity("abort")

        async def reopen():
            if item.args.count:
                await ClockCycles(bench.env.dut.clk, item.args.count)
            bench.env.gaps.release(sink)

        item.result = "during_traffic"
        await self.reset_and_open(item, "memory", bench.vio.reset(), during=reopen(), features=features)

    async def do_gated_reset(self, item: ControlItem) -> None:
        """The backend's ready falling in the middle of a run: m_axis paused
        while a first chain's request streams, the backend gated
        (backend_ready low) behind it, m_axis released. The commit unit's
        next token then finds the backend not ready: the run's end (nothing
        new; ``count`` 0), or a second chain of ``count`` readable bytes read
        ahead, whose bytes are dropped, and the reset lands while they drain.
        Then a reset; only the memory scoreboard holds for the session (the
        reference device has popped every chain at the notify)."""
        bench, s = self.bench, self.session
        env = bench.env
        await self.close_batch()
        for size in (64, item.args.count)[: 2 if item.args.count else 1]:
            await self.transfer(TransferItem("gated", 0, [(size, False)], indirect=False))
        env.gaps.hold(env.streams.sink)
        for q in self.take_notifies():  # the notifies, without waiting for the DUT
            s.predictor.write(C.VIRTIO_MMIO_QUEUE_NOTIFY, q)
            await s.dut_hal.write(env.base + C.VIRTIO_MMIO_QUEUE_NOTIFY, q)
        commit = env.dut.engine_inst.commit_inst.state_reg
        await self.wait_state(commit, COMMIT_STREAM)
        env.backend.gate = True
        env.streams.refresh()
        env.gaps.release(env.streams.sink)
        if item.args.count:
            await self.wait_state(commit, COMMIT_DRAIN)
        else:
            await bench.settle()
        item.result = "during_traffic"
        await self.reset_and_open(item, "memory", bench.vio.reset())

    async def wait_state(self, state, value: int, limit: int = 20000) -> None:
        """Until the register ``state`` holds ``value`` (fails after ``limit`` cycles)."""
        clk = self.bench.env.dut.clk
        for _ in range(limit):
            if state.value.to_unsigned() == value:
                return
            await RisingEdge(clk)
        raise AssertionError(f"{state._path} never reached {value} in {limit} cycles")

    async def do_stop(self, item: ControlItem) -> None:
        """QueuePFN=0 on queue 0 ``count`` cycles after its notify: a stop
        that meets the engine at work on the queue (a request packet cut
        short by an abort beat, the stop acknowledged once the queue's units let go). With ``cause`` "bus_error_read" / "bus_error" the chain is the
        hostile one whose readable / writable buffer lies past guest memory, so
        that the stop can catch its failing read / answer write in flight (the stopped queue's burst
        failed: BUS_ERROR, queue halted). Then a reset and a new init; only the
        memory scoreboard holds for the session. Needs a fresh session when
        ``cause`` is given (the hostile chain takes the last descriptor slot)."""
        bench, s = self.bench, self.session
        notify = bench.env.base + C.VIRTIO_MMIO_QUEUE_NOTIFY
        if item.args.cause:
            await self.close_batch()
            s.mem.mirror = None
            s.exempt.add(s.mem.size + BUS_ERROR_OFFSET)
            corrupt(BY_NAME[item.args.cause], s.mem, bench.vio.queue[0])
            await s.dut_hal.write(notify, 0)
        else:
            for q in self.take_notifies():  # the notifies, without waiting for the DUT
                s.predictor.write(C.VIRTIO_MMIO_QUEUE_NOTIFY, q)
                await s.dut_hal.write(notify, q)
        if item.args.count:
            await ClockCycles(bench.env.dut.clk, item.args.count)
        await bench.vio.write_reg(C.VIRTIO_MMIO_QUEUE_SEL, 0)
        await bench.vio.write_reg(C.VIRTIO_MMIO_QUEUE_PFN, 0)
        item.result = await bench.vio.read_reg(C.VIO_MMIO_DEVICE_ERROR)
        await self.reset_and_open(item, "memory", bench.vio.reset())

    async def do_hostile(self, item: ControlItem) -> None:
        """A broken ring on queue 0 of a fresh init with the case's features;
        the RTL's DEVICE_ERROR is compared (by the scoreboard) with the
        reference device's, then the driver recovers with the usual features."""
        bench = self.bench
        case = BY_NAME[item.args.cause]
        features = bench.features
        await self.close_batch()
        await bench.vio.reset()
        bench.close("full")
        s = await bench.open(case.features)
        vio, q0 = bench.vio, bench.vio.queue[0]
        held = None
        if case.in_flight:
            for b in bench.backends():
                b.hold = True
            t = TransferItem("held", 0, [(8, True)], indirect=False)
            await self.transfer(t)
            await self.close_batch()
            held = next(iter(q0.posted))
        rtl_only = case.cause == Cause.BUS_ERROR  # the reference device has no bus to fail
        notify = bench.env.base + C.VIRTIO_MMIO_QUEUE_NOTIFY
        if case.name == "ring_window":
            # stop queue 0 (QueuePFN 0 on a live queue), then activate it with a
            # ring that ends past the DMA window: broken at the QueuePFN write
            await vio.write_reg(C.VIRTIO_MMIO_QUEUE_SEL, 0)
            await vio.write_reg(C.VIRTIO_MMIO_QUEUE_PFN, 0x10)  # a live queue ignores a new ring
            await vio.write_reg(C.VIRTIO_MMIO_QUEUE_PFN, 0)
            await bench.settle()
            await vio.write_reg(C.VIRTIO_MMIO_QUEUE_PFN, 0xFFFFF)
        elif rtl_only:
            s.mem.mirror = None
            s.exempt.add(s.mem.size + BUS_ERROR_OFFSET)
            corrupt(case, s.mem, q0)
            await s.dut_hal.write(notify, 0)
            await bench.settle()
        else:
            corrupt(case, s.mem, q0, held_head=held)
            await s.hal.write(notify, 0)
        error = await vio.read_reg(C.VIO_MMIO_DEVICE_ERROR)
        item.result = error & 0xFF
        try:
            await vio.interrupt_status()
            raise AssertionError(f"hostile {case.name}: the driver saw no broken device (DEVICE_ERROR {error:#x})")
        except VioDeviceBroken:
            pass  # the driver has reset the device
        assert item.result == case.cause, f"hostile {case.name}: DEVICE_ERROR {error:#x}, expected cause {case.cause.name}"
        for b in bench.backends():
            b.hold = False
        bench.close("memory" if rtl_only else "full")
        await bench.open(features)

    async def do_registers(self, item: ControlItem) -> None:
        """``count`` random register accesses on a reset device (every offset of
        the window, aligned or not, 1/2/4 bytes; writes that cannot start DMA),
        each read compared by the scoreboard with the reference device; then a
        new init."""
        bench, rng = self.bench, self.bench.rng
        await self.close_batch()
        await bench.vio.reset()
        hal, base = self.session.hal, bench.env.base
        # the queue registers of a queue the device does not have: read 0, writes ignored
        await hal.write(base + C.VIRTIO_MMIO_QUEUE_SEL, bench.num_queues)
        for reg in (C.VIRTIO_MMIO_QUEUE_NUM_MAX, C.VIRTIO_MMIO_QUEUE_PFN):
            await hal.read(base + reg)
        await hal.write(base + C.VIRTIO_MMIO_QUEUE_PFN, 0)
        await hal.write(base + C.VIRTIO_MMIO_QUEUE_SEL, 0)  # QueuePFN 0 on an idle queue: nothing to stop
        await hal.write(base + C.VIRTIO_MMIO_QUEUE_PFN, 0)
        for _ in range(item.args.count):
            size = rng.choice((4, 4, 4, 2, 1))
            offset = rng.choice(REGISTERS) if rng.random() < 0.7 else rng.randrange(0, 0x200, size)
            offset += rng.choice((0, 0, 0, 0, 1, 2)) if offset < 0x100 else 0
            if rng.random() < 0.5:
                # AXI4-Lite reads are whole words (no strobes): a narrow read at
                # a word's start, or one across words, is the HAL's doing, not
                # observable by the device; one inside a word at an unaligned
                # offset goes out at that ARADDR, and a register reads 0 there
                # (as the reference device's). In config space the bytes are the backend's.
                if offset < C.VIRTIO_MMIO_CONFIG and (offset % 4 == 0 or offset % 4 + size > 4):
                    offset, size = offset & ~3, 4
                await hal.read(base + offset, size)
                continue
            if offset >= C.VIRTIO_MMIO_CONFIG and rng.random() < 0.2:
                offset, size = offset & ~3 | 1, 2  # strobes 0110: not a config access either side takes
            value = rng.choice((0, 1, 2, 0xFFFFFFFF, 1 << rng.randrange(32), rng.randrange(1 << 32)))
            if offset == C.VIRTIO_MMIO_STATUS:
                value = rng.choice((0, 1, 3, 0x80))  # never DRIVER_OK: no walking of random rings
            elif offset == C.VIRTIO_MMIO_QUEUE_PFN:
                value = 0
            await hal.write(base + offset, value & ((1 << 8 * size) - 1), size)
        await self.config_above_size(hal, base)
        item.result = item.args.count
        bench.close("full")
        await bench.open()

    async def config_above_size(self, hal, base: int) -> None:
        """A build whose config space (CONFIG_SIZE) leaves part of the window
        free: a read there asks the config port nothing, one below it asks
        once (the value is the scoreboard's, against the reference device)."""
        bench = self.bench
        size = bench.params.get("CONFIG_SIZE", RTL_CONFIG_SIZE)
        if size >= RTL_CONFIG_SIZE:
            return
        streams = bench.env.streams
        below = [(size - 4, 1)] if size else []
        for off, asks in below + [(size, 0), (bench.rng.randrange(size, 0x100, 4), 0), (0xFC, 0)]:
            before = streams.config_reads
            await hal.read(base + C.VIRTIO_MMIO_CONFIG + off)
            assert streams.config_reads - before == asks, (
                f"config read at +{off:#x} (CONFIG_SIZE {size}): {streams.config_reads - before} "
                f"config port request(s), expected {asks}")

    # ------------------------------------------------------------- block
    async def do_block(self, item: ControlItem) -> None:
        bench, blk, a = self.bench, self.bench.cls, item.args
        op = item.get_name()
        span = slice(a.sector * C.SECTOR_SIZE, (a.sector + a.sectors) * C.SECTOR_SIZE)
        if op == "write":
            await blk.write(a.sector, a.data)
            bench.shadow[span] = a.data
        elif op == "read":
            got = await blk.read(a.sector, a.sectors)
            assert got == bytes(bench.shadow[span]), f"block read of {a.sectors} sector(s) at {a.sector}: differs from the disk image"
        elif op == "flush":
            await blk.flush()
        elif op == "get_id":
            assert (await blk.get_id()).rstrip(b"\0") == bench.env.backend.serial.rstrip(b"\0")
        elif op == "ioerr":
            from vio.drivers.block import BlockError

            try:
                await blk.read(blk.capacity - 1, 2)
                raise AssertionError("a block read past the end of the disk succeeded")
            except BlockError as err:
                assert err.status == C.VIRTIO_BLK_S_IOERR
        assert bench.env.backend.disk == bench.shadow, "the disk differs from its shadow image"
        item.result = op

    # ----------------------------------------------------------- console
    async def do_console(self, item: ControlItem) -> None:
        bench, con, a = self.bench, self.bench.cls, item.args
        op = item.get_name()
        pred, rtl = bench.backends()
        if op in ("host_open", "host_close", "host_write"):
            for b in (pred, rtl):
                getattr(b, op)(a.port, *([a.data] if op == "host_write" else []))
            await bench.settle()
            if op == "host_write":
                got = await con.read(a.port, len(a.data))
                assert got == a.data, f"console port {a.port}: read {got!r}, the host wrote {a.data!r}"
            else:
                await con.service()
        elif op == "guest_open":
            await con.open(a.port)
        elif op == "guest_close":
            await con.close(a.port)
        elif op == "guest_write":
            await con.write(a.port, a.data)
            await bench.settle()
            got, want = rtl.host_read(a.port), pred.host_read(a.port)
            assert got == want == a.data, f"console port {a.port}: the RTL's host got {got!r}, the reference's {want!r}, written {a.data!r}"
        item.result = op


# ============================================================== monitors
COMMIT_STREAM, COMMIT_ABORT, COMMIT_DRAIN = 1, 2, 3  # hdl/virtio_mmio_commit.v: S_STREAM, S_ABORT, S_DRAIN


def engine_activity(dut) -> frozenset[str]:
    """What the ring engine's units are doing this cycle (cov.ENGINE_ACTIVITIES),
    read from their registers (docs/engine.md names the units)."""
    e = dut.engine_inst
    commit = e.commit_inst.state_reg.value.to_unsigned()
    wr = e.dma_wr_inst
    publish = e.publish_inst
    draining = bool(wr.st_active_reg.value) and bool(wr.st_drain_reg.value)
    tuser = dut.m_axis_tuser.value
    abort_beat = bool(dut.m_axis_tvalid.value) and tuser.to_unsigned() >> (len(tuser) - 1) == 1
    found = {
        "fetch": not e.fetch_free.value,
        "request": commit == COMMIT_STREAM and not abort_beat,
        "abort": commit == COMMIT_ABORT or abort_beat,  # a request packet closed by its abort beat
        "data_read": not e.df_idle.value,
        "answer": e.complete_inst.state_reg.value.to_unsigned() != 0 and not draining,
        "drain": draining,
        "publish": not publish.idle.value,
        "irq_decision": publish.c_rd_reg.value.to_unsigned() != publish.c_iss_reg.value.to_unsigned(),
    }
    busy = frozenset(name for name, on in found.items() if on)
    return busy if busy or not e.idle.value else frozenset({"idle"})


@dataclass
class RegisterWrite:
    """A write seen on the AXI4-Lite slave."""

    addr: int
    data: int
    cycle: int


class RegisterBusMonitor(uvm_component):
    """s_axil: pairs AW and W handshakes into writes and publishes each; notes
    in ``bench.reset_activity`` what the engine was doing on the cycle a reset
    request (Status=0) reached it."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.writes = 0
        self.reads = 0

    async def run_phase(self):
        bench = ConfigDB().get(self, "", "BENCH")
        await bench.started.wait()
        dut = cocotb.top
        clock = CycleClock()
        engine = dut.engine_inst
        ctrl_seen = False  # the reset request of the register block already sampled
        aw: deque[int] = deque()
        w: deque[int] = deque()
        edge = RisingEdge(dut.clk)
        # asleep while ctrl_valid is low and no handshake can happen (each
        # VALID low or waiting for its READY): nothing to see
        wake = (dut.s_axil_awvalid, dut.s_axil_wvalid, dut.s_axil_arvalid, engine.ctrl_valid)
        while True:
            await edge
            awvalid, wvalid, arvalid, ctrl_valid = (v.value for v in wake)
            # per channel: a signal at 0 that must rise before its next handshake
            stalled = [] if ctrl_valid else [engine.ctrl_valid]
            if not awvalid:
                stalled.append(dut.s_axil_awvalid)
            elif dut.s_axil_awready.value:
                aw.append(dut.s_axil_awaddr.value.to_unsigned())
            else:
                stalled.append(dut.s_axil_awready)
            if not wvalid:
                stalled.append(dut.s_axil_wvalid)
            elif dut.s_axil_wready.value:
                w.append(dut.s_axil_wdata.value.to_unsigned())
            else:
                stalled.append(dut.s_axil_wready)
            if not arvalid:
                stalled.append(dut.s_axil_arvalid)
            elif dut.s_axil_arready.value:
                self.reads += 1
            else:
                stalled.append(dut.s_axil_arready)
            # the engine's activity on the first cycle it sees the reset request
            # (ctrl_valid + ctrl_reset from the register block, a cycle or more
            # after the Status=0 write's handshake): what the reset hits
            reset_req = bool(ctrl_valid) and bool(engine.ctrl_reset.value)
            if reset_req and not ctrl_seen:
                bench.reset_activity.append(engine_activity(dut))
            ctrl_seen = reset_req
            while aw and w:
                self.writes += 1
                wr = RegisterWrite(aw.popleft(), w.popleft(), clock.now())
                self.ap.write(wr)
            if len(stalled) == 4:  # ctrl_valid low, no handshake before one of these rises
                await until_edge(stalled)


class DmaMonitor(uvm_component):
    """m_axi write bursts (the kit's AxiWriteMonitor, vio.cocotb.monitors), published as AxiWrite records."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        await ConfigDB().get(self, "", "BENCH").started.wait()
        self.monitor = AxiWriteMonitor(cocotb.top, "m_axi", cocotb.top.clk, CycleClock())
        self.monitor.subscribe(self.ap.write)
        self.monitor.start()


@dataclass
class StreamPacket:
    direction: str  # "request" (m_axis) or "answer" (s_axis)
    queue: int
    beats: int
    cycle: int


class StreamMonitor(uvm_component):
    """m_axis requests and s_axis answers, one record per packet (at tlast)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.packets = 0

    async def run_phase(self):
        await ConfigDB().get(self, "", "BENCH").started.wait()
        dut = cocotb.top
        clock = CycleClock()
        beats = {"request": 0, "answer": 0}
        ports = [(name, *(getattr(dut, f"{prefix}_{s}") for s in ("tvalid", "tready", "tlast", "tdest"))) for name, prefix in (("request", "m_axis"), ("answer", "s_axis"))]
        edge = RisingEdge(dut.clk)
        while True:
            await edge
            stalled = []  # per port: a signal at 0 that must rise before its next beat
            for name, tvalid, tready, tlast, tdest in ports:
                if not tvalid.value:
                    stalled.append(tvalid)
                elif tready.value:
                    beats[name] += 1
                    if tlast.value:
                        self.packets += 1
                        self.ap.write(StreamPacket(name, tdest.value.to_unsigned(), beats[name], clock.now()))
                        beats[name] = 0
                else:
                    stalled.append(tready)
            if len(stalled) == len(ports):
                await until_edge(stalled)  # no beat before one of these rises


class IrqMonitorComponent(uvm_component):
    """Every edge of irq (the kit's IrqMonitor, vio.cocotb.monitors), each published as (cycle, level)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        await ConfigDB().get(self, "", "BENCH").started.wait()
        self.monitor = IrqMonitor(cocotb.top.irq, CycleClock())
        self.monitor.start()
        seen = 0
        while True:
            await cocotb.top.irq.value_change
            await RisingEdge(cocotb.top.clk)
            while seen < len(self.monitor.cycles):
                self.ap.write((self.monitor.cycles[seen], self.monitor.levels[seen]))
                seen += 1


# ============================================================ scoreboard
@dataclass
class UseVerdict:
    """One used entry the DUT published, with the reference device's decision."""

    queue: int
    interrupt: bool
    reason: str
    event_idx: bool
    used_idx: int


class VirtioScoreboard(uvm_component):
    """The co-simulation's four scoreboards, one set per session (vio.cocotb.session),
    plus every register read against the reference device's value. Sessions
    are checked as they close; ``check_phase`` fails the test with every
    discrepancy found."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)
        self.errors: list[str] = []
        self.summaries: list[str] = []
        self.sessions = 0
        self.bench: Bench = ConfigDB().get(self, "", "BENCH")
        self.bench.on_close.append(self.session_closed)

    def session_closed(self, s: CheckedSession, mode: str, errs: list[str]) -> None:
        self.sessions += 1
        if mode == "full":
            for i, a in enumerate(s.hal.accesses):
                if a.kind == "read" and a.predicted is not None and a.value != a.predicted and a.offset != C.VIRTIO_MMIO_INTERRUPT_STATUS:
                    last = next((w for w in reversed(s.hal.accesses[:i]) if w.kind == "write" and abs(w.offset - a.offset) < 4), None)
                    after = f" (last write near it: {last.size} byte(s) of {last.value:#x} at {last.offset:#x}, cycle {last.start})" if last else ""
                    errs.append(
                        f"register read of {a.size} byte(s) at {a.offset:#x}, cycles {a.start}..{a.end}: the DUT returned {a.value:#x}, "
                        f"the reference device {a.predicted:#x}{after}"
                    )
            self.summaries.append(s.sb.summary())
        if errs:
            self.errors.append(f"session {self.sessions} ({mode} check):")
            self.errors += ["  " + e for e in errs]
        event_idx = bool(s.vio and s.vio.has_feature(C.VIRTIO_RING_F_EVENT_IDX))
        for q, pred in s.predictor.uses.items():
            for p, o in zip(pred, s.sb.used.uses.get(q, [])):
                self.ap.write(UseVerdict(q, p.interrupt, p.reason, event_idx, o.used_idx))

    def check_phase(self):
        for line in self.summaries:
            self.logger.info(line)
        if self.errors:
            raise AssertionError("scoreboard: the RTL differs from the reference device\n" + "\n".join(self.errors))


# ============================================================== coverage
class VirtioCoverage(uvm_subscriber):
    """Samples tb/uvm/coverage.py from the driver's items, the monitors and the scoreboard."""

    def build_phase(self):
        self.bench: Bench = ConfigDB().get(self, "", "BENCH")

    def write(self, obj):
        if isinstance(obj, TransferItem):
            if obj.accepted:
                obj.bucket = length_bucket(obj.chain_length)
                obj_indirect = obj.used_indirect
                cov.sample_transfer(_Sample(obj.queue, obj.bucket, obj.direction, obj_indirect))
                if getattr(obj, "avail_wrapped", False):
                    cov.sample_ring("avail_idx_wrap")
                if not obj.used_indirect and obj.chain_length == self.bench.queue_size:
                    cov.sample_ring("long_chain_queue_num")
            else:
                cov.sample_ring("full")
        elif isinstance(obj, ControlItem):
            self._control(obj)
        elif isinstance(obj, UseVerdict):
            cov.sample_irq(obj.interrupt, obj.event_idx, cov.irq_rule(obj.reason))
            if obj.used_idx == 0:
                cov.sample_ring("used_idx_wrap")

    def _control(self, item: ControlItem) -> None:
        kind, r = item.kind, item.result
        if kind == "pressure":
            cov.sample_pressure(*r)
        elif kind == "release" and r:
            cov.sample_backend("burst_release" if r > 1 else "hold_release")
        elif kind == "open" and r:
            cov.sample_backend("gate_stall")
        elif kind == "config" and r:
            cov.sample_notify("config_change")
        elif kind == "storm":
            for k in r:
                (cov.sample_ring if k == "empty_notify" else cov.sample_notify)(k)
        elif kind in ("reset", "drain_reset", "abort_reset", "gated_reset"):
            cov.sample_reset(r)
            for activity in sorted(item.activity):
                cov.sample_reset_activity(activity)
        elif kind == "hostile":
            cov.sample_cause(r)
        elif kind == "block":
            cov.sample_block(r)
        elif kind == "console":
            if self.bench.cls.multiport and not getattr(self, "handshake", False):
                self.handshake = True  # the control handshake of MULTIPORT ran at init
                cov.sample_console("multiport_handshake")
            cov.sample_console(r)


@dataclass
class _Sample:
    queue: int
    bucket: str
    direction: str
    indirect: bool


# ==================================================================== env
class VirtioUvmEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        ConfigDB().set(None, "*", "SEQR", self.seqr)
        self.driver = VirtioDriverComponent.create("driver", self)
        self.reg_mon = RegisterBusMonitor("reg_mon", self)
        self.dma_mon = DmaMonitor("dma_mon", self)
        self.stream_mon = StreamMonitor("stream_mon", self)
        self.irq_mon = IrqMonitorComponent("irq_mon", self)
        self.scoreboard = VirtioScoreboard.create("scoreboard", self)
        self.coverage = VirtioCoverage("coverage", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.driver.ap.connect(self.coverage.analysis_export)
        self.scoreboard.ap.connect(self.coverage.analysis_export)
        self.reg_mon.ap.connect(self.coverage.analysis_export)
