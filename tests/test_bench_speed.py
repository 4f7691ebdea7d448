"""``make bench-speed``'s bus-model floor (tb/speed_floor.py on
tb/speed_axi_master.v) runs and checks that the bus was busy and sane, and
each of its checks fails when it should."""

import pytest

from tb.bench_speed import FLOORS, floor
from tb.runner import ROOT, build, run

CYCLES = 5000  # enough for the 90 % of beats the floor checks


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
@pytest.mark.parametrize("name", list(FLOORS))
def test_floor_runs_with_the_bus_busy(sim, name, monkeypatch):
    monkeypatch.setattr("tb.bench_speed.FLOOR_CYCLES", CYCLES)
    assert floor(sim, name, mode=3) > 0


def floor_failures(tmp_path, params: dict[str, int], env: dict[str, str], cycles: int = CYCLES) -> str:
    """The failure text of the floor test (``cycles`` long) on a build of the master with ``params``."""
    top = "speed_axi_master"
    build_dir = ROOT / "build" / "speed" / ("test-" + "-".join(f"{k}{v}" for k, v in params.items()))
    build("verilator", params, build_dir, sources=[ROOT / "tb" / f"{top}.v"], top=top)
    results = run("verilator", params, build_dir, "tb.speed_floor", top=top, test_dir=tmp_path,
                  extra_env={"VIO_SPEED_CYCLES": str(cycles), "VIO_FLOOR_MODEL": "guestram", **env})  # fmt: skip
    return "\n".join(text for _, text in results if text)


def test_floor_catches_a_direction_that_does_not_move(tmp_path):
    # the master built for reads only, the test told it drives both
    assert "w_beats: 0 in" in floor_failures(tmp_path, {"MODE": 1}, {"VIO_FLOOR_MODE": "3"})


def test_floor_catches_error_responses(tmp_path):
    # addresses past the memory's 64 KiB (16 384 beats in): the memory answers SLVERR
    assert "not OKAY" in floor_failures(tmp_path, {"MODE": 1, "ADDR_WIDTH": 17}, {"VIO_FLOOR_MODE": "1"}, cycles=20000)
