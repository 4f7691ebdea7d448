"""``make sim`` on the RTL: the seed's console example against virtio_mmio.

    python -m tb.sim_console [--sim verilator|icarus] [--waves]

Builds the RTL as a console (DeviceID 3, six queues: port 0, control, port 1;
MULTIPORT and EMERG_WRITE offered) in build/sim/<sim>[-waves], then runs
vio.examples.console's flow on it through the driver model, unchanged: driver
init, the MULTIPORT control handshake, both ports opened, a line written on
each and echoed back by the host. Every step, completion, control message and
interrupt is printed with its clock cycle, and so is every rising edge of the
irq line. ``--waves`` records an FST and prints its path. Exit status 0 when
the example passed, 1 when it failed, 2 when the simulation could not run.

The cocotb test that the simulator runs is in this module too
(:func:`console_example_on_rtl`).
"""

import argparse
import sys
import warnings
from pathlib import Path

import cocotb

from tb.top import virtio_env
from vio.cocotb.env import DEFAULT_MEM_SIZE, personality_parameters
from tb.runner import SimulationError, build_and_test
from vio.examples.console import console_example, console_host

# cocotbext-axi 0.1.28 still calls cocotb APIs that cocotb 2 deprecates: its warnings, not ours
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.")

ROOT = Path(__file__).resolve().parents[1]
QUEUE_NUM_MAX = 128  # the console driver's queue size (CONSOLE_QUEUE_SIZE)


def parameters(width: int = 32) -> dict[str, int]:
    params = personality_parameters(console_host())
    params.update(AXI_DATA_WIDTH=width, QUEUE_NUM_MAX=QUEUE_NUM_MAX, DMA_SIZE=DEFAULT_MEM_SIZE)
    return params


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def console_example_on_rtl(dut):
    """vio.examples.console on the RTL, printing with clock cycles."""
    host = console_host()
    env = virtio_env(dut, host)
    env.on_irq = lambda cycle: env.say("irq line raised")
    await env.start()
    env.say(f"reset done: virtio_mmio as a console, AXI_DATA_WIDTH {len(dut.m_axi_wdata)}")
    await console_example(env.hal, host, env.say)
    env.say(f"the host saw {len(host.log)} control messages; the irq line rose {len(env.irq_cycles)} times")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The seed's console example on the RTL under cocotb.")
    parser.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    parser.add_argument("--waves", action="store_true", help="record an FST and print its path")
    parser.add_argument("--width", type=int, choices=(32, 64, 128), default=32, help="AXI_DATA_WIDTH")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))  # tb/ for the simulator's Python (the runner passes sys.path on)
    build_dir = ROOT / "build" / "sim" / f"{args.sim}-dw{args.width}{'-waves' if args.waves else ''}"
    try:
        results = build_and_test(
            args.sim,
            parameters(args.width),
            build_dir,
            "tb.sim_console",
            test_filter=r"\.console_example_on_rtl$",
            waves=args.waves,
            extra_env={"GPI_LOG_LEVEL": "ERROR"},  # the GPI's start-up chatter (and Icarus' vpi_iterate notice)
        )
    except (SimulationError, RuntimeError) as err:
        print(f"make sim: the simulation could not run: {err}", file=sys.stderr)
        return 2
    if args.waves:
        fst = build_dir / ("dump.fst" if args.sim == "verilator" else "virtio_mmio.fst")
        if not fst.is_file():
            print(f"make sim: no waves were written to {fst}", file=sys.stderr)
            return 2
        print(f"waves: {fst}")
    failed = [f"{name}: {text}" for name, text in results if text is not None]
    if failed or not results:
        print("console example on the RTL FAILED:\n" + "\n".join(failed or ["no test ran"]), file=sys.stderr)
        return 1
    print(f"console example on the RTL ({args.sim}) passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
