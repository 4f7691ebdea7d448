"""virtio-rng: the EntropyBackend's seeded stream and the EntropyDriver's
looping over short completions."""

import random

import pytest

from vio import GuestMemory, ModelHal, VioConfigError, VioError
from vio import constants as C
from vio.device import ReferenceDevice
from vio.device.entropy import EntropyBackend, entropy_stream
from vio.drivers.entropy import EntropyDriver
from vio.errors import DeviceModelError

from .rig import BASE, MEM_SIZE, run

INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX


def rng_rig(backend: EntropyBackend, **drv_kw) -> EntropyDriver:
    """A started EntropyDriver in front of a reference device serving ``backend``."""
    mem = GuestMemory(MEM_SIZE)
    hal = ModelHal(mem)
    hal.attach(BASE, ReferenceDevice(backend, mem))
    drv = EntropyDriver(hal, BASE, **drv_kw)
    run(drv.start())
    return drv


@pytest.mark.parametrize("ring", [0, EVENT_IDX, INDIRECT | EVENT_IDX])
@pytest.mark.parametrize("n", [1, 5, 4096, 10_000])
def test_read_returns_the_seeded_stream(ring: int, n: int) -> None:
    backend = EntropyBackend(seed=1234)
    drv = rng_rig(backend, ring_features=ring)
    assert drv.vio.device_id == C.VIRTIO_ID_RNG and drv.vio.features == ring
    data = run(drv.read(n))
    assert data == entropy_stream(1234, n)
    assert backend.produced == n and backend.requests == -(-n // 4096)


def test_stream_is_random_randbytes() -> None:
    drv = rng_rig(EntropyBackend(seed=7), buf_size=6)  # requests not word-sized
    assert run(drv.read(40)) == random.Random(7).randbytes(40)
    assert run(drv.read(24)) == random.Random(7).randbytes(64)[40:]


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_chunk_limited_backend_still_gives_n_bytes(chunk: int) -> None:
    backend = EntropyBackend(seed=5, chunk=chunk)
    drv = rng_rig(backend, buf_size=256)
    assert run(drv.read(300)) == entropy_stream(5, 300)
    assert backend.produced == 300
    assert backend.requests == -(-300 // min(chunk, 256))  # each request asks min(rest, buf_size)


def test_determinism_per_seed() -> None:
    a, b, c = (run(rng_rig(EntropyBackend(seed=s)).read(512)) for s in (9, 9, 10))
    assert a == b and a != c


def test_zero_and_bad_reads() -> None:
    drv = rng_rig(EntropyBackend())
    accesses = drv.hal.accesses
    assert run(drv.read(0)) == b""
    with pytest.raises(VioConfigError):
        run(drv.read(-1))
    assert drv.hal.accesses == accesses
    with pytest.raises(VioConfigError):
        EntropyDriver(drv.hal, BASE, buf_size=0)


def test_buffers_are_freed() -> None:
    drv = rng_rig(EntropyBackend(chunk=10))
    blocks = dict(drv.hal.mem._blocks)
    run(drv.read(1000))
    assert drv.hal.mem._blocks == blocks


def test_empty_completion_is_an_error() -> None:
    class Dry(EntropyBackend):
        def request(self, queue: int, readable: bytes, writable_len: int) -> bytes:
            return b""

    with pytest.raises(VioError, match="0 bytes"):
        run(rng_rig(Dry()).read(8))


def test_backend_edges() -> None:
    b = EntropyBackend(seed=3, chunk=4)
    assert b.request(0, b"readable only", 0) == b""
    assert b.request(0, b"", 10) == random.Random(3).randbytes(4)
    assert b.produced == 4 and b.config() == b"" and b.device_features == 0
    with pytest.raises(DeviceModelError):
        EntropyBackend(chunk=0)
