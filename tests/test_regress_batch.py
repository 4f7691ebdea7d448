"""The regression's batches (tb/regress.py ``run_batch``, tb/batch.py):
several runs of one build in one simulator process must keep every run's
record as a run alone would give it. Injected errors (tests/batch_cases.py)
prove that a failure, a failure that only the batch shows, and a simulator
process that dies in the middle of a run are reported for the run they
belong to, and that the runs around them keep their own results: none is
lost, none is passed on another run's account.

Also: a run's functional coverage file in a batch is the one the run writes
alone (tb/uvm/coverage.py counts its own hits)."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tb import regress
from tb.regress import Run, ok, run_batch, table

ROOT = Path(__file__).resolve().parents[1]
CASES = "tests.batch_cases"
ENTRIES = [
    regress.TestEntry("batch_pass", CASES, "BatchPassTest$", ("lb-dw32",)),
    regress.TestEntry("batch_fail", CASES, "BatchFailTest$", ("lb-dw32",)),
    regress.TestEntry("batch_leak", CASES, "BatchLeakTest$", ("lb-dw32",)),
    regress.TestEntry("batch_crash", CASES, "BatchCrashTest$", ("lb-dw32",)),
    regress.TestEntry("batch_xfail", CASES, "BatchFailTest$", ("lb-dw32",), expect_fail=("injected failure",)),
]


@pytest.fixture
def entries(monkeypatch):
    monkeypatch.setattr(regress, "TESTS", [*regress.TESTS, *ENTRIES])


def runs(*names_seeds: tuple[str, int]) -> list[Run]:
    return [Run(name, "verilator", "lb-dw32", seed) for name, seed in names_seeds]


def test_a_failure_in_a_batch_is_its_runs_and_only_its(entries, tmp_path):
    batch = runs(("batch_pass", 1), ("batch_fail", 1), ("batch_leak", 1), ("batch_pass", 2), ("batch_xfail", 1))
    recs = {r["id"]: r for r in run_batch(batch, tmp_path)}
    assert list(recs) == [r.id for r in batch]  # a record for each, in order
    p1, fail, leak, p2, xfail = (recs[r.id] for r in batch)
    # the runs around the failures: their own results, from the batch
    assert (p1["result"], p2["result"]) == ("pass", "pass") and "batch_note" not in p1 and "batch_note" not in p2
    assert (tmp_path / p2["id"] / "ran").read_text() == "2" and (tmp_path / p1["id"] / "ran").read_text() == "1"
    assert p1["sim_ns"] == p2["sim_ns"] == 100.0  # its own simulated time (the batch's start is padded to a clock period)
    # a failure: run again alone, still a failure, with its message
    assert fail["result"] == "FAIL" and "injected failure" in fail["failures"][0]
    assert fail["batch_note"].startswith("run again alone after FAIL")
    # a failure the batch alone shows: a FAIL, never a pass
    assert leak["result"] == "FAIL (in its batch only)"
    assert "injected leak" in leak["failures"][0] and leak["failures"][-1] == "alone: as expected"
    # an entry meant to fail is caught inside the batch
    assert xfail["result"] == "xfail (caught)" and "batch_note" not in xfail
    # the records on disk, the table and its reproduce lines
    assert {json.loads((tmp_path / i / "record.json").read_text())["result"] for i in recs} == {"pass", "FAIL", "FAIL (in its batch only)", "xfail (caught)"}
    text = table(list(recs.values()))
    assert "5 runs, 3 as expected, 2 failed" in text
    assert f"reproduce: {fail['reproduce']}" in text and f"reproduce: {leak['reproduce']}" in text
    info = json.loads((tmp_path / regress.batch_id(batch) / "batch.json").read_text())
    assert info["rerun_alone"] == [fail["id"], leak["id"]] and info["error"] is None


def test_a_crash_in_a_batch_loses_no_run(entries, tmp_path):
    batch = runs(("batch_pass", 1), ("batch_crash", 1), ("batch_pass", 2))
    recs = run_batch(batch, tmp_path)
    assert [r["id"] for r in recs] == [r.id for r in batch]
    before, crash, after = recs
    # the process died: no result for any run of it, each run again alone
    assert crash["result"] == "FAIL" and crash["failures"][0].startswith("simulation error")
    assert (before["result"], after["result"]) == ("pass", "pass")
    for r in recs:
        assert f"the process ended in run {crash['id']}" in r["batch_note"]
    assert not ok(crash) and "1 failed" in table(recs)


def test_a_runs_functional_coverage_is_its_own(tmp_path):
    """tb/uvm/coverage.py export after other samples in the same process
    (start_run between them) writes the file a process with the run alone
    writes, which is cocotb-coverage's own export."""
    script = (
        "import sys; from types import SimpleNamespace as T; from tb.uvm import coverage as cov\n"
        "from cocotb_coverage.coverage import coverage_db\n"
        "if sys.argv[1] == 'after':\n"
        "    cov.sample_transfer(T(queue=0, bucket='1', direction='out', indirect=False)); cov.sample_pressure('none', '0')\n"
        "    cov.sample_irq(True, True, 'notify_on_empty'); cov.start_run()\n"
        "cov.sample_transfer(T(queue=1, bucket='2-3', direction='in', indirect=True)); cov.sample_pressure('heavy', 'long')\n"
        "cov.sample_transfer(T(queue=0, bucket='1', direction='out', indirect=False)); cov.sample_ring('full')\n"
        "cov.export(sys.argv[2])\n"
        "if sys.argv[1] == 'alone': coverage_db.export_to_yaml(sys.argv[2] + '.lib')\n"
    )
    for mode in ("alone", "after"):
        subprocess.run([sys.executable, "-c", script, mode, str(tmp_path / f"{mode}.yml")], cwd=ROOT, check=True)
    alone = (tmp_path / "alone.yml").read_text()
    assert alone == (tmp_path / "alone.yml.lib").read_text()
    assert (tmp_path / "after.yml").read_text() == alone
    assert "coverage: 0" in alone and "transfer.queue" in alone
