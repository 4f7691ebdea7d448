"""Linux's split-ring code (``drivers/virtio/virtio_ring.c``, built by
``vio.linux.build``) in this process, over a :class:`vio.memory.GuestMemory`.

:class:`KernelRing` loads the library and points it at guest memory, whose
bytes (made by :func:`guest_store`) the device shares: the reference device
reads them, under cocotb the ``AxiRam``; an arena of ``arena_size`` bytes in
it holds every allocation of the ring code. :class:`Virtqueue` is one
``struct virtqueue``; its methods are the kernel's ``virtqueue_*`` calls.

The ring code calls back synchronously: its notify (``vm_notify``) is noted
in :attr:`KernelRing.notified` and the caller writes QueueNotify once the
call returns (register access is awaited here); its callbacks (from
``vring_interrupt``) go to the Python callable of the queue. A warning or
error message of the ring code fails the next call with :class:`KernelRingError`.
"""

import ctypes
import mmap
from collections.abc import Callable
from pathlib import Path

from ..memory import GuestMemory

HOOK = ctypes.CFUNCTYPE(None, ctypes.c_uint)
ADD_SGS, ADD_OUTBUF, ADD_INBUF = 0, 1, 2
ALIGN = 1 << 16  # the largest page: host and guest addresses agree modulo it


def guest_store(size: int):
    """Bytes for a GuestMemory (and the RTL's AxiRam) that the ring code can
    share: ``size`` bytes at a host address aligned to 64 KiB. The ring code
    aligns its used ring in host addresses (``vring_init``), the device reads
    it at the guest address: the two agree only when the memory starts on a
    64 KiB boundary in both. A ctypes array: slices read as bytes, take
    bytes-like writes."""
    backing = mmap.mmap(-1, size + ALIGN)
    start = (-ctypes.addressof(ctypes.c_char.from_buffer(backing))) % ALIGN
    return (ctypes.c_char * size).from_buffer(backing, start)  # keeps ``backing`` alive


class KernelRingError(AssertionError):
    """The ring code reported a warning, an error or a BUG, or refused a call."""


