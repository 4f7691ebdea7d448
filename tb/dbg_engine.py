"""Scratch debug test (not committed)."""
import os
import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from tb.env import VirtioEnv, rtl_parameters
from vio import VIO_IOV_FLAGS_WRITE, VioQueue, VioTransfer
from vio.device.loopback import LoopbackBackend


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def one(dut):
    p = rtl_parameters()
    backend = LoopbackBackend(p["NUM_QUEUES"])
    env = VirtioEnv(dut, backend, mem_size=1 << 20)
    await env.start()
    cocotb.start_soon(axi_log(dut, env))
    q0 = VioQueue("q0", 16, interrupts=False)
    drv = env.vio_driver([q0, VioQueue("q1", 8, interrupts=False)])
    await drv.init()
    env.say("init done")
    n = int(os.environ.get("DBG_N", "1"))
    bufs = []
    tfrs = []
    for i in range(n):
        rd = env.mem.alloc(16, 16)
        env.mem.write(rd, bytes(range(i, i + 16)))
        wr = env.mem.alloc(32, 16)
        t = VioTransfer(0, [(rd, 16, 0), (wr, 32, VIO_IOV_FLAGS_WRITE)])
        tfrs.append((t, wr))
        await drv.submit(t)
    env.say("submitted")
    for _ in range(200):
        await ClockCycles(dut.clk, 50)
        await drv.poll()
        if all(t.done for t, _ in tfrs):
            break
    for t, wr in tfrs:
        env.say(f"done={t.done} actual={t.actual} data={env.mem.read(wr, 32).hex()}")
    if not all(t.done for t, _ in tfrs):
        dump(dut)
    assert all(t.done for t, _ in tfrs)


def dump(dut):
    e = dut.engine_inst
    p = e.publish_inst
    w = e.dma_wr_inst
    c = e.complete_inst
    vals = {
        "pub a_wr/rd": (p.a_wr_reg.value, p.a_rd_reg.value), "pub b": (p.b_wr_reg.value, p.b_rd_reg.value),
        "pub c": (p.c_wr_reg.value, p.c_rd_reg.value), "g_valid": p.g_valid_reg.value, "g_need": p.g_need_reg.value,
        "im_valid": p.im_valid_reg.value, "c_busy": p.c_busy_reg.value,
        "st_seq": w.st_seq_reg.value, "st_acked": w.st_acked_reg.value, "im_seq": w.im_seq_reg.value, "im_acked": w.im_acked_reg.value,
        "bt wr/rd": (w.bt_wr_reg.value, w.bt_rd_reg.value), "outstanding": w.outstanding_reg.value,
        "st_active": w.st_active_reg.value, "st_drain": w.st_drain_reg.value,
        "comp state": c.state_reg.value, "c wr/rd": (c.c_wr_reg.value, c.c_rd_reg.value), "open": c.open_reg.value,
        "cmt state": e.commit_inst.state_reg.value,
        "wp": (w.wp_wr_reg.value, w.wp_rd_reg.value), "w_sent": w.w_sent_reg.value, "wvalid": dut.m_axi_wvalid.value,
        "awvalid": dut.m_axi_awvalid.value, "im_fifo_valid": w.im_fifo_valid.value, "st_fifo_valid": w.st_fifo_valid.value,
        "im_active": w.im_active_reg.value, "im_beat": (w.im_beat_reg.value, w.im_beats_reg.value),
    }
    for k, v in vals.items():
        print(f"  {k}: {v}")


