"""The reference device: generic legacy virtio-mmio ring walking plus backends."""

from .backend import Backend, BackendError
from .mmio import DEFAULT_VENDOR_ID, TRANSPORT_FEATURES, ReferenceDevice

__all__ = ["Backend", "BackendError", "DEFAULT_VENDOR_ID", "TRANSPORT_FEATURES", "ReferenceDevice"]
