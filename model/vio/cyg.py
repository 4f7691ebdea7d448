"""The eCosPro C names, so code ported from C reads the same.

    from vio.cyg import *
    rxq0 = VIO_QUEUE("virtual_console_rxq0", 128)
    ...
    err = await cyg_vio_driver_init(console_vio_driver)

The functions return 0 (ENOERR) or a negative errno, as the C API does, instead
of raising; the Python API (:mod:`vio.driver`) raises exceptions with messages.
The exception of the last failing call is kept in ``cyg_vio_last_error``.
"""

import logging

from .driver import VIO_HEAD_DONE, VIO_IOV_FLAGS_WRITE, VIO_IOV_MAX, VioDriver, VioIov, VioQueue, VioTransfer
from .errors import VioError

log = logging.getLogger(__name__)

ENOERR = 0
VIO_QUEUE = VioQueue
cyg_vio_driver = VioDriver
cyg_vio_queue = VioQueue
cyg_vio_tfr = VioTransfer
cyg_vio_iov = VioIov
cyg_vio_last_error: VioError | None = None

__all__ = [
    "ENOERR",
    "VIO_HEAD_DONE",
    "VIO_IOV_FLAGS_WRITE",
    "VIO_IOV_MAX",
    "VIO_QUEUE",
    "cyg_vio_avail",
    "cyg_vio_driver",
    "cyg_vio_driver_init",
    "cyg_vio_iov",
    "cyg_vio_poll",
    "cyg_vio_queue",
    "cyg_vio_queue_ready",
    "cyg_vio_submit",
    "cyg_vio_tfr",
]


async def _errno(coro) -> int:
    global cyg_vio_last_error
    try:
        result = await coro
    except VioError as err:
        cyg_vio_last_error = err
        log.warning("%s", err)
        return -err.errno
    return ENOERR if result is None else result


async def cyg_vio_driver_init(drv: VioDriver) -> int:
    return await _errno(drv.init())


async def cyg_vio_submit(drv: VioDriver, tfr: VioTransfer) -> int:
    return await _errno(drv.submit(tfr))


async def cyg_vio_poll(drv: VioDriver) -> int:
    """Returns the number of completed transfers, or a negative errno."""
    return await _errno(drv.poll())


def cyg_vio_avail(drv: VioDriver, queue: int) -> int:
    return drv.avail(queue)


def cyg_vio_queue_ready(drv: VioDriver, queue: int) -> bool:
    return drv.queue_ready(queue)
