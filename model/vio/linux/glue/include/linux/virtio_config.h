/* Feature bits and the legacy (guest-endian: little) byte order, as Linux
 * 6.1's <linux/virtio_config.h> gives them to virtio_ring.c (this project's
 * own code: see vio_kernel.h). */
#ifndef VIO_LINUX_VIRTIO_CONFIG_H
#define VIO_LINUX_VIRTIO_CONFIG_H
#include "vio_kernel.h"
#include <linux/virtio.h>
#include <uapi/linux/virtio_config.h>

static inline bool __virtio_test_bit(const struct virtio_device *vdev, unsigned int fbit)
{
	return vdev->features & BIT_ULL(fbit);
}
static inline void __virtio_set_bit(struct virtio_device *vdev, unsigned int fbit) { vdev->features |= BIT_ULL(fbit); }
static inline void __virtio_clear_bit(struct virtio_device *vdev, unsigned int fbit) { vdev->features &= ~BIT_ULL(fbit); }
static inline bool virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit)
{
	return __virtio_test_bit(vdev, fbit);
}
static inline bool virtio_has_dma_quirk(const struct virtio_device *vdev)
{
	return !virtio_has_feature(vdev, VIRTIO_F_ACCESS_PLATFORM);
}
/* legacy rings are in the guest's byte order; these guests are little-endian */
#define cpu_to_virtio16(vdev, v) ((__virtio16)(u16)(v))
#define cpu_to_virtio32(vdev, v) ((__virtio32)(u32)(v))
#define cpu_to_virtio64(vdev, v) ((__virtio64)(u64)(v))
#define virtio16_to_cpu(vdev, v) ((u16)(v))
#define virtio32_to_cpu(vdev, v) ((u32)(v))
#define virtio64_to_cpu(vdev, v) ((u64)(v))
#endif
