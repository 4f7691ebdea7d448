"""The console backend and class driver together on the reference device:
the MULTIPORT handshake, data on every port both ways, flow control over
small receive buffers, the config space, emergency write, reset, the example."""

from dataclasses import dataclass

import pytest

from vio import GuestMemory, ModelHal, VioNotSupported, VioTimeout
from vio import constants as C
from vio.device import ReferenceDevice
from vio.device.console import ConsoleBackend
from vio.drivers.console import CONSOLE_FEATURES, BAD_ID, ConsoleDriver

from .rig import BASE, MEM_SIZE, run

ADD, READY, CONSOLE, OPEN, NAME = (
    C.VIRTIO_CONSOLE_PORT_ADD,
    C.VIRTIO_CONSOLE_PORT_READY,
    C.VIRTIO_CONSOLE_CONSOLE_PORT,
    C.VIRTIO_CONSOLE_PORT_OPEN,
    C.VIRTIO_CONSOLE_PORT_NAME,
)
EMERG = 1 << C.VIRTIO_CONSOLE_F_EMERG_WRITE


@dataclass
class ConsoleRig:
    hal: ModelHal
    dev: ReferenceDevice
    host: ConsoleBackend
    con: ConsoleDriver


def console_rig(host: ConsoleBackend | None = None, **drv_kw) -> ConsoleRig:
    """A ConsoleDriver bound to a reference console at BASE, not started."""
    mem = GuestMemory(MEM_SIZE)
    hal = ModelHal(mem)
    host = host or ConsoleBackend()
    dev = hal.attach(BASE, ReferenceDevice(host, mem))
    return ConsoleRig(hal, dev, host, ConsoleDriver(hal, BASE, **drv_kw))


def pattern(n: int, seed: int) -> bytes:
    return bytes((seed * 37 + i * 7 + (i >> 8)) & 0xFF for i in range(n))


async def opened(r: ConsoleRig, *ports: int) -> None:
    """Start the driver and open ``ports`` at both ends."""
    await r.con.start()
    for p in ports:
        r.host.host_open(p)
        await r.con.open(p)


def test_handshake_messages_in_order():
    r = console_rig(ConsoleBackend(nr_ports=2, names=[None, "org.example.p1"]))
    r.host.host_open(1)
    run(r.con.start())
    expected = [
        ("driver", BAD_ID, C.VIRTIO_CONSOLE_DEVICE_READY, 1, b""),
        ("device", 0, ADD, 1, b""),
        ("device", 1, ADD, 1, b""),
        ("driver", 0, READY, 1, b""),
        ("device", 0, CONSOLE, 1, b""),
        ("driver", 1, READY, 1, b""),
        ("device", 1, NAME, 1, b"org.example.p1\0"),  # the name with its NUL, as QEMU sends it
        ("device", 1, OPEN, 1, b""),
        ("driver", 0, OPEN, 1, b""),
    ]
    assert [tuple(m) for m in r.host.log] == expected
    # the driver logs a message when it acts on it, so it answers PORT_ADD 0
    # before it looks at PORT_ADD 1; each side's own messages keep their order
    assert [tuple(m) for m in r.con.control_log] == [expected[i] for i in (0, 1, 3, 2, 5, 4, 8, 6, 7)]
    assert r.con.max_nr_ports == 2 and sorted(r.con.ports) == [0, 1]
    p0, p1 = r.con.ports[0], r.con.ports[1]
    assert (p0.console, p0.guest_open, p0.host_open, p0.name) == (True, True, False, None)
    assert (p1.console, p1.guest_open, p1.host_open, p1.name) == (False, False, True, "org.example.p1")
    assert [r.host.guest_open(p) for p in (0, 1)] == [True, False]
    assert [q.name for q in r.con.vio.queue] == [
        "virtual_console_rxq0",
        "virtual_console_txq0",
        "virtual_control_rxq",
        "virtual_control_txq",
        "virtual_console_rxq1",
        "virtual_console_txq1",
    ]
    assert all(q.num == 128 for q in r.con.vio.queue)
    assert r.con.vio.features == CONSOLE_FEATURES


