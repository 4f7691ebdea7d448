"""``make bench``: the RTL's throughput and latencies against the bus limit.

    python -m tb.bench [--quick] [--rtl REV] [--json FILE] [--plot FILE]

Builds the RTL under Verilator for AXI_DATA_WIDTH 32, 64 and 128 (and Icarus
at 32), runs tb/bench_rtl.py with zero and 32 cycles of memory latency, and
prints cycles per chain against the bus limit of each case: the AXI beats a
chain needs at least on the busier channel, reads (descriptor, its share of a
burst of heads, readable bytes) or writes (writable bytes, used element).
The 64-bit runs add four busy queues, the two head-of-line cases and
unaligned answers. Cycle counts are deterministic. Last, per simulator, the
co-simulation's speed against the trivial-DUT ceiling (tb/bench_speed.py):
the 32-bit, zero-latency run above, one regression run and the memory
models' floors (not with ``--quick``, which has no 32-bit run: ``make
bench-speed`` measures it).

``--rtl REV`` measures the RTL of another git revision (its hdl/ taken with
``git archive``) with this bench: the before/after tables of docs/performance.md.
Results also go to ``build/bench/<label>.json`` and a plot of bytes per cycle
against chain size (one line per width and latency, the bus limit drawn).
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from tb.bench_speed import FLOORS, ceiling, cycles_per_second, floor, print_table, workload
from tb.runner import ROOT, SimulationError, build, rtl_sources, run

PARAMS = {"NUM_QUEUES": 4, "QUEUE_NUM_MAX": 64, "DMA_SIZE": 1 << 22, "AXI_MAX_BURST_LEN": 16}
WIDTHS = (32, 64, 128)
LATENCIES = (0, 32)
HEAD_BURST = 16  # heads a ring read brings (the RTL's default; its per-chain share of the read)


def chain_beats(size: int, to_device: bool, lanes: int) -> tuple[float, float]:
    """(read beats, write beats) one single-buffer chain needs at least."""
    desc = math.ceil(16 / lanes)
    head = 2 / lanes  # heads come HEAD_BURST at a time: a chain's share is its 2 bytes
    data = math.ceil(size / lanes)
    elem = math.ceil(8 / lanes)
    return desc + head + (data if to_device else 0), elem + (0 if to_device else data)


def limit(size: int, to_device: bool, lanes: int) -> float:
    """The bus limit in cycles per chain: the busier AXI channel's beats."""
    return max(chain_beats(size, to_device, lanes))


def rtl_of(rev: str) -> tuple[list[Path], Path]:
    """The sources and include directory of ``rev``'s hdl/ (extracted under build/)."""
    dest = ROOT / "build" / "rtl" / rev
    if not dest.is_dir():
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "hdl"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    hdl = dest / "hdl"
    listed = hdl / "virtio_mmio.f"
    sources = rtl_sources(listed) if listed.is_file() else sorted(hdl.glob("*.v"))
    return sources, hdl


def measure(sim: str, width: int, latency: int, full: bool, rtl: tuple[list[Path], Path] | None, label: str) -> dict:
    params = dict(PARAMS, AXI_DATA_WIDTH=width)
    build_dir = ROOT / "build" / "bench" / label / f"{sim}-dw{width}"
    sources, includes = rtl if rtl is not None else (None, None)
    build(sim, params, build_dir, sources=sources, includes=includes)
    test_dir = build_dir / f"lat{latency}"
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        results = run(
            sim, params, build_dir, "tb.bench_rtl",
            test_dir=test_dir,
            extra_env={"VIO_BENCH_OUT": out.name, "VIO_MEM_LATENCY": str(latency), "VIO_BENCH_FULL": "1" if full else "0"},
        )
        failed = [f"{name}: {text}" for name, text in results if text]
        if failed or not results:
            raise SimulationError(f"bench on {sim}, AXI_DATA_WIDTH={width}: " + "; ".join(failed or ["no test ran"]))
        figures = json.loads(Path(out.name).read_text())
        figures["cocotb_cycles_per_second"] = cycles_per_second(test_dir / "results.xml")  # as tb/bench_speed.py counts
        return figures


