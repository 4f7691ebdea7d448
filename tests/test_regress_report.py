"""The regression's JUnit XML (build/regress/junit.xml, beside its table):
one testcase per run, a failure for every run not as expected, with the line
that reproduces it."""

import xml.etree.ElementTree as ET
from pathlib import Path

from tb.regress import junit, table

ROOT = Path(__file__).resolve().parents[1]


def record(test: str, result: str, failures: list[str]) -> dict:
    run_id = f"{test}-verilator-lb-dw32-s1"
    return {
        "test": test, "sim": "verilator", "params": "lb-dw32", "seed": 1, "id": run_id, "result": result,
        "failures": failures, "wall_s": 2.5, "sim_ns": 1000.0,
        "reproduce": f"make regress TESTS={test} SIM=verilator PARAMS=lb-dw32 SEED=1",
    }


RECORDS = [
    record("random", "pass", []),
    record("ring", "FAIL", ["LoopbackRingTest: completion scoreboard: used.len 3, predicted 4\nmore"]),
    record("fault_used_len", "xfail (caught)", ["LoopbackUsedLenFaultTest: the driver reaped used.len"]),
    record("hostile", "FAIL (fault not caught)", []),
]


def test_junit_has_a_case_per_run_and_fails_exactly_the_bad_ones(tmp_path):
    path = tmp_path / "junit.xml"
    junit(RECORDS, path)
    suite = ET.parse(path).getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "4", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {r["id"] for r in RECORDS}
    failed = {name for name, c in cases.items() if c.find("failure") is not None}
    assert failed == {"ring-verilator-lb-dw32-s1", "hostile-verilator-lb-dw32-s1"}
    ring = cases["ring-verilator-lb-dw32-s1"].find("failure")
    assert ring.get("message") == "FAIL: LoopbackRingTest: completion scoreboard: used.len 3, predicted 4"
    assert ring.text.endswith("reproduce: make regress TESTS=ring SIM=verilator PARAMS=lb-dw32 SEED=1")
    props = {p.get("name"): p.get("value") for p in cases["fault_used_len-verilator-lb-dw32-s1"].iter("property")}
    assert props["result"] == "xfail (caught)" and props["seed"] == "1"


def test_junit_agrees_with_the_table(tmp_path):
    junit(RECORDS, tmp_path / "junit.xml")
    failures = int(ET.parse(tmp_path / "junit.xml").getroot().get("failures"))
    assert f"4 runs, {4 - failures} as expected, {failures} failed" in table(RECORDS)
