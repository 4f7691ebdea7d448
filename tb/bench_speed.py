"""``make bench-speed``: how fast the co-simulation runs against what the
simulators and cocotb allow, in simulated clock cycles per wall-clock second.

    python -m tb.bench_speed [--sim verilator|icarus|all] [--repeat N] [--workload bench,regression,...] [--floor-mode 1|2|3]

For each simulator, in one run:

- the ceiling: tb/speed_counter.v (a counter) with one coroutine awaiting
  every rising edge of the test bench's clock (tb/speed_ceiling.py);
- the full environment on the RTL, two workloads: ``bench``, the traffic of
  ``make bench`` (tb/bench_rtl.py: VirtioEnv, the driver model, DMA of 64 to
  4096 bytes, no checkers) and ``regression``, one run of the regression
  (tb/uvm/tests.py LoopbackRandomTest, seed 1: pyuvm, the four scoreboards
  and their monitors, random gaps and memory latency from the seed);
- the bus-model floor: an AXI4 master in HDL (tb/speed_axi_master.v) that
  keeps the bus busy, served by a memory model alone, with no other
  coroutine (tb/speed_floor.py): ``floor-axiram``, cocotbext-axi's ``AxiRam``
  as the library ships it, and ``floor-guestram``, the kit's ``GuestRam``.
  ``--floor-mode``: 1 reads (default), 2 writes, 3 both. No test bench whose
  memory is that model runs faster on a bus that busy.

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
FLOOR_CYCLES = 50_000
FLOOR_MODES = (1, 2, 3)
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
# name -> (what it is, memory model of tb/speed_floor.py)
FLOORS = {
    "floor-axiram": ("bus busy, cocotbext-axi AxiRam alone", "axiram"),
    "floor-guestram": ("bus busy, the kit's GuestRam alone", "guestram"),
}
NAMES = (*WORKLOADS, *FLOORS)


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


def floor(sim: str, name: str, mode: int = 1) -> float:
    """Cycles per second of the memory model of floor ``name`` serving
    tb/speed_axi_master.v (32 bits) with MODE ``mode``, nothing else running."""
    params = {"DATA_WIDTH": 32, "MODE": mode}
    build_dir = OUT / f"{sim}-floor{mode}"
    build(sim, params, build_dir, sources=[ROOT / "tb" / "speed_axi_master.v"], top="speed_axi_master")
    with tempfile.TemporaryDirectory() as tmp:
        env = {"VIO_FLOOR_MODEL": FLOORS[name][1], "VIO_FLOOR_MODE": str(mode), "VIO_SPEED_CYCLES": str(FLOOR_CYCLES)}
        _checked(run(sim, params, build_dir, "tb.speed_floor", top="speed_axi_master", test_dir=Path(tmp), extra_env=env), f"{name} on {sim}")
        return cycles_per_second(Path(tmp) / "results.xml")


def measure(sim: str, name: str, floor_mode: int = 1) -> float:
    """Cycles per second of workload or floor ``name`` on ``sim``."""
    return floor(sim, name, floor_mode) if name in FLOORS else workload(sim, name)


def _cell(values: list[float]) -> str:
    med = statistics.median(values)
    spread = f" ±{(max(values) - min(values)) / 2 / med:.0%}" if len(values) > 1 else ""
    return f"{med:,.0f}{spread}"


def print_table(figures: dict[str, dict[str, list[float]]], names: list[str], note: str) -> None:
    """The ceiling and each workload's cycles per second per simulator, and their ratio."""
    print(f"\nco-simulation speed: simulated cycles per wall-clock second ({note}, "
          f"load average {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} CPUs)")  # fmt: skip
    print(f"{'sim':<10} {'workload':<40} {'cycles/s':>14} {'of ceiling':>10}")
    for sim, f in figures.items():
        top = statistics.median(f["ceiling"])
        print(f"{sim:<10} {'ceiling (counter, a coroutine per edge)':<40} {_cell(f['ceiling']):>14} {1:>10.0%}")
        for n in names:
            what = (WORKLOADS.get(n) or FLOORS[n])[0]
            print(f"{sim:<10} {what:<40} {_cell(f[n]):>14} {statistics.median(f[n]) / top:>10.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="all", help="verilator, icarus (comma-separated) or all")
    parser.add_argument("--workload", default=",".join(NAMES), help=f"comma-separated: {', '.join(NAMES)}")
    parser.add_argument("--floor-mode", type=int, default=1, help="the floors' bus traffic: 1 reads, 2 writes, 3 both")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each figure, interleaved; the median is shown")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    sims = list(SIMS) if args.sim == "all" else args.sim.split(",")
    names = args.workload.split(",")
    bad = ([s for s in sims if s not in SIMS] + [n for n in names if n not in NAMES]
           + (["--repeat"] if args.repeat < 1 else []) + (["--floor-mode"] if args.floor_mode not in FLOOR_MODES else []))  # fmt: skip
    if bad:
        print(f"error: {', '.join(bad)}: SIM/--sim takes {', '.join(SIMS)} or all, --workload {', '.join(NAMES)}, "
              f"REPEAT/--repeat 1 or more, --floor-mode 1, 2 or 3", file=sys.stderr)  # fmt: skip
        return 2
    load = os.getloadavg()[0]
    figures: dict[str, dict[str, list[float]]] = {s: {"ceiling": [], **{n: [] for n in names}} for s in sims}
    for _ in range(args.repeat):
        for sim in sims:
            figures[sim]["ceiling"].append(ceiling(sim))
            for name in names:
                figures[sim][name].append(measure(sim, name, args.floor_mode))
    note = f"median of {args.repeat}; load average {load:.1f} at the start"
    print_table(figures, names, note + (f"; floors: MODE {args.floor_mode}" if any(n in FLOORS for n in names) else ""))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
