"""Functional coverage of the pyuvm regression, with cocotb-coverage.

Every cover point is defined here at import, so each run's database has every
bin (hit or not) and the databases of a regression merge bin by bin
(``merge`` below, cocotb-coverage's ``merge_coverage``). The sample functions
are called by the coverage subscriber (tb/uvm/components.py) from what the
monitors and the driver component publish; they never predict.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from cocotb_coverage.coverage import CoverCross, CoverItem, CoverPoint, coverage_db, merge_coverage

from vio.constants import Cause

from .items import DIRECTIONS, LENGTH_BUCKETS

QUEUES = (0, 1, 2)  # the loopback builds' queues: interrupts, polled (NO_INTERRUPT), forced indirect
# what the ring engine's units are doing (components.engine_activity; docs/engine.md)
ENGINE_ACTIVITIES = ("idle", "fetch", "request", "data_read", "abort", "answer", "drain", "publish", "irq_decision")
CAUSES = tuple(c.name for c in Cause if c != Cause.NONE)
IRQ_RULES = ("event_idx_passed", "event_idx_not_passed", "no_interrupt_set", "no_interrupt_clear", "notify_on_empty")
PAUSES = ("none", "light", "heavy")
LATENCIES = ("0", "short", "long")
RING_EVENTS = ("full", "empty_notify", "used_idx_wrap", "avail_idx_wrap", "long_chain_queue_num")
BACKEND_EVENTS = ("gate_stall", "hold_release", "burst_release")
NOTIFY_EVENTS = ("storm_idle", "storm_busy", "storm_missing_queue", "config_change")
CONSOLE_EVENTS = ("multiport_handshake", "host_open", "host_close", "guest_open", "guest_close", "guest_write", "host_write")
BLOCK_EVENTS = ("read", "write", "flush", "get_id", "ioerr")
RESET_POINTS = ("quiescent_with_held", "during_traffic")

PREFIX = "virtio"


# ------------------------------------------------------------ transfers
@CoverPoint(f"{PREFIX}.transfer.queue", xf=lambda t: t.queue, bins=list(QUEUES))
@CoverPoint(f"{PREFIX}.transfer.length", xf=lambda t: t.bucket, bins=list(LENGTH_BUCKETS))
@CoverPoint(f"{PREFIX}.transfer.direction", xf=lambda t: t.direction, bins=list(DIRECTIONS))
@CoverPoint(f"{PREFIX}.transfer.indirect", xf=lambda t: t.indirect, bins=[True, False])
@CoverCross(f"{PREFIX}.transfer.queue_x_length_x_direction_x_indirect",
            items=[f"{PREFIX}.transfer.queue", f"{PREFIX}.transfer.length", f"{PREFIX}.transfer.direction", f"{PREFIX}.transfer.indirect"],
            ign_bins=[(None, "1", "both", None)])  # fmt: skip  (one buffer has one direction)
def sample_transfer(t) -> None:
    """t: .queue, .bucket, .direction, .indirect (as posted)."""


# ---------------------------------------------------------- interrupts
@CoverPoint(f"{PREFIX}.irq.decision", xf=lambda raised, event_idx, rule: "raised" if raised else "suppressed", bins=["raised", "suppressed"])
@CoverPoint(f"{PREFIX}.irq.event_idx", xf=lambda raised, event_idx, rule: event_idx, bins=[True, False])
@CoverPoint(f"{PREFIX}.irq.rule", xf=lambda raised, event_idx, rule: rule, bins=list(IRQ_RULES))
@CoverCross(f"{PREFIX}.irq.decision_x_event_idx", items=[f"{PREFIX}.irq.decision", f"{PREFIX}.irq.event_idx"])
def sample_irq(raised: bool, event_idx: bool, rule: str) -> None:
    """One used entry's interrupt decision (the predictor's, for an entry the DUT published)."""


def irq_rule(reason: str) -> str:
    """The rule named by a PredictedUse.reason (vio.device.mmio's interrupt_decision wording)."""
    if reason.startswith("NOTIFY_ON_EMPTY:"):
        return "notify_on_empty"
    if "EVENT_IDX" in reason:
        return "event_idx_passed" if reason.endswith(" passes it") else "event_idx_not_passed"
    return "no_interrupt_set" if reason.endswith("NO_INTERRUPT set") else "no_interrupt_clear"


# --------------------------------------------------------------- rings
@CoverPoint(f"{PREFIX}.ring.event", xf=lambda e: e, bins=list(RING_EVENTS))
def sample_ring(event: str) -> None:
    """A ring situation reached: full, notify of an empty ring, u16 wrap of used.idx / avail.idx, a chain of QueueNum descriptors."""


@CoverPoint(f"{PREFIX}.notify.event", xf=lambda e: e, bins=list(NOTIFY_EVENTS))
def sample_notify(event: str) -> None:
    """Notify storms: on idle queues, while chains are in flight, of a missing queue."""


# --------------------------------------------------------------- reset
@CoverPoint(f"{PREFIX}.reset.point", xf=lambda point: point, bins=list(RESET_POINTS))
def sample_reset(point: str) -> None:
    """A Status=0 write: at a quiescent point or in the middle of traffic."""


@CoverPoint(f"{PREFIX}.reset.activity", xf=lambda activity: activity, bins=list(ENGINE_ACTIVITIES))
def sample_reset_activity(activity: str) -> None:
    """One thing the ring engine was doing on the cycle a reset request reached it (one sample each)."""


# ------------------------------------------------------------- hostile
@CoverPoint(f"{PREFIX}.hostile.cause", xf=lambda cause: Cause(cause).name, bins=list(CAUSES))
def sample_cause(cause: int) -> None:
    """The DEVICE_ERROR cause the RTL reported for a hostile ring."""


# ------------------------------------------------------------- backend
@CoverPoint(f"{PREFIX}.backend.event", xf=lambda e: e, bins=list(BACKEND_EVENTS))
def sample_backend(event: str) -> None:
    """Backend stalls (backend_ready low) and held answers released one by one or in a burst."""


@CoverPoint(f"{PREFIX}.pressure.pause", xf=lambda pause, latency: pause, bins=list(PAUSES))
@CoverPoint(f"{PREFIX}.pressure.latency", xf=lambda pause, latency: latency, bins=list(LATENCIES))
@CoverCross(f"{PREFIX}.pressure.pause_x_latency", items=[f"{PREFIX}.pressure.pause", f"{PREFIX}.pressure.latency"])
def sample_pressure(pause: str, latency: str) -> None:
    """Random AXI / stream backpressure and memory latency of a stretch of traffic."""


def pressure_bins(pause: float, latency: int) -> tuple[str, str]:
    p = "none" if not pause else ("light" if pause < 0.25 else "heavy")
    lat = "0" if not latency else ("short" if latency < 16 else "long")
    return p, lat


# ---------------------------------------------------------- personalities
@CoverPoint(f"{PREFIX}.console.event", xf=lambda e: e, bins=list(CONSOLE_EVENTS))
def sample_console(event: str) -> None:
    """Console multiport: handshake, ports opened and closed at each end, data each way."""


@CoverPoint(f"{PREFIX}.block.event", xf=lambda e: e, bins=list(BLOCK_EVENTS))
def sample_block(event: str) -> None:
    """Block requests, data checked against the disk image."""


# ------------------------------------------------------- files, reports
# The hits of every cover point and cross when this run started: a simulator
# process that runs several runs one after another (tb/batch.py) keeps one
# database (cocotb-coverage's is a singleton), so a run's own hits are the
# database's minus these.
_baseline: dict[str, dict] = {}


def start_run() -> None:
    """From here on the hits are this run's (:func:`export` writes only them)."""
    _baseline.clear()
    for name, item in coverage_db.items():
        if type(item) is not CoverItem:
            _baseline[name] = dict(item.detailed_coverage)


def export(path: Path) -> None:
    """This run's database as YAML (bins and hits of every cover item since
    :func:`start_run`), in the form of cocotb-coverage's
    ``coverage_db.export_to_yaml``: the same file as that export of a
    process that ran this run alone (tests/test_regress_batch.py checks it)."""
    leaves: dict[str, tuple[int, dict]] = {}  # name -> (covered size, hits)
    for name, item in coverage_db.items():
        if type(item) is CoverItem:
            continue
        if not isinstance(item, (CoverPoint, CoverCross)):
            raise TypeError(f"{name}: {type(item).__name__} has no per-run export here (only cover points and crosses)")
        base = _baseline.get(name, {})
        hits = {b: n - base.get(b, 0) for b, n in item.detailed_coverage.items()}
        covered = item.size - item.weight * sum(1 for n in hits.values() if n < item.at_least)
        leaves[name] = (covered, hits)
    data = {}
    for name in sorted(coverage_db, key=str.lower):
        item = coverage_db[name]
        if type(item) is CoverItem:  # a group: the covered size of every point and cross under it
            covered = sum(c for leaf, (c, _) in leaves.items() if leaf.startswith(name + "."))
        else:
            covered = leaves[name][0]
        entry = {"type": str(type(item)), "size": item.size, "coverage": covered, "cover_percentage": round(100 * covered / item.size, 2)}
        if type(item) is not CoverItem:
            entry["weight"] = item.weight
            entry["at_least"] = item.at_least
            entry["bins:_hits"] = {(str(b) if hasattr(b, "__iter__") else b): n for b, n in leaves[name][1].items()}
        data[name] = entry
    with open(path, "w") as out:
        yaml.dump(data, out, default_flow_style=False)


def merge(files: list[Path], out: Path) -> dict:
    """The runs' databases merged bin by bin into ``out``; returns it loaded."""
    files = [str(f) for f in files]
    if len(files) == 1:
        Path(out).write_text(Path(files[0]).read_text())
    else:
        merge_coverage(lambda *_: None, str(out), *files)
    return yaml.safe_load(Path(out).read_text())


def report(db: dict, title: str) -> tuple[str, list[str]]:
    """A text report (one line per cover point and cross, then every bin never
    hit) and the list of missed bins as 'item: bin'."""
    lines = [title, f"{'cover item':<58} {'bins hit':>10} {'%':>7}"]
    missed: list[str] = []
    total = hit = 0
    for name in sorted(db):
        item = db[name]
        bins = item.get("bins:_hits")
        if bins is None:
            continue
        n_hit = sum(1 for v in bins.values() if v >= item.get("at_least", 1))
        total += len(bins)
        hit += n_hit
        lines.append(f"{name:<58} {n_hit:>4}/{len(bins):<5} {100.0 * n_hit / max(1, len(bins)):>6.1f}")
        missed += [f"{name}: {b}" for b, v in bins.items() if v < item.get("at_least", 1)]
    lines.append(f"{'all bins':<58} {hit:>4}/{total:<5} {100.0 * hit / max(1, total):>6.1f}")
    lines.append(f"bins never hit ({len(missed)}):" if missed else "bins never hit: none")
    lines += ["  " + m for m in missed]
    return "\n".join(lines), missed
