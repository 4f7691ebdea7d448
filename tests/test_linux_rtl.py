"""Linux 6.1's own ring code against the RTL (tb/test_linux.py), on builds of
the default parameters in build/linux/rtl-<sim>-<index base>.

On Verilator every case but index_wrap from index 0 (65 836 requests are the
reference device's: tests/test_linux.py); on Icarus every case with the ring
indices started 16 short of the wrap (RING_INDEX_BASE), so that each crosses
it, and again with random gaps on every channel (20 % per clock) and 8 cycles
of memory latency. Each run also shows a lost interrupt told apart from a
stall on the RTL. ``make linux-check`` (VIO_LINUX_CHECK=1) runs them all;
``make test`` the Icarus build with the cases of SMALL.
"""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tb/ for the simulator's Python too

from tb.runner import SimulationError, build, run  # noqa: E402
from vio.linux.build import library  # noqa: E402
from vio.linux.check import CASES, INDEX_BASE  # noqa: E402

TEST_MODULE = "tb.test_linux"
FULL = os.environ.get("VIO_LINUX_CHECK", "0") == "1"
SMALL = ["out_in_mixed", "reset_in_flight", "index_wrap"]


@dataclass(frozen=True)
class Run:
    sim: str
    index_base: int
    cases: tuple[str, ...]
    gaps: str = ""  # "pause,mem_latency"

    @property
    def id(self) -> str:
        return f"{self.sim}-base{self.index_base}" + ("-gaps" if self.gaps else "")


RUNS = [
    Run("verilator", 0, tuple(c for c in CASES if c != "index_wrap")),
    Run("icarus", INDEX_BASE, tuple(CASES)),
    Run("icarus", INDEX_BASE, tuple(CASES), "0.2,8"),
] if FULL else [Run("icarus", INDEX_BASE, tuple(SMALL))]  # fmt: skip


@pytest.mark.parametrize("r", RUNS, ids=[r.id for r in RUNS])
def test_linux_ring_code_on_the_rtl(r: Run):
    lib = library(ROOT / "build" / "linux")
    params = {"RING_INDEX_BASE": r.index_base}
    build_dir = ROOT / "build" / "linux" / f"rtl-{r.sim}-base{r.index_base}"
    try:
        build(r.sim, params, build_dir)
        results = run(r.sim, params, build_dir, TEST_MODULE, test_dir=build_dir / ("run-gaps" if r.gaps else "run"),
                      test_filter=rf"\.(linux/case=({'|'.join(r.cases)})|linux_lost_interrupt_or_stall)$",
                      extra_env={"VIO_LINUX_LIB": str(lib), "VIO_LINUX_GAPS": r.gaps or "0,0"})  # fmt: skip
    except SimulationError as err:
        pytest.fail(str(err))
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    assert not failed, "\n".join(failed)
    assert sorted(name.rsplit(".", 1)[-1] for name, _ in results) == sorted(["linux_lost_interrupt_or_stall", *(f"linux/case={c}" for c in r.cases)])
