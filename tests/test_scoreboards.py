"""The scoreboards of the cocotb kit (vio.cocotb.scoreboards) on the RTL: the
cocotb tests, then their pytest runner.

One clean run of random loopback traffic with the four scoreboards live, then
one fault per scoreboard (two for completions and interrupts), each asserting
that the scoreboard's check() raises with the message that names the fault.
The bench is the kit's, as a user would put it together: a ``VirtioEnv``
with a loopback backend and a ``CheckedSession`` per driver lifetime; the
faults come in through the kit's hooks (an answer the backend streams drop,
a config_changed pulse the DUT alone gets) or behind the driver's and the
predictor's back in guest memory.

The runner builds Icarus and Verilator at AXI_DATA_WIDTH 32, Verilator again
at 64; NUM_QUEUES 3 (a queue with interrupts, a polled one, an indirect one),
each in its own build directory under build/scoreboards/, so that
pytest-xdist runs them side by side.
"""

import itertools
import random
from dataclasses import dataclass

import cocotb
import pytest

from tb.runner import ROOT, build_and_test
from tb.top import virtio_env
from vio import VIO_IOV_FLAGS_WRITE, VioDriver, VioIov, VioQueue, VioTransfer
from vio import constants as C
from vio.cocotb.env import VirtioEnv
from vio.cocotb.monitors import ObservedUse
from vio.cocotb.session import CheckedSession, settle
from vio.device.loopback import LoopbackBackend

MEM_SIZE = 1 << 20  # guest memory; the builds' DMA window is all of it
GUARD = 16  # bytes left unused (and unallowed) on both sides of every buffer

NOE = 1 << C.VIRTIO_F_NOTIFY_ON_EMPTY
ANY = 1 << C.VIRTIO_F_ANY_LAYOUT
INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX

SIZES = [1, 2, 3, 7, 16, 17, 64, 100, 255, 300, 1000]


async def bench(dut) -> VirtioEnv:
    """The DUT in the kit's env: a loopback backend on the streams, out of reset."""
    env = virtio_env(dut, LoopbackBackend(len(dut.backend_ready)), mem_size=MEM_SIZE)
    await env.start()
    return env


def pauses(env: VirtioEnv, seed: int) -> None:
    """Random backpressure on every DMA and stream channel (the register bus has none)."""
    rnd = random.Random(seed)
    for ch in env.ram.channels() + [env.streams.sink, env.streams.source]:
        pattern = [rnd.random() < 0.3 for _ in range(97)]
        env.gaps.set(ch, itertools.cycle(pattern))


@dataclass
class Run:
    """One checked session and what its traffic posted."""

    env: VirtioEnv
    session: CheckedSession
    drv: VioDriver
    pending: list

    @property
    def sb(self):
        return self.session.sb

    @property
    def predictor(self):
        return self.session.predictor

    @property
    def mem(self):
        return self.session.mem

    @property
    def hal(self):
        return self.session.hal


def poke_dut_only(env: VirtioEnv, addr: int, data: bytes) -> None:
    """Fault injection: change the DUT's memory behind the driver's and the predictor's back."""
    env.ram.write(addr, data)


async def open_session(env: VirtioEnv, features: int, seed: int, **bounds) -> Run:
    """A fresh predictor, scoreboards and driver (init included) on the same DUT."""
    await settle(env)
    env.store[:] = bytes(len(env.store))
    env.streams.drop = set()
    pauses(env, seed)
    session = CheckedSession(env, LoopbackBackend(env.streams.num_queues), **bounds)
    qmax = env.params["QUEUE_NUM_MAX"]
    queues = [
        VioQueue("q0", qmax),
        VioQueue("q1 polled", qmax, interrupts=False, indirect=False),
        VioQueue("q2 indirect", qmax, indirect=True),
    ][: env.streams.num_queues]
    drv = VioDriver(env.base, drv_features=features, queue=queues, hal=session.hal)
    session.attach(drv)
    await drv.init()
    return Run(env, session, drv, [])


def make_transfer(s: Run, rnd: random.Random, q: int, layout: list[tuple[int, bool]] | None = None) -> VioTransfer | None:
    """A transfer on queue q with buffers from guest memory (GUARD bytes apart);
    ``layout`` = [(size, writable)...] or random. None when the queue is full."""
    if layout is None:
        nr = rnd.randrange(0, 3)
        nw = rnd.randrange(0 if nr else 1, 3)
        layout = [(4100 if rnd.random() < 0.04 else rnd.choice(SIZES), i >= nr) for i in range(nr + nw)]
    needed = 1 if s.drv._use_indirect(s.drv.queue[q], len(layout)) else len(layout)
    if s.drv.avail(q) < needed:
        return None
    blocks, iov = [], []
    for size, writable in layout:
        block = s.mem.alloc(size + 2 * GUARD, 16)
        blocks.append(block)
        s.mem.fill(block, size + 2 * GUARD, 0xEE)
        addr = block + GUARD
        s.mem.write(addr, bytes([0x5A]) * size if writable else rnd.randbytes(size))
        iov.append(VioIov(addr, size, VIO_IOV_FLAGS_WRITE if writable else 0))

    def done(t: VioTransfer) -> None:
        for b in blocks:
            s.mem.free(b)

    return VioTransfer(q, iov, callback=done)