class KernelRing:
    """The ring library over ``mem``, as a kernel of ``page_size`` pages."""

    _loaded: dict[str, ctypes.CDLL] = {}

    def __init__(self, library: Path, mem: GuestMemory, *, page_size: int = 4096, arena_size: int = 1 << 20):
        self.lib = self._load(library)
        self.mem = mem
        host = ctypes.addressof(mem.data) if isinstance(mem.data, ctypes.Array) else None
        if host is None or (host - mem.base) % ALIGN:
            raise TypeError("guest memory must be made with vio.linux.ring.guest_store(): aligned to 64 KiB "
                            "in host addresses as in guest addresses")  # fmt: skip
        self.arena = mem.alloc(arena_size, ALIGN)
        err = self.lib.vio_memory(mem.data, mem.base, mem.size, self.arena - mem.base, arena_size)
        if err:
            raise KernelRingError(f"arena [{self.arena:#x}, +{arena_size:#x}) does not fit guest memory")
        self.set_page_size(page_size)
        self.notified: list[int] = []  # queues whose notify the ring code asked for, in order
        self.callbacks: dict[int, Callable[[int], None]] = {}
        self.callback_errors: list[BaseException] = []
        # the hooks must outlive every call: kept on the instance
        self._hooks = (HOOK(self.notified.append), HOOK(self._callback))
        self.lib.vio_set_hooks(*self._hooks)
        self.lib.vio_reports_clear()

    @classmethod
    def _load(cls, library: Path) -> ctypes.CDLL:
        """One library per process: its arena and hooks are global state, so
        one KernelRing at a time (the tests run one device each)."""
        key = str(library)
        if key not in cls._loaded:
            lib = ctypes.CDLL(key)
            sig = {
                "vio_memory": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t]),
                "vio_set_page_size": (ctypes.c_int, [ctypes.c_ulong]),
                "vio_set_hooks": (None, [HOOK, HOOK]),
                "vio_report_count": (ctypes.c_int, []),
                "vio_report_text": (ctypes.c_char_p, [ctypes.c_int]),
                "vio_reports_clear": (None, []),
                "vio_arena_blocks": (ctypes.c_int, []),
                "vio_device_new": (ctypes.c_void_p, [ctypes.c_uint64]),
                "vio_device_free": (None, [ctypes.c_void_p]),
                "vio_finalize_features": (ctypes.c_uint64, [ctypes.c_void_p]),
                "vio_vq_new": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.c_char_p]),
                "vio_vq_del": (None, [ctypes.c_void_p]),
                "vio_vq_add": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint32),
                                              ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint32), ctypes.c_uint64,
                                              ctypes.c_int, ctypes.c_int]),
                "vio_vq_advance": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint64]),
                "vio_vq_kick_prepare": (ctypes.c_int, [ctypes.c_void_p]),
                "vio_vq_notify": (ctypes.c_int, [ctypes.c_void_p]),
                "vio_vq_get_buf": (ctypes.c_uint64, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]),
                "vio_vq_disable_cb": (ctypes.c_int, [ctypes.c_void_p]),
                "vio_vq_enable_cb": (ctypes.c_int, [ctypes.c_void_p]),
                "vio_vq_enable_cb_prepare": (ctypes.c_long, [ctypes.c_void_p]),
                "vio_vq_poll": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint]),
                "vio_vq_enable_cb_delayed": (ctypes.c_int, [ctypes.c_void_p]),
                "vio_vq_detach_unused_buf": (ctypes.c_uint64, [ctypes.c_void_p]),
                "vio_vq_interrupt": (ctypes.c_int, [ctypes.c_void_p]),
                "vio_vq_is_broken": (ctypes.c_int, [ctypes.c_void_p]),
                "vio_vq_size": (ctypes.c_uint, [ctypes.c_void_p]),
                "vio_vq_num_free": (ctypes.c_uint, [ctypes.c_void_p]),
                "vio_vq_desc_addr": (ctypes.c_uint64, [ctypes.c_void_p]),
                "vio_vq_avail_addr": (ctypes.c_uint64, [ctypes.c_void_p]),
                "vio_vq_used_addr": (ctypes.c_uint64, [ctypes.c_void_p]),
            }  # fmt: skip
            for name, (restype, argtypes) in sig.items():
                fn = getattr(lib, name)
                fn.restype, fn.argtypes = restype, argtypes
            cls._loaded[key] = lib
        return cls._loaded[key]

    def set_page_size(self, page_size: int) -> None:
        """PAGE_SIZE of the ring code from now on (rings created later)."""
        if self.lib.vio_set_page_size(page_size):
            raise KernelRingError(f"page size {page_size} must be a power of two >= 4096")
        self.page_size = page_size

    def _callback(self, queue: int) -> None:
        try:
            self.callbacks[queue](queue)
        except BaseException as err:  # noqa: BLE001 - an exception must not cross the C frames
            self.callback_errors.append(err)

    def check(self, what: str) -> None:
        """Raise if the ring code reported anything since the last check, or a
        callback raised."""
        n = self.lib.vio_report_count()
        if n or self.callback_errors:
            texts = [self.lib.vio_report_text(i).decode(errors="replace") for i in range(min(n, 64))]
            errors = list(self.callback_errors)
            self.lib.vio_reports_clear()
            self.callback_errors.clear()
            if errors and not texts:
                raise errors[0]
            raise KernelRingError(f"{what}: the ring code reported {n} message(s): " + "; ".join(texts)
                                  + (f"; callback raised {errors[0]!r}" if errors else ""))  # fmt: skip

    def arena_blocks(self) -> int:
        """Allocations of the ring code still held (0 once every queue is deleted)."""
        return self.lib.vio_arena_blocks()

    # ---------------------------------------------------------- devices
    def device(self, features: int) -> "RingDevice":
        return RingDevice(self, features)


class RingDevice:
    """A ``struct virtio_device``: the negotiated features, and its queues."""

    def __init__(self, ring: KernelRing, features: int):
        self.ring = ring
        self.ptr = ring.lib.vio_device_new(features)
        if not self.ptr:
            raise MemoryError("vio_device_new")

    def finalize_features(self) -> int:
        """``vring_transport_features``: the transport bits the ring code keeps."""
        return self.ring.lib.vio_finalize_features(self.ptr)

    def queue(self, index: int, num: int, align: int, name: str, callback: Callable[[int], None]) -> "Virtqueue":
        """``vring_create_virtqueue`` as ``vm_setup_vq`` calls it: up to ``num``
        entries (fewer if memory is short), aligned to ``align``."""
        name_c = name.encode()
        ptr = self.ring.lib.vio_vq_new(self.ptr, index, num, align, name_c)
        self.ring.check(f"vring_create_virtqueue({index}, {num}, {align})")
        if not ptr:
            raise KernelRingError(f"vring_create_virtqueue({index}, {num}, {align}) failed")
        self.ring.callbacks[index] = callback
        return Virtqueue(self.ring, ptr, index, name_c)

    def free(self) -> None:
        self.ring.lib.vio_device_free(self.ptr)
        self.ptr = None


