"""Legacy virtio-mmio constants.

Names follow the Linux UAPI headers (``/usr/include/linux/virtio_*.h``) so that
``tests/test_constants.py`` can check every value here against them. The only
names the headers do not have are this project's own extensions, grouped at the
end (the device-error register and its cause codes).
"""

from enum import IntEnum

# --- register map (virtio_mmio.h); legacy (Version 1) uses the ones marked L ---
VIRTIO_MMIO_MAGIC_VALUE = 0x000  # L R
VIRTIO_MMIO_VERSION = 0x004  # L R
VIRTIO_MMIO_DEVICE_ID = 0x008  # L R
VIRTIO_MMIO_VENDOR_ID = 0x00C  # L R
VIRTIO_MMIO_DEVICE_FEATURES = 0x010  # L R  (legacy name: HostFeatures)
VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014  # L W
VIRTIO_MMIO_DRIVER_FEATURES = 0x020  # L W  (legacy name: GuestFeatures)
VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024  # L W
VIRTIO_MMIO_GUEST_PAGE_SIZE = 0x028  # L W
VIRTIO_MMIO_QUEUE_SEL = 0x030  # L W
VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034  # L R
VIRTIO_MMIO_QUEUE_NUM = 0x038  # L W
VIRTIO_MMIO_QUEUE_ALIGN = 0x03C  # L W
VIRTIO_MMIO_QUEUE_PFN = 0x040  # L RW
VIRTIO_MMIO_QUEUE_READY = 0x044  # Version 2 only
VIRTIO_MMIO_QUEUE_NOTIFY = 0x050  # L W
VIRTIO_MMIO_INTERRUPT_STATUS = 0x060  # L R
VIRTIO_MMIO_INTERRUPT_ACK = 0x064  # L W
VIRTIO_MMIO_STATUS = 0x070  # L RW
VIRTIO_MMIO_CONFIG_GENERATION = 0x0FC  # Version 2 only
VIRTIO_MMIO_CONFIG = 0x100

VIRTIO_MMIO_INT_VRING = 1 << 0
VIRTIO_MMIO_INT_CONFIG = 1 << 1

MAGIC_VALUE = 0x74726976  # "virt", little-endian
LEGACY_VERSION = 1

# --- device status (virtio_config.h) ---
VIRTIO_CONFIG_S_ACKNOWLEDGE = 1
VIRTIO_CONFIG_S_DRIVER = 2
VIRTIO_CONFIG_S_DRIVER_OK = 4
VIRTIO_CONFIG_S_FEATURES_OK = 8
VIRTIO_CONFIG_S_NEEDS_RESET = 0x40
VIRTIO_CONFIG_S_FAILED = 0x80

# --- transport feature bits (virtio_config.h, virtio_ring.h) ---
VIRTIO_F_NOTIFY_ON_EMPTY = 24
VIRTIO_F_ANY_LAYOUT = 27
VIRTIO_RING_F_INDIRECT_DESC = 28
VIRTIO_RING_F_EVENT_IDX = 29
VIRTIO_F_VERSION_1 = 32

# --- split ring flags (virtio_ring.h) ---
VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2
VRING_DESC_F_INDIRECT = 4
VRING_USED_F_NO_NOTIFY = 1
VRING_AVAIL_F_NO_INTERRUPT = 1

# --- device ids (virtio_ids.h) ---
VIRTIO_ID_NET = 1
VIRTIO_ID_BLOCK = 2
VIRTIO_ID_CONSOLE = 3
VIRTIO_ID_RNG = 4

# --- console (virtio_console.h) ---
VIRTIO_CONSOLE_F_SIZE = 0
VIRTIO_CONSOLE_F_MULTIPORT = 1
VIRTIO_CONSOLE_F_EMERG_WRITE = 2
VIRTIO_CONSOLE_DEVICE_READY = 0
VIRTIO_CONSOLE_PORT_ADD = 1
VIRTIO_CONSOLE_PORT_REMOVE = 2
VIRTIO_CONSOLE_PORT_READY = 3
VIRTIO_CONSOLE_CONSOLE_PORT = 4
VIRTIO_CONSOLE_RESIZE = 5
VIRTIO_CONSOLE_PORT_OPEN = 6
VIRTIO_CONSOLE_PORT_NAME = 7