async def axi_log(dut, env):
    beats = 0
    while True:
        await RisingEdge(dut.clk)
        if dut.m_axi_awvalid.value and dut.m_axi_awready.value:
            print(f"cycle {env.cycle} AW {int(dut.m_axi_awaddr.value):#x} len {int(dut.m_axi_awlen.value)}")
        if dut.m_axi_wvalid.value and dut.m_axi_wready.value:
            beats += 1
            if dut.m_axi_wlast.value:
                print(f"cycle {env.cycle} W burst of {beats} strb {int(dut.m_axi_wstrb.value):x}")
                beats = 0
        if dut.m_axi_bvalid.value and dut.m_axi_bready.value:
            print(f"cycle {env.cycle} B")


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def traffic(dut):
    import random
    from tb.test_virtio_mmio import LoopbackTraffic, loopback_queues, TIMEOUT_NS
    from vio.drivers.base import ClassDriver
    params = rtl_parameters()
    features = int(os.environ.get("DBG_FEATURES", "0"))
    backend = LoopbackBackend(params["NUM_QUEUES"])
    pause = float(os.environ.get("DBG_PAUSE", "0.2"))
    env = VirtioEnv(dut, backend, pause=pause or None, mem_latency=int(os.environ.get("DBG_LAT", "6")), seed=1 + features)
    await env.start()
    cocotb.start_soon(tok_log(dut, env))
    drv = ClassDriver(env.vio_driver(loopback_queues(params), features), timeout_ns=200_000)
    await drv.start()
    traffic = LoopbackTraffic(env.mem, random.Random(1000 + features))
    vio, rng = drv.vio, traffic.rng
    for r in range(6):
        batch = []
        for q in vio.queue:
            q.indirect = rng.choice((None, True, False))
            for _ in range(rng.randint(1, 3)):
                p = traffic.transfer(q.index, max_iov=min(6, q.num))
                await vio.submit(p.tfr)
                batch.append(p)
        env.say(f"round {r}: {len(batch)} posted: {[(p.tfr.queue, p.tfr.head, len(p.readable), [v.size for v in p.writable]) for p in batch]}")
        for _ in range(400):
            await ClockCycles(dut.clk, 100)
            await vio.poll()
            if all(p.tfr.done for p in batch):
                break
        else:
            env.say("timeout")
            for p in batch:
                env.say(f"  q{p.tfr.queue} head {p.tfr.head} done {p.tfr.done}")
            for q in vio.queue:
                lay = q.layout
                env.say(f"  q{q.index}: avail.idx {env.mem.read16(lay.avail_idx)} used.idx {env.mem.read16(lay.used_idx)} flags {env.mem.read16(lay.avail_flags)}")
            dump(dut)
            e = dut.engine_inst
            for name in ("fetch_idx_inst.active_reg", "fetch_head_inst.active_reg", "walk_inst.active_reg", "walk_inst.state_reg",
                         "sched_inst.kick_reg", "sched_inst.run_active_reg", "sched_inst.wait_space_reg", "commit_inst.discard_reg"):
                obj = e
                for part in name.split("."):
                    obj = getattr(obj, part)
                print(f"  {name}: {obj.value}")
            raise
        for p in batch:
            traffic.check(p)


KINDS = ["CHAIN", "SHADOW", "NOTHING", "ERROR", "YIELD", "ABORT", "RECHECK", "WAIT_SPACE"]


async def tok_log(dut, env):
    e = dut.engine_inst
    while True:
        await RisingEdge(dut.clk)
        if e.run_start_valid.value:
            print(f"cycle {env.cycle} RUN START q{int(e.run_start_q.value)}")
        if e.t2_valid.value and e.t2_ready.value:
            print(f"cycle {env.cycle} TOKEN {KINDS[int(e.t2_kind.value)]} q{int(e.t2_q.value)} val {int(e.t2_val.value)} data_read {int(e.t2_data_read.value)}")
        if e.run_end_valid.value:
            print(f"cycle {env.cycle} RUN END q{int(e.run_end_q.value)} kick {int(e.run_end_kick.value)}")
        if e.wk_valid.value and e.wk_ready.value:
            print(f"cycle {env.cycle} walk out {KINDS[int(e.wk_kind.value)]} q{int(e.wk_q.value)} val {int(e.wk_val.value)}")


