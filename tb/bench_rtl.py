"""cocotb module of ``make bench``: what the RTL achieves against the bus limit.

Throughput: a full ring of one-buffer chains is posted on queue 0 while the
backend holds ``backend_ready`` low, then released; cycles from the release to
the last used.idx write, per chain, for each size and direction (``CASES``).
With ``VIO_BENCH_FULL=1`` also (each measured the same way):

- ``multi``: four queues busy at once, 16 chains of 512 B each, two of them
  driver->device and two device->driver;
- ``hol_answer``: head-of-line, answer side: queue 1's 4 KiB answer trickles
  in (one beat in 8) while queue 0 moves 64 chains of 512 B driver->device;
  queue 0's request stream is timed, with and without the trickle;
- ``hol_request``: head-of-line, request side: queue 1's 4 KiB request is
  taken by the backend one beat in 8 while queue 0's 32 device->driver chains
  of 512 B, already requested, get their answers; queue 0's completions are
  timed, with and without the stalled request;
- ``unaligned``: 4 KiB answers into buffers at odd addresses, against aligned.

Latencies (one 64-byte chain on an idle device): the QueueNotify write's
response to the used.idx write; and the used.idx write's B response to the
rise of ``irq``, beside the round trip of the decision's own read (its AR to
its R, observed on the bus). Results go as JSON to the file named by
``VIO_BENCH_OUT``; ``tb/bench.py`` prints them.
"""

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from tb.top import rtl_parameters, virtio_env
from vio.cocotb.env import VirtioEnv
from vio.cocotb.waits import until_edge, until_rise
from vio import VIO_IOV_FLAGS_WRITE, VioQueue, VioTransfer
from vio.device.loopback import LoopbackBackend
from vio.ring import u16

SIZES = (64, 512, 4096)
CHAINS = 64  # per size and direction
BOUND = 200_000  # cycles any single wait may take before the bench calls it a hang


