"""Linux 6.1's own ring code (drivers/virtio/virtio_ring.c from Debian's
linux-source-6.1, built at test time by vio.linux.build) against the
reference device: every case of vio.linux.check, and each of its checks shown
to catch a device that breaks it (a byte, a used.len, a token, the readable
bytes, an interrupt, a stall, the kernel's own ring checks). The RTL:
tests/test_linux_rtl.py."""

import asyncio
from pathlib import Path

import pytest

from vio import constants as C
from vio.device.loopback import LoopbackBackend
from vio.device.mmio import ReferenceDevice
from vio.differential import MODEL_BASE, BackendTarget
from vio.linux import build
from vio.linux.check import CASES, INDEX_BASE, DeviceStall, LinuxCheck, LinuxCheckError, LostInterrupt
from vio.linux.ring import KernelRing, KernelRingError, guest_store
from vio.memory import GuestMemory
from vio.model_hal import ModelHal

from .rig import ForgetsThePageSize

ROOT = Path(__file__).resolve().parents[1]
MEM_SIZE = 4 << 20
QUEUE_NUM_MAX = 16  # the RTL's default, as tests/test_linux_rtl.py builds it


@pytest.fixture(scope="session")
def lib() -> Path:
    return build.library(ROOT / "build" / "linux")


def model_check(lib: Path, device_class=ReferenceDevice, backend: LoopbackBackend | None = None, index_base: int = 0) -> LinuxCheck:
    mem = GuestMemory(MEM_SIZE, store=guest_store(MEM_SIZE))
    hal = ModelHal(mem)
    backend = backend or LoopbackBackend(2)
    hal.attach(MODEL_BASE, device_class(backend, mem, queue_num_max=QUEUE_NUM_MAX, ring_index_base=index_base))
    target = BackendTarget("model", hal, MODEL_BASE, backend, timeout_ns=100_000)
    return LinuxCheck(target, KernelRing(lib, mem), seed=3, index_base=index_base)


@pytest.mark.parametrize("index_base", [0, INDEX_BASE], ids=["from-0", "near-the-wrap"])
@pytest.mark.parametrize("case", list(CASES))
def test_case_on_the_reference_device(lib, case, index_base):
    """Every case from index 0 (index_wrap: 65 836 requests), and with the
    indices started 16 short of the wrap (the RTL's builds, tests/test_linux_rtl.py)."""
    check = model_check(lib, index_base=index_base)
    asyncio.run(CASES[case](check))
    assert check.completions > 0 and check.ring.arena_blocks() == 0


# ------------------------------------------------------ each check can fail
async def _traffic(check: LinuxCheck, out: int = 3, into: int = 5, count: int = 4) -> None:
    await check.start(4096, features=0)
    await check.traffic(0, [([[out]] if out else [], [[into]] if into else []) for _ in range(count)])


class FlipsAByte(LoopbackBackend):
    def request(self, queue, readable, writable_len):
        answer = super().request(queue, readable, writable_len)
        return answer[:2] + bytes([answer[2] ^ 1]) + answer[3:]


def test_a_wrong_byte_is_caught(lib):
    with pytest.raises(LinuxCheckError, match=r"token 1: byte 2 of the answer, at 0x[0-9a-f]+, is 0x"):
        asyncio.run(_traffic(model_check(lib, backend=FlipsAByte(2))))


class LongUsedLen(ReferenceDevice):
    """used.len one more than the bytes written."""

    def _complete(self, q, chain):
        super()._complete(q, chain)
        at = q.layout.used_ring((q.used_idx - 1) % q.num) + 4
        self.mem.write32(at, self.mem.read32(at) + 1)


def test_a_wrong_used_len_is_caught(lib):
    with pytest.raises(LinuxCheckError, match=r"token 1: used.len 6, the loopback answers 5 bytes"):
        asyncio.run(_traffic(model_check(lib, LongUsedLen)))


class OtherHead(ReferenceDevice):
    """The first used entry names the second chain in flight (a valid head)."""

    def _complete(self, q, chain):
        super()._complete(q, chain)
        if q.used_idx == 1 and q.in_flight:
            self.mem.write32(q.layout.used_ring(0), q.in_flight[0].head)


def test_a_token_out_of_order_is_caught(lib):
    check = model_check(lib, OtherHead)
    check.backend.hold = True  # both chains in flight before the first completes

    async def body():
        await check.start(4096, features=0)
        for _ in range(2):
            check.request(0, [[4]], [])
        await check.kick(0)
        check.backend.release()
        await check.drain()

    with pytest.raises(LinuxCheckError, match=r"queue 0: token 2 completed, the oldest outstanding is 1"):
        asyncio.run(body())


