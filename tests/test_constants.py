"""vio.constants and vio.ring against the Linux UAPI headers installed on the machine.

The #defines are parsed from the headers and evaluated with a small whitelist
evaluator; the legacy ring layout and vring_need_event are checked against the
headers' own C functions, compiled with gcc.
"""

import ast
import operator
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from vio import constants as C
from vio.ring import DESC_SIZE, USED_ELEM_SIZE, Desc, VringLayout, pack_used_elem, vring_need_event, vring_size

INCLUDE = Path("/usr/include/linux")
HEADERS = ("virtio_mmio.h", "virtio_ring.h", "virtio_config.h", "virtio_ids.h", "virtio_console.h", "virtio_blk.h")

# names of vio.constants that are this project's own, not the headers'
PROJECT_NAMES = {
    "MAGIC_VALUE",
    "LEGACY_VERSION",
    "SECTOR_SIZE",
    "VIO_MMIO_DEVICE_ERROR",
    "NO_QUEUE",
    "VIO_BUS_INFO_READ",
    "VIO_BUS_INFO_WRITE",
    "VIO_VENDOR_ID",
    "VIO_INDIRECT_MAX",
    "VIO_ID_LOOPBACK",
    "VIO_TRANSPORT_FEATURES",
}

# ------------------------------------------------------------- header parsing