def test_host_open_close_reaches_driver():
    r = console_rig()
    run(opened(r, 1))
    assert r.con.port_open(1) and r.host.guest_open(1)
    r.host.host_close(1)
    run(r.con.read(1))  # one pass of the handler brings the control message
    assert not r.con.ports[1].host_open and not r.con.port_open(1)
    assert tuple(r.host.log[-1])[:4] == ("device", 1, OPEN, 0)
    run(r.con.close(1))
    assert not r.host.guest_open(1)


def test_data_both_directions_every_port():
    r = console_rig(ConsoleBackend(nr_ports=4), nr_ports=4)
    run(opened(r, 0, 1, 2, 3))
    for p in range(4):
        run(r.con.write(p, pattern(100 + p, p)))
    for p in range(4):
        assert r.host.host_read(p) == pattern(100 + p, p)
        assert r.host.host_read(p) == b""
    for p in range(4):
        r.host.host_write(p, pattern(50 + p, 10 + p))
    for p in reversed(range(4)):
        assert run(r.con.read(p, 50 + p)) == pattern(50 + p, 10 + p)
        assert run(r.con.read(p)) == b""


def test_data_larger_than_buffers():
    r = console_rig(buf_size=64, rx_buffers=2, queue_size=16)
    run(opened(r, 1))
    big_in, big_out = pattern(3000, 1), pattern(10000, 2)
    r.host.host_write(1, big_in)
    assert run(r.con.read(1, len(big_in))) == big_in
    assert run(r.con.write(1, big_out)) == len(big_out)
    assert r.host.host_read(1) == big_out
    assert not r.host.ports[1].to_guest


def test_host_data_before_and_after_buffers_are_posted():
    r = console_rig()
    r.host.host_write(0, b"early zero")
    r.host.host_write(1, b"early one")
    run(r.con.start())
    assert run(r.con.read(0, 10)) == b"early zero"
    # port 1 is not open on the guest side: QEMU holds its data back
    with pytest.raises(VioTimeout):
        run(r.con.read(1, 9, timeout_ns=50_000))
    assert r.host.ports[1].to_guest == b"early one"
    r.host.host_open(1)
    run(r.con.open(1))
    assert run(r.con.read(1, 9)) == b"early one"
    r.host.host_write(1, b"late")
    assert run(r.con.read(1, 4)) == b"late"


def test_read_and_open_time_out_within_bound():
    r = console_rig()
    run(r.con.start())
    t0 = r.hal.now_ns()
    with pytest.raises(VioTimeout, match="host opening port 1"):
        run(r.con.open(1, timeout_ns=100_000))
    assert 100_000 <= r.hal.now_ns() - t0 < 110_000
    r.host.host_write(0, b"ab")
    with pytest.raises(VioTimeout):
        run(r.con.read(0, 3, timeout_ns=20_000))
    assert run(r.con.read(0)) == b"ab"  # nothing lost by the timeout


@pytest.mark.parametrize("device_mp, driver_mp", [(False, True), (True, False), (False, False)])
def test_non_multiport(device_mp, driver_mp):
    r = console_rig(ConsoleBackend(multiport=device_mp), multiport=driver_mp)
    run(r.con.start())
    assert not r.con.multiport
    assert [q.name for q in r.con.vio.queue] == ["virtual_console_rxq0", "virtual_console_txq0"]
    assert sorted(r.con.ports) == [0] and r.con.port_count == 1
    assert r.host.log == [] and r.con.control_log == []
    run(r.con.open(0))  # nothing to negotiate
    run(r.con.write(0, pattern(700, 3)))
    assert r.host.host_read(0) == pattern(700, 3)
    r.host.host_write(0, pattern(900, 4))
    assert run(r.con.read(0, 900)) == pattern(900, 4)