def report(rows: list[tuple[str, int, int, dict]], title: str) -> None:
    print(f"\n{title}")
    print("RTL throughput (one-buffer chains on one queue, 64-byte aligned buffers, 64 chains posted then released;")
    print("limit: the AXI beats a chain needs on the busier channel)")
    print(f"{'sim':>9} {'width':>5} {'mem lat':>7} {'size':>5} {'direction':>15} {'cycles/chain':>12} {'limit':>7} "
          f"{'of limit':>8} {'B/cycle':>8} {'of bus':>7}")
    for sim, width, latency, r in rows:
        lanes = r["bus_bytes_per_cycle"]
        for t in r["throughput"]:
            lim = limit(t["size"], t["direction"] == "driver->device", lanes)
            print(f"{sim:>9} {width:>5} {latency:>7} {t['size']:>5} {t['direction']:>15} {t['cycles_per_chain']:>12.1f} "
                  f"{lim:>7.2f} {lim / t['cycles_per_chain']:>8.0%} {t['bytes_per_cycle']:>8.2f} {t['bytes_per_cycle'] / lanes:>7.0%}")
    full = [(sim, w, lat, r) for sim, w, lat, r in rows if "multi" in r]
    if full:
        print("\nfour queues busy at once (16 chains of 512 B each, two driver->device, two device->driver)")
        print(f"{'sim':>9} {'width':>5} {'mem lat':>7} {'cycles/chain':>12} {'limit':>7} {'of limit':>8} {'B/cycle':>8}")
        for sim, width, latency, r in full:
            m, lanes = r["multi"], r["bus_bytes_per_cycle"]
            reads = writes = 0.0
            for to_device in (True, False):
                rd, wr = chain_beats(m["size"], to_device, lanes)
                reads, writes = reads + rd / 2, writes + wr / 2
            lim = max(reads, writes)
            print(f"{sim:>9} {width:>5} {latency:>7} {m['cycles_per_chain']:>12.1f} {lim:>7.2f} "
                  f"{lim / m['cycles_per_chain']:>8.0%} {m['bytes_per_cycle']:>8.2f}")
        print("\nhead-of-line blocking (queue 0 with queue 1's traffic stuck beside it, against queue 0 alone)")
        print(f"{'sim':>9} {'width':>5} {'mem lat':>7} {'case':>46} {'alone':>7} {'with':>7} {'queue 0 keeps':>13}")
        for sim, width, latency, r in full:
            for key, what in (("hol_answer", "q1's answer trickles: q0's 64 requests"),
                              ("hol_request", "q1's request crawls: q0's 32 completions")):
                h = r[key]
                print(f"{sim:>9} {width:>5} {latency:>7} {what:>46} {h['alone']:>7} {h['with']:>7} {h['alone'] / h['with']:>13.0%}")
        print("\n4 KiB answers into unaligned buffers (device->driver, cycles/chain)")
        print(f"{'sim':>9} {'width':>5} {'mem lat':>7} {'aligned':>8} {'+1':>8} {'+3':>8} {'+5':>8} {'worst/aligned':>14}")
        for sim, width, latency, r in full:
            u = r["unaligned"]
            worst = max(u["offset_1"], u["offset_3"], u["offset_5"])
            print(f"{sim:>9} {width:>5} {latency:>7} {u['aligned']:>8.1f} {u['offset_1']:>8.1f} {u['offset_3']:>8.1f} "
                  f"{u['offset_5']:>8.1f} {worst / u['aligned']:>14.3f}")
    print("\nlatencies (cycles, best of 8, one 64-byte chain on an idle device)")
    print(f"{'sim':>9} {'width':>5} {'mem lat':>7} {'notify->used.idx':>17} {'used.idx->irq':>14} "
          f"{'B->irq':>7} {'decision read':>14} {'B->irq - read':>14}")
    for sim, width, latency, r in rows:
        i = r["irq"]
        print(f"{sim:>9} {width:>5} {latency:>7} {r['notify_to_used_idx']:>17} {i['used_idx_landed_to_irq']:>14} "
              f"{i['b_to_irq']:>7} {i['decision_read_round_trip']:>14} {i['b_to_irq'] - i['decision_read_round_trip']:>14}")


