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
- ``BATCH``: runs of the pyuvm tests on the same build (simulator and
  parameter set) per simulator process, default 10; 1 runs each in a process
  of its own (as a run reproduced alone always is). See :func:`run_batch`.

Adding another cocotb module (a hostile or fault campaign) to the regression
is one :data:`TESTS` entry: its module, the cocotb test filter, and the
parameter sets it runs on. Every Verilator run is a coverage build
(``--coverage-line --coverage-toggle``, its own build directory), so its
code coverage merges into the same report; a module that writes
``functional_coverage.yml`` in its run directory (as tb/uvm/tests.py does)
merges into the functional report.
"""

from __future__ import annotations

import hashlib
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
    # its runs of one build can share a simulator process (tb/batch.py): its
    # filter names a pyuvm test class of a module with TIMEOUT_MS, which reads
    # its seed when the test starts; False for the campaigns (cocotb tests that
    # read their seeds at import)
    batchable: bool = True

    @property
    def uvm_class(self) -> str:
        """The pyuvm test class its filter names."""
        return self.filter.removesuffix("$")


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
    TestEntry("hostile_rtl", "tests.test_hostile_rtl", ".", ("hostile-dw32",), env=(("HOSTILE_SEEDS", "15"), ("HOSTILE_STEPS", "100")), batchable=False),
    TestEntry("faults", "tests.test_faults", ".", ("faults-dw32", "faults-dw128"), env=(("FAULT_SEEDS_PER_RUN", "5"),), batchable=False),
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


def run_one(run: Run, runs_dir: Path = RUNS) -> dict:
    """Build (if needed) and run one entry in a simulator process of its own;
    returns and stores its record."""
    from .runner import SimulationError, run as sim_run

    entry = run.entry
    params = param_sets()[run.params]
    bdir = build_dir(run.sim, run.params)
    rdir = runs_dir / run.id
    shutil.rmtree(rdir, ignore_errors=True)
    rdir.mkdir(parents=True)
    record = _new_record(run)
    t0 = time.monotonic()
    try:
        _build(run.sim, params, bdir)
        t1 = time.monotonic()
        results = sim_run(run.sim, params, bdir, entry.module, test_dir=rdir, test_filter=entry.filter, seed=run.seed, extra_env=dict(entry.env))
        failures = [f"{name}: {text}" for name, text in results if text]
        record.update(build_s=round(t1 - t0, 1), tests=len(results), failures=failures)
    except SimulationError as err:
        t1 = time.monotonic()
        record.update(build_s=round(t1 - t0, 1), tests=0, failures=[f"simulation error: {err}"])
    record["wall_s"] = round(time.monotonic() - t1, 1)
    record["sim_ns"] = _sim_time_ns(rdir / "results.xml")
    _judge(record)
    (rdir / "record.json").write_text(json.dumps(record, indent=1))
    return record


def _build(sim: str, params: dict[str, int], bdir: Path) -> None:
    """The run's build (Verilator: a coverage build); a build that fails is
    the run's failure (SimulationError), not a run without a record."""
    from .runner import SimulationError, build

    try:
        build(sim, params, bdir, coverage=sim == "verilator")
    except SimulationError:
        raise
    except RuntimeError as err:  # the build's command failed (cocotb's runner)
        raise SimulationError(f"the build in {bdir} failed: {err}") from None


def _new_record(run: Run) -> dict:
    return {**asdict(run), "id": run.id, "reproduce": run.reproduce(), "expect_fail": list(run.entry.expect_fail), "batch": None}


def _judge(record: dict) -> None:
    """The record's result from its failures (an entry meant to fail must fail with its phrases)."""
    expect_fail = record["expect_fail"]
    failed = bool(record["failures"]) or record["tests"] == 0
    if expect_fail:
        text = "\n".join(record["failures"])
        caught = failed and all(p in text for p in expect_fail)
        record["result"] = "xfail (caught)" if caught else "FAIL (fault not caught)"
    else:
        record["result"] = "FAIL" if failed else "pass"


# ================================================================ batches
DEFAULT_BATCH = 10