class Virtqueue:
    """One ``struct virtqueue`` of the ring code. Tokens are non-zero ints."""

    def __init__(self, ring: KernelRing, ptr: int, index: int, name: bytes):
        self.ring, self.ptr, self.index, self._name = ring, ptr, index, name
        self.lib = ring.lib

    def _call(self, fn: str, *args):
        result = getattr(self.lib, fn)(self.ptr, *args)
        self.ring.check(f"{fn} on queue {self.index}")  # a BUG() is one of the reports
        return result

    # --- layout
    @property
    def size(self) -> int:
        return self.lib.vio_vq_size(self.ptr)

    @property
    def num_free(self) -> int:
        return self.lib.vio_vq_num_free(self.ptr)

    @property
    def desc_addr(self) -> int:
        return self.lib.vio_vq_desc_addr(self.ptr)

    @property
    def avail_addr(self) -> int:
        return self.lib.vio_vq_avail_addr(self.ptr)

    @property
    def used_addr(self) -> int:
        return self.lib.vio_vq_used_addr(self.ptr)

    @property
    def broken(self) -> bool:
        return bool(self.lib.vio_vq_is_broken(self.ptr))

    # --- the virtqueue API
    def add(self, out: list[list[tuple[int, int]]], into: list[list[tuple[int, int]]], token: int,
            mode: int = ADD_SGS, chain: bool = False) -> int:  # fmt: skip
        """``virtqueue_add_sgs`` (or ``_outbuf``/``_inbuf``, one list): the
        readable lists ``out`` then the writable ``into``, each a list of
        (guest address, length). Returns the kernel's result (0, -ENOSPC...)."""
        lists = out + into
        buffers = [b for sg in lists for b in sg]
        counts = (ctypes.c_uint32 * len(lists))(*[len(sg) for sg in lists])
        addrs = (ctypes.c_uint64 * len(buffers))(*[a for a, _ in buffers])
        lens = (ctypes.c_uint32 * len(buffers))(*[n for _, n in buffers])
        return self._call("vio_vq_add", len(lists), len(out), counts, addrs, lens, token, mode, int(chain))

    def advance(self, n: int) -> None:
        """The test hook of u16 wrap-around: before the device has the ring,
        play device for ``n`` one-byte requests, so the ring code's indices
        stand at ``n`` (a device built with RING_INDEX_BASE / ring_index_base
        ``n`` starts there)."""
        byte = self.ring.mem.alloc(1)
        try:
            if self._call("vio_vq_advance", n, byte):
                raise KernelRingError(f"queue {self.index}: the ring code refused to advance {n} requests")
        finally:
            self.ring.mem.free(byte)

    def kick_prepare(self) -> bool:
        return bool(self._call("vio_vq_kick_prepare"))

    def notify(self) -> bool:
        return bool(self._call("vio_vq_notify"))

    def get_buf(self) -> tuple[int, int] | None:
        """``virtqueue_get_buf``: (token, len) of the next used buffer, or None."""
        length = ctypes.c_uint32()
        token = self._call("vio_vq_get_buf", ctypes.byref(length))
        return (token, length.value) if token else None

    def disable_cb(self) -> None:
        self._call("vio_vq_disable_cb")

    def enable_cb(self) -> bool:
        """True: no buffer came in meanwhile (safe to wait for the callback)."""
        return bool(self._call("vio_vq_enable_cb"))

    def enable_cb_prepare(self) -> int:
        return self._call("vio_vq_enable_cb_prepare")

    def poll(self, opaque: int) -> bool:
        """True: buffers came in since ``enable_cb_prepare`` returned ``opaque``."""
        return bool(self._call("vio_vq_poll", opaque))

    def enable_cb_delayed(self) -> bool:
        return bool(self._call("vio_vq_enable_cb_delayed"))

    def detach_unused_buf(self) -> int | None:
        token = self._call("vio_vq_detach_unused_buf")
        return token or None

    def interrupt(self) -> bool:
        """``vring_interrupt``: True (IRQ_HANDLED) if the queue had used buffers;
        the callback has run then."""
        return self._call("vio_vq_interrupt") == 1

    def delete(self) -> None:
        """``vring_del_virtqueue``: the ring's memory back to the arena."""
        self._call("vio_vq_del")
        self.ring.callbacks.pop(self.index, None)
        self.ptr = None
