"""The regression: seeds x tests x parameter sets x simulators, in parallel
with pytest-xdist (tests/test_regress.py runs one entry of the matrix per
pytest test), then one table, the merged functional coverage and the merged
Verilator code coverage.

    python -m tb.regress run [pytest options]   # what `make regress` runs
    python -m tb.regress report                 # table and coverage of the runs on disk
    python -m tb.regress check                  # the variables below, one line if one is bad

Selection (environment variables, as the make variables of the same name):

- ``SEEDS``: seeds per run, 1..N (default: 2 for `make regress`, 1 for `make test`)
- ``SEED``: explicit seeds, comma-separated (overrides SEEDS), to reproduce a run
- ``SIM``: ``verilator``, ``icarus`` or ``all`` (default all)
- ``TESTS``: comma-separated names of :data:`TESTS` (default all)
- ``PARAMS``: comma-separated names of :data:`PARAM_SETS` (default: each test's own)
- ``SHARD``: ``i/N`` runs the i-th of N interleaved slices (1-based), so that
  machines can split a regression; copy their ``build/regress/runs`` together
  and ``python -m tb.regress report`` merges the coverage of all.
- ``REGRESS``: ``full`` (default for `make regress`) or ``short`` (the few
  runs of `make test`: one seed, fewer parameter sets).

Adding another cocotb module (a hostile or fault campaign) to the regression
is one :data:`TESTS` entry: its module, the cocotb test filter, and the
parameter sets it runs on. Every Verilator run is a coverage build
(``--coverage-line --coverage-toggle``, its own build directory), so its
code coverage merges into the same report; a module that writes
``functional_coverage.yml`` in its run directory (as tb/uvm/tests.py does)
merges into the functional report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "regress"
RUNS = OUT / "runs"
MEM_SIZE = 1 << 20  # VirtioEnv's guest memory


def _loopback(width: int, qmax: int = 16, **extra) -> dict[str, int]:
    from vio.device.loopback import LoopbackBackend

    from vio.cocotb.env import personality_parameters

    return {**personality_parameters(LoopbackBackend(3)), "AXI_DATA_WIDTH": width, "QUEUE_NUM_MAX": qmax, **extra}


def _personality(kind: str, width: int, qmax: int = 16) -> dict[str, int]:
    from vio.device.block import BlockBackend
    from vio.examples.console import console_host

    from vio.cocotb.env import personality_parameters

    backend = BlockBackend(bytearray(512)) if kind == "block" else console_host()
    return {**personality_parameters(backend), "AXI_DATA_WIDTH": width, "QUEUE_NUM_MAX": qmax}


def param_sets() -> dict[str, dict[str, int]]:
    """Named parameter sets (one build each per simulator). The loopback ones
    have three queues and the RTL's default DMA window (4 GiB, past the 1 MiB of
    guest memory: the window-wrap, 4 GiB length and bus-error cases need it)."""
    return {
        "lb-dw32": _loopback(32),
        "lb-dw64-wrap": _loopback(64, RING_INDEX_BASE=0xFFF0),  # indices start near 65535
        # (and a config space of 16 bytes: reads above it are the RTL's own, 0)
        "lb-dw128-q32": _loopback(128, 32, CONFIG_SIZE=16),
        "lb-dw32-mem": _loopback(32, DMA_SIZE=MEM_SIZE),  # the DMA window = guest memory
        "block-dw64": _personality("block", 64),
        "console-dw32": _personality("console", 32),
        # the hostile campaign's device (vio.hostile.target): 2 queues of 16, 4 GiB window
        "hostile-dw32": {"NUM_QUEUES": 2, "QUEUE_NUM_MAX": 16, "AXI_DATA_WIDTH": 32},
        # the fault campaign's (tests/test_faults.py): a window twice the memory
        "faults-dw32": _loopback(32, NUM_QUEUES=2, DMA_SIZE=2 * MEM_SIZE),
        "faults-dw128": _loopback(128, NUM_QUEUES=2, DMA_SIZE=2 * MEM_SIZE),
    }


@dataclass(frozen=True)
class TestEntry:
    """One line of the regression's test table."""

    name: str
    module: str  # the cocotb test module
    filter: str  # the cocotb test filter (a regex on test names)
    params: tuple[str, ...]  # parameter sets it runs on (full regression)
    short: tuple[str, ...] = ()  # "sim:params" runs of the short regression (make test); () = not in it
    expect_fail: tuple[str, ...] = ()  # meant to fail, with all these phrases in the failure
    env: tuple[tuple[str, str], ...] = ()  # environment of its runs (e.g. seeds per run of a campaign)


