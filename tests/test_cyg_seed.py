"""The seed's console_vio_driver written with the eCosPro C names (the example of docs/driver-model.md)."""


from vio import GuestMemory, ModelHal
from vio.cyg import (
    ENOERR,
    VIO_QUEUE,
    cyg_vio_avail,
    cyg_vio_driver,
    cyg_vio_driver_init,
    cyg_vio_poll,
    cyg_vio_queue_ready,
    cyg_vio_submit,
    cyg_vio_tfr,
)
from vio.device import ReferenceDevice
from vio.device.console import ConsoleBackend
from vio.drivers.console import CONSOLE_FEATURES as VIO_CONSOLE_FEATURES

from .rig import BASE, run

CONSOLE_QUEUE_SIZE = 128


def test_seed_console_driver_with_c_names():
    mem = GuestMemory(1 << 20)
    hal = ModelHal(mem)
    host = ConsoleBackend(nr_ports=2)
    hal.attach(BASE, ReferenceDevice(host, mem))
    names = ["virtual_console_rxq0", "virtual_console_txq0", "virtual_control_rxq",
             "virtual_control_txq", "virtual_console_rxq1", "virtual_console_txq1"]
    queues = [VIO_QUEUE(n, CONSOLE_QUEUE_SIZE) for n in names]
    drv = cyg_vio_driver(base=BASE, vector=0, vector_pri=0xA0, priv=None, legacy=1, pci=0,
                         drv_features=VIO_CONSOLE_FEATURES, queue=queues, queue_count=6, hal=hal)
    assert run(cyg_vio_driver_init(drv)) == ENOERR
    assert all(cyg_vio_queue_ready(drv, q) for q in range(6))
    assert cyg_vio_avail(drv, 1) == CONSOLE_QUEUE_SIZE

    buf = mem.alloc(6)
    mem.write(buf, b"hello\n")
    seen = []
    tfr = cyg_vio_tfr(queue=1, iov=[(buf, 6, 0)], callback=lambda t: seen.append((t.head, t.actual)))
    assert run(cyg_vio_submit(drv, tfr)) == ENOERR
    assert seen == []  # callbacks only inside poll
    assert run(cyg_vio_poll(drv)) == 1
    assert seen == [(0xFFFF, 0)]
    assert host.host_read(0) == b"hello\n"