def speed_table(rows: list[tuple[str, int, int, dict]]) -> None:
    """The co-simulation's speed per simulator: its 32-bit, zero-latency run
    (tb/bench_speed.py's "bench" workload) and a regression run, against the
    ceiling and the memory models' floors (reads) measured now."""
    speed = {sim: {"ceiling": [ceiling(sim)], "bench": [r["cocotb_cycles_per_second"]], "regression": [workload(sim, "regression")],
                   **{name: [floor(sim, name)] for name in FLOORS}}
             for sim, width, latency, r in rows if width == 32 and latency == 0}  # fmt: skip
    if speed:
        print_table(speed, ["bench", "regression", *FLOORS], "one run each")


def plot(rows: list[tuple[str, int, int, dict]], path: Path, title: str) -> None:
    """Bytes per cycle against chain size, one line per width and latency
    (driver->device, Verilator), with each width's bus limit drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = {32: "tab:blue", 64: "tab:orange", 128: "tab:green"}
    for sim, width, latency, r in rows:
        if sim != "verilator":
            continue
        pts = [(t["size"], t["bytes_per_cycle"]) for t in r["throughput"] if t["direction"] == "driver->device"]
        ax.plot([s for s, _ in pts], [b for _, b in pts], marker="o", color=colours[width],
                linestyle="-" if latency == 0 else "--", label=f"{width}-bit, memory latency {latency}")
    for width, colour in colours.items():
        lanes = width // 8
        sizes = [64, 512, 4096]
        ax.plot(sizes, [s / limit(s, True, lanes) for s in sizes], color=colour, linestyle=":", linewidth=1,
                label=f"{width}-bit bus limit")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("chain size (bytes, one readable buffer)")
    ax.set_ylabel("bytes per cycle")
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Verilator at 64 bits only")
    parser.add_argument("--rtl", metavar="REV", help="measure the RTL of this git revision")
    parser.add_argument("--json", type=Path, help="results as JSON (default build/bench/<label>.json)")
    parser.add_argument("--plot", type=Path, help="the plot (default build/bench/<label>.png)")
    args = parser.parse_args()
    rtl = rtl_of(args.rtl) if args.rtl else None
    label = args.rtl or "head"
    runs = [("verilator", 64)] if args.quick else [("verilator", w) for w in WIDTHS] + [("icarus", 32)]
    rows = []
    for sim, width in runs:
        for latency in LATENCIES if sim == "verilator" else (0,):
            rows.append((sim, width, latency, measure(sim, width, latency, width == 64 and sim == "verilator", rtl, label)))
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.rtl or "HEAD"], capture_output=True, text=True).stdout.strip()
    title = f"RTL of {rev}" + ("" if args.rtl else " (this tree)")
    report(rows, title)
    if not args.rtl:  # the test bench's speed: this tree's RTL only
        speed_table(rows)
    out = args.json or ROOT / "build" / "bench" / f"{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rtl": rev, "runs": [{"sim": s, "width": w, "mem_latency": lat, **r} for s, w, lat, r in rows]}, indent=1))
    png = args.plot or ROOT / "build" / "bench" / f"{label}.png"
    plot(rows, png, f"virtio-mmio RTL {rev}: driver->device throughput")
    print(f"\nresults: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}; plot: {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