UVM = "tb.uvm.tests"
# the short regression (make test) has one Verilator build (lb-dw32) and runs
# each of its tests on one simulator, to stay inside its CPU budget
TESTS = [
    TestEntry("random", UVM, "LoopbackRandomTest$", ("lb-dw32", "lb-dw64-wrap", "lb-dw128-q32"), ("verilator:lb-dw32",)),
    TestEntry("ring", UVM, "LoopbackRingTest$", ("lb-dw32", "lb-dw128-q32"), ("icarus:lb-dw32",)),
    TestEntry("interrupt", UVM, "LoopbackInterruptTest$", ("lb-dw32", "lb-dw64-wrap")),
    TestEntry("storm", UVM, "LoopbackStormTest$", ("lb-dw32", "lb-dw128-q32")),
    TestEntry("reset", UVM, "LoopbackResetTest$", ("lb-dw32", "lb-dw64-wrap")),
    TestEntry("reset_directed", UVM, "LoopbackDirectedResetTest$", ("lb-dw32", "lb-dw128-q32")),
    TestEntry("backend_limits", UVM, "LoopbackBackendLimitsTest$", ("lb-dw32", "lb-dw128-q32")),
    TestEntry("hostile", UVM, "LoopbackHostileTest$", ("lb-dw32", "lb-dw32-mem"), ("verilator:lb-dw32",)),
    TestEntry("registers", UVM, "LoopbackRegisterTest$", ("lb-dw32", "lb-dw128-q32")),
    TestEntry("block", UVM, "BlockTest$", ("block-dw64",), ("icarus:block-dw64",)),
    TestEntry("console", UVM, "ConsoleTest$", ("console-dw32",)),
    TestEntry(
        "fault_used_len",
        UVM,
        "LoopbackUsedLenFaultTest$",
        ("lb-dw32",),
        ("verilator:lb-dw32",),
        expect_fail=("completion scoreboard", "the driver reaped used.len"),
    ),
    # the campaigns of issue 5, whole modules (make test runs them through
    # tests/test_hostile_rtl.py and tests/test_faults.py): each run takes the
    # slice of fuzz / reset seeds that its seed names
    TestEntry("hostile_rtl", "tests.test_hostile_rtl", ".", ("hostile-dw32",), env=(("HOSTILE_SEEDS", "15"), ("HOSTILE_STEPS", "100"))),
    TestEntry("faults", "tests.test_faults", ".", ("faults-dw32", "faults-dw128"), env=(("FAULT_SEEDS_PER_RUN", "5"),)),
]
SIMS = ("verilator", "icarus")


@dataclass(frozen=True)
class Run:
    test: str
    sim: str
    params: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.test}-{self.sim}-{self.params}-s{self.seed}"

    @property
    def entry(self) -> TestEntry:
        return next(t for t in TESTS if t.name == self.test)

    def reproduce(self) -> str:
        return f"make regress TESTS={self.test} SIM={self.sim} PARAMS={self.params} SEED={self.seed}"


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _choose(var: str, value: str | None, allowed: list[str]) -> list[str] | None:
    """The comma-separated names of ``value``, all from ``allowed``."""
    names = _names(value)
    bad = [n for n in names or [] if n not in allowed]
    if bad:
        raise ValueError(f"{var}={value}: unknown {', '.join(bad)}; use names from {', '.join(allowed)} (comma-separated)")
    return names


