"""Sequences of virtio traffic. Each draws from the bench's seeded random
generator (``VIO_SEED``), so a seed reproduces a run exactly."""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_sequence

from vio import constants as C

from vio.hostile.chains import ALL_RING, ANY_LAYOUT, CASES, EVENT_IDX, INDIRECT, NOTIFY_ON_EMPTY
from .items import DIRECTIONS, LENGTH_BUCKETS, ControlItem, TransferItem

FEATURE_SETS = [ANY_LAYOUT, ANY_LAYOUT | INDIRECT, ANY_LAYOUT | INDIRECT | EVENT_IDX, NOTIFY_ON_EMPTY | ANY_LAYOUT | EVENT_IDX, ALL_RING]
PAUSES = (0.0, 0.1, 0.4)


class VirtioSequence(uvm_sequence):
    """Helpers shared by the sequences: the bench, its generator, one-line item sends."""

    def __init__(self, name: str = "virtio_seq", **kw):
        super().__init__(name)
        self.bench = ConfigDB().get(None, "", "BENCH")
        self.rng = self.bench.rng
        self.kw = kw

    async def send(self, item):
        await self.start_item(item)
        await self.finish_item(item)
        return item

    async def control(self, kind: str, name: str | None = None, **args):
        return await self.send(ControlItem(name or kind, kind, **args))

    async def transfer(self, queue: int, *, bucket=None, direction=None, indirect=None, max_len: int | None = None):
        b = self.bench
        item = TransferItem("transfer").randomize(
            self.rng, queue, max_len or min(b.queue_size, b.params["INDIRECT_MAX"]), bucket=bucket, direction=direction, indirect=indirect
        )
        return await self.send(item)


class RandomTrafficSeq(VirtioSequence):
    """Rounds of 1..3 transfers on a random subset of the queues, chain length
    buckets, directions and indirect-ness drawn evenly (so the cross fills),
    then a kick that may or may not acknowledge InterruptStatus; now and then
    new bus pressure, or a reset and init with another feature set."""

    async def body(self):
        rounds = self.kw.get("rounds", 12)
        nq = self.bench.num_queues
        for r in range(rounds):
            if self.rng.random() < 0.15:
                await self.control("pressure", pause=self.rng.choice(PAUSES))
            if r and self.rng.random() < self.kw.get("reinit", 0.1):
                await self.control("reset", count=-1, queues=[self.rng.choice(FEATURE_SETS)])
            for q in self.rng.sample(range(nq), self.rng.randint(1, nq)):
                for _ in range(self.rng.randint(1, 3)):
                    await self.transfer(q, bucket=self.rng.choice(list(LENGTH_BUCKETS)), direction=self.rng.choice(DIRECTIONS))
            await self.control("kick", ack=self.rng.random() < 0.7)


class CrossSweepSeq(VirtioSequence):
    """Every queue x length bucket x direction x direct/indirect once, in random order."""

    async def body(self):
        combos = [(q, b, d, i) for q in range(self.bench.num_queues) for b in LENGTH_BUCKETS for d in DIRECTIONS for i in (True, False)]
        self.rng.shuffle(combos)
        for n, (q, b, d, i) in enumerate(combos):
            await self.transfer(q, bucket=b, direction=d, indirect=i)
            if n % 4 == 3:
                await self.control("kick")
        await self.control("kick")


