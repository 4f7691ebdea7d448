"""cocotb test module of the regression's batches (tb/regress.py ``run_batch``):
several runs of the pyuvm regression on one build, one after another in one
simulator process, so that they pay the process's start-up, the imports and
its end (Verilator writes coverage.dat then) once.

``VIO_BATCH`` names a JSON file: ``{"period_ns": ..., "runs": [{"id",
"module", "test", "seed", "env", "dir"}, ...]}``. Each run becomes one cocotb
test, named by the run's id, in that order. A test:

- starts at a multiple of the clock period, as a run alone starts at time 0
  (cycle numbers keep their phase: rising edges half a period after a
  multiple of it, vio.cocotb.clock);
- runs in the run's directory (its functional_coverage.yml and .txt land
  there) with the run's environment (``VIO_SEED`` and its entry's own
  variables), both put back afterwards;
- runs the pyuvm test class ``test`` of ``module`` as ``pyuvm.test`` does
  (``uvm_root().run_test``: pyuvm's singletons, ConfigDB and factory
  overrides cleared), with that module's ``TIMEOUT_MS``; the functional
  coverage counts the run's own hits (tb/uvm/coverage.py ``start_run``);
- writes ``run.json`` in the run's directory when it ends, passed or not:
  its simulated time and wall time, without the padding to the period.

cocotb judges each test as it would the test alone (results.xml, one
testcase per run). What a batch cannot share with a run alone, and how
tb/regress.py keeps the records honest about it, is in docs/regression.md
("Batches").
"""

from __future__ import annotations

import importlib
import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.triggers import Timer
from cocotb.utils import get_sim_steps, get_sim_time
from pyuvm import uvm_root

_PLAN = json.loads(Path(os.environ["VIO_BATCH"]).read_text())


def _batch_test(run: dict, cls: type, period_steps: int):
    async def batch_run(dut) -> None:
        pad = -get_sim_time("step") % period_steps
        if pad:
            await Timer(pad, "step")
        saved_env = {k: os.environ.get(k) for k in run["env"]}
        saved_cwd = os.getcwd()
        os.environ.update(run["env"])
        os.chdir(run["dir"])
        sim0, wall0 = get_sim_time("ns"), time.monotonic()
        try:
            await uvm_root().run_test(cls)
        finally:
            timing = {"sim_ns": get_sim_time("ns") - sim0, "wall_s": round(time.monotonic() - wall0, 3), "pad_steps": pad}
            (Path(run["dir"]) / "run.json").write_text(json.dumps(timing))
            os.chdir(saved_cwd)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    batch_run.__qualname__ = batch_run.__name__ = run["id"]
    return batch_run


def _register() -> None:
    period_steps = get_sim_steps(_PLAN["period_ns"], "ns")
    for i, run in enumerate(_PLAN["runs"]):
        module = importlib.import_module(run["module"])
        cls = getattr(module, run["test"])
        test = cocotb.test(name=run["id"], timeout_time=module.TIMEOUT_MS, timeout_unit="ms")(_batch_test(run, cls, period_steps))
        globals()[f"run_{i}"] = test  # cocotb finds the tests among this module's names, in this order


_register()