_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)(?!\()\s+(.*)$")
_NUMBER = re.compile(r"\b(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)[uUlL]*\b")
_BINOPS = {
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
_UNOPS = {ast.Invert: operator.invert, ast.USub: operator.neg, ast.UAdd: operator.pos}


def _c_number(match: re.Match) -> str:
    text = match.group(1)
    if text.lower().startswith("0x"):
        return str(int(text, 16))
    if len(text) > 1 and text.startswith("0"):
        return str(int(text, 8))  # C octal
    return text


def eval_c_expr(expr: str, known: dict[str, int]) -> int | None:
    """Value of a simple C integer expression, or None if it is anything else.

    Only integer literals (with U/L suffixes), names already defined, parentheses
    and the operators << >> | & ^ + - * ~ are accepted; nothing is executed.
    """
    text = _NUMBER.sub(_c_number, expr.strip())
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name) and node.id in known:
            return known[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
            return _UNOPS[type(node.op)](ev(node.operand))
        raise ValueError(ast.dump(node))

    try:
        return ev(tree)
    except ValueError:
        return None


def parse_defines(text: str, known: dict[str, int] | None = None) -> dict[str, int]:
    """Every object-like #define of ``text`` whose value is a simple integer expression."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = text.replace("\\\n", " ")
    known = dict(known or {})
    found: dict[str, int] = {}
    for line in text.splitlines():
        m = _DEFINE.match(line)
        if not m or not m.group(2).strip():
            continue
        value = eval_c_expr(m.group(2), known)
        if value is None:
            continue
        name = m.group(1)
        if name in found and found[name] != value:
            raise AssertionError(f"{name} defined twice with different values: {found[name]} and {value}")
        found[name] = known[name] = value
    return found


@pytest.fixture(scope="module")
def header_defines() -> dict[str, int]:
    defines: dict[str, int] = {}
    for header in HEADERS:
        path = INCLUDE / header
        assert path.is_file(), f"{path} is missing: install linux-libc-dev"
        for name, value in parse_defines(path.read_text(), defines).items():
            assert defines.get(name, value) == value, f"{name} differs between headers"
            defines[name] = value
    return defines


def our_constants() -> dict[str, int]:
    return {
        name: value
        for name, value in vars(C).items()
        if name.isupper() and isinstance(value, int) and not isinstance(value, bool)
    }


# -------------------------------------------------------------------- parser


def test_evaluator_accepts_simple_c_and_nothing_else():
    known = {"A": 3}
    assert eval_c_expr("(1 << 3) | 0x10UL", known) == 24
    assert eval_c_expr("A", known) == 3
    assert eval_c_expr("(A << 2) + 010", known) == 20  # 010 is octal in C
    assert eval_c_expr("~0U & 0xff", known) == 0xFF
    assert eval_c_expr("0x00c", known) == 12
    assert eval_c_expr("0", known) == 0
    assert eval_c_expr("__import__('os').getcwd()", known) is None
    assert eval_c_expr("B + 1", known) is None  # unknown name
    assert eval_c_expr("(~(__u32)0)", known) is None  # a cast: not simple
    assert eval_c_expr('"string"', known) is None


def test_parse_defines_handles_comments_aliases_and_function_macros():
    text = """
    #define X_ONE 1 /* a comment */
    #define X_SHIFT (1 << 4) // another
    #define X_ALIAS X_SHIFT
    #define X_FUNC(a) ((a) + 1)
    #define X_GUARD
    """
    assert parse_defines(text) == {"X_ONE": 1, "X_SHIFT": 16, "X_ALIAS": 16}


def test_headers_parsed_into_a_good_number_of_values(header_defines):
    assert len(header_defines) > 150
    # spot values written in different C styles
    assert header_defines["VIRTIO_MMIO_VENDOR_ID"] == 0xC  # 0x00c
    assert header_defines["VIRTIO_MMIO_INT_CONFIG"] == 2  # (1 << 1)
    assert header_defines["VIRTIO_BLK_F_WCE"] == header_defines["VIRTIO_BLK_F_FLUSH"]  # alias


# ---------------------------------------------------------------- constants


def test_every_shared_name_has_the_header_value(header_defines):
    ours = our_constants()
    shared = sorted(set(ours) & set(header_defines))
    wrong = {n: (ours[n], header_defines[n]) for n in shared if ours[n] != header_defines[n]}
    assert not wrong, f"vio.constants differs from the Linux headers (ours, header): {wrong}"
    assert len(shared) >= 60, f"only {len(shared)} names compared: {shared}"


def test_only_the_project_extensions_are_missing_from_the_headers(header_defines):
    missing = set(our_constants()) - set(header_defines)
    assert missing == PROJECT_NAMES


def test_project_extensions():
    assert C.MAGIC_VALUE == int.from_bytes(b"virt", "little")
    assert C.LEGACY_VERSION == 1
    assert C.SECTOR_SIZE == 512
    assert C.NO_QUEUE == 0xFF


def test_device_error_register_is_free_in_the_mmio_map(header_defines):
    offsets = {v for n, v in header_defines.items() if n.startswith("VIRTIO_MMIO_") and not n.startswith("VIRTIO_MMIO_INT_")}
    assert C.VIO_MMIO_DEVICE_ERROR not in offsets
    assert C.VIO_MMIO_DEVICE_ERROR % 4 == 0
    assert C.VIO_MMIO_DEVICE_ERROR < header_defines["VIRTIO_MMIO_CONFIG"]


def test_cause_codes_are_distinct_bytes():
    values = [int(c) for c in C.Cause]
    assert len(values) == len(set(values))
    assert all(0 <= v <= 0xFF for v in values)
    assert C.Cause.NONE == 0


# ------------------------------------------------------ ring layout via gcc

PAIRS = [(num, align) for num in (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 32768) for align in (2, 4, 16, 64, 4096, 65536)]
NEED_EVENT_VALUES = (0, 1, 2, 3, 7, 8, 100, 0x7FFE, 0x7FFF, 0x8000, 0x8001, 0xFFF0, 0xFFFC, 0xFFFD, 0xFFFE, 0xFFFF)

C_PROGRAM = r"""
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>
#include <linux/virtio_ring.h>

static const unsigned pairs[][2] = { %(pairs)s };
static const unsigned short values[] = { %(values)s };

int main(void)
{
    printf("desc %%zu %%zu %%zu %%zu %%zu\n", sizeof(struct vring_desc),
           offsetof(struct vring_desc, addr), offsetof(struct vring_desc, len),
           offsetof(struct vring_desc, flags), offsetof(struct vring_desc, next));
    printf("used_elem %%zu %%zu %%zu\n", sizeof(struct vring_used_elem),
           offsetof(struct vring_used_elem, id), offsetof(struct vring_used_elem, len));
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        unsigned num = pairs[i][0], align = pairs[i][1];
        size_t size = vring_size(num, align);
        size_t a = align < 16 ? 16 : align;
        char *p = aligned_alloc(a, (size + a - 1) / a * a);
        struct vring vr;
        if (!p)
            return 1;
        vring_init(&vr, num, p, align);
        printf("ring %%u %%u %%zu %%td %%td %%td %%td %%td %%td %%td %%td %%td %%td %%td %%td\n", num, align, size,
               (char *)&vr.desc[0] - p, (char *)&vr.desc[num - 1] - p,
               (char *)vr.avail - p, (char *)&vr.avail->idx - p,
               (char *)&vr.avail->ring[0] - p, (char *)&vr.avail->ring[num - 1] - p,
               (char *)&vring_used_event(&vr) - p,
               (char *)vr.used - p, (char *)&vr.used->idx - p,
               (char *)&vr.used->ring[0] - p, (char *)&vr.used->ring[num - 1] - p,
               (char *)&vring_avail_event(&vr) - p);
        free(p);
    }
    for (size_t e = 0; e < sizeof values / sizeof values[0]; e++)
        for (size_t n = 0; n < sizeof values / sizeof values[0]; n++)
            for (size_t o = 0; o < sizeof values / sizeof values[0]; o++)
                printf("need %%u %%u %%u %%d\n", values[e], values[n], values[o],
                       vring_need_event(values[e], values[n], values[o]));
    return 0;
}
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> dict:
    """What the headers' own vring_size / vring_init / vring_need_event compute."""
    gcc = shutil.which("gcc")
    assert gcc, "gcc is needed to check the ring layout against <linux/virtio_ring.h>"
    work = tmp_path_factory.mktemp("vring")
    src = work / "vring.c"
    src.write_text(
        C_PROGRAM
        % {
            "pairs": ", ".join(f"{{{n}, {a}}}" for n, a in PAIRS),
            "values": ", ".join(str(v) for v in NEED_EVENT_VALUES),
        }
    )
    exe = work / "vring"
    subprocess.run([gcc, "-std=gnu11", "-Wall", "-Werror", "-O1", "-o", str(exe), str(src)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    result: dict = {"rings": {}, "need": {}}
    for line in out.splitlines():
        kind, *nums = line.split()
        values = [int(x) for x in nums]
        if kind == "desc":
            result["desc"] = values
        elif kind == "used_elem":
            result["used_elem"] = values
        elif kind == "ring":
            result["rings"][tuple(values[:2])] = values[2:]
        elif kind == "need":
            result["need"][tuple(values[:3])] = bool(values[3])
    assert len(result["rings"]) == len(PAIRS)
    assert len(result["need"]) == len(NEED_EVENT_VALUES) ** 3
    return result


def test_element_formats_match_the_c_structs(kernel):
    size, addr, length, flags, nxt = kernel["desc"]
    assert DESC_SIZE == size == 16
    raw = Desc(0x1122334455667788, 0xAABBCCDD, 0x0102, 0x0304).pack()
    assert len(raw) == size
    assert raw[addr : addr + 8] == (0x1122334455667788).to_bytes(8, "little")
    assert raw[length : length + 4] == (0xAABBCCDD).to_bytes(4, "little")
    assert raw[flags : flags + 2] == (0x0102).to_bytes(2, "little")
    assert raw[nxt : nxt + 2] == (0x0304).to_bytes(2, "little")
    assert Desc.unpack(raw) == Desc(0x1122334455667788, 0xAABBCCDD, 0x0102, 0x0304)
    size, ident, length = kernel["used_elem"]
    assert USED_ELEM_SIZE == size == 8
    elem = pack_used_elem(0x01020304, 0x05060708)
    assert elem[ident : ident + 4] == (0x01020304).to_bytes(4, "little")
    assert elem[length : length + 4] == (0x05060708).to_bytes(4, "little")


@pytest.mark.parametrize("num,align", PAIRS)
def test_ring_layout_matches_vring_init(kernel, num, align):
    (
        size,
        desc0,
        desc_last,
        avail,
        avail_idx,
        avail_ring0,
        avail_ring_last,
        used_event,
        used,
        used_idx,
        used_ring0,
        used_ring_last,
        avail_event,
    ) = kernel["rings"][(num, align)]
    assert vring_size(num, align) == size
    base = 0x40000 if align <= 0x40000 else align
    lay = VringLayout(base, num, align)
    got = (
        lay.size,
        lay.desc - base,
        lay.desc_addr(0) - base,
        lay.desc_addr(num - 1) - base,
        lay.avail - base,
        lay.avail_flags - base,
        lay.avail_idx - base,
        lay.avail_ring(0) - base,
        lay.avail_ring(num - 1) - base,
        lay.used_event - base,
        lay.used - base,
        lay.used_flags - base,
        lay.used_idx - base,
        lay.used_ring(0) - base,
        lay.used_ring(num - 1) - base,
        lay.avail_event - base,
        lay.end - base,
    )
    want = (
        size,
        desc0,
        desc0,
        desc_last,
        avail,
        avail,
        avail_idx,
        avail_ring0,
        avail_ring_last,
        used_event,
        used,
        used,
        used_idx,
        used_ring0,
        used_ring_last,
        avail_event,
        size,
    )
    assert got == want
    # the last field ends exactly where vring_size says the ring ends
    assert lay.avail_event + 2 == lay.end


def test_documented_example_n16_a4096():
    lay = VringLayout(0x10000, 16, 4096)
    assert lay.used - lay.base == 4096
    assert vring_size(16, 4096) == lay.size == 4230


def test_vring_need_event_matches_the_header_function(kernel):
    wrong = {k: v for k, v in kernel["need"].items() if vring_need_event(*k) != v}
    assert not wrong, f"vring_need_event(event, new, old) differs from the C function: {dict(list(wrong.items())[:10])}"
    # the table must hold both answers, or the comparison proves little
    assert set(kernel["need"].values()) == {True, False}


@pytest.mark.parametrize("old", [0, 1, 0x7FFF, 0xFFF0, 0xFFFE, 0xFFFF])
def test_vring_need_event_is_the_window_rule_exhaustively(old):
    """True exactly when event_idx lies in [old, new) counted modulo 2^16:
    every (event, new) with new - old and event - old within +-40 of the window."""
    for delta in range(0, 41):
        new = (old + delta) & 0xFFFF
        for k in range(-40, 81):
            event = (old + k) & 0xFFFF
            expected = 0 <= k < delta
            assert vring_need_event(event, new, old) is expected, (event, new, old)


# ------------------------------------------------ the RTL's copies (hdl/*.v, hdl/*.vh)
#
# The RTL repeats cause codes, register offsets, status bits, descriptor flags,
# feature bits and the device defaults as localparams, parameter defaults and
# bit selects. Every copy in any hdl/*.v or included .vh (wherever it moves to) is
# parsed and compared with vio.constants, and, where the name is the kernel's,
# with the UAPI headers.

HDL = Path(__file__).resolve().parents[1] / "hdl"

# RTL register names that differ from the header's (legacy names)
_REG_ALIASES = {
    "HOST_FEATURES": "DEVICE_FEATURES",
    "HOST_FEATURES_SEL": "DEVICE_FEATURES_SEL",
    "GUEST_FEATURES": "DRIVER_FEATURES",
    "GUEST_FEATURES_SEL": "DRIVER_FEATURES_SEL",
}
# the bit selects `assign feat_x = guest_features_reg[N] && HOST_FEATURES[N];`
_FEATURE_SELECTS = {
    "notify_on_empty": "VIRTIO_F_NOTIFY_ON_EMPTY",
    "indirect": "VIRTIO_RING_F_INDIRECT_DESC",
    "event_idx": "VIRTIO_RING_F_EVENT_IDX",
}
# parameter defaults of the top (and of the blocks that repeat them)
_PARAMETER_DEFAULTS = {
    "VENDOR_ID": "VIO_VENDOR_ID",
    "DEVICE_ID": "VIO_ID_LOOPBACK",
    "HOST_FEATURES": "VIO_TRANSPORT_FEATURES",
    "INDIRECT_MAX": "VIO_INDIRECT_MAX",
}

_VLOG_NUMBER = re.compile(r"^(?:(\d+)?\s*'([sS]?)([bBoOdDhH])\s*)?([0-9a-fA-F_]+)$")
_VLOG_BASES = {"b": 2, "o": 8, "d": 10, "h": 16}


@dataclass(frozen=True)
class RtlConstant:
    file: str
    line: int
    kind: str  # localparam, parameter or feature-select
    name: str
    value: int


def vlog_number(text: str) -> int | None:
    """The value of a Verilog integer literal (8'h0c, 32'd1, 256, 64'h0_39); None for anything else."""
    m = _VLOG_NUMBER.match(text.strip())
    if not m or (m.group(3) is None and not m.group(4).replace("_", "").isdigit()):
        return None
    base = _VLOG_BASES[m.group(3).lower()] if m.group(3) else 10
    try:
        return int(m.group(4).replace("_", ""), base)
    except ValueError:
        return None


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside (), [] and {} (a concatenation holds commas too)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _strip_comments(text: str) -> str:
    """Comments blanked out, line numbers kept."""
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def rtl_constants(text: str, file: str) -> list[RtlConstant]:
    """Every localparam and parameter of ``text`` with a literal value, and the feature bit selects."""
    text = _strip_comments(text)
    out = []
    for m in re.finditer(r"\b(localparam|parameter)\b(.*?)(?=;|\)\s*\(|\bparameter\b|\blocalparam\b)", text, flags=re.S):
        body = re.sub(r"^\s*(?:integer\s*)?(?:\[[^\]]*\])?", "", m.group(2))
        for decl in _split_top_level(body):
            name, eq, value = decl.partition("=")
            number = vlog_number(value.rstrip().rstrip(")")) if eq else None
            if number is not None:
                at = re.compile(rf"\b{re.escape(name.strip())}\s*=").search(text, m.start(2)).start()
                line = text.count("\n", 0, at) + 1
                out.append(RtlConstant(file, line, m.group(1), name.strip(), number))
    sel = re.compile(r"assign\s+feat_(\w+)\s*=\s*guest_features_reg\[(\d+)\]\s*&&\s*HOST_FEATURES\[(\d+)\]\s*;")
    for m in sel.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append(RtlConstant(file, line, "feature-select", m.group(1), int(m.group(2))))
        if m.group(2) != m.group(3):
            out.append(RtlConstant(file, line, "feature-select", m.group(1), -int(m.group(3))))  # disagrees with itself
    return out


def counterpart(const: RtlConstant) -> tuple[str, int] | None:
    """(the vio.constants name, the value the RTL must have), or None when the
    constant is the RTL's own (states, widths, modes). A name with the prefix
    of a shared family but no counterpart is an error of its own."""
    name = const.name
    if const.kind == "feature-select":
        ours = _FEATURE_SELECTS.get(name)
        return (ours or f"feature select feat_{name}", getattr(C, ours, -1) if ours else -1)
    if const.kind == "parameter":
        ours = _PARAMETER_DEFAULTS.get(name)
        return (ours, getattr(C, ours)) if ours else None
    if name.startswith("CAUSE_"):
        cause = C.Cause.__members__.get(name[len("CAUSE_") :])
        return (f"Cause.{name[len('CAUSE_'):]}", int(cause) if cause is not None else -1)
    if name.startswith("REG_"):
        reg = _REG_ALIASES.get(name[4:], name[4:])
        ours = f"VIRTIO_MMIO_{reg}" if hasattr(C, f"VIRTIO_MMIO_{reg}") else f"VIO_MMIO_{reg}"
        return (ours, getattr(C, ours, -1))
    if name.startswith("STATUS_"):
        ours = f"VIRTIO_CONFIG_S_{name[7:]}"
        return (ours, getattr(C, ours, -1))
    if name.startswith("DESC_F_"):  # a bit number in the RTL, a mask in the headers
        ours = f"VRING_{name}"
        mask = getattr(C, ours, None)
        return (ours, mask.bit_length() - 1 if mask else -1)
    if name.startswith("BUS_INFO_"):
        ours = f"VIO_{name}"
        return (ours, getattr(C, ours, -1))
    if name in ("MAGIC_VALUE", "LEGACY_VERSION"):
        return (name, getattr(C, name))
    if name == "CONFIG_BASE":
        return ("VIRTIO_MMIO_CONFIG", C.VIRTIO_MMIO_CONFIG)
    return None


def check_rtl_constants(consts: list[RtlConstant], headers: dict[str, int] | None = None) -> list[str]:
    """One line per RTL copy that differs from vio.constants (or from the
    headers, for the kernel's names) or has no counterpart there."""
    errors = []
    for const in consts:
        match = counterpart(const)
        if match is None:
            continue
        ours, want = match
        where = f"{const.file}:{const.line}: {const.kind} {const.name} = {const.value:#x}"
        if want < 0:
            errors.append(f"{where}: no counterpart {ours} in vio.constants (define it there, once)")
        elif const.value != want:
            errors.append(f"{where}: vio.constants {ours} is {want:#x}")
        header_name = ours if not ours.startswith("VRING_DESC_F_") else None
        if headers and header_name in headers and const.value != headers[header_name]:
            errors.append(f"{where}: the kernel header's {header_name} is {headers[header_name]:#x}")
    return errors


@pytest.fixture(scope="module")
def rtl() -> list[RtlConstant]:
    files = sorted(HDL.glob("*.v*"))
    assert files, f"no Verilog in {HDL}"
    return [c for f in files for c in rtl_constants(f.read_text(), f"hdl/{f.name}")]


def test_verilog_literals():
    assert vlog_number("8'h0c") == 12
    assert vlog_number("32'h74726976") == C.MAGIC_VALUE
    assert vlog_number("64'h00000000_39000000") == 0x39000000
    assert vlog_number("5'd13") == 13
    assert vlog_number("2'b10") == 2
    assert vlog_number("256") == 256
    assert vlog_number("DEVICE_ID[31:0]") is None
    assert vlog_number("{2'b00, DMA_BASE}") is None
    assert vlog_number("OFF_W+1") is None


def test_every_rtl_copy_equals_vio_constants_and_the_headers(rtl, header_defines):
    errors = check_rtl_constants(rtl, header_defines)
    assert not errors, "the RTL's copies differ:\n" + "\n".join(errors)


def test_the_rtl_copies_were_found(rtl):
    """The comparison covers every cause, every legacy register and the feature bits."""
    found = {counterpart(c)[0] for c in rtl if counterpart(c)}
    causes = {f"Cause.{c.name}" for c in C.Cause if c != C.Cause.NONE}
    assert causes <= found, f"causes with no RTL copy found: {sorted(causes - found)}"
    legacy_regs = {n for n in vars(C) if n.startswith("VIRTIO_MMIO_") and not n.startswith("VIRTIO_MMIO_INT_")}
    legacy_regs -= {"VIRTIO_MMIO_QUEUE_READY", "VIRTIO_MMIO_CONFIG_GENERATION"}  # Version 2 only
    assert legacy_regs | {"VIO_MMIO_DEVICE_ERROR"} <= found, sorted(legacy_regs - found)
    assert set(_FEATURE_SELECTS.values()) | set(_PARAMETER_DEFAULTS.values()) <= found
    assert {"VRING_DESC_F_NEXT", "VRING_DESC_F_WRITE", "VRING_DESC_F_INDIRECT"} <= found


WRONG_COPY = """
module wrong #(
    parameter VENDOR_ID = 32'h4b4f4956,
    parameter [63:0] HOST_FEATURES = 64'h00000000_38000000  // NOTIFY_ON_EMPTY left out
) ();
localparam [7:0]
    REG_STATUS = 8'h74,          // should be 0x70
    REG_DEVICE_ERROR = 8'hf0;
localparam [7:0] CAUSE_HEAD_RANGE = 8'd3, CAUSE_NEXT_RANGE = 8'd3;
localparam [7:0] CAUSE_NOT_IN_PYTHON = 8'd20;
localparam DESC_F_WRITE = 2;     // the bit is 1
localparam [65:0] DMA_END_X = {2'b00, DMA_BASE} + {1'b0, DMA_SIZE};
assign feat_event_idx = guest_features_reg[28] && HOST_FEATURES[28];
endmodule
"""


def test_the_checker_catches_a_wrong_copy():
    errors = check_rtl_constants(rtl_constants(WRONG_COPY, "wrong.v"), {"VIRTIO_MMIO_STATUS": 0x70})
    flagged = sorted({e.split(": ")[1] for e in errors})
    assert flagged == [
        "feature-select event_idx = 0x1c",
        "localparam CAUSE_HEAD_RANGE = 0x3",
        "localparam CAUSE_NOT_IN_PYTHON = 0x14",
        "localparam DESC_F_WRITE = 0x2",
        "localparam REG_STATUS = 0x74",
        "parameter HOST_FEATURES = 0x38000000",
    ], errors
    assert any("wrong.v:7:" in e and "header" in e for e in errors), errors  # line numbers survive the comments
