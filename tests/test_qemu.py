"""QEMU as the third back end: the qtest HAL, its process handling and its
errors, the class drivers unchanged on QEMU's own virtio-mmio devices (checked
against the disk image, the console's sockets, the entropy counts), and the
reference device compared with QEMU on the differential scenarios.

Collected only where ``qemu-system-aarch64`` is installed (tests/conftest.py);
``make setup`` installs it (Debian qemu-system-arm).
"""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from vio import constants as C
from vio import reset_table
from vio.device.entropy import EntropyBackend
from vio.differential import ALLOWED_DIFFERENCES, LINUX_PROBE, PERSONALITIES, check_same, compare, model_target, run_model, run_scenario
from vio.drivers.block import BlockDriver
from vio.drivers.entropy import EntropyDriver
from vio.qemu import QemuError, QemuHal, QemuMachine, QemuMemory, rng_device
from vio.qemu.hal import POOL_BASE, POOL_SIZE
from vio.qemu.process import QEMU_ENV
from vio.qemu.target import QemuTarget


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def qemu_observations():
    """Each personality's scenario on QEMU, once per module (a QEMU start each)."""
    observed = {}
    for personality in PERSONALITIES:
        with QemuTarget(personality) as target:
            observed[personality] = run(run_scenario(personality, target))
    return observed


# --------------------------------------------------------------- the process
def test_missing_qemu_is_named(monkeypatch):
    monkeypatch.setenv(QEMU_ENV, "/nonexistent/qemu-system-aarch64")
    with pytest.raises(QemuError, match=r"QEMU not found \(/nonexistent/qemu-system-aarch64\).*qemu-system-arm"):
        QemuMachine(rng_device()).__enter__()


def test_failed_start_shows_qemu_stderr():
    vm = QemuMachine(["-device", "no-such-virtio-device"])
    with pytest.raises(QemuError, match=r"QEMU failed to start.*exited with 1.*no-such-virtio-device"):
        vm.__enter__()
    assert vm.proc is not None and vm.proc.poll() is not None and vm.workdir is None


def test_qemu_ended_when_the_body_fails():
    with pytest.raises(RuntimeError, match="body failed"):
        with QemuMachine(rng_device()) as vm:
            proc, workdir = vm.proc, vm.workdir
            raise RuntimeError("body failed")
    assert proc.poll() is not None and not workdir.exists()


def test_qemu_that_stops_answering_raises_in_bounded_time():
    with QemuMachine(rng_device(), timeout_s=0.3) as vm:
        os.kill(vm.proc.pid, signal.SIGSTOP)  # our own QEMU, by its id
        try:
            start = time.monotonic()
            with pytest.raises(QemuError, match=r"QEMU did not answer within 0.3 s"):
                vm.qtest.read(vm.base, 4)
            assert time.monotonic() - start < 2
        finally:
            os.kill(vm.proc.pid, signal.SIGCONT)
    assert vm.proc.poll() is not None


def test_qemu_ends_with_the_process_that_started_it():
    """A test process killed before stop() leaves no QEMU behind."""
    script = "import os; from vio.qemu import QemuMachine, rng_device\n" \
        "vm = QemuMachine(rng_device()); vm.__enter__(); print(vm.proc.pid, flush=True); os._exit(0)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True)
    pid = int(out.stdout)
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, f"QEMU {pid} outlived the process that started it"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that may never come counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_refused_command_raises():
    with QemuMachine(rng_device()) as vm:
        with pytest.raises(QemuError, match=r"qtest command 'no_such_command 1' answered .FAIL Unknown command"):
            vm.qtest.command("no_such_command 1")
        assert vm.qtest.read(vm.base, 4) == C.MAGIC_VALUE  # the connection still works


# ------------------------------------------------------------ HAL and memory
def test_guest_memory_lives_in_qemu_ram():
    with QemuMachine(rng_device()) as vm:
        mem = QemuMemory(vm.qtest)
        a = mem.alloc(4096, 4096)
        assert POOL_BASE <= a and a + 4096 <= POOL_BASE + POOL_SIZE and a % 4096 == 0
        data = bytes(range(256)) * 16
        mem.write(a, data)
        assert vm.qtest.memread(a, 4096) == data  # really in QEMU, not in a local copy
        mem.fill(a + 16, 32, 0x5A)
        assert mem.read(a, 64) == data[:16] + b"\x5a" * 32 + data[48:64]
        mem.write32(a, 0xDEADBEEF)
        assert vm.qtest.read(a, 4) == 0xDEADBEEF
        with pytest.raises(IndexError, match="outside memory"):
            mem.read(POOL_BASE + POOL_SIZE - 2, 4)
        with pytest.raises(ValueError, match="outside QEMU's RAM"):
            QemuMemory(vm.qtest, base=0x3FFFF000)


def test_hal_registers_irq_and_bounded_wait():
    async def body(vm):
        hal = QemuHal(vm)
        assert await hal.read(vm.base + C.VIRTIO_MMIO_DEVICE_ID) == C.VIRTIO_ID_RNG
        assert not hal.irq(0)
        start = hal.now_ns()
        assert not await hal.wait_irq(0, 3_000_000)  # nothing pending: returns after the bound
        assert 3_000_000 <= hal.now_ns() - start < 1_000_000_000
        await hal.write(vm.base + C.VIRTIO_MMIO_STATUS, C.VIRTIO_CONFIG_S_ACKNOWLEDGE)
        assert await hal.read(vm.base + C.VIRTIO_MMIO_STATUS) == C.VIRTIO_CONFIG_S_ACKNOWLEDGE

    with QemuMachine(rng_device()) as vm:
        run(body(vm))


