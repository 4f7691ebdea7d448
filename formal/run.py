"""Bounded proofs of the virtio-mmio RTL (issue 5, "Formal"); `make formal`.

Each property group is one build of formal/virtio_mmio_props.sv around the
top virtio_mmio (small parameters) with only that group's assertions kept:
Yosys writes an AIGER model and ABC's bmc3 (the SAT-based bounded model
checker shipped with Yosys as yosys-abc) searches for a violation up to the
depth given. A counterexample is replayed by Yosys' `sim` into a VCD.

Witness groups ("cover") turn a reachability goal into "never reached" and
expect bmc3 to refute it within the depth: a request packet, answer bytes on
W, a used.idx write, an interrupt (a whole chain through the ring engine).
They lie deeper than a run of a few minutes reaches and are run on demand
(--group cover-request ...; docs/formal.md).

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
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the RTL sources, relative to hdl/, from its file list (the one place to add a file)
HDL_FILES = [line.strip() for line in (ROOT / "hdl" / "virtio_mmio.f").read_text().splitlines() if line.strip()]
PROPS = ROOT / "formal" / "virtio_mmio_props.sv"
SOLVER = "abc bmc3"

# the hdl/ assertions (the write invariant, the witnesses) live in these files
HDL_ASSERT_FILES = ["virtio_mmio_complete.v", "virtio_mmio_publish.v", "virtio_mmio_engine.v",
                    "virtio_mmio_dma_wr.v", "virtio_mmio_commit.v"]
HDL_ASSERT_SRC = " ".join(f"a:src=*{f}*" for f in HDL_ASSERT_FILES) + " %u" * (len(HDL_ASSERT_FILES) - 1)
# formal-only wires of one unit tied to another unit's shadow after flattening
# (Yosys 0.23 reads no hierarchical names): the completion unit checks each
# answer write against what the walk wrote into the segment slot
ENGINE = "dut.engine_inst"
FORMAL_TIES = [(f"{ENGINE}.complete_inst.f_walk_seg_{n}", f"{ENGINE}.walk_inst.f_seg_{n}")
               for n in ("w", "ptr", "head", "data")]


@dataclass
class Group:
    name: str
    what: str
    depth: int
    defines: list[str] = field(default_factory=list)
    hdl_asserts: bool = False       # keep the `ifdef FORMAL checks in hdl/
    witness: bool = False           # a reachability goal: expect it reached
    quick_depth: int = 0            # depth in the quick subset (0: not run)


GROUPS = [
    Group("lite", "AXI4-Lite slave: B/R stable until ready, one response per request, reset",
          depth=20, defines=["PROPS_LITE"]),
    Group("axi", "AXI4 master: AR/AW/W stable, INCR/size/len, no 4 KiB crossing, WLAST, "
          "W beats = AWLEN+1, outstanding bounded, reset",
          depth=40, defines=["PROPS_AXI"]),
    Group("stream", "m_axis/config port stable until ready, tdest/tuser per packet, reset",
          depth=32, defines=["PROPS_STREAM"]),
    Group("writes", "writes only inside the used ring or a writable buffer of the chain "
          "completed (walk + completion + publisher + commit's avail_event + DMA write engine)",
          depth=36, hdl_asserts=True),
    # every assertion in one model: the quick subset of make test
    Group("all", "every group above in one model (tests/test_formal.py)",
          depth=0, defines=["PROPS_LITE", "PROPS_AXI", "PROPS_STREAM"], hdl_asserts=True,
          quick_depth=16),
    Group("cover-request", "witness: a chain popped, its request packet ended on m_axis",
          depth=0, defines=["FORMAL_WITNESS=4"], hdl_asserts=True, witness=True),
    Group("cover-buffer", "witness: an answer written into a writable buffer",
          depth=0, defines=["FORMAL_WITNESS=1"], hdl_asserts=True, witness=True),
    # implied by cover-irq (the interrupt decision follows used.idx): run on demand
    Group("cover-used", "witness: a chain completed (used element and used.idx written)",
          depth=0, defines=["FORMAL_WITNESS=2"], hdl_asserts=True, witness=True),
    Group("cover-irq", "witness: a vring interrupt raised",
          depth=0, defines=["FORMAL_WITNESS=3"], hdl_asserts=True, witness=True),
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
    Mutation("awvalid-drops-before-awready", "axi", "virtio_mmio_dma_wr.v",
             "m_axi_awvalid_next = m_axi_awvalid_reg && !m_axi_awready;",
             "m_axi_awvalid_next = 1'b0;"),
    Mutation("wlast-never", "axi", "virtio_mmio_dma_wr.v",
             "m_axi_wlast_next = w_sent_reg + 9'd1 == wp_head_len;",
             "m_axi_wlast_next = 1'b0;"),
    Mutation("burst-one-beat-longer", "axi", "virtio_mmio_dma_wr.v",
             "m_axi_awlen_next = im_burst_len[7:0] - 8'd1;",
             "m_axi_awlen_next = im_burst_len[7:0];"),
    Mutation("read-crosses-4k", "axi", "virtio_mmio_dma_rd.v",
             "if ({4'd0, ring_burst} > ring_4k) begin",
             "if (1'b0) begin"),
    Mutation("awvalid-survives-reset", "axi", "virtio_mmio_dma_wr.v",
             "        m_axi_awvalid_reg <= 1'b0;\n",
             ""),
    Mutation("axil-bvalid-drops", "lite", "virtio_mmio_regs.v",
             "s_axil_bvalid_next = s_axil_bvalid_reg && !s_axil_bready;",
             "s_axil_bvalid_next = 1'b0;"),
    Mutation("m_axis-tvalid-drops", "stream", "virtio_mmio_commit.v",
             "m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;",
             "m_axis_tvalid_next = 1'b0;"),
    Mutation("avail-event-past-used-ring", "writes", "virtio_mmio_commit.v",
             "ae_addr_next = cfg_used + 4 + {",
             "ae_addr_next = cfg_used + 6 + {"),
    Mutation("used-element-past-used-ring", "writes", "virtio_mmio_publish.v",
             "im_addr_next = q_used_addr[aq*ADDR_WIDTH +: ADDR_WIDTH] + 4",
             "im_addr_next = q_used_addr[aq*ADDR_WIDTH +: ADDR_WIDTH] + 8"),
    Mutation("answer-into-readable-segment", "writes", "virtio_mmio_complete.v",
             "ptr_next = if_e_wfirst;",
             "ptr_next = if_e_wfirst - 1'b1;"),
    Mutation("answer-one-byte-past-segment", "writes", "virtio_mmio_complete.v",
             "st_req_len_next = seg_rdata[31:0];",
             "st_req_len_next = seg_rdata[31:0] + 32'd1;"),
    Mutation("write-one-byte-past-request", "writes", "virtio_mmio_dma_wr.v",
             "st_left_next = st_q_drain ? 32'd0 : st_q_len;",
             "st_left_next = st_q_drain ? 32'd0 : st_q_len + 32'd1;"),
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


def _yosys_script(hdl_dir: Path, group: Group, out: Path) -> str:
    defs = " ".join(f"-D{d}" for d in group.defines)
    hdl = " ".join(str(hdl_dir / f) for f in HDL_FILES)
    lines = [
        f"read_verilog -formal -I{hdl_dir} {defs} {hdl}",
        f"read_verilog -formal -sv {defs} {PROPS}",
        "hierarchy -check -top virtio_mmio_props",
        "proc",
        "flatten",
    ]
    lines += [f"connect -set {wire} {shadow}" for wire, shadow in FORMAL_TIES]
    lines += [
        "prep -top virtio_mmio_props",
    ]
    if not group.hdl_asserts:
        lines.append(f"chformal -assert -remove {HDL_ASSERT_SRC}")
    lines += [
        "chformal -cover -remove",
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
        f"write_rtlil {out / 'design.il'}",
        "aigmap",
        f"write_aiger -I -B -zinit -no-startoffset -map {out / 'design.aim'} {out / 'design.aig'}",
    ]
    return "\n".join(lines) + "\n"


def build(hdl_dir: Path, group: Group, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ys = out / "build.ys"
    ys.write_text(_yosys_script(hdl_dir, group, out))
    proc = subprocess.run(["yosys", "-q", "-l", str(out / "yosys.log"), str(ys)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed for {group.name}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")


_FAIL_RE = re.compile(r"Output\s+(\d+)\s+of miter .* was asserted in frame\s+(\d+)")
_PASS_RE = re.compile(r"No output asserted in\s+(\d+)\s+frames")


def bmc(out: Path, depth: int) -> tuple[str, int | None, str]:
    """Run bmc3 on out/design.aig; ('FAIL', frame) or ('PASS', None)."""
    cex = out / "trace.aiw"
    if cex.exists():
        cex.unlink()
    cmd = (f"read_aiger {out / 'design.aig'}; fold; strash; "
           f"bmc3 -F {depth}; write_cex -a {cex}")
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
    vcd = out / "trace.vcd"
    script = (f"read_rtlil {out / 'design.il'}; "
              f"sim -clock clk -r {out / 'trace.aiw'} -map {out / 'design.aim'} "
              f"-zinit -vcd {vcd} virtio_mmio_props")
    proc = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
    return vcd if proc.returncode == 0 and vcd.exists() else None


def run_group(group: Group, depth: int, workdir: Path, hdl_dir: Path = ROOT / "hdl",
              want_trace: bool = True) -> Result:
    out = workdir / group.name
    t0 = time.monotonic()
    try:
        build(hdl_dir, group, out)
        status, frame, text = bmc(out, depth)
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


def run_mutation(mut: Mutation, workdir: Path, depth: int | None = None) -> Result:
    """Apply one mutation to a copy of hdl/ and run its group (expect FAIL)."""
    hdl_copy = workdir / f"hdl-{mut.name}"
    if hdl_copy.exists():
        shutil.rmtree(hdl_copy)
    shutil.copytree(ROOT / "hdl", hdl_copy)
    src = (hdl_copy / mut.file).read_text()
    if src.count(mut.old) != 1:
        raise ValueError(f"mutation {mut.name}: the text to replace occurs "
                         f"{src.count(mut.old)} times in hdl/{mut.file}, expected once")
    (hdl_copy / mut.file).write_text(src.replace(mut.old, mut.new))
    group = next(g for g in GROUPS if g.name == mut.group)
    return run_group(group, depth or group.depth, workdir / f"mut-{mut.name}", hdl_copy,
                     want_trace=False)


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
            r = run_group(g, depth, workdir)
            good = ok(g, r)
            failed |= not good
            note = ""
            if r.frame is not None:
                note = f"frame {r.frame}"
            if r.trace:
                note += f", trace {r.trace}" if args.keep else " (--keep DIR keeps its trace.vcd)"
            if r.detail:
                note += r.detail.strip().splitlines()[-1]
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
            r = run_mutation(m, workdir, args.depth)
            good = r.status == "FAIL"
            failed |= not good
            rows.append([m.name, m.group, f"hdl/{m.file}", r.depth,
                         ("caught" if good else "NOT CAUGHT") + f" ({r.status})",
                         "" if r.frame is None else f"frame {r.frame}", f"{r.seconds:.1f}s"])
            print(f"mutation {m.name}: {r.status} in {r.seconds:.1f}s", flush=True)
        print()
        print(table(rows, ["mutation", "group", "file", "depth", "result", "cex", "time"]))

    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
