"""The documentation holds together: every relative link of README.md and
docs/ reaches a file (and a heading, for #anchors), nothing cites a file
outside the repository, the README stays short, and the RTL parameter table
exists once."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "hdl" / "README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of the headings of ``page``."""
    out = set()
    for line in page.read_text().splitlines():
        m = re.match(r"^#+ (.*)$", line)
        if m:
            text = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            out.add(text.replace(" ", "-"))
    return out


def broken_links(page: Path) -> list[str]:
    bad = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{page.name}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{page.name}: {target} (no such heading)")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_links_reach_their_targets(page):
    assert not broken_links(page), "\n".join(broken_links(page))


def test_a_broken_link_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [bad anchor](#nowhere)\n")
    assert broken_links(page) == ["page.md: missing.md (no such file)", "page.md: #nowhere (no such heading)"]


def test_nothing_cites_files_outside_the_repository():
    files = [p for p in ROOT.rglob("*") if p.is_file() and p.suffix in (".md", ".py", ".v", ".sv", ".core", ".f", ".tcl", ".toml")]
    files = [p for p in files if not any(part in (".venv", "build", ".git", "sim_build") or part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)]
    cited = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files for m in re.finditer(r"\bshared/[\w./-]+|/work/[\w./-]+", p.read_text(errors="replace"))]
    assert not cited, "\n".join(cited)


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def test_the_rtl_parameter_table_exists_once():
    rows = [str(p.relative_to(ROOT)) for p in PAGES for line in p.read_text().splitlines() if line.startswith("| `AXI_MAX_BURST_LEN` |")]
    assert rows == ["docs/rtl.md"], rows
