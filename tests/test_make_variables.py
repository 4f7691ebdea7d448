"""Day one with the Makefile: `make help` names every target, and a bad make
variable stops make with one line naming the allowed values (no traceback,
nothing built or installed first)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def make(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k not in ("MFLAGS", "SIM", "SEEDS", "SEED", "JOBS", "BATCH", "PNR_SEEDS")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_help_has_one_line_per_target():
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), flags=re.M).group(1).split()
    proc = make("help")
    assert proc.returncode == 0, proc.stderr
    described = [line.split()[1] for line in proc.stdout.splitlines()]
    assert sorted(described) == sorted(phony), proc.stdout
    assert make().stdout == proc.stdout  # plain `make` is `make help`


BAD = [
    (("sim", "SIM=questa"), "SIM=questa", "verilator icarus model"),
    (("sim", "WAVES=yes"), "WAVES=yes", "0 1"),
    (("test", "JOBS=many"), "JOBS=many", "auto or a number"),
    (("test", "JOBS=0"), "JOBS=0", "auto or a number"),
    (("regress", "SEEDS=abc"), "SEEDS=abc", "a whole number"),
    (("regress", "SEED=1,x"), "SEED=1,x", "comma-separated"),
    (("regress", "SHARD=2"), "SHARD=2", "i/N with 1 <= i <= N"),
    (("regress", "SHARD=3/2"), "SHARD=3/2", "i/N with 1 <= i <= N"),
    (("regress", "SIM=model"), "SIM=model", "verilator, icarus, all"),
    (("regress", "TESTS=random,nope"), "unknown nope", "random, ring"),
    (("regress", "PARAMS=lb-dw99"), "unknown lb-dw99", "lb-dw32"),
    (("regress", "BATCH=0"), "BATCH=0", "1 or more"),
    (("regress", "BATCH=all"), "BATCH=all", "1 or more"),
    (("bench-speed", "SIM=model"), "SIM=model", "verilator icarus all"),
    (("bench-speed", "REPEAT=0"), "REPEAT=0", "1 or more"),
    (("bench-speed", "REPEAT=two"), "REPEAT=two", "1 or more"),
    (("synth", "PNR_SEEDS=0"), "PNR_SEEDS=0", "1 or more"),
    (("synth", "PNR_SEEDS=all"), "PNR_SEEDS=all", "1 or more"),
]


@pytest.mark.parametrize("args,what,allowed", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_variable_is_one_line_naming_the_allowed_values(args, what, allowed):
    proc = make(*args)
    assert proc.returncode != 0
    assert proc.stdout == "", f"something ran before the check:\n{proc.stdout}"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert what in lines[0] and allowed in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def test_good_regress_variables_pass_the_check():
    proc = make("-n", "regress", "SEEDS=3", "SEED=1,7", "SHARD=2/3", "SIM=icarus", "TESTS=ring,block", "PARAMS=lb-dw32", "BATCH=4", "JOBS=2")
    assert proc.returncode == 0, proc.stderr
    assert "tb.regress run" in proc.stdout
