"""Where a regression run's fixed cost goes (docs/performance-cosim.md, "Third pass").

    python -m tb.profile_fixed [--sim verilator|icarus] [--params lb-dw32] [--test storm] [--seed 1] [--repeat N]

Times the parts of one run of the regression that do not grow with the
simulated cycles, on the regression's own build (a Verilator coverage
build): the build step that finds the build up to date, the simulator process
with an empty cocotb test, with the pyuvm test module imported as well, and
one real run of the test, with its phases timed from inside (a subclass of
the pyuvm test: the bench and the DUT's reset and init, the traffic, the
checks, the functional coverage files) and the process's end (Verilator
writes coverage.dat then). Each part: wall time and CPU time (user + system)
of the simulator process (``resource.getrusage``: its own from inside, the
child's from the runner). ``--repeat N``: medians of N rounds.

This file is also the cocotb test module of those probes (``PROBE`` in the
environment picks one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ============================================================ in the simulator
_PROBE = os.environ.get("PROBE")
if _PROBE:  # imported by cocotb in the simulator process
    _marks: list[tuple[str, float, float]] = [("module", time.time(), _cpu_self())]

    def mark(name: str) -> None:
        _marks.append((name, time.time(), _cpu_self()))
        Path(os.environ["PROBE_OUT"]).write_text(json.dumps(_marks))

    import cocotb
    from cocotb.triggers import Timer

    mark("cocotb imported")
    if _PROBE in ("import", "run"):
        import pyuvm

        import tb.uvm.tests as uvm_tests

        mark("tb.uvm.tests imported")

    if _PROBE in ("empty", "import"):

        @cocotb.test()
        async def empty(dut):
            mark("test start")
            await Timer(10, "ns")
            mark("test end")

    else:
        base = getattr(uvm_tests, os.environ["PROBE_TEST"])

        class Timed(base):  # the regression's test, its phases marked
            def build_phase(self):
                mark("test start")
                super().build_phase()
                mark("build_phase")

            async def run_phase(self):
                bench = self.bench
                start, opened = bench.start, bench.open

                async def timed_start():
                    await start()
                    mark("bench.start (clock, bus models, reset, identity)")

                async def timed_open(features=None):
                    session = await opened(features)
                    if not getattr(self, "_opened", False):
                        self._opened = True
                        mark("first bench.open (session, driver init)")
                    return session

                bench.start, bench.open = timed_start, timed_open
                await super().run_phase()
                mark("sequences, last session checked")

            def extract_phase(self):
                super().extract_phase()
                mark("extract_phase (functional_coverage.yml)")

            def check_phase(self):
                super().check_phase()
                mark("check_phase")

            def report_phase(self):
                super().report_phase()
                mark("report_phase (coverage report .txt)")

        Timed.__name__ = base.__name__
        pyuvm.test(timeout_time=uvm_tests.TIMEOUT_MS, timeout_unit="ms")(Timed)


# ============================================================ the runner side
def probe(kind: str, sim: str, params: str, test: str, seed: int) -> dict[str, tuple[float, float]]:
    """One simulator process with probe ``kind``: {part: (wall s, CPU s)}."""
    from tb.regress import TESTS, build_dir, param_sets
    from tb.runner import build, run

    p = param_sets()[params]
    bdir = build_dir(sim, params)
    out: dict[str, tuple[float, float]] = {}
    t, c = time.time(), _cpu_children()
    build(sim, p, bdir, coverage=sim == "verilator")
    out["build step (up to date)"] = (time.time() - t, _cpu_children() - c)
    entry = next(e for e in TESTS if e.name == test)
    with tempfile.TemporaryDirectory() as tmp:
        marks_file = Path(tmp) / "marks.json"
        env = {"PROBE": kind, "PROBE_OUT": str(marks_file), "PROBE_TEST": entry.filter.rstrip("$")}
        t0, c0 = time.time(), _cpu_children()
        results = run(sim, p, bdir, "tb.profile_fixed", test_dir=Path(tmp) / "run", seed=seed, extra_env=env)
        t_end, c_end = time.time(), _cpu_children()
        failed = [f"{n}: {text}" for n, text in results if text]
        if failed:
            raise RuntimeError(f"probe {kind}: {failed}")
        marks = json.loads(marks_file.read_text())
    prev_t, prev_c = t0, 0.0
    for name, when, cpu in marks:
        label = "simulator start, Python, cocotb init" if name == "module" else name
        out[label] = (when - prev_t, cpu - prev_c)
        prev_t, prev_c = when, cpu
    out["process end (cocotb results, simulator exit, coverage.dat)"] = (t_end - prev_t, (c_end - c0) - prev_c)
    out["whole process"] = (t_end - t0, c_end - c0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    parser.add_argument("--params", default="lb-dw32")
    parser.add_argument("--test", default="storm", help="a TESTS= name of the regression (a pyuvm test)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    rounds: dict[str, list[dict]] = {"empty": [], "import": [], "run": []}
    for _ in range(args.repeat):
        for kind in rounds:
            rounds[kind].append(probe(kind, args.sim, args.params, args.test, args.seed))
    print(f"fixed cost of a regression run: {args.sim} {args.params}, test {args.test} seed {args.seed}, "
          f"median of {args.repeat}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    summary = {}
    for kind, rs in rounds.items():
        print(f"\nprobe {kind}:" + ("" if kind != "run" else " (the real run)"))
        print(f"  {'part':<60} {'wall s':>8} {'CPU s':>8}")
        for part in rs[0]:
            wall = statistics.median(r[part][0] for r in rs)
            cpu = statistics.median(r[part][1] for r in rs)
            summary[f"{kind}: {part}"] = (wall, cpu)
            print(f"  {part:<60} {wall:>8.2f} {cpu:>8.2f}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
