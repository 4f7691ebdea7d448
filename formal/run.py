"""Bounded proofs of the virtio-mmio RTL (issue 5, "Formal"); `make formal`.

Yosys builds the netlist of formal/virtio_mmio_props.sv around the top
virtio_mmio (small parameters) once, with every property in it; each
property group keeps its own assertions (by label, or by file for the write
invariant in hdl/) and becomes an AIGER model that ABC's bmc3 (the SAT-based
bounded model checker shipped with Yosys as yosys-abc) searches for a
violation up to the group's depth. A counterexample is replayed by Yosys'
`sim` into a VCD.

A group starts from reset, or from a state on the first chain's way through
the ring engine (STARTS): the set-up sequencer of formal/virtio_mmio_setup.v
(the driver's set-up, one chain in memory, an answer) is simulated from reset
to the start's event, and that cycle's state is the model's initial state;
from there every input is free again (docs/formal.md says what this covers).

Witness groups ("cover") turn a reachability goal into "never reached" and
expect bmc3 to refute it within the depth: a request packet, answer bytes on
W, a used.idx write, an interrupt.

Mutations apply a named one-line change to a copy of hdl/ and expect the
group that covers that behaviour to find a counterexample.

    python formal/run.py                 # every group (make formal)
    python formal/run.py --quick         # the subset run by tests/test_formal.py
    python formal/run.py --mutations     # the mutation table too
    python formal/run.py --group axi --depth 12 --keep build/formal
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the RTL sources, relative to hdl/, from its file list (the one place to add a file)
HDL_FILES = [line.strip() for line in (ROOT / "hdl" / "virtio_mmio.f").read_text().splitlines() if line.strip()]
PROPS = ROOT / "formal" / "virtio_mmio_props.sv"
SETUP = ROOT / "formal" / "virtio_mmio_setup.v"
SOLVER = "abc bmc3"

# the write invariant: the assertions of these hdl/ files
HDL_ASSERT_FILES = ["virtio_mmio_complete.v", "virtio_mmio_publish.v", "virtio_mmio_engine.v",
                    "virtio_mmio_dma_wr.v"]
# formal-only wires tied to engine signals after flattening (Yosys 0.23 reads
# no hierarchical names): the completion unit checks each answer write
# against what the walk wrote into the segment slot; the wrapper's witnesses
# and start states look at a few engine signals
ENGINE = "dut.engine_inst"
FORMAL_TIES = [(f"{ENGINE}.complete_inst.f_walk_seg_{n}", f"{ENGINE}.walk_inst.f_seg_{n}")
               for n in ("w", "ptr", "head", "data")] + [
    ("f_tie_pop", f"{ENGINE}.commit_inst.pop_valid"),
    ("f_tie_w_from_im", f"{ENGINE}.dma_wr_inst.f_w_from_im"),
    ("f_tie_im_valid_next", f"{ENGINE}.publish_inst.im_valid_next"),
    ("f_tie_im_kind_next", f"{ENGINE}.publish_inst.im_kind_next"),
    ("f_tie_im_valid", f"{ENGINE}.publish_inst.im_valid_reg"),
    ("f_tie_im_kind", f"{ENGINE}.publish_inst.im_kind_reg"),
    ("f_tie_im_ready", f"{ENGINE}.publish_inst.im_ready"),
    ("f_tie_irq_vring", f"{ENGINE}.publish_inst.irq_vring"),
]
# start states: the first cycle in which the wrapper's f_start_<name> is high
# when the set-up sequencer drives the inputs from reset (the second chain's way)
STARTS = {
    "pop": "the commit stage pops the second chain",
    "publish": "the publisher asks for its used element",
    "used_idx": "the publisher asks for its used.idx write",
}
SETUP_MAX_CYCLES = 400

# the property sets a group keeps (wrapper labels, the write invariant in hdl/,
# or the units' own invariants: the hdl/ assertions labelled inv_*)
WRITES = "writes"
UNITS = "units"
UNIT_INVARIANTS = "c:*.inv_*"
EVERY = ["lite", "axi", "stream", WRITES, UNITS]


@dataclass
class Group:
    name: str
    what: str
    depth: int
    checks: list[str]               # label prefixes of the wrapper (lite, axi, ...), WRITES or UNITS
    witness: str = ""               # a cover_* label: expect it reached
    quick_depth: int = 0            # depth in the quick subset (0: not run)
    start: str = "reset"            # the initial state: reset, or a key of STARTS


GROUPS = [
    Group("lite", "AXI4-Lite slave: B/R stable until ready, one response per request, reset",
          depth=20, checks=["lite"]),
    Group("axi", "AXI4 master: AR/AW/W stable, INCR/size/len, no 4 KiB crossing, WLAST, "
          "W beats = AWLEN+1, outstanding bounded, reset",
          depth=40, checks=["axi"]),
    Group("stream", "m_axis/config port stable until ready, tdest/tuser per packet, reset",
          depth=32, checks=["stream"]),
    Group("writes", "writes only inside the used ring or a writable buffer of the chain "
          "completed (walk + completion + publisher + commit's avail_event + DMA write engine)",
          depth=36, checks=[WRITES]),
    Group("units", "the units' invariants their decisions rely on (walk: token register "
          "free while a chain is walked, a read not taken has descriptors to come; fetch_idx: "
          "heads fit the entry FIFO, no read in flight after the run's end; DMA read engine: "
          "the registered data credit and RREADY, the request queues' head entries; DMA write "
          "engine: no done mark on the immediate path, W finds its beat, the registered "
          "B-tracker full and beats check, an empty accumulator at a new answer; head stage: "
          "the registered full tests; commit: the recheck's registered head-in-flight test, "
          "data_ready, the avail_event offer, m_axis's payload; fetch_idx: the budget's zero "
          "register; the FIFOs' count registers; the publisher's head entries; the fetch units' "
          "ring registers; the units' copies of flush and halt)",
          depth=36, checks=[UNITS]),
    # every assertion in one model: the quick subset of make test
    Group("all", "every group above in one model (tests/test_formal.py)",
          depth=0, checks=EVERY, quick_depth=16),
    # every assertion, from the states on the second chain's way (STARTS)
    Group("chain-pop", "every group above, from the chain's pop (request packet, avail_event, "
          "answer into the writable buffer)", depth=24, checks=EVERY, start="pop"),
    Group("chain-publish", "every group above, from its used element's write request",
          depth=22, checks=EVERY, start="publish"),
    Group("chain-used-idx", "every group above, from its used.idx write request (interrupt)",
          depth=22, checks=EVERY, start="used_idx"),
    # witnesses from the same states, with a memory and a backend that cooperate
    Group("cover-request", "witness: the chain's request packet ended on m_axis",
          depth=24, checks=[], witness="cover_request", start="pop"),
    Group("cover-buffer", "witness: answer bytes written into the writable buffer",
          depth=24, checks=[], witness="cover_buffer", start="pop"),
    Group("cover-used", "witness: the chain completed (used.idx written)",
          depth=22, checks=[], witness="cover_used", start="publish"),
    Group("cover-irq", "witness: a vring interrupt raised",
          depth=22, checks=[], witness="cover_irq", start="used_idx"),
]


@dataclass
class Mutation:
    name: str
    group: str
    file: str
    old: str
    new: str


# each breaks one behaviour a group checks; the group must then fail
MUTATIONS = [
    Mutation("awvalid-drops-before-awready", "chain-pop", "virtio_mmio_dma_wr.v",
             "m_axi_awvalid_next = m_axi_awvalid_reg && !m_axi_awready;",
             "m_axi_awvalid_next = 1'b0;"),
    Mutation("wlast-never", "chain-pop", "virtio_mmio_dma_wr.v",
             "m_axi_wlast_next = w_sent_reg + 9'd1 == wp_head_len;",
             "m_axi_wlast_next = 1'b0;"),
    Mutation("burst-one-beat-longer", "chain-pop", "virtio_mmio_dma_wr.v",
             "m_axi_awlen_next = im_burst_len[7:0] - 8'd1;",
             "m_axi_awlen_next = im_burst_len[7:0];"),
    Mutation("read-crosses-4k", "axi", "virtio_mmio_dma_rd.v",
             "    ring_burst = burst_of(ring_4k, {16'd0, ring_ar_beats_reg});",
             "    ring_burst = burst_of(13'h1000, {16'd0, ring_ar_beats_reg});"),
    Mutation("awvalid-survives-reset", "axi", "virtio_mmio_dma_wr.v",
             "        m_axi_awvalid_reg <= 1'b0;\n",
             ""),
    Mutation("axil-bvalid-drops", "lite", "virtio_mmio_regs.v",
             "s_axil_bvalid_next = s_axil_bvalid_reg && !s_axil_bready;",
             "s_axil_bvalid_next = 1'b0;"),
    Mutation("m_axis-tvalid-drops", "chain-pop", "virtio_mmio_commit.v",
             "m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;",
             "m_axis_tvalid_next = 1'b0;"),
    Mutation("avail-event-past-used-ring", "chain-pop", "virtio_mmio_commit.v",
             "ae_pop_addr = cfg_used + 4 + {",
             "ae_pop_addr = cfg_used + 6 + {"),
    Mutation("used-element-past-used-ring", "chain-publish", "virtio_mmio_publish.v",
             "elem_addr_of = q_used_addr[q*ADDR_WIDTH +: ADDR_WIDTH] + 4",
             "elem_addr_of = q_used_addr[q*ADDR_WIDTH +: ADDR_WIDTH] + 8"),
    Mutation("answer-into-readable-segment", "chain-pop", "virtio_mmio_complete.v",
             "wire [SPP_W-1:0] if_e_wfirst = if_rdata[3*SPP_W-1 -: SPP_W];",
             "wire [SPP_W-1:0] if_e_wfirst = if_rdata[3*SPP_W-1 -: SPP_W] - 1'b1;"),
    Mutation("answer-one-byte-past-segment", "chain-pop", "virtio_mmio_complete.v",
             "st_req_len_next = seg_rdata[31:0];",
             "st_req_len_next = seg_rdata[31:0] + 32'd1;"),
    Mutation("write-one-byte-past-request", "chain-pop", "virtio_mmio_dma_wr.v",
             "st_left_next = st_q_drain ? 32'd0 : st_q_len;",
             "st_left_next = st_q_drain ? 32'd0 : st_q_len + 32'd1;"),
    # a token emitted as the walk takes a chain: the token register is busy
    # in the states that no longer wait for it (a units invariant)
    Mutation("walk-token-while-walking", "chain-pop", "virtio_mmio_walk.v",
             "                            wlen_next = 32'd0;\n                            state_next = S_CHECK;\n",
             "                            wlen_next = 32'd0;\n                            state_next = S_CHECK;\n"
             "                            emit = 1'b1;\n                            emit_kind = K_SHADOW;\n"),
    # registers that replaced a lookup for Fmax (units invariants): the walk's
    # segment tail loaded only at a run's start; the queue size loaded wrong
    Mutation("walk-tail-only-at-start", "chain-pop", "virtio_mmio_engine.v",
             "    walk_tail_reg <= k_seg_tail[walk_tail_q*SPP_W +: SPP_W];",
             "    if (run_start_valid) walk_tail_reg <= k_seg_tail[walk_tail_q*SPP_W +: SPP_W];"),
    Mutation("fetch-num-wrong", "chain-pop", "virtio_mmio_engine.v",
             "        fetch_num <= q_num[run_start_q*16 +: 16];",
             "        fetch_num <= q_num[run_start_q*16 +: 16] >> 1;"),
    # the DMA engines' registered checks (units invariants): the read credit
    # not charged for a data burst issued; the B tracker full after one push
    Mutation("rd-credit-not-charged", "chain-pop", "virtio_mmio_dma_rd.v",
             "    credit_slack_reg <= issue_data ? slack_issued : slack_kept;",
             "    credit_slack_reg <= slack_kept;"),
    Mutation("wr-tracker-full-early", "chain-pop", "virtio_mmio_dma_wr.v",
             "        bt_full_reg <= bt_count == BT[BT_W:0] - 1'b1;",
             "        bt_full_reg <= bt_count == {(BT_W+1){1'b0}};"),
    # more registers that replaced a decision's arithmetic (units invariants):
    # the ring slot's mask; RREADY still high once the last burst is in
    Mutation("fetch-mask-wrong", "chain-pop", "virtio_mmio_engine.v",
             "        fetch_num_mask <= q_num[run_start_q*16 +: 16] - 16'd1;",
             "        fetch_num_mask <= q_num[run_start_q*16 +: 16];"),
    Mutation("rd-rready-after-last-burst", "chain-pop", "virtio_mmio_dma_rd.v",
             "        && (burst_push || (burst_pop ? !burst_one : !burst_empty));",
             "        && (burst_push || !burst_empty);"),
    # the write planner's registered beats check always passed (an AW before its data)
    Mutation("planner-avail-ok-always", "chain-pop", "virtio_mmio_wr_planner.v",
             "    avail_ok_reg <= avail_ok_next[{take, beat_pushed}];",
             "    avail_ok_reg <= 1'b1;"),
    # a unit's copy of flush a cycle behind the others
    Mutation("flush-copy-late", "chain-pop", "virtio_mmio_engine.v",
             "always @(posedge clk) flush_wr_reg <= flush_next;",
             "always @(posedge clk) flush_wr_reg <= flush;"),
    # the eighth step's registers (units invariants): the read engine's head
    # entry loaded from the wrong one of the two slots; the write realigner's
    # accumulator left unknown by a reset (a new answer no longer clears it)
    Mutation("rd-head-first-n-wrong", "chain-pop", "virtio_mmio_dma_rd.v",
             "    ring_h_first_n <= ring_q_adv ? ring_q_first_n[ring_q_rd1_i] : ring_q_first_n[ring_q_rd_i];",
             "    ring_h_first_n <= ring_q_adv ? ring_q_first_n[ring_q_rd_i] : ring_q_first_n[ring_q_rd1_i];"),
    Mutation("wr-acc-not-reset", "chain-pop", "virtio_mmio_dma_wr.v",
             "    if (rst) begin\n        st_active_reg <= 1'b0;\n        st_ended_reg <= 1'b0;\n        st_acc_reg <= {2*DW{1'b0}};\n",
             "    if (rst) begin\n        st_active_reg <= 1'b0;\n        st_ended_reg <= 1'b0;\n"),
    # the ninth step's registers (units invariants): the publisher's head entry
    # never taken from a push into an empty stage A; m_axis's payload without
    # the data's tlast (a packet never ends); a FIFO count that misses the
    # entries leaving
    Mutation("publish-a-head-no-bypass", "chain-pop", "virtio_mmio_publish.v",
             "    if (a_push && (a_pop ? a_wr_reg[PD_W-1:0] == a_i1 : a_empty)) begin",
             "    if (a_push && a_pop && a_wr_reg[PD_W-1:0] == a_i1) begin"),
    Mutation("axis-tlast-dropped", "chain-pop", "virtio_mmio_commit.v",
             "m_axis_tlast_next = pl_null || data_last;",
             "m_axis_tlast_next = pl_null;"),
    Mutation("fifo-count-misses-leave", "chain-pop", "virtio_mmio_fifo.v",
             "    end else if (leave && !push) begin",
             "    end else if (leave && push) begin"),
    # the tenth step's (units invariants): a stream request that finishes
    # while its answer's bytes are still held; stage A never empty again;
    # the publisher's answered flag deaf to an acknowledgement; the immediate
    # write's payload from the stage not chosen; the B tracker's head never
    # taken from a push into an empty tracker
    Mutation("wr-finish-with-bytes-held", "chain-pop", "virtio_mmio_dma_wr.v",
             "st_finish = !st_left_nz_reg || (st_ended_reg && st_acc_cnt_reg == 0);",
             "st_finish = !st_left_nz_reg || st_ended_reg;"),
    Mutation("publish-a-never-empties", "chain-pop", "virtio_mmio_publish.v",
             "        a_any_reg <= a_count != {{PD_W{1'b0}}, 1'b1};",
             "        a_any_reg <= 1'b1;"),
    Mutation("publish-acked-late", "chain-pop", "virtio_mmio_publish.v",
             "g_wait_next = acked_catch_up ? g_wait_jump : im_acked_inc ? g_wait_inc : g_wait_keep;",
             "g_wait_next = acked_catch_up ? g_wait_jump : g_wait_keep;"),
    Mutation("publish-payload-swapped", "chain-pop", "virtio_mmio_publish.v",
             "        if (b_pub_ok) begin",
             "        if (!b_pub_ok) begin"),
    Mutation("wr-tracker-head-no-bypass", "chain-pop", "virtio_mmio_dma_wr.v",
             "    if (bt_push && (clear_reg || (bt_pop ? bt_wr_reg[BT_W-1:0] == bt_head1 : bt_empty))) begin",
             "    if (bt_push && (clear_reg || (bt_pop && bt_wr_reg[BT_W-1:0] == bt_head1))) begin"),
]


@dataclass
class Result:
    group: str
    depth: int
    status: str          # PASS (no violation up to depth), FAIL (counterexample), REACHED, UNREACHED, ERROR
    seconds: float
    frame: int | None = None
    trace: Path | None = None
    detail: str = ""
    setup_cycle: int | None = None   # FAIL on the set-up's trace, at this cycle from reset


# the wrapper's input ports (the model's inputs; the set-up sequencer has an output of each name)
INPUTS = [n for n in re.findall(r"^\s*input\s+wire\s+(?:\[[^\]]*\]\s+)?(\w+)", PROPS.read_text(), re.M)
          if n != "clk"]
_SIM_FAILED_RE = re.compile(r"^(?:Warning: )?(Assert|Assumption) (\S+) .*failed", re.M)
# Yosys's sim counts clock edges: two a cycle
_SIM_EDGE_RE = re.compile(r"^Co-simulating cycle (\d+) ", re.M)


class SetupAssertionFailed(RuntimeError):
    """An assertion failed on the set-up's trace (every assumption held up to
    there): a counterexample found by simulation, before the start state."""

    def __init__(self, label: str, cycle: int, vcd: Path):
        super().__init__(f"assertion {label} failed in the set-up at cycle {cycle} (trace {vcd})")
        self.cycle, self.vcd = cycle, vcd


def _yosys(out: Path, name: str, lines: list[str]) -> str:
    """Run a Yosys script (kept as out/name.ys, its log as out/name.log)."""
    out.mkdir(parents=True, exist_ok=True)
    ys = out / f"{name}.ys"
    ys.write_text("\n".join(lines) + "\n")
    log = out / f"{name}.log"
    proc = subprocess.run(["yosys", "-q", "-l", str(log), str(ys)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys {ys} failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return log.read_text()


def build_netlist(hdl_dir: Path, out: Path) -> Path:
    """The flattened gate-level netlist with every property in it: out/netlist.il."""
    netlist = out / "netlist.il"
    hdl = " ".join(str(hdl_dir / f) for f in HDL_FILES)
    lines = [
        f"read_verilog -formal -I{hdl_dir} {hdl}",
        f"read_verilog -formal -sv {PROPS}",
        f"read_verilog -formal {SETUP}",
        "hierarchy -check -top virtio_mmio_props",
        "proc",
        "flatten",
    ]
    lines += [f"connect -set {wire} {signal}" for wire, signal in FORMAL_TIES]
    lines += [
        "prep -top virtio_mmio_props",
        "memory_map",
        # light optimisation before ABC (opt -full and opt after techmap took
        # twice the time for a model of about the same size)
        "opt -fast -mux_undef",
        "setundef -zero",
        "async2sync",
        "chformal -assume -early",
        "techmap",
        "abc -fast",
        "opt_clean",
        "delete -output",
        "dffunmap",
        f"write_rtlil {netlist}",
    ]
    _yosys(out, "netlist", lines)
    return netlist


def _first_high(vcd: Path, signal: str) -> int | None:
    """The first cycle in which a 1-bit signal of the VCD is 1 (10 time units a cycle)."""
    ident, time_now = None, 0
    for line in vcd.read_text().splitlines():
        if ident is None:
            parts = line.split()
            if line.startswith("$var") and parts[4] == signal:
                ident = parts[3]
        elif line.startswith("#"):
            time_now = int(line[1:])
        elif line in (f"1{ident}", f"b1 {ident}"):
            return time_now // 10
    return None


def probe_setup(netlist: Path, out: Path) -> tuple[Path, dict[str, int]]:
    """The set-up with every input tied to the sequencer: its inputs (an FST
    to replay) and the cycle of each start state."""
    fst, vcd = out / "probe.fst", out / "probe.vcd"
    _yosys(out, "probe", [f"read_rtlil {netlist}"]
           + [f"connect -set {port} setup.{port}" for port in INPUTS]
           + [f"sim -clock clk -n {SETUP_MAX_CYCLES} -vcd {vcd} -fst {fst} virtio_mmio_props"])
    cycles = {}
    for name, event in STARTS.items():
        cycle = _first_high(vcd, f"f_start_{name}")
        if cycle is None:
            raise RuntimeError(f"the set-up did not reach its start state {name} ({event}) "
                               f"within {SETUP_MAX_CYCLES} cycles (see {vcd})")
        cycles[name] = cycle
    return fst, cycles


def start_netlist(netlist: Path, fst: Path, cycles: int, out: Path) -> Path:
    """The netlist with the state of the set-up's cycle `cycles` as its initial state.

    The untouched netlist replays the inputs the sequencer gave (so any
    design, a mutated one too, gets a legal trace: every assumption is
    checked on the way) and keeps the state reached."""
    start = out / "start.il"
    text = _yosys(out, "start", [
        f"read_rtlil {netlist}",
        f"sim -clock clk -r {fst} -scope virtio_mmio_props -n {cycles} -w "
        f"-vcd {out / 'setup.vcd'} virtio_mmio_props",
        f"write_rtlil {start}",
    ])
    # every assumption and assertion holds on the way (the replay's first
    # sample, before any input is applied, is not checked; the witnesses are
    # reached on the way, as they should be): a broken assumption is an
    # error, a broken assertion a counterexample on a legal trace
    for m in _SIM_FAILED_RE.finditer(text, text.index("Co-simulating cycle 1 ")):
        if ".cover_" not in m.group(2):
            # a wrapper label, or an hdl/ assertion named by its file and line
            src = re.search(r"(\w+\.s?v:\d+)\$\d+$", m.group(2))
            label = src.group(1) if src else m.group(2).removeprefix("virtio_mmio_props.")
            if m.group(1) == "Assert":
                edge = int(list(_SIM_EDGE_RE.finditer(text, 0, m.start()))[-1].group(1))
                raise SetupAssertionFailed(label, edge // 2, out / "setup.vcd")
            raise RuntimeError(f"assumption {label} failed during the set-up (see {out / 'setup.vcd'})")
    return start


def _keep_only(kind: str, keep: str) -> str:
    """chformal removing every $kind cell but the selection `keep` (in Yosys's stack notation)."""
    return f"chformal -{kind} -remove t:${kind} {keep} %d"


def build_model(netlist: Path, group: Group, out: Path) -> None:
    """out/design.aig (and design.il, design.aim): the group's properties only."""
    keep = [f"c:{c}_*" for c in group.checks if c not in (WRITES, UNITS)]
    if WRITES in group.checks:
        # (the invariants of those files are the units group's)
        files = [f"a:src=*{f}*" for f in HDL_ASSERT_FILES]
        keep.append(" ".join(files) + " %u" * (len(files) - 1) + f" {UNIT_INVARIANTS} %d")
    if UNITS in group.checks:
        keep.append(UNIT_INVARIANTS)
    if group.witness:
        keep.append(f"c:{group.witness}")
    keep_sel = " ".join(keep) + " %u" * (len(keep) - 1)
    # the cooperative memory and backend are the witnesses' only; the driver
    # leaves the registers alone only after a set-up
    drop = [] if group.witness else ["c:coop_*"]
    if group.start == "reset":
        drop.append("c:setup_*")
    lines = [f"read_rtlil {netlist}", _keep_only("assert", keep_sel)]
    if drop:
        lines.append(f"chformal -assume -remove {' '.join(drop)}" + " %u" * (len(drop) - 1))
    lines += [
        # the sequencer and the start events go (the sequencer's `done` stays
        # where an assumption reads it)
        "setattr -unset keep w:setup.* w:f_start_* w:f_tie_*",
        "opt_clean",
        f"write_rtlil {out / 'design.il'}",
        "aigmap",
        f"write_aiger -I -B -zinit -no-startoffset -map {out / 'design.aim'} {out / 'design.aig'}",
    ]
    _yosys(out, "model", lines)
    _check_inputs(out)


def _check_inputs(out: Path) -> None:
    """Every input port of the wrapper is a free input of the model."""
    n_inputs = int((out / "design.aig").open("rb").readline().split()[2])
    found = set()
    for line in (out / "design.aim").read_text().splitlines():
        kind, index, bit, name = line.split()
        if kind == "input" and name in INPUTS:
            if int(index) >= n_inputs:
                raise RuntimeError(f"input {name}[{bit}] is not a free input of {out / 'design.aig'}")
            found.add(name)
    missing = sorted(set(INPUTS) - found)
    if missing:
        raise RuntimeError(f"inputs missing from {out / 'design.aig'}: {missing}")


_FAIL_RE = re.compile(r"Output\s+(\d+)\s+of miter .* was asserted in frame\s+(\d+)")
_PASS_RE = re.compile(r"No output asserted in\s+(\d+)\s+frames")


def bmc(out: Path, depth: int) -> tuple[str, int | None, str]:
    """Run bmc3 on out/design.aig; ('FAIL', frame) or ('PASS', None)."""
    cex = out / "trace.aiw"
    if cex.exists():
        cex.unlink()
    cmd = (f"read_aiger {out / 'design.aig'}; fold; strash; "
           f"bmc3 -v -F {depth}; write_cex -a {cex}")
    proc = subprocess.run(["yosys-abc", "-c", cmd], capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    (out / "abc.log").write_text(text)
    m = _FAIL_RE.search(text)
    if m:
        return "FAIL", int(m.group(2)), text
    m = _PASS_RE.search(text)
    if m and int(m.group(1)) >= depth:
        return "PASS", None, text
    return "ERROR", None, text


def trace_vcd(out: Path) -> Path | None:
    """Replay the counterexample on the netlist the AIGER model came from."""
    # ABC writes the witness of the model as it simplified it (fold drops
    # latches): its first line, the latches' initial values, is put back to
    # the model's own, all zero (write_aiger -zinit; a register's free
    # initial value is an input of the first frame)
    aiw = out / "trace.aiw"
    n_latches = int((out / "design.aig").open("rb").readline().split()[3])
    lines = aiw.read_text().split("\n")
    lines[0] = "0" * n_latches
    aiw.write_text("\n".join(lines))
    vcd = out / "trace.vcd"
    script = (f"read_rtlil {out / 'design.il'}; "
              f"sim -clock clk -r {aiw} -map {out / 'design.aim'} "
              f"-zinit -vcd {vcd} virtio_mmio_props")
    proc = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
    return vcd if proc.returncode == 0 and vcd.exists() else None


class Design:
    """One hdl/ directory: its netlist and start states, each built once per
    run. A mutated design replays the set-up inputs of the unmutated one
    (`probe`), so that its start states are those cycles of a legal trace."""

    def __init__(self, hdl_dir: Path, workdir: Path, probe: tuple[Path, dict[str, int]] | None = None):
        self.hdl_dir, self.workdir, self._probe = hdl_dir, workdir, probe
        self._netlist: Path | None = None
        self._starts: dict[str, Path] = {}

    def netlist(self) -> Path:
        if self._netlist is None:
            self._netlist = build_netlist(self.hdl_dir, self.workdir / "netlist")
        return self._netlist

    def probe(self) -> tuple[Path, dict[str, int]]:
        if self._probe is None:
            self._probe = probe_setup(self.netlist(), self.workdir / "probe")
            print("start states (cycle from reset): "
                  + ", ".join(f"{name} {cycle}" for name, cycle in self._probe[1].items()), flush=True)
        return self._probe

    def start(self, name: str) -> Path:
        if name == "reset":
            return self.netlist()
        if name not in self._starts:
            fst, cycles = self.probe()
            self._starts[name] = start_netlist(self.netlist(), fst, cycles[name], self.workdir / f"start-{name}")
        return self._starts[name]


def run_group(group: Group, depth: int, design: Design, want_trace: bool = True) -> Result:
    out = design.workdir / group.name
    t0 = time.monotonic()
    try:
        build_model(design.start(group.start), group, out)
        status, frame, text = bmc(out, depth)
    except SetupAssertionFailed as exc:
        return Result(group.name, depth, "FAIL", time.monotonic() - t0, trace=exc.vcd,
                      detail=str(exc), setup_cycle=exc.cycle)
    except RuntimeError as exc:
        return Result(group.name, depth, "ERROR", time.monotonic() - t0, detail=str(exc))
    seconds = time.monotonic() - t0
    trace = trace_vcd(out) if status == "FAIL" and want_trace else None
    if group.witness:
        status = {"FAIL": "REACHED", "PASS": "UNREACHED"}.get(status, status)
    detail = "" if status != "ERROR" else text[-1500:]
    return Result(group.name, depth, status, seconds, frame, trace, detail)


def ok(group: Group, result: Result) -> bool:
    return result.status == ("REACHED" if group.witness else "PASS")


def mutated(mut: Mutation, src: str) -> str:
    """The source of mut.file with the mutation applied (its text must occur exactly once)."""
    if src.count(mut.old) != 1:
        raise ValueError(f"mutation {mut.name}: the text to replace occurs "
                         f"{src.count(mut.old)} times in hdl/{mut.file}, expected once")
    return src.replace(mut.old, mut.new)


def run_mutation(mut: Mutation, workdir: Path, depth: int | None = None, base: Design | None = None,
                 want_trace: bool = False) -> Result:
    """Apply one mutation to a copy of hdl/ and run its group (expect FAIL).

    A group from a start state replays the set-up inputs of `base` (the
    unmutated design) if given."""
    mut_dir = workdir / f"mut-{mut.name}"
    hdl_copy = mut_dir / "hdl"
    if hdl_copy.exists():
        shutil.rmtree(hdl_copy)
    shutil.copytree(ROOT / "hdl", hdl_copy)
    (hdl_copy / mut.file).write_text(mutated(mut, (hdl_copy / mut.file).read_text()))
    group = next(g for g in GROUPS if g.name == mut.group)
    t0 = time.monotonic()
    try:
        probe = base.probe() if base is not None and group.start != "reset" else None
    except RuntimeError as exc:
        return Result(group.name, depth or group.depth, "ERROR", time.monotonic() - t0, detail=str(exc))
    result = run_group(group, depth or group.depth, Design(hdl_copy, mut_dir, probe), want_trace)
    result.seconds += time.monotonic() - t0
    return result


def _where(r: Result) -> str:
    """Where a counterexample is: a bmc frame, or a cycle of the set-up's trace."""
    if r.setup_cycle is not None:
        return f"set-up cycle {r.setup_cycle}"
    return "" if r.frame is None else f"frame {r.frame}"


def table(rows: list[list[str]], head: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the quick subset (make test)")
    ap.add_argument("--group", action="append", help="only this group (repeatable)")
    ap.add_argument("--depth", type=int, help="override the depth")
    ap.add_argument("--mutations", action="store_true", help="also run the mutation table")
    ap.add_argument("--only-mutations", action="store_true", help="only the mutation table")
    ap.add_argument("--mutation", action="append", help="only this mutation (repeatable)")
    ap.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    args = ap.parse_args(argv)

    for tool in ("yosys", "yosys-abc"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found (Debian package yosys)", file=sys.stderr)
            return 2

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="formal-"))
    workdir.mkdir(parents=True, exist_ok=True)
    design = Design(ROOT / "hdl", workdir)
    failed = False

    if not args.only_mutations:
        rows = []
        for g in GROUPS:
            if args.group and g.name not in args.group:
                continue
            depth = args.depth or (g.quick_depth if args.quick else g.depth)
            if args.group and depth == 0:
                depth = 60
            if depth == 0:
                continue
            r = run_group(g, depth, design)
            good = ok(g, r)
            failed |= not good
            note = _where(r)
            if r.trace:
                note += f", trace {r.trace}" if args.keep else " (--keep DIR keeps its trace.vcd)"
            if r.detail:
                note += " " + r.detail.strip().splitlines()[-1]
            rows.append([g.name, r.depth, SOLVER, r.status + ("" if good else " (!)"),
                         f"{r.seconds:.1f}s", note])
            print(f"{g.name}: {r.status} at depth {r.depth} in {r.seconds:.1f}s {note}", flush=True)
        print()
        print(table(rows, ["property group", "depth", "solver", "result", "time", "note"]))

    if args.mutations or args.only_mutations:
        rows = []
        for m in MUTATIONS:
            if args.group and m.group not in args.group:
                continue
            if args.mutation and m.name not in args.mutation:
                continue
            # (the counterexample's trace.vcd is replayed only for a kept work directory)
            r = run_mutation(m, workdir, args.depth, design, want_trace=args.keep is not None)
            good = r.status == "FAIL"
            failed |= not good
            rows.append([m.name, m.group, f"hdl/{m.file}", r.depth,
                         ("caught" if good else "NOT CAUGHT") + f" ({r.status})",
                         _where(r), f"{r.seconds:.1f}s"])
            trace = f", trace {r.trace}" if r.trace else ""
            print(f"mutation {m.name}: {r.status} in {r.seconds:.1f}s {_where(r)}{trace}", flush=True)
        print()
        print(table(rows, ["mutation", "group", "file", "depth", "result", "cex", "time"]))

    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