@cocotb.test(timeout_time=40, timeout_unit="ms")
async def block(dut):
    import random
    from vio.device.block import BlockBackend
    from vio.drivers.block import BlockDriver
    from vio import constants as C
    ring = int(os.environ.get("DBG_FEATURES", "0"))
    rng = random.Random(1 + ring)
    sectors = 64
    disk = bytearray(rng.randbytes(sectors * C.SECTOR_SIZE))
    backend = BlockBackend(disk)
    env = VirtioEnv(dut, backend, pause=0.15, mem_latency=4, seed=1)
    await env.start()
    cocotb.start_soon(tok_log(dut, env))
    if os.environ.get("DUMP_AT"):
        cocotb.start_soon(dump_at(dut, env, int(os.environ["DUMP_AT"])))
    blk = env.class_driver(BlockDriver, ring_features=ring, seg_size=C.SECTOR_SIZE, queue_size=64, timeout_ns=300_000)
    await blk.start()
    for i in range(12):
        count = rng.randint(1, 8)
        sector = rng.randrange(sectors - count + 1)
        env.say(f"op {i}: {count} sectors at {sector}")
        try:
            if rng.random() < 0.5:
                await blk.write(sector, rng.randbytes(count * C.SECTOR_SIZE))
            else:
                await blk.read(sector, count)
        except Exception as err:
            env.say(f"failed: {err}")
            dump(dut)
            raise


async def dump_at(dut, env, cycle):
    await ClockCycles(dut.clk, cycle)
    env.say("DUMP")
    dump(dut)
    e = dut.engine_inst
    for name in ("commit_inst.state_reg", "commit_inst.m_axis_tvalid_reg", "dq_valid", "dq_count", "data_fetch_inst.state_reg",
                 "dma_rd_inst.data_active_reg", "dma_rd_inst.data_pending_reg", "dma_rd_inst.outstanding_reg", "dma_rd_inst.data_ar_beats_reg",
                 "complete_inst.state_reg", "complete_inst.open_reg", "dma_wr_inst.st_left_reg", "dma_wr_inst.st_acc_cnt_reg",
                 "dma_wr_inst.st_ended_reg", "dma_wr_inst.bq_count_reg", "dma_wr_inst.bq_err_reg", "dma_wr_inst.bt_head_kind", "dma_wr_inst.bt_empty", "dma_wr_inst.st_active_reg", "dma_wr_inst.st_drain_reg"):
        obj = e
        for part in name.split("."):
            obj = getattr(obj, part)
        print(f"  {name}: {obj.value}")
    print(f"  s_axis tvalid {dut.s_axis_tvalid.value} tready {dut.s_axis_tready.value} m_axis tvalid {dut.m_axis_tvalid.value} tready {dut.m_axis_tready.value}")


@cocotb.test(timeout_time=40, timeout_unit="ms")
async def hostile_one(dut):
    from tb.test_hostile_rtl import rtl_target
    from vio.hostile import SCENARIOS
    target = await rtl_target(dut)
    cocotb.start_soon(tok_log(dut, target.env))
    cocotb.start_soon(axi_log(dut, target.env))
    if os.environ.get("DUMP_AT"):
        cocotb.start_soon(dump_at(dut, target.env, int(os.environ["DUMP_AT"])))
    await SCENARIOS[os.environ["SCEN"]].run(target)


@cocotb.test(timeout_time=2000, timeout_unit="ms")
async def fuzz_dbg(dut):
    from tb.test_hostile_rtl import rtl_target
    from vio.hostile.fuzz import FuzzRun
    target = await rtl_target(dut)
    if os.environ.get("TOKLOG"):
        cocotb.start_soon(tok_log(dut, target.env))
    if os.environ.get("STREAMLOG"):
        cocotb.start_soon(stream_log(dut, target.env, int(os.environ["STREAMLOG"])))
    first, count = int(os.environ.get("SEED0", "1")), int(os.environ.get("NSEEDS", "3"))
    for seed in range(first, first + count):
        run = FuzzRun(seed, target)
        try:
            await run.run()
        except AssertionError as err:
            target.env.say(f"seed {seed}: {str(err)[:500]}")
            dump(dut)
            e = dut.engine_inst
            for name in ("fetch_idx_inst.active_reg", "fetch_head_inst.active_reg", "walk_inst.active_reg", "walk_inst.state_reg",
                         "sched_inst.kick_reg", "sched_inst.run_active_reg", "sched_inst.wait_space_reg", "commit_inst.discard_reg",
                         "commit_inst.state_reg", "t1_valid", "t2_valid", "df_idle", "cmt_idle", "complete_idle", "publish_idle",
                         "ring_req_valid_reg", "rd_busy", "wr_idle", "flush_reg", "sched_pending", "fetch_free", "idle",
                         "walk_inst.ended_reg", "walk_inst.up_done_reg", "walk_inst.first_pend_reg", "walk_inst.chunk_left_reg",
                         "fetch_head_inst.ended_reg", "fetch_head_inst.up_done_reg", "fetch_idx_inst.ended_reg", "fetch_idx_inst.rd_out_reg"):
                obj = e
                for part in name.split("."):
                    obj = getattr(obj, part)
                print(f"  {name}: {obj.value}")
            raise
        target.env.say(f"seed {seed} ok")


