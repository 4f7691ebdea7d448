"""The reset table (vio.reset_table, docs/linux.md) on the reference device:
every row as the table says, a device that forgets GuestPageSize on Status=0
caught, and the table in the docs equal to the one the checks use. QEMU's
column: tests/test_qemu.py; the RTL's: tests/test_differential.py."""

from pathlib import Path

import pytest

from vio.device.mmio import ReferenceDevice
from vio.differential import BackendTarget, model_target
from vio.reset_table import QUEUE_STOP, RESET_TABLE, check

from .rig import ForgetsThePageSize, run

DOC = Path(__file__).resolve().parents[1] / "docs" / "linux.md"


def target(device_class=ReferenceDevice) -> BackendTarget:
    """The entropy personality with a short bound: a ring the device does not
    find is waited for."""
    return model_target("entropy", device_class=device_class, timeout_ns=100_000)


def test_reference_device_follows_the_table():
    assert run(check(target(), "ours")) == []


def test_a_device_that_forgets_the_page_size_is_caught():
    diffs = run(check(target(ForgetsThePageSize), "ours"))
    assert diffs == ["model, GuestPageSize after status0: not kept, the table says kept"]


def test_qemu_column_is_not_ours():
    """The model is no QEMU: checked against QEMU's column, it differs exactly
    where the table says the two differ (so the checks see each difference)."""
    differ = {row.register for row in RESET_TABLE if (row.ours_status0, row.ours_power_on) != (row.qemu_status0, row.qemu_power_on)}
    diffs = run(check(target(), "qemu"))
    assert {line.split(", ", 1)[1].split(" after ")[0].split(":")[0] for line in diffs} == differ | {QUEUE_STOP.register}


def _doc_rows() -> list[list[str]]:
    text = DOC.read_text()
    section = text[text.index("## The reset table") :]
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| register"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
        elif rows and not line.startswith("|"):
            break
    return rows


@pytest.mark.parametrize("row", [*RESET_TABLE, QUEUE_STOP], ids=lambda row: row.register)
def test_docs_show_the_checked_table(row):
    shown = {cells[0]: cells[1:5] for cells in _doc_rows()}
    assert shown.get(row.register) == [row.ours_status0, row.ours_power_on, row.qemu_status0, row.qemu_power_on]


def test_docs_show_no_row_the_checks_do_not_know():
    assert [cells[0] for cells in _doc_rows()] == [row.register for row in [*RESET_TABLE, QUEUE_STOP]]
