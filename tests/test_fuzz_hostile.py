"""Random corruption on the reference device (vio.hostile.fuzz): seeded runs
and a hypothesis search, each operation checked for the invariants: no write
outside the used rings and writable buffers, no unbounded walk, DEVICE_ERROR
0 or a known cause with NEEDS_RESET exactly when broken.

The RTL runs the same sequences and is compared with the reference device
after every operation (tests/test_hostile_rtl.py). ``HOSTILE_SEEDS`` and
``HOSTILE_SEED`` choose the seeded runs here too, ``HOSTILE_EXAMPLES`` the
number of hypothesis examples (default 25).
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vio.device.loopback import ANSWER_MAX, LoopbackBackend, loopback_answer
from vio.hostile.fuzz import FuzzRun, fuzz_seeds, ops

from .rig import run


@pytest.mark.parametrize("seed", list(fuzz_seeds()))
def test_seeded(seed):
    r = run(FuzzRun(seed).run())
    assert r.notifies > 0


EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "25"))  # make regress: many more


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), steps=st.integers(min_value=1, max_value=120))
def test_hypothesis_invariants(seed, steps):
    run(FuzzRun(seed, steps=steps).run())


def test_the_fuzz_reaches_every_kind_of_outcome():
    """Across a few seeds the sequences both complete chains and break the
    device with many different causes: the fuzz is not trivially valid or
    trivially broken."""
    causes: set[int] = set()
    completed = 0
    for seed in range(1, 21):
        r = run(FuzzRun(seed).run())
        causes |= r.broken_seen
        completed += len(r.model.backend.received)
    assert completed > 100
    assert len(causes) >= 5, sorted(causes)


def test_a_device_writing_outside_its_buffers_is_caught():
    """The invariant check can fail: a reference device that scribbles one
    byte after each writable buffer fails the run, naming seed and step."""
    class Sloppy(FuzzRun):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            dev = self.model.dev
            complete = dev._complete

            def sloppy(q, chain):
                complete(q, chain)
                if chain.writable:
                    addr, length = chain.writable[-1]
                    dev.mem.write(addr + length, b"\x5a")

            dev._complete = sloppy

    with pytest.raises(AssertionError, match=r"(?s)fuzz seed 3, step \d+ .*reproduce: HOSTILE_SEED=3"):
        for seed in (3,):
            run(Sloppy(seed).run())


def test_ops_are_a_function_of_the_seed():
    assert [str(o) for o in ops(7)] == [str(o) for o in ops(7)]
    assert [str(o) for o in ops(7)] != [str(o) for o in ops(8)]


def test_gigabyte_lengths_cost_at_most_a_bounded_answer():
    """Seed 2 fuzzes a writable length of 2 GiB (step 69 of 100): the loopback
    answers at most ``answer_max`` bytes (a page on the hostile targets), so
    neither the reference device nor the RTL's stream gets gigabytes to carry."""
    r = run(FuzzRun(2, steps=100).run())
    assert max(n for _, _, n in r.model.backend.received) >= 1 << 31
    assert r.model.backend.answer_max == 4096
    loopback = LoopbackBackend(1)
    assert len(loopback.request(0, b"ab", 0xFFFFFFFF)) == ANSWER_MAX
    loopback.answer_max = 100
    assert loopback.request(0, b"ab", 1000) == loopback_answer(0, b"ab", 100)
    loopback.limit = 7
    assert len(loopback.request(0, b"ab", 1000)) == 7
