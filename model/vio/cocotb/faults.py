"""Bus faults in guest memory: SLVERR or DECERR on chosen beats of the DUT's DMA.

The hook: :class:`vio.cocotb.guest_ram.GuestRam` (and ``VirtioEnv(...,
faults=hook)``) asks ``hook.hit(direction, word, lanes, beat, beats)`` on
every beat of the DUT's AXI4 port, before it is served; the answer is None
(OKAY: served normally) or the ``AxiResp`` to answer (:class:`FaultHook`).
Any object with that method will do; :class:`FaultPlan` is the one the kit
provides.

A :class:`FaultPlan` holds :class:`Fault` entries: a direction (read or write),
a byte range of guest memory, which bus word of that range fails (the first,
the middle, the last, a word index, or all of them), the response (SLVERR or
DECERR), and how many times it fires. What a hit does on the bus:

- read: the beat whose word is hit answers the fault's response and poison
  data (0xA5 bytes); the other beats of the burst are served normally.
- write: a burst with a hit beat answers the response on B and writes none of
  its bytes (a slave that refuses a burst writes nothing: so "no used entry"
  is a property of the DUT's order of writes, not of partial luck).

Latency and pauses (``VirtioEnv``'s ``mem_latency``, ``pause``) apply as
without faults.

The ranges of a ring's parts come from the driver model's layout
(:func:`ring_ranges`), so a test names an access class (descriptor, avail
ring, used ring, indirect table, buffer) and the plan turns it into addresses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from cocotb.triggers import Event
from cocotbext.axi.constants import AxiResp

from vio.ring import VringLayout

from .clock import CycleClock

__all__ = ["BEATS", "Fault", "FaultHook", "FaultPlan", "Hit", "ring_ranges"]
BEATS = ("first", "middle", "last", "all")


class FaultHook(Protocol):
    """What guest memory asks before it serves a beat of the DUT's AXI4 port."""

    def hit(self, direction: str, word: int, lanes: int, beat: int, beats: int) -> AxiResp | None:
        """The response for the beat of ``direction`` ("read" or "write") at
        bus word address ``word`` (``lanes`` bytes wide), beat ``beat`` of a
        burst of ``beats``; None: OKAY, served as usual. A read beat answered
        otherwise carries poison data; a write burst with such a beat writes
        none of its bytes and answers the first such response on B."""


@dataclass
class Hit:
    """One beat on which a fault fired."""

    cycle: int
    fault: Fault
    address: int  # the bus word's address
    beat: int  # index of the beat in its burst
    beats: int  # burst length (ARLEN/AWLEN + 1)

    @property
    def where(self) -> str:
        pos = "only" if self.beats == 1 else "first" if self.beat == 0 else "last" if self.beat == self.beats - 1 else "middle"
        return f"{self.fault.direction} word {self.address:#x}, beat {self.beat} of {self.beats} ({pos} of its burst)"


@dataclass(eq=False)
class Fault:
    """``resp`` on the ``beat`` word (first/middle/last/all, or an index) of
    ``[lo, hi)`` for ``direction`` accesses; fires ``shots`` times (None:
    forever), then is spent."""

    direction: str  # "read" or "write"
    lo: int
    hi: int
    resp: AxiResp = AxiResp.SLVERR
    beat: str | int = "first"
    shots: int | None = 1
    label: str = ""
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self):
        if self.direction not in ("read", "write"):
            raise ValueError(f"fault direction {self.direction!r}: 'read' or 'write'")
        if self.hi <= self.lo:
            raise ValueError(f"fault range [{self.lo:#x}, {self.hi:#x}) is empty")
        if self.resp not in (AxiResp.SLVERR, AxiResp.DECERR):
            raise ValueError(f"fault response {self.resp!r}: SLVERR or DECERR")
        if not isinstance(self.beat, int) and self.beat not in BEATS:
            raise ValueError(f"fault beat {self.beat!r}: one of {BEATS} or a word index")

    @property
    def armed(self) -> bool:
        return self.shots is None or len(self.hits) < self.shots

    def words(self, lanes: int) -> list[int]:
        """The bus words of the range, in address order."""
        return list(range(self.lo // lanes * lanes, self.hi, lanes))

    def targets(self, lanes: int) -> set[int]:
        words = self.words(lanes)
        if self.beat == "all":
            return set(words)
        index = {"first": 0, "middle": len(words) // 2, "last": len(words) - 1}.get(self.beat, self.beat)
        if not 0 <= index < len(words):
            raise ValueError(f"fault {self.label}: word {index} of a {len(words)}-word range")
        return {words[index]}

    def __str__(self) -> str:
        return f"{self.resp.name} on the {self.beat} word of {self.direction}s of {self.label or 'range'} [{self.lo:#x}, {self.hi:#x})"


class FaultPlan:
    """The faults of a test; each beat of the DMA asks :meth:`hit` (a
    :class:`FaultHook`). ``clock`` counts the cycles of the hits (a
    ``VirtioEnv`` given the plan sets its own)."""

    def __init__(self, *faults: Fault, clock: CycleClock | None = None):
        self.faults: list[Fault] = list(faults)
        self.clock = clock or CycleClock()
        self.hits: list[Hit] = []
        self.log = logging.getLogger("cocotb.faults")
        self._fired = Event()

    async def next_hit(self) -> None:
        """Until a fault fires."""
        self._fired.clear()
        await self._fired.wait()

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults = []

    def hit(self, direction: str, word: int, lanes: int, beat: int, beats: int) -> AxiResp | None:
        """The response for the beat at bus word ``word``; None: OKAY."""
        for fault in self.faults:
            if fault.direction == direction and fault.armed and word in fault.targets(lanes):
                hit = Hit(self.clock.now(), fault, word, beat, beats)
                fault.hits.append(hit)
                self.hits.append(hit)
                self.log.info("fault fired: %s at %s", fault, hit.where)
                self._fired.set()
                return fault.resp
        return None


def ring_ranges(lay: VringLayout) -> dict[str, tuple[int, int]]:
    """Byte ranges of the parts of a legacy ring (the access classes of the
    device's ring walk), from the driver model's layout."""
    num = lay.num
    return {
        "desc": (lay.desc, lay.desc + 16 * num),
        "avail_flags": (lay.avail_flags, lay.avail_flags + 2),
        "avail_idx": (lay.avail_idx, lay.avail_idx + 2),
        "avail_ring": (lay.avail_ring(0), lay.avail_ring(num)),
        "used_event": (lay.used_event, lay.used_event + 2),
        "used_idx": (lay.used_idx, lay.used_idx + 2),
        "used_ring": (lay.used_ring(0), lay.used_ring(num)),
        "avail_event": (lay.avail_event, lay.avail_event + 2),
    }