def hold_answers(s: Run) -> None:
    """Backend input, given to both backends: defer every answer (chains stay in flight)."""
    s.predictor.backend.hold = True
    s.env.backend.hold = True


async def release_answers(s: Run) -> None:
    """Backend input, given to both backends (the predictor first, so that it has
    completed the chains before the DUT writes them): deliver the held answers."""
    s.predictor.backend.release()
    s.env.backend.release()
    await s.session.settle()


async def traffic(s: Run, rnd: random.Random, batches: int, *, queues=None, per_queue=3, ack=0.75, hold=0.0, before_flush=None, before_poll=None) -> None:
    """Batches of random transfers: post (notifies held), one notify per queue,
    settle, maybe read and acknowledge InterruptStatus, poll. With probability
    ``hold`` a batch's answers are held until every chain is popped, then released."""
    for b in range(batches):
        if queues is None:  # some batches on the polled queue alone: suppressed entries with nothing pending
            chosen = [1] if rnd.random() < 0.3 else rnd.sample(range(s.env.streams.num_queues), rnd.randrange(1, s.env.streams.num_queues + 1))
        else:
            chosen = list(queues)
        held = rnd.random() < hold
        if held:
            hold_answers(s)
        async with s.hal.batch():
            for q in chosen:
                for _ in range(rnd.randrange(1, per_queue + 1)):
                    tfr = make_transfer(s, rnd, q)
                    if tfr is None:
                        break
                    await s.drv.submit(tfr)
                    s.pending.append(tfr)
            if before_flush is not None:
                before_flush(s, b)
        if held:
            if rnd.random() < ack:
                await s.drv.interrupt_status()
            await release_answers(s)
        if before_poll is not None:
            before_poll(s, b)
        if rnd.random() < ack:
            await s.drv.interrupt_status()
        await s.drv.poll()
    await drain(s)


async def drain(s: Run, rounds: int = 3) -> None:
    """Collect what is still outstanding (bounded: a dropped answer never comes)."""
    for _ in range(rounds):
        if all(t.done for t in s.pending):
            break
        await s.session.settle()
        await s.drv.interrupt_status()
        await s.drv.poll()
    await s.drv.interrupt_status()
    await s.drv.poll()


def expect_failure(board, *phrases: str) -> str:
    """board.check() must raise, and its message must contain every phrase."""
    try:
        board.check()
    except AssertionError as err:
        msg = str(err)
        missing = [p for p in phrases if p not in msg]
        assert not missing, f"the {board.name} scoreboard failed without naming {missing}:\n{msg}"
        cocotb.log.info("%s scoreboard caught the fault as expected:\n%s", board.name, msg)
        return msg
    raise AssertionError(f"the {board.name} scoreboard did not catch the injected fault")


# ================================================================== tests