def test_intercepted_interrupt_line():
    """With intercept=True the level comes from QEMU's own IRQ lines: the
    completion raises GIC input 47 (transport 31), the acknowledge lowers it."""

    async def body(vm):
        hal = QemuHal(vm, intercept=True)
        rng = EntropyDriver(hal, vm.base, timeout_ns=2_000_000_000)
        await rng.start()
        assert len(await rng.read(100)) == 100
        assert ("raise", 47) in vm.qtest.irq_events
        # the read may have ended by polling, before the handler acknowledged: acknowledge now
        isr = await hal.read(vm.base + C.VIRTIO_MMIO_INTERRUPT_STATUS)
        await hal.write(vm.base + C.VIRTIO_MMIO_INTERRUPT_ACK, isr)
        hal.qtest.pump(0.01)
        assert vm.qtest.irq_events[-1] == ("lower", 47) and not hal.irq(0)
        start = hal.now_ns()
        assert not await hal.wait_irq(0, 5_000_000)  # sleeps in select for the bound
        assert hal.now_ns() - start >= 5_000_000

    with QemuMachine(rng_device()) as vm:
        assert vm.irq_line == 47
        run(body(vm))


def test_scenario_with_intercepted_interrupts_observes_the_same(qemu_observations):
    with QemuTarget("console", intercept=True) as target:
        observed = run(run_scenario("console", target))
    check_same(qemu_observations["console"], observed)


# ----------------------------------------- the class drivers, on QEMU's devices
@pytest.mark.parametrize("personality", PERSONALITIES)
def test_scenario_on_qemu_equals_the_reference_device(personality, qemu_observations):
    """The scenario ran on QEMU with every check against QEMU's host side
    (disk image file, console sockets, entropy counts) passing; the
    reference device, set up as QEMU's device, observes the same."""
    qemu = qemu_observations[personality]
    assert len(qemu.steps) > 5 and any(step.get("used") for step in qemu.steps)
    check_same(qemu, run(run_model(personality)))


@pytest.mark.parametrize("personality", PERSONALITIES)
def test_linux_probe_order_on_qemu_equals_the_reference_device(personality):
    """Linux's probe order with 4, 16 and 64 KiB pages (LINUX_PROBE): QEMU, which
    keeps the page size across the guest's reset, and the reference device agree."""
    with QemuTarget(personality) as target:
        qemu = run(run_scenario(personality, target, LINUX_PROBE[personality]))
    check_same(qemu, run(run_model(personality, LINUX_PROBE[personality])))


def test_allowed_differences_are_there_and_excused(qemu_observations):
    model = run(run_model("block"))
    qemu = qemu_observations["block"]
    assert qemu.steps[0]["regs"]["VendorID"] == 0x554D4551 and model.steps[0]["regs"]["VendorID"] == 0x4B4F4956
    assert qemu.steps[0]["regs"]["QueueNumMax[0]"] == 1024 and model.steps[0]["regs"]["QueueNumMax[0]"] == 128
    assert qemu.steps[0]["regs"]["QueueNumMax[1]"] == model.steps[0]["regs"]["QueueNumMax[1]"] == 0
    assert compare(qemu, model) == []
    assert all(allowed.reason for allowed in ALLOWED_DIFFERENCES.values())


def test_a_device_that_behaves_differently_is_caught(qemu_observations):
    """An entropy device that answers at most 16 bytes per request: the
    comparison names the used lengths that differ."""
    model = run(run_scenario("entropy", model_target("entropy", backend=EntropyBackend(seed=1, chunk=16))))
    diffs = compare(qemu_observations["entropy"], model)
    assert diffs and all(" used: " in d for d in diffs), diffs
    assert any("step 2 (entropy 64) used" in d for d in diffs)


def test_reset_table_on_qemu():
    """QEMU's virtio-rng follows QEMU's column of vio.reset_table (docs/linux.md),
    and is told apart from ours where the two columns differ."""
    with QemuTarget("entropy", timeout_ns=200_000_000) as target:
        assert run(reset_table.check(target, "qemu")) == []
    with QemuTarget("entropy", timeout_ns=200_000_000) as target:
        diffs = run(reset_table.check(target, "ours"))
    assert any(d.startswith("qemu, GuestPageSize after power_on") for d in diffs)
    assert any(d.startswith("qemu, QueueAlign after status0: kept") for d in diffs)


def test_block_driver_on_qemu_against_the_image_file():
    """BlockDriver unchanged on QEMU's virtio-blk: a 4 KiB write lands in the
    image file, a read returns the file's bytes."""

    async def body(target):
        blk = BlockDriver(target.hal, target.base, timeout_ns=target.timeout_ns)
        await blk.start()
        data = os.urandom(4096)
        await blk.write(10, data)
        assert target.disk()[10 * 512 : 10 * 512 + 4096] == data
        image = target.disk()
        assert await blk.read(0, 32) == image[: 32 * 512]
        await blk.flush()

    with QemuTarget("block") as target:
        run(body(target))
