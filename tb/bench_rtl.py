"""cocotb module of ``make bench``: what the RTL achieves against the bus limit.

Throughput: a full ring of one-buffer chains is posted while the backend holds
``backend_ready`` low, then released; cycles from the release to the last
used.idx write, per chain, for each size and direction. Latencies: from the
QueueNotify write's response to the used.idx write (one chain, idle device),
and from the used.idx write to the rise of ``irq``. Results go as JSON to the
file named by ``VIO_BENCH_OUT``; ``tb/bench.py`` prints them.
"""

import json
import os

import cocotb
from cocotb.triggers import RisingEdge

from tb.env import VirtioEnv, rtl_parameters
from vio import VIO_IOV_FLAGS_WRITE, VioQueue, VioTransfer
from vio.device.loopback import LoopbackBackend
from vio.ring import u16

SIZES = (64, 512, 4096)
CHAINS = 64  # per size and direction
BOUND = 100_000  # cycles any single wait may take before the bench calls it a hang


async def _until_used(env: VirtioEnv, q: VioQueue, target: int) -> int:
    """Cycle at which the DUT's write of used.idx == target lands in memory."""
    for _ in range(BOUND):
        if env.mem.read16(q.layout.used_idx) == target:
            return env.cycle
        await RisingEdge(env.dut.clk)
    raise AssertionError(f"used.idx of {q.name} did not reach {target} in {BOUND} cycles")


@cocotb.test()
async def bench(dut):
    p = rtl_parameters()
    latency = int(os.environ.get("VIO_MEM_LATENCY", "0"))
    backend = LoopbackBackend(p["NUM_QUEUES"])
    env = VirtioEnv(dut, backend, mem_size=1 << 22, mem_latency=latency)
    await env.start()
    ring = min(CHAINS, p["QUEUE_NUM_MAX"])
    polled = VioQueue("bench", ring, interrupts=False)
    signalled = VioQueue("irq", 2)
    drv = env.vio_driver([polled, signalled])
    await drv.init()
    cycle0 = env.cycle
    out: dict = {"bus_bytes_per_cycle": p["AXI_DATA_WIDTH"] // 8, "mem_latency": latency, "throughput": []}

    for size in SIZES:
        for to_device in (True, False):
            flags = 0 if to_device else VIO_IOV_FLAGS_WRITE
            bufs = [env.mem.alloc(size, 64) for _ in range(ring)]
            cycles = 0
            for _ in range(CHAINS // ring):
                tfrs = [VioTransfer(0, [(b, size, flags)]) for b in bufs]
                backend.gate = True
                for t in tfrs:
                    await drv.submit(t)
                await env.quiesce()
                target = u16(polled.last_used + ring)
                start = env.cycle
                backend.open_gate()
                cycles += await _until_used(env, polled, target) - start
                await drv.poll()
                assert all(t.done and t.actual == (0 if to_device else size) for t in tfrs)
            for b in bufs:
                env.mem.free(b)
            per_chain = cycles / CHAINS
            out["throughput"].append(
                {"size": size, "direction": "driver->device" if to_device else "device->driver",
                 "cycles_per_chain": per_chain, "bytes_per_cycle": size / per_chain}
            )

    buf = env.mem.alloc(64, 64)
    notify_to_used = []
    for _ in range(8):
        t = VioTransfer(0, [(buf, 64, VIO_IOV_FLAGS_WRITE)])
        target = u16(polled.last_used + 1)
        await env.quiesce()
        await drv.submit(t)  # returns with the QueueNotify write's response
        sent = env.cycle
        notify_to_used.append(await _until_used(env, polled, target) - sent)
        await drv.poll()
    out["notify_to_used_idx"] = min(notify_to_used)

    used_to_irq = []
    for _ in range(8):
        t = VioTransfer(1, [(buf, 64, VIO_IOV_FLAGS_WRITE)])
        target = u16(signalled.last_used + 1)
        await env.quiesce()
        edges = len(env.irq_cycles)
        await drv.submit(t)
        used = await _until_used(env, signalled, target)
        for _ in range(BOUND):
            if len(env.irq_cycles) > edges:
                break
            await RisingEdge(dut.clk)
        assert len(env.irq_cycles) > edges, "no interrupt for a used entry on an interrupting queue"
        used_to_irq.append(env.irq_cycles[edges] - used)
        isr = await drv.interrupt_status()
        assert isr & 1
        await drv.poll()
    out["used_idx_to_irq"] = min(used_to_irq)
    out["cycles"] = env.cycle - cycle0
    with open(os.environ["VIO_BENCH_OUT"], "w") as f:
        json.dump(out, f)
