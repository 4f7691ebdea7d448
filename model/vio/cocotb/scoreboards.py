"""The four scoreboards: the predictor's expectations against the monitors'
observations (docs/verification.md, "Scoreboards").

Layers, as pyuvm's TinyALU (without pyuvm):

- stimulus: the driver model (:class:`vio.VioDriver`) over a
  :class:`~vio.cocotb.predictor.PredictedHal` (:mod:`vio.cocotb.predictor`);
- predictor: :class:`~vio.cocotb.predictor.Predictor`, the reference device;
- monitors (:mod:`vio.cocotb.monitors`): the AXI write and read monitors,
  the used-ring observer, the interrupt line, plus the DUT backend's own log
  of what arrived on its request stream;
- scoreboards, compared in ``check()``: :class:`CompletionScoreboard`,
  :class:`DataScoreboard`, :class:`MemoryScoreboard`,
  :class:`InterruptScoreboard`; :class:`Scoreboards` builds and wires all four
  with their monitors. :class:`vio.cocotb.session.CheckedSession` puts the
  whole of it on a :class:`vio.cocotb.env.VirtioEnv`.

Within a batch of notifies the DUT is free to interleave queues and to pop
ahead of answers; the comparisons are per queue and the interrupt timeline
follows the order the DUT wrote its used.idx values.

Usage without the env::

    cycle_clock = CycleClock(period_ns)
    predictor = Predictor(LoopbackBackend(nq), mem_size, queue_num_max=16, ...)
    mem = MirroredMemory(mem_size, store=ram_bytes, mirror=predictor.mem)
    hal = PredictedHal(CocotbHal(axil, dut.irq, mem), predictor, cycle_clock=cycle_clock, settle=settle)
    sb = Scoreboards(dut, predictor, clock=dut.clk, irq=dut.irq, dma="m_axi", cycle_clock=cycle_clock)
    sb.start()
    drv = VioDriver(0, drv_features=..., queue=..., hal=hal)
    sb.attach(hal, drv, streams.log)
    ... await drv.init(); traffic ...
    sb.check()              # AssertionError naming every discrepancy of every scoreboard
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from cocotb.handle import SimHandleBase

from vio import constants as C
from vio.driver import VIO_IOV_FLAGS_WRITE, VioDriver, VioTransfer
from vio.oracle import OracleViolation, Region, ShadowMemory, landmark_regions

from .clock import CycleClock
from .monitors import AxiReadMonitor, AxiWrite, AxiWriteMonitor, IrqMonitor, ObservedUse, UsedRingObserver
from .predictor import PredictedHal, PredictedUse, Predictor, RegisterAccess

__all__ = [
    "CompletionScoreboard",
    "DataScoreboard",
    "InterruptScoreboard",
    "MemoryScoreboard",
    "PostedChain",
    "Reaped",
    "Scoreboards",
    "RISE_BOUND_CYCLES",
    "DROP_BOUND_CYCLES",
]

# Interrupt timing bounds, in clock cycles (measured: see tests/test_scoreboards.py
# and the clean run's log line "interrupt latencies").
# rise: irq high this many cycles after the decision's last input at the latest:
#   the B response of the used.idx write, or the response of the decision read
#   that follows it (used_event or avail.flags; none when NOTIFY_ON_EMPTY decides).
#   Reads issued earlier (the engine reads ahead for other chains) may hold the
#   decision read up on the in-order R channel: that wait is the bus's, not the
#   decision's, and is not counted.
#   The device raises irq with the decision read's response (0 cycles); after the
#   B when NOTIFY_ON_EMPTY decides without a read (the write engine's count, the
#   publisher's issue and decide steps: up to 3).
RISE_BOUND_CYCLES = 3
# issue: the decision read is among the first reads asked for after that B: at
#   most this many ARs before it. The read request reaches the read engine in
#   the cycle after the B (the write engine's acknowledgement); when another read
#   issues in that cycle it waits in the read engine's holding register, which
#   then issues first. Meanwhile the engine may ask other reads of its own, and
#   the bus may hold one AR back. Counted in ARs, not cycles, so the
#   bus's own AR backpressure does not count. (2 held while the test bench's
#   memory took at most three reads: ARREADY was low through most of those cycles.)
ISSUE_BOUND_ARS = 4
# drop: from the cycle the InterruptACK write's response reached the driver to irq low.
DROP_BOUND_CYCLES = 2

_SHOWN = 12  # lines per kind of discrepancy spelled out in a message


def _cap(lines: list[str], shown: int = _SHOWN) -> list[str]:
    if len(lines) <= shown:
        return lines
    return lines[:shown] + [f"... and {len(lines) - shown} more"]


@dataclass
class PostedChain:
    """A transfer as the driver posted it (the driver's view, never re-read)."""

    queue: int
    seq: int  # k-th transfer posted on this queue
    head: int
    iov: list[tuple[int, int, int]]  # (buffer, size, flags)


@dataclass
class Reaped:
    """A transfer as the driver completed it: the head, used.len and the bytes of
    its writable buffers as the driver reads them."""

    posted: PostedChain
    actual: int
    buffers: list[tuple[int, bytes]]  # (addr, bytes) of every writable iov


class _Scoreboard(ABC):
    name = "scoreboard"

    @abstractmethod
    def errors(self) -> list[str]:
        """Every discrepancy found so far, one message each."""

    def check(self) -> None:
        errs = self.errors()
        if errs:
            raise AssertionError(f"{self.name} scoreboard: {len(errs)} discrepancy(ies)\n" + "\n".join("  " + e for e in errs))


class CompletionScoreboard(_Scoreboard):
    """Every posted chain used exactly once, with the right id and len, in the
    per-queue order the reference device predicts: in the used ring as the DUT
    wrote it (bus), and as the driver reaped it."""

    name = "completion"

    def __init__(self, predictor: Predictor, observer: UsedRingObserver):
        self.predictor = predictor
        self.observer = observer
        self.posted: dict[int, list[PostedChain]] = defaultdict(list)
        self.reaped: dict[int, dict[int, list[Reaped]]] = defaultdict(lambda: defaultdict(list))

    def note_posted(self, chain: PostedChain) -> None:
        self.posted[chain.queue].append(chain)

    def note_reaped(self, r: Reaped) -> None:
        self.reaped[r.posted.queue][r.posted.seq].append(r)

    def errors(self) -> list[str]:
        errs = [f"used ring: {a}" for a in _cap(self.observer.anomalies)]
        queues = sorted(set(self.posted) | set(self.predictor.uses) | set(self.observer.uses))
        for q in queues:
            posted, pred, obs = self.posted.get(q, []), self.predictor.uses.get(q, []), self.observer.uses.get(q, [])
            lines: list[str] = []
            for chain in posted:
                if chain.seq >= len(pred):
                    lines.append(f"queue {q}: posted chain #{chain.seq} (head {chain.head}) has no predicted used entry (the reference device did not use it)")
                elif pred[chain.seq].head != chain.head:
                    lines.append(f"queue {q}: the reference device uses head {pred[chain.seq].head} for posted chain #{chain.seq} (head {chain.head})")
            if len(pred) > len(posted):
                lines.append(f"queue {q}: the reference device used {len(pred)} chains, {len(posted)} were posted")
            # the DUT's used ring against the prediction, entry by entry
            for k in range(max(len(pred), len(obs))):
                if k < len(pred) and k < len(obs):
                    p, o = pred[k], obs[k]
                    if (o.head, o.length) != (p.head, p.length):
                        lines.append(
                            f"queue {q}: used entry #{k} (used.idx {o.used_idx}, published at cycle {o.cycle}): "
                            f"DUT wrote id {o.head} len {o.length}, predicted id {p.head} len {p.length}"
                        )
                elif k < len(pred):
                    p = pred[k]
                    lines.append(
                        f"queue {q}: posted chain #{k} (head {p.head}, predicted len {p.length}) never appeared in the used ring "
                        f"(the DUT published {len(obs)} of {len(pred)} predicted used entries)"
                    )
                else:
                    o = obs[k]
                    lines.append(f"queue {q}: extra used entry #{k} (id {o.head} len {o.length}) published at cycle {o.cycle}, not predicted")
            # the driver's view: each posted chain completed exactly once, with the predicted len
            for chain in posted:
                got = self.reaped.get(q, {}).get(chain.seq, [])
                if not got:
                    lines.append(f"queue {q}: posted chain #{chain.seq} (head {chain.head}) was never completed to the driver")
                    continue
                if len(got) > 1:
                    lines.append(f"queue {q}: posted chain #{chain.seq} (head {chain.head}) completed {len(got)} times to the driver")
                if chain.seq < len(pred) and got[0].actual != pred[chain.seq].length:
                    lines.append(
                        f"queue {q}: the driver reaped used.len {got[0].actual} for posted chain #{chain.seq} (head {chain.head}), "
                        f"predicted {pred[chain.seq].length}"
                    )
            errs += _cap(lines)
        return errs

    def summary(self) -> str:
        return (
            f"completion: {sum(len(v) for v in self.posted.values())} posted, "
            f"{sum(len(v) for v in self.predictor.uses.values())} predicted, "
            f"{sum(len(v) for v in self.observer.uses.values())} used entries observed"
        )


class DataScoreboard(_Scoreboard):
    """Byte-exact data in both directions: what the driver reads in its writable
    buffers equals what the reference device left there (the answer, and the
    untouched rest); what the RTL's backend received over m_axis (readable bytes
    and writable length, per queue in order) equals the reference device's requests."""

    name = "data"

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self.observed_requests: list[tuple[int, bytes, int]] = []
        self.reaped: dict[int, list[Reaped]] = defaultdict(list)

    def attach_backend_log(self, received: list[tuple[int, bytes, int]]) -> None:
        """The RTL backend's log of requests: (queue, readable bytes, writable_len)."""
        self.observed_requests = received

    def note_reaped(self, r: Reaped) -> None:
        self.reaped[r.posted.queue].append(r)

    @staticmethod
    def _first_diff(a: bytes, b: bytes) -> int:
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return i
        return min(len(a), len(b))

    def errors(self) -> list[str]:
        errs: list[str] = []
        # driver <- device
        lines: list[str] = []
        for q in sorted(self.reaped):
            pred = self.predictor.uses.get(q, [])
            for r in self.reaped[q]:
                seq, head = r.posted.seq, r.posted.head
                if seq >= len(pred):
                    lines.append(f"queue {q} chain #{seq} (head {head}): completed to the driver but no used entry is predicted for it")
                    continue
                p = pred[seq]
                if [(a, len(b)) for a, b in r.buffers] != p.writable:
                    lines.append(f"queue {q} chain #{seq} (head {head}): writable buffers {[(hex(a), len(b)) for a, b in r.buffers]}, predicted {[(hex(a), n) for a, n in p.writable]}")
                    continue
                for i, ((addr, seen), want) in enumerate(zip(r.buffers, p.contents)):
                    if seen != want:
                        off = self._first_diff(seen, want)
                        ndiff = sum(1 for x, y in zip(seen, want) if x != y)
                        lines.append(
                            f"queue {q} chain #{seq} (head {head}) writable buffer {i} at {addr:#x}: {ndiff} byte(s) differ, first at "
                            f"+{off} ({addr + off:#x}): the driver reads {seen[off]:#04x}, the reference device wrote {want[off]:#04x}"
                        )
        errs += _cap(lines)
        # device <- driver (m_axis)
        lines = []
        observed: dict[int, list[tuple[bytes, int]]] = defaultdict(list)
        for q, data, wlen in self.observed_requests:
            observed[q].append((bytes(data), wlen))
        for q in sorted(set(observed) | set(self.predictor.requests)):
            obs, pred = observed.get(q, []), self.predictor.requests.get(q, [])
            for k in range(min(len(obs), len(pred))):
                (od, ow), (pd, pw) = obs[k], pred[k]
                if od != pd:
                    off = self._first_diff(od, pd)
                    if off < min(len(od), len(pd)):
                        what = f"first difference at byte {off}: the backend received {od[off]:#04x}, the driver's readable buffers hold {pd[off]:#04x}"
                    else:
                        what = "one is a prefix of the other"
                    lines.append(f"queue {q} request #{k}: the backend received {len(od)} readable byte(s), predicted {len(pd)}; {what}")
                if ow != pw:
                    lines.append(f"queue {q} request #{k}: the backend received writable length {ow}, predicted {pw}")
            if len(obs) != len(pred):
                lines.append(f"queue {q}: the backend received {len(obs)} request(s), the reference device predicts {len(pred)}")
        errs += _cap(lines)
        return errs

    def summary(self) -> str:
        n = sum(len(v) for v in self.reaped.values())
        nbytes = sum(len(b) for v in self.reaped.values() for r in v for _, b in r.buffers)
        return f"data: {n} completions ({nbytes} writable bytes) and {len(self.observed_requests)} backend requests compared"


class MemoryScoreboard(_Scoreboard):
    """Every byte the DUT writes on m_axi (strobed) must lie in a used ring of a
    live queue or a writable buffer of a chain the device accepted and the driver
    has not taken back, as the predictor sees them (ShadowMemory.check_write)."""

    name = "memory"

    def __init__(self, predictor: Predictor, landmarks: Callable[[], list[Region]] | None = None):
        self.predictor = predictor
        self.landmarks = landmarks
        self.shadow = ShadowMemory(predictor.mem)
        self.violations: list[str] = []
        self.writes = 0
        self.bytes = 0
        self._version = -1
        self._intervals: list[tuple[int, int]] = []

    def _allowed(self) -> list[tuple[int, int]]:
        if self._version != self.predictor.version:
            self._version = self.predictor.version
            self.shadow.allowed = self.predictor.allowed_regions()
            merged: list[list[int]] = []
            for r in sorted(self.shadow.allowed, key=lambda r: r.start):
                if merged and r.start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], r.end)
                else:
                    merged.append([r.start, r.end])
            self._intervals = [(a, b) for a, b in merged]
        return self._intervals

    def observe(self, wr: AxiWrite) -> None:
        self.writes += 1
        intervals = self._allowed()
        starts = [a for a, _ in intervals]
        for addr, data in wr.runs:
            self.bytes += len(data)
            end = addr + len(data)
            i = bisect.bisect_right(starts, addr) - 1
            if i >= 0 and intervals[i][1] >= end:
                continue  # the whole run inside one allowed interval
            if self.landmarks is not None:
                self.shadow.landmarks = self.landmarks()
            try:
                self.shadow.check_write(addr, len(data), f"DMA {wr.describe()}")
            except OracleViolation as err:
                self.violations.append(str(err))

    def errors(self) -> list[str]:
        return _cap(self.violations, 6)

    def summary(self) -> str:
        return f"memory: {self.writes} write bursts, {self.bytes} strobed bytes checked"


