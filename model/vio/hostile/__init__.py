"""Hostile-input campaign (docs/verification.md), independent of the platform.

Every device-side case (1-24) and the driver-side cases that a used ring
corrupted in memory can reach (25-28, 31) is an ``async`` scenario that talks
to a device only through a :class:`~vio.hal.VioHal` and guest memory, so the
same code runs on the reference device (plain pytest, :class:`ModelTarget`) and
on the RTL (cocotb, ``tests/test_hostile_rtl.py``). A scenario sets up rings by
hand, notifies, lets the target settle (on the RTL: bounded in clock cycles, so
a hang fails), checks the shadow-memory oracle and the expected outcome (used
entries, or broken with a cause), and recovers through Status=0 and a new
driver init. What it saw is recorded, so that a run on the RTL can be compared
with a run on the reference device, observation by observation.

``vio.hostile.fuzz`` is the random-corruption campaign (rust-vmm style) judged
notify by notify against the reference device. Nothing here imports cocotb.
"""

from .cases import SCENARIOS, Scenario
from .target import HostileBackend, ModelTarget, Target

__all__ = ["SCENARIOS", "HostileBackend", "ModelTarget", "Scenario", "Target"]