# --- block (virtio_blk.h) ---
VIRTIO_BLK_F_SIZE_MAX = 1
VIRTIO_BLK_F_SEG_MAX = 2
VIRTIO_BLK_F_RO = 5
VIRTIO_BLK_F_BLK_SIZE = 6
VIRTIO_BLK_F_FLUSH = 9
VIRTIO_BLK_T_IN = 0
VIRTIO_BLK_T_OUT = 1
VIRTIO_BLK_T_FLUSH = 4
VIRTIO_BLK_T_GET_ID = 8
VIRTIO_BLK_S_OK = 0
VIRTIO_BLK_S_IOERR = 1
VIRTIO_BLK_S_UNSUPP = 2
VIRTIO_BLK_ID_BYTES = 20
SECTOR_SIZE = 512

# --- this project's extension: the device-error register ---
# 0x0f0 is free in every version of the MMIO map (Version 2 stops at 0x0c0 and
# 0x0fc). Reads give {info[31:16], queue[15:8], cause[7:0]}; 0 while healthy;
# cleared by Status=0. Writes are ignored.
VIO_MMIO_DEVICE_ERROR = 0x0F0
NO_QUEUE = 0xFF  # queue field when the fault belongs to no queue
VIO_BUS_INFO_READ = 0  # info field of a BUS_ERROR: the failed access was a read
VIO_BUS_INFO_WRITE = 1  # ... a write

# --- this project's device defaults (the RTL's parameter defaults too) ---
VIO_VENDOR_ID = 0x4B4F4956  # "VIOK"
VIO_ID_LOOPBACK = 0xFFF0  # the loopback personality's DeviceID, outside the assigned ids
VIO_INDIRECT_MAX = 32  # the longest indirect table: what Linux's drivers send (docs/linux.md)
# the transport features the reference device and the RTL implement
VIO_TRANSPORT_FEATURES = (
    1 << VIRTIO_F_NOTIFY_ON_EMPTY | 1 << VIRTIO_F_ANY_LAYOUT | 1 << VIRTIO_RING_F_INDIRECT_DESC | 1 << VIRTIO_RING_F_EVENT_IDX
)


class Cause(IntEnum):
    """Why the device declared itself broken (the cause field of DEVICE_ERROR).

    The numbers are part of the hardware interface: the RTL's localparams
    repeat them (tests/test_constants.py checks every copy). The comment names
    the hostile-input case (docs/verification.md).
    """

    NONE = 0
    AVAIL_IDX_JUMP = 1  # 1: avail.idx moved more than QueueNum past last_avail
    HEAD_RANGE = 2  # 2: head index >= QueueNum
    NEXT_RANGE = 3  # 3: next >= table length
    CHAIN_LOOP = 4  # 4/9: more descriptors than the table holds
    ZERO_LENGTH = 5  # 5: zero-length buffer descriptor
    READ_AFTER_WRITE = 6  # 6: readable descriptor after a writable one
    INDIRECT_NOT_NEGOTIATED = 7  # 7
    INDIRECT_SIZE = 8  # 8: table length 0, not a multiple of 16, or too long
    INDIRECT_NESTED = 9  # 9
    INDIRECT_WITH_NEXT = 10  # 10: we chose "broken"
    DMA_WINDOW = 11  # 11: ring or buffer wraps or leaves the DMA window
    LENGTH_OVERFLOW = 12  # 12: chain longer than 2^32 - 1 bytes
    HEAD_IN_FLIGHT = 13  # 13: head offered again, or more than QueueNum outstanding
    BUS_ERROR = 14  # 21: SLVERR/DECERR on a DMA access (RTL only)