def test_config_reads():
    r = console_rig(ConsoleBackend(nr_ports=3, cols=132, rows=43, size=True), nr_ports=3)
    run(r.con.start())
    assert (r.con.cols, r.con.rows, r.con.max_nr_ports) == (132, 43, 3)
    vio = r.con.vio
    assert run(vio.read_config(0, 2)) == 132
    assert run(vio.read_config(2, 2)) == 43
    assert run(vio.read_config(4, 4)) == 3
    assert run(vio.read_config(8, 4)) == 0  # emerg_wr reads 0
    assert r.dev.read(C.VIRTIO_MMIO_CONFIG + 4, 4) == 3
    assert r.dev.read(C.VIRTIO_MMIO_DEVICE_ID) == C.VIRTIO_ID_CONSOLE
    offered = r.dev.host_features
    for bit in (C.VIRTIO_CONSOLE_F_SIZE, C.VIRTIO_CONSOLE_F_MULTIPORT, C.VIRTIO_CONSOLE_F_EMERG_WRITE):
        assert offered >> bit & 1
    r.host.resize(100, 30)
    run(r.con.read(0))  # the config interrupt is serviced
    assert (r.con.cols, r.con.rows) == (100, 30)


def test_driver_ports_limited_by_device_and_by_driver():
    r = console_rig(ConsoleBackend(nr_ports=1), nr_ports=2)
    run(r.con.start())
    assert len(r.con.vio.queue) == 4 and sorted(r.con.ports) == [0]
    r = console_rig(ConsoleBackend(nr_ports=3), nr_ports=2)
    run(r.con.start())
    assert sorted(r.con.ports) == [0, 1]
    assert ("driver", 2, READY, 0, b"") in [tuple(m) for m in r.host.log]
    assert not r.host.ports[2].guest_ready


def test_control_message_truncated_to_small_buffer():
    r = console_rig(ConsoleBackend(names=[None, "a-rather-long-port-name"]), buf_size=16)
    run(r.con.start())
    assert [(m.id, m.event) for m in r.host.truncated] == [(1, NAME)]
    assert r.con.ports[1].name == "a-rather"  # what fitted after the 8-byte header


def test_emergency_write():
    r = console_rig(features=CONSOLE_FEATURES | EMERG)
    run(r.con.start())
    run(r.con.emerg_write(b"SOS\n"))
    assert r.host.host_read(0) == b"SOS\n"
    r.dev.write(C.VIRTIO_MMIO_CONFIG + 8, 0x21, 4)  # a whole-u32 write counts too
    assert r.host.host_read(0) == b"!"
    assert r.host.host_read(1) == b""
    plain = console_rig()  # EMERG_WRITE offered but not asked for
    run(plain.con.start())
    with pytest.raises(VioNotSupported):
        run(plain.con.emerg_write(b"x"))
    absent = console_rig(ConsoleBackend(emerg_write=False), features=CONSOLE_FEATURES | EMERG)
    run(absent.con.start())
    with pytest.raises(VioNotSupported):
        run(absent.con.emerg_write(b"x"))


def test_reset_then_reinit():
    r = console_rig()
    run(opened(r, 0, 1))
    run(r.con.write(1, b"before"))
    assert r.host.host_read(1) == b"before"
    run(r.con.vio.reset())
    assert not any(p.guest_ready or p.guest_open for p in r.host.ports)
    assert all(p.host_open for p in r.host.ports) and not r.host.pending
    r.host.host_write(1, b"while down")
    log_before = len(r.host.log)
    run(r.con.start())
    after = [tuple(m)[:4] for m in r.host.log[log_before:]]
    assert ("device", 0, OPEN, 1) in after and ("device", 1, OPEN, 1) in after
    assert r.con.ports[1].host_open
    run(r.con.open(1))
    assert run(r.con.read(1, 10)) == b"while down"
    run(r.con.write(0, b"after"))
    assert r.host.host_read(0) == b"after"
    assert not any(q.broken for q in r.con.vio.queue) and not r.dev.broken


def test_example_main_returns_0(capsys):
    from vio.examples.console import main

    assert main() == 0
    out = capsys.readouterr().out
    assert "interrupt #1" in out and "port 1 echoed" in out and "PORT_NAME" in out
