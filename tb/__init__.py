"""cocotb glue: the driver model's HAL over cocotbext-axi, the backend stream
adapter, scoreboards. Everything cocotb-specific lives here, not in model/."""

import os as _os

if _os.environ.get("VIO_PROFILE") and _os.environ.get("COCOTB_TEST_MODULES"):  # in a simulator only
    from .profile_cosim import install as _install

    _install(_os.environ["VIO_PROFILE"])