class RingLimitsSeq(VirtioSequence):
    """Long chains up to the ring size (direct: QueueNum descriptors; indirect:
    INDIRECT_MAX), the ring filled with answers held (one more transfer is
    refused: full), released in one burst, then a notify of the empty ring."""

    async def body(self):
        b = self.bench
        for q in range(b.num_queues):
            if q != 2:  # queue 2 is always indirect
                await self.transfer(q, bucket="9+", indirect=False, max_len=b.queue_size)
                item = TransferItem("long", q, [(self.rng.choice((1, 7, 64)), i >= b.queue_size // 2) for i in range(b.queue_size)], indirect=False)
                await self.send(item)
                await self.control("kick")
            await self.transfer(q, bucket="9+", indirect=True, max_len=b.params["INDIRECT_MAX"])
            await self.control("kick")
        for _ in range(b.queue_size + 1):  # the last one finds the ring full
            fill = TransferItem("fill", 0, [(8, True)], indirect=False)
            fill.expect = "hold"
            await self.send(fill)
        await self.control("release")
        await self.control("storm", count=1, queues=[0])


class InterruptRulesSeq(VirtioSequence):
    """Each feature set in turn (a new init each): batches on the queue with
    interrupts and the polled one, some batches of several chains per notify
    (EVENT_IDX: the later entries of a batch do not pass used_event)."""

    async def body(self):
        for features in FEATURE_SETS:
            await self.control("reset", count=-1, queues=[features])
            for _ in range(self.kw.get("rounds", 4)):
                for q in (0, 1):
                    for _ in range(self.rng.randint(1, 4)):
                        await self.transfer(q, bucket=self.rng.choice(("1", "2-3")))
                await self.control("kick", ack=self.rng.random() < 0.8)


class StormStallSeq(VirtioSequence):
    """Notify storms (idle queues, chains held in flight, a queue the device
    does not have), backend_ready low while chains wait (then opened), held
    answers released one at a time and in bursts."""

    async def body(self):
        b = self.bench
        nq = b.num_queues
        await self.control("storm", count=8, queues=list(range(nq)) + [nq, 0x7F])
        await self.control("hold")
        for q in range(nq):
            await self.transfer(q, bucket="1")
        await self.control("kick")
        await self.control("storm", count=6, queues=list(range(nq)))
        await self.control("release")
        await self.control("hold")
        await self.transfer(0, bucket="1")
        await self.control("release")
        await self.control("gate")
        await self.control("storm", count=1, queues=[0])  # nothing new, and the backend not ready
        for q in range(nq):
            for _ in range(2):
                await self.transfer(q, bucket=self.rng.choice(("1", "2-3")))
        await self.control("kick")
        await self.control("storm", count=3, queues=[0, 1])
        await self.control("open")
        await self.control("config")


class StreamHoldSeq(VirtioSequence):
    """A run of RUN_MAX heads while the other queues wait (it yields to
    them), then a full ring of chains notified with the request stream
    paused a while (the entry FIFO fills behind the stalled pipeline, and
    the fetch waits for room in it)."""

    async def body(self):
        b = self.bench
        for _ in range(b.queue_size):
            await self.transfer(0, bucket="1", direction="in")
        for q in range(1, b.num_queues):
            await self.transfer(q, bucket="1")
        await self.control("kick")
        for _ in range(b.queue_size):
            await self.transfer(0, bucket="1", direction="out")
        await self.control("stream_hold", count=self.kw.get("cycles", 400))


class ResetSeq(VirtioSequence):
    """Resets with answers held at a quiescent point, and resets at a random
    cycle in the middle of traffic (the engine caught at work), each
    followed by a new init and clean traffic."""

    async def body(self):
        await self.control("hold")
        for q in range(self.bench.num_queues):
            await self.transfer(q)
        await self.control("kick")
        await self.control("reset", count=-1)
        for _ in range(self.kw.get("resets", 16)):
            if self.rng.random() < 0.3:
                await self.control("hold")
            for q in range(self.bench.num_queues):
                await self.transfer(q, bucket=self.rng.choice(list(LENGTH_BUCKETS)))
            await self.control("reset", count=self.rng.choice((0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 40, 60, 90, 150, 250, 400)))
            await self.transfer(0)
            await self.control("kick")


class ResetSweepSeq(VirtioSequence):
    """The same small chain each time, the reset ``d`` cycles after its notify
    for d = 0, step, 2*step...: the reset lands in each step of the engine's
    work on one chain (fetch, request, data, answer, used element, interrupt decision)."""

    async def body(self):
        step = self.kw.get("step", 2)
        for d in range(0, self.kw.get("cycles", 360), step):
            item = TransferItem("sweep", 0, [(24, False), (40, True)], indirect=d % 2 == 0)
            await self.send(item)
            await self.control("reset", count=d)


class DirectedResetSeq(VirtioSequence):
    """Resets aimed at the engine's short activities, each followed by a new init.

    For each target (activity, chain) the same chain is posted and the reset
    issued ``d`` cycles after its notify, d = 0, 1, 2, ... until the reset's
    request meets the engine at the target (the register bus monitor notes
    what the engine does on the cycle the request reaches it): data_read (a
    chain's readable buffer being read), irq_decision (the read of used_event
    or avail.flags), drain (a chain with nothing writable: its answer is
    dropped). Then an answer no chain waits for, dropped while the reset
    lands, the abort of a bus-error break held by a stalled m_axis (the
    Status=0 write timed against its release), and queue stops that cut the
    engine's work on the queue short."""

    # (activity, chain, features): without NOTIFY_ON_EMPTY for irq_decision,
    # which needs no read when the ring is left empty under NOTIFY_ON_EMPTY
    # (the interrupt is raised at once), as after every lone chain of ALL_RING
    TARGETS = (
        ("data_read", [(24, False), (40, True)], ALL_RING),
        ("irq_decision", [(24, False), (40, True)], ANY_LAYOUT | INDIRECT | EVENT_IDX),
        ("drain", [(24, False)], ALL_RING),
    )

    async def body(self):
        await self.control("pressure", pause=0.0)  # a fixed register bus latency: d steps one cycle at a time
        cycles = self.kw.get("cycles", 400)
        met = set()  # what the reset requests met
        for name, segments, features in self.TARGETS:
            await self.control("reset", count=-1, queues=[features])
            for d in range(cycles):
                await self.send(TransferItem("directed", 0, segments, indirect=False))
                met |= (await self.control("reset", count=d)).activity
                if name in met:
                    break
        met |= (await self.control("drain_reset", count=4096)).activity
        for size in (0, 4100):  # the backend not ready at the run's end; at a chain read ahead, its bytes dropped
            await self.control("gated_reset", count=size)
        # queue stops (QueuePFN=0) meeting the engine at work on the queue
        for d in range(0, 40, 2):
            await self.send(TransferItem("directed", 0, [(24, False), (40, True)], indirect=False))
            await self.control("stop", count=d)
        aimed = ["data_read", "irq_decision", "drain"]
        if self.bench.params["DMA_SIZE"] > self.bench.env.mem.size:  # a buffer past guest memory, inside the window
            for d in range(self.kw.get("abort_steps", 12)):
                met |= (await self.control("abort_reset", count=d)).activity
            for cause in ("bus_error_read", "bus_error"):  # the stop catches the chain's failing read / answer write (SLVERR) in flight
                for d in range(40):
                    await self.control("stop", count=d, cause=cause)
            aimed.append("abort")
        missed = [name for name in aimed if name not in met]
        assert not missed, f"directed resets: no reset request met the engine at {missed} (met: {sorted(met)})"
        await self.transfer(0)
        await self.control("kick")


class BackendLimitsSeq(VirtioSequence):
    """Answers longer than the writable buffers (the RTL's backend runs
    ``overrun`` bytes past them: the rest is drained and dropped, used.len =
    the writable length, no byte past the buffers), on chains with and
    without writable buffers, every queue, direct and indirect; then the
    per-queue segment buffer full: answers held, indirect chains of
    INDIRECT_MAX writable buffers on one queue until their segments exceed
    SEG_DEPTH (the walk of the last is abandoned and retried after a
    completion), then released."""

    async def body(self):
        b = self.bench
        nq = b.num_queues
        for overrun in (1, 37, 300):
            await self.control("overrun", count=overrun)
            for q in range(nq):
                for direction in DIRECTIONS:
                    await self.transfer(q, bucket=self.rng.choice(("1", "2-3", "4-8")), direction=direction)
            await self.control("kick")
        await self.control("overrun", count=0)
        qnm, im = b.params["QUEUE_NUM_MAX"], b.params["INDIRECT_MAX"]
        seg_depth = 1 << (qnm + im - 2).bit_length()  # the RTL's default: 2**clog2(QUEUE_NUM_MAX+INDIRECT_MAX-1)
        for n in range(seg_depth // im + 1):
            item = TransferItem("segments", 2, [(self.rng.choice((1, 8, 64)), True) for _ in range(im)], indirect=True)
            if n == 0:
                item.expect = "hold"
            await self.send(item)
        await self.control("kick")
        # the last walk was abandoned: queue 2 waits for room in its segment buffer
        waiting = b.env.dut.engine_inst.sched_inst.wait_space_reg.value.to_unsigned()
        assert waiting & 1 << 2, f"segment buffer: queue 2 does not wait for room (wait_space {waiting:#x})"
        await self.control("release")
        await self.control("kick")


class RegisterSeq(VirtioSequence):
    """Bursts of random register accesses on a reset device (every read
    compared with the reference device), each followed by a new init and traffic."""

    async def body(self):
        for _ in range(self.kw.get("bursts", 3)):
            await self.control("registers", count=self.kw.get("count", 120))
            for q in range(self.bench.num_queues):
                await self.transfer(q)
            await self.control("kick")


class HostileSeq(VirtioSequence):
    """Every hostile case the build's DMA window allows, in random order, each
    followed by the driver's recovery and clean traffic."""

    async def body(self):
        window = self.bench.params["DMA_SIZE"]
        full = window > self.bench.env.mem.size
        cases = [c for c in CASES if c.window == "any" or (c.window == "full") == full]
        self.rng.shuffle(cases)
        for case in cases:
            await self.control("hostile", cause=case.name)
            await self.transfer(self.rng.randrange(self.bench.num_queues))
            await self.control("kick")


class BlockSeq(VirtioSequence):
    """Random reads and writes of 1..8 sectors, flush, get_id, a read past the
    end; every read against the shadow disk image, the disk against it after
    every request."""

    async def body(self):
        sectors = self.bench.cls.capacity
        await self.control("block", "get_id")
        for _ in range(self.kw.get("requests", 12)):
            count = self.rng.randint(1, 8)
            sector = self.rng.randrange(sectors - count + 1)
            if self.rng.random() < 0.5:
                await self.control("block", "write", sector=sector, sectors=count, data=self.rng.randbytes(count * C.SECTOR_SIZE))
            else:
                await self.control("block", "read", sector=sector, sectors=count)
        await self.control("block", "flush")
        await self.control("block", "ioerr")


class ConsoleSeq(VirtioSequence):
    """Console multiport: both ports opened at both ends, lines each way,
    ports closed and opened again."""

    async def body(self):
        for _ in range(self.kw.get("cycles", 2)):
            for port in (0, 1):
                await self.control("console", "host_open", port=port)
                await self.control("console", "guest_open", port=port)
                for _ in range(2):
                    line = self.rng.randbytes(self.rng.randint(1, 40))
                    await self.control("console", "guest_write", port=port, data=line)
                    await self.control("console", "host_write", port=port, data=line[::-1])
            for port in (1, 0):
                await self.control("console", "guest_close", port=port)
                await self.control("console", "host_close", port=port)
