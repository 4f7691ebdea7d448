"""The units' edges cut, as a structural probe for ``synth/run.py --edge-probe``.

Each of the engine's ten units (the register block is outside the engine)
gets a wrapper that takes each of its inputs but the clock from a register
of its own, so no path runs from one unit, or the
engine's glue, into another in one cycle. The result does not work as a
device (every unit sees the others a cycle late); its Fmax bounds what
cutting the units' edges can give. The registers are kept (Yosys would merge
the copies of one signal, e.g. ``flush``, into one register of high fan-out).
"""
from __future__ import annotations

import re
from pathlib import Path

ENGINE_UNITS = ["sched", "fetch_idx", "fetch_head", "walk", "data_fetch", "commit", "complete", "publish",
                "dma_rd", "dma_wr"]
PORT = re.compile(r"\s*(input|output)\s+wire\s*(\[[^\]]*\])?\s*(\w+)\s*,?")


def wrapper(module: str, text: str) -> str:
    """A module probe_<module> with <module>'s parameters and ports, its inputs registered."""
    header = re.search(r"module\s+%s\s*#\s*\((.*?)\n\)\s*\((.*?)\n\);" % module, text, re.S)
    if header is None:
        raise ValueError(f"{module}: no ANSI header with parameters")
    params, ports = header.group(1), header.group(2)
    names = re.findall(r"parameter\s+(?:\[[^\]]*\]\s*)?(\w+)\s*=", params)
    lines = [f"module probe_{module} #\n({params}\n)\n({ports}\n);"]
    conns = []
    for line in ports.splitlines():
        port = PORT.match(line)
        if port is None:
            continue
        direction, width, name = port.group(1), port.group(2) or "", port.group(3)
        if direction == "input" and name != "clk":
            lines.append(f"reg {width} {name}_probe; (* keep *) always @(posedge clk) {name}_probe <= {name};")
            conns.append(f".{name}({name}_probe)")
        else:
            conns.append(f".{name}({name})")
    overrides = ", ".join(f".{n}({n})" for n in names)
    lines.append(f"{module} #({overrides}) inner (\n    " + ",\n    ".join(conns) + "\n);\nendmodule\n")
    return "\n".join(lines)


def write_probe(sources: list[Path], out: Path) -> list[Path]:
    """Copies of ``sources`` in ``out`` with the engine's units wrapped; the file list to read."""
    out.mkdir(parents=True, exist_ok=True)
    by_name = {src.stem: src for src in sources}
    wrappers = []
    for unit in ENGINE_UNITS:
        module = f"virtio_mmio_{unit}"
        wrappers.append(wrapper(module, by_name[module].read_text()))
    written = [out / "probe_units.v"]
    written[0].write_text("`default_nettype none\n\n" + "\n".join(wrappers))
    for src in sources:
        text = src.read_text()
        if src.stem == "virtio_mmio_engine":
            for unit in ENGINE_UNITS:
                text, n = re.subn(r"^virtio_mmio_%s #" % unit, f"probe_virtio_mmio_{unit} #", text, flags=re.M)
                if n != 1:
                    raise ValueError(f"virtio_mmio_engine: {n} instances of virtio_mmio_{unit}, expected 1")
        (out / src.name).write_text(text)
        written.append(out / src.name)
    return written
