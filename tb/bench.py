"""``make bench``: the RTL's throughput and latencies, printed as tables.

    python -m tb.bench [--quick]

Builds the RTL under Verilator for AXI_DATA_WIDTH 32, 64 and 128 (and Icarus
at 32, for its speed), runs tb/bench_rtl.py with zero and 32 cycles of memory
latency, and prints cycles per chain and bytes per cycle against the bus
limit (AXI_DATA_WIDTH/8 bytes a cycle). Last, per simulator, the
co-simulation's speed against the trivial-DUT ceiling (tb/bench_speed.py):
the 32-bit, zero-latency run above and one regression run.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tb.bench_speed import ceiling, cycles_per_second, print_table, workload
from tb.runner import ROOT, SimulationError, build_and_test

PARAMS = {"NUM_QUEUES": 2, "QUEUE_NUM_MAX": 64, "DMA_SIZE": 1 << 22, "AXI_MAX_BURST_LEN": 16}


def run(sim: str, width: int, latency: int) -> dict:
    params = dict(PARAMS, AXI_DATA_WIDTH=width)
    build_dir = ROOT / "build" / "bench" / f"{sim}-dw{width}"
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        results = build_and_test(
            sim, params, build_dir, "tb.bench_rtl",
            extra_env={"VIO_BENCH_OUT": out.name, "VIO_MEM_LATENCY": str(latency)},
        )
        failed = [f"{name}: {text}" for name, text in results if text]
        if failed or not results:
            raise SimulationError(f"bench on {sim}, AXI_DATA_WIDTH={width}: " + "; ".join(failed or ["no test ran"]))
        figures = json.loads(Path(out.name).read_text())
        figures["cocotb_cycles_per_second"] = cycles_per_second(build_dir / "results.xml")  # as tb/bench_speed.py counts
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Verilator at 32 bits only")
    args = parser.parse_args()
    runs = [("verilator", 32)] if args.quick else [("verilator", 32), ("verilator", 64), ("verilator", 128), ("icarus", 32)]
    rows = []
    for sim, width in runs:
        for latency in (0, 32) if sim == "verilator" else (0,):
            r = run(sim, width, latency)
            rows.append((sim, width, latency, r))
    print(f"\nRTL throughput (NUM_QUEUES 2, QueueNum 64, AXI_MAX_BURST_LEN 16, 64-byte aligned buffers, "
          f"{PARAMS['QUEUE_NUM_MAX']} chains posted then released)")
    print(f"{'sim':>9} {'width':>5} {'mem lat':>7} {'size':>5} {'direction':>15} {'cycles/chain':>12} {'B/cycle':>8} {'of bus':>7}")
    for sim, width, latency, r in rows:
        for t in r["throughput"]:
            limit = r["bus_bytes_per_cycle"]
            print(f"{sim:>9} {width:>5} {latency:>7} {t['size']:>5} {t['direction']:>15} "
                  f"{t['cycles_per_chain']:>12.1f} {t['bytes_per_cycle']:>8.2f} {t['bytes_per_cycle'] / limit:>7.0%}")
    print("\nlatencies (cycles, best of 8, one 64-byte chain on an idle device)")
    print(f"{'sim':>9} {'width':>5} {'mem lat':>7} {'notify->used.idx':>17} {'used.idx->irq':>14}")
    for sim, width, latency, r in rows:
        print(f"{sim:>9} {width:>5} {latency:>7} {r['notify_to_used_idx']:>17} {r['used_idx_to_irq']:>14}")
    # the same run of the full environment as tb/bench_speed.py's "bench" workload, in the same run as its ceiling
    speed = {sim: {"ceiling": [ceiling(sim)], "bench": [r["cocotb_cycles_per_second"]], "regression": [workload(sim, "regression")]}
             for sim, width, latency, r in rows if width == 32 and latency == 0}  # fmt: skip
    print_table(speed, ["bench", "regression"], "one run each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
