"""Exceptions of the driver model and the reference device.

Every message says what was wrong and where (device base, queue, index), so
that a failing regression explains itself without a waveform.
"""


class VioError(Exception):
    """Base of every error the driver model raises."""

    errno = 5  # EIO: what cyg_vio_* return (negated) for this error


class VioConfigError(VioError, ValueError):
    """A driver, queue or transfer description that cannot work."""

    errno = 22  # EINVAL


class VioNotSupported(VioConfigError):
    """Something eCosPro does not support either (PCI, non-legacy)."""

    errno = 95  # EOPNOTSUPP


class VioNoDevice(VioError):
    """Nothing usable answers at the base address."""

    errno = 19  # ENODEV


class VioQueueFull(VioError):
    """Not enough free descriptors for the transfer; try after poll."""

    errno = 28  # ENOSPC


class VioQueueBroken(VioError):
    """The device broke a ring rule; the queue accepts nothing until re-init."""


class VioDeviceBroken(VioError):
    """The device reported NEEDS_RESET; the driver has reset it."""


class VioTimeout(VioError):
    """A transfer did not complete within its bound; the driver reset the device."""

    errno = 110  # ETIMEDOUT


class DeviceModelError(Exception):
    """Misuse of the reference device itself (not guest misbehaviour)."""
