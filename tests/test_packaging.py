"""The wheel a user installs: `pip install virtio-mmio-kit` brings the driver
model and the reference device (`vio`) and nothing else.

The wheel is built from the working tree, then installed into a fresh venv
with no package index at all, so any dependency it declared would fail the
install; the console example then runs from outside the repository.
"""

import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import vio

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"pip wheel failed:\n{proc.stdout}{proc.stderr}"
    (whl,) = out.glob("virtio_mmio_kit-*.whl")
    return whl


def metadata(whl: Path) -> dict[str, list[str]]:
    with zipfile.ZipFile(whl) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        msg = Parser().parsestr(z.read(name).decode())
    return {key: msg.get_all(key) or [] for key in set(msg.keys())}


def test_wheel_declares_no_dependency_outside_its_extras(wheel):
    meta = metadata(wheel)
    plain = [r for r in meta.get("Requires-Dist", []) if "extra ==" not in r]
    assert plain == [], f"the wheel needs third-party packages: {plain}"
    assert set(meta["Provides-Extra"]) == {"cocotb", "test", "bench", "synth"}
    assert 'cocotb<3,>=2.0; extra == "cocotb"' in meta["Requires-Dist"]
    assert not [r for r in meta["Requires-Dist"] if "==" in r.split(";")[0]], "extras must be ranges; pins live in constraints.txt"


def test_wheel_version_is_vio_version_and_it_ships_license_and_types(wheel):
    assert metadata(wheel)["Version"] == [vio.__version__]
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    assert "vio/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") or n.endswith("/LICENSE") for n in names), names
    for sub in ("device", "drivers", "examples", "hostile", "qemu"):
        assert f"vio/{sub}/__init__.py" in names


def test_constraints_pin_every_extra(wheel):
    """make setup installs the extras with constraints.txt: each must be pinned there."""
    pins = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    wanted = {r.split(";")[0].split("<")[0].split(">")[0].strip().lower() for r in metadata(wheel)["Requires-Dist"]}
    assert wanted <= pins, f"not pinned in constraints.txt: {sorted(wanted - pins)}"


def test_fresh_venv_installs_it_offline_and_runs_the_console_example(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    proc = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index", str(wheel)], capture_output=True, text=True
    )
    assert proc.returncode == 0, f"offline install failed (a dependency?):\n{proc.stdout}{proc.stderr}"
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"], capture_output=True, text=True)
    names = {line.split("==")[0].lower() for line in listed.stdout.split()}
    assert names - {"pip", "setuptools", "wheel"} == {"virtio-mmio-kit"}, names
    run = subprocess.run([str(py), "-m", "vio.examples.console"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "port 1 echoed b'hello from port 1\\n'" in run.stdout
