"""Estimated register-to-register delays of the ECP5 netlist of `make synth`,
every endpoint at once (place and route reports only the worst path, and
takes minutes): the list of paths to cut before the next place and route.

    python synth/paths.py [build/synth/head/default/ecp5.json] [--top 30] [--ns 8.0] [--trace NAME]

The delays are a model of speed grade 8 (LUT 0.18 ns, carry 0.06 ns a cell,
0.75 ns of routing a net, clock-to-out 0.40 ns), close to nextpnr's figures
for short nets; the real critical path is nextpnr's (`make synth`).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUTE = 0.75
CLK_Q = 0.40
EBR_CLK_Q = 2.5
DELAY = {  # (cell, input port prefix, output port): ns
    ("LUT4", "*", "Z"): 0.18,
    ("PFUMX", "ALUT", "Z"): 0.13, ("PFUMX", "BLUT", "Z"): 0.13, ("PFUMX", "C0", "Z"): 0.25,
    ("L6MUX21", "D0", "Z"): 0.13, ("L6MUX21", "D1", "Z"): 0.13, ("L6MUX21", "SD", "Z"): 0.25,
    ("TRELLIS_DPR16X4", "RAD", "DO"): 0.45,
}


def ccu2c_delay(inp: str, out: str) -> float | None:
    if inp == "CIN":
        return {"COUT": 0.06, "S0": 0.33, "S1": 0.36}[out]
    half = inp[-1]
    if out == "COUT":
        return 0.35
    if out == f"S{half}":
        return 0.33
    if out == "S1" and half == "0":
        return 0.38
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist", nargs="?", default=str(ROOT / "build/synth/head/default/ecp5.json"))
    ap.add_argument("--top", type=int, default=30, help="how many registers to list")
    ap.add_argument("--ns", type=float, default=8.0, help="the period to meet (125 MHz: 8.0)")
    ap.add_argument("--trace", metavar="NAME", help="print the worst path into the register NAME")
    args = ap.parse_args()
    modules = json.loads(Path(args.netlist).read_text())["modules"]
    mod = next(m for m in modules.values() if m.get("attributes", {}).get("top"))

    names: dict[int, str] = {}
    for name, net in mod["netnames"].items():
        for i, bit in enumerate(net["bits"]):
            if not isinstance(bit, int):
                continue
            label = name if len(net["bits"]) == 1 else f"{name}[{i}]"
            old = names.get(bit)
            if old is None or (net.get("hide_name") == 0 and (old.startswith("$") or len(label) < len(old))):
                names[bit] = label

    driver: dict[int, tuple[str, str]] = {}
    for cname, cell in mod["cells"].items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "output":
                for b in bits:
                    if isinstance(b, int):
                        driver[b] = (cname, port)

    cells = mod["cells"]
    sys.setrecursionlimit(100000)
    memo: dict[int, tuple[float, int | None]] = {}

    def arrival(bit) -> tuple[float, int | None]:
        """(arrival time at the driver's output, the input bit it came from)."""
        if not isinstance(bit, int):
            return 0.0, None
        if bit in memo:
            return memo[bit]
        memo[bit] = (0.0, None)  # a loop (none expected) ends here
        if bit not in driver:
            return memo[bit]  # a top-level input
        cname, oport = driver[bit]
        cell = cells[cname]
        kind = cell["type"]
        if kind == "TRELLIS_FF":
            memo[bit] = (CLK_Q, None)
            return memo[bit]
        if kind == "DP16KD":
            memo[bit] = (EBR_CLK_Q, None)
            return memo[bit]
        best, via = 0.0, None
        for iport, bits in cell["connections"].items():
            if cell["port_directions"].get(iport) != "input":
                continue
            if kind == "CCU2C":
                d = ccu2c_delay(iport, oport)
            elif kind == "LUT4":
                d = DELAY[("LUT4", "*", "Z")]
            elif kind == "TRELLIS_DPR16X4":
                d = DELAY.get((kind, re.sub(r"\d+$", "", iport), oport)) if iport.startswith("RAD") else None
            else:
                d = DELAY.get((kind, iport, oport))
            if d is None:
                continue
            for b in bits:
                if not isinstance(b, int):
                    continue
                a, _ = arrival(b)
                route = 0.0 if (iport == "CIN" and driver.get(b, ("", ""))[1] == "COUT") else ROUTE
                t = a + route + d
                if t > best:
                    best, via = t, b
        memo[bit] = (best, via)
        return memo[bit]

    endpoints: dict[str, tuple[float, int]] = {}
    for cname, cell in cells.items():
        kind = cell["type"]
        if kind == "TRELLIS_FF":
            group = re.sub(r"\[\d+\]$", "", names.get(cell["connections"]["Q"][0], cname))
            pins = ("DI", "CE", "LSR")
        elif kind == "TRELLIS_DPR16X4":
            group, pins = f"{names.get(cell['connections']['DO'][0], cname)} (distributed RAM write)", ("DI", "WAD", "WRE")
        elif kind == "DP16KD":
            group, pins = f"{cname} (block RAM)", tuple(p for p, d in cell["port_directions"].items() if d == "input" and not p.startswith("CLK"))
        else:
            continue
        for pin, bits in cell["connections"].items():
            if not pin.startswith(pins):
                continue
            for b in bits:
                if isinstance(b, int):
                    t = arrival(b)[0] + ROUTE
                    if t > endpoints.get(group, (0.0, 0))[0]:
                        endpoints[group] = (t, b)

    def source(bit: int) -> str:
        cname = driver.get(bit, ("input", ""))[0]
        src = cells.get(cname, {}).get("attributes", {}).get("src", "")
        return re.sub(r"\.\d+-\d+\.\d+$", "", re.sub(r"^.*/", "", src.split("|")[0]))

    def trace(bit: int) -> list[str]:
        """The path's steps, a run of cells from one source line shown once."""
        steps = []
        while bit is not None:
            t, via = arrival(bit)
            src = source(bit)
            if not steps or steps[-1][1] != src or via is None:
                steps.append((t, src, names.get(bit, str(bit))))
            bit = via
        return [f"{t:6.2f}  {src or '-':<34} {name[:90]}" for t, src, name in steps[::-1]]

    def start_of(bit: int) -> str:
        while True:
            via = arrival(bit)[1]
            if via is None:
                return re.sub(r"_TRELLIS_FF_Q.*$|\[\d+\]$", "", names.get(bit, str(bit)))
            bit = via

    worst = sorted(endpoints.items(), key=lambda kv: -kv[1][0])
    over = [w for w in worst if w[1][0] > args.ns]
    print(f"{len(over)} of {len(worst)} registers over {args.ns} ns (estimated; worst {worst[0][1][0]:.2f} ns)")
    per_module: dict[str, int] = defaultdict(int)
    for name, _ in over:
        per_module[".".join(name.split(".")[:-1]) or "(top)"] += 1
    for m, n in sorted(per_module.items(), key=lambda kv: -kv[1]):
        print(f"  {n:5}  {m}")
    print("\nthe worst register of each instance:")
    seen = set()
    for name, (t, b) in worst:
        inst = ".".join(name.split(".")[:-1])
        if t <= args.ns or inst in seen:
            continue
        seen.add(inst)
        print(f"{t:6.2f}  {name}  <-  {start_of(b)}")
    print(f"\nthe {args.top} worst registers:")
    for name, (t, b) in worst[: args.top]:
        print(f"{t:6.2f}  {name}  <-  {start_of(b)}")
    if args.trace:
        hit = [kv for kv in worst if args.trace in kv[0]]
        if not hit:
            print(f"no register matches {args.trace}", file=sys.stderr)
            return 1
        print(f"\nworst path into {hit[0][0]}:")
        print("\n".join(trace(hit[0][1][1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
