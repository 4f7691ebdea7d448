"""Shadow-memory oracle: which guest bytes a step may change, and which it did.

The rule it checks (docs/verification.md, "Hostile input"): after any
step, the only guest bytes the device may have changed are the used rings of its
live queues (flags, idx, ring[], avail_event) and the device-writable buffers of
chains it accepted. Everything else (descriptor tables, avail rings, readable
buffers, indirect tables, guard bytes, unrelated memory) must be byte-for-byte
what it was.

    shadow = ShadowMemory(mem, allowed=allowed_regions(drv), landmarks=landmark_regions(drv))
    ...one step: a notify, a release, a register write...
    shadow.check("notify of queue 0")      # raises OracleViolation listing every bad byte
    shadow.commit()                         # accept the current bytes as the next baseline

The allowed set is given, not inferred from what changed: take it from the party
that knows what was offered (:func:`allowed_regions` of the :class:`VioDriver`
that posted the chains, or explicit :meth:`ShadowMemory.allow` calls for rings a
test built by hand), or from a device's own view of what it accepted
(:func:`allowed_regions` of a :class:`ReferenceDevice`, for chains in flight).

A snapshot comparison cannot see a write of the value already there; where that
matters, watch the writes themselves: :meth:`ShadowMemory.check_write` judges one
bus write (what an RTL scoreboard's DMA monitor reports), and :class:`AccessLog`
records every access a model makes on a :class:`GuestMemory`.

Plain Python, no cocotb: the RTL scoreboards reuse it as is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .device.mmio import ReferenceDevice
from .driver import VIO_IOV_FLAGS_WRITE, VioDriver
from .memory import GuestMemory
from .ring import DESC_SIZE, VringLayout

__all__ = [
    "AccessBudgetExceeded",
    "AccessLog",
    "Change",
    "OracleViolation",
    "Region",
    "ShadowMemory",
    "allowed_regions",
    "landmark_regions",
    "ring_regions",
    "used_ring_region",
]

_CHUNK = 4096  # compare snapshots a page at a time; only differing pages are scanned byte by byte
_SHOWN = 32  # violations spelled out in an exception message (all are kept in .violations)


@dataclass(frozen=True)
class Region:
    """Guest bytes [start, end) with a name for messages."""

    start: int
    end: int
    name: str

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"region {self.name!r}: end {self.end:#x} before start {self.start:#x}")

    @classmethod
    def sized(cls, start: int, length: int, name: str) -> "Region":
        return cls(start, start + length, name)

    def __len__(self) -> int:
        return self.end - self.start

    def __contains__(self, addr: object) -> bool:
        return isinstance(addr, int) and self.start <= addr < self.end

    def overlaps(self, start: int, end: int) -> bool:
        return start < self.end and self.start < end

    def distance(self, addr: int) -> int:
        """0 inside, else how many bytes away from the nearest byte of the region."""
        if addr < self.start:
            return self.start - addr
        if addr >= self.end:
            return addr - self.end + 1
        return 0

    def where(self, addr: int) -> str:
        """``addr`` relative to this region, in words."""
        if addr in self:
            return f"inside {self} at +{addr - self.start:#x}"
        if addr < self.start:
            return f"{self.start - addr} byte(s) before {self}"
        return f"{addr - self.end + 1} byte(s) after {self}"

    def __str__(self) -> str:
        return f"{self.name} [{self.start:#x}, {self.end:#x})"


class OracleViolation(AssertionError):
    """Guest memory changed (or was written) outside the allowed regions."""

    def __init__(self, message: str, violations: list["Change"]):
        super().__init__(message)
        self.violations = violations


class AccessBudgetExceeded(AssertionError):
    """A model made more memory accesses than a test allowed: an unbounded walk."""


@dataclass(frozen=True)
class Change:
    """One changed (or written) byte outside the allowed regions.

    ``old``/``new`` are None when only the write is known (:meth:`ShadowMemory.check_write`).
    """

    addr: int
    old: int | None
    new: int | None
    nearest: Region | None

    def __str__(self) -> str:
        what = f"{self.addr:#x}: "
        if self.old is not None and self.new is not None:
            what += f"{self.old:#04x} -> {self.new:#04x}"
        else:
            what += "written"
        where = self.nearest.where(self.addr) if self.nearest is not None else "no known region near"
        return f"{what} ({where})"


# ------------------------------------------------------------------ regions


def used_ring_region(layout: VringLayout, queue: int) -> Region:
    """The bytes a device owns in a legacy ring: used flags, idx, ring[num], avail_event."""
    return Region(layout.used, layout.avail_event + 2, f"used ring of queue {queue}")


def ring_regions(layout: VringLayout, queue: int) -> list[Region]:
    """Descriptor table, avail ring (with used_event) and used ring of one queue."""
    return [
        Region(layout.desc, layout.avail, f"descriptor table of queue {queue}"),
        Region(layout.avail, layout.used_event + 2, f"avail ring of queue {queue}"),
        used_ring_region(layout, queue),
    ]


def allowed_regions(target: VioDriver | ReferenceDevice) -> list[Region]:
    """Where the device may write now, as ``target`` sees it.

    From a :class:`VioDriver` (the party that offered the chains, so independent
    of the device's parsing): the used ring of every set-up queue and every
    device-writable iov of every transfer in flight. From a
    :class:`ReferenceDevice`: the used ring of every live queue and the writable
    buffers of the chains it has accepted and not yet completed. A chain that is
    popped and completed within one step is in neither device list before or
    after the step: take the regions from the driver, or allow them explicitly.
    """
    regions: list[Region] = []
    if isinstance(target, VioDriver):
        for q in target.queue:
            if q.layout is None:
                continue
            regions.append(used_ring_region(q.layout, q.index))
            for head, posted in sorted(q.posted.items()):
                tfr = posted.tfr
                for i, v in enumerate(tfr.iov[: tfr.iov_len]):
                    if v.flags & VIO_IOV_FLAGS_WRITE:
                        regions.append(Region.sized(v.buffer, v.size, f"writable iov[{i}] of head {head}, queue {q.index}"))
    elif isinstance(target, ReferenceDevice):
        for dq in target.queues:
            if not dq.live or dq.layout is None:
                continue
            regions.append(used_ring_region(dq.layout, dq.index))
            for chain in dq.in_flight:
                for i, (addr, length) in enumerate(chain.writable):
                    regions.append(Region.sized(addr, length, f"writable buffer {i} of head {chain.head}, queue {dq.index}"))
    else:
        raise TypeError(f"allowed_regions of a {type(target).__name__}: give a VioDriver or a ReferenceDevice")
    return regions


def landmark_regions(target: VioDriver | ReferenceDevice) -> list[Region]:
    """Regions the device must not write, named so that a violation says where it hit:
    descriptor tables, avail rings, readable buffers and indirect tables."""
    regions: list[Region] = []
    if isinstance(target, VioDriver):
        for q in target.queue:
            if q.layout is None:
                continue
            regions.extend(ring_regions(q.layout, q.index)[:2])  # descriptor table, avail ring
            for head, posted in sorted(q.posted.items()):
                tfr = posted.tfr
                iov = tfr.iov[: tfr.iov_len]
                for i, v in enumerate(iov):
                    if not v.flags & VIO_IOV_FLAGS_WRITE:
                        regions.append(Region.sized(v.buffer, v.size, f"readable iov[{i}] of head {head}, queue {q.index}"))
                if posted.indirect_table is not None:
                    regions.append(
                        Region.sized(posted.indirect_table, DESC_SIZE * len(iov), f"indirect table of head {head}, queue {q.index}")
                    )
    elif isinstance(target, ReferenceDevice):
        for dq in target.queues:
            if not dq.live or dq.layout is None:
                continue
            regions.extend(ring_regions(dq.layout, dq.index)[:2])
            for chain in dq.in_flight:
                for i, (addr, length) in enumerate(chain.readable):
                    regions.append(Region.sized(addr, length, f"readable buffer {i} of head {chain.head}, queue {dq.index}"))
    else:
        raise TypeError(f"landmark_regions of a {type(target).__name__}: give a VioDriver or a ReferenceDevice")
    return regions


# ------------------------------------------------------------ the shadow


class ShadowMemory:
    """A snapshot of ``mem`` plus the regions a step may change.

    ``allowed``: regions the device may write. ``landmarks``: regions it must
    not, given only so that messages can name the nearest one (allowed regions
    are named too). Both can be extended with :meth:`allow` / :meth:`landmark`.
    """

    def __init__(self, mem: GuestMemory, allowed: Iterable[Region] = (), landmarks: Iterable[Region] = ()):
        self.mem = mem
        self.allowed: list[Region] = []
        self.landmarks: list[Region] = []
        self.allow_regions(allowed)
        self.landmark_regions(landmarks)
        self._copy = b""
        self.commit()

    @classmethod
    def around(cls, *targets: VioDriver | ReferenceDevice, mem: GuestMemory | None = None) -> "ShadowMemory":
        """Snapshot now, allowing what :func:`allowed_regions` gives for every target."""
        if mem is None:
            if not targets:
                raise ValueError("ShadowMemory.around needs a target or mem")
            first = targets[0]
            mem = first.hal.mem if isinstance(first, VioDriver) else first.mem
        allowed = [r for t in targets for r in allowed_regions(t)]
        landmarks = [r for t in targets for r in landmark_regions(t)]
        return cls(mem, allowed, landmarks)

    # --- the regions ---
    def allow(self, start: int, length: int, name: str) -> Region:
        region = Region.sized(start, length, name)
        self.allowed.append(region)
        return region

    def allow_regions(self, regions: Iterable[Region]) -> None:
        self.allowed.extend(regions)

    def landmark(self, start: int, length: int, name: str) -> Region:
        region = Region.sized(start, length, name)
        self.landmarks.append(region)
        return region

    def landmark_regions(self, regions: Iterable[Region]) -> None:
        self.landmarks.extend(regions)

    def is_allowed(self, addr: int) -> bool:
        return any(addr in r for r in self.allowed)

    def nearest(self, addr: int) -> Region | None:
        """The region (allowed or landmark) containing ``addr``, or the closest one;
        a landmark wins a tie (it says what was hit)."""
        best: Region | None = None
        best_key: tuple[int, int] | None = None
        for rank, regions in ((0, self.landmarks), (1, self.allowed)):
            for r in regions:
                key = (r.distance(addr), rank)
                if best_key is None or key < best_key:
                    best, best_key = r, key
        return best

    # --- the snapshot ---
    def commit(self) -> None:
        """Take the current contents as the baseline (e.g. after the driver's own writes)."""
        self._copy = self.mem.read(self.mem.base, self.mem.size)

    def changes(self) -> list[tuple[int, int, int]]:
        """Every changed byte since the baseline, allowed or not: (addr, old, new)."""
        now = self.mem.read(self.mem.base, self.mem.size)
        old, new = memoryview(self._copy), memoryview(now)
        out: list[tuple[int, int, int]] = []
        for off in range(0, len(now), _CHUNK):
            a, b = old[off : off + _CHUNK], new[off : off + _CHUNK]
            if a == b:
                continue
            for i in range(len(b)):
                if a[i] != b[i]:
                    out.append((self.mem.base + off + i, a[i], b[i]))
        return out

    def violations(self) -> list[Change]:
        """Every changed byte outside the allowed regions."""
        return [Change(addr, o, n, self.nearest(addr)) for addr, o, n in self.changes() if not self.is_allowed(addr)]

    def check(self, step: str = "step") -> None:
        """Raise :class:`OracleViolation` naming every byte changed outside the allowed regions."""
        bad = self.violations()
        if bad:
            raise OracleViolation(self._message(step, bad, "changed"), bad)

    def check_write(self, addr: int, length: int, step: str = "DMA write") -> None:
        """Judge one bus write [addr, addr+length) as it happens (a scoreboard's DMA
        monitor): raise :class:`OracleViolation` if any byte lies outside the allowed
        regions, even when the value written equals the value already there."""
        bad = [Change(a, None, None, self.nearest(a)) for a in range(addr, addr + length) if not self.is_allowed(a)]
        if bad:
            raise OracleViolation(self._message(step, bad, "written"), bad)

    def _message(self, step: str, bad: list[Change], verb: str) -> str:
        lines = [f"{step}: {len(bad)} byte(s) {verb} outside the used rings and accepted writable buffers:"]
        lines += [f"  {c}" for c in bad[:_SHOWN]]
        if len(bad) > _SHOWN:
            lines.append(f"  ... and {len(bad) - _SHOWN} more (see .violations)")
        if self.allowed:
            lines.append("allowed: " + ", ".join(str(r) for r in self.allowed))
        else:
            lines.append("allowed: nothing")
        return "\n".join(lines)


# ------------------------------------------------------------ access log


class AccessLog:
    """Every read and write made on a :class:`GuestMemory` while active: the
    model-side counterpart of a DMA bus monitor.

    Used as a context manager; it shadows ``mem.read``/``mem.write`` on the
    instance (the typed helpers go through them), so it sees device and driver
    accesses alike: enter it around the step to watch. ``budget`` bounds the
    number of accesses; going past it raises :class:`AccessBudgetExceeded` from
    inside the model, which turns a would-be endless walk into a failure.
    """

    def __init__(self, mem: GuestMemory, budget: int | None = None):
        self.mem = mem
        self.budget = budget
        self.entries: list[tuple[str, int, int]] = []  # (kind "r"/"w", addr, length)

    def __enter__(self) -> "AccessLog":
        # logs nest: an inner one wraps (and on exit puts back) the outer one's hooks
        self._saved = {name: vars(self.mem)[name] for name in ("read", "write") if name in vars(self.mem)}
        read, write = self.mem.read, self.mem.write

        def logged_read(addr: int, length: int) -> bytes:
            self._note("r", addr, length)
            return read(addr, length)

        def logged_write(addr: int, data: bytes) -> None:
            self._note("w", addr, len(data))
            write(addr, data)

        self.mem.read = logged_read  # type: ignore[method-assign]
        self.mem.write = logged_write  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for name in ("read", "write"):
            if name in self._saved:
                setattr(self.mem, name, self._saved[name])
            else:
                delattr(self.mem, name)

    def _note(self, kind: str, addr: int, length: int) -> None:
        self.entries.append((kind, addr, length))
        if self.budget is not None and len(self.entries) > self.budget:
            raise AccessBudgetExceeded(f"more than {self.budget} guest memory accesses in one step (last: {kind} {addr:#x} +{length})")

    @property
    def reads(self) -> list[tuple[int, int]]:
        return [(a, n) for k, a, n in self.entries if k == "r"]

    @property
    def writes(self) -> list[tuple[int, int]]:
        return [(a, n) for k, a, n in self.entries if k == "w"]

    def touching(self, start: int, end: int, kind: str | None = None) -> list[tuple[str, int, int]]:
        """Accesses overlapping [start, end), optionally only reads ("r") or writes ("w")."""
        return [(k, a, n) for k, a, n in self.entries if (kind is None or k == kind) and a < end and start < a + n]

    def check_writes(self, shadow: ShadowMemory, step: str = "step") -> None:
        """Feed every logged write to :meth:`ShadowMemory.check_write`."""
        for addr, length in self.writes:
            shadow.check_write(addr, length, step)