@cocotb.test(timeout_time=500, timeout_unit="ms")
async def test_clean_random_traffic(dut):
    """Random loopback traffic on three queues (q1 polled with NO_INTERRUPT or a
    far used_event, q2 always indirect when negotiated), direct and indirect
    chains, under random backpressure on every DMA and stream channel, with
    EVENT_IDX off and on and NOTIFY_ON_EMPTY, some batches with the answers held
    until every chain is in flight: every scoreboard passes."""
    env = await bench(dut)
    configs = [
        ("no ring features", ANY),
        ("INDIRECT", ANY | INDIRECT),
        ("INDIRECT + EVENT_IDX", ANY | INDIRECT | EVENT_IDX),
        ("NOTIFY_ON_EMPTY + EVENT_IDX", ANY | NOE | EVENT_IDX),
        ("NOTIFY_ON_EMPTY + INDIRECT + EVENT_IDX", ANY | NOE | INDIRECT | EVENT_IDX),
    ]
    rise: list[int] = []
    decide: list[int] = []
    drop: list[int] = []
    for k, (name, features) in enumerate(configs):
        s = await open_session(env, features, seed=100 + k)
        await traffic(s, random.Random(k), 14, hold=0.3)
        assert all(t.done for t in s.pending), "clean traffic left transfers outstanding"
        assert s.predictor.use_count == len(s.pending) > 0
        cocotb.log.info("%s: %s", name, s.sb.summary())
        s.sb.check()
        s.sb.stop()
        rise += s.sb.interrupts.rise_latencies
        decide += s.sb.interrupts.decide_latencies
        drop += s.sb.interrupts.drop_latencies
    assert rise and drop, "the clean run measured no interrupt latency"
    cocotb.log.info(
        "interrupt latencies over the run: irq rise after the used.idx write: max %d, mean %.1f cycles over %d; "
        "after the decision's last input (B, or its read's response): max %d (bound %d); "
        "irq drop after the InterruptACK response: max %d cycles over %d (bound %d)",
        max(rise), sum(rise) / len(rise), len(rise), max(decide), s.sb.interrupts.rise_bound,
        max(drop), len(drop), s.sb.interrupts.drop_bound,
    )


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def test_completion_scoreboard_catches_dropped_answer(dut):
    """Fault: the RTL's backend never answers queue 0's second request (the
    predictor's backend does). The DUT then completes chain #1 with chain #2's
    answer and chain #2 never appears in the used ring."""
    env = await bench(dut)
    s = await open_session(env, ANY | INDIRECT, seed=7)
    env.streams.drop = {(0, 1)}
    await traffic(s, random.Random(3), 2, queues=[0], per_queue=3)
    expect_failure(s.sb.completion, "never appeared in the used ring", "was never completed to the driver")
    s.sb.memory.check()  # chain #1's buffers got chain #2's answer (the data board sees that), all within bounds


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def test_completion_scoreboard_catches_corrupted_used_len(dut):
    """Fault: after the DUT wrote queue 0's first used element, and before the
    driver reads it, its len is decremented in memory (not a bus write): the
    bus-level used ring is right, the driver reaps a wrong used.len."""
    env = await bench(dut)
    s = await open_session(env, ANY | INDIRECT, seed=8)

    def corrupt(s: Run, b: int) -> None:
        if b == 0:
            layout = s.drv.queue[0].layout
            addr = layout.used_ring(0) + 4
            length = s.mem.read32(addr)
            poke_dut_only(env, addr, (length - 1).to_bytes(4, "little"))

    layouts = [[(40, False), (64, True)], [(64, True)], [(8, False), (32, True)]]
    rnd = random.Random(4)
    async with s.hal.batch():
        for lay in layouts:
            tfr = make_transfer(s, rnd, 0, lay)
            await s.drv.submit(tfr)
            s.pending.append(tfr)
    corrupt(s, 0)
    await s.drv.poll()
    await drain(s)
    msg = expect_failure(s.sb.completion, "the driver reaped used.len 63 for posted chain #0")
    assert "DUT wrote" not in msg, "the bus-level used ring was right; only the driver's view is corrupted"
    s.sb.data.check()
    s.sb.memory.check()
    s.sb.interrupts.check()


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def test_data_scoreboard_catches_flipped_bytes(dut):
    """Faults, one per direction, both behind the driver's and the predictor's back:
    (a) a readable byte flipped in the DUT's memory before the notify: the RTL's
    backend receives it (and echoes it); (b) a byte the DUT wrote into a writable
    buffer flipped after the write, before the driver reads it."""
    env = await bench(dut)
    s = await open_session(env, ANY | INDIRECT, seed=9)
    rnd = random.Random(5)
    async with s.hal.batch():
        ta = make_transfer(s, rnd, 0, [(32, False), (64, True)])
        tb = make_transfer(s, rnd, 2, [(100, True)])
        for t in (ta, tb):
            await s.drv.submit(t)
            s.pending.append(t)
        readable = ta.iov[0].buffer + 5
        poke_dut_only(env, readable, bytes([s.mem.read(readable, 1)[0] ^ 0xFF]))
    target = tb.iov[0].buffer + 10
    poke_dut_only(env, target, bytes([s.mem.read(target, 1)[0] ^ 0x01]))
    await drain(s)
    expect_failure(
        s.sb.data,
        "queue 0 request #0: the backend received 32 readable byte(s), predicted 32; first difference at byte 5",
        f"queue 2 chain #0 (head {s.sb.completion.posted[2][0].head}) writable buffer 0 at {tb.iov[0].buffer:#x}: 1 byte(s) differ, first at +10",
        "queue 0 chain #0",
    )
    s.sb.completion.check()
    s.sb.memory.check()
    s.sb.interrupts.check()


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def test_memory_scoreboard_catches_write_past_buffer(dut):
    """Fault: the length of a writable descriptor is raised by 3 in the DUT's
    memory only (the driver and the predictor keep the posted length). The DUT
    really writes 3 bytes past the driver's buffer, into the guard: a DMA write
    outside every allowed region, seen by the AXI write monitor."""
    env = await bench(dut)
    s = await open_session(env, ANY | INDIRECT, seed=10)
    rnd = random.Random(6)
    async with s.hal.batch():
        t = make_transfer(s, rnd, 1, [(20, False), (40, True)])  # queue 1: direct descriptors
        await s.drv.submit(t)
        s.pending.append(t)
        posted = s.drv.queue[1].posted[t.head]
        desc = s.drv.queue[1].layout.desc_addr(posted.descs[1])
        poke_dut_only(env, desc + 8, (40 + 3).to_bytes(4, "little"))
    await drain(s)
    end = t.iov[1].buffer + 40
    head = s.sb.completion.posted[1][0].head
    expect_failure(
        s.sb.memory,
        "3 byte(s) written outside the used rings and accepted writable buffers",
        f"{end:#x}: written (1 byte(s) after writable buffer 0 of head {head}, queue 1",
    )
    # the same divergence, seen by the other boards: used.len and the request's writable length
    expect_failure(s.sb.completion, f"DUT wrote id {head} len 43, predicted id {head} len 40")
    expect_failure(s.sb.data, "queue 1 request #0: the backend received writable length 43, predicted 40")


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def test_interrupt_scoreboard_catches_spurious_irq(dut):
    """Fault: completions only on the polled queue (NO_INTERRUPT, no EVENT_IDX,
    no NOTIFY_ON_EMPTY), and the RTL alone gets a config_changed pulse as it
    writes the first used.idx: irq rises where the reference device predicts
    nothing pending, and the InterruptStatus read disagrees."""
    env = await bench(dut)
    s = await open_session(env, ANY | INDIRECT, seed=11)

    def on_use(use: ObservedUse) -> None:
        if use.queue == 1 and use.seq == 0:
            env.streams.config_changed()

    s.sb.used.listeners.append(on_use)
    await traffic(s, random.Random(7), 1, queues=[1], per_queue=2, ack=0.0)
    # traffic's drain reads InterruptStatus (the config bit is there) and acknowledges it
    expect_failure(
        s.sb.interrupts,
        "irq high at cycle",
        "queue 1 used entry #0",
        "does not interrupt for (avail.flags NO_INTERRUPT set), with nothing pending",
        "the DUT returned 0x2, the reference device predicts 0x0",
    )
    s.sb.completion.check()
    s.sb.data.check()
    s.sb.memory.check()


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def test_interrupt_scoreboard_catches_late_irq(dut):
    """Fault in the expectation: a rise bound of 0 cycles, shorter than the
    DUT's decision after its last input. One chain with NOTIFY_ON_EMPTY: the
    decision needs no read, its last input is the used.idx write's B, and the
    DUT takes cycles from there (the write engine's count, the publisher's
    issue and decide steps): the scoreboard reports the late rise and its measured latency.
    (After a decision read the DUT raises irq with the read's response, so a
    bound of 0 is met there.)"""
    env = await bench(dut)
    s = await open_session(env, NOE | ANY | INDIRECT, seed=12, rise_bound=0)
    await traffic(s, random.Random(8), 1, queues=[0], per_queue=1)
    expect_failure(s.sb.interrupts, "irq still low at cycle", "which interrupts (NOTIFY_ON_EMPTY: nothing in flight and the avail ring used up); the decision's last input at cycle", "bound 0 cycle(s), it rose")
    s.sb.completion.check()
    s.sb.data.check()
    s.sb.memory.check()


# ------------------------------------------------------------------ runner
RUNS = {
    "icarus-dw32": ("icarus", {"AXI_DATA_WIDTH": 32, "NUM_QUEUES": 3, "DMA_SIZE": MEM_SIZE}),
    "verilator-dw32": ("verilator", {"AXI_DATA_WIDTH": 32, "NUM_QUEUES": 3, "DMA_SIZE": MEM_SIZE}),
    "verilator-dw64": ("verilator", {"AXI_DATA_WIDTH": 64, "NUM_QUEUES": 3, "DMA_SIZE": MEM_SIZE}),
}


@pytest.mark.parametrize("run", RUNS.keys())
def test_scoreboards(run):
    sim, params = RUNS[run]
    build_dir = ROOT / "build" / "scoreboards" / run
    results = build_and_test(sim, params, build_dir, __name__)
    failed = {name: text for name, text in results if text}
    assert not failed, f"{run}: failed cocotb tests (log: {build_dir}):\n" + "\n".join(f"{k}: {v}" for k, v in failed.items())