def batch_size(env: dict[str, str] | None = None) -> int:
    """BATCH: runs per simulator process (1: each run alone)."""
    env = os.environ if env is None else env
    value = env.get("BATCH") or str(DEFAULT_BATCH)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"BATCH={value} is not allowed: use a number of runs per simulator process, 1 or more (1: each run alone)")
    return int(value)


def batches(runs: list[Run], size: int) -> list[list[Run]]:
    """The runs in simulator processes: runs of a batchable entry on the same
    build (simulator, parameter set) together, at most ``size`` to a process
    (a build's runs dealt out evenly over its processes), every other run
    alone. The longest processes first, so that the last ones to end are
    short: the campaigns (each run is many seeds), then Icarus's (half as
    fast), then the larger batches."""
    groups: dict[tuple[str, str], list[Run]] = {}
    out: list[list[Run]] = []
    for r in runs:
        if r.entry.batchable and size > 1:
            groups.setdefault((r.sim, r.params), []).append(r)
        else:
            out.append([r])
    for group in groups.values():
        n = -(-len(group) // size)
        out += [group[i::n] for i in range(n)]
    return sorted(out, key=lambda b: (b[0].entry.batchable, b[0].sim != "icarus", -len(b)))


def batch_id(batch: list[Run]) -> str:
    """A batch's directory under runs/: its build and a digest of its runs
    (shards of one regression never share one)."""
    digest = hashlib.sha1(" ".join(r.id for r in batch).encode()).hexdigest()[:10]
    return f"batch-{batch[0].sim}-{batch[0].params}-{digest}"


def run_batch(batch: list[Run], runs_dir: Path = RUNS) -> list[dict]:
    """Run ``batch`` (runs of one build) in one simulator process (tb/batch.py);
    returns and stores a record per run, as :func:`run_one` would.

    Nothing of a run is taken on trust from the batch: a run that did not end
    as expected in it (a failure, a fault not caught, or no result because the
    process died before or during it) is run again alone (:func:`run_one`, as
    its reproduce line does) and that run's record kept, with what happened in
    the batch; a run that failed in the batch but passes alone is a FAIL
    (``FAIL (in its batch only)``), never a pass. The batch's code coverage
    (one coverage.dat: Verilator writes it when the process ends) is in the
    batch's directory, ``runs/<batch id>/``, which each record names."""
    from .runner import SimulationError, run as sim_run
    from vio.cocotb.clock import DEFAULT_PERIOD_NS

    if len(batch) == 1 or not all(r.entry.batchable for r in batch):
        return [run_one(r, runs_dir) for r in batch]
    sim, params_name = batch[0].sim, batch[0].params
    if any((r.sim, r.params) != (sim, params_name) for r in batch):
        raise ValueError(f"a batch is runs of one build: {[r.id for r in batch]}")
    params = param_sets()[params_name]
    bid = batch_id(batch)
    bdir = runs_dir / bid
    shutil.rmtree(bdir, ignore_errors=True)
    bdir.mkdir(parents=True)
    plan = {"period_ns": DEFAULT_PERIOD_NS, "runs": []}
    for r in batch:
        rdir = runs_dir / r.id
        shutil.rmtree(rdir, ignore_errors=True)
        rdir.mkdir(parents=True)
        env = {"VIO_SEED": str(r.seed), **dict(r.entry.env)}
        plan["runs"].append({"id": r.id, "module": r.entry.module, "test": r.entry.uvm_class, "seed": r.seed, "env": env, "dir": str(rdir)})
    (bdir / "plan.json").write_text(json.dumps(plan, indent=1))
    info = {"id": bid, "runs": [r.id for r in batch], "sim": sim, "params": params_name}
    t0, cpu0 = time.monotonic(), _children_cpu()
    cases: dict[str, ET.Element] = {}
    error = None
    try:
        _build(sim, params, build_dir(sim, params_name))
        t1 = time.monotonic()
        info["build_s"] = round(t1 - t0, 1)
        sim_run(sim, params, build_dir(sim, params_name), "tb.batch", test_dir=bdir, seed=batch[0].seed, extra_env={"VIO_BATCH": str(bdir / "plan.json")})
        cases = {c.get("name"): c for c in ET.parse(bdir / "results.xml").getroot().iter("testcase")}
    except (SimulationError, OSError, ET.ParseError) as err:
        t1 = t1 if "build_s" in info else time.monotonic()
        info.setdefault("build_s", round(t1 - t0, 1))
        error = f"{type(err).__name__}: {err}"
    info.update(wall_s=round(time.monotonic() - t1, 1), cpu_s=round(_children_cpu() - cpu0, 1), error=error)
    records, again = [], []
    for r in batch:
        record = _new_record(r)
        record.update(batch=bid, build_s=info["build_s"])
        case = cases.get(r.id)
        timing_file = runs_dir / r.id / "run.json"
        if case is None:
            again.append((r, record, None))
            continue
        bad = next((node for tag in ("failure", "error", "skipped") if (node := case.find(tag)) is not None), None)
        record["tests"] = 1
        record["failures"] = [] if bad is None else [f"{r.entry.uvm_class}: {bad.tag}: {bad.get('message') or ''}\n{bad.text or ''}"]
        timing = json.loads(timing_file.read_text()) if timing_file.is_file() else {}
        record["wall_s"] = round(timing.get("wall_s", float(case.get("time") or 0)), 1)
        record["sim_ns"] = timing.get("sim_ns")
        _judge(record)
        _own_results(case, runs_dir / r.id / "results.xml")
        if ok(record):
            (runs_dir / r.id / "record.json").write_text(json.dumps(record, indent=1))
            records.append(record)
        else:
            again.append((r, record, record["failures"] or [f"{record['result']}"]))
    died = next((r.id for r in batch if not (runs_dir / r.id / "run.json").is_file()), None)
    info["rerun_alone"] = [r.id for r, _, _ in again]
    (bdir / "batch.json").write_text(json.dumps(info, indent=1))
    for r, in_batch, batch_failures in again:  # each alone, as its reproduce line runs it
        alone = run_one(r, runs_dir)
        alone.update(batch=bid, build_s=in_batch["build_s"])
        if batch_failures is None:
            where = f"the process ended in run {died}" if died else "every run had ended"
            why = f"its batch's simulator process ended before this run's result ({error or 'no result for it in results.xml'}; {where})"
            alone["batch_note"] = f"run again alone: {why}"
        else:
            alone["batch_note"] = f"run again alone after {in_batch['result']} in its batch"
            alone["batch_failures"] = batch_failures
            if ok(alone):  # failed in the batch only: still a failure
                alone["result"] = "FAIL (in its batch only)"
                alone["failures"] = [f"in its batch {bid}, after the runs before it: " + batch_failures[0], *batch_failures[1:], "alone: as expected"]
        (runs_dir / r.id / "record.json").write_text(json.dumps(alone, indent=1))
        records.append(alone)
    order = {r.id: i for i, r in enumerate(batch)}
    return sorted(records, key=lambda rec: order[rec["id"]])


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_results(case: ET.Element, path: Path) -> None:
    """The run's own results.xml: its testcase of the batch's."""
    root = ET.Element("testsuites", name="cocotb tests")
    suite = ET.SubElement(root, "testsuite", name="tb.batch", tests="1")
    suite.append(case)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


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


def coverage_files(recs: list[dict]) -> tuple[list[Path], list[str]]:
    """The coverage.dat files of the Verilator runs of ``recs``: a run's own
    (a run alone) and each batch's (one for its runs), and a line for every
    run whose coverage is not among them. A batch's file counts only while
    every run of it still has the record it wrote (a run of it run again
    since, alone or in another batch, has a coverage.dat of its own, and the
    batch's would merge in hits of the run it replaced)."""
    files: list[Path] = []
    covered: set[str] = set()
    verilator = [r for r in recs if r["sim"] == "verilator"]
    for r in verilator:
        own = RUNS / r["id"] / "coverage.dat"
        if own.is_file():
            files.append(own)
            covered.add(r["id"])
    notes = []
    for bid in sorted({r["batch"] for r in verilator if r.get("batch")}):
        info_file, dat = RUNS / bid / "batch.json", RUNS / bid / "coverage.dat"
        members = json.loads(info_file.read_text())["runs"] if info_file.is_file() else []
        stale = [m for m in members if _record_of(m).get("batch") != bid]
        if dat.is_file() and members and not stale:
            files.append(dat)
            covered.update(members)
        elif stale:
            notes.append(f"left out: the coverage.dat of {bid} (runs {', '.join(stale)} of it were run again since)")
    lost = [r["id"] for r in verilator if r["id"] not in covered]
    if lost:
        notes.append(f"code coverage missing for {len(lost)} run(s): {', '.join(lost)}")
    return files, notes


def _record_of(run_id: str) -> dict:
    path = RUNS / run_id / "record.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def batch_summary(recs: list[dict]) -> str:
    """One line on the simulator processes of the runs' batches (their
    start-up and end are in no run's wall time)."""
    bids = sorted({r["batch"] for r in recs if r.get("batch")})
    if not bids:
        return f"{len(recs)} runs, each in a simulator process of its own"
    infos = {b: json.loads(p.read_text()) for b, p in ((b, RUNS / b / "batch.json") for b in bids) if p.is_file()}
    members = [r for r in recs if r.get("batch") in infos]
    again = [r for r in members if r.get("batch_note")]  # run again alone after their batch
    in_runs = sum(r.get("wall_s") or 0 for r in members if not r.get("batch_note"))
    outside = sum(i.get("wall_s") or 0 for i in infos.values()) - in_runs
    gone = len([r for r in recs if r.get("batch") and r["batch"] not in infos])
    return (
        f"{len(members)} of the {len(recs)} runs in {len(infos)} batches, one simulator process each"
        f"{f' ({len(again)} of them run again alone after their batch)' if again else ''}; "
        f"{len(recs) - len(members) - gone} run(s) alone; "
        f"the batches' processes spent {outside:.1f} s outside the runs they ran to the end"
        " (start-up, imports, end, runs cut off or run again: in no row's wall time)"
        + (f"; {gone} run(s) of batches no longer on disk" if gone else "")
    )


def code_coverage_report(recs: list[dict]) -> str:
    """verilator_coverage: the runs' coverage.dat merged, annotated per line;
    line and toggle totals over hdl/ (tb/codecov.py reads the merged file)."""
    from .codecov import summary

    files, left_out = coverage_files(recs)
    dats = [str(d) for d in files]
    if not dats:
        return "code coverage: no Verilator run wrote coverage.dat" + "".join(f"\n{n}" for n in left_out)
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
    batched = sum(1 for d in files if d.parent.name.startswith("batch-"))
    return (
        f"code coverage (Verilator line + toggle), merged over {len(dats)} coverage.dat ({len(dats) - batched} of a run alone,"
        f" {batched} of a batch of runs): {merged}\n" + "".join(f"{n}\n" for n in left_out) +
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
    parts = [table(recs) + f"\n{batch_summary(recs)}\n(as JUnit XML: {OUT / 'junit.xml'})", functional_report(recs), code_coverage_report(recs)]
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
        batch_size()
        check_jobs(os.environ.get("JOBS", "auto"))
        return 0
    if argv and argv[0] == "report":
        return 0 if report(None if os.environ.get("SELECTED_ONLY") is None else select()) else 1
    if not argv or argv[0] != "run":
        print(__doc__)
        return 2
    os.environ.setdefault("REGRESS", "full")
    runs = select()
    size = batch_size()
    procs = len(batches(runs, size))
    print(f"regression: {len(runs)} runs ({os.environ['REGRESS']}), {len({(r.sim, r.params) for r in runs})} builds, {procs} simulator processes (BATCH={size})")
    ids = {r.id for r in runs}
    for r in runs:
        shutil.rmtree(RUNS / r.id, ignore_errors=True)
    for info in RUNS.glob("batch-*/batch.json"):  # batches of these runs from before: their coverage is replaced
        if ids & set(json.loads(info.read_text())["runs"]):
            shutil.rmtree(info.parent, ignore_errors=True)
    workers = check_jobs(os.environ.get("JOBS", "auto"))
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "pytest", "-q", "-n", workers, "--dist", "worksteal", "--tb=line", "--show-capture=no", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_regress.py"), *argv[1:]]
    subprocess.run(cmd, cwd=ROOT)
    print(f"\nregression wall time: {time.monotonic() - t0:.0f} s for {len(runs)} runs")
    return 0 if report(runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
