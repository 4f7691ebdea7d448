"""vio: a Python port of the eCosPro VirtIO layer, with a reference device.

The driver model (``VioDriver``, ``VioQueue``, ``VioTransfer``) talks to a
device through the HAL seam (``vio.hal.VioHal``); ``vio.model_hal.ModelHal``
connects it to ``vio.device.ReferenceDevice`` in-process. ``vio.cyg`` has the
eCosPro C names. Nothing here imports cocotb.
"""

__version__ = "0.1.0"  # the package version (pyproject.toml reads it from here)

from .driver import VIO_HEAD_DONE, VIO_IOV_FLAGS_WRITE, VIO_IOV_MAX, VioDriver, VioIov, VioQueue, VioTransfer
from .errors import (
    VioConfigError,
    VioDeviceBroken,
    VioError,
    VioNoDevice,
    VioNotSupported,
    VioQueueBroken,
    VioQueueFull,
    VioTimeout,
)
from .hal import VioHal
from .memory import GuestMemory
from .model_hal import ModelHal

__all__ = [
    "__version__",
    "GuestMemory",
    "ModelHal",
    "VIO_HEAD_DONE",
    "VIO_IOV_FLAGS_WRITE",
    "VIO_IOV_MAX",
    "VioConfigError",
    "VioDeviceBroken",
    "VioDriver",
    "VioError",
    "VioHal",
    "VioIov",
    "VioNoDevice",
    "VioNotSupported",
    "VioQueue",
    "VioQueueBroken",
    "VioQueueFull",
    "VioTimeout",
    "VioTransfer",
]
