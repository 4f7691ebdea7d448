"""The regression of tb/regress.py, one pytest test per run (simulator,
parameter set, test, seed), so that pytest-xdist spreads them over the cores.

Under `make test` this is the short regression (one seed of a few tests on
both simulators, REGRESS unset); `make regress` runs the full one through
``python -m tb.regress run`` (REGRESS=full, SEEDS, SIM, TESTS, PARAMS, SHARD).
A run passes when every cocotb test in it passed, or, for an entry meant to
fail (an injected fault), when it failed with the scoreboard's message.
"""

import pytest

from tb.regress import ok, run_one, select

RUNS = select()


@pytest.mark.parametrize("run", RUNS, ids=[r.id for r in RUNS])
def test_regress(run):
    record = run_one(run)
    detail = "\n".join("\n".join(record["failures"]).splitlines()[:16]) or "(no failure)"
    assert ok(record), f"{record['result']}: {detail}\nreproduce: {record['reproduce']}"
