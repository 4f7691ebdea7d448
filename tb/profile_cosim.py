"""Where the wall time of a co-simulation goes, per test-bench component.

    VIO_PROFILE=$PWD/build/profile make bench   # absolute: each simulator runs in its own directory
    python -m tb.profile_cosim build/profile    # the table, all runs merged

With ``VIO_PROFILE`` set to a directory, importing ``tb`` in the simulator's
Python installs a ``sys.setprofile`` hook; at exit it writes
``<dir>/<pid>.json``: seconds per component. Every stretch of time between two
profile events goes to the innermost frame on the stack that belongs to a
component (:func:`component`); Python time in no component's frame is the
cocotb scheduler's, time with no Python frame at all is the simulator's
(and the GPI's). cocotbext-axi objects are told apart by the bus they drive
(``m_axi``: the memory model, ``s_axil``: the register master, ``m_axis`` /
``s_axis``: the backend streams).

The hook costs about as much as cProfile (every call pays it), so the Python
shares come out larger than without it; compare the rows with each other.
"""

from __future__ import annotations

import atexit
import inspect
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

MEMORY = "AXI4 memory model (AxiRam, latency, faults)"
LITE = "AXI4-Lite master (register accesses)"
STREAMS = "backend streams (m_axis sink, s_axis source, config port)"
MONITORS = "monitors, scoreboards, coverage"
PROTOCOL = "AXI protocol checker"
POLLING = "polling loops (quiesce, settle, used.idx waits)"
DRIVER = "driver model"
REFERENCE = "reference device (predictor)"
TESTS = "tests, sequences, pyuvm"
GAPS = "random gaps (vio.cocotb.gaps; before it, inside each bus model)"
SCHEDULER = "cocotb scheduler and triggers"
SIMULATOR = "simulator and GPI (no Python frame)"
ROWS = [SIMULATOR, SCHEDULER, MEMORY, LITE, STREAMS, GAPS, MONITORS, PROTOCOL, POLLING, DRIVER, REFERENCE, TESTS]

# cocotb's functions that resume a task, read a signal, write one (counted per component)
KINDS = {
    ("task.py", "Task._resume"): "resumer",
    ("handle.py", "LogicObject.get"): "signal reads",
    ("handle.py", "_LogicArrayObjectBase.get"): "signal reads",
    ("handle.py", "_schedule_write"): "signal writes",
}
RESUMABLE = inspect.CO_COROUTINE | inspect.CO_GENERATOR | inspect.CO_ITERABLE_COROUTINE  # a task's coroutine
KINDS_SHOWN = ("task resumes", "signal reads", "signal writes")
BUSES = {"m_axi": MEMORY, "s_axil": LITE, "m_axis": STREAMS, "s_axis": STREAMS}
# functions that wait by looking at every clock edge (or did): the waits of the tests and benches
POLLERS = {"quiesce", "settle", "_until_used", "until", "wait_activity", "until_quiet", "_quiet", "until_used", "_Watch._run"}
UVM_MONITORS = ("RegisterBusMonitor", "DmaMonitor", "StreamMonitor", "IrqMonitorComponent", "VirtioScoreboard", "VirtioCoverage")


def _by_code(code) -> str | None:
    """The component of a frame of ``code`` when its file and name say it; None: ask ``self``."""
    path, name = code.co_filename.replace(os.sep, "/"), code.co_qualname
    short = name.rsplit(".", 1)[-1]
    if "/cocotbext/axi/" in path:
        return None
    kit = "/vio/cocotb/" in path
    if kit or "/tb/" in path:
        if short in POLLERS or name in POLLERS:
            return POLLING
        file = path.rsplit("/vio/cocotb/" if kit else "/tb/", 1)[1]
        if file == "axi_protocol.py":
            return PROTOCOL
        if file in ("backend_stream.py", "axis_beats.py"):
            return STREAMS
        if file in ("faults.py", "guest_ram.py"):
            return MEMORY
        if file == "gaps.py":
            return GAPS
        if file in ("scoreboards.py", "monitors.py", "predictor.py", "uvm/coverage.py") or name.startswith(UVM_MONITORS) or short == "_watch_irq":
            return MONITORS
        if kit or file in ("runner.py", "top.py", "profile_cosim.py"):
            return ""  # glue: the caller's
        return TESTS
    if "/tests/" in path:
        return TESTS
    if "/vio/device/" in path:
        return REFERENCE
    if "/vio/" in path:
        return DRIVER if "/driver" in path else ""
    if "/pyuvm/" in path:
        return TESTS
    return ""