def _count(var: str, value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{var}={value} is not allowed: use a whole number, 1 or more")
    return int(value)


def _seeds(env: dict[str, str], full: bool) -> list[int]:
    if env.get("SEED"):
        seeds = _names(env["SEED"]) or []
        if not seeds or not all(s.isdigit() for s in seeds):
            raise ValueError(f"SEED={env['SEED']} is not allowed: use seeds as whole numbers, comma-separated (SEED=3 or SEED=1,7)")
        return [int(s) for s in seeds]
    return list(range(1, _count("SEEDS", env.get("SEEDS") or ("2" if full else "1")) + 1))


def _shard(value: str) -> tuple[int, int]:
    i, slash, n = value.partition("/")
    if not (slash and i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n)):
        raise ValueError(f"SHARD={value} is not allowed: use i/N with 1 <= i <= N (SHARD=2/3 runs the second third)")
    return int(i), int(n)


def select(env: dict[str, str] | None = None) -> list[Run]:
    """The runs the environment asks for (see the module docstring). A bad
    variable raises ValueError with one line naming the allowed values."""
    env = dict(os.environ if env is None else env)
    mode = env.get("REGRESS") or "short"
    if mode not in ("full", "short"):
        raise ValueError(f"REGRESS={mode} is not allowed: use full or short")
    full = mode == "full"
    seeds = _seeds(env, full)
    sim = env.get("SIM", "all") or "all"
    sims = SIMS if sim == "all" else tuple(_choose("SIM", sim, [*SIMS, "all"]) or ())
    if "all" in sims:
        sims = SIMS
    tests = _choose("TESTS", env.get("TESTS"), [t.name for t in TESTS])
    params = _choose("PARAMS", env.get("PARAMS"), list(param_sets()))
    runs = []
    for t in TESTS:
        if tests is not None and t.name not in tests:
            continue
        if params is not None:
            pairs = [(s, p) for p in params for s in sims]
        elif full:  # Verilator on every parameter set, Icarus (half as fast) on the first
            pairs = [(s, p) for p in t.params for s in sims if s == "verilator" or p == t.params[0]]
        else:
            pairs = [tuple(x.split(":")) for x in t.short if x.split(":")[0] in sims]
        for s, p in pairs:
            for seed in seeds:
                runs.append(Run(t.name, s, p, seed))
    if env.get("SHARD"):
        i, n = _shard(env["SHARD"])
        runs = runs[i - 1 :: n]
    return runs


def check_jobs(value: str) -> str:
    """JOBS: pytest-xdist workers, ``auto`` or a number."""
    if value != "auto" and not (value.isdigit() and int(value) >= 1):
        raise ValueError(f"JOBS={value} is not allowed: use auto or a number of workers, 1 or more")
    return value


def build_dir(sim: str, params: str) -> Path:
    """Verilator builds are coverage builds, apart from the co-simulation's."""
    return OUT / "builds" / (f"{sim}-{params}" + ("-cov" if sim == "verilator" else ""))


def run_one(run: Run) -> dict:
    """Build (if needed) and run one entry; returns and stores its record."""
    from .runner import SimulationError, build, run as sim_run

    entry = run.entry
    params = param_sets()[run.params]
    bdir = build_dir(run.sim, run.params)
    rdir = RUNS / run.id
    shutil.rmtree(rdir, ignore_errors=True)
    rdir.mkdir(parents=True)
    record = {**asdict(run), "id": run.id, "reproduce": run.reproduce(), "expect_fail": list(entry.expect_fail)}
    t0 = time.monotonic()
    try:
        build(run.sim, params, bdir, coverage=run.sim == "verilator")
        t1 = time.monotonic()
        results = sim_run(run.sim, params, bdir, entry.module, test_dir=rdir, test_filter=entry.filter, seed=run.seed, extra_env=dict(entry.env))
        failures = [f"{name}: {text}" for name, text in results if text]
        record.update(build_s=round(t1 - t0, 1), tests=len(results), failures=failures)
    except SimulationError as err:
        t1 = time.monotonic()
        record.update(build_s=round(t1 - t0, 1), tests=0, failures=[f"simulation error: {err}"])
    record["wall_s"] = round(time.monotonic() - t1, 1)
    record["sim_ns"] = _sim_time_ns(rdir / "results.xml")
    failed = bool(record["failures"]) or record["tests"] == 0
    if entry.expect_fail:
        text = "\n".join(record["failures"])
        caught = failed and all(p in text for p in entry.expect_fail)
        record["result"] = "xfail (caught)" if caught else "FAIL (fault not caught)"
    else:
        record["result"] = "FAIL" if failed else "pass"
    (rdir / "record.json").write_text(json.dumps(record, indent=1))
    return record