@dataclass
class _Segment:
    start: int
    end: int
    expected: int
    why: str
    anchor: int  # cycle the expectation refers to (for "N cycles after")


class InterruptScoreboard(_Scoreboard):
    """The interrupt line against InterruptStatus and the reference device's decisions.

    - At every InterruptStatus read: the value equals the prediction, and irq was
      (value != 0) at some cycle of the read.
    - One decision per used.idx write (docs/engine.md, "What may differ from the
      model"): a write that publishes several entries interrupts if the
      reference device interrupts for at least one of them (for EVENT_IDX that
      is vring_need_event(used_event, new, old) of the whole write).
    - After a used.idx write that interrupts: irq high within ``rise_bound``
      cycles of the decision's last input (the write's B, or the response of
      the used_event/avail.flags read among the first ``issue_bound`` + 1
      reads that follow it; decisions are taken in the order of the writes,
      so also the last input of every earlier write's decision), and high from then until an InterruptACK that leaves nothing
      pending.
    - While nothing is pending (after an ACK or reset that clears everything, through
      entries the rules suppress): irq low; an ACK that clears everything takes it
      low within ``drop_bound`` cycles of its response.
    The timeline follows the cycles the DUT wrote its used.idx values (observed),
    with each entry's decision taken from the prediction for that queue's entry.
    """

    name = "interrupt"

    def __init__(
        self,
        predictor: Predictor,
        observer: UsedRingObserver,
        irq: IrqMonitor,
        cycle_clock: CycleClock,
        rise_bound: int = RISE_BOUND_CYCLES,
        drop_bound: int = DROP_BOUND_CYCLES,
        writes: AxiWriteMonitor | None = None,
        reads: AxiReadMonitor | None = None,
        issue_bound: int = ISSUE_BOUND_ARS,
    ):
        self.predictor = predictor
        self.observer = observer
        self.irq = irq
        self.cycle_clock = cycle_clock
        self.rise_bound = rise_bound
        self.drop_bound = drop_bound
        self.writes = writes
        self.reads = reads
        self.issue_bound = issue_bound
        self.accesses: list[RegisterAccess] = []
        self.rise_latencies: list[int] = []  # irq rise after the used.idx write on the bus
        self.decide_latencies: list[int] = []  # irq rise after the decision's last input
        self.drop_latencies: list[int] = []
        self.counts: dict[str, int] = defaultdict(int)

    def _decided(self, o: ObservedUse) -> tuple[int, int]:
        """(the deadline for irq high, the cycle of the decision's last input) for
        the used.idx write that published ``o``: its B response, or the
        response of the decision read that follows it."""
        after = o.cycle
        if self.writes is not None and o.burst < len(self.writes.writes):
            b = self.writes.writes[o.burst].b_cycle
            after = b if b is not None else self.cycle_clock.now()
        if self.reads is not None:
            rd = self.reads.first_after(set(o.decision_addrs), after, self.issue_bound)
            if rd is not None:
                after = rd.last_cycle if rd.last_cycle is not None else self.cycle_clock.now()
        return after + self.rise_bound, after

    def _late_read(self, o: ObservedUse, after: int) -> str:
        """Where the decision read went, when it came after ``issue_bound``."""
        if self.reads is None or not o.decision_addrs:
            return ""
        if self.reads.first_after(set(o.decision_addrs), after, self.issue_bound) is not None:
            return ""
        rd = self.reads.first_after(set(o.decision_addrs), after)
        if rd is None:
            return ""
        return f" (more than {self.issue_bound} reads asked for before a read of {', '.join(f'{a:#x}' for a in o.decision_addrs)} asked at cycle {rd.ar_cycle}, answered at {rd.last_cycle})"

    def attach_accesses(self, accesses: list[RegisterAccess]) -> None:
        self.accesses = accesses

    def errors(self) -> list[str]:
        self.rise_latencies, self.decide_latencies, self.drop_latencies = [], [], []
        self.counts = defaultdict(int)
        now = self.cycle_clock.now()
        errs: list[str] = []
        irq = self.irq
        # 1. every InterruptStatus read
        for a in self.accesses:
            if a.kind != "read" or a.offset != C.VIRTIO_MMIO_INTERRUPT_STATUS or a.size != 4:
                continue
            self.counts["isr_reads"] += 1
            if a.value != a.predicted:
                errs.append(f"InterruptStatus read at cycles {a.start}..{a.end}: the DUT returned {a.value:#x}, the reference device predicts {a.predicted:#x}")
            want = int(a.value != 0)
            if want not in irq.levels_in(a.start, a.end):
                errs.append(f"InterruptStatus read at cycles {a.start}..{a.end} returned {a.value:#x} but irq was {1 - want} throughout the read")
        # 2. the expected level of irq over time: one decision per used.idx write
        events: list[tuple[int, int, str, object]] = []
        for q, pred in self.predictor.uses.items():
            obs = self.observer.uses.get(q, [])
            writes: dict[int, list[tuple[PredictedUse, ObservedUse]]] = {}
            for k, p in enumerate(pred):
                if k < len(obs):
                    writes.setdefault(obs[k].burst, []).append((p, obs[k]))
                else:
                    self.counts["uses_unobserved"] += 1
            for members in writes.values():
                events.append((members[0][1].cycle, 1, "use", members))
        for i, a in enumerate(self.accesses):
            if a.kind != "write" or a.size != 4:
                continue
            if a.offset == C.VIRTIO_MMIO_INTERRUPT_ACK:
                events.append((a.start, 0, "ack", a))
            elif a.offset == C.VIRTIO_MMIO_STATUS and a.value == 0:
                events.append((a.start, 0, "reset", a))
            elif a.isr_after & ~a.isr_before & ~C.VIRTIO_MMIO_INT_VRING:
                # raised by the write itself (broken, config): no bus marker; settle by the next access
                nxt = self.accesses[i + 1].start if i + 1 < len(self.accesses) else now
                events.append((a.start, 0, "async", (a, nxt)))
        events.sort(key=lambda e: (e[0], e[1]))
        # the device takes its decisions in the order of its used.idx writes
        # (docs/engine.md): a decision's last input is also every earlier one's
        decided: dict[int, tuple[int, int]] = {}
        last_input = 0
        for _, _, kind, data in events:
            if kind == "use":
                _, after = self._decided(data[-1][1])  # type: ignore[index]
                last_input = max(last_input, after)
                decided[id(data)] = (last_input + self.rise_bound, last_input)
        segments: list[_Segment] = []
        cur: _Segment | None = None  # the open expectation

        def close(at: int) -> None:
            nonlocal cur
            if cur is not None:
                cur.end = at
                if cur.end > cur.start:
                    segments.append(cur)
                cur = None

        def open_(start: int, level: int, why: str, anchor: int) -> None:
            nonlocal cur
            close(start)
            cur = _Segment(start, now + 1, level, why, anchor)

        for cycle, _, kind, data in events:
            if kind == "use":
                members = data  # type: ignore[assignment]
                first, last = members[0], members[-1]
                o = last[1]
                entries = f"entry #{first[0].seq}" if len(members) == 1 else f"entries #{first[0].seq}..#{last[0].seq}"
                where = f"queue {o.queue} used {entries} (used.idx {o.used_idx}) written at cycle {o.cycle}"
                interrupting = [p for p, _ in members if p.interrupt]
                self.counts["writes"] += 1
                self.counts["uses_batched"] += len(members) - 1
                if interrupting:
                    self.counts["uses_interrupting"] += len(interrupting)
                    if cur is not None and cur.expected == 1:
                        continue  # already pending: stays high
                    deadline, after = decided[id(members)]
                    if cur is not None and cur.expected == 0:
                        rise = irq.first(1, o.cycle)
                        if rise is not None:
                            self.rise_latencies.append(rise - o.cycle)
                            self.decide_latencies.append(rise - after)
                    close(o.cycle)
                    late = irq.first(1, o.cycle)
                    rose = f"it rose {late - after} cycle(s) after that" if late is not None else "it never rose"
                    reason = interrupting[0].reason
                    open_(deadline, 1, f"{where}, which interrupts ({reason}); the decision's last input at cycle {after}, "
                          f"bound {self.rise_bound} cycle(s), {rose}{self._late_read(o, after)}", o.cycle)
                else:
                    self.counts["uses_suppressed"] += len(members)
                    if cur is not None and cur.expected == 0:
                        self.counts["uses_suppressed_checked"] += len(members)
                        open_(o.cycle, 0, f"{where}, which the reference device does not interrupt for ({last[0].reason}), with nothing pending", o.cycle)
            elif kind == "ack":
                a = data  # type: ignore[assignment]
                self.counts["acks"] += 1
                if a.isr_after == 0:
                    if cur is not None and cur.expected == 1:
                        fall = irq.first(0, a.start)
                        if fall is not None:
                            self.drop_latencies.append(max(0, fall - a.end))
                    close(a.start)
                    open_(a.end + self.drop_bound, 0, f"the InterruptACK of {a.value:#x} answered at cycle {a.end} left nothing pending", a.end)
                else:
                    close(a.start)
                    open_(a.end + self.drop_bound, 1, f"InterruptStatus {a.isr_after:#x} still pending after the InterruptACK of {a.value:#x} at cycle {a.end}", a.end)
            elif kind == "reset":
                a = data  # type: ignore[assignment]
                close(a.start)
                open_(a.end + self.drop_bound, 0, f"the Status=0 reset answered at cycle {a.end} cleared InterruptStatus", a.end)
            else:  # async
                a, nxt = data  # type: ignore[misc]
                close(a.start)
                open_(max(nxt, a.start), 1, f"the write of {a.value:#x} at {a.offset:#x} raised InterruptStatus {a.isr_after:#x}", a.start)
        close(now + 1)
        # 3. irq against each expectation
        for seg in segments:
            bad = irq.first(1 - seg.expected, seg.start, seg.end)
            self.counts["segments"] += 1
            if bad is None:
                continue
            if seg.expected == 1:
                errs.append(f"irq still low at cycle {bad}, {bad - seg.anchor} cycle(s) after {seg.why}")
            else:
                errs.append(f"irq high at cycle {bad}, {bad - seg.anchor} cycle(s) after {seg.why}")
        return _cap(errs)

    def summary(self) -> str:
        self.errors()
        c = self.counts
        rise = f"max {max(self.rise_latencies)}" if self.rise_latencies else "none"
        decide = f"max {max(self.decide_latencies)}" if self.decide_latencies else "none"
        drop = f"max {max(self.drop_latencies)}" if self.drop_latencies else "none"
        return (
            f"interrupt: {c['isr_reads']} InterruptStatus reads, {c['uses_interrupting']} interrupting and "
            f"{c['uses_suppressed']} suppressed used entries ({c['uses_suppressed_checked']} with nothing pending), "
            f"{c['writes']} used.idx writes ({c['uses_batched']} entries published by a write with others), "
            f"{c['acks']} ACKs, {c['segments']} expectation intervals; "
            f"interrupt latencies: rise after used.idx write {rise}, after the decision's last input {decide} "
            f"over {len(self.rise_latencies)} (bound {self.rise_bound}), "
            f"drop after ACK response {drop} over {len(self.drop_latencies)} (bound {self.drop_bound})"
        )


