"""virtio-blk: the BlockBackend personality and the BlockDriver class driver,
checked byte for byte against the disk they share."""

import struct

import pytest

from vio import GuestMemory, ModelHal, VioConfigError, VioIov, VioTransfer
from vio import constants as C
from vio.device import ReferenceDevice
from vio.device.block import BlockBackend
from vio.driver import VIO_IOV_FLAGS_WRITE
from vio.drivers.block import NO_STATUS, BlockDriver, BlockError
from vio.ring import Desc

from .rig import BASE, MEM_SIZE, run

SECTORS = 64
INDIRECT = 1 << C.VIRTIO_RING_F_INDIRECT_DESC
EVENT_IDX = 1 << C.VIRTIO_RING_F_EVENT_IDX
RING_FEATURES = [0, INDIRECT, EVENT_IDX, INDIRECT | EVENT_IDX]
RING_IDS = ["plain", "indirect", "event_idx", "indirect+event_idx"]


def pattern(sectors: int, salt: int = 0) -> bytearray:
    return bytearray((i * 7 + i // 512 + salt) & 0xFF for i in range(sectors * C.SECTOR_SIZE))


def block_rig(backend: BlockBackend, queue_num_max: int = 128, **drv_kw) -> BlockDriver:
    """A started BlockDriver in front of a reference device serving ``backend``."""
    mem = GuestMemory(MEM_SIZE)
    hal = ModelHal(mem)
    hal.attach(BASE, ReferenceDevice(backend, mem, queue_num_max=queue_num_max))
    blk = BlockDriver(hal, BASE, **drv_kw)
    run(blk.start())
    return blk


def spy_iovs(blk: BlockDriver) -> list[list[tuple[int, int]]]:
    """Record (size, flags) of every iov the driver submits."""
    seen: list[list[tuple[int, int]]] = []
    submit = blk.vio.submit

    async def spy(tfr: VioTransfer) -> int:
        seen.append([(v.size, v.flags) for v in tfr.iov[: tfr.iov_len]])
        return await submit(tfr)

    blk.vio.submit = spy  # type: ignore[method-assign]
    return seen


def head_desc(blk: BlockDriver) -> Desc:
    """The descriptor the first transfer used as its head (the driver hands out 0 first)."""
    layout = blk.vio.queue[0].layout
    assert layout is not None
    return Desc.unpack(blk.hal.mem.read(layout.desc_addr(0), 16))


# ------------------------------------------------------------------ driver
def test_start_reads_config_and_features() -> None:
    blk = block_rig(BlockBackend(pattern(SECTORS), seg_max=32), ring_features=INDIRECT)
    assert (blk.capacity, blk.blk_size, blk.seg_max, blk.read_only) == (SECTORS, 512, 32, False)
    for bit in (C.VIRTIO_BLK_F_BLK_SIZE, C.VIRTIO_BLK_F_FLUSH, C.VIRTIO_BLK_F_SEG_MAX, C.VIRTIO_RING_F_INDIRECT_DESC):
        assert blk.vio.has_feature(bit)
    assert not blk.vio.has_feature(C.VIRTIO_BLK_F_RO)
    assert not blk.vio.has_feature(C.VIRTIO_RING_F_EVENT_IDX)  # only what the caller passed


@pytest.mark.parametrize("ring", RING_FEATURES, ids=RING_IDS)
def test_read_write_flush_get_id_bytearray(ring: int) -> None:
    disk = pattern(SECTORS)
    backend = BlockBackend(disk, serial=b"disk-7")
    blk = block_rig(backend, ring_features=ring)
    assert run(blk.read(3, 2)) == disk[3 * 512 : 5 * 512]
    data = bytes(pattern(5, salt=99))
    before = bytes(disk)
    run(blk.write(10, data))
    assert disk[10 * 512 : 15 * 512] == data
    assert disk[: 10 * 512] == before[: 10 * 512] and disk[15 * 512 :] == before[15 * 512 :]  # guard: nothing else moved
    assert run(blk.read(9, 7)) == disk[9 * 512 : 16 * 512]
    run(blk.flush())
    assert run(blk.get_id()) == b"disk-7"
    assert backend.requests == {C.VIRTIO_BLK_T_IN: 2, C.VIRTIO_BLK_T_OUT: 1, C.VIRTIO_BLK_T_FLUSH: 1, C.VIRTIO_BLK_T_GET_ID: 1}
    assert backend.statuses == {C.VIRTIO_BLK_S_OK: 5}
    assert blk.vio.has_feature(C.VIRTIO_RING_F_EVENT_IDX) == bool(ring & EVENT_IDX)


@pytest.mark.parametrize("ring", RING_FEATURES, ids=RING_IDS)
def test_multi_iov_chains(ring: int) -> None:
    disk = pattern(SECTORS)
    blk = block_rig(BlockBackend(disk), ring_features=ring, seg_size=512)
    seen = spy_iovs(blk)
    assert run(blk.read(0, 8)) == disk[: 8 * 512]
    W = VIO_IOV_FLAGS_WRITE
    assert seen[-1] == [(16, 0)] + [(512, W)] * 8 + [(1, W)]
    assert head_desc(blk).is_indirect == bool(ring & INDIRECT)
    data = bytes(pattern(3, salt=5))
    run(blk.write(40, data))
    assert seen[-1] == [(16, 0)] + [(512, 0)] * 3 + [(1, W)]
    assert disk[40 * 512 : 43 * 512] == data


@pytest.mark.parametrize("ring", RING_FEATURES, ids=RING_IDS)
def test_large_transfer_fits_a_small_queue(ring: int) -> None:
    disk = pattern(256)
    blk = block_rig(BlockBackend(disk), queue_num_max=8, ring_features=ring)
    seen = spy_iovs(blk)
    assert run(blk.read(0, 256)) == disk  # 128 KiB: 32 entries of 4 KiB would not fit 8 descriptors
    assert len(seen[-1]) <= 8 and sum(size for size, _ in seen[-1]) == 16 + len(disk) + 1
    data = bytes(pattern(200, salt=3))
    run(blk.write(17, data))
    assert disk[17 * 512 : 217 * 512] == data and len(seen[-1]) <= 8


def test_seg_max_bounds_data_entries() -> None:
    disk = pattern(SECTORS)
    blk = block_rig(BlockBackend(disk, seg_max=3), ring_features=INDIRECT)
    seen = spy_iovs(blk)
    assert run(blk.read(0, 32)) == disk[: 32 * 512]
    assert len(seen[-1]) - 2 <= 3


def test_file_backed_disk(tmp_path) -> None:
    path = tmp_path / "disk.img"
    image = pattern(SECTORS)
    path.write_bytes(image)
    with BlockBackend(path) as backend:
        blk = block_rig(backend, ring_features=INDIRECT | EVENT_IDX)
        assert blk.capacity == SECTORS
        assert run(blk.read(5, 3)) == image[5 * 512 : 8 * 512]
        data = bytes(pattern(4, salt=42))
        run(blk.write(60, data))
        run(blk.flush())
        image[60 * 512 :] = data
        assert path.read_bytes() == image  # flushed: another reader sees it
        assert run(blk.read(58, 6)) == image[58 * 512 :]
        assert backend.requests[C.VIRTIO_BLK_T_FLUSH] == 1
    assert backend._file is None


def test_file_capacity_ignores_partial_sector(tmp_path) -> None:
    path = tmp_path / "odd.img"
    path.write_bytes(bytes(10 * 512 + 100))
    with BlockBackend(path, read_only=True) as backend:
        assert backend.capacity == 10
        assert struct.unpack_from("<Q", backend.config())[0] == 10


@pytest.mark.parametrize("sector, count", [(SECTORS, 1), (SECTORS - 1, 2), (1 << 40, 1), ((1 << 64) - 1, 1)])
def test_out_of_range_is_ioerr(sector: int, count: int) -> None:
    disk = pattern(SECTORS)
    before = bytes(disk)
    blk = block_rig(BlockBackend(disk))
    with pytest.raises(BlockError) as err:
        run(blk.read(sector, count))
    assert err.value.status == C.VIRTIO_BLK_S_IOERR and err.value.sector == sector
    assert f"IN at sector {sector}" in str(err.value) and "IOERR" in str(err.value)
    with pytest.raises(BlockError, match="OUT at sector"):
        run(blk.write(sector, bytes(512 * count)))
    assert disk == before
    assert run(blk.read(SECTORS - 1, 1)) == disk[-512:]  # the last sector itself is fine


def test_read_only_disk_rejects_writes(tmp_path) -> None:
    disk = pattern(SECTORS)
    before = bytes(disk)
    blk = block_rig(BlockBackend(disk, read_only=True))
    assert blk.read_only
    with pytest.raises(BlockError) as err:
        run(blk.write(0, bytes(512)))
    assert err.value.status == C.VIRTIO_BLK_S_IOERR and err.value.errno == 5
    assert disk == before
    assert run(blk.read(0, 2)) == disk[:1024]
    path = tmp_path / "ro.img"
    path.write_bytes(before)
    path.chmod(0o444)  # read_only opens the file rb, so a read-only file is usable
    with BlockBackend(path, read_only=True) as backend:
        blk = block_rig(backend)
        with pytest.raises(BlockError, match="IOERR"):
            run(blk.write(1, bytes(512)))
        assert run(blk.read(1, 1)) == before[512:1024]
    assert path.read_bytes() == before


def test_unsupported_type_raw_transfer() -> None:
    backend = BlockBackend(pattern(SECTORS))
    blk = block_rig(backend)
    mem = blk.hal.mem
    hdr, data, status = mem.alloc(16), mem.alloc(512), mem.alloc(1)
    mem.write(hdr, struct.pack("<IIQ", 99, 0, 0))
    mem.fill(data, 512, 0xAA)
    mem.fill(status, 1, 0xEE)
    tfr = VioTransfer(0, [VioIov(hdr, 16), VioIov(data, 512, VIO_IOV_FLAGS_WRITE), VioIov(status, 1, VIO_IOV_FLAGS_WRITE)])
    assert run(blk.transfer(tfr)) == 513  # as QEMU: the whole writable part, status last
    assert mem.read(status, 1)[0] == C.VIRTIO_BLK_S_UNSUPP
    assert mem.read(data, 512) == bytes(512)
    assert backend.requests[99] == 1 and backend.statuses[C.VIRTIO_BLK_S_UNSUPP] == 1
    with pytest.raises(BlockError, match=r"type 99 at sector 7 failed: status 2 \(UNSUPP\)") as err:
        run(blk.request(99, 7))
    assert err.value.errno == 95


def test_flush_not_supported() -> None:
    backend = BlockBackend(pattern(SECTORS), flush_supported=False)
    blk = block_rig(backend)
    assert not blk.vio.has_feature(C.VIRTIO_BLK_F_FLUSH)
    accesses = blk.hal.accesses
    run(blk.flush())  # write-through device: nothing to send
    assert blk.hal.accesses == accesses and not backend.requests
    with pytest.raises(BlockError, match="FLUSH at sector 0 .*UNSUPP"):
        run(blk.request(C.VIRTIO_BLK_T_FLUSH))


@pytest.mark.parametrize(
    "serial, expected", [(b"abc", b"abc"), (b"x" * 20, b"x" * 20), (b"0123456789abcdefghijKLMN", b"0123456789abcdefghij")]
)
def test_get_id_pads_and_truncates(serial: bytes, expected: bytes) -> None:
    assert run(block_rig(BlockBackend(pattern(4), serial=serial)).get_id()) == expected


def test_arguments_checked_before_bus_access() -> None:
    blk = block_rig(BlockBackend(pattern(SECTORS)))
    accesses = blk.hal.accesses
    for call in (blk.read(0, 0), blk.read(-1), blk.write(0, b"x" * 100), blk.write(0, b""), blk.request(-1), blk.request(0, 1 << 64)):
        with pytest.raises(VioConfigError):
            run(call)
    assert blk.hal.accesses == accesses
    with pytest.raises(VioConfigError):
        BlockDriver(blk.hal, BASE, seg_size=100)


def test_buffers_are_freed() -> None:
    blk = block_rig(BlockBackend(pattern(SECTORS)), ring_features=INDIRECT)
    blocks = dict(blk.hal.mem._blocks)
    run(blk.read(0, 16))
    with pytest.raises(BlockError):
        run(blk.read(SECTORS, 1))
    assert blk.hal.mem._blocks == blocks


def test_missing_status_is_an_error() -> None:
    class Silent(BlockBackend):
        def request(self, queue: int, readable: bytes, writable_len: int) -> bytes:
            return b""  # used.len 0: the status byte is never written

    blk = block_rig(Silent(pattern(SECTORS)))
    with pytest.raises(BlockError, match="no status written") as err:
        run(blk.read(0))
    assert err.value.status == NO_STATUS


# ----------------------------------------------------------------- backend
def header(kind: int, sector: int = 0) -> bytes:
    return struct.pack("<IIQ", kind, 0, sector)


def test_backend_answers_as_qemu() -> None:
    disk = pattern(8)
    b = BlockBackend(disk, serial=b"S")
    ok, ioerr, unsupp = bytes([0]), bytes([1]), bytes([2])
    assert b.request(0, header(C.VIRTIO_BLK_T_IN, 2), 1025) == disk[1024:2048] + ok
    assert b.request(0, header(C.VIRTIO_BLK_T_OUT, 1) + bytes(512), 1) == ok
    assert b.request(0, header(C.VIRTIO_BLK_T_OUT, 1) + bytes(512), 4) == bytes(3) + ok  # padding, status last
    assert b.request(0, header(C.VIRTIO_BLK_T_FLUSH), 1) == ok
    assert b.request(0, header(C.VIRTIO_BLK_T_GET_ID), 21) == b"S" + bytes(19) + ok
    assert b.request(0, header(C.VIRTIO_BLK_T_GET_ID), 5) == b"S" + bytes(3) + ok
    assert b.request(0, header(2), 9) == bytes(8) + unsupp
    assert b.request(0, header(C.VIRTIO_BLK_T_IN)[:15], 3) == bytes(2) + ioerr  # short header
    assert b.request(0, header(C.VIRTIO_BLK_T_IN), 101) == bytes(100) + ioerr  # not whole sectors
    assert b.request(0, header(C.VIRTIO_BLK_T_OUT) + bytes(100), 1) == ioerr
    assert b.request(0, header(C.VIRTIO_BLK_T_IN, 8), 1) == ok  # zero sectors at the end: in range
    assert b.request(0, header(C.VIRTIO_BLK_T_IN, 9), 1) == ioerr
    assert b.request(0, header(C.VIRTIO_BLK_T_IN), 0) == b""  # nothing to report into
    assert disk[512:1024] == bytes(512)


def test_backend_config_and_features() -> None:
    b = BlockBackend(pattern(10), read_only=True, flush_supported=False, seg_max=17)
    assert b.device_id == C.VIRTIO_ID_BLOCK and b.num_queues == 1
    assert b.device_features == 1 << C.VIRTIO_BLK_F_BLK_SIZE | 1 << C.VIRTIO_BLK_F_RO | 1 << C.VIRTIO_BLK_F_SEG_MAX
    cfg = b.config()
    assert len(cfg) == 24
    assert struct.unpack("<QIIHBBI", cfg) == (10, 0, 17, 0, 0, 0, 512)
    assert BlockBackend(pattern(1)).device_features == 1 << C.VIRTIO_BLK_F_BLK_SIZE | 1 << C.VIRTIO_BLK_F_FLUSH