class _Profiler:
    def __init__(self, out: Path):
        self.out = out
        self.totals: dict[str, float] = defaultdict(float)
        self.codes: dict[object, str | None] = {}
        self.objects: dict[int, str] = {}
        self.stack: list[str] = []  # the component of every frame entered since install ("" = none)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.kinds: dict[object, str] = {}  # code -> "resumer", "reads", "writes" or ""
        self.resumed: dict[str, int] = defaultdict(int)  # task resumes by the coroutine resumed
        self.accessed: dict[str, int] = defaultdict(int)  # signal reads and writes by the function outside cocotb
        self.last = time.perf_counter()
        self.start = self.last

    def _component(self, frame) -> str:
        code = frame.f_code
        kind = self.codes.get(code, 0)
        if kind == 0:
            kind = self.codes[code] = _by_code(code)
        if kind is None:  # a cocotbext-axi object: by the bus it drives
            obj = frame.f_locals.get("self")
            kind = self.objects.get(id(obj))
            if kind is None:  # (not cached before the object has its log: in its __init__)
                log = getattr(obj, "log", None)
                kind = BUSES.get(getattr(log, "name", "").rsplit(".", 1)[-1], "")
                if kind:
                    self.objects[id(obj)] = kind
        return kind or (self.stack[-1] if self.stack else "")

    def _kind(self, code) -> str:
        kind = self.kinds.get(code)
        if kind is None:
            path = code.co_filename.replace(os.sep, "/")
            kind = self.kinds[code] = KINDS.get((path.rsplit("/cocotb/", 1)[-1], code.co_qualname), "") if "/cocotb/" in path else ""
        return kind

    def __call__(self, frame, event, arg) -> None:
        if event != "call" and event != "return":
            return  # a C function: its time goes to the Python frame calling it
        now = time.perf_counter()
        stack = self.stack
        self.totals[(stack[-1] or SCHEDULER) if stack else SIMULATOR] += now - self.last
        if event == "call":
            component = self._component(frame)
            kind = self._kind(frame.f_code)
            if kind and kind != "resumer":  # a signal read or write: the caller's
                self.counts[(stack[-1] if stack else "") or SCHEDULER, kind] += 1
                caller = frame.f_back
                while caller is not None and "/cocotb/" in caller.f_code.co_filename:
                    caller = caller.f_back
                self.accessed[caller.f_code.co_qualname if caller is not None else "?"] += 1
            elif frame.f_code.co_flags & RESUMABLE and frame.f_back is not None and self._kind(frame.f_back.f_code) == "resumer":
                self.counts[component or SCHEDULER, "task resumes"] += 1
                self.resumed[frame.f_code.co_qualname] += 1
            stack.append(component)
        elif stack:
            stack.pop()
        self.last = time.perf_counter()

    @staticmethod
    def cycles() -> float:
        from cocotb.utils import get_sim_time

        from vio.cocotb.clock import DEFAULT_PERIOD_NS as CLOCK_PERIOD_NS

        return get_sim_time(unit="ns") / CLOCK_PERIOD_NS

    def write(self) -> None:
        sys.setprofile(None)
        totals = {"seconds": dict(self.totals), "wall": time.perf_counter() - self.start, "cycles": self.cycles()}
        for (component, kind), n in self.counts.items():
            totals.setdefault(kind, {})[component] = n
        totals["resumed"] = dict(sorted(self.resumed.items(), key=lambda kv: -kv[1]))
        totals["accessed"] = dict(sorted(self.accessed.items(), key=lambda kv: -kv[1]))
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"{os.getpid()}.json").write_text(json.dumps(totals, indent=1))


def install(out: str) -> None:
    """Profile this process until it exits (see the module docstring)."""
    profiler = _Profiler(Path(out))
    atexit.register(profiler.write)
    sys.setprofile(profiler)


def table(files: list[Path]) -> str:
    """Per component: share of the attributed time, and per simulated cycle the
    task resumes, signal reads and signal writes it made."""
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    wall = cycles = 0.0
    for f in files:
        run = json.loads(f.read_text())
        wall += run["wall"]
        cycles += run["cycles"] or 0
        for k, v in run["seconds"].items():
            seconds[k] += v
        for kind in KINDS_SHOWN:
            for k, v in run.get(kind, {}).items():
                counts[kind][k] += v
    counted = sum(seconds.values())
    per = max(cycles, 1)
    head = f"{'component':<58} {'share':>6} " + " ".join(f"{k.split()[-1] + '/cycle':>13}" for k in KINDS_SHOWN)
    lines = [f"{len(files)} simulation(s), {cycles:.0f} cycles, {wall:.1f} s under the profiler", head]
    for row in sorted(set(seconds) | set(ROWS), key=lambda r: -seconds.get(r, 0)):
        if row in seconds or any(counts[k].get(row) for k in KINDS_SHOWN):
            cells = " ".join(f"{counts[k].get(row, 0) / per:>13.2f}" for k in KINDS_SHOWN)
            lines.append(f"{row:<58} {seconds.get(row, 0) / counted:>6.1%} {cells}")
    totals = " ".join(f"{sum(counts[k].values()) / per:>13.2f}" for k in KINDS_SHOWN)
    lines.append(f"{'all':<58} {'':>6} {totals}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    files = [f for a in argv for f in (sorted(Path(a).glob("*.json")) if Path(a).is_dir() else [Path(a)])]
    if not files:
        print(f"no profiles in {argv}", file=sys.stderr)
        return 1
    print(table(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
