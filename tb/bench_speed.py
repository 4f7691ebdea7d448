"""``make bench-speed``: how fast the co-simulation runs against what the
simulators and cocotb allow, in simulated clock cycles per wall-clock second.

    python -m tb.bench_speed [--sim verilator|icarus|all] [--repeat N] [--workload bench,regression]

For each simulator, in one run:

- the ceiling: tb/speed_counter.v (a counter) with one coroutine awaiting
  every rising edge of the test bench's clock (tb/speed_ceiling.py);
- the full environment on the RTL, two workloads: ``bench``, the traffic of
  ``make bench`` (tb/bench_rtl.py: VirtioEnv, the driver model, DMA of 64 to
  4096 bytes, no checkers) and ``regression``, one run of the regression
  (tb/uvm/tests.py LoopbackRandomTest, seed 1: pyuvm, the four scoreboards
  and their monitors, random gaps and memory latency from the seed).

Each figure is cocotb's own (results.xml: simulated time over the test's wall
time). ``--repeat N`` runs the whole set N times, interleaved (ceiling,
workloads, ceiling, ...), and prints the median and the spread: other
processes on the machine move the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from vio.cocotb.clock import DEFAULT_PERIOD_NS as CLOCK_PERIOD_NS
from tb.runner import ROOT, SimulationError, build, run

SIMS = ("verilator", "icarus")
CEILING_CYCLES = 200_000
OUT = ROOT / "build" / "speed"


def _bench_params() -> dict[str, int]:
    from tb.bench import PARAMS

    return dict(PARAMS, AXI_DATA_WIDTH=32)


def _regression_params() -> dict[str, int]:
    from tb.regress import param_sets

    return param_sets()["lb-dw32"]


# name -> (what it is, parameters, cocotb module, test filter, extra environment)
WORKLOADS = {
    "bench": ("make bench traffic (no checkers)", _bench_params, "tb.bench_rtl", None, {"VIO_MEM_LATENCY": "0"}),
    "regression": ("regression run (pyuvm, scoreboards)", _regression_params, "tb.uvm.tests", "LoopbackRandomTest$", {}),
}


def cycles_per_second(results: Path) -> float:
    """Simulated cycles per wall-clock second of the cocotb tests in ``results``."""
    sim_ns = wall = 0.0
    for case in ET.parse(results).getroot().iter("testcase"):
        wall += float(case.get("time") or 0)
        for prop in case.iter("property"):
            if prop.get("name") == "sim_time_duration":
                sim_ns += float(prop.get("value") or 0)
    if not wall:
        raise SimulationError(f"{results}: no test time")
    return sim_ns / CLOCK_PERIOD_NS / wall


def _checked(results: list[tuple[str, str | None]], what: str) -> None:
    failed = [f"{name}: {text}" for name, text in results if text]
    if failed or not results:
        raise SimulationError(f"{what}: " + "; ".join(failed or ["no test ran"]))


def ceiling(sim: str) -> float:
    build_dir = OUT / f"{sim}-counter"
    build(sim, {}, build_dir, sources=[ROOT / "tb" / "speed_counter.v"], top="speed_counter")
    _checked(run(sim, {}, build_dir, "tb.speed_ceiling", top="speed_counter", extra_env={"VIO_SPEED_CYCLES": str(CEILING_CYCLES)}), f"ceiling on {sim}")
    return cycles_per_second(build_dir / "results.xml")


def workload(sim: str, name: str) -> float:
    _, params, module, test_filter, env = WORKLOADS[name]
    build_dir = OUT / f"{sim}-{name}"
    build(sim, params(), build_dir)
    with tempfile.TemporaryDirectory() as tmp:
        extra = dict(env, VIO_BENCH_OUT=str(Path(tmp) / "bench.json"))
        test_dir = Path(tmp) / "run"
        _checked(run(sim, params(), build_dir, module, test_dir=test_dir, test_filter=test_filter, extra_env=extra), f"{name} on {sim}")
        return cycles_per_second(test_dir / "results.xml")


def _cell(values: list[float]) -> str:
    med = statistics.median(values)
    spread = f" ±{(max(values) - min(values)) / 2 / med:.0%}" if len(values) > 1 else ""
    return f"{med:,.0f}{spread}"


def print_table(figures: dict[str, dict[str, list[float]]], names: list[str], note: str) -> None:
    """The ceiling and each workload's cycles per second per simulator, and their ratio."""
    print(f"\nco-simulation speed: simulated cycles per wall-clock second ({note}, "
          f"load average {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} CPUs)")  # fmt: skip
    print(f"{'sim':<10} {'ceiling':>14}  " + "  ".join(f"{WORKLOADS[n][0]:>38} {'of ceiling':>10}" for n in names))
    for sim, f in figures.items():
        top = statistics.median(f["ceiling"])
        cells = "  ".join(f"{_cell(f[n]):>38} {statistics.median(f[n]) / top:>10.0%}" for n in names)
        print(f"{sim:<10} {_cell(f['ceiling']):>14}  {cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="all", help="verilator, icarus (comma-separated) or all")
    parser.add_argument("--workload", default=",".join(WORKLOADS), help=f"comma-separated: {', '.join(WORKLOADS)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each figure, interleaved; the median is shown")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    sims = list(SIMS) if args.sim == "all" else args.sim.split(",")
    names = args.workload.split(",")
    bad = [s for s in sims if s not in SIMS] + [n for n in names if n not in WORKLOADS] + (["--repeat"] if args.repeat < 1 else [])
    if bad:
        print(f"error: {', '.join(bad)}: SIM/--sim takes {', '.join(SIMS)} or all, --workload {', '.join(WORKLOADS)}, REPEAT/--repeat 1 or more", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    figures: dict[str, dict[str, list[float]]] = {s: {"ceiling": [], **{n: [] for n in names}} for s in sims}
    for _ in range(args.repeat):
        for sim in sims:
            figures[sim]["ceiling"].append(ceiling(sim))
            for name in names:
                figures[sim][name].append(workload(sim, name))
    print_table(figures, names, f"median of {args.repeat}; load average {load:.1f} at the start")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
