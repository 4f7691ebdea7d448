"""What every class driver does with its VioDriver: own the interrupt, wait
for transfers with a bound, and turn device trouble into clear errors."""

from .. import constants as C
from ..driver import VioDriver, VioTransfer
from ..errors import VioQueueBroken, VioTimeout

DEFAULT_TIMEOUT_NS = 10_000_000
POLL_INTERVAL_NS = 1_000


class ClassDriver:
    """Base of the console, block and entropy drivers.

    ``timeout_ns`` bounds every wait (hostile-input case 31): a transfer that
    does not complete in time resets the device and raises VioTimeout.
    """

    def __init__(self, vio: VioDriver, timeout_ns: int = DEFAULT_TIMEOUT_NS):
        self.vio = vio
        self.hal = vio.hal
        self.timeout_ns = timeout_ns
        self.interrupts = 0
        self.spurious_interrupts = 0

    async def start(self) -> None:
        """``cyg_vio_driver_init`` plus what the class needs after it."""
        await self.vio.init()

    async def service(self) -> int:
        """The interrupt handler (ISR + DSR): acknowledge, react, poll.

        Returns the number of completions it found. An interrupt with nothing
        behind it changes nothing (case 30).
        """
        isr = await self.vio.interrupt_status()
        if not isr:
            self.spurious_interrupts += 1
            return 0
        self.interrupts += 1
        if isr & C.VIRTIO_MMIO_INT_CONFIG:
            await self.config_changed()
        return await self.vio.poll()

    async def config_changed(self) -> None:
        """A config-change interrupt without NEEDS_RESET (console resize...)."""

    async def wait(self, *transfers: VioTransfer, timeout_ns: int | None = None) -> None:
        """Run the interrupt handler until every transfer is done, within the bound.

        Polls anyway every POLL_INTERVAL_NS, so queues with interrupts off work too.
        """
        limit = self.timeout_ns if timeout_ns is None else timeout_ns
        deadline = self.hal.now_ns() + limit
        while not all(t.done for t in transfers):
            for t in transfers:
                q = self.vio.queue[t.queue]
                if q.broken:
                    raise VioQueueBroken(f"queue {t.queue} ({q.name}) is broken: {q.broken}")
            remaining = deadline - self.hal.now_ns()
            if remaining <= 0:
                pending = [t for t in transfers if not t.done]
                await self.vio.reset()
                raise VioTimeout(
                    f"device at {self.vio.base:#x}: {len(pending)} transfer(s) not done after {limit} ns "
                    f"({pending[0]!r}); device reset"
                )
            if await self.hal.wait_irq(self.vio.vector, min(POLL_INTERVAL_NS, remaining)):
                await self.service()
            else:
                await self.vio.poll()

    async def transfer(self, tfr: VioTransfer, timeout_ns: int | None = None) -> int:
        """Submit and wait: the blocking call most class operations are built on.
        Returns ``tfr.actual``."""
        await self.vio.submit(tfr)
        await self.wait(tfr, timeout_ns=timeout_ns)
        return tfr.actual
