"""The scoreboards wired onto a :class:`~vio.cocotb.env.VirtioEnv`: one driver
lifetime between two device inits, checked.

A :class:`CheckedSession` is a fresh :class:`~vio.cocotb.predictor.Predictor`
(the reference device with its own backend, its memory a copy of guest
memory at the start), a :class:`~vio.cocotb.predictor.PredictedHal` in front
of the DUT, the four scoreboards with their monitors
(:class:`~vio.cocotb.scoreboards.Scoreboards`), and the driver model on top.
A device reset (Status=0 then a new init) ends a session and starts the next,
because the predictor's per-queue sequence numbers restart with the rings::

    env = VirtioEnv(dut, LoopbackBackend(2), ...)
    await env.start()
    s = CheckedSession(env, LoopbackBackend(2))   # the predictor's own backend
    drv = VioDriver(env.base, queue=..., hal=s.hal)
    s.attach(drv)
    await drv.init(); ... traffic ...
    errors = s.close()                            # [] when every scoreboard agrees

Ending a session checks it: ``close("full")`` runs every scoreboard (chains
the reset abandoned in flight are taken out of the completion record first:
neither side used them); ``close("memory")`` is for a session cut at an
arbitrary cycle (a reset or a bus error the predictor cannot follow): only the
memory scoreboard and the AXI write monitor are meaningful then.
"""

from __future__ import annotations

from collections.abc import Callable

from vio.device.backend import Backend
from vio.driver import VioDriver

from .env import VirtioEnv
from .hal import CocotbHal
from .predictor import MirroredMemory, PredictedHal, Predictor
from .scoreboards import DROP_BOUND_CYCLES, RISE_BOUND_CYCLES, Scoreboards

QUIET_CYCLES = 48  # no valid on any bus or stream for this long: the DUT is quiescent
SETTLE_LIMIT = 400_000  # cycles: a DUT that never goes quiet is a failure, not a hang


async def settle(env: VirtioEnv) -> None:
    """Until no DMA or stream valid and the engine idle for QUIET_CYCLES
    cycles and no answer on its way. Unlike VirtioEnv.quiesce, answers the backend holds back on
    purpose do not count as activity."""
    streams = env.streams
    busy = lambda: not streams.source.idle() or streams.sink.active  # noqa: E731
    await env.until_quiet(QUIET_CYCLES, register_bus=False, busy=busy, timeout_cycles=SETTLE_LIMIT + QUIET_CYCLES)


class CheckedSession:
    """A predictor, the scoreboards and a PredictedHal around ``env``'s DUT.

    ``predictor_backend`` is the predictor's own backend: the same class and
    state as ``env.backend`` at this point. Build the driver model on
    ``session.hal`` and hand it to :meth:`attach`.
    """

    def __init__(
        self,
        env: VirtioEnv,
        predictor_backend: Backend,
        scoreboards_cls: type[Scoreboards] = Scoreboards,
        *,
        rise_bound: int = RISE_BOUND_CYCLES,
        drop_bound: int = DROP_BOUND_CYCLES,
    ):
        p = env.params
        self.env = env
        self.predictor = Predictor(
            predictor_backend,
            env.mem.size,
            vendor_id=p["VENDOR_ID"],
            queue_num_max=p["QUEUE_NUM_MAX"],
            transport_features=p["HOST_FEATURES"] & ~predictor_backend.device_features,
            dma_window=(p["DMA_BASE"], p["DMA_SIZE"]),
            indirect_max=p["INDIRECT_MAX"],
            ring_index_base=p["RING_INDEX_BASE"],
        )
        self.predictor.mem.write(0, bytes(env.store))  # the guest memory as it is now
        self.mem = MirroredMemory(env.mem.size, store=env.store, mirror=self.predictor.mem)
        self.dut_hal = CocotbHal(env.axil, env.irq, self.mem, base=env.base)
        self.hal = PredictedHal(self.dut_hal, self.predictor, cycle_clock=env.cycle_clock, base=env.base, settle=self.settle)
        self.sb = scoreboards_cls(env.dut, self.predictor, clock=env.clock, irq=env.irq, dma=env.prefixes["dma"], cycle_clock=env.cycle_clock,
                                  rise_bound=rise_bound, drop_bound=drop_bound)  # fmt: skip
        env.streams.log = []  # the RTL backend's requests of this session
        self.sb.start()
        self.vio: VioDriver | None = None
        self.closed = False
        self.exempt: set[int] = set()  # write bursts (by AWADDR) the memory check lets pass

    async def settle(self) -> None:
        await settle(self.env)

    def attach(self, vio: VioDriver) -> None:
        self.vio = vio
        self.sb.attach(self.hal, vio, self.env.streams.log)

    # ------------------------------------------------------------ ending
    def _prune_abandoned(self) -> None:
        """Chains a reset took back before either side used them leave the record."""
        comp = self.sb.completion
        for q, posted in comp.posted.items():
            used = len(self.predictor.uses.get(q, []))
            comp.posted[q] = [c for c in posted if c.seq < used or comp.reaped.get(q, {}).get(c.seq)]

    def errors(self, mode: str = "full") -> list[str]:
        if mode == "full":
            self._prune_abandoned()
            return self.sb.errors()
        # a burst the driver aimed outside guest memory on purpose (bus error) is exempt
        errs = [f"memory scoreboard: {e}" for e in self.sb.memory.violations if not any(f"awaddr {a:#x}" in e for a in self.exempt)]
        return errs + [f"AXI write monitor: {e}" for e in self.sb.writes.errors]

    def close(self, mode: str = "full", report: Callable[[str], None] | None = None) -> list[str]:
        """Stop the monitors and return the discrepancies (``mode`` as above)."""
        if self.closed:
            return []
        self.closed = True
        errs = self.errors(mode)
        if report is not None:
            report(f"session closed ({mode} check): " + (self.sb.summary() if mode == "full" else self.sb.memory.summary()))
        self.sb.stop()
        return errs
