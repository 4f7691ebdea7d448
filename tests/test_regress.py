"""The regression of tb/regress.py, one pytest test per simulator process:
a batch of runs of one build (tb/batch.py) or a run alone, so that
pytest-xdist spreads them over the cores.

Under `make test` this is the short regression (one seed of a few tests on
both simulators, REGRESS unset); `make regress` runs the full one through
``python -m tb.regress run`` (REGRESS=full, SEEDS, SIM, TESTS, PARAMS, SHARD,
BATCH). A run passes when every cocotb test in it passed, or, for an entry
meant to fail (an injected fault), when it failed with the scoreboard's
message; a batch passes when each of its runs does.
"""

import pytest

from tb.regress import batch_size, batches, ok, run_batch, select

BATCHES = batches(select(), batch_size())


def _id(batch) -> str:
    return batch[0].id if len(batch) == 1 else f"{batch[0].sim}-{batch[0].params}-{'+'.join(r.id.split('-')[0] + f'.s{r.seed}' for r in batch)}"


@pytest.mark.parametrize("batch", BATCHES, ids=[_id(b) for b in BATCHES])
def test_regress(batch):
    records = run_batch(batch)
    assert [r["id"] for r in records] == [r.id for r in batch]  # a record for every run, none lost
    bad = [r for r in records if not ok(r)]
    detail = "\n".join(
        f"{r['id']}: {r['result']}: " + "\n".join("\n".join(r["failures"]).splitlines()[:16]) + f"\nreproduce: {r['reproduce']}" for r in bad
    )
    assert not bad, detail
