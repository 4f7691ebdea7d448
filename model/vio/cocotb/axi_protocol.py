"""A passive AXI protocol checker for the DUT's two bus ports.

:class:`AxiProtocolChecker` samples the AXI4 port ``{dma}_*`` (the DUT is
master) and the AXI4-Lite port ``{regs}_*`` (the DUT is slave; optional) at
every rising clock edge and records a violation (cycle, channel, what) for:

- every channel: VALID dropped before READY, or its payload changed while
  VALID waited for READY (whichever side drives it: a bus model's fault is
  a fault of the test bench, reported the same way);
- AR/AW: burst type other than INCR, beat size wider than the bus, a burst
  crossing a 4 KiB boundary, an address not aligned to the beat size;
- W: WLAST exactly on beat AWLEN+1 of its burst (W may lead AW: beats are
  matched to the AWs in order as both arrive);
- B: only for a burst whose AW and last W beat were both seen, BID = AWID;
- R: only for an outstanding AR, RID = ARID, ARLEN+1 beats with RLAST on the
  last one and not before;
- AXI4-Lite: B only after both AW and W of a write, R only after an AR.

A channel is sampled only while its VALID is high, and on the edge after it
rose or fell (vio.cocotb.waits tells of the rise); the checker sleeps while every
VALID is low: such a cycle has nothing to check.

It also counts what a test needs to say "the device finished what it
started" and "the device stays quiet": bursts issued and answered per
direction (:attr:`reads_outstanding`, :attr:`writes_outstanding`,
:meth:`idle`), handshakes per channel and cycles with a request VALID high
(:attr:`request_cycles`), and the AW address of every write burst
(:attr:`writes`, with their cycles).

Usage: ``VirtioEnv(..., protocol=True)`` or ``checker =
env.protocol_checker()``, or on its own ``AxiProtocolChecker(dut, clk, rst,
dma="m_axi", regs="s_axil")``; end the test with ``checker.check()`` (raises
AssertionError listing the violations). The reset at its active level clears
the state (bursts in flight are forgotten with the bus models').
"""

from __future__ import annotations

from collections import deque

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import Event, FallingEdge, RisingEdge

from .clock import CycleClock
from .waits import on_edge

BOUNDARY = 4096
INCR = 1


def _bits(signal: SimHandleBase) -> str:
    return str(signal.value)


def _num(text: str) -> int:
    return int(text, 2) if text.strip("01") == "" else -1


class _Channel:
    """VALID/READY and payload of one channel; :meth:`sample` returns the
    payload (name -> bit string) on a handshake, None otherwise."""

    def __init__(self, checker: AxiProtocolChecker, name: str, dut: SimHandleBase, prefix: str, payload: list[str]):
        self.checker = checker
        self.name = name
        self.valid = getattr(dut, f"{prefix}valid")
        self.ready = getattr(dut, f"{prefix}ready")
        self.payload = {p: getattr(dut, f"{prefix}{p}") for p in payload if hasattr(dut, f"{prefix}{p}")}
        self.held: dict[str, str] | None = None  # payload of a VALID still waiting for READY
        self.handshakes = 0
        self.active = False  # VALID high at the last sample
        self.rose = False  # VALID rose since the last sample
        on_edge(self.valid, RisingEdge, self._rise)

    def _rise(self) -> None:
        self.rose = True
        self.checker.woken.set()

    def reset(self) -> None:
        self.held = None

    def sample(self) -> dict[str, str] | None:
        if not (self.active or self.rose):
            return None  # low at the last sample and not risen since: nothing to read
        self.rose = False
        self.active = valid = _bits(self.valid) == "1"
        if self.held is not None and not valid:
            self.checker.error(self.name, "VALID dropped before READY")
            self.held = None
        if not valid:
            return None
        now = {p: _bits(s) for p, s in self.payload.items()}
        if self.held is not None and now != self.held:
            changed = [p for p in now if now[p] != self.held[p]]
            self.checker.error(self.name, f"payload changed while VALID waited for READY: {changed}")
        if _bits(self.ready) == "1":
            self.held = None
            self.handshakes += 1
            return now
        self.held = now
        return None


