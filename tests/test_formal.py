"""Formal: the quick subset of `make formal` (formal/run.py).

One model with every assertion group (AXI4-Lite, AXI4, streams, the write
invariant, the units' invariants) is checked by ABC's bmc3 to a short depth from reset (driver
set-up and the first ring reads), and one mutation (the AXI4-Lite B valid
dropped before BREADY) must be caught by the same flow, so the check can
fail. `make formal` runs each group to its full depth, the chain groups from
the simulated set-up's start states, the witnesses and the whole mutation
table (the chain groups' set-up and start states take about 80 s more than
this file's budget).
"""

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("formal_run", ROOT / "formal" / "run.py")
run = importlib.util.module_from_spec(_spec)
sys.modules["formal_run"] = run
_spec.loader.exec_module(run)

QUICK = next(g for g in run.GROUPS if g.name == "all")


@pytest.fixture(autouse=True)
def _tools():
    for tool in ("yosys", "yosys-abc"):
        assert shutil.which(tool), f"{tool} not found: `make setup` installs the Debian package yosys"


def test_every_property_holds_to_quick_depth(tmp_path):
    result = run.run_group(QUICK, QUICK.quick_depth, run.Design(run.ROOT / "hdl", tmp_path))
    assert result.status == "PASS", (
        f"{result.status} at frame {result.frame}: see {result.trace} {result.detail}")


def test_mutation_axil_bvalid_drops_is_caught(tmp_path):
    mut = next(m for m in run.MUTATIONS if m.name == "axil-bvalid-drops")
    result = run.run_mutation(mut, tmp_path, depth=QUICK.quick_depth)
    assert result.status == "FAIL", f"mutation {mut.name} not caught: {result.status} {result.detail}"


def test_every_mutation_applies_to_the_rtl():
    # a mutation whose text the RTL no longer holds would only fail when
    # `make formal` runs it: each must replace exactly one place
    stale = []
    for mut in run.MUTATIONS:
        try:
            run.mutated(mut, (ROOT / "hdl" / mut.file).read_text())
        except ValueError as exc:
            stale.append(str(exc))
    assert not stale, "mutations that no longer apply: " + "; ".join(stale)