# ========================================================== all of them


class Scoreboards:
    """The four scoreboards with their monitors, wired to one predictor.

    ``start()`` before the driver's first access (the reset must be seen);
    ``attach(hal, driver, rtl_received)`` once the driver exists; ``check()`` at
    the end raises one AssertionError naming every discrepancy of every board.
    """

    def __init__(
        self,
        dut: SimHandleBase,
        predictor: Predictor,
        *,
        clock: SimHandleBase,
        irq: SimHandleBase,
        dma: str,
        cycle_clock: CycleClock,
        rise_bound: int = RISE_BOUND_CYCLES,
        drop_bound: int = DROP_BOUND_CYCLES,
    ):
        self.predictor = predictor
        self.cycle_clock = cycle_clock
        self.writes = AxiWriteMonitor(dut, dma, clock, cycle_clock)
        self.reads = AxiReadMonitor(dut, dma, clock, cycle_clock)
        self.irq = IrqMonitor(irq, cycle_clock)
        self.used = UsedRingObserver()
        predictor.listeners.append(self.used.queue_changed)
        for q, layout in predictor.layouts().items():
            self.used.queue_changed(q, layout, predictor.device.queues[q].used_idx)
        self.completion = CompletionScoreboard(predictor, self.used)
        self.data = DataScoreboard(predictor)
        self.memory = MemoryScoreboard(predictor)
        self.interrupts = InterruptScoreboard(predictor, self.used, self.irq, cycle_clock, rise_bound, drop_bound, writes=self.writes, reads=self.reads)
        self.writes.subscribe(self.used.observe)
        self.writes.subscribe(self.memory.observe)
        self.driver: VioDriver | None = None

    @property
    def boards(self) -> list[_Scoreboard]:
        return [self.completion, self.data, self.memory, self.interrupts]

    def start(self) -> None:
        self.writes.start()
        self.reads.start()
        self.irq.start()

    def stop(self) -> None:
        self.writes.stop()
        self.reads.stop()
        self.irq.stop()

    def attach(self, hal: PredictedHal, driver: VioDriver, rtl_received: list[tuple[int, bytes, int]]) -> None:
        """Watch the driver's submits and completions, the HAL's register log and
        the RTL backend's request log."""
        self.driver = driver
        self.interrupts.attach_accesses(hal.accesses)
        self.data.attach_backend_log(rtl_received)
        self.memory.landmarks = lambda: landmark_regions(driver)
        submit = driver.submit
        seqs: dict[int, int] = defaultdict(int)

        async def watched_submit(tfr: VioTransfer) -> int:
            result = await submit(tfr)
            q = tfr.queue
            posted = PostedChain(q, seqs[q], tfr.head, [(v.buffer, v.size, v.flags) for v in tfr.iov[: tfr.iov_len]])
            seqs[q] += 1
            self.completion.note_posted(posted)
            callback = getattr(tfr.callback, "scoreboard_inner", tfr.callback)

            def reaped(t: VioTransfer):
                bufs = [(a, driver.hal.mem.read(a, n)) for a, n, f in posted.iov if f & VIO_IOV_FLAGS_WRITE]
                r = Reaped(posted, t.actual, bufs)
                self.completion.note_reaped(r)
                self.data.note_reaped(r)
                self.predictor.release(posted.queue, posted.head)
                return callback(t) if callback is not None else None

            reaped.scoreboard_inner = callback  # type: ignore[attr-defined]
            tfr.callback = reaped
            return result

        driver.submit = watched_submit  # type: ignore[method-assign]

    def errors(self) -> list[str]:
        out: list[str] = []
        for board in self.boards:
            errs = board.errors()
            if errs:
                out.append(f"{board.name} scoreboard: {len(errs)} discrepancy(ies)")
                out += ["  " + e for e in errs]
        out += [f"AXI write monitor: {e}" for e in _cap(self.writes.errors)]
        return out

    def check(self) -> None:
        errs = self.errors()
        if errs:
            raise AssertionError("\n".join(errs))

    def summary(self) -> str:
        return "; ".join(b.summary() for b in self.boards)  # type: ignore[attr-defined]