def _sim_time_ns(path: Path) -> float | None:
    if not path.is_file():
        return None
    total = 0.0
    for prop in ET.parse(path).getroot().iter("property"):
        if prop.get("name") == "sim_time_duration":  # in ns (sim_time_unit)
            total += float(prop.get("value") or 0)
    return total


def ok(record: dict) -> bool:
    return record["result"] in ("pass", "xfail (caught)")


# ================================================================ reports
def records(runs: list[Run] | None = None) -> list[dict]:
    """The records on disk: of ``runs``, or every run under build/regress/runs."""
    paths = [RUNS / r.id / "record.json" for r in runs] if runs is not None else sorted(RUNS.glob("*/record.json"))
    return [json.loads(p.read_text()) for p in paths if p.is_file()]


def table(recs: list[dict]) -> str:
    lines = [f"{'test':<16} {'sim':<10} {'params':<14} {'seed':>5} {'result':<24} {'sim time':>12} {'wall':>8}"]
    for r in sorted(recs, key=lambda r: (r["test"], r["sim"], r["params"], r["seed"])):
        sim_ns = f"{r['sim_ns'] / 1e6:.3f} ms" if r.get("sim_ns") else "-"
        lines.append(f"{r['test']:<16} {r['sim']:<10} {r['params']:<14} {r['seed']:>5} {r['result']:<24} {sim_ns:>12} {r['wall_s']:>7.1f}s")
    bad = [r for r in recs if not ok(r)]
    lines.append(f"{len(recs)} runs, {len(recs) - len(bad)} as expected, {len(bad)} failed")
    for r in bad:
        first = (r["failures"] or ["(no failure: it was meant to fail)"])[0].splitlines()[0][:200]
        lines.append(f"FAILED {r['id']}: {first}\n  reproduce: {r['reproduce']}")
    return "\n".join(lines)


def junit(recs: list[dict], path: Path) -> None:
    """The table as JUnit XML (one testcase per run) for CI dashboards: a run
    not as expected is a failure with its first lines and the reproduce line."""
    bad = [r for r in recs if not ok(r)]
    suite = ET.Element("testsuite", name="regress", tests=str(len(recs)), failures=str(len(bad)), errors="0", skipped="0")
    suite.set("time", f"{sum(r.get('wall_s') or 0 for r in recs):.1f}")
    for r in sorted(recs, key=lambda r: r["id"]):
        case = ET.SubElement(suite, "testcase", classname=f"regress.{r['test']}", name=r["id"], time=f"{r.get('wall_s') or 0:.1f}")
        props = ET.SubElement(case, "properties")
        for key in ("sim", "params", "seed", "result", "sim_ns", "reproduce"):
            ET.SubElement(props, "property", name=key, value=str(r.get(key)))
        if not ok(r):
            first = (r["failures"] or ["(no failure: it was meant to fail)"])[0].splitlines()[0][:200]
            failure = ET.SubElement(case, "failure", message=f"{r['result']}: {first}")
            failure.text = "\n".join(r["failures"])[:20000] + f"\nreproduce: {r['reproduce']}"
    ET.indent(suite)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def functional_report(recs: list[dict]) -> str:
    from .uvm import coverage as cov

    files = [RUNS / r["id"] / "functional_coverage.yml" for r in recs]
    files = [f for f in files if f.is_file()]
    if not files:
        return "functional coverage: no run wrote functional_coverage.yml"
    db = cov.merge(files, OUT / "functional_coverage.yml")
    text, _ = cov.report(db, f"functional coverage, merged over {len(files)} runs ({OUT / 'functional_coverage.yml'})")
    (OUT / "functional_coverage.txt").write_text(text + "\n")
    return text + f"\n(report: {OUT / 'functional_coverage.txt'})"


