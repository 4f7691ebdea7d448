virtio_mmio_regs.v
virtio_mmio_dma_rd.v
virtio_mmio_dma_wr.v
virtio_mmio_walker.v
virtio_mmio.v
