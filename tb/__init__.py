"""This project's own test bench tools around the cocotb kit (vio.cocotb): the
runner that builds hdl/ (runner.py), the kit's binding to virtio_mmio
(top.py), ``make sim``, ``make bench``, the pyuvm regression (uvm/,
regress.py) and the co-simulation profiler."""

import os as _os

if _os.environ.get("VIO_PROFILE") and _os.environ.get("COCOTB_TEST_MODULES"):  # in a simulator only
    from .profile_cosim import install as _install

    _install(_os.environ["VIO_PROFILE"])