async def stream_log(dut, env, start):
    e = dut.engine_inst
    c = e.complete_inst
    w = e.dma_wr_inst
    await ClockCycles(dut.clk, start)
    prev = None
    for _ in range(3000):
        await RisingEdge(dut.clk)
        line = []
        if dut.s_axis_tvalid.value and dut.s_axis_tready.value:
            line.append(f"s_axis beat dest {int(dut.s_axis_tdest.value)} last {int(dut.s_axis_tlast.value)} keep {int(dut.s_axis_tkeep.value):x}")
        if c.st_req_valid.value and c.st_req_ready.value:
            line.append(f"st_req drain {int(c.st_req_drain.value)} start {int(c.st_req_start.value)} len {int(c.st_req_len.value)}")
        if w.st_rsp_valid.value:
            line.append(f"st_rsp count {int(w.st_rsp_count.value)} drain {int(w.st_rsp_drain.value)}")
        state = (int(c.state_reg.value), int(c.open_reg.value), int(c.c_wr_reg.value), int(c.c_rd_reg.value), int(e.flush.value), int(w.st_active_reg.value), int(w.st_ended_reg.value), int(dut.s_axis_tvalid.value))
        if state != prev:
            line.append(f"complete state/open/cwr/crd/flush/st_active/st_ended/s_tvalid {state}")
            prev = state
        if line:
            print(f"cycle {env.cycle} " + "; ".join(line))


async def window_log(dut, start, end):
    e = dut.engine_inst
    while True:
        await RisingEdge(dut.clk)
        cyc = int(cocotb.utils.get_sim_time(unit="ns")) // 10
        if cyc < start:
            continue
        if cyc > end:
            return
        out = []
        if dut.m_axi_awvalid.value and dut.m_axi_awready.value:
            out.append(f"AW {int(dut.m_axi_awaddr.value):#x} len {int(dut.m_axi_awlen.value)}")
        if dut.m_axi_bvalid.value and dut.m_axi_bready.value:
            out.append("B")
        if dut.m_axi_arvalid.value and dut.m_axi_arready.value:
            out.append(f"AR {int(dut.m_axi_araddr.value):#x} len {int(dut.m_axi_arlen.value)}")
        if dut.m_axi_rvalid.value and dut.m_axi_rready.value and dut.m_axi_rlast.value:
            out.append("RLAST")
        if e.irq_rd_valid.value:
            out.append(f"irq_rd_valid ready {int(e.irq_rd_ready.value)}")
        if e.irq_rsp_valid.value:
            out.append(f"irq_rsp {int(e.irq_rsp_data.value):#x}")
        if e.irq_vring.value:
            out.append("IRQ_VRING")
        p = e.publish_inst
        out.append(f"c wr/iss/rd {int(p.c_wr_reg.value)}/{int(p.c_iss_reg.value)}/{int(p.c_rd_reg.value)} im_acked {int(p.im_acked.value)} irq {int(dut.irq.value)}")
        print(f"cyc {cyc}: " + "; ".join(out))


@cocotb.test(timeout_time=500, timeout_unit="ms")
async def sb_clean(dut):
    from tb import test_scoreboards as T
    cocotb.start_soon(window_log(dut, int(os.environ.get("W0", "16900")), int(os.environ.get("W1", "17050"))))
    await T.test_clean_random_traffic.func(dut)
