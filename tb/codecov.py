"""Totals of a Verilator coverage file (coverage.dat, as verilator_coverage
writes it): line coverage (Verilator's line and branch points) and toggle
coverage per RTL file, and the line points never hit, for the regression's
report. verilator_coverage itself merges and annotates (tb/regress.py)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

_ENTRY = re.compile(r"^C '(.*)' (\d+)$")


def points(path: Path) -> list[tuple[dict[str, str], int]]:
    """Every coverage point of ``path``: its keys (f file, l line, page, o comment...) and count."""
    out = []
    for line in Path(path).read_text(errors="replace").splitlines():
        m = _ENTRY.match(line)
        if m:
            fields = dict(kv.split("\x02", 1) for kv in m.group(1).split("\x01") if "\x02" in kv)
            out.append((fields, int(m.group(2))))
    return out


def kind(fields: dict[str, str]) -> str:
    page = fields.get("page", "")
    return "toggle" if page.startswith("v_toggle") else ("line" if page.startswith(("v_line", "v_branch")) else page.split("/")[0])


def merged_points(path: Path) -> dict[tuple[str, str, int, str], int]:
    """Points keyed by (file, kind, line, what): a point of several builds
    (parameter sets, hierarchies) is one point, hit if any build hit it."""
    out: dict[tuple[str, str, int, str], int] = defaultdict(int)
    for fields, count in points(path):
        key = (Path(fields.get("f", "?")).name, kind(fields), int(fields.get("l", 0)), fields.get("o", ""))
        out[key] += count
    return out


def summary(path: Path, annotated: Path | None = None) -> str:
    """Per RTL file and in total: line and toggle points hit / total (over
    every build merged), then the lines whose points were never hit."""
    per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    missed: dict[str, set[int]] = defaultdict(set)
    for (f, k, line, _), count in merged_points(path).items():
        per[(f, k)][1] += 1
        per[(f, k)][0] += count > 0
        if k == "line" and not count:
            missed[f].add(line)
    files = sorted({f for f, _ in per})
    lines = [f"{'RTL file':<28} {'line':>18} {'toggle':>20}"]
    tot = {"line": [0, 0], "toggle": [0, 0]}
    for f in files:
        cells = []
        for k in ("line", "toggle"):
            hit, n = per.get((f, k), [0, 0])
            tot[k][0] += hit
            tot[k][1] += n
            cells.append(f"{hit:>6}/{n:<6} {100.0 * hit / max(1, n):5.1f}%")
        lines.append(f"{f:<28} {cells[0]:>18} {cells[1]:>20}")
    cells = [f"{tot[k][0]:>6}/{tot[k][1]:<6} {100.0 * tot[k][0] / max(1, tot[k][1]):5.1f}%" for k in ("line", "toggle")]
    lines.append(f"{'total':<28} {cells[0]:>18} {cells[1]:>20}")
    if missed:
        lines.append("line points never hit (file: lines):")
        lines += [f"  {f}: {', '.join(str(n) for n in sorted(v))}" for f, v in sorted(missed.items())]
    return "\n".join(lines)


def line_percent(path: Path) -> float:
    pts = [(k, c) for (_, k, _, _), c in merged_points(path).items() if k == "line"]
    return 100.0 * sum(1 for _, c in pts if c) / max(1, len(pts))
