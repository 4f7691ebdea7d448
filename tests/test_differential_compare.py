"""The comparison of vio.differential on the reference device alone (no QEMU
needed): identical runs agree, a changed observation is named with its step
and field, allowed differences are excused only where they are declared."""

import asyncio
import copy

import pytest


from vio.differential import (
    LINUX_PROBE, MODEL_BASE, PAGE_SIZES, PERSONALITIES, DifferentialError, Observation, check_same, compare, model_target,
    run_model, run_scenario,
)  # fmt: skip
from vio.errors import VioError

from .rig import ForgetsThePageSize


def observe(personality: str) -> Observation:
    return asyncio.run(run_model(personality))


@pytest.mark.parametrize("personality", PERSONALITIES)
def test_two_runs_of_the_reference_device_agree(personality):
    a, b = observe(personality), observe(personality)
    assert compare(a, b) == []
    assert Observation.from_json(a.to_json()).steps == a.steps  # what travels to the RTL run


def test_a_changed_used_length_is_named():
    a = observe("block")
    b = copy.deepcopy(a)
    b.target = "other"
    step = next(s for s in b.steps if s["op"] == "read 0 1")
    step["used"]["0"][0][1] += 1
    diffs = compare(a, b)
    assert len(diffs) == 1 and diffs[0].startswith("step 3 (read 0 1) used: model")
    with pytest.raises(DifferentialError, match=r"block: model and other differ in 1 place"):
        check_same(a, b)


def test_missing_steps_and_other_registers_are_differences():
    a = observe("entropy")
    b = copy.deepcopy(a)
    b.target = "other"
    b.steps[0]["regs"]["Version"] = 2
    b.steps[0]["regs"]["VendorID"] = 0x12345678  # allowed: not reported
    b.steps[0]["regs"]["QueueNumMax[0]"] = 1024  # allowed: still a power of two
    del b.steps[-1]
    diffs = compare(a, b)
    assert any("has 9 steps, other 8" in d for d in diffs)
    assert [d for d in diffs if "steps" not in d] == ["step 0 (probe) Version: model 0x1, other 0x2"]
    b.steps[0]["regs"]["QueueNumMax[1]"] = 16  # a missing queue that says it exists
    assert any("QueueNumMax[1]: model missing (0), other present" in d for d in compare(a, b))


def test_event_idx_interrupt_bit_is_excused_only_against_the_rtl():
    a = observe("entropy")
    b = copy.deepcopy(a)
    step = next(s for s in b.steps if "isr(EVENT_IDX)" in s and s["isr(EVENT_IDX)"] == 1)
    step["isr(EVENT_IDX)"] = 0
    b.target = "rtl"
    assert compare(a, b) == []
    b.target = "qemu"
    assert len(compare(a, b)) == 1
    step["isr(EVENT_IDX)"] = 2  # a config interrupt is never excused
    b.target = "rtl"
    assert len(compare(a, b)) == 1


@pytest.mark.parametrize("personality", PERSONALITIES)
def test_linux_probe_order_runs_every_page_size(personality):
    """Linux's probe order (vio.differential.LINUX_PROBE): each page size is
    probed, its rings placed in that page, and traffic follows."""
    steps = LINUX_PROBE[personality]
    assert [s[1] for s in steps if s[0] == "linux"] == list(PAGE_SIZES)
    target = model_target(personality)
    obs = asyncio.run(run_scenario(personality, target, steps))
    device = target.hal.devices[MODEL_BASE][0]
    assert device.page_size == PAGE_SIZES[-1] and all(q.pfn * PAGE_SIZES[-1] == q.layout.base for q in device.queues)
    assert sum(len(u) for s in obs.steps for u in s.get("used", {}).values()) >= 3


@pytest.mark.parametrize("personality", PERSONALITIES)
def test_linux_probe_order_fails_on_a_device_that_forgets_the_page_size(personality):
    with pytest.raises(VioError):
        asyncio.run(run_scenario(personality, model_target(personality, device_class=ForgetsThePageSize), LINUX_PROBE[personality]))