class Stopwatch:
    """Cycles at which each queue's requests arrived at the backend, and the
    AXI events the latency figures need (B responses, AR and R handshakes),
    recorded between :meth:`watch_bus` and :meth:`stop_bus`."""

    def __init__(self, env: VirtioEnv, backend: LoopbackBackend):
        self.env = env
        self.requests: dict[int, list[int]] = {}
        self.b_cycles: list[int] = []
        self.reads: list[tuple[int, int, int | None]] = []  # (address, AR cycle, last R cycle)
        plain = backend.request

        def timed(queue: int, readable: bytes, writable_len: int):
            self.requests.setdefault(queue, []).append(env.cycle)
            return plain(queue, readable, writable_len)

        backend.request = timed  # type: ignore[method-assign]
        self._task: cocotb.Task | None = None

    def watch_bus(self) -> None:
        """Record the B, AR and last R handshakes from the next edge on (on a
        quiet bus: no burst in flight to pair wrongly)."""
        if self._task is None:
            self._task = cocotb.start_soon(self._watch())

    def stop_bus(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _watch(self) -> None:
        dut = self.env.dut
        open_reads: list[int] = []
        edge = RisingEdge(dut.clk)
        valids = (dut.m_axi_bvalid, dut.m_axi_arvalid, dut.m_axi_rvalid)
        while True:
            await edge
            b, ar, r = (v.value for v in valids)
            if not (b or ar or r):  # asleep until one rises (vio.cocotb.waits)
                await until_rise(valids)
                continue
            c = self.env.cycle
            stalled = []  # per event: a signal at 0 that must rise before it can happen
            if not b:
                stalled.append(dut.m_axi_bvalid)
            elif dut.m_axi_bready.value:
                self.b_cycles.append(c)
            else:
                stalled.append(dut.m_axi_bready)
            if not ar:
                stalled.append(dut.m_axi_arvalid)
            elif dut.m_axi_arready.value:
                self.reads.append((dut.m_axi_araddr.value.to_unsigned(), c, None))
                open_reads.append(len(self.reads) - 1)
            else:
                stalled.append(dut.m_axi_arready)
            if not r:  # (only a burst's last R beat counts: asleep across the others)
                stalled.append(dut.m_axi_rvalid)
            elif not dut.m_axi_rready.value:
                stalled.append(dut.m_axi_rready)
            elif not dut.m_axi_rlast.value:
                stalled.append(dut.m_axi_rlast)
            elif open_reads:
                i = open_reads.pop(0)
                addr, ar, _ = self.reads[i]
                self.reads[i] = (addr, ar, c)
            if len(stalled) == 3:
                await until_edge(stalled)


async def _until_used(env: VirtioEnv, q: VioQueue, target: int) -> int:
    """The cycle of the first clock edge after the one at which the DUT's
    write of used.idx == ``target`` lands in memory (the edge of its W
    handshake): the cycle the bench has always reported, when it looked at
    memory at every edge, before the memory model stored that edge's beat.
    Now woken by the memory model's write hook (``VirtioEnv.until_used``, which
    returns at the write's own edge), then one edge: it returns at the same
    edge as the per-edge loop did, so what the bench does next is unchanged
    too. Returns at once (the loop's first look) if used.idx is there already."""
    if env.mem.read16(q.layout.used_idx) == target:
        return env.cycle
    await env.until_used(q, target, BOUND)
    await RisingEdge(env.dut.clk)
    return env.cycle


async def _gated_run(env, backend, drv, queues: dict[int, tuple[VioQueue, list[VioTransfer]]]) -> int:
    """Post every transfer with the backend gated, release, and return the
    cycles until every queue's last used.idx write landed."""
    backend.close_gate()
    for q, tfrs in queues.values():
        for t in tfrs:
            await drv.submit(t)
    await env.quiesce()
    targets = {q.index: u16(q.last_used + len(tfrs)) for q, tfrs in queues.values()}
    start = env.cycle
    backend.open_gate()
    end = start
    for q, _ in queues.values():
        end = max(end, await _until_used(env, q, targets[q.index]))
    await drv.poll()
    for q, tfrs in queues.values():
        assert all(t.done for t in tfrs), f"{q.name}: transfers not completed"
    return end - start


def _buffers(env, n: int, size: int, offset: int = 0) -> list[int]:
    return [env.mem.alloc(size + 64, 64) + offset for _ in range(n)]


async def throughput(env, backend, drv, q0: VioQueue, out: dict) -> None:
    ring = q0.num
    for size in SIZES:
        for to_device in (True, False):
            flags = 0 if to_device else VIO_IOV_FLAGS_WRITE
            bufs = _buffers(env, ring, size)
            cycles = 0
            for _ in range(CHAINS // ring):
                tfrs = [VioTransfer(0, [(b, size, flags)]) for b in bufs]
                cycles += await _gated_run(env, backend, drv, {0: (q0, tfrs)})
                assert all(t.actual == (0 if to_device else size) for t in tfrs)
            out["throughput"].append(
                {"size": size, "direction": "driver->device" if to_device else "device->driver", "chains": CHAINS,
                 "cycles_per_chain": cycles / CHAINS, "bytes_per_cycle": size * CHAINS / cycles}
            )


async def multi_queue(env, backend, drv, queues: list[VioQueue], out: dict) -> None:
    size, per_queue = 512, 16
    work = {}
    for q in queues[:4]:
        flags = 0 if q.index % 2 == 0 else VIO_IOV_FLAGS_WRITE
        work[q.index] = (q, [VioTransfer(q.index, [(b, size, flags)]) for b in _buffers(env, per_queue, size)])
    cycles = await _gated_run(env, backend, drv, work)
    chains = per_queue * len(work)
    out["multi"] = {"queues": len(work), "size": size, "chains": chains, "cycles_per_chain": cycles / chains,
                    "bytes_per_cycle": size * chains / cycles}


def _paced(every: int):
    """A pause generator: one cycle in ``every`` without a pause."""
    n = 0
    while True:
        n += 1
        yield n % every != 0


async def hol_answer(env, backend, drv, watch: Stopwatch, q0: VioQueue, q1: VioQueue, out: dict) -> None:
    """Queue 0's request stream while queue 1's answer trickles in, and alone."""
    size, n, slow = 512, 64, 8
    result = {}
    for trickle in (False, True):
        await env.quiesce()
        if trickle:
            # queue 1's chain is popped and requested first; its 4 KiB answer
            # then leaves the backend one beat in `slow`
            big = _buffers(env, 1, 4096)[0]
            t1 = VioTransfer(1, [(big, 4096, VIO_IOV_FLAGS_WRITE)])
            env.streams.set_pause_generators(None, _paced(slow))
            await drv.submit(t1)
            start_wait = env.cycle
            while 1 not in watch.requests or not watch.requests[1]:
                await RisingEdge(env.dut.clk)
                assert env.cycle - start_wait < BOUND, "queue 1's request never came"
        tfrs = [VioTransfer(0, [(b, size, 0)]) for b in _buffers(env, n, size)]
        backend.close_gate()
        for t in tfrs:
            await drv.submit(t)
        watch.requests[0] = []
        start = env.cycle
        backend.open_gate()
        for _ in range(BOUND):
            if len(watch.requests[0]) == n:
                break
            await RisingEdge(env.dut.clk)
        assert len(watch.requests[0]) == n, "queue 0's requests did not all come"
        result["with" if trickle else "alone"] = watch.requests[0][-1] - start
        if trickle:
            still = t1.done is False
            result["trickle_still_running"] = still
        await _until_used(env, q0, u16(q0.last_used + n))
        env.streams.set_pause_generators(None, None)
        if trickle:
            await _until_used(env, q1, u16(q1.last_used + 1))
        await drv.poll()
        watch.requests.pop(1, None)
    out["hol_answer"] = result


async def hol_request(env, backend, drv, watch: Stopwatch, q0: VioQueue, q1: VioQueue, out: dict) -> None:
    """Queue 0's completions while queue 1's request is taken slowly, and alone."""
    size, n, slow = 512, 32, 8
    result = {}
    for stall in (False, True):
        await env.quiesce()
        backend.hold = True  # queue 0's answers wait until every chain is requested
        tfrs = [VioTransfer(0, [(b, size, VIO_IOV_FLAGS_WRITE)]) for b in _buffers(env, n, size)]
        watch.requests[0] = []
        for t in tfrs:
            await drv.submit(t)
        # (not quiesce: the held answers are owed, so the streams are never idle)
        start_wait = env.cycle
        while len(watch.requests[0]) < n:
            await RisingEdge(env.dut.clk)
            assert env.cycle - start_wait < BOUND, "queue 0's requests did not all come"
        await ClockCycles(env.dut.clk, 16)
        if stall:
            big = _buffers(env, 1, 4096)[0]
            env.streams.set_pause_generators(_paced(slow), None)
            t1 = VioTransfer(1, [(big, 4096, 0)])
            await drv.submit(t1)  # its request now crawls over m_axis
            for _ in range(16):
                await RisingEdge(env.dut.clk)
        start = env.cycle
        backend.release()
        end = await _until_used(env, q0, u16(q0.last_used + n))
        result["with" if stall else "alone"] = end - start
        if stall:
            result["request_still_running"] = not t1.done
            await _until_used(env, q1, u16(q1.last_used + 1))
        env.streams.set_pause_generators(None, None)
        await drv.poll()
    out["hol_request"] = result


async def unaligned(env, backend, drv, q0: VioQueue, out: dict) -> None:
    size, n = 4096, 16
    result = {}
    for name, offset in (("aligned", 0), ("offset_1", 1), ("offset_3", 3), ("offset_5", 5)):
        tfrs = [VioTransfer(0, [(b, size, VIO_IOV_FLAGS_WRITE)]) for b in _buffers(env, n, size, offset)]
        cycles = await _gated_run(env, backend, drv, {0: (q0, tfrs)})
        assert all(t.actual == size for t in tfrs)
        result[name] = cycles / n
    out["unaligned"] = result


async def latencies(env, backend, drv, watch: Stopwatch, polled: VioQueue, signalled: VioQueue, out: dict) -> None:
    buf = env.mem.alloc(64, 64)
    notify_to_used = []
    for _ in range(8):
        t = VioTransfer(polled.index, [(buf, 64, VIO_IOV_FLAGS_WRITE)])
        target = u16(polled.last_used + 1)
        await env.quiesce()
        await drv.submit(t)  # returns with the QueueNotify write's response
        sent = env.cycle
        notify_to_used.append(await _until_used(env, polled, target) - sent)
        await drv.poll()
    out["notify_to_used_idx"] = min(notify_to_used)

    lay = signalled.layout
    decision = {lay.used_event, lay.avail_flags}
    best = None
    for _ in range(8):
        t = VioTransfer(signalled.index, [(buf, 64, VIO_IOV_FLAGS_WRITE)])
        await env.quiesce()
        watch.watch_bus()  # (the bus events are read here only: not watched in the rest of the bench)
        edges, bs, reads = len(env.irq_cycles), len(watch.b_cycles), len(watch.reads)
        await drv.submit(t)
        used = await _until_used(env, signalled, u16(signalled.last_used + 1))
        for _ in range(BOUND):
            if len(env.irq_cycles) > edges:
                break
            await RisingEdge(env.dut.clk)
        assert len(env.irq_cycles) > edges, "no interrupt for a used entry on an interrupting queue"
        rise = env.irq_cycles[edges]
        # the used.idx write's B: the last B before the rise; the decision read: after it
        b = max(c for c in watch.b_cycles[bs:] if c <= rise)
        rd = next(((a, ar, r) for a, ar, r in watch.reads[reads:] if ar >= b and any(a <= x < a + 16 for x in decision)), None)
        rt = (rd[2] - rd[1]) if rd is not None and rd[2] is not None else 0
        row = {"used_idx_landed_to_irq": rise - used, "b_to_irq": rise - b, "decision_read_round_trip": rt}
        if best is None or row["b_to_irq"] < best["b_to_irq"]:
            best = row
        assert (await drv.interrupt_status()) & 1
        await drv.poll()
    watch.stop_bus()
    out["irq"] = best


@cocotb.test()
async def bench(dut):
    p = rtl_parameters()
    latency = int(os.environ.get("VIO_MEM_LATENCY", "0"))
    full = os.environ.get("VIO_BENCH_FULL", "0") == "1"
    backend = LoopbackBackend(p["NUM_QUEUES"])
    env = virtio_env(dut, backend, mem_size=1 << 22, mem_latency=latency)
    await env.start()
    watch = Stopwatch(env, backend)
    ring = min(CHAINS, p["QUEUE_NUM_MAX"])
    queues = [VioQueue("q0", ring, interrupts=False), VioQueue("irq", 16)]
    queues += [VioQueue(f"q{i}", 16, interrupts=False) for i in range(2, p["NUM_QUEUES"])]
    drv = env.vio_driver(queues)
    await drv.init()
    cycle0 = env.cycle
    out: dict = {"bus_bytes_per_cycle": p["AXI_DATA_WIDTH"] // 8, "mem_latency": latency, "throughput": []}

    await throughput(env, backend, drv, queues[0], out)
    await latencies(env, backend, drv, watch, queues[0], queues[1], out)
    if full:
        await multi_queue(env, backend, drv, queues, out)
        await hol_answer(env, backend, drv, watch, queues[0], queues[1], out)
        await hol_request(env, backend, drv, watch, queues[0], queues[1], out)
        await unaligned(env, backend, drv, queues[0], out)

    out["cycles"] = env.cycle - cycle0
    with open(os.environ["VIO_BENCH_OUT"], "w") as f:
        json.dump(out, f)