class BadId(ReferenceDevice):
    """A used id past the ring: the kernel's own check (BAD_RING) breaks the queue."""

    def _complete(self, q, chain):
        super()._complete(q, chain)
        self.mem.write32(q.layout.used_ring((q.used_idx - 1) % q.num), 99)


def test_the_kernels_own_ring_checks_are_reported(lib):
    with pytest.raises(KernelRingError, match=r"dev_err at .*virtio_ring.c:\d+: q0:id 99 out of range"):
        asyncio.run(_traffic(model_check(lib, BadId)))


def test_a_bug_of_the_ring_code_is_an_error_not_an_abort(lib):
    check = model_check(lib)
    asyncio.run(check.start(4096, features=0))
    with pytest.raises(KernelRingError, match=r"vio_vq_add on queue 0: .*BUG at .*virtio_ring.c:\d+: BUG_ON\(data == NULL\)"):
        check.vqs[0].add([[(check.mem.alloc(4), 4)]], [], token=0)
    asyncio.run(_traffic_on(check))  # the process and the queue go on


async def _traffic_on(check: LinuxCheck) -> None:
    await check.traffic(0, [([[3]], [[5]]) for _ in range(4)])


class ShortReads(LoopbackBackend):
    """The device hands the backend one readable byte too few."""

    def request(self, queue, readable, writable_len):
        return super().request(queue, readable[:-1], writable_len)


def test_wrong_readable_bytes_are_caught(lib):
    with pytest.raises(LinuxCheckError, match=r"token 1: the backend got \(0, b'.*', 0\), not its 3 readable bytes and 0 writable"):
        asyncio.run(_traffic(model_check(lib, backend=ShortReads(2)), into=0))


class NoInterrupts(ReferenceDevice):
    """Posts used entries but never raises the used-buffer interrupt."""

    def _raise(self, bits):
        super()._raise(bits & ~C.VIRTIO_MMIO_INT_VRING)


@pytest.mark.parametrize("features", [0, 1 << C.VIRTIO_RING_F_EVENT_IDX], ids=["flags", "event_idx"])
def test_a_lost_interrupt_is_told_apart_from_a_stall(lib, features):
    async def body(check):
        await check.start(4096, features=features)
        await check.traffic(0, [([[4]], [[4]])])

    with pytest.raises(LostInterrupt, match=r"the device posted 1 used entr\(ies\) an interrupt was due for"):
        asyncio.run(body(model_check(lib, NoInterrupts)))
    check = model_check(lib)
    check.backend.hold = True
    with pytest.raises(DeviceStall, match=r"1 request\(s\) outstanding .* used.idx 0, driver at 0"):
        asyncio.run(body(check))


def test_a_stall_short_of_used_event_is_no_lost_interrupt(lib):
    """With enable_cb_delayed the interrupt is due only once 3/4 of the
    outstanding requests are used: a device that stops after 2 of 8 stalls,
    it lost no interrupt."""

    class StopsAfterTwo(LoopbackBackend):
        def request(self, queue, readable, writable_len):
            self.hold = len(self.received) >= 2
            return super().request(queue, readable, writable_len)

    check = model_check(lib, backend=StopsAfterTwo(2))

    async def body():
        await check.start(4096, features=1 << C.VIRTIO_RING_F_EVENT_IDX, style="delayed")
        for _ in range(8):
            check.request(1, [[4]], [])
        assert check.vqs[1].enable_cb_delayed()  # used_event 6, as start_xmit() with a full ring
        await check.kick(1)
        await check.drain()

    with pytest.raises(DeviceStall, match=r"8 request\(s\) outstanding .* used.idx 2, driver at 0, .* used_event 6.*"
                                          r"posted 2 used entr\(ies\), too few for an interrupt"):
        asyncio.run(body())


def test_a_device_that_forgets_the_page_size_fails_at_16_kib(lib):
    """Linux writes GuestPageSize before its reset (docs/linux.md): the
    reference device as it was (Status=0 put 4096 back) loses the rings."""
    with pytest.raises(LinuxCheckError, match=r"posted no used entry"):
        asyncio.run(CASES["indirect_tables"](model_check(lib, ForgetsThePageSize)))


# ------------------------------------------------------ set-up errors
def test_guest_memory_must_be_aligned_for_the_ring_code(lib):
    with pytest.raises(TypeError, match=r"guest_store\(\): aligned to 64 KiB"):
        KernelRing(lib, GuestMemory(MEM_SIZE))


def test_missing_kernel_source_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv(build.TARBALL_ENV, str(tmp_path / "nothing.tar.xz"))
    with pytest.raises(build.LinuxSourceError, match=r"nothing.tar.xz not found: install the Debian package linux-source-6.1"):
        build.library(tmp_path)