class AxiProtocolChecker:
    """Watches the AXI4 port ``{dma}_*`` and the AXI4-Lite port ``{regs}_*``
    (None: none) of ``dut`` on ``clock``; ``reset`` at ``reset_active_level``
    clears the state. ``cycle_clock`` counts the cycles in the messages."""

    def __init__(self, dut: SimHandleBase, clock: SimHandleBase, reset: SimHandleBase, *, dma: str, regs: str | None,
                 cycle_clock: CycleClock | None = None, reset_active_level: bool = True, max_errors: int = 50):  # fmt: skip
        self.clock = clock
        self.reset = reset
        self.reset_idle = "0" if reset_active_level else "1"
        self.reset_edge = RisingEdge if reset_active_level else FallingEdge
        self.cycle_clock = cycle_clock or CycleClock()
        self.max_errors = max_errors
        self.errors: list[str] = []
        self.lanes = len(getattr(dut, f"{dma}_wstrb"))
        self.woken = Event()  # a VALID rose, or the reset came
        addr = ["addr", "len", "size", "burst", "id", "lock", "cache", "prot"]
        m = f"{dma}_"
        self.ar = _Channel(self, "AR", dut, f"{m}ar", addr)
        self.aw = _Channel(self, "AW", dut, f"{m}aw", addr)
        self.w = _Channel(self, "W", dut, f"{m}w", ["data", "strb", "last"])
        self.r = _Channel(self, "R", dut, f"{m}r", ["id", "data", "resp", "last"])
        self.b = _Channel(self, "B", dut, f"{m}b", ["id", "resp"])
        self.channels = [self.ar, self.aw, self.w, self.r, self.b]
        self.lite_channels: list[_Channel | None] = [None] * 5
        if regs is not None:
            lt = f"{regs}_"
            self.lite_channels = [
                _Channel(self, "lite AR", dut, f"{lt}ar", ["addr", "prot"]),
                _Channel(self, "lite AW", dut, f"{lt}aw", ["addr", "prot"]),
                _Channel(self, "lite W", dut, f"{lt}w", ["data", "strb"]),
                _Channel(self, "lite R", dut, f"{lt}r", ["data", "resp"]),
                _Channel(self, "lite B", dut, f"{lt}b", ["resp"]),
            ]
            self.channels += self.lite_channels
        self.lar, self.law, self.lw, self.lr, self.lb = self.lite_channels
        self.requests = [self.ar.valid, self.aw.valid, self.w.valid]
        self.request_cycles = 0  # cycles with ARVALID, AWVALID or WVALID high
        self.cycle = 0
        self.writes: list[tuple[int, int, int]] = []  # (cycle, AWADDR, AWLEN) of every write burst
        self.reads: list[tuple[int, int, int]] = []  # (cycle, ARADDR, ARLEN)
        self._clear()
        self._task = cocotb.start_soon(self._run())

    # ------------------------------------------------------------ state
    def _clear(self) -> None:
        self.ar_open: deque[tuple[int, int]] = deque()  # (ARID, beats) awaiting their R beats
        self.r_beats = 0
        self.aw_wait_w: deque[tuple[int, int]] = deque()  # (AWID, beats) whose W beats are not all seen
        self.w_done: deque[int] = deque()  # beat counts of W bursts ended before their AW
        self.w_beats = 0
        self.b_owed: deque[int] = deque()  # AWIDs of bursts complete on AW and W, awaiting B
        self.lite = {"aw": 0, "w": 0, "b": 0, "ar": 0, "r": 0}
        for ch in getattr(self, "channels", []):
            ch.reset()

    @property
    def reads_outstanding(self) -> int:
        """Read bursts issued (AR handshake) whose last R beat has not come."""
        return len(self.ar_open)

    @property
    def writes_outstanding(self) -> int:
        """Write bursts begun (AW or W) whose B has not come."""
        return len(self.aw_wait_w) + len(self.w_done) + (self.w_beats > 0) + len(self.b_owed)

    def idle(self) -> bool:
        """Nothing in flight on m_axi, and no request VALID high now."""
        return (
            self.reads_outstanding == 0
            and self.writes_outstanding == 0
            and all(_bits(v) != "1" for v in self.requests)
        )

    def error(self, channel: str, what: str) -> None:
        if len(self.errors) < self.max_errors:
            text = f"cycle {self.cycle}: {channel}: {what}"
            self.errors.append(text)
            cocotb.log.error("AXI protocol: %s", text)

    def check(self) -> None:
        """Raise if any violation was seen."""
        assert not self.errors, f"{len(self.errors)} AXI protocol violation(s):\n" + "\n".join(self.errors)

    # ------------------------------------------------------------ the rules
    def _burst(self, name: str, p: dict[str, str]) -> tuple[int, int]:
        addr, beats, size, burst = _num(p["addr"]), _num(p["len"]) + 1, _num(p["size"]), _num(p["burst"])
        if min(addr, beats - 1, size, burst) < 0:
            self.error(name, f"X or Z in the request: {p}")
            return 0, beats
        if burst != INCR:
            self.error(name, f"burst type {burst}, the DUT issues INCR only")
        if 1 << size > self.lanes:
            self.error(name, f"beat size {1 << size} bytes on a {self.lanes}-byte bus")
        if addr % (1 << size):
            self.error(name, f"address {addr:#x} not aligned to the beat size {1 << size}")
        if addr % BOUNDARY + beats * (1 << size) > BOUNDARY:
            self.error(name, f"burst at {addr:#x} of {beats} beats x {1 << size} bytes crosses a 4 KiB boundary")
        return addr, beats

    def _match_w(self) -> None:
        while self.aw_wait_w and self.w_done:
            awid, want = self.aw_wait_w.popleft()
            got = self.w_done.popleft()
            if got != want:
                self.error("W", f"WLAST after {got} beats, AWLEN+1 = {want}")
            self.b_owed.append(awid)

    def _check_open_w(self) -> None:
        """The W burst in progress has not gone past its AWLEN+1 beats without
        WLAST. Its AW, once seen, is the oldest waiting for W beats (after
        _match_w, bursts ended before their AW and AWs waiting for W beats do
        not coexist)."""
        if self.w_beats and self.aw_wait_w and not self.w_done:
            beats = self.aw_wait_w[0][1]
            if self.w_beats >= beats:
                self.error("W", f"WLAST low on beat {self.w_beats}, AWLEN+1 = {beats}")
                self.w_beats = 0  # report once

    def _step(self) -> None:
        p = self.ar.sample()
        if p is not None:
            addr, beats = self._burst("AR", p)
            self.ar_open.append((_num(p.get("id", "0")), beats))
            self.reads.append((self.cycle, addr, beats - 1))
        p = self.r.sample()
        if p is not None:
            if not self.ar_open:
                self.error("R", "R beat with no read burst outstanding")
            else:
                arid, beats = self.ar_open[0]
                self.r_beats += 1
                last = p["last"] == "1"
                if "id" in p and _num(p["id"]) != arid:
                    self.error("R", f"RID {p['id']} for ARID {arid}")
                if self.r_beats == beats:
                    if not last:
                        self.error("R", f"RLAST low on beat {beats}, the last of the burst")
                    self.ar_open.popleft()
                    self.r_beats = 0
                elif last:
                    self.error("R", f"RLAST on beat {self.r_beats} of {beats}")
                    self.ar_open.popleft()
                    self.r_beats = 0
        p = self.aw.sample()
        w = self.w.sample()
        if self.ar.active or self.aw.active or self.w.active:
            self.request_cycles += 1
        if p is not None:
            addr, beats = self._burst("AW", p)
            self.aw_wait_w.append((_num(p.get("id", "0")), beats))
            self.writes.append((self.cycle, addr, beats - 1))
            self._match_w()
            self._check_open_w()
        p = w
        if p is not None:
            self.w_beats += 1
            if p["last"] == "1":
                self.w_done.append(self.w_beats)
                self.w_beats = 0
                self._match_w()
            else:
                self._check_open_w()
        p = self.b.sample()
        if p is not None:
            if not self.b_owed:
                self.error("B", "B response with no write burst complete on AW and W")
            else:
                awid = self.b_owed.popleft()
                if "id" in p and _num(p["id"]) != awid:
                    self.error("B", f"BID {p['id']} for AWID {awid}")
        if self.lar is None:
            return
        lite = self.lite
        if self.law.sample() is not None:
            lite["aw"] += 1
        if self.lw.sample() is not None:
            lite["w"] += 1
        if self.lb.sample() is not None:
            lite["b"] += 1
            if lite["b"] > min(lite["aw"], lite["w"]):
                self.error("lite B", "write response before both AW and W of a write")
        if self.lar.sample() is not None:
            lite["ar"] += 1
        if self.lr.sample() is not None:
            lite["r"] += 1
            if lite["r"] > lite["ar"]:
                self.error("lite R", "read data with no read outstanding")

    async def _run(self) -> None:
        edge = RisingEdge(self.clock)
        on_edge(self.reset, self.reset_edge, self.woken.set)
        while True:
            if not any(ch.active or ch.rose for ch in self.channels):
                self.woken.clear()  # nothing to check before a VALID rises (or the reset comes)
                await self.woken.wait()
            await edge
            self.cycle = self.cycle_clock.now()
            if _bits(self.reset) != self.reset_idle:
                self._clear()
                continue
            self._step()
