"""This project's RTL as the kit binds it: the port names of ``virtio_mmio``
(hdl/virtio_mmio.v) and the parameters of the build under test.

The kit (:mod:`vio.cocotb`) knows no names; the tests, benches and the pyuvm
regression of this repository get theirs here. The runner (tb/runner.py)
passes the build's parameters in ``VIO_PARAMS`` (JSON).
"""

import json
import os

from cocotb.handle import SimHandleBase

from vio.cocotb.env import VirtioEnv, device_parameters

PARAMS_ENV = "VIO_PARAMS"
# the prefixes of virtio_mmio's ports (the backend sideband has no prefix)
PREFIXES = {"regs": "s_axil", "dma": "m_axi", "requests": "m_axis", "answers": "s_axis"}


def rtl_parameters() -> dict[str, int]:
    """The parameters the DUT was built with: ``VIO_PARAMS`` over the defaults."""
    return device_parameters(json.loads(os.environ.get(PARAMS_ENV, "{}")))


def ports(dut: SimHandleBase) -> dict:
    """``VirtioEnv``'s bindings for virtio_mmio: clock, reset, interrupt,
    the engine's idle signal and the port prefixes."""
    return dict(clock=dut.clk, reset=dut.rst, irq=dut.irq, idle=dut.engine_idle, **PREFIXES)


def virtio_env(dut: SimHandleBase, backend, **kwargs) -> VirtioEnv:
    """A :class:`VirtioEnv` on virtio_mmio with the build's parameters."""
    kwargs.setdefault("params", rtl_parameters())
    return VirtioEnv(dut, backend, **ports(dut), **kwargs)
