"""The cocotb kit (``vio.cocotb``) as a module others install: its imports
form no cycle, it reaches into no other library's private attributes, and
nothing in it knows this project's port names (everything binds by prefix).

Each rule is a function over source text, shown to fail on a violation.
"""

import ast
import re
from pathlib import Path

import vio.cocotb

KIT = Path(vio.cocotb.__file__).parent
MODULES = {p.stem: p.read_text() for p in sorted(KIT.glob("*.py"))}
# cocotb's handles name themselves with the public ``_name`` (underscored so
# that it cannot clash with an HDL name)
PUBLIC_UNDERSCORED = {"_name"}
OUR_NAMES = re.compile(r"\b(?:s_axil|m_axi|m_axis|s_axis)(?:_\w+)?\b|\bengine_idle\b")


def import_cycles(modules: dict[str, str]) -> list[list[str]]:
    """Cycles among the package's relative imports (``from .x import``)."""
    edges = {
        name: {node.module.split(".")[0] for node in ast.walk(ast.parse(src)) if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}
        for name, src in modules.items()
    }
    cycles, done = [], set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycles.append(path[path.index(name) :] + [name])
            return
        if name in done:
            return
        for dep in sorted(edges.get(name, ())):
            visit(dep, path + [name])
        done.add(name)

    for name in edges:
        visit(name, [])
    return cycles


def foreign_private(src: str) -> list[str]:
    """Underscored attributes read off anything but ``self``/``cls``, and
    underscored methods defined in a class derived from another library."""
    tree = ast.parse(src)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") or (
                isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) and node.value.func.id == "super"
            )
            if not own and node.attr not in PUBLIC_UNDERSCORED:
                found.append(f"line {node.lineno}: .{node.attr}")
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0
                and node.module.split(".")[0] in ("cocotb", "cocotbext", "cocotb_bus") for alias in node.names}  # fmt: skip
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id in imported for b in node.bases):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("_") and not item.name.startswith("__"):
                    found.append(f"line {item.lineno}: {node.name}.{item.name} overrides a private method")
    return found


def our_names(src: str) -> list[str]:
    """Our top's port names in code (docstrings may show them as examples)."""
    tree = ast.parse(src)
    docs = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}  # fmt: skip
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs and OUR_NAMES.search(node.value):
            found.append(f"line {node.lineno}: {node.value!r}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "dut" and node.attr not in PUBLIC_UNDERSCORED:
            found.append(f"line {node.lineno}: dut.{node.attr}")
    return found


def test_the_kit_imports_form_no_cycle():
    assert import_cycles(MODULES) == []


def test_the_cycle_check_fails_on_a_cycle():
    assert import_cycles({"a": "from .b import x", "b": "from .c import y", "c": "from .a import z"}) == [["a", "b", "c", "a"]]


def test_no_private_attribute_of_another_library():
    found = {module: foreign_private(src) for module, src in MODULES.items()}
    assert {m: f for m, f in found.items() if f} == {}


def test_the_private_check_fails_on_a_private_access_and_override():
    src = "from cocotbext.axi import AxiRamRead\nclass R(AxiRamRead):\n    async def _process_read(self):\n        return other._queue\n"
    assert sorted(foreign_private(src)) == ["line 3: R._process_read overrides a private method", "line 4: ._queue"]


def test_no_name_of_our_top():
    found = {module: our_names(src) for module, src in MODULES.items()}
    assert {m: f for m, f in found.items() if f} == {}


def test_the_name_check_fails_on_a_hard_coded_name():
    src = 'def f(dut):\n    """m_axi is fine here"""\n    return getattr(dut, "m_axi_awvalid"), dut.clk\n'
    assert sorted(our_names(src)) == ["line 3: 'm_axi_awvalid'", "line 3: dut.clk"]