def code_coverage_report(recs: list[dict]) -> str:
    """verilator_coverage: the runs' coverage.dat merged, annotated per line;
    line and toggle totals over hdl/ (tb/codecov.py reads the merged file)."""
    from .codecov import summary

    dats = [RUNS / r["id"] / "coverage.dat" for r in recs if r["sim"] == "verilator"]
    dats = [str(d) for d in dats if d.is_file()]
    if not dats:
        return "code coverage: no Verilator run wrote coverage.dat"
    tool = shutil.which("verilator_coverage")
    if tool is None:
        return "code coverage: verilator_coverage is not installed (Debian package verilator; `make regress` installs it)"
    merged = OUT / "coverage.dat"
    annotated = OUT / "coverage_annotated"
    shutil.rmtree(annotated, ignore_errors=True)
    subprocess.run([tool, "--write", str(merged), *dats], check=True, capture_output=True)
    ann = subprocess.run([tool, "--annotate", str(annotated), "--annotate-min", "1", str(merged)], check=True, capture_output=True, text=True)
    total = " ".join(line.strip() for line in ann.stdout.splitlines() if "Total coverage" in line)
    text = summary(merged, annotated)
    (OUT / "code_coverage.txt").write_text(text + "\n")
    return (
        f"code coverage (Verilator line + toggle), merged over {len(dats)} runs: {merged}\n"
        f"verilator_coverage: {total}\n{text}\n{lcov_report(tool, merged)}\n"
        f"(per-line annotation: {annotated}/, report: {OUT / 'code_coverage.txt'})"
    )


def lcov_report(tool: str, merged: Path) -> str:
    """The merged coverage as lcov tracefile (verilator_coverage --write-info)
    and as HTML pages (genhtml, Debian package lcov); genhtml's summary line."""
    info = OUT / "coverage.info"
    html = OUT / "coverage_html"
    subprocess.run([tool, "--write-info", str(info), str(merged)], check=True, capture_output=True)
    genhtml = shutil.which("genhtml")
    if genhtml is None:
        return f"lcov: {info} (no HTML: genhtml is not installed, Debian package lcov; `make regress` installs it)"
    shutil.rmtree(html, ignore_errors=True)
    proc = subprocess.run([genhtml, "--output-directory", str(html), str(info)], capture_output=True, text=True)
    if proc.returncode != 0:
        return f"lcov: {info}; genhtml failed: {proc.stderr.strip()[-500:]}"
    summary_line = next((line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("lines")), "")
    return f"lcov: {info}, HTML: {html}/index.html ({summary_line})"


def report(runs: list[Run] | None = None) -> bool:
    recs = records(runs)
    if not recs:
        print("no regression runs on disk (build/regress/runs)")
        return False
    OUT.mkdir(parents=True, exist_ok=True)
    junit(recs, OUT / "junit.xml")
    parts = [table(recs) + f"\n(as JUnit XML: {OUT / 'junit.xml'})", functional_report(recs), code_coverage_report(recs)]
    text = "\n\n".join(parts)
    (OUT / "report.txt").write_text(text + "\n")
    print(text)
    print(f"\n(the whole report: {OUT / 'report.txt'})")
    return all(ok(r) for r in recs)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    try:
        return _main(argv)
    except ValueError as err:  # a bad variable: one line, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "check":  # the variables only (make regress does this first)
        select()
        check_jobs(os.environ.get("JOBS", "auto"))
        return 0
    if argv and argv[0] == "report":
        return 0 if report(None if os.environ.get("SELECTED_ONLY") is None else select()) else 1
    if not argv or argv[0] != "run":
        print(__doc__)
        return 2
    os.environ.setdefault("REGRESS", "full")
    runs = select()
    print(f"regression: {len(runs)} runs ({os.environ['REGRESS']}), {len({(r.sim, r.params) for r in runs})} builds")
    for r in runs:
        shutil.rmtree(RUNS / r.id, ignore_errors=True)
    workers = check_jobs(os.environ.get("JOBS", "auto"))
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "pytest", "-q", "-n", workers, "--tb=line", "--show-capture=no", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_regress.py"), *argv[1:]]
    subprocess.run(cmd, cwd=ROOT)
    print(f"\nregression wall time: {time.monotonic() - t0:.0f} s for {len(runs)} runs")
    return 0 if report(runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
